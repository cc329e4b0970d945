package replica

import (
	"errors"
	"fmt"
	"hash/crc32"
)

// testHook, when set by a test, is called at every point a crash could
// land: before each journal write, journal sync, in-place write and
// replica sync. Release builds never set it.
var testHook func(point string)

func hook(point string) {
	if testHook != nil {
		testHook(point)
	}
}

// commitEntries runs a transaction for anything but a repairing Scan (which
// counts its own writes apart, see scanner.batch): entries are committed through the
// journal (as several records when they do not fit one area), then written
// in place, round by round, and the replicas synced. The caller holds
// s.commit. An error before a record's commit point means that record
// wrote nothing; an error after it leaves the set unwritable until it is
// reopened, which finishes the record (the error wraps ErrJournalPending).
func (s *Set) commitEntries(kind uint32, entries []entry) (applied int, err error) {
	// Counted once the bytes are in place (or failed to be): a scan that
	// read before sees the count move.
	defer s.writes.Add(1)
	return s.commitQuiet(kind, entries)
}

// commitQuiet is commitEntries without counting the write in s.writes. It
// returns how many entries, from the first, are in place and synced; the
// error is about the others (see errNotWritten for those it never tried).
func (s *Set) commitQuiet(kind uint32, entries []entry) (applied int, err error) {
	if s.broken != nil {
		return 0, s.broken
	}
	j := s.journal
	ids := s.replicaIDs()
	for len(entries) > 0 {
		n, size := 0, recordSize(s.count, s.geo.ObjectSize, nil)
		for n < len(entries) {
			es := entrySize(s.geo.ObjectSize, len(entries[n].targets))
			if n > 0 && size+es > j.hdr.capacity {
				break
			}
			size += es
			n++
		}
		if size > j.hdr.capacity {
			return applied, fmt.Errorf("%w: %s: a record of %d bytes does not fit its %d-byte areas", ErrJournal, j.path, size, j.hdr.capacity)
		}
		if err := s.commitRecord(kind, entries[:n], ids); err != nil {
			return applied, &groupError{err: err, record: n}
		}
		applied += n
		entries = entries[n:]
	}
	return applied, nil
}

// groupError is a transaction's failure: the first record entries of those
// not applied had err; any after them were never tried.
type groupError struct {
	err    error
	record int
}

func (e *groupError) Error() string { return e.err.Error() }
func (e *groupError) Unwrap() error { return e.err }

// entryError is the error for entry k of the entries a commit did not apply.
func entryError(err error, k int) error {
	var g *groupError
	if errors.As(err, &g) {
		if k < g.record {
			return g.err
		}
		return fmt.Errorf("not written: an earlier record of its group failed first (%v)", g.err)
	}
	return err
}

func (s *Set) commitRecord(kind uint32, entries []entry, ids []ID) error {
	j := s.journal
	h := j.hdr
	next := header{set: h.set, capacity: h.capacity, committed: h.committed + 1}
	if h.committed != 0 {
		next.area = 1 - h.area
	}
	j.buf = encodeRecord(j.buf, kind, next.committed, s.set, s.gen, ids, s.geo.ObjectSize, entries)
	next.length, next.crc = int64(len(j.buf)), crc32.Checksum(j.buf, castagnoli)
	hook("journal write")
	if _, err := j.f.WriteAt(j.buf, areaOffset(next.area, h.capacity)); err != nil {
		return fmt.Errorf("%w: %s: %w (nothing was written to the replicas)", ErrJournal, j.path, err)
	}
	hook("journal sync")
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%w: %s: %w (nothing was written to the replicas)", ErrJournal, j.path, err)
	}
	hook("journal commit")
	if err := j.writeHeader(next); err != nil {
		// The header may or may not have reached the disk: only Open can
		// tell, and finishes the record if it did. Nothing is in place yet,
		// so reads still see the old state, as they will if it did not.
		s.broken = fmt.Errorf("%w: committing record %d: %w: reopen the set to finish or discard it", ErrJournalPending, next.committed, err)
		return s.broken
	}
	if err := s.applyRounds(entries, nil); err != nil {
		s.setPending(entries)
		s.recovery.Pending, s.recovery.PendingObjects, s.recovery.Kind = next.committed, len(entries), kindName(kind)
		s.broken = fmt.Errorf("%w: record %d is committed but %w: reopen the set (with space or the device back) to finish it", ErrJournalPending, next.committed, err)
		return s.broken
	}
	// In place and synced: the record needs no replay. If this mark fails
	// to reach the disk, the next Open replays it, which is harmless.
	s.markApplied()
	return nil
}

// markApplied marks the journal's committed record applied (its writes
// are in place and synced), so that no later Open replays it: not onto a
// replica replaced since, nor blocks a degraded set on a missing replica
// it wrote long ago.
func (s *Set) markApplied() error {
	j := s.journal
	if j == nil || s.readOnly || s.broken != nil || j.hdr.committed == 0 || j.hdr.applied {
		return nil
	}
	h := j.hdr
	h.applied = true
	return j.writeHeader(h)
}

// applyRounds writes entries in place: round p writes every entry's p-th
// target, so that for every object the replicas written so far are a prefix
// of its order; consecutive objects of one round going to one replica are
// written with one pwrite. Readers are held off only while the bytes are
// copied, not while they are synced. Every replica written is then synced.
// keep, when not nil, filters targets (replay skips replaced ones).
func (s *Set) applyRounds(entries []entry, keep func(*entry, target) bool) error {
	osz := s.geo.ObjectSize
	written := make([]bool, s.count)
	rounds := 0
	for i := range entries {
		rounds = max(rounds, len(entries[i].targets))
	}
	var run []byte
	runReplica, runFirst, runNext := -1, int64(0), int64(0)
	flush := func() error {
		if runReplica < 0 || len(run) == 0 {
			return nil
		}
		m := s.members[runReplica]
		if m == nil {
			return fmt.Errorf("%w: replica %d left the set during the transaction", ErrInvalid, runReplica)
		}
		hook("replica write")
		if _, err := m.f.WriteAt(run, s.objectOffset(runFirst)); err != nil {
			return fmt.Errorf("%s: %w", m.path, err)
		}
		written[runReplica] = true
		run = run[:0]
		return nil
	}
	s.data.Lock()
	for p := range rounds {
		for i := range entries {
			e := &entries[i]
			if p >= len(e.targets) || (keep != nil && !keep(e, e.targets[p])) {
				continue
			}
			t := e.targets[p].replica
			if t != runReplica || e.object != runNext || len(run)+osz > 1<<20 || testHook != nil {
				if err := flush(); err != nil {
					s.data.Unlock()
					return err
				}
				runReplica, runFirst = t, e.object
			}
			run = append(run, e.data...)
			runNext = e.object + 1
		}
		if err := flush(); err != nil {
			s.data.Unlock()
			return err
		}
		runReplica = -1
	}
	s.data.Unlock()
	for i, w := range written {
		if w {
			hook("replica sync")
			if err := s.members[i].f.Sync(); err != nil {
				return fmt.Errorf("%s: %w", s.members[i].path, err)
			}
		}
	}
	return nil
}
