package replica

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/lockstep/quorum/kernel"
)

func checkRegular(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: %s is %s, not a regular file", ErrJournal, path, describeMode(fi.Mode()))
	}
	return nil
}

func checkPaths(paths []string, missingOK bool) error {
	switch {
	case len(paths) < kernel.SourcesMin || len(paths) > kernel.SourcesMax:
		return fmt.Errorf("%w: paths: %d replicas, must be from %d to %d", ErrInvalid, len(paths), kernel.SourcesMin, kernel.SourcesMax)
	}
	present := 0
	for i, p := range paths {
		if p == "" && !missingOK {
			return fmt.Errorf("%w: paths[%d] is empty", ErrInvalid, i)
		}
		if p != "" {
			present++
		}
	}
	if present == 0 {
		return fmt.Errorf("%w: paths: every replica is missing", ErrInvalid)
	}
	return nil
}

func (s *Set) checkDuplicate(i int) error {
	m := s.members[i]
	for j, o := range s.members[:i] {
		if o != nil && o.super != nil && o.id == m.id {
			return fmt.Errorf("%w: %s and %s hold the same replica ID (a copy of one file?)", ErrDuplicate, s.paths[j], m.path)
		}
	}
	return nil
}

// openMembers opens every named replica, refuses one file listed twice
// (whatever paths reach it), and only then locks them all, exclusively to
// write, before anything reads or writes them. paths[i] "" leaves
// members[i] nil.
func openMembers(paths []string, write, create bool) ([]*member, []int64, error) {
	members := make([]*member, len(paths))
	sizes := make([]int64, len(paths))
	fail := func(err error) ([]*member, []int64, error) {
		closeAll(members, nil)
		return nil, nil, err
	}
	for i, p := range paths {
		if p == "" {
			continue
		}
		f, size, err := openReplica(p, write, create)
		if err != nil {
			return fail(err)
		}
		m := &member{path: p, file: f, f: newDevice(p, f)}
		members[i], sizes[i] = m, size
		fi, err := f.Stat()
		if err != nil {
			return fail(fileError(p, err))
		}
		m.block = !fi.Mode().IsRegular()
		if m.key, err = fileKey(f); err != nil {
			return fail(fileError(p, err))
		}
		for j, o := range members[:i] {
			if o != nil && o.key == m.key {
				return fail(fmt.Errorf("%w: %s and %s are the same replica", ErrDuplicate, paths[j], p))
			}
		}
	}
	for _, m := range members {
		if m == nil {
			continue
		}
		if err := lock(m.file, write); err != nil {
			return fail(fmt.Errorf("%s: %w", m.path, err))
		}
	}
	return members, sizes, nil
}

// Open opens a formatted set: paths[i] is replica i, or "" for one that is
// missing (it then counts against the quorum). Every superblock is checked
// before anything is written: a replica of another set, at another index,
// with another geometry, listed twice, or replaced while it was away is
// refused with an error naming the file. Writable opens lock every replica
// and the journal, and replay a committed journal record if there is one
// (see Recovery): writing each of its objects only where it still holds the
// state the record found or already holds the new one. A read-only open
// writes nothing and reports such objects as Pending.
func Open(paths []string, opts *Options) (*Set, error) {
	o := *opts.orDefault()
	if err := checkPaths(paths, true); err != nil {
		return nil, err
	}
	s := &Set{paths: append([]string(nil), paths...), count: len(paths), opts: o, readOnly: o.ReadOnly, members: make([]*member, len(paths))}
	ok := false
	defer func() {
		if !ok {
			closeAll(s.members, s.journal)
		}
	}()
	var ref *Superblock
	members, sizes, err := openMembers(paths, !o.ReadOnly, false)
	if err != nil {
		return nil, err
	}
	s.members = members
	for i, m := range s.members {
		if m == nil {
			continue
		}
		p, size := m.path, sizes[i]
		sb, _, err := readSuper(m.f)
		switch {
		case errors.Is(err, errBlank):
			return nil, fmt.Errorf("%s: %w: blank, no superblock: a new drive is formatted into the set with Replace (quorum rebuild)", p, ErrNotFormatted)
		case err != nil:
			return nil, fmt.Errorf("%s: %w: %v", p, ErrNotFormatted, err)
		}
		m.super, m.id, m.state, m.rebuilt = sb, sb.Replica, sb.State, sb.Rebuilt
		if err := s.checkDuplicate(i); err != nil {
			return nil, err
		}
		if sb.Count != len(paths) {
			return nil, fmt.Errorf("%s: %w: a set of %d replicas, %d listed", p, ErrForeign, sb.Count, len(paths))
		}
		if sb.Index != i {
			return nil, fmt.Errorf("%s: %w: it is replica %d of set %s, listed as replica %d (list replicas in index order)", p, ErrForeign, sb.Index, sb.Set.Short(), i)
		}
		if size < DataOffset+sb.Geometry.bytes() {
			return nil, fmt.Errorf("%s: %w: %d bytes, the set's geometry (%s) needs %d: truncated?", p, ErrForeign, size, sb.Geometry, DataOffset+sb.Geometry.bytes())
		}
		if ref == nil || sb.Generation > ref.Generation {
			ref = sb
		}
	}
	for i, m := range s.members {
		if m == nil {
			continue
		}
		if err := s.checkMember(i, ref); err != nil {
			return nil, err
		}
	}
	s.geo, s.set, s.gen = ref.Geometry, ref.Set, ref.Generation
	if s.need, err = checkQuorum(o.Quorum, s.count); err != nil {
		return nil, err
	}
	jpath := ref.Journal
	if o.Journal != "" {
		if jpath, err = filepath.Abs(o.Journal); err != nil {
			return nil, err
		}
	}
	if err := s.openJournal(jpath); err != nil {
		return nil, err
	}
	if err := s.upgradeGenerations(ref); err != nil {
		return nil, err
	}
	s.publish()
	if len(s.voters()) == 0 {
		return nil, fmt.Errorf("%w: no replica votes (every listed one is missing or rebuilding): finish Rebuild with the replicas it copies from", ErrInvalid)
	}
	ok = true
	return s, nil
}

// checkMember compares replica i's superblock with the newest one.
func (s *Set) checkMember(i int, ref *Superblock) error {
	m := s.members[i]
	sb := m.super
	if !sb.sameSet(ref) {
		what := fmt.Sprintf("set %s", sb.Set.Short())
		if sb.Set == ref.Set {
			what = fmt.Sprintf("another geometry (%s, %d replicas)", sb.Geometry, sb.Count)
		}
		return fmt.Errorf("%s: %w: %s, where %s is of set %s (%s, %d replicas)", m.path, ErrForeign, what, s.firstPath(), ref.Set.Short(), ref.Geometry, ref.Count)
	}
	if s.opts.Journal == "" && sb.Journal != ref.Journal && sb.Generation == ref.Generation {
		return fmt.Errorf("%s: %w: the superblocks name two journals, %s and %s: give Options.Journal", m.path, ErrJournal, sb.Journal, ref.Journal)
	}
	if ref.ReplacedAt[i] > sb.Generation {
		return fmt.Errorf("%s: %w: it is at generation %d, and replica %d was replaced at generation %d, while this copy was away: format it into the set again with Replace",
			m.path, ErrStale, sb.Generation, i, ref.ReplacedAt[i])
	}
	// Otherwise it missed other replicas' Replaces (it was away, or a
	// Replace was cut short): it is brought up to date below.
	return nil
}

func (s *Set) firstPath() string {
	for _, m := range s.members {
		if m != nil {
			return m.path
		}
	}
	return ""
}

// upgradeGenerations writes the newest generation into replicas a Replace
// did not reach.
func (s *Set) upgradeGenerations(ref *Superblock) error {
	for _, m := range s.members {
		if m == nil || m.super.Generation == ref.Generation {
			continue
		}
		if s.readOnly {
			continue
		}
		if err := s.rewriteSuper(m, func(sb *Superblock) {
			sb.Generation, sb.ReplacedAt, sb.Journal = ref.Generation, slices.Clone(ref.ReplacedAt), ref.Journal
		}); err != nil {
			return err
		}
	}
	return nil
}

// rewriteSuper changes a member's superblock and writes it durably.
func (s *Set) rewriteSuper(m *member, change func(*Superblock)) error {
	sb := *m.super
	change(&sb)
	sb.Sequence++
	if err := writeSuper(m.f, &sb); err != nil {
		return fmt.Errorf("%s: superblock: %w", m.path, err)
	}
	m.super = &sb
	return nil
}
