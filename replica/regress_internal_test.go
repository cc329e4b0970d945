package replica

import (
	"bytes"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// failJournal fails the nth record-area write of the journal after armed.
type failJournal struct {
	device
	left *atomic.Int64
}

func (d failJournal) WriteAt(b []byte, off int64) (int, error) {
	if off >= areaStart && d.left.Add(-1) == 0 {
		return 0, syscall.ENOSPC
	}
	return d.device.WriteAt(b, off)
}

// A group of Writes larger than a record area is committed as several
// records; when the second fails before its commit point, the first
// record's Write, durable, is not reported failed.
func TestRegressGroupSplitAcrossRecords(t *testing.T) {
	var left atomic.Int64
	testDevice = func(p string, d device) device {
		if strings.HasSuffix(p, ".journal") {
			return failJournal{d, &left}
		}
		return d
	}
	defer func() { testDevice = nil }()
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")}
	osz := 4096
	one := recordSize(3, osz, []entry{{targets: make([]target, 3)}})
	s, err := Create(paths, Geometry{ObjectSize: osz, Objects: 4}, &Options{JournalCapacity: one})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	left.Store(2) // the group's second record
	a := &writeReq{object: 1, data: bytes.Repeat([]byte("A"), osz)}
	b := &writeReq{object: 2, data: bytes.Repeat([]byte("B"), osz)}
	s.commit.Lock()
	s.writeGroup([]*writeReq{a, b})
	s.commit.Unlock()
	buf := make([]byte, osz)
	if _, err := s.Read(1, buf); err != nil {
		t.Fatal(err)
	}
	if a.err != nil && buf[100] == 'A' {
		t.Fatalf("Write(1) failed with %q, yet object 1 holds its bytes", a.err)
	}
}
