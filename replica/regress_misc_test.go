package replica_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// ReadRange's error names the first object without a quorum (object 1),
// not a later corrupt one.
func TestRegressReadRangeFirstError(t *testing.T) {
	paths, s := testSet(t, 3, 8, 64, 16)
	g := s.Geometry()
	setVectors(t, paths, g, 1, vec('B', 'A'), vec('C', 'D'), vec('E', 'F')) // split-brain
	setVectors(t, paths, g, 3, vec('A', 'A'), vec('A', 'A'), vec('A', 'A')) // cyclic
	err := s.ReadRange(0, 5, make([]byte, 5*64), make([]kernel.Result, 5))
	if !errors.Is(err, replica.ErrSplitBrain) || !strings.Contains(err.Error(), "object 1") {
		t.Fatalf("ReadRange: %v, want object 1's split-brain", err)
	}
}

// A Report's Voters are the caller's: changing them changes nothing else.
func TestRegressReportVotersAliased(t *testing.T) {
	_, s := testSet(t, 3, 4, 64, 0)
	rep, _ := scan(t, s, replica.ScanOptions{})
	rep.Voters[0] = 2
	rep2, _ := scan(t, s, replica.ScanOptions{})
	if rep2.Voters[0] != 0 {
		t.Fatalf("mutating a Report changed the set's voters: %v", rep2.Voters)
	}
}

// A repairing Scan's Range callback may call the set's locking methods:
// ranges are delivered outside the commit lock.
func TestRegressRangeCallbackDeadlock(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	setVectors(t, paths, s.Geometry(), 0, vec('C', 'B'), vec('C', 'B'), vec('B', 'A'))
	done := make(chan error, 1)
	go func() {
		_, err := s.Scan(context.Background(), replica.ScanOptions{Repair: true, Range: func(r *replica.Range) error {
			s.State(0)
			return nil
		}})
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		replica.Abandon(s) // so that Cleanup's Close does not hang too
		t.Fatal("repairing Scan deadlocked: its Range callback called s.State")
	}
}

// Under steady group-commit load, the Write that leads a group returns
// after its group, not when the queue is empty.
func TestRegressGroupCommitLeaderStarves(t *testing.T) {
	_, s := testSet(t, 3, 64, 512, 0)
	var stop atomic.Bool
	var worst atomic.Int64
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for !stop.Load() {
				t0 := time.Now()
				if err := s.Write(int64(w), payload(512, "g")); err != nil {
					t.Error(err)
					return
				}
				if d := int64(time.Since(t0)); d > worst.Load() {
					worst.Store(d)
				}
			}
		})
	}
	time.Sleep(2 * time.Second)
	stop.Store(true)
	wg.Wait()
	if w := time.Duration(worst.Load()); w > time.Second {
		t.Fatalf("one Write took %v: the group leader served others' writes the whole time", w)
	}
}

// (Run with -race.) Reads and Paths racing Replace read a consistent view
// of the members.
func TestRegressRaceReadReplace(t *testing.T) {
	_, s := testSet(t, 3, 16, 512, 0)
	var wg sync.WaitGroup
	var stop atomic.Bool
	wg.Go(func() {
		buf := make([]byte, 512)
		for !stop.Load() {
			s.Read(1, buf)
			_ = s.Paths()
		}
	})
	time.Sleep(10 * time.Millisecond)
	if err := s.Replace(2, filepath.Join(t.TempDir(), "n2")); err != nil {
		t.Error(err)
	}
	time.Sleep(10 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
}
