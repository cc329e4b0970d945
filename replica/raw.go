package replica

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

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
