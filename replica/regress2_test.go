package replica_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lockstep/quorum/replica"
)

// A raw set whose write tore past its commit point, opened read-only
// without Options.Journal: Recovery.Problem says the journal went
// unchecked (the torn copy may be read); with it, the read is old or new.
func TestRegress2RawReadOnlyWithoutJournalTornRead(t *testing.T) {
	tearing(t)
	paths := rawFiles(t, 3, 4, 4096)
	g := replica.Geometry{ObjectSize: 4096}
	journal := filepath.Join(t.TempDir(), "raw.journal")
	s, err := replica.OpenRaw(paths, g, &replica.Options{Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, s, 2, "old")
	tearPath.Store(&paths[0]) // first target: half of its copy is written
	wantErr(t, s.Write(2, payload(4096, "new")), replica.ErrJournalPending, "torn raw write")
	replica.Abandon(s)
	ro, err := replica.OpenRaw(paths, g, &replica.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if p := ro.Recovery().Problem; !errors.Is(p, replica.ErrJournal) {
		t.Fatalf("read-only raw open without a journal: Problem %v", p)
	}
	ro.Close()
	ro, err = replica.OpenRaw(paths, g, &replica.Options{ReadOnly: true, Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	buf := make([]byte, 4096)
	if _, err := ro.Read(2, buf); err != nil {
		t.Fatal(err)
	}
	oldOrNew(t, ro.Geometry(), buf, "old", "new")
}

// (Run with -race.) Recovery and State against Replace finishing a waiting
// record.
func TestRegress2RecoveryStateRaceReplace(t *testing.T) {
	tearing(t)
	paths, s := testSet(t, 3, 4, 4096, 0)
	mustWrite(t, s, 1, "old")
	tearPath.Store(&paths[1])
	wantErr(t, s.Write(1, payload(4096, "new")), replica.ErrJournalPending, "torn write")
	replica.Abandon(s)
	d := open(t, []string{"", paths[1], paths[2]}, nil)
	if len(d.Recovery().Waiting) != 1 {
		t.Fatalf("recovery %+v", d.Recovery())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			_ = d.Recovery()
			d.State(0)
		}
	}()
	if err := d.Replace(0, filepath.Join(t.TempDir(), "n0")); err != nil {
		t.Fatal(err)
	}
	<-done
}

// A formatted set's journal has a header before any superblock exists, so
// a header-less one was zeroed since: Open refuses it rather than start
// afresh and let a torn copy read as the quorum's.
func TestRegress2ZeroedJournalReinitialisedHidesTornWrite(t *testing.T) {
	tearing(t)
	paths, s := testSet(t, 3, 4, 4096, 0)
	mustWrite(t, s, 0, "old")
	tearPath.Store(&paths[0])
	wantErr(t, s.Write(0, payload(4096, "new")), replica.ErrJournalPending, "torn write")
	jp := replica.JournalPath(s)
	replica.Abandon(s)
	fi, err := os.Stat(jp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(jp, make([]byte, fi.Size()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = replica.Open(paths, nil)
	if !errors.Is(err, replica.ErrJournal) || !strings.Contains(err.Error(), "no header") {
		t.Fatalf("writable open over a zeroed journal: %v", err)
	}
}

// superFail fails the next superblock write (offset < DataOffset) to its
// path once armed.
type superFail struct {
	replica.Device
	path string
}

var superFailPath atomic.Pointer[string]

func (d superFail) WriteAt(b []byte, off int64) (int, error) {
	if p := superFailPath.Load(); p != nil && *p == d.path && off < replica.DataOffset {
		superFailPath.Store(nil)
		return 0, syscall.EIO
	}
	return d.Device.WriteAt(b, off)
}

// Replace(i, replica i's own file) that fails when formatting it, during a
// repairing scan: the scan sees the member gone (no panic with the locks
// held), and the set takes no more changes until reopened.
func TestRegress2FailedSameFileReplacePanicsRepairingScan(t *testing.T) {
	replica.SetTestDevice(func(p string, d replica.Device) replica.Device { return superFail{d, p} })
	t.Cleanup(func() { replica.SetTestDevice(nil) })
	dir := t.TempDir()
	paths := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")}
	s, err := replica.Create(paths, replica.Geometry{ObjectSize: 512, Objects: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := s.Geometry()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("repairing scan panicked (the set's locks stay held): %v", r)
		}
		s.Close()
	}()
	for i := range int64(4) {
		mustWrite(t, s, i, "a")
	}
	lag := objectAt(t, paths[2], g, 1)
	mustWrite(t, s, 1, "b")
	putObject(t, paths[2], g, 1, lag) // replica 2 lags object 1
	replaced := false
	_, err = s.Scan(context.Background(), replica.ScanOptions{Repair: true, BatchBytes: 512,
		Progress: func(done, total int64) {
			if replaced {
				return
			}
			replaced = true
			time.Sleep(50 * time.Millisecond) // the reader has read object 1
			superFailPath.Store(&paths[2])
			if err := s.Replace(2, paths[2]); err == nil {
				t.Error("Replace should have failed")
			}
		}})
	if !errors.Is(err, replica.ErrInvalid) || !strings.Contains(err.Error(), "replaced during the scan") {
		t.Fatalf("the repairing scan, its replica 2 gone: %v", err)
	}
	// The format failed before the new superblock was written: replica 2
	// is missing, the set works on without it.
	if _, _, ok := s.State(2); ok || s.Paths()[2] != "" {
		t.Fatalf("replica 2 after its Replace failed: present %v, path %q", ok, s.Paths()[2])
	}
	mustWrite(t, s, 0, "x")
}

// Replace of a voting replica while the pending record waits for another
// missing one succeeds, and says so.
func TestRegress2ReplaceOtherWhileWaitingReportsFailure(t *testing.T) {
	tearing(t)
	paths, s := testSet(t, 5, 4, 4096, 0)
	mustWrite(t, s, 1, "old")
	tearPath.Store(&paths[1])
	wantErr(t, s.Write(1, payload(4096, "new")), replica.ErrJournalPending, "torn write")
	replica.Abandon(s)
	d := open(t, []string{"", paths[1], paths[2], paths[3], paths[4]}, nil)
	nw := filepath.Join(t.TempDir(), "n1")
	if err := d.Replace(1, nw); err != nil {
		t.Fatalf("Replace(1): %v", err)
	}
	if st, _, ok := d.State(1); !ok || st != replica.Rebuilding || d.Paths()[1] != nw {
		t.Fatalf("replica 1 after Replace: %v %v %v", st, ok, d.Paths())
	}
	if rec := d.Recovery(); len(rec.Waiting) != 1 || rec.Waiting[0] != 0 {
		t.Fatalf("the record still waits for replica 0: %+v", rec)
	}
}

// Group commit against Close: every Write returns (nil or ErrClosed), no
// deadlock, no race.
func TestRegress2GroupCommitClose(t *testing.T) {
	for seed := range 20 {
		_, s := testSet(t, 3, 16, 512, 0)
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for k := range 20 {
					err := s.Write(int64((w*7+k+seed)%16), payload(512, "x"))
					if err != nil && !errors.Is(err, replica.ErrClosed) {
						t.Error(err)
					}
				}
			})
		}
		time.Sleep(time.Duration(seed) * 100 * time.Microsecond)
		s.Close()
		wg.Wait()
	}
}
