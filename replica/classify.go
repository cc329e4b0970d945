package replica

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/lockstep/quorum/kernel"
)

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
		sc.runOK = sc.byVector && sc.cur.Count == 1
		if sc.runOK {
			// The run's head: the voters after the leader that its order
			// (every replica off the head) leaves out.
			sc.runRes = res
			sc.runOn = sc.runOn[:0]
			for k := int(res.Leader) + 1; k < nv; k++ {
				if !slices.Contains(sc.cur.Order, sc.voters[k]) {
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
