package replica_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// tearDev: when armed for its path, the next write past DataOffset writes
// half and fails with EIO, as a dying disk or a cut pwrite would.
type tearDev struct {
	replica.Device
	path string
}

func (d tearDev) WriteAt(b []byte, off int64) (int, error) {
	if p := tearPath.Load(); p != nil && *p == d.path && off >= replica.DataOffset {
		tearPath.Store(nil)
		n, _ := d.Device.WriteAt(b[:len(b)/2], off)
		return n, syscall.EIO
	}
	return d.Device.WriteAt(b, off)
}

var tearPath atomic.Pointer[string]

func tearing(t *testing.T) {
	replica.SetTestDevice(func(p string, d replica.Device) replica.Device { return tearDev{d, p} })
	t.Cleanup(func() { replica.SetTestDevice(nil); tearPath.Store(nil) })
}

// oldOrNew fails unless buf (outside the vector) is old's or new's payload.
func oldOrNew(t *testing.T, g replica.Geometry, buf []byte, old, new string) {
	t.Helper()
	for _, tag := range []string{old, new} {
		want := payload(g.ObjectSize, tag)
		copy(want[g.VectorOffset:], buf[g.VectorOffset:g.VectorOffset+kernel.VectorSize])
		if bytes.Equal(buf, want) {
			return
		}
	}
	t.Fatalf("read neither %q nor %q: starts %q, ends %q", old, new, buf[32:40], buf[len(buf)-8:])
}

// rawFiles makes n raw replicas of objects objects of osz bytes, the
// vector at 0, every object at one NewVector.
func rawFiles(t *testing.T, n int, objects int64, osz int) []string {
	t.Helper()
	dir := t.TempDir()
	b := make([]byte, objects*int64(osz))
	for i := range objects {
		v := kernel.NewVector()
		copy(b[i*int64(osz):], v[:])
	}
	var paths []string
	for k := range n {
		p := filepath.Join(dir, "raw"+string(rune('0'+k)))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// A write that failed past its commit point leaves a copy that may be
// torn: Read returns the old or the new bytes, in the same process and
// after a read-only open, never the torn ones.
func TestRegressTornReadAfterFailedApply(t *testing.T) {
	tearing(t)
	paths, s := testSet(t, 3, 4, 4096, 0)
	g := s.Geometry()
	mustWrite(t, s, 0, "old")
	tearPath.Store(&paths[0]) // the first target of an all-current object
	err := s.Write(0, payload(4096, "new"))
	wantErr(t, err, replica.ErrJournalPending, "write torn on replica 0")
	buf := make([]byte, 4096)
	if _, err := s.Read(0, buf); err != nil {
		t.Fatal(err)
	}
	oldOrNew(t, g, buf, "old", "new")
	replica.Abandon(s)
	ro := open(t, paths, &replica.Options{ReadOnly: true})
	if _, err := ro.Read(0, buf); err != nil {
		t.Fatal(err)
	}
	oldOrNew(t, g, buf, "old", "new")
}

// A writable open whose pending record needs a missing replica reports
// its objects as Pending, and Read returns their old or new bytes.
func TestRegressPendingNotReportedWhenReplicaMissing(t *testing.T) {
	tearing(t)
	paths, s := testSet(t, 3, 4, 4096, 0)
	mustWrite(t, s, 1, "old")
	tearPath.Store(&paths[1]) // second target: replica 0 got it whole
	wantErr(t, s.Write(1, payload(4096, "new")), replica.ErrJournalPending, "torn write")
	replica.Abandon(s)
	d := open(t, []string{"", paths[1], paths[2]}, nil)
	if d.Recovery().Pending == 0 {
		t.Fatal("no pending record")
	}
	rep, _ := scan(t, d, replica.ScanOptions{})
	if rep.Counts[replica.Pending] != 1 {
		t.Errorf("Recovery.Pending doc: its objects scan as Pending; got %+v", rep.Counts)
	}
	buf := make([]byte, 4096)
	if _, err := d.Read(1, buf); err != nil {
		t.Fatal(err)
	}
	oldOrNew(t, d.Geometry(), buf, "old", "new")
}

// A raw set's journal is found again when a replica is missing: it is
// named by Options.Journal and checked against the files it names.
func TestRegressRawJournalLostWhenReplicaMissing(t *testing.T) {
	tearing(t)
	paths := rawFiles(t, 3, 4, 4096)
	g := replica.Geometry{ObjectSize: 4096}
	journal := filepath.Join(t.TempDir(), "raw.journal")
	s, err := replica.OpenRaw(paths, g, &replica.Options{Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, 2, "old") // object 2: past DataOffset, where tearDev tears
	jfull := replica.JournalPath(s)
	tearPath.Store(&paths[1])
	wantErr(t, s.Write(2, payload(4096, "new")), replica.ErrJournalPending, "torn raw write")
	replica.Abandon(s)
	degraded := []string{"", paths[1], paths[2]}
	d, err := replica.OpenRaw(degraded, g, &replica.Options{Journal: jfull})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	// The record must still reach replica 0, which is missing: it stays
	// pending (replaying it without 0 could leave a torn copy there to be
	// read later), and reads see it as replayed.
	if rec := d.Recovery(); replica.JournalPath(d) != jfull || rec.Pending == 0 || len(rec.Waiting) != 1 || rec.Waiting[0] != 0 {
		t.Errorf("degraded raw open: journal %s (the set's is %s), recovery %+v", replica.JournalPath(d), jfull, rec)
	}
	buf := make([]byte, 4096)
	if _, err := d.Read(2, buf); err != nil {
		t.Fatal(err)
	}
	oldOrNew(t, d.Geometry(), buf, "old", "new")
}
