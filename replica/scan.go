package replica

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/lockstep/quorum/kernel"
)

// Status is what Scan found for an object.
type Status uint8

const (
	// Agreed: every voting replica is at the leader's state.
	Agreed Status = iota
	// Lagging: quorate, but some voting replicas lag the leader or are
	// outside its chain; Repair copies the leader's object over them.
	Lagging
	// Differ: quorate, and replicas at the leader's state hold different
	// bytes (ScanOptions.VerifyData): bit rot the vectors cannot see. No
	// copy can be told right from the vectors, so Repair leaves it.
	Differ
	// SplitBrain: two chains tie for longest.
	SplitBrain
	// NoQuorum: the longest chain holds fewer replicas than the quorum.
	NoQuorum
	// Cyclic: a vector depends on itself, or dependencies loop.
	Cyclic
	// Conflict: one ID0 with two different ID1s.
	Conflict
	// Pending: a committed journal record that was not replayed (a
	// read-only open) writes this object; its copies may be torn.
	Pending
	numStatus
)

var statusNames = [numStatus]string{"agreed", "lagging", "differ", "split-brain", "no-quorum", "cyclic", "conflict", "pending"}

func (s Status) String() string {
	if s < numStatus {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// Quorate reports whether objects of this status have a quorum.
func (s Status) Quorate() bool { return s <= Differ }

// Range is a run of consecutive objects that Scan found alike: same status,
// leader, chain and repair order, as found before Repair wrote anything
// (Report counts what it wrote). Scan reuses it (and its slices) for the
// next range: copy what must outlive the callback.
type Range struct {
	First, Count int64
	Status       Status
	// Leader (a replica index) and Length are the quorum's, for quorate
	// statuses.
	Leader, Length int
	// Order: the voting replicas not at the leader's state, in the order
	// Repair writes them (lagging ones farthest behind first, then those
	// outside the chain); the first Lagging of them are in the chain.
	Order   []int
	Lagging int
	// Differ: with VerifyData, the replicas at the leader's state whose
	// bytes differ from the leader's.
	Differ []int
}

// ScanOptions tune Scan.
type ScanOptions struct {
	// Repair copies the leader's object over every lagging and outside
	// replica of every Lagging object, through the journal (the set must
	// be writable). Other objects are never written.
	Repair bool
	// VerifyData compares the bytes of the replicas at the leader's state.
	VerifyData bool
	// BatchBytes is read per replica per batch (default 1 MiB, rounded to
	// whole objects, and lowered so that two batches of every replica stay
	// within 64 MiB).
	BatchBytes int
	// Range, if set, gets every range in order; an error stops the scan.
	Range func(*Range) error
	// Progress, if set, is called after each batch with the objects done.
	Progress func(done, total int64)
}

// Report is what a Scan counted.
type Report struct {
	Objects  int64
	Counts   [numStatus]int64 // objects by Status
	Repaired int64            // objects Repair wrote
	Copies   int64            // object copies written (one per replica)
	Voters   []int            // the replicas that voted
}

// Clean reports whether every object is Agreed.
func (r *Report) Clean() bool { return r.Counts[Agreed] == r.Objects }

// Unrepairable counts objects Repair cannot fix.
func (r *Report) Unrepairable() int64 {
	var n int64
	for st := Differ; st < Pending; st++ {
		n += r.Counts[st]
	}
	return n
}

// scanBatch is one batch of every voter's objects.
type scanBatch struct {
	first  int64
	count  int
	data   [][]byte // by voter position
	writes uint64   // s.writes when read
	res    []kernel.Result
	bad    []Status // Cyclic or Conflict, 0 for a good object
	subs   [][]byte // the reader's kernel sources
	subs2  [][]byte // the decider's
	err    error
}

// Scan reads every object of every voting replica in large batches (the
// next batch is read while the current one is decided), decides each
// object's quorum, reports ranges, and with Repair writes the repairs. It
// stops at ctx's cancellation between batches (whatever was repaired is
// durable). A cyclic or conflicting object never hides the others.
func (s *Set) Scan(ctx context.Context, o ScanOptions) (*Report, error) {
	if err := s.usable(o.Repair); err != nil {
		return nil, err
	}
	if o.Repair {
		// One repair at a time: each counts on every other writer bumping
		// s.writes.
		s.repairing.Lock()
		defer s.repairing.Unlock()
		s.commit.Lock()
		err := s.broken
		s.commit.Unlock()
		if err != nil {
			return nil, err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	v := s.views.Load()
	if len(v.voters) == 0 {
		return nil, fmt.Errorf("%w: no replica votes (every one is missing or rebuilding)", ErrNoQuorum)
	}
	sc := newScanner(s, v, o)
	return sc.run(ctx)
}

// scanner is one Scan's state.
type scanner struct {
	s       *Set
	o       ScanOptions
	view    *view // the members read, as at the start
	voters  []int
	per     int // objects per batch
	rep     Report
	cur     Range // the range being grown
	open    bool
	vecs    [][]byte
	depths  []uint8
	order   []int
	lagging int // of order, in the chain
	differ  []int
	pos     []int // voter position by replica index
	// The open range's first object, when its order came from the vectors
	// alone (byVector): its kernel result and offMask, which the next
	// objects of the run share.
	byVector bool
	runOK    bool
	runRes   kernel.Result
	runOn    []int // voters after the leader at the head state
	entries  []entry
	// While a repair holds the commit lock, ranges wait in queued, so that
	// the Range callback never runs under it.
	holding bool
	queued  []Range
}

func newScanner(s *Set, v *view, o ScanOptions) *scanner {
	voters := slices.Clone(v.voters)
	per := o.BatchBytes
	if per <= 0 {
		per = 1 << 20
	}
	limit := (32 << 20) / max(1, len(voters))
	per = max(1, min(per, limit)/s.geo.ObjectSize)
	per = int(min(int64(per), s.geo.Objects))
	sc := &scanner{s: s, o: o, view: v, voters: voters, per: per,
		vecs: make([][]byte, len(voters)), depths: make([]uint8, len(voters)),
	}
	sc.pos = make([]int, s.count)
	for k, v := range voters {
		sc.pos[v] = k
	}
	sc.rep.Objects = s.geo.Objects
	sc.rep.Voters = slices.Clone(voters)
	return sc
}

func (sc *scanner) newBatch() *scanBatch {
	b := &scanBatch{data: make([][]byte, len(sc.voters)), res: make([]kernel.Result, sc.per), bad: make([]Status, sc.per),
		subs: make([][]byte, len(sc.voters)), subs2: make([][]byte, len(sc.voters))}
	for k := range b.data {
		b.data[k] = make([]byte, sc.per*sc.s.geo.ObjectSize)
	}
	return b
}

func (sc *scanner) read(b *scanBatch) {
	s := sc.s
	n := b.count * s.geo.ObjectSize
	s.data.RLock()
	b.writes = s.writes.Load()
	if cur := s.views.Load(); cur != sc.view {
		for _, v := range sc.voters {
			if cur.members[v] != sc.view.members[v] {
				b.err = fmt.Errorf("%w: replica %d was replaced during the scan: scan again", ErrInvalid, v)
			}
		}
	}
	for k, v := range sc.voters {
		if b.err != nil {
			break
		}
		b.err = readFull(sc.view.members[v], b.data[k][:n], s.objectOffset(b.first))
	}
	s.data.RUnlock()
	if b.err == nil {
		b.err = sc.calculate(b, 0, b.count/2)
	}
}

func (sc *scanner) run(ctx context.Context) (*Report, error) {
	s := sc.s
	total := s.geo.Objects
	free := make(chan *scanBatch, 2)
	full := make(chan *scanBatch, 1)
	done := make(chan struct{})
	free <- sc.newBatch()
	if total > int64(sc.per) {
		free <- sc.newBatch()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(full)
		for first := int64(0); first < total; first += int64(sc.per) {
			var b *scanBatch
			select {
			case b = <-free:
			case <-done:
				return
			}
			b.first, b.count, b.err = first, int(min(int64(sc.per), total-first)), nil
			sc.read(b)
			failed := b.err != nil // b is the decider's once sent
			select {
			case full <- b:
			case <-done:
				return
			}
			if failed {
				return
			}
		}
	})
	defer wg.Wait()
	defer close(done)
	for b := range full {
		if b.err != nil {
			return &sc.rep, b.err
		}
		if err := ctx.Err(); err != nil {
			return &sc.rep, err
		}
		if err := sc.batch(b); err != nil {
			return &sc.rep, err
		}
		if sc.o.Progress != nil {
			sc.o.Progress(b.first+int64(b.count), total)
		}
		free <- b
	}
	if sc.open {
		if err := sc.emit(); err != nil {
			return &sc.rep, err
		}
	}
	return &sc.rep, nil
}

// batch decides a batch and, repairing, writes it. A repair re-reads the
// batch if anything else committed a write since it was read: every writer
// but the repair bumps s.writes (the repair's own writes touch only the
// batches it has decided).
func (sc *scanner) batch(b *scanBatch) error {
	s := sc.s
	if !sc.o.Repair {
		return sc.decide(b, false)
	}
	s.commit.Lock()
	sc.holding = true
	err := func() error {
		if s.writes.Load() != b.writes {
			if sc.read(b); b.err != nil {
				return b.err
			}
		}
		return sc.decide(b, true)
	}()
	sc.holding = false
	s.commit.Unlock()
	for k := range sc.queued {
		if err == nil && sc.o.Range != nil {
			err = sc.o.Range(&sc.queued[k])
		}
	}
	sc.queued = sc.queued[:0]
	return err
}

// decide classifies every object of b, grows and emits ranges (queued
// while a repair holds the lock) and, when repair, commits the batch's
// repairs.
func (sc *scanner) decide(b *scanBatch, repair bool) error {
	s := sc.s
	if err := sc.calculate(b, b.count/2, b.count); err != nil {
		return err
	}
	sc.entries = sc.entries[:0]
	nv := len(sc.voters)
	plain := s.pending.Load() == nil && !sc.o.VerifyData
	for i := 0; i < b.count; i++ {
		obj := b.first + int64(i)
		res := b.res[i]
		if plain && sc.open && sc.cur.First+sc.cur.Count == obj {
			// The usual objects, every replica agreeing, extend an agreed
			// range without anything else to decide (a bad object's Result
			// is forked: see calculate); so do objects off the leader's
			// state on the same replicas as the run's first (one drive
			// behind), with the same kernel result.
			j := i
			switch {
			case sc.cur.Status == Agreed:
				for j < b.count && int(b.res[j].Length) == nv && b.res[j].Repair == 0 {
					j++
				}
			case sc.runOK:
				for j < b.count && b.res[j] == sc.runRes && sc.onHead(b, j) {
					if repair {
						sc.addRepair(b, j, int(sc.runRes.Leader))
					}
					j++
				}
			}
			if j > i {
				sc.cur.Count += int64(j - i)
				sc.rep.Counts[sc.cur.Status] += int64(j - i)
				i = j - 1
				continue
			}
		}
		v, err := sc.classify(b, i, res)
		if err != nil {
			return err
		}
		if v.status == Lagging && repair {
			sc.addRepair(b, i, sc.pos[v.leader])
		}
		if err := sc.add(obj, v); err != nil {
			return err
		}
		sc.runOK = sc.byVector && nv <= 64 && sc.cur.Count == 1
		if sc.runOK {
			sc.runRes = res
			mask := sc.offMask(b, i, int(res.Leader))
			sc.runOn = sc.runOn[:0]
			for k := int(res.Leader) + 1; k < nv; k++ {
				if mask>>k&1 == 0 {
					sc.runOn = append(sc.runOn, k)
				}
			}
		}
	}
	if len(sc.entries) > 0 {
		applied, err := s.commitQuiet(kindRepair, sc.entries)
		for _, e := range sc.entries[:applied] {
			sc.rep.Copies += int64(len(e.targets))
		}
		sc.rep.Repaired += int64(applied)
		if err != nil {
			return err
		}
	}
	return nil
}

// verdict is one object's classification; its order and differ lists are
// in sc.order and sc.differ.
type verdict struct {
	status                  Status
	leader, length, lagging int
}

// classify decides object i of b from its kernel result.
func (sc *scanner) classify(b *scanBatch, i int, res kernel.Result) (verdict, error) {
	sc.order, sc.differ = sc.order[:0], sc.differ[:0]
	sc.byVector, sc.lagging = false, 0
	nv := len(sc.voters)
	switch {
	case sc.s.pendingEntry(b.first+int64(i)) != nil:
		return verdict{status: Pending}, nil
	case b.bad[i] != 0:
		return verdict{status: b.bad[i]}, nil
	case res.Forked:
		return verdict{status: SplitBrain}, nil
	case int(res.Length) < sc.s.need:
		return verdict{status: NoQuorum, length: int(res.Length)}, nil
	}
	v := verdict{status: Agreed, leader: sc.voters[res.Leader], length: int(res.Length)}
	switch {
	case int(res.Length) == nv && res.Repair == 0:
	case res.Repair == 0 || (res.Repair == 1 && int(res.Length) == nv):
		// Every replica off the leader's vector is outside, or the one off
		// it lags: the order needs no depths.
		sc.orderByVector(b, i, int(res.Leader), int(res.Repair))
		sc.byVector = true
	default:
		if err := sc.orderOf(b, i); err != nil {
			return v, err
		}
	}
	if sc.o.VerifyData {
		sc.verify(b, i, int(res.Leader))
	}
	switch {
	case len(sc.differ) > 0:
		v.status, v.lagging = Differ, sc.lagging
	case len(sc.order) > 0:
		v.status, v.lagging = Lagging, sc.lagging
	}
	return v, nil
}

// calculate runs the kernel over objects [lo, hi) of the batch: the reading
// goroutine takes the first half of each batch after reading it and the
// deciding one the second, so that both have about as much to do. A
// cyclic or conflicting object stops kernel.Calculate; it is marked bad
// and the batch resumes after it, so one corrupt object never hides the
// others.
func (sc *scanner) calculate(b *scanBatch, lo, hi int) error {
	osz, vo := sc.s.geo.ObjectSize, sc.s.geo.VectorOffset
	clear(b.bad[lo:hi])
	subs := b.subs
	if lo > 0 {
		subs = b.subs2
	}
	for from := lo; from < hi; {
		for k := range subs {
			subs[k] = b.data[k][from*osz : hi*osz]
		}
		err := kernel.Calculate(subs, vo, osz, b.res[from:hi], nil)
		if err == nil {
			return nil
		}
		var oe *kernel.ObjectError
		if !errors.As(err, &oe) || oe.Index < 0 || from+oe.Index >= hi {
			return fmt.Errorf("kernel: %w", err)
		}
		i := from + oe.Index
		b.res[i] = kernel.Result{Forked: true} // never extends a run
		b.bad[i] = Cyclic
		if errors.Is(oe.Err, kernel.ErrConflict) {
			b.bad[i] = Conflict
		}
		from = i + 1
	}
	return nil
}

// orderOf computes object i's repair order and lagging count into sc.
func (sc *scanner) orderOf(b *scanBatch, i int) error {
	s := sc.s
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	for k := range sc.vecs {
		sc.vecs[k] = b.data[k][i*osz+vo : i*osz+vo+kernel.VectorSize]
	}
	if _, err := kernel.Depths(sc.vecs, sc.depths); err != nil {
		return fmt.Errorf("object %d: kernel.Depths: %v (kernel.Calculate accepted it): a kernel bug, nothing decided", b.first+int64(i), err)
	}
	sc.lagging = 0
	sc.order = repairOrder(sc.order[:0], sc.depths, false)
	for j, k := range sc.order {
		if sc.depths[k] != kernel.NotInChain {
			sc.lagging++
		}
		sc.order[j] = sc.voters[k]
	}
	return nil
}

// orderByVector is orderOf for objects whose order is every replica off
// the leader's state in index order. Comparing ID0s is enough: the kernel
// has refused an object where one ID0 has two ID1s.
func (sc *scanner) orderByVector(b *scanBatch, i, leader, lagging int) {
	at := i*sc.s.geo.ObjectSize + sc.s.geo.VectorOffset
	le := binary.LittleEndian
	lead := b.data[leader][at : at+kernel.IDSize]
	w0, w1 := le.Uint64(lead), le.Uint64(lead[8:])
	for k, v := range sc.voters {
		id := b.data[k][at : at+kernel.IDSize]
		if le.Uint64(id) != w0 || le.Uint64(id[8:]) != w1 {
			sc.order = append(sc.order, v)
		}
	}
	sc.lagging = lagging
}

// offMask has bit k set for each voter k (of at most 64) off the leader's
// state.
func (sc *scanner) offMask(b *scanBatch, i, leader int) uint64 {
	at := i*sc.s.geo.ObjectSize + sc.s.geo.VectorOffset
	le := binary.LittleEndian
	lead := b.data[leader][at : at+kernel.IDSize]
	w0, w1 := le.Uint64(lead), le.Uint64(lead[8:])
	// The leader is the first replica at its state: those before it are
	// off it, and so is the rest of the replicas' share of Repair and of
	// those outside the chain; once that many are found, the rest are on it.
	m := uint64(1)<<leader - 1
	r := b.res[i]
	off := int(r.Repair) + len(sc.voters) - int(r.Length) - leader
	for k := leader + 1; off > 0 && k < len(sc.voters); k++ {
		id := b.data[k][at : at+kernel.IDSize]
		if le.Uint64(id) != w0 || le.Uint64(id[8:]) != w1 {
			m |= 1 << k
			off--
		}
	}
	return m
}

// onHead reports whether object j's replicas of the run's head state (the
// voters of runOn) all hold the leader's ID0. With a kernel result equal to
// the run's, that is the run's shape exactly: the result's count at the
// head (Length less Repair) is those replicas and the leader, so no other
// replica is at the head; and a run is of objects whose order needs no
// depths (every replica off the head is outside, or the one off it lags),
// so the replicas off the head have the run's roles too.
func (sc *scanner) onHead(b *scanBatch, j int) bool {
	at := j*sc.s.geo.ObjectSize + sc.s.geo.VectorOffset
	le := binary.LittleEndian
	lead := b.data[sc.runRes.Leader][at : at+kernel.IDSize]
	w0, w1 := le.Uint64(lead), le.Uint64(lead[8:])
	for _, k := range sc.runOn {
		id := b.data[k][at : at+kernel.IDSize]
		if le.Uint64(id) != w0 || le.Uint64(id[8:]) != w1 {
			return false
		}
	}
	return true
}

// verify lists the current replicas whose bytes differ from the leader's.
func (sc *scanner) verify(b *scanBatch, i, leader int) {
	osz := sc.s.geo.ObjectSize
	want := b.data[leader][i*osz : (i+1)*osz]
	vo := sc.s.geo.VectorOffset
	for k := range sc.voters {
		if k == leader {
			continue
		}
		got := b.data[k][i*osz : (i+1)*osz]
		if bytes.Equal(got[vo:vo+kernel.VectorSize], want[vo:vo+kernel.VectorSize]) && !bytes.Equal(got, want) {
			sc.differ = append(sc.differ, sc.voters[k])
		}
	}
}

// addRepair queues the entry that copies object i's leader over its order.
func (sc *scanner) addRepair(b *scanBatch, i, leader int) {
	osz, vo := sc.s.geo.ObjectSize, sc.s.geo.VectorOffset
	e := entry{object: b.first + int64(i), data: b.data[leader][i*osz : (i+1)*osz]}
	for _, v := range sc.order {
		t := target{replica: v}
		copy(t.prior[:], b.data[sc.pos[v]][i*osz+vo:])
		e.targets = append(e.targets, t)
	}
	sc.entries = append(sc.entries, e)
}

// add counts object obj and merges it into the open range, or emits the
// open one and starts anew.
func (sc *scanner) add(obj int64, v verdict) error {
	sc.rep.Counts[v.status]++
	c := &sc.cur
	if sc.open && c.First+c.Count == obj && c.Status == v.status && c.Leader == v.leader && c.Length == v.length &&
		c.Lagging == v.lagging && slices.Equal(c.Order, sc.order) && slices.Equal(c.Differ, sc.differ) {
		c.Count++
		return nil
	}
	if sc.open {
		if err := sc.emit(); err != nil {
			return err
		}
	}
	*c = Range{First: obj, Count: 1, Status: v.status, Leader: v.leader, Length: v.length, Lagging: v.lagging,
		Order: append(c.Order[:0], sc.order...), Differ: append(c.Differ[:0], sc.differ...)}
	sc.open = true
	return nil
}

func (sc *scanner) emit() error {
	switch {
	case sc.o.Range == nil:
	case sc.holding:
		c := sc.cur
		c.Order, c.Differ = slices.Clone(c.Order), slices.Clone(c.Differ)
		sc.queued = append(sc.queued, c)
	default:
		return sc.o.Range(&sc.cur)
	}
	return nil
}
