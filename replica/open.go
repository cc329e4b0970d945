package replica

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/lockstep/quorum/kernel"
)

// Create formats a new set: every path becomes a replica of geo.Objects
// objects (regular files are created or resized, block devices must be large
// enough), every object starts at one random vector with zero bytes
// elsewhere, and each replica gets its superblock. The journal is created
// (see Options.Journal) with its space reserved, so that a full disk is
// found now rather than in the middle of a write. Every file is locked
// before anything is written. A file that is already a replica, or not
// empty, is refused unless Options.Force. An interrupted Create leaves
// replicas that Open refuses as not formatted; run it again with Force.
func Create(paths []string, geo Geometry, opts *Options) (*Set, error) {
	o := *opts.orDefault()
	if o.ReadOnly {
		return nil, fmt.Errorf("%w: Create with Options.ReadOnly", ErrInvalid)
	}
	if err := checkPaths(paths, false); err != nil {
		return nil, err
	}
	if err := geo.Check(len(paths)); err != nil {
		return nil, err
	}
	if o.JournalCapacity == 0 {
		o.JournalCapacity = journalCapacity(len(paths), geo.ObjectSize)
	}
	if need := recordSize(len(paths), geo.ObjectSize, []entry{{targets: make([]target, len(paths))}}); o.JournalCapacity < need || o.JournalCapacity > 1<<40 {
		return nil, fmt.Errorf("%w: journal capacity %d: must hold one object of every replica (%d bytes) and be at most 1 TiB", ErrInvalid, o.JournalCapacity, need)
	}
	need, qerr := checkQuorum(o.Quorum, len(paths))
	if qerr != nil {
		return nil, qerr
	}
	s := &Set{paths: append([]string(nil), paths...), geo: geo, count: len(paths), need: need, opts: o, set: newID()}
	// Files this call creates are removed again if it fails: a refused
	// Create leaves nothing behind.
	var made []string
	for _, p := range paths {
		if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
			made = append(made, p)
		}
	}
	ok := false
	defer func() {
		if !ok {
			closeAll(s.members, s.journal)
			for _, p := range made {
				os.Remove(p)
			}
		}
	}()
	size := DataOffset + geo.bytes()
	block := false
	var err error
	var sizes []int64
	if s.members, sizes, err = openMembers(paths, true, true); err != nil {
		return nil, err
	}
	// Every file is checked before any is resized.
	for i, m := range s.members {
		m.state = Active
		block = block || m.block
		if err := refuseOverwrite(m, sizes[i], m.block, o.Force); err != nil {
			return nil, err
		}
		if m.block && sizes[i] < size {
			return nil, fmt.Errorf("%s: %w: the device has %d bytes, the set needs %d (%s and %d of superblocks)", m.path, ErrUnusable, sizes[i], size, geo, DataOffset)
		}
	}
	if o.Journal == "" && block {
		return nil, fmt.Errorf("%w: a set on block devices needs Options.Journal: a path on a file system that survives a reboot", ErrInvalid)
	}
	if o.Journal != "" && !o.Force {
		if _, err := os.Lstat(o.Journal); err == nil {
			return nil, fmt.Errorf("%w: %s exists: Options.Force overwrites it", ErrUnusable, o.Journal)
		}
	}
	for _, m := range s.members {
		if !m.block {
			if err := m.file.Truncate(size); err != nil {
				return nil, fileError(m.path, err)
			}
		}
	}
	if o.Journal == "" {
		o.Journal = filepath.Join(filepath.Dir(paths[0]), ".quorum-"+s.set.String()+".journal")
	}
	if s.opts.Journal, err = filepath.Abs(o.Journal); err != nil {
		return nil, err
	}
	if len(s.opts.Journal) > maxJournal {
		return nil, fmt.Errorf("%w: journal path of %d bytes: at most %d", ErrInvalid, len(s.opts.Journal), maxJournal)
	}
	if s.journal, err = createJournal(s.opts.Journal, s.set, o.JournalCapacity, o.Force, nil); err != nil {
		return nil, err
	}
	if err := s.writeGenesis(); err != nil {
		return nil, err
	}
	// New directory entries, durable before anything relies on them.
	for _, m := range s.members {
		if !m.block {
			if err := syncDir(filepath.Dir(m.path)); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Dir(m.path), err)
			}
		}
	}
	created := time.Now()
	for i, m := range s.members {
		m.super = &Superblock{Version: version, State: Active, Sequence: 1, Set: s.set, Replica: newID(), Index: i, Count: s.count,
			Geometry: geo, ReplacedAt: make([]uint64, s.count), Created: created, Journal: s.opts.Journal}
		m.id = m.super.Replica
		// Both copies, so that no stale copy of an earlier set survives.
		if err := writeSuper(m.f, m.super); err != nil {
			return nil, fmt.Errorf("%s: %w", m.path, err)
		}
		m.super.Sequence++
		if err := writeSuper(m.f, m.super); err != nil {
			return nil, fmt.Errorf("%s: %w", m.path, err)
		}
	}
	s.recovery.Journal = s.opts.Journal
	s.publish()
	ok = true
	return s, nil
}

// journalCapacity is the default record area size: DefaultJournalCapacity,
// or one object of every replica if that is more.
func journalCapacity(count, objectSize int) int64 {
	need := recordSize(count, objectSize, []entry{{targets: make([]target, count)}})
	return max(DefaultJournalCapacity, (need+4095)/4096*4096)
}

// refuseOverwrite keeps Create from destroying data it was not told to.
func refuseOverwrite(m *member, size int64, block, force bool) error {
	if force || size == 0 {
		return nil
	}
	if sb, _, err := readSuper(m.f); err == nil {
		return fmt.Errorf("%s: %w: already replica %d of set %s: Options.Force overwrites it", m.path, ErrUnusable, sb.Index, sb.Set.Short())
	} else if block && errors.Is(err, errBlank) {
		return nil
	}
	return fmt.Errorf("%s: %w: not empty (%d bytes): Options.Force overwrites it", m.path, ErrUnusable, size)
}

// writeGenesis writes every object of every replica: one random vector,
// zero bytes elsewhere, then syncs.
func (s *Set) writeGenesis() error {
	osz := s.geo.ObjectSize
	per := max(1, (1<<20)/osz)
	chunk := make([]byte, per*osz)
	v := kernel.NewVector()
	for k := 0; k < per; k++ {
		copy(chunk[k*osz+s.geo.VectorOffset:], v[:])
	}
	for _, m := range s.members {
		for i := int64(0); i < s.geo.Objects; i += int64(per) {
			n := min(int64(per), s.geo.Objects-i)
			if _, err := m.f.WriteAt(chunk[:n*int64(osz)], s.objectOffset(i)); err != nil {
				return fmt.Errorf("%s: %w", m.path, err)
			}
		}
		if err := m.f.Sync(); err != nil {
			return fmt.Errorf("%s: %w", m.path, err)
		}
	}
	return nil
}

// createJournal creates (or with force, reuses) the journal file, reserves
// its space, writes its first header and makes its directory entry durable.
func createJournal(path string, set ID, capacity int64, force bool, raw []ID) (*journal, error) {
	flag := os.O_RDWR | os.O_CREATE
	if !force {
		flag |= os.O_EXCL
	}
	f, err := openFile(path, flag, 0o600, true)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s exists: Options.Force overwrites it", ErrUnusable, path)
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrJournal, path, err)
	}
	j := &journal{path: path, file: f, f: newDevice(path, f)}
	if err := checkRegular(f, path); err != nil {
		f.Close()
		return nil, err
	}
	if err := lock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// From here a failure leaves no half-made journal behind (a file
	// without a header would be refused by every later Open).
	fail := func(err error) (*journal, error) {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		return fail(err)
	}
	zero := make([]byte, 1<<20)
	total := areaStart + 2*capacity
	for off := int64(0); off < total; off += int64(len(zero)) {
		if _, err := f.WriteAt(zero[:min(int64(len(zero)), total-off)], off); err != nil {
			return fail(fmt.Errorf("%w: %s: reserving its %d bytes: %w", ErrJournal, path, total, err))
		}
	}
	if raw != nil {
		if _, err := f.WriteAt(encodeRawBlock(raw), rawBlockAt); err != nil {
			return fail(fmt.Errorf("%w: %s: %w", ErrJournal, path, err))
		}
	}
	if err := j.writeHeader(header{set: set, capacity: capacity}); err != nil {
		return fail(err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fail(fmt.Errorf("%s: %w", filepath.Dir(path), err))
	}
	return j, nil
}

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

// OpenRaw opens files that hold objects from their first byte and no
// superblock: an existing layout this package did not format. Nothing in
// the files says which set they belong to, so nothing checks it: geo is
// taken as given (Objects 0: the size of the files, which must be equal and
// a whole number of objects), and a wrong VectorOffset reads garbage as
// vectors. Replace and Rebuild need superblocks. To write, OpenRaw needs
// Options.Journal, the same path every time (nothing on raw files records
// it): the journal is created with every replica present and records which
// files (device and inode, or device number for a block device) are which
// replica, so any path reaching them finds it, and other files are refused.
// A read-only open without it says so in Recovery.Problem: a pending write
// cannot then be seen.
func OpenRaw(paths []string, geo Geometry, opts *Options) (*Set, error) {
	o := *opts.orDefault()
	if err := checkPaths(paths, true); err != nil {
		return nil, err
	}
	s := &Set{paths: append([]string(nil), paths...), count: len(paths), opts: o, readOnly: o.ReadOnly, raw: true, members: make([]*member, len(paths))}
	ok := false
	defer func() {
		if !ok {
			closeAll(s.members, s.journal)
		}
	}()
	var size int64 = -1
	var first string
	members, sizes, err := openMembers(paths, !o.ReadOnly, false)
	if err != nil {
		return nil, err
	}
	s.members = members
	for i, m := range s.members {
		if m == nil {
			continue
		}
		m.state = Active
		p, sz := m.path, sizes[i]
		m.id = rawID(m.key)
		if size >= 0 && sz != size {
			return nil, fmt.Errorf("%w: replicas differ in size: %s has %d bytes, %s has %d", ErrUnusable, first, size, p, sz)
		}
		size, first = sz, p
	}
	if geo.Objects == 0 && geo.ObjectSize > 0 {
		if size%int64(geo.ObjectSize) != 0 {
			return nil, fmt.Errorf("%w: replica size %d (%s) is not a whole number of %d-byte objects (%d objects and %d bytes over): check the object size",
				ErrUnusable, size, first, geo.ObjectSize, size/int64(geo.ObjectSize), size%int64(geo.ObjectSize))
		}
		geo.Objects = size / int64(geo.ObjectSize)
	}
	if err := geo.Check(len(paths)); err != nil {
		return nil, err
	}
	if geo.bytes() > size {
		return nil, fmt.Errorf("%w: %d objects of %d bytes need %d bytes, %s has %d", ErrUnusable, geo.Objects, geo.ObjectSize, geo.bytes(), first, size)
	}
	s.geo = geo
	if s.need, err = checkQuorum(o.Quorum, s.count); err != nil {
		return nil, err
	}
	if o.Journal == "" {
		if !s.readOnly {
			return nil, fmt.Errorf("%w: a raw set needs Options.Journal to be written: nothing on its files records where its journal is", ErrInvalid)
		}
		s.recovery.Problem = fmt.Errorf("%w: no Options.Journal given for this raw set: a write an interruption left pending cannot be seen, and its objects could read torn", ErrJournal)
		s.publish()
		ok = true
		return s, nil
	}
	jpath, err := filepath.Abs(o.Journal)
	if err != nil {
		return nil, err
	}
	if _, err := os.Lstat(jpath); errors.Is(err, fs.ErrNotExist) && !s.readOnly {
		ids, err := s.rawIDs()
		if err != nil {
			return nil, err
		}
		s.set = newID()
		if s.journal, err = createJournal(jpath, s.set, journalCapacity(s.count, geo.ObjectSize), false, ids); err != nil {
			return nil, err
		}
		s.recovery.Journal = jpath
		s.publish()
		ok = true
		return s, nil
	}
	if err := s.openJournal(jpath); err != nil {
		return nil, err
	}
	s.publish()
	ok = true
	return s, nil
}
