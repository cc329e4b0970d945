package replica

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/lockstep/quorum/kernel"
)

// readScratch is one reader's buffers: an object of every replica.
type readScratch struct {
	leader int // position among the voters of the last readVoters' leader
	objs   []byte
	vecs   [][]byte
	depths [kernel.SourcesMax]uint8
}

func (s *Set) scratch() *readScratch {
	if sc, ok := s.reads.Get().(*readScratch); ok {
		return sc
	}
	return &readScratch{objs: make([]byte, s.count*s.geo.ObjectSize), vecs: make([][]byte, s.count)}
}

// voters are the indices of the replicas that vote now.
func (s *Set) voters() []int { return s.views.Load().voters }

// Read reads object i from every voting replica (one pread each), decides
// its quorum with the kernel and copies the quorum's bytes, vector
// included, into buf, which must hold ObjectSize bytes. The Result is the
// kernel's with Leader the index in the set of the replica whose bytes were
// returned. An object without quorum is an error wrapping ErrNoQuorum,
// ErrSplitBrain or ErrCorrupt, with buf untouched. With Options.ReadRepair,
// the lagging and outside replicas of a quorate object are caught up
// (through the journal) before Read returns. Read allocates nothing.
func (s *Set) Read(i int64, buf []byte) (kernel.Result, error) {
	if err := s.checkObject(i, 1, len(buf), "buf"); err != nil {
		return kernel.Result{}, err
	}
	sc := s.scratch()
	defer s.reads.Put(sc)
	voters, r, err := s.readVoters(i, sc)
	if err != nil {
		return r, err
	}
	if err := s.judge(i, r); err != nil {
		return r, err
	}
	osz := s.geo.ObjectSize
	copy(buf, sc.objs[sc.leader*osz:(sc.leader+1)*osz])
	if s.opts.ReadRepair && !s.readOnly && (int(r.Length) < len(voters) || r.Repair > 0) {
		if err := s.repairObject(i); err != nil {
			return r, fmt.Errorf("object %d: read repair: %w", i, err)
		}
	}
	return r, nil
}

// overlay makes object i of the voters' copies (objs[k] of voter k) what
// replaying the pending record would make them, for a read-only set: the
// record is committed, so its bytes are the object's, and a copy it writes
// may be torn until then. A copy at neither the state the record found nor
// its new one (nor a tear between them) is left alone, as replay would
// refuse to touch it.
func (s *Set) overlay(i int64, voters []int, objs func(k int) []byte) {
	e := s.pendingEntry(i)
	if e == nil {
		return
	}
	vo := s.geo.VectorOffset
	next := e.data[vo : vo+kernel.VectorSize]
	for _, t := range e.targets {
		for k, v := range voters {
			if v != t.replica {
				continue
			}
			obj := objs(k)
			cur := obj[vo : vo+kernel.VectorSize]
			if mixOf(cur, t.prior[:], next) {
				copy(obj, e.data)
			}
		}
	}
}

// readVoters reads object i of each voter of the current view into sc and
// runs kernel.Quorum; the Result's Leader is the leader's index in the set,
// and sc.objs holds the copies by index in the voters it returns.
func (s *Set) readVoters(i int64, sc *readScratch) ([]int, kernel.Result, error) {
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	off := s.objectOffset(i)
	s.data.RLock()
	v := s.views.Load()
	for k, idx := range v.voters {
		obj := sc.objs[k*osz : (k+1)*osz]
		if err := readFull(v.members[idx], obj, off); err != nil {
			s.data.RUnlock()
			return v.voters, kernel.Result{}, err
		}
		sc.vecs[k] = obj[vo : vo+kernel.VectorSize]
	}
	s.data.RUnlock()
	if len(v.voters) == 0 {
		return v.voters, kernel.Result{}, fmt.Errorf("object %d: %w: no replica votes (every one is missing or rebuilding)", i, ErrNoQuorum)
	}
	if s.pending.Load() != nil {
		s.overlay(i, v.voters, func(k int) []byte { return sc.objs[k*osz : (k+1)*osz] })
	}
	r, err := kernel.Quorum(sc.vecs[:len(v.voters)])
	if err != nil {
		return v.voters, kernel.Result{}, fmt.Errorf("object %d: %w: %w", i, ErrCorrupt, err)
	}
	// Leader positions are voter positions until here.
	sc.leader = int(r.Leader)
	r.Leader = uint8(v.voters[r.Leader])
	return v.voters, r, nil
}

// judge turns a kernel result into an error unless it is the quorum's.
func (s *Set) judge(i int64, r kernel.Result) error {
	switch {
	case r.Forked:
		return fmt.Errorf("object %d: %w: two chains tie for longest", i, ErrSplitBrain)
	case int(r.Length) < s.need:
		return fmt.Errorf("object %d: %w: the longest chain holds %d replicas, the quorum needs %d", i, ErrNoQuorum, r.Length, s.need)
	}
	return nil
}

// readFull reads len(b) bytes at off; a short read means the replica
// shrank under the set.
func readFull(m *member, b []byte, off int64) error {
	n, err := m.f.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: short read at offset %d: the file shrank while open", m.path, off+int64(n))
	}
	if errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%s: %w", m.path, ErrClosed)
	}
	return fmt.Errorf("%s: %w", m.path, err)
}

// checkObject validates an object range and a buffer for it.
func (s *Set) checkObject(i int64, count int, have int, name string) error {
	if err := s.usable(false); err != nil {
		return err
	}
	switch {
	case i < 0 || count < 0 || i > s.geo.Objects-int64(count):
		return fmt.Errorf("%w: objects %d-%d: the set has %d", ErrInvalid, i, i+int64(count)-1, s.geo.Objects)
	case have != count*s.geo.ObjectSize:
		return fmt.Errorf("%w: %s holds %d bytes, %d objects need %d", ErrInvalid, name, have, count, count*s.geo.ObjectSize)
	}
	return nil
}

// ReadRange reads count consecutive objects from first into buf
// (count*ObjectSize bytes), one pread per replica, and decides them with
// kernel.Calculate; results gets one Result per object (Leader as in
// Read). An object without quorum gets zero bytes in buf, and the error
// returned names the first such object; the others are still read.
func (s *Set) ReadRange(first int64, count int, buf []byte, results []kernel.Result) error {
	if err := s.checkObject(first, count, len(buf), "buf"); err != nil {
		return err
	}
	if len(results) < count {
		return fmt.Errorf("%w: results holds %d, %d objects need as many", ErrInvalid, len(results), count)
	}
	if count == 0 {
		return nil
	}
	osz := s.geo.ObjectSize
	span := count * osz
	if int64(span)*int64(s.count) > 1<<30 {
		return fmt.Errorf("%w: %d objects of %d replicas at once: read at most 1 GiB per call", ErrInvalid, count, s.count)
	}
	s.data.RLock()
	v := s.views.Load()
	voters := v.voters
	if len(voters) == 0 {
		s.data.RUnlock()
		return fmt.Errorf("%w: no replica votes (every one is missing or rebuilding)", ErrNoQuorum)
	}
	srcs := make([][]byte, len(voters))
	slab := make([]byte, span*len(voters))
	for k, idx := range voters {
		srcs[k] = slab[k*span : (k+1)*span]
		if err := readFull(v.members[idx], srcs[k], s.objectOffset(first)); err != nil {
			s.data.RUnlock()
			return err
		}
	}
	s.data.RUnlock()
	if s.pending.Load() != nil {
		for k := range count {
			s.overlay(first+int64(k), voters, func(j int) []byte { return srcs[j][k*osz : (k+1)*osz] })
		}
	}
	// Every object is judged; the error kept is the lowest object's.
	var firstErr error
	firstBad := count
	note := func(k int, err error) {
		if k < firstBad {
			firstBad, firstErr = k, err
		}
		clear(buf[k*osz : (k+1)*osz])
	}
	sub := make([][]byte, len(srcs))
	for from := 0; from < count; {
		for k := range srcs {
			sub[k] = srcs[k][from*osz:]
		}
		err := kernel.Calculate(sub, s.geo.VectorOffset, osz, results[from:count], nil)
		next := count
		if err != nil {
			var oe *kernel.ObjectError
			if !errors.As(err, &oe) {
				return err
			}
			next = from + oe.Index
			results[next] = kernel.Result{}
			note(next, fmt.Errorf("object %d: %w: %w", first+int64(next), ErrCorrupt, oe.Err))
		}
		for k := from; k < next; k++ {
			r := &results[k]
			lead := int(r.Leader)
			r.Leader = uint8(voters[lead])
			if err := s.judge(first+int64(k), *r); err != nil {
				note(k, err)
				continue
			}
			copy(buf[k*osz:(k+1)*osz], srcs[lead][k*osz:(k+1)*osz])
		}
		from = next + 1
	}
	return firstErr
}
