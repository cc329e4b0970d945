package replica

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/lockstep/quorum/kernel"
)

// openJournal opens the set's journal (never through a symlink, never a
// FIFO or device), checks that it is this set's, and replays or reports a
// committed record.
func (s *Set) openJournal(path string) error {
	s.recovery.Journal = path
	flag := os.O_RDWR
	if s.readOnly {
		flag = os.O_RDONLY
	}
	f, err := openFile(path, flag, 0, true)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %s is missing. It is where a write cut short would be finished from, so the set cannot be written until it is found: if it was moved, give Options.Journal",
				ErrJournal, path)
		} else {
			err = fmt.Errorf("%w: %s: %w", ErrJournal, path, err)
		}
		return s.readOnlyCan(err)
	}
	if err := checkRegular(f, path); err != nil {
		f.Close()
		return err
	}
	if err := lock(f, !s.readOnly); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	j := &journal{path: path, file: f, f: newDevice(path, f)}
	s.journal = j
	if err := j.readHeader(); err != nil {
		switch {
		case s.raw && (errors.Is(err, errBlank) || errors.Is(err, errNoHeader)):
			// A raw journal is created at the first writable open, and that
			// may have been cut short.
			err = s.reinitJournal(j)
		case errors.Is(err, errBlank):
			// Create writes a set's journal header before any superblock:
			// a blank one was zeroed since, and what it committed is lost.
			err = fmt.Errorf("%w: %s has no header (zeroed?): what it committed cannot be told, so torn objects could read as agreed. Read the set read-only and check the last writes' objects", ErrJournal, path)
		}
		if err != nil {
			return s.readOnlyCan(err)
		}
	}
	if s.raw {
		// A raw set is named by its journal, once the journal names its files.
		if err := s.checkRawBlock(j); err != nil {
			return s.readOnlyCan(err)
		}
		s.set = j.hdr.set
	}
	if j.hdr.set != s.set {
		return s.readOnlyCan(fmt.Errorf("%w: %s is the journal of set %s, not of %s", ErrJournal, path, j.hdr.set.Short(), s.set.Short()))
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < areaOffset(2, j.hdr.capacity) {
		return s.readOnlyCan(fmt.Errorf("%w: %s is %d bytes, its header says %d: truncated", ErrJournal, path, fi.Size(), areaOffset(2, j.hdr.capacity)))
	}
	s.recovery.Torn = j.torn()
	rec, err := j.committed(s.count, s.geo)
	if err != nil {
		return s.readOnlyCan(err)
	}
	if rec == nil {
		return nil
	}
	s.recovery.Kind = kindName(rec.kind)
	if s.readOnly {
		s.recovery.Pending, s.recovery.PendingObjects = rec.seq, len(rec.entries)
		s.setPending(rec.entries)
		return nil
	}
	return s.replay(rec)
}

// reinitJournal gives a journal with two blank header copies its first
// header: the creation of the journal was cut short (a crash before its
// header was durable). Nothing can have been committed through a journal
// that never had a header, but a record in an area means one did, and the
// header was lost since: that is refused.
func (s *Set) reinitJournal(j *journal) error {
	fi, err := j.file.Stat()
	if err != nil {
		return err
	}
	// The areas were reserved, zeroed, before the header was written.
	capacity := (fi.Size() - areaStart) / 2
	if capacity < recordSize(s.count, s.geo.ObjectSize, []entry{{targets: make([]target, s.count)}}) {
		return fmt.Errorf("%w: %s has no header and is %d bytes: its creation was cut short; remove it and open again", ErrJournal, j.path, fi.Size())
	}
	b := make([]byte, len(recordMagic))
	for area := range 2 {
		if _, err := j.f.ReadAt(b, areaOffset(area, capacity)); err == nil && string(b) == recordMagic {
			return fmt.Errorf("%w: %s has no header but holds a record: its header was lost, and what it committed cannot be told", ErrJournal, j.path)
		}
	}
	if s.readOnly {
		return fmt.Errorf("%w: %s has no header (its creation was cut short): nothing is pending; a writable open completes it", ErrJournal, j.path)
	}
	set := s.set
	if s.raw {
		ids, err := s.rawIDs()
		if err != nil {
			return err
		}
		set = newID()
		if _, err := j.f.WriteAt(encodeRawBlock(ids), rawBlockAt); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrJournal, j.path, err)
		}
	}
	return j.writeHeader(header{set: set, capacity: capacity})
}

// readOnlyCan lets a read-only open go on past a journal problem (reads do
// not need the journal, and Scan says what it could not check); a writable
// open fails with it.
func (s *Set) readOnlyCan(err error) error {
	if !s.readOnly {
		return err
	}
	s.recovery.Problem = err
	if s.journal != nil {
		s.journal.f.Close()
		s.journal = nil
	}
	return nil
}

// mixOf reports whether every byte of cur is the byte of prior or of next
// at its place: cur is one of the two, or a write of next over prior torn
// at a sector boundary inside the vector. A later state, with its random
// IDs, is not (but for odds of about 2^-185).
func mixOf(cur, prior, next []byte) bool {
	for j := range cur {
		if cur[j] != prior[j] && cur[j] != next[j] {
			return false
		}
	}
	return true
}

// setPending records entries as committed and not yet in place, for reads
// and scans. The entries' bytes are copied: they may alias buffers that
// will be reused.
func (s *Set) setPending(entries []entry) {
	m := make(map[int64]*entry, len(entries))
	for _, e := range entries {
		c := entry{object: e.object, data: bytes.Clone(e.data), targets: append([]target(nil), e.targets...)}
		m[e.object] = &c
	}
	s.pending.Store(&m)
}

// pendingEntry is the pending entry for object i, or nil.
func (s *Set) pendingEntry(i int64) *entry {
	if m := s.pending.Load(); m != nil {
		return (*m)[i]
	}
	return nil
}

// replay finishes a committed transaction. It checks every object before it
// writes any; a replica the record needs that is missing leaves the set open
// but unwritable (Replace can stand in for it).
func (s *Set) replay(rec *record) error {
	vo := s.geo.VectorOffset
	vec := make([]byte, kernel.VectorSize)
	skip := make(map[[2]int64]bool)
	s.recovery.Waiting = nil
	for _, e := range rec.entries {
		next := e.data[vo : vo+kernel.VectorSize]
		for _, t := range e.targets {
			m := s.members[t.replica]
			switch {
			case m == nil:
				if !slices.Contains(s.recovery.Waiting, t.replica) {
					s.recovery.Waiting = append(s.recovery.Waiting, t.replica)
				}
				continue
			case m.id != rec.replicas[t.replica] || (m.state == Rebuilding && e.object >= m.rebuilt):
				if m.state != Rebuilding && rec.generation == s.gen {
					return fmt.Errorf("%w: %s: record %d was written for another replica %d (ID %s, this is %s): nothing replayed",
						ErrJournal, s.journal.path, rec.seq, t.replica, rec.replicas[t.replica].Short(), m.id.Short())
				}
				// Replaced since the record (a later generation), or not
				// yet rebuilt this far: Rebuild copies the object from the
				// quorum, or has.
				skip[[2]int64{e.object, int64(t.replica)}] = true
				continue
			}
			if _, err := m.f.ReadAt(vec, s.objectOffset(e.object)+int64(vo)); err != nil {
				return fmt.Errorf("%s: %w", m.path, err)
			}
			if !mixOf(vec, t.prior[:], next) {
				return fmt.Errorf("%w: %s: record %d would write object %d of %s, which holds neither the state the record found (%x) nor the one it writes (%x) but %x. The journal is stale (restored from a backup?) or the replica was written behind the set's back; replaying it could undo a later write, so nothing was replayed. Read the set read-only to see the objects; move the journal away only if you know its record is void",
					ErrJournal, s.journal.path, rec.seq, e.object, m.path, t.prior[:kernel.IDSize], next[:kernel.IDSize], vec[:kernel.IDSize])
			}
		}
	}
	if len(s.recovery.Waiting) > 0 {
		slices.Sort(s.recovery.Waiting)
		s.broken = fmt.Errorf("%w: record %d of %s must also write %s, missing: open the set with it, or Replace it",
			ErrJournalPending, rec.seq, s.journal.path, replicaList(s.recovery.Waiting))
		s.recovery.Pending, s.recovery.PendingObjects = rec.seq, len(rec.entries)
		s.setPending(rec.entries)
		return nil
	}
	if err := s.applyRounds(rec.entries, func(e *entry, t target) bool { return !skip[[2]int64{e.object, int64(t.replica)}] }); err != nil {
		return err
	}
	h := s.journal.hdr
	h.applied = true
	if err := s.journal.writeHeader(h); err != nil {
		return err
	}
	s.recovery.Replayed, s.recovery.Objects = rec.seq, len(rec.entries)
	s.recovery.Pending, s.recovery.PendingObjects, s.recovery.Waiting = 0, 0, nil
	s.pending.Store(nil)
	return nil
}

// replicaList is "replica 2" or "replicas 0, 2".
func replicaList(idx []int) string {
	s := make([]string, len(idx))
	for i, k := range idx {
		s[i] = strconv.Itoa(k)
	}
	if len(s) == 1 {
		return "replica " + s[0]
	}
	return "replicas " + strings.Join(s, ", ")
}

func kindName(kind uint32) string {
	switch kind {
	case kindWrite:
		return "write"
	case kindRepair:
		return "repair"
	}
	return "unknown"
}
