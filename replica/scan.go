package replica

import (
	"bytes"
	"context"
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
		s.commit.Lock()
		err := s.broken
		s.commit.Unlock()
		if err != nil {
			return nil, err
		}
	}
	voters := s.voters()
	sc := newScanner(s, voters, o)
	return sc.run(ctx)
}

// scanner is one Scan's state.
type scanner struct {
	s       *Set
	o       ScanOptions
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
	subs    [][]byte
	res     []kernel.Result
	bad     []Status
	status  []Status // per object of the batch
	entries []entry
}

func newScanner(s *Set, voters []int, o ScanOptions) *scanner {
	per := o.BatchBytes
	if per <= 0 {
		per = 1 << 20
	}
	limit := (32 << 20) / max(1, len(voters))
	per = max(1, min(per, limit)/s.geo.ObjectSize)
	per = int(min(int64(per), s.geo.Objects))
	sc := &scanner{s: s, o: o, voters: voters, per: per,
		vecs: make([][]byte, len(voters)), depths: make([]uint8, len(voters)),
		subs: make([][]byte, len(voters)), res: make([]kernel.Result, per),
		bad: make([]Status, per)}
	sc.pos = make([]int, s.count)
	for k, v := range voters {
		sc.pos[v] = k
	}
	sc.rep.Objects = s.geo.Objects
	sc.rep.Voters = voters
	return sc
}

func (sc *scanner) newBatch() *scanBatch {
	b := &scanBatch{data: make([][]byte, len(sc.voters))}
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
	for k, v := range sc.voters {
		if err := readFull(s.members[v], b.data[k][:n], s.objectOffset(b.first)); err != nil {
			b.err = err
			break
		}
	}
	s.data.RUnlock()
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
			select {
			case full <- b:
			case <-done:
				return
			}
			if b.err != nil {
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
// batch if anything else committed a write since it was read.
func (sc *scanner) batch(b *scanBatch) error {
	s := sc.s
	if !sc.o.Repair {
		return sc.decide(b, false)
	}
	s.commit.Lock()
	defer s.commit.Unlock()
	if s.writes.Load() != b.writes {
		sc.read(b)
		if b.err != nil {
			return b.err
		}
	}
	return sc.decide(b, true)
}

// decide classifies every object of b, grows and emits ranges and, when
// repair, commits the batch's repairs before emitting its ranges.
func (sc *scanner) decide(b *scanBatch, repair bool) error {
	s := sc.s
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	clear(sc.bad[:b.count])
	for from := 0; from < b.count; {
		for k := range sc.subs {
			sc.subs[k] = b.data[k][from*osz : b.count*osz]
		}
		err := kernel.Calculate(sc.subs, vo, osz, sc.res[from:b.count], nil)
		if err == nil {
			break
		}
		var oe *kernel.ObjectError
		if !errors.As(err, &oe) || oe.Index < 0 || from+oe.Index >= b.count {
			return fmt.Errorf("kernel: %w", err)
		}
		i := from + oe.Index
		sc.bad[i] = Cyclic
		if errors.Is(oe.Err, kernel.ErrConflict) {
			sc.bad[i] = Conflict
		}
		from = i + 1
	}
	sc.entries = sc.entries[:0]
	for i := range b.count {
		obj := b.first + int64(i)
		r := Range{First: obj, Count: 1}
		sc.order, sc.differ = sc.order[:0], sc.differ[:0]
		res := sc.res[i]
		switch {
		case s.pending[obj]:
			r.Status = Pending
		case sc.bad[i] != 0:
			r.Status = sc.bad[i]
		case res.Forked:
			r.Status = SplitBrain
		case int(res.Length) < s.need:
			r.Status, r.Length = NoQuorum, int(res.Length)
		default:
			r.Leader, r.Length = sc.voters[res.Leader], int(res.Length)
			if int(res.Length) != len(sc.voters) || res.Repair != 0 {
				if err := sc.orderOf(b, i); err != nil {
					return err
				}
			}
			if sc.o.VerifyData {
				sc.verify(b, i, int(res.Leader))
			}
			switch {
			case len(sc.differ) > 0:
				r.Status = Differ
			case len(sc.order) > 0:
				r.Status, r.Lagging = Lagging, sc.lagging
				if repair {
					sc.addRepair(b, i, int(res.Leader))
				}
			}
		}
		r.Order, r.Differ = sc.order, sc.differ
		if err := sc.add(&r); err != nil {
			return err
		}
	}
	if len(sc.entries) > 0 {
		if err := s.commitEntries(sc.entries); err != nil {
			return err
		}
		for _, e := range sc.entries {
			sc.rep.Copies += int64(len(e.targets))
		}
		sc.rep.Repaired += int64(len(sc.entries))
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
	for _, k := range repairOrder(sc.depths, false) {
		sc.order = append(sc.order, sc.voters[k])
		if sc.depths[k] != kernel.NotInChain {
			sc.lagging++
		}
	}
	return nil
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

// add counts one object's range and merges it into the open range, or
// emits the open one and starts anew.
func (sc *scanner) add(r *Range) error {
	sc.rep.Counts[r.Status]++
	c := &sc.cur
	if sc.open && c.First+c.Count == r.First && c.Status == r.Status && c.Leader == r.Leader && c.Length == r.Length &&
		c.Lagging == r.Lagging && slices.Equal(c.Order, r.Order) && slices.Equal(c.Differ, r.Differ) {
		c.Count++
		return nil
	}
	if sc.open {
		if err := sc.emit(); err != nil {
			return err
		}
	}
	order, differ := append(c.Order[:0], r.Order...), append(c.Differ[:0], r.Differ...)
	*c = *r
	c.Order, c.Differ = order, differ
	sc.open = true
	return nil
}

func (sc *scanner) emit() error {
	if sc.o.Range == nil {
		return nil
	}
	return sc.o.Range(&sc.cur)
}
