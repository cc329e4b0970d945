package replica

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lockstep/quorum/kernel"
)

// Replace formats the file or device at path into the set as replica i (a
// new drive for a missing or failing one): it gets a superblock with a new
// replica ID in the Rebuilding state, and the set's generation goes up in
// every present replica, so that the replica it replaces is refused as
// stale if it comes back. Replica i then votes on nothing until Rebuild has
// filled it. A regular file is created or resized; a file holding anything
// but a blank start or a replica of this set is refused unless
// Options.Force. If a committed journal record was waiting for the replica
// that is replaced, it is finished now without it.
func (s *Set) Replace(i int, path string) error {
	if err := s.usable(true); err != nil {
		return err
	}
	if s.raw {
		return fmt.Errorf("%w: Replace needs superblocks: a raw set cannot take a new replica", ErrInvalid)
	}
	if i < 0 || i >= s.count {
		return fmt.Errorf("%w: replica %d: the set has %d", ErrInvalid, i, s.count)
	}
	if path == "" {
		return fmt.Errorf("%w: path is empty", ErrInvalid)
	}
	s.commit.Lock()
	defer s.commit.Unlock()
	f, size, err := openReplica(path, true, true)
	if err != nil {
		return err
	}
	m := &member{path: path, file: f, f: newDevice(path, f), state: Rebuilding}
	fail := func(err error) error {
		m.f.Close()
		return err
	}
	if m.key, err = fileKey(f); err != nil {
		return fail(fileError(path, err))
	}
	for k, o := range s.members {
		if o != nil && k != i && o.key == m.key {
			return fail(fmt.Errorf("%w: %s is replica %d of this set already", ErrDuplicate, path, k))
		}
	}
	if old := s.members[i]; old != nil && old.key == m.key {
		// Replica i formatted afresh: it stops voting now.
		old.f.Close()
		s.members[i] = nil
		s.updateVoters()
	}
	if err := lock(f, true); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(fileError(path, err))
	}
	if err := s.refuseReplace(m, size, !fi.Mode().IsRegular()); err != nil {
		return fail(err)
	}
	need := DataOffset + s.geo.bytes()
	if fi.Mode().IsRegular() {
		if err := f.Truncate(need); err != nil {
			return fail(fileError(path, err))
		}
	} else if size < need {
		return fail(fmt.Errorf("%s: %w: the device has %d bytes, the set needs %d", path, ErrUnusable, size, need))
	}
	gen := s.gen + 1
	journal := s.recovery.Journal
	if s.journal != nil {
		journal = s.journal.path
	}
	sb := &Superblock{Version: version, State: Rebuilding, Sequence: 1, Set: s.set, Replica: newID(), Index: i, Count: s.count,
		Geometry: s.geo, Generation: gen, Replaced: i, Created: time.Now(), Journal: journal}
	for range 2 {
		if err := writeSuper(m.f, sb); err != nil {
			return fail(fmt.Errorf("%s: %w", path, err))
		}
		sb.Sequence++
	}
	sb.Sequence--
	m.super, m.id = sb, sb.Replica
	old := s.members[i]
	for k, o := range s.members {
		if o == nil || k == i {
			continue
		}
		if err := s.rewriteSuper(o, func(x *Superblock) { x.Generation, x.Replaced = gen, i }); err != nil {
			// Open accepts a replica one generation behind whose index was
			// not the one replaced: the others catch up there.
			return fail(err)
		}
	}
	if old != nil {
		old.f.Close()
	}
	s.members[i], s.paths[i], s.gen = m, path, gen
	s.updateVoters()
	s.writes.Add(1)
	if errors.Is(s.broken, ErrJournalPending) {
		s.broken = nil
		rec, err := s.journal.committed(s.count, s.geo)
		if err != nil {
			s.broken = err
			return err
		}
		if rec != nil {
			if err := s.replay(rec); err != nil {
				s.broken = err
				return err
			}
		}
		if s.broken != nil {
			return s.broken
		}
	}
	return nil
}

// refuseReplace keeps Replace from destroying data it was not told to.
func (s *Set) refuseReplace(m *member, size int64, block bool) error {
	if s.opts.Force || size == 0 {
		return nil
	}
	sb, _, err := readSuper(m.f)
	switch {
	case err == nil && sb.Set == s.set:
		return nil // a stale or earlier copy of this set's replica
	case err == nil:
		return fmt.Errorf("%s: %w: replica %d of another set, %s: Options.Force overwrites it", m.path, ErrUnusable, sb.Index, sb.Set.Short())
	case errors.Is(err, errBlank) && block:
		return nil
	}
	return fmt.Errorf("%s: %w: not empty (%d bytes) and not a replica: Options.Force overwrites it", m.path, ErrUnusable, size)
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// BatchBytes is copied per batch (default 1 MiB, whole objects).
	BatchBytes int
	// Progress, if set, is called after each batch with the replica being
	// rebuilt and its objects copied so far.
	Progress func(replica int, done, total int64)
}

// Rebuilt is what Rebuild did for one replica.
type Rebuilt struct {
	Replica int
	Copied  int64 // objects copied from their quorum
	// Unquorate: objects without a quorum among the voting replicas
	// (split-brain, no quorum, cyclic or conflicting) got a fresh vector of
	// their own, which joins no chain, and zero bytes: the new replica knows
	// nothing of them, and says so without adding to any chain.
	Unquorate int64
}

// Rebuild fills every Rebuilding replica from the voting ones, batch by
// batch: each batch copies every quorate object's leader, is synced, and
// then the replica's superblock records how far it has got, so that after a
// crash Rebuild resumes there (objects past that point are never trusted).
// When the last batch is synced the replica becomes Active and votes.
// Writes may run meanwhile (each batch holds the set for its copy only) and
// reach the objects already copied. It stops at ctx's cancellation between
// batches.
func (s *Set) Rebuild(ctx context.Context, o RebuildOptions) ([]Rebuilt, error) {
	if err := s.usable(true); err != nil {
		return nil, err
	}
	var out []Rebuilt
	for i := range s.count {
		s.commit.Lock()
		m := s.members[i]
		rebuilding := m != nil && m.state == Rebuilding
		s.commit.Unlock()
		if !rebuilding {
			continue
		}
		r, err := s.rebuildOne(ctx, i, o)
		out = append(out, r)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func (s *Set) rebuildOne(ctx context.Context, i int, o RebuildOptions) (Rebuilt, error) {
	res := Rebuilt{Replica: i}
	osz := s.geo.ObjectSize
	per := o.BatchBytes
	if per <= 0 {
		per = 1 << 20
	}
	per = max(1, min(per, (32<<20)/s.count)/osz)
	per = int(min(int64(per), s.geo.Objects))
	voters := s.voters()
	if len(voters) == 0 {
		return res, fmt.Errorf("%w: no voting replica to rebuild replica %d from", ErrNoQuorum, i)
	}
	srcs := make([][]byte, len(voters))
	for k := range srcs {
		srcs[k] = make([]byte, per*osz)
	}
	out := make([]byte, per*osz)
	results := make([]kernel.Result, per)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		done, err := s.rebuildBatch(i, per, srcs, out, results, &res)
		if err != nil {
			return res, err
		}
		if o.Progress != nil {
			o.Progress(i, done, s.geo.Objects)
		}
		if done == s.geo.Objects {
			return res, nil
		}
	}
}

// rebuildBatch copies the next batch into replica i under the set's lock
// and returns how many objects are copied.
func (s *Set) rebuildBatch(i, per int, srcs [][]byte, out []byte, results []kernel.Result, res *Rebuilt) (int64, error) {
	s.commit.Lock()
	defer s.commit.Unlock()
	if s.broken != nil {
		return 0, s.broken
	}
	m := s.members[i]
	if m == nil || m.state != Rebuilding {
		return 0, fmt.Errorf("%w: replica %d is no longer being rebuilt", ErrInvalid, i)
	}
	voters := s.voters()
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	first := m.rebuilt
	n := int(min(int64(per), s.geo.Objects-first))
	for k, v := range voters {
		if err := readFull(s.members[v], srcs[k][:n*osz], s.objectOffset(first)); err != nil {
			return 0, err
		}
	}
	for from := 0; from < n; {
		sub := make([][]byte, len(voters))
		for k := range voters {
			sub[k] = srcs[k][from*osz : n*osz]
		}
		err := kernel.Calculate(sub, vo, osz, results[from:n], nil)
		next := n
		if err != nil {
			var oe *kernel.ObjectError
			if !errors.As(err, &oe) {
				return 0, err
			}
			next = from + oe.Index
			results[next] = kernel.Result{Forked: true}
		}
		from = next + 1
	}
	for k := range n {
		obj := out[k*osz : (k+1)*osz]
		r := results[k]
		if !r.Forked && int(r.Length) >= s.need {
			copy(obj, srcs[r.Leader][k*osz:(k+1)*osz])
			res.Copied++
			continue
		}
		clear(obj)
		id0, id1 := kernel.NewID(), kernel.NewID()
		copy(obj[vo:], id0[:])
		copy(obj[vo+kernel.IDSize:], id1[:])
		res.Unquorate++
	}
	hook("rebuild write")
	if _, err := m.f.WriteAt(out[:n*osz], s.objectOffset(first)); err != nil {
		return 0, fmt.Errorf("%s: %w", m.path, err)
	}
	hook("rebuild sync")
	if err := m.f.Sync(); err != nil {
		return 0, fmt.Errorf("%s: %w", m.path, err)
	}
	end := first + int64(n)
	hook("rebuild superblock")
	if err := s.rewriteSuper(m, func(sb *Superblock) {
		sb.Rebuilt = end
		if end == s.geo.Objects {
			sb.State = Active
		}
	}); err != nil {
		return 0, err
	}
	m.rebuilt = end
	if end == s.geo.Objects {
		m.state = Active
		s.updateVoters()
		s.writes.Add(1)
	}
	return end, nil
}
