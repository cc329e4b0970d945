package replica_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// testSet formats n replicas of objects objects of osz bytes in a new
// directory and returns their paths and the open set.
func testSet(t *testing.T, n int, objects int64, osz, vo int) ([]string, *replica.Set) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := range n {
		paths = append(paths, filepath.Join(dir, "r"+strconv.Itoa(i)+".img"))
	}
	s, err := replica.Create(paths, replica.Geometry{ObjectSize: osz, VectorOffset: vo, Objects: objects}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return paths, s
}

func open(t *testing.T, paths []string, o *replica.Options) *replica.Set {
	t.Helper()
	s, err := replica.Open(paths, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// payload is a recognisable object: tag repeated.
func payload(osz int, tag string) []byte {
	return bytes.Repeat([]byte(tag), osz/len(tag)+1)[:osz]
}

// mustWrite writes tag's payload to object i.
func mustWrite(t *testing.T, s *replica.Set, i int64, tag string) {
	t.Helper()
	if err := s.Write(i, payload(s.Geometry().ObjectSize, tag)); err != nil {
		t.Fatalf("write %d: %v", i, err)
	}
}

// readTag reads object i and checks its bytes outside the vector are tag's.
func readTag(t *testing.T, s *replica.Set, i int64, tag string) kernel.Result {
	t.Helper()
	g := s.Geometry()
	buf := make([]byte, g.ObjectSize)
	r, err := s.Read(i, buf)
	if err != nil {
		t.Fatalf("read %d: %v", i, err)
	}
	want := payload(g.ObjectSize, tag)
	copy(want[g.VectorOffset:], buf[g.VectorOffset:g.VectorOffset+kernel.VectorSize])
	if !bytes.Equal(buf, want) {
		t.Fatalf("read %d: got %q..., want %q...", i, buf[:min(16, len(buf))], want[:min(16, len(want))])
	}
	return r
}

// objectAt reads object i of one replica file directly.
func objectAt(t *testing.T, path string, g replica.Geometry, i int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, g.ObjectSize)
	if _, err := f.ReadAt(b, replica.DataOffset+i*int64(g.ObjectSize)); err != nil {
		t.Fatal(err)
	}
	return b
}

// putObject overwrites object i of one replica file behind the set's back.
func putObject(t *testing.T, path string, g replica.Geometry, i int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, replica.DataOffset+i*int64(g.ObjectSize)); err != nil {
		t.Fatal(err)
	}
}

// scan runs a scan and returns its report and ranges (copied).
func scan(t *testing.T, s *replica.Set, o replica.ScanOptions) (*replica.Report, []replica.Range) {
	t.Helper()
	var ranges []replica.Range
	o.Range = func(r *replica.Range) error {
		c := *r
		c.Order = append([]int(nil), r.Order...)
		c.Differ = append([]int(nil), r.Differ...)
		ranges = append(ranges, c)
		return nil
	}
	rep, err := s.Scan(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return rep, ranges
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got %v, want an error wrapping %v", what, err, target)
	}
}
