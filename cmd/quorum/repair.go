package main

import (
	"fmt"
	"time"
)

// Why a crash at any point of repair --apply leaves every object old or new
// ----------------------------------------------------------------------
//
// A repair changes a replica's object only by copying the leader's whole
// object (its vector included) over it, at the same offset; the leader and
// every replica at the leader's state are never written. Each batch goes
// through three steps:
//
//  1. journal: every object the batch will write, with its replica and
//     offset, in write order, becomes the one record of the journal
//     (<first replica>.quorum-journal, see journal.go), which is fsynced;
//  2. in place: each object is written at its offset with pwrite (WriteAt;
//     adjacent objects of one replica from one leader in one call), round
//     by round: first every object's first replica in decide's order, then
//     every object's second, and so on, so that for every object the
//     replicas written so far are always a prefix of its repair list;
//  3. every replica written is fsynced. Only then may the next batch
//     replace the journal's record.
//
// After a crash (a kill, a panic, a power failure) at any point:
//
//   - a record cut short (crash in step 1) fails its CRC. Step 2 starts
//     only after the record is synced, so its batch wrote nothing in place,
//     and the batch before was synced in its step 3: the record is
//     discarded, and every object is old (this batch and later) or new
//     (earlier batches).
//   - a complete record (crash in step 2 or 3, or before the next record)
//     may have any of its objects written, not written, or torn: a pwrite
//     is not atomic across a crash (Linux copies it into the page cache a
//     page at a time, so a kill can cut an object larger than a page, and
//     a power failure can persist some sectors of a page and not others,
//     or later writes and not earlier ones). Replaying the record writes
//     all of them again, in the same order, so all are new; replaying is
//     idempotent, so a crash during the replay is harmless.
//
// repair --apply replays or discards the journal before it reads anything
// else, then scans again from the start: objects written before the crash
// are agreed now, and it goes on with the rest. That is why whole-object
// writes + fsync + re-scan are not quite enough on their own and the
// journal is there: without it a torn copy whose vector sector is new and
// whose data is partly old would count as current with wrong data, which
// no scan can see. With it, that copy is rewritten before anything trusts
// it; until then scan reports the pending journal (exit 1 at least), so
// run repair --apply after a crash before using the replicas.
//
// The quorum never goes backwards: decide orders each object's writes so
// that every one only moves a replica into the leader's chain (lagging
// replicas farthest behind first: they may hold the only link down the
// chain; then those outside it), and step 2 keeps every object's written
// replicas a prefix of that order. So after a process crash the leader's
// state is still the head of the longest chain and the chain is at least
// as long. After a power failure the disk may have kept later writes of
// step 2 and lost earlier ones, or torn one; the state may then look
// backwards, even split-brain, until the replay, which repair --apply runs
// before deciding anything, completes the batch. That is also why the
// journal is one file for all replicas: per-replica journals, one complete
// and one cut short, would replay some replicas' writes and not others'.
//
// The replicas must not be written by anything else during a repair, nor
// between a crash and the rerun that replays the journal: replaying a
// record over a copy written meanwhile would undo that write. quorum locks
// the replica files against other quorum processes.

// write is a run of adjacent objects of one batch copied from one leader
// to one replica.
type write struct {
	target, leader int
	first, count   int // objects, batch-relative
}

// repairer writes the repairs of every batch.
type repairer struct {
	set     *replicaSet
	crash   *crasher
	journal *journal // created on the first batch that writes
	seq     uint64
	rounds  [][]write    // rounds[p]: the p-th entry of each object's repair list
	last    map[int]int  // round*n+target: index of its last write in rounds[round]
	runs    []journalRun // this batch's writes, in order
	written Written
	synced  []int64 // written.Replicas when each replica was last synced
}

func newRepairer(set *replicaSet, crash *crasher) *repairer {
	n := len(set.files)
	return &repairer{
		set:     set,
		crash:   crash,
		last:    map[int]int{},
		written: Written{Replicas: make([]int64, n)},
		synced:  make([]int64, n),
	}
}

func (w *repairer) batch(b *batch) error {
	n, osz := len(w.set.files), w.set.geo.objectSize
	for p := range w.rounds {
		w.rounds[p] = w.rounds[p][:0]
	}
	clear(w.last)
	writes := 0
	for i := range b.count {
		o := &b.objs[i]
		if o.status != stRepair {
			continue // agreed, split-brain, no quorum, cyclic, conflicting: never written
		}
		for p, t := range o.dec.repair {
			if len(w.rounds) <= p {
				w.rounds = append(w.rounds, nil)
			}
			writes++
			key := p*n + t
			if k, ok := w.last[key]; ok {
				if wr := &w.rounds[p][k]; wr.leader == o.dec.leader && wr.first+wr.count == i {
					wr.count++
					continue
				}
			}
			w.last[key] = len(w.rounds[p])
			w.rounds[p] = append(w.rounds[p], write{target: t, leader: o.dec.leader, first: i, count: 1})
		}
	}
	if writes == 0 {
		return nil
	}
	span := func(wr write) ([]byte, int64) {
		return b.data[wr.leader][wr.first*osz : (wr.first+wr.count)*osz], (b.first + int64(wr.first)) * int64(osz)
	}

	// 1. The journal record, synced.
	w.runs = w.runs[:0]
	for _, round := range w.rounds {
		for _, wr := range round {
			data, off := span(wr)
			w.runs = append(w.runs, journalRun{replica: wr.target, off: off, data: data})
		}
	}
	if w.journal == nil {
		j, err := createJournal(w.set.paths)
		if err != nil {
			return err
		}
		w.journal = j
	}
	w.seq++
	if err := w.journal.write(w.seq, w.set.size, osz, w.runs, w.crash); err != nil {
		return err
	}

	// 2. In place, round by round: per object, its repair list in order.
	for _, round := range w.rounds {
		for _, wr := range round {
			data, off := span(wr)
			if err := w.writeAt(wr.target, data, off); err != nil {
				return err
			}
			w.written.Copies += int64(wr.count)
			w.written.Bytes += int64(len(data))
			w.written.Replicas[wr.target] += int64(wr.count)
		}
	}

	// 3. Every replica written, synced.
	for t, n := range w.written.Replicas {
		if n > w.synced[t] {
			w.crash.point()
			if err := w.set.files[t].Sync(); err != nil {
				return fmt.Errorf("%s: %v", w.set.paths[t], err)
			}
			w.synced[t] = n
		}
	}
	if w.crash != nil && w.crash.delay > 0 {
		time.Sleep(w.crash.delay)
	}
	return nil
}

// writeAt writes whole objects at their offset: in one call, or object by
// object when a test crash point is armed.
func (w *repairer) writeAt(t int, data []byte, off int64) error {
	f := w.set.files[t]
	if !w.crash.armed() {
		if _, err := f.WriteAt(data, off); err != nil {
			return fmt.Errorf("%s: %v", w.set.paths[t], err)
		}
		return nil
	}
	osz := w.set.geo.objectSize
	for k := 0; k < len(data); k += osz {
		obj := data[k : k+osz]
		if w.crash.hit() {
			if w.crash.tear {
				f.WriteAt(obj[:osz/2], off+int64(k))
			}
			die()
		}
		if _, err := f.WriteAt(obj, off+int64(k)); err != nil {
			return fmt.Errorf("%s: %v", w.set.paths[t], err)
		}
	}
	return nil
}

// finish removes the journal: every batch is written and synced.
func (w *repairer) finish() error {
	if w.journal == nil {
		return nil
	}
	return w.journal.remove(w.crash)
}
