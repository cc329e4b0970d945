package replica

import (
	"fmt"
	"sync"

	"github.com/lockstep/quorum/kernel"
)

// Write replaces object i with data (ObjectSize bytes; its bytes at
// VectorOffset are ignored: the set writes the vector). It is one
// transaction: it reads the object from every replica, refuses unless the
// object has a quorum (ErrNoQuorum, ErrSplitBrain, ErrCorrupt: nothing is
// written), makes the new vector from the leader's with kernel.Update and a
// fresh random ID, and writes the new object to every present replica:
// lagging ones farthest behind first, then those outside the chain, then
// the current ones, so that a crash after any prefix leaves the new state
// (or the old one) the head of a chain at least as long as before. Writing
// the new object over a lagging replica at once is the same as catching it
// up from the leader and then updating it: the result is byte for byte the
// leader's state advanced by one. A replica being rebuilt gets the write if
// it has copied object i already.
//
// Durability: when Write returns nil the new object is durable: the
// journal record holding it was synced and then named by the journal's
// header (its commit point), then the replicas were written and synced,
// and the record marked applied. By default concurrent Writes share one
// transaction (group commit: one journal record and one sync of each file
// for all of them); Options.NoGroupCommit gives every Write its own. An
// error wrapping ErrJournalPending came after the commit point: the write
// will be finished when the set is next opened, and the set refuses writes
// until then.
func (s *Set) Write(i int64, data []byte) error {
	if err := s.usable(true); err != nil {
		return err
	}
	if err := s.checkObject(i, 1, len(data), "data"); err != nil {
		return err
	}
	req := &writeReq{object: i, data: data}
	if s.opts.NoGroupCommit {
		s.commit.Lock()
		defer s.commit.Unlock()
		s.writeGroup([]*writeReq{req})
		return req.err
	}
	return s.group.submit(s, req)
}

// writeReq is one Write waiting for its transaction.
type writeReq struct {
	object int64
	data   []byte
	err    error
	// wake is sent once: when the request is done, or when it is to lead
	// the next group (lead set).
	wake chan struct{}
	lead bool
}

// groupCommit gathers concurrent Writes: one of them leads, committing in
// one transaction every Write queued while it waited for the set, then
// hands the lead to the first Write still queued and returns; the others
// wait to be done or to lead.
type groupCommit struct {
	mu      sync.Mutex
	queue   []*writeReq
	running bool // a leader is at work
}

func (g *groupCommit) submit(s *Set, req *writeReq) error {
	req.wake = make(chan struct{}, 1)
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if g.running {
		g.mu.Unlock()
		if <-req.wake; !req.lead {
			return req.err
		}
		g.mu.Lock()
	}
	g.running = true
	batch := g.take() // req is first in the queue, so in the batch
	g.mu.Unlock()
	s.commit.Lock()
	s.writeGroup(batch)
	s.commit.Unlock()
	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		next.wake <- struct{}{}
	} else {
		g.running = false
	}
	g.mu.Unlock()
	for _, r := range batch {
		if r != req {
			r.wake <- struct{}{}
		}
	}
	return req.err
}

// take removes the longest prefix of the queue with no object twice (a
// second write of an object must see the first).
func (g *groupCommit) take() []*writeReq {
	seen := make(map[int64]bool, len(g.queue))
	n := 0
	for n < len(g.queue) && !seen[g.queue[n].object] {
		seen[g.queue[n].object] = true
		n++
	}
	batch := append([]*writeReq(nil), g.queue[:n]...)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	return batch
}

// writeGroup decides and commits a group of writes, setting each one's err.
// The caller holds s.commit, so nothing else writes the objects meanwhile.
func (s *Set) writeGroup(reqs []*writeReq) {
	if s.closed.Load() {
		for _, req := range reqs {
			req.err = ErrClosed
		}
		return
	}
	sc := s.scratch()
	defer s.reads.Put(sc)
	var entries []entry
	var in []*writeReq
	for _, req := range reqs {
		e, err := s.planWrite(req.object, req.data, sc)
		if err != nil {
			req.err = err
			continue
		}
		entries = append(entries, e)
		in = append(in, req)
	}
	if len(entries) == 0 {
		return
	}
	applied, err := s.commitEntries(kindWrite, entries)
	for k, req := range in[applied:] {
		req.err = entryError(err, k)
	}
}

// planWrite reads object i and returns the entry that writes data as its
// next state.
func (s *Set) planWrite(i int64, data []byte, sc *readScratch) (entry, error) {
	if s.broken != nil {
		return entry{}, s.broken
	}
	voters, r, err := s.readVoters(i, sc)
	if err != nil {
		return entry{}, err
	}
	if err := s.judge(i, r); err != nil {
		return entry{}, err
	}
	if _, err := kernel.Depths(sc.vecs[:len(voters)], sc.depths[:len(voters)]); err != nil {
		return entry{}, fmt.Errorf("object %d: %w: %w", i, ErrCorrupt, err)
	}
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	obj := make([]byte, osz)
	copy(obj, data)
	vec := obj[vo : vo+kernel.VectorSize]
	copy(vec, sc.vecs[sc.leader])
	id := newID()
	if err := kernel.Update(vec, id[:]); err != nil {
		return entry{}, fmt.Errorf("object %d: %w", i, err)
	}
	e := entry{object: i, data: obj}
	// Replicas being rebuilt first: they vote on nothing yet.
	for k, m := range s.members {
		if m != nil && !m.voting() && m.writable(i) {
			t := target{replica: k}
			if err := readFull(m, t.prior[:], s.objectOffset(i)+int64(vo)); err != nil {
				return entry{}, err
			}
			e.targets = append(e.targets, t)
		}
	}
	for _, k := range repairOrder(nil, sc.depths[:len(voters)], true) {
		t := target{replica: voters[k]}
		copy(t.prior[:], sc.vecs[k])
		e.targets = append(e.targets, t)
	}
	return e, nil
}

// repairOrder appends to order the replicas (by position in depths,
// kernel.Depths's answer) in the order that never lets the quorum go
// backwards: lagging ones farthest behind first (one may hold the only link from the leader's
// state down the chain, so overwriting those nearer the head first could
// cut the chain), then those outside the chain, by index; with current,
// the current ones last (a write to every replica).
func repairOrder(order []int, depths []uint8, current bool) []int {
	deepest := 0
	for _, d := range depths {
		if d != kernel.NotInChain {
			deepest = max(deepest, int(d))
		}
	}
	for d := deepest; d >= 1; d-- {
		for k, dk := range depths {
			if int(dk) == d {
				order = append(order, k)
			}
		}
	}
	for k, d := range depths {
		if d == kernel.NotInChain {
			order = append(order, k)
		}
	}
	if current {
		for k, d := range depths {
			if d == 0 {
				order = append(order, k)
			}
		}
	}
	return order
}

// repairObject catches up the lagging and outside replicas of object i from
// its leader, if it is quorate: the read-repair of Read.
func (s *Set) repairObject(i int64) error {
	s.commit.Lock()
	defer s.commit.Unlock()
	if s.broken != nil {
		return s.broken
	}
	sc := s.scratch()
	defer s.reads.Put(sc)
	voters, r, err := s.readVoters(i, sc)
	if err != nil {
		return err
	}
	if err := s.judge(i, r); err != nil {
		return err
	}
	if _, err := kernel.Depths(sc.vecs[:len(voters)], sc.depths[:len(voters)]); err != nil {
		return err
	}
	order := repairOrder(nil, sc.depths[:len(voters)], false)
	if len(order) == 0 {
		return nil
	}
	osz := s.geo.ObjectSize
	e := entry{object: i, data: append([]byte(nil), sc.objs[sc.leader*osz:(sc.leader+1)*osz]...)}
	for _, k := range order {
		t := target{replica: voters[k]}
		copy(t.prior[:], sc.vecs[k])
		e.targets = append(e.targets, t)
	}
	_, err = s.commitEntries(kindRepair, []entry{e})
	return err
}
