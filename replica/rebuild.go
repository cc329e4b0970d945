package replica

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/lockstep/quorum/kernel"
)

// Replace formats the file or device at path into the set as replica i (a
// new drive for a missing or failing one): it gets a superblock with a new
// replica ID in the Rebuilding state, and the set's generation goes up in
// every present replica, recording that replica i was replaced, so that the
// drive it replaces is refused as stale if it comes back. Replica i then
// votes on nothing until Rebuild has filled it. A regular file is created
// or resized. Without Options.Force, Replace refuses a file holding
// anything but a blank start or a copy of replica i itself, and refuses to
// replace a voting replica when the voters left would be fewer than the
// quorum. If a committed journal record was waiting for the replica that is
// replaced, it is finished now without it.
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
	if s.broken != nil && len(s.recovery.Waiting) == 0 {
		return s.broken // only a record waiting for a missing replica can be finished without it
	}
	if old := s.members[i]; old.voting() && len(s.voters())-1 < s.need && !s.opts.Force {
		return fmt.Errorf("%w: replacing replica %d would leave %d voting replica(s), fewer than the quorum of %d: no object could be read or rebuilt; Options.Force does it anyway",
			ErrNoQuorum, i, len(s.voters())-1, s.need)
	}
	m, err := s.prepareReplacement(i, path)
	if err != nil {
		return err
	}
	if err := s.markApplied(); err != nil {
		m.f.Close()
		return err
	}
	gen := s.gen + 1
	at := s.replacedAt(i, gen)
	journal := s.recovery.Journal
	m.super = &Superblock{Version: version, State: Rebuilding, Sequence: 1, Set: s.set, Replica: newID(), Index: i, Count: s.count,
		Geometry: s.geo, Generation: gen, ReplacedAt: at, Created: time.Now(), Journal: journal}
	m.id = m.super.Replica
	for range 2 { // both copies: no copy of an earlier set survives
		if err := writeSuper(m.f, m.super); err != nil {
			m.f.Close()
			return fmt.Errorf("%s: %w", path, err)
		}
		m.super.Sequence++
	}
	m.super.Sequence--
	// From here the new drive names itself replica i at gen: a failure
	// leaves replicas a generation apart, which only Open reconciles (see
	// checkMember), so the set takes no more changes until it is reopened.
	partway := func(err error) error {
		m.f.Close()
		s.broken = fmt.Errorf("replacing replica %d failed part-way (%w): reopen the set, with the new drive at index %d to go on", i, err, i)
		return s.broken
	}
	if !m.block {
		if err := syncDir(filepath.Dir(path)); err != nil {
			return partway(fmt.Errorf("%s: %w", filepath.Dir(path), err))
		}
	}
	for k, o := range s.members {
		if o == nil || k == i {
			continue
		}
		if err := s.rewriteSuper(o, func(x *Superblock) { x.Generation, x.ReplacedAt, x.Journal = gen, slices.Clone(at), journal }); err != nil {
			return partway(err)
		}
	}
	s.data.Lock()
	old := s.members[i]
	s.members[i], s.paths[i], s.gen = m, path, gen
	s.publish()
	if old != nil {
		old.f.Close()
	}
	s.data.Unlock()
	defer s.writes.Add(1) // after any replay below has written in place
	if len(s.recovery.Waiting) > 0 {
		s.broken = nil
		rec, err := s.journal.committed(s.count, s.geo)
		if err == nil && rec != nil {
			err = s.replay(rec)
		}
		if err != nil {
			s.broken = err
			return err
		}
		// Done; if the record also waits for another missing replica, the
		// set stays unwritable, as Recovery().Waiting says.
	}
	return nil
}

// prepareReplacement opens, checks, locks and sizes the file for replica
// i. A file that is replica i's own is closed as a member first (it is
// being formatted afresh, and the lock is this process's).
func (s *Set) prepareReplacement(i int, path string) (*member, error) {
	f, size, err := openReplica(path, true, true)
	if err != nil {
		return nil, err
	}
	m := &member{path: path, file: f, f: newDevice(path, f), state: Rebuilding}
	fail := func(err error) (*member, error) {
		m.f.Close()
		return nil, err
	}
	if m.key, err = fileKey(f); err != nil {
		return fail(fileError(path, err))
	}
	fi, err := f.Stat()
	if err != nil {
		return fail(fileError(path, err))
	}
	m.block = !fi.Mode().IsRegular()
	for k, o := range s.members {
		if o != nil && k != i && o.key == m.key {
			return fail(fmt.Errorf("%w: %s is replica %d of this set already", ErrDuplicate, path, k))
		}
	}
	if err := s.refuseReplace(i, m, size); err != nil {
		return fail(err)
	}
	if old := s.members[i]; old != nil && old.key == m.key {
		// Replica i's own file, formatted afresh: it is missing from here,
		// whether or not the rest succeeds.
		s.data.Lock()
		s.members[i], s.paths[i] = nil, ""
		s.publish()
		old.f.Close()
		s.data.Unlock()
	}
	if err := lock(f, true); err != nil {
		return fail(fmt.Errorf("%s: %w", path, err))
	}
	need := DataOffset + s.geo.bytes()
	if !m.block {
		if err := f.Truncate(need); err != nil {
			return fail(fileError(path, err))
		}
	} else if size < need {
		return fail(fmt.Errorf("%s: %w: the device has %d bytes, the set needs %d", path, ErrUnusable, size, need))
	}
	return m, nil
}

// replacedAt is the set's ReplacedAt with replica i replaced at gen.
func (s *Set) replacedAt(i int, gen uint64) []uint64 {
	at := make([]uint64, s.count)
	for _, m := range s.members {
		if m != nil && m.super != nil && m.super.Generation == s.gen {
			copy(at, m.super.ReplacedAt)
			break
		}
	}
	at[i] = gen
	return at
}

// refuseReplace keeps Replace from destroying data it was not told to:
// without Force, only a blank file or device, or a copy of replica i
// itself (the failing drive, or one replaced already), may be formatted.
func (s *Set) refuseReplace(i int, m *member, size int64) error {
	if s.opts.Force || size == 0 {
		return nil
	}
	sb, _, err := readSuper(m.f)
	switch {
	case err == nil && sb.Set == s.set && sb.Index == i:
		return nil
	case err == nil && sb.Set == s.set:
		return fmt.Errorf("%s: %w: it is replica %d of this set, not %d: Options.Force overwrites it", m.path, ErrUnusable, sb.Index, i)
	case err == nil:
		return fmt.Errorf("%s: %w: replica %d of another set, %s: Options.Force overwrites it", m.path, ErrUnusable, sb.Index, sb.Set.Short())
	case errors.Is(err, errBlank):
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
	if v := len(s.voters()); v < s.need {
		// Every object would be unquorate: the new replica would get only
		// vectors of its own, and vote for none of the data that is left.
		return res, fmt.Errorf("%w: %d voting replica(s) to rebuild replica %d from, fewer than the quorum of %d: bring replicas back, or open with a lower Options.Quorum knowingly",
			ErrNoQuorum, v, i, s.need)
	}
	var srcs [][]byte // per voter, grown when a rebuild elsewhere adds one
	out := make([]byte, per*osz)
	results := make([]kernel.Result, per)
	for {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		done, err := s.rebuildBatch(i, per, &srcs, out, results, &res)
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
func (s *Set) rebuildBatch(i, per int, bufs *[][]byte, out []byte, results []kernel.Result, res *Rebuilt) (int64, error) {
	s.commit.Lock()
	defer s.commit.Unlock()
	if s.broken != nil {
		return 0, s.broken
	}
	m := s.members[i]
	if m == nil || m.state != Rebuilding {
		return 0, fmt.Errorf("%w: replica %d is no longer being rebuilt", ErrInvalid, i)
	}
	voters := s.voters() // stable: the commit lock is held
	osz, vo := s.geo.ObjectSize, s.geo.VectorOffset
	for len(*bufs) < len(voters) {
		*bufs = append(*bufs, make([]byte, per*osz))
	}
	srcs := (*bufs)[:len(voters)]
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
		s.publish()
	}
	return end, nil
}
