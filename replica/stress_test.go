package replica_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lockstep/quorum/replica"
)

// Writes, reads, repairing scans and a rebuild at once, under -race: every
// Read returns some value written to the object, and at the end every
// object holds its last write on every replica.
func TestStressConcurrentUse(t *testing.T) {
	const objects, osz = 64, 256
	paths, s := testSet(t, 3, objects, osz, 32)
	g := s.Geometry()
	for i := range int64(objects) {
		mustWrite(t, s, i, "v0-")
	}
	s.Close()
	for i := int64(0); i < objects; i += 3 { // replica 2 lags some objects
		b := objectAt(t, paths[0], g, i)
		putObject(t, paths[1], g, i, b)
	}
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	if err := s.Replace(2, filepath.Join(t.TempDir(), "n2")); err != nil {
		t.Fatal(err)
	}
	var last [objects]atomic.Int64 // highest version whose Write returned
	var mu [objects]sync.Mutex     // one writer per object at a time
	var wg sync.WaitGroup
	var stop atomic.Bool
	for w := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for !stop.Load() {
				i := r.IntN(objects)
				mu[i].Lock()
				n := last[i].Load() + 1
				if err := s.Write(int64(i), payload(osz, fmt.Sprintf("v%d-", n))); err != nil {
					t.Error(err)
				}
				last[i].Store(n)
				mu[i].Unlock()
			}
		})
	}
	wg.Go(func() {
		buf := make([]byte, osz)
		r := rand.New(rand.NewPCG(9, 9))
		for !stop.Load() {
			i := r.IntN(objects)
			lo := last[i].Load()
			if _, err := s.Read(int64(i), buf); err != nil {
				t.Error(err)
				continue
			}
			var got int64
			fmt.Sscanf(string(buf[:8]), "v%d-", &got)
			if got < lo {
				t.Errorf("object %d read version %d after %d returned", i, got, lo)
			}
		}
	})
	wg.Go(func() {
		for !stop.Load() {
			if _, err := s.Scan(context.Background(), replica.ScanOptions{Repair: true, BatchBytes: osz * 7}); err != nil {
				t.Error(err)
			}
		}
	})
	if _, err := s.Rebuild(context.Background(), replica.RebuildOptions{BatchBytes: osz * 5}); err != nil {
		t.Error(err)
	}
	time.Sleep(200 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	if _, err := s.Scan(context.Background(), replica.ScanOptions{Repair: true}); err != nil {
		t.Fatal(err)
	}
	rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true})
	if !rep.Clean() {
		t.Fatalf("after the stress and a repair: %+v", rep.Counts)
	}
	for i := range int64(objects) {
		readTag(t, s, i, fmt.Sprintf("v%d-", last[i].Load()))
	}
}
