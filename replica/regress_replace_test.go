package replica_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lockstep/quorum/replica"
)

// A record written while replica 1 was its old drive, the drive replaced
// (it was failing) and rebuilt, then a crash before Close: the set opens
// for writing (the record is applied, and names a replica replaced since).
func TestRegressReplacePresentThenRebuildThenCrash(t *testing.T) {
	paths, s := testSet(t, 3, 8, 512, 0)
	mustWrite(t, s, 3, "x")
	nw := filepath.Join(t.TempDir(), "new1.img")
	if err := s.Replace(1, nw); err != nil {
		t.Fatal(err)
	}
	rebuild(t, s, replica.RebuildOptions{})
	replica.Abandon(s) // kill -9 here, or power loss
	s2, err := replica.Open([]string{paths[0], nw, paths[2]}, nil)
	if err != nil {
		t.Fatalf("reopen after replace+rebuild+crash: %v", err)
	}
	s2.Close()
}

// Replace refuses, without Force, a live replica of this set at another
// index (an operator's typo for a blank drive).
func TestRegressReplaceOverwritesLiveReplicaOfOtherIndex(t *testing.T) {
	paths, s := testSet(t, 3, 8, 512, 0)
	mustWrite(t, s, 0, "keep")
	s.Close()
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	err := s.Replace(1, paths[2]) // operator typo: meant a blank drive
	if err == nil {
		sb, _ := replica.Examine(paths[2])
		t.Fatalf("Replace formatted live replica 2 as replica %d (state %v)", sb.Index, sb.State)
	}
}

// One drive dead, a failing one replaced: one voter left, below the
// quorum, so a Rebuild could only give the new drive vectors of its own
// that tie with the data left. Replace refuses it without Force, and
// Rebuild refuses to run below the quorum.
func TestRegressRebuildBelowQuorumSplitsTheSet(t *testing.T) {
	paths, s := testSet(t, 3, 4, 512, 0)
	mustWrite(t, s, 0, "data")
	s.Close()
	s = open(t, []string{"", paths[1], paths[2]}, nil) // replica 0 died
	readTag(t, s, 0, "data")
	wantErr(t, s.Replace(1, filepath.Join(t.TempDir(), "n1")), replica.ErrNoQuorum, "replacing a voter below the quorum")
	readTag(t, s, 0, "data")
	s.Close()
	s = open(t, []string{"", paths[1], paths[2]}, &replica.Options{Force: true})
	if err := s.Replace(1, filepath.Join(t.TempDir(), "n1")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Rebuild(context.Background(), replica.RebuildOptions{})
	wantErr(t, err, replica.ErrNoQuorum, "a rebuild from one voter of a quorum of two")
}

// Concurrent Rebuilds: one that sees a replica finish rebuilding (and
// vote) in the middle of its own grows its buffers instead of indexing past
// them.
func TestRegressConcurrentRebuildsPanic(t *testing.T) {
	paths, s := testSet(t, 3, 40, 512, 0)
	s.Close()
	s = open(t, []string{paths[0], paths[1], ""}, &replica.Options{Quorum: 1})
	dir := t.TempDir()
	if err := s.Replace(2, filepath.Join(dir, "n2")); err != nil {
		t.Fatal(err)
	}
	bFirst, aDone := make(chan struct{}), make(chan struct{})
	bErr := make(chan any, 1)
	startB := func() {
		go func() {
			defer func() { bErr <- recover() }()
			once := false
			s.Rebuild(context.Background(), replica.RebuildOptions{BatchBytes: 512 * 10, Progress: func(r int, d, _ int64) {
				if !once {
					once = true
					close(bFirst)
					<-aDone
				}
			}})
		}()
	}
	once := false
	_, err := s.Rebuild(context.Background(), replica.RebuildOptions{BatchBytes: 512 * 10, Progress: func(r int, d, _ int64) {
		if !once {
			once = true
			if err := s.Replace(1, filepath.Join(dir, "n1")); err != nil { // replica 1 failing too
				t.Error(err)
			}
			startB() // rebuilds replica 1 from voters [0]
			<-bFirst
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	close(aDone) // replica 2 votes now: voters [0 2]
	if p := <-bErr; p != nil {
		t.Fatalf("concurrent Rebuild panicked: %v", p)
	}
}

// A Write that returned nil long before a crash does not block a degraded
// set afterwards: its record is marked applied once in place.
func TestRegressAppliedRecordBlocksDegradedSet(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	mustWrite(t, s, 0, "done") // returned nil: written and synced everywhere
	replica.Abandon(s)         // power cut, hours later; replica 2 died with it
	d := open(t, []string{paths[0], paths[1], ""}, nil)
	if err := d.Write(1, payload(64, "x")); err != nil {
		t.Fatalf("degraded set refuses writes for a record fully applied before the crash: %v", err)
	}
}
