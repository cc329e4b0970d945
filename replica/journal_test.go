package replica_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstep/quorum/replica"
)

type crash struct{ point string }

// crashAt runs f with the set's crash hook armed at the nth time point is
// reached (a panic stands for the process dying there), then abandons the
// set as a crash would. It fails the test if the point is never reached.
func crashAt(t *testing.T, s *replica.Set, point string, nth int, f func()) {
	t.Helper()
	seen := 0
	replica.SetTestHook(func(p string) {
		if p == point {
			if seen++; seen == nth {
				panic(crash{p})
			}
		}
	})
	defer replica.SetTestHook(nil)
	defer replica.Abandon(s)
	defer func() {
		if r := recover(); r == nil {
			t.Fatalf("crash point %q #%d never reached", point, nth)
		} else if _, ok := r.(crash); !ok {
			panic(r)
		}
	}()
	f()
}

// A write cut short after its commit point, then the set opened through
// other paths (a symlink to the first replica, a hard link to the second,
// in another directory): the journal is found through the superblocks and
// the write finished, never reported agreed with torn bytes. (Regression:
// the journal used to be found by the path as typed.)
func TestJournalFoundWhateverThePath(t *testing.T) {
	paths, s := testSet(t, 3, 8, 4096, 0)
	mustWrite(t, s, 2, "old")
	crashAt(t, s, "replica write", 2, func() { s.Write(2, payload(4096, "new")) })
	other := t.TempDir()
	link, hard := filepath.Join(other, "a"), filepath.Join(other, "b")
	os.Symlink(paths[0], link)
	if err := os.Link(paths[1], hard); err != nil {
		t.Fatal(err)
	}
	via := []string{link, hard, paths[2]}
	// Read-only first: the object is pending, not agreed.
	ro := open(t, via, &replica.Options{ReadOnly: true})
	rep, ranges := scan(t, ro, replica.ScanOptions{})
	if rep.Counts[replica.Pending] != 1 || ranges[1].First != 2 || ranges[1].Status != replica.Pending {
		t.Fatalf("read-only scan after a crash: %+v %+v", rep.Counts, ranges)
	}
	if ro.Recovery().Pending == 0 {
		t.Fatal("Recovery does not name the pending record")
	}
	ro.Close()
	s = open(t, via, nil)
	if rec := s.Recovery(); rec.Replayed == 0 || rec.Objects != 1 {
		t.Fatalf("recovery %+v", rec)
	}
	readTag(t, s, 2, "new")
	if rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true}); !rep.Clean() {
		t.Fatalf("after replay: %+v", rep.Counts)
	}
}

// A degraded open (the first replica missing) still finds the journal; a
// record that must write the missing replica leaves the set unwritable
// until it is back. (Regression: a write was accepted while another
// replica of the set held a journal.)
func TestJournalNeedsMissingReplica(t *testing.T) {
	paths, s := testSet(t, 3, 8, 4096, 0)
	crashAt(t, s, "replica write", 1, func() { s.Write(1, payload(4096, "new")) })
	s = open(t, []string{"", paths[1], paths[2]}, nil)
	err := s.Write(3, payload(4096, "x"))
	wantErr(t, err, replica.ErrJournalPending, "write while a record waits for a missing replica")
	if !strings.Contains(err.Error(), "replica 0") {
		t.Fatalf("error does not name the replica: %v", err)
	}
	s.Close()
	s = open(t, paths, nil)
	readTag(t, s, 1, "new")
	mustWrite(t, s, 3, "x")
}

// A restored (stale) journal is never replayed over later writes.
// (Regression: replay was blind.)
func TestJournalStaleRefused(t *testing.T) {
	paths, s := testSet(t, 3, 8, 4096, 0)
	jpath := replica.JournalPath(s)
	crashAt(t, s, "replica sync", 1, func() { s.Write(4, payload(4096, "one")) })
	saved, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, paths, nil)
	mustWrite(t, s, 4, "two")
	s.Close()
	if err := os.WriteFile(jpath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = replica.Open(paths, nil)
	wantErr(t, err, replica.ErrJournal, "open with a restored journal")
	if !strings.Contains(err.Error(), "stale") {
		t.Fatalf("no explanation: %v", err)
	}
	// Nothing was replayed: read-only, the set still holds "two".
	ro := open(t, paths, &replica.Options{ReadOnly: true})
	readTag(t, ro, 4, "two")
}

// A committed record damaged later (a flipped byte, a truncated file) is
// refused with an explanation, not discarded as torn; a record cut short
// before its commit point is ignored and wrote nothing. (Regression: both
// were called incomplete and discarded.)
func TestJournalDamageVersusTornTail(t *testing.T) {
	for _, damage := range []string{"flip", "truncate"} {
		t.Run(damage, func(t *testing.T) {
			paths, s := testSet(t, 3, 8, 4096, 0)
			jpath := replica.JournalPath(s)
			crashAt(t, s, "replica write", 1, func() { s.Write(0, payload(4096, "new")) })
			b, _ := os.ReadFile(jpath)
			if damage == "flip" {
				b[4096+100] ^= 1 // inside record area 0, the committed one
			} else {
				b = b[:4096+50]
			}
			os.WriteFile(jpath, b, 0o600)
			_, err := replica.Open(paths, nil)
			wantErr(t, err, replica.ErrJournal, "open with a damaged journal")
			if damage == "flip" && !strings.Contains(err.Error(), "damaged") {
				t.Fatalf("no explanation: %v", err)
			}
			ro := open(t, paths, &replica.Options{ReadOnly: true})
			if ro.Recovery().Problem == nil {
				t.Fatal("read-only open does not report the damaged journal")
			}
		})
	}
	t.Run("torn tail", func(t *testing.T) {
		paths, s := testSet(t, 3, 8, 4096, 0)
		mustWrite(t, s, 0, "old")
		crashAt(t, s, "journal commit", 1, func() { s.Write(0, payload(4096, "new")) })
		s = open(t, paths, nil)
		// Record 1 (the write of "old") was marked applied; record 2 never
		// reached its commit point.
		if rec := s.Recovery(); rec.Torn != 2 || rec.Replayed != 0 {
			t.Fatalf("recovery %+v: want record 2 ignored as torn", rec)
		}
		readTag(t, s, 0, "old")
	})
}

// The journal must be a regular file reached without a symlink: a FIFO
// there must not hang Open, a symlink to /dev/null is refused.
// (Regression: a FIFO hung scan and repair; /dev/null was accepted.)
func TestJournalMustBeRegular(t *testing.T) {
	paths, s := testSet(t, 3, 8, 4096, 0)
	jpath := replica.JournalPath(s)
	s.Close()
	os.Rename(jpath, jpath+".real")
	mkfifo(t, jpath)
	_, err := replica.Open(paths, nil)
	if !errors.Is(err, replica.ErrJournal) || !strings.Contains(err.Error(), "FIFO") {
		t.Fatalf("journal FIFO: %v", err)
	}
	os.Remove(jpath)
	os.Symlink("/dev/null", jpath)
	_, err = replica.Open(paths, nil)
	if !errors.Is(err, replica.ErrJournal) || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("journal symlink: %v", err)
	}
	os.Remove(jpath)
	_, err = replica.Open(paths, nil)
	if !errors.Is(err, replica.ErrJournal) || !strings.Contains(err.Error(), "missing") {
		t.Fatalf("journal missing: %v", err)
	}
	// Moved: Options.Journal finds it, and it must be this set's.
	s = open(t, paths, &replica.Options{Journal: jpath + ".real"})
	mustWrite(t, s, 0, "moved")
}

// A journal of another set is refused.
func TestJournalOfAnotherSet(t *testing.T) {
	paths, s := testSet(t, 3, 8, 4096, 0)
	s.Close()
	_, o := testSet(t, 3, 8, 4096, 0)
	_, err := replica.Open(paths, &replica.Options{Journal: replica.JournalPath(o)})
	if !errors.Is(err, replica.ErrJournal) && !errors.Is(err, replica.ErrLocked) {
		t.Fatalf("another set's journal: %v", err)
	}
	o.Close()
	_, err = replica.Open(paths, &replica.Options{Journal: replica.JournalPath(o)})
	if !errors.Is(err, replica.ErrJournal) || !strings.Contains(err.Error(), "journal of set") {
		t.Fatalf("another set's journal: %v", err)
	}
}
