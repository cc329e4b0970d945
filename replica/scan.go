package replica

import (
	"context"
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
	// alone (byVector): its kernel result and the voters at its head, which
	// the next objects of the run share (see onHead).
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
