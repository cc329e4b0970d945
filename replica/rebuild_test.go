package replica_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/lockstep/quorum/replica"
)

func rebuild(t *testing.T, s *replica.Set, o replica.RebuildOptions) []replica.Rebuilt {
	t.Helper()
	done, err := s.Rebuild(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// A blank drive replaces a dead one: formatted into the set, filled from
// the quorum; objects without a quorum get a vector of their own; the old
// drive, back again, is refused as stale.
func TestReplaceAndRebuild(t *testing.T) {
	paths, s := testSet(t, 3, 40, 512, 32)
	g := s.Geometry()
	for i := range int64(40) {
		mustWrite(t, s, i, "obj"+string(rune('a'+i%26)))
	}
	s.Close()
	setVectors(t, paths, g, 9, vec('B', 'A'), vec('C', 'A'), vec('D', 'A')) // split: no copy possible
	old := filepath.Join(t.TempDir(), "old.img")
	if err := os.Rename(paths[1], old); err != nil {
		t.Fatal(err)
	}
	s = open(t, []string{paths[0], "", paths[2]}, nil)
	if err := s.Replace(1, paths[1]); err != nil {
		t.Fatal(err)
	}
	if st, n, ok := s.State(1); !ok || st != replica.Rebuilding || n != 0 {
		t.Fatalf("replaced replica: %v %d %v", st, n, ok)
	}
	var progress []int64
	done := rebuild(t, s, replica.RebuildOptions{BatchBytes: 512 * 16, Progress: func(r int, d, total int64) {
		if r != 1 || total != 40 {
			t.Fatalf("progress of replica %d, %d of %d", r, d, total)
		}
		progress = append(progress, d)
	}})
	if len(done) != 1 || done[0].Copied != 39 || done[0].Unquorate != 1 || len(progress) != 3 || progress[2] != 40 {
		t.Fatalf("rebuild %+v, progress %v", done, progress)
	}
	if st, _, _ := s.State(1); st != replica.Active {
		t.Fatalf("rebuilt replica is %v", st)
	}
	rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true})
	if rep.Counts[replica.Agreed] != 39 || rep.Counts[replica.SplitBrain] != 1 {
		t.Fatalf("after rebuild: %+v", rep.Counts)
	}
	readTag(t, s, 20, "obju")
	s.Close()
	_, err := replica.Open([]string{paths[0], old, paths[2]}, nil)
	wantErr(t, err, replica.ErrStale, "the replaced drive back")
	s = open(t, paths, nil)
	for i := range int64(40) {
		if i != 9 {
			readTag(t, s, i, "obj"+string(rune('a'+i%26)))
		}
	}
}

// Rebuild resumes where a crash stopped it, and ends byte-identical to an
// uninterrupted rebuild; a write during the rebuild reaches the new drive
// for the objects it has already copied.
func TestRebuildResumesAndTakesWrites(t *testing.T) {
	paths, s := testSet(t, 3, 64, 256, 0)
	for i := range int64(64) {
		mustWrite(t, s, i, "before")
	}
	s.Close()
	os.Truncate(paths[2], 0)
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	if err := s.Replace(2, paths[2]); err != nil {
		t.Fatal(err)
	}
	crashAt(t, s, "rebuild superblock", 2, func() { s.Rebuild(context.Background(), replica.RebuildOptions{BatchBytes: 256 * 10}) })
	s = open(t, paths, nil)
	if st, n, _ := s.State(2); st != replica.Rebuilding || n != 10 {
		t.Fatalf("after a crash in the second batch: %v, %d copied", st, n)
	}
	wrote := false
	rebuild(t, s, replica.RebuildOptions{BatchBytes: 256 * 10, Progress: func(_ int, d, _ int64) {
		if d == 30 && !wrote {
			wrote = true
			mustWrite(t, s, 5, "during")  // copied already: reaches replica 2
			mustWrite(t, s, 50, "during") // not yet: copied later
		}
	}})
	if rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true}); !rep.Clean() {
		t.Fatalf("after rebuild: %+v", rep.Counts)
	}
	s.Close()
	g := s.Geometry()
	for i := range int64(64) {
		a := objectAt(t, paths[0], g, i)
		if !bytes.Equal(a, objectAt(t, paths[2], g, i)) || !bytes.Equal(a, objectAt(t, paths[1], g, i)) {
			t.Fatalf("object %d differs after rebuild", i)
		}
	}
}

// A committed write that must reach a replica that is gone for good: Replace
// stands in for it, and the write finishes on the others.
func TestReplaceUnblocksPendingRecord(t *testing.T) {
	paths, s := testSet(t, 3, 8, 64, 0)
	crashAt(t, s, "replica write", 1, func() { s.Write(3, payload(64, "late")) })
	os.Remove(paths[2])
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	wantErr(t, s.Write(0, payload(64, "x")), replica.ErrJournalPending, "write before the replace")
	if err := s.Replace(2, paths[2]); err != nil {
		t.Fatal(err)
	}
	readTag(t, s, 3, "late")
	mustWrite(t, s, 0, "x")
	rebuild(t, s, replica.RebuildOptions{})
	if rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true}); !rep.Clean() {
		t.Fatalf("after rebuild: %+v", rep.Counts)
	}
}

func TestReplaceRefuses(t *testing.T) {
	paths, s := testSet(t, 3, 8, 64, 0)
	other, o := testSet(t, 3, 8, 64, 0)
	o.Close()
	data := filepath.Join(t.TempDir(), "data")
	os.WriteFile(data, []byte("precious"), 0o644)
	wantErr(t, s.Replace(3, data), replica.ErrInvalid, "index out of range")
	wantErr(t, s.Replace(0, paths[1]), replica.ErrDuplicate, "another replica of the set")
	wantErr(t, s.Replace(0, other[0]), replica.ErrUnusable, "a replica of another set")
	wantErr(t, s.Replace(0, data), replica.ErrUnusable, "a file with data")
	if b, _ := os.ReadFile(data); string(b) != "precious" {
		t.Fatal("a refused Replace wrote")
	}
	if rep, _ := scan(t, s, replica.ScanOptions{}); !rep.Clean() {
		t.Fatal("refused replaces changed the set")
	}
}
