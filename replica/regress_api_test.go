package replica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockstep/quorum/replica"
)

// A refused Read's Result names its leader by replica index, never a
// voter position (which would name the missing replica 0 here).
func TestRegressReadLeaderOnRefusal(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	s.Close()
	s = open(t, []string{"", paths[1], paths[2]}, &replica.Options{Quorum: 3})
	r, err := s.Read(0, make([]byte, 64))
	wantErr(t, err, replica.ErrNoQuorum, "two of three voters, quorum 3")
	if r.Leader == 0 {
		t.Fatalf("Result %+v names missing replica 0 as leader", r)
	}
}

// Replacing the only voter is refused without Force; with it, Read and
// Scan say there is no quorum (not corrupt vectors).
func TestRegressNoVoterErrors(t *testing.T) {
	paths, s := testSet(t, 1, 4, 64, 0)
	wantErr(t, s.Replace(0, filepath.Join(t.TempDir(), "n")), replica.ErrNoQuorum, "replacing the only voter")
	s.Close()
	s = open(t, paths, &replica.Options{Force: true})
	if err := s.Replace(0, filepath.Join(t.TempDir(), "n")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Read(0, make([]byte, 64))
	_, serr := s.Scan(context.Background(), replica.ScanOptions{})
	if errors.Is(err, replica.ErrCorrupt) || !errors.Is(err, replica.ErrNoQuorum) || !errors.Is(serr, replica.ErrNoQuorum) {
		t.Fatalf("with no voter: Read %v; Scan %v", err, serr)
	}
}

// A Create refused late (the named journal exists) leaves no replica
// file behind, so the same Create with another journal then works.
func TestRegressCreateRefusedLeavesFiles(t *testing.T) {
	dir := t.TempDir()
	j := filepath.Join(dir, "j")
	os.WriteFile(j, []byte("someone's"), 0o600)
	paths := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")}
	g := replica.Geometry{ObjectSize: 64, Objects: 4}
	if _, err := replica.Create(paths, g, &replica.Options{Journal: j}); err == nil {
		t.Fatal("Create over an existing journal")
	}
	s, err := replica.Create(paths, g, &replica.Options{Journal: filepath.Join(dir, "j2")})
	if err != nil {
		t.Fatalf("retry after a refused Create: %v", err)
	}
	s.Close()
}

// A replica away while two others were replaced is not stale: only a
// Replace of its own index makes it so.
func TestRegressAwayDuringTwoReplacesRefused(t *testing.T) {
	paths, s := testSet(t, 4, 4, 512, 0)
	s.Close()
	// Force and a quorum of 1: each Replace leaves fewer voters than a
	// majority, and the rebuilds copy from replica 0 alone.
	s = open(t, []string{paths[0], paths[1], paths[2], ""}, &replica.Options{Force: true, Quorum: 1})
	dir := t.TempDir()
	n1, n2 := filepath.Join(dir, "n1"), filepath.Join(dir, "n2")
	if err := s.Replace(1, n1); err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(2, n2); err != nil {
		t.Fatal(err)
	}
	rebuild(t, s, replica.RebuildOptions{})
	s.Close()
	s2, err := replica.Open([]string{paths[0], n1, n2, paths[3]}, nil)
	if err != nil {
		t.Fatalf("replica 3 was never replaced, yet: %v", err)
	}
	s2.Close()
}

// After Open with Options.Journal (the journal moved), Replace records the
// journal's path in every replica, so the next Open needs no option.
func TestRegressMovedJournalAndReplace(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	j := replica.JournalPath(s)
	s.Close()
	moved := filepath.Join(t.TempDir(), "j")
	if err := os.Rename(j, moved); err != nil {
		t.Fatal(err)
	}
	s = open(t, []string{paths[0], paths[1], ""}, &replica.Options{Journal: moved})
	if err := s.Replace(2, filepath.Join(t.TempDir(), "n2")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := replica.Open(append(paths[:2:2], s.Paths()[2]), nil)
	if err != nil {
		t.Fatalf("reopen after Replace with a moved journal: %v", err)
	}
}

// A read-only open goes on past a foreign journal and reports it in
// Recovery.Problem.
func TestRegressReadOnlyForeignJournal(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	s.Close()
	_, o := testSet(t, 3, 4, 64, 0)
	o.Close()
	ro, err := replica.Open(paths, &replica.Options{ReadOnly: true, Journal: replica.JournalPath(o)})
	if err != nil {
		t.Fatalf("read-only open with a foreign journal: %v", err)
	}
	if ro.Recovery().Problem == nil {
		t.Error("no Problem reported")
	}
	ro.Close()
}
