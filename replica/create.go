package replica

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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
