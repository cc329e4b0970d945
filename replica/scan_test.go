package replica_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/lockstep/quorum/replica"
)

// One object of every kind, scanned, then repaired: only the lagging one is
// written, in its order, and the rest stay as they were.
func TestScanAndRepairEveryStatus(t *testing.T) {
	paths, s := testSet(t, 4, 12, 64, 0)
	g := s.Geometry()
	s.Close()
	set := func(i int64, vs ...[]byte) { setVectors(t, paths, g, i, vs...) }
	set(1, vec('D', 'C'), vec('C', 'B'), vec('B', 'A'), vec('B', 'A')) // lagging: 2,3 two behind, then 1
	set(2, vec('C', 'B'), vec('B', 'A'), vec('X', 'Y'), vec('C', 'B')) // lagging 1, outside 2
	set(3, vec('B', 'A'), vec('B', 'A'), vec('C', 'A'), vec('C', 'A')) // split-brain
	set(4, vec('B', 'A'), vec('C', 'D'), vec('E', 'F'), vec('E', 'F')) // no quorum (2 of 4, need 3)
	set(5, vec('A', 'A'), vec('B', 'A'), vec('B', 'A'), vec('B', 'A')) // cyclic
	set(6, vec('B', 'A'), vec('B', 'C'), vec('B', 'A'), vec('B', 'A')) // conflict
	set(7, vec('B', 'A'), vec('B', 'A'), vec('B', 'A'), vec('B', 'A')) // differ: same vector...
	rot := objectAt(t, paths[2], g, 7)
	rot[40] ^= 1 // ...one bit of the bytes flipped on replica 2
	putObject(t, paths[2], g, 7, rot)
	s = open(t, paths, nil)
	rep, ranges := scan(t, s, replica.ScanOptions{VerifyData: true})
	type want struct {
		first, count int64
		st           replica.Status
		leader       int
		order        []int
		lagging      int
		differ       []int
	}
	wants := []want{
		{0, 1, replica.Agreed, 0, nil, 0, nil},
		{1, 1, replica.Lagging, 0, []int{2, 3, 1}, 3, nil},
		{2, 1, replica.Lagging, 0, []int{1, 2}, 1, nil},
		{3, 1, replica.SplitBrain, 0, nil, 0, nil},
		{4, 1, replica.NoQuorum, 0, nil, 0, nil},
		{5, 1, replica.Cyclic, 0, nil, 0, nil},
		{6, 1, replica.Conflict, 0, nil, 0, nil},
		{7, 1, replica.Differ, 0, nil, 0, []int{2}},
		{8, 4, replica.Agreed, 0, nil, 0, nil},
	}
	if len(ranges) != len(wants) {
		t.Fatalf("%d ranges, want %d: %+v", len(ranges), len(wants), ranges)
	}
	for k, w := range wants {
		r := ranges[k]
		if r.First != w.first || r.Count != w.count || r.Status != w.st || (w.st.Quorate() && r.Leader != w.leader) ||
			!slices.Equal(r.Order, w.order) || r.Lagging != w.lagging || !slices.Equal(r.Differ, w.differ) {
			t.Errorf("range %d: got %+v, want %+v", k, r, w)
		}
	}
	if rep.Counts[replica.Lagging] != 2 || rep.Counts[replica.Agreed] != 5 || rep.Unrepairable() != 5 || rep.Clean() {
		t.Fatalf("counts %+v", rep.Counts)
	}
	before := map[int64][][]byte{}
	for _, i := range []int64{3, 4, 5, 6, 7} {
		for _, p := range paths {
			before[i] = append(before[i], objectAt(t, p, g, i))
		}
	}
	rep, _ = scan(t, s, replica.ScanOptions{Repair: true, VerifyData: true})
	if rep.Repaired != 2 || rep.Copies != 5 {
		t.Fatalf("repair wrote %d objects, %d copies", rep.Repaired, rep.Copies)
	}
	rep, _ = scan(t, s, replica.ScanOptions{VerifyData: true})
	if rep.Counts[replica.Lagging] != 0 || rep.Counts[replica.Agreed] != 7 {
		t.Fatalf("after repair: %+v", rep.Counts)
	}
	for i, objs := range before {
		for k, p := range paths {
			if !slices.Equal(objectAt(t, p, g, i), objs[k]) {
				t.Fatalf("repair wrote object %d of replica %d, which it must not touch", i, k)
			}
		}
	}
	// The lagging objects now hold the leader's bytes everywhere.
	for _, i := range []int64{1, 2} {
		lead := objectAt(t, paths[0], g, i)
		for _, p := range paths[1:] {
			if !slices.Equal(objectAt(t, p, g, i), lead) {
				t.Fatalf("object %d not repaired on %s", i, p)
			}
		}
	}
}

// Alternating objects give one range each, streamed: nothing is kept.
func TestScanRangesStream(t *testing.T) {
	paths, s := testSet(t, 3, 1000, 32, 0)
	g := s.Geometry()
	s.Close()
	for i := int64(0); i < 1000; i += 2 {
		setVectors(t, paths, g, i, vec('C', 'B'), vec('B', 'A'), vec('C', 'B'))
	}
	s = open(t, paths, nil)
	n := 0
	last := int64(-1)
	rep, err := s.Scan(context.Background(), replica.ScanOptions{BatchBytes: 32 * 7, Range: func(r *replica.Range) error {
		if r.First != last+1 || r.Count != 1 {
			t.Fatalf("range %+v after %d", r, last)
		}
		last = r.First
		n++
		return nil
	}})
	if err != nil || n != 1000 || rep.Counts[replica.Lagging] != 500 {
		t.Fatalf("%d ranges, %+v, %v", n, rep.Counts, err)
	}
}

func TestScanCancelAndProgress(t *testing.T) {
	_, s := testSet(t, 3, 100, 64, 0)
	ctx, cancel := context.WithCancel(context.Background())
	var seen []int64
	_, err := s.Scan(ctx, replica.ScanOptions{BatchBytes: 64 * 10, Progress: func(done, total int64) {
		seen = append(seen, done)
		if total != 100 {
			t.Fatalf("total %d", total)
		}
		if done == 30 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || !slices.Equal(seen, []int64{10, 20, 30}) {
		t.Fatalf("cancelled scan: %v after %v", err, seen)
	}
	stop := errors.New("stop")
	_, err = s.Scan(context.Background(), replica.ScanOptions{Range: func(*replica.Range) error { return stop }})
	if !errors.Is(err, stop) {
		t.Fatalf("a Range error must stop the scan: %v", err)
	}
}

// A repair that races a Write to the object it repairs must not undo the
// write: the batch is re-read when anything committed since it was read.
func TestRepairDoesNotUndoConcurrentWrite(t *testing.T) {
	paths, s := testSet(t, 3, 64, 64, 0)
	g := s.Geometry()
	s.Close()
	for i := range int64(64) {
		setVectors(t, paths, g, i, vec('C', 'B'), vec('C', 'B'), vec('B', 'A'))
	}
	s = open(t, paths, nil)
	wrote := false
	_, err := s.Scan(context.Background(), replica.ScanOptions{Repair: true, BatchBytes: 64 * 8, Progress: func(done, _ int64) {
		if done == 8 && !wrote {
			// The next batch (8-15) is read or being read; write into it.
			wrote = true
			if err := s.Write(12, payload(64, "w")); err != nil {
				t.Error(err)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	readTag(t, s, 12, "w")
	if rep, _ := scan(t, s, replica.ScanOptions{}); !rep.Clean() {
		t.Fatalf("a stale repair moved a replica back: %+v", rep.Counts)
	}
}
