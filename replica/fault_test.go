//go:build linux

package replica

// Faults of the medium: a full file system (ENOSPC) when the journal is
// created, after it is (its space and the replicas' are reserved), and in
// place in raw mode over sparse files, where a write past its commit point
// can find no space; and a set on block devices (loop devices). They need
// root (to mount a small tmpfs, to attach loop devices) and skip, saying
// why, without it.

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lockstep/quorum/kernel"
	"golang.org/x/sys/unix"
)

// faultTmpfs mounts a tmpfs of size bytes on a new directory, unmounted at
// cleanup.
func faultTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("mounting a small tmpfs needs root (running as uid %d)", os.Geteuid())
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs on %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, bytes.TrimSpace(out))
		}
	})
	return dir
}

// faultResize changes a mounted tmpfs's size.
func faultResize(t *testing.T, dir string, size int64) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", fmt.Sprintf("remount,size=%d", size), dir).CombinedOutput(); err != nil {
		t.Fatalf("remounting %s: %v: %s", dir, err, bytes.TrimSpace(out))
	}
}

func faultFree(t *testing.T, dir string) int64 {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize)
}

// faultFill fills dir's file system with a file until leave bytes are
// free, and returns the file's path.
func faultFill(t *testing.T, dir string, leave int64) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte{0xee}, 1<<20)
	for {
		n := faultFree(t, dir) - leave
		if n <= 0 {
			break
		}
		if _, err := f.Write(chunk[:min(n, int64(len(chunk)))]); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	return path
}

// faultNoSpace checks that dir's file system has no room for one more page.
func faultNoSpace(t *testing.T, dir string) {
	t.Helper()
	err := os.WriteFile(filepath.Join(dir, "probe"), make([]byte, 4096), 0o644)
	os.Remove(filepath.Join(dir, "probe"))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("%s is not full: a 4 KiB file could be written (%v)", dir, err)
	}
}

func faultPaths(dir string, n int) []string {
	var p []string
	for i := range n {
		p = append(p, filepath.Join(dir, fmt.Sprintf("r%d", i)))
	}
	return p
}

// Create on a file system too full for the journal fails, saying so (the
// journal, its path, no space); so does one too full for the replicas;
// Open then refuses the replicas as not formatted, and once there is room
// Create again (with Force) makes a set that works.
func TestFaultENOSPCCreate(t *testing.T) {
	mnt := faultTmpfs(t, 6<<20)
	geo := Geometry{ObjectSize: 4096, Objects: 64}
	paths := faultPaths(mnt, 3)
	opts := &Options{JournalCapacity: 1 << 20}
	filler := faultFill(t, mnt, 1<<20)
	_, err := Create(paths, geo, opts)
	if !errors.Is(err, ErrJournal) || !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), mnt) {
		t.Fatalf("Create with no room for its journal: %v; want an error naming the journal in %s and wrapping ErrJournal and ENOSPC", err, mnt)
	}
	t.Logf("no room for the journal: %v", err)
	if _, err := Open(paths, nil); !errors.Is(err, ErrNotFormatted) && !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after a failed Create: %v, want ErrNotFormatted (or no files left)", err)
	}
	// Room for the journal but not for the replicas' objects.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	for _, e := range mustReadDirNames(t, mnt) {
		if strings.HasSuffix(e, ".journal") {
			t.Logf("a failed Create left %s behind", e)
		}
	}
	jpath := filepath.Join(mnt, "journal")
	faultFill(t, mnt, (2<<20)+(64<<10)+4096)
	_, err = Create(paths, geo, &Options{JournalCapacity: 1 << 20, Journal: jpath, Force: true})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), filepath.Join(mnt, "r")) {
		t.Fatalf("Create with no room for its replicas: %v; want ENOSPC naming a replica", err)
	}
	t.Logf("no room for the replicas: %v", err)
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	s, err := Create(paths, geo, &Options{JournalCapacity: 1 << 20, Journal: jpath, Force: true})
	if err != nil {
		t.Fatalf("Create again once there is room: %v", err)
	}
	m := &crashWriteModel{crashLayout: crashLayout{paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	for o := range geo.Objects {
		if err := s.Write(o, crashPayload(geo, o, 1)); err != nil {
			t.Fatal(err)
		}
		m.ack(o, 1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.check(t, "the set made once there was room", false)
}

// Once a set is created, a full disk does not stop it: the journal's space
// and the replicas' are reserved, so writes (grouped or not), a repair, a
// close and a reopen all work with the journal's file system and the
// replicas' both full.
func TestFaultENOSPCAfterCreate(t *testing.T) {
	mnt := faultTmpfs(t, 4<<20)
	jmnt := faultTmpfs(t, 1<<20)
	geo := Geometry{ObjectSize: 4096, Objects: 64}
	paths := faultPaths(mnt, 3)
	s, err := Create(paths, geo, &Options{Journal: filepath.Join(jmnt, "journal"), JournalCapacity: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	faultFill(t, mnt, 0)
	faultFill(t, jmnt, 0)
	faultNoSpace(t, mnt)
	faultNoSpace(t, jmnt)
	m := &crashWriteModel{crashLayout: crashLayout{paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	next := uint64(0)
	for _, o := range []struct {
		paths   []string
		noGroup bool
	}{{paths, true}, {[]string{paths[0], paths[1], ""}, false}, {paths, false}} {
		s, err := Open(o.paths, &Options{NoGroupCommit: o.noGroup})
		if err != nil {
			t.Fatalf("Open on a full disk: %v", err)
		}
		for i := range geo.Objects {
			next++
			m.start(i, next)
			if err := s.Write(i, crashPayload(geo, i, next)); err != nil {
				t.Fatalf("Write on a full disk: %v", err)
			}
			m.ack(i, next)
			if o.paths[2] == "" && i == geo.Objects/2 {
				break
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		m.lagged = m.lagged || o.paths[2] == ""
	}
	m.lagged = true
	m.check(t, "writes and a repair on full file systems", true)
	m.lagged = false
	m.check(t, "after the repair", false)
}

// faultRawSet makes three raw replicas of 16 sparse 64 KiB objects on a
// tmpfs: each object holds one vector (the same everywhere) in its first
// page and nothing else, so that writing an object allocates 15 pages.
func faultRawSet(t *testing.T, size int64) (mnt string, paths []string, geo Geometry, opts *Options) {
	t.Helper()
	mnt = faultTmpfs(t, size)
	geo = Geometry{ObjectSize: 64 << 10, VectorOffset: 0, Objects: 16}
	paths = faultPaths(mnt, 3)
	v := make([]byte, 32)
	rand.Read(v)
	for _, p := range paths {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(geo.bytes()); err != nil {
			t.Fatal(err)
		}
		for i := range geo.Objects {
			if _, err := f.WriteAt(v, i*int64(geo.ObjectSize)); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return mnt, paths, geo, &Options{Journal: filepath.Join(mnt, "journal")}
}

// faultRawObject reads object i of a raw replica.
func faultRawObject(t *testing.T, path string, geo Geometry, i int64) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, geo.ObjectSize)
	if _, err := f.ReadAt(b, i*int64(geo.ObjectSize)); err != nil {
		t.Fatal(err)
	}
	return b
}

// faultRawENOSPCWrite opens the raw set, fills its file system to free
// pages and writes object 3, which needs 15 pages on each replica (written
// in index order): past the write's commit point, a replica finds no space
// in the middle of the object.
func faultRawENOSPCWrite(t *testing.T, free int64) (s *Set, mnt string, paths []string, geo Geometry, opts *Options, old, data []byte) {
	t.Helper()
	mnt, paths, geo, opts = faultRawSet(t, 24<<20)
	s, err := OpenRaw(paths, geo, opts)
	if err != nil {
		t.Fatal(err)
	}
	old = faultRawObject(t, paths[0], geo, 3)
	faultFill(t, mnt, free*4096)
	data = crashPayload(geo, 3, 1)
	err = s.Write(3, data)
	if !errors.Is(err, ErrJournalPending) || !errors.Is(err, syscall.ENOSPC) {
		s.Close()
		t.Fatalf("a write that found no space past its commit point: %v; want an error wrapping ErrJournalPending and ENOSPC", err)
	}
	t.Logf("the write: %v", err)
	return s, mnt, paths, geo, opts, old, data
}

// Raw mode over sparse files: a write that finds no space after its commit
// point fails wrapping ErrJournalPending, and the set then refuses writes
// and repairs; once space is freed, reopening finishes the write, and every
// object is its old or its new bytes.
func TestFaultENOSPCRawWrite(t *testing.T) {
	// Replica 0 gets the whole object, replica 1 finds no space after 5
	// pages.
	s, mnt, paths, geo, opts, old, data := faultRawENOSPCWrite(t, 20)
	if err := s.Write(5, crashPayload(geo, 5, 1)); !errors.Is(err, ErrJournalPending) {
		t.Errorf("a write after one left pending: %v, want ErrJournalPending", err)
	}
	if _, err := s.Scan(context.Background(), ScanOptions{Repair: true}); !errors.Is(err, ErrJournalPending) {
		t.Errorf("a repair after a write left pending: %v, want ErrJournalPending", err)
	}
	s.Close()
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	s, err := OpenRaw(paths, geo, opts)
	if err != nil {
		t.Fatalf("reopening once space is freed: %v", err)
	}
	defer s.Close()
	if rec := s.Recovery(); rec.Replayed == 0 {
		t.Errorf("the reopen replayed nothing: %+v", rec)
	}
	buf := make([]byte, geo.ObjectSize)
	for i := range geo.Objects {
		want := old
		if i == 3 {
			want = data
		}
		if _, err := s.Read(i, buf); err != nil {
			t.Fatalf("object %d: %v", i, err)
		}
		vo := geo.VectorOffset
		if !bytes.Equal(buf[:vo], want[:vo]) || !bytes.Equal(buf[vo+32:], want[vo+32:]) {
			t.Fatalf("object %d reads neither as its old nor as its new bytes", i)
		}
		for r, p := range paths {
			if got := faultRawObject(t, p, geo, i); !bytes.Equal(got, buf) {
				t.Fatalf("replica %d object %d is not the quorum's after the replay", r, i)
			}
		}
	}
	rep, err := s.Scan(context.Background(), ScanOptions{VerifyData: true})
	if err != nil || !rep.Clean() {
		t.Fatalf("Scan after the replay: %v, %v", rep.Counts, err)
	}
	if err := s.Write(5, crashPayload(geo, 5, 2)); err != nil {
		t.Fatalf("a write after the replay: %v", err)
	}
}

// While a write that found no space is pending, the set still reads: the
// object it was writing must read as its old bytes, its new ones, or an
// error, never as the torn copy on replica 0 (its new vector and 7 of its
// 15 new pages made it; the leader of the new state).
func TestFaultENOSPCReadWhileJournalPending(t *testing.T) {
	s, _, _, geo, _, old, data := faultRawENOSPCWrite(t, 7)
	defer s.Close()
	buf := make([]byte, geo.ObjectSize)
	vo := geo.VectorOffset
	if _, err := s.Read(3, buf); err == nil {
		if (!bytes.Equal(buf[:vo], old[:vo]) || !bytes.Equal(buf[vo+32:], old[vo+32:])) &&
			(!bytes.Equal(buf[:vo], data[:vo]) || !bytes.Equal(buf[vo+32:], data[vo+32:])) {
			t.Errorf("Read of the object a pending write was writing returned torn bytes (neither its old nor its new ones) with no error")
		}
	}
	all := make([]byte, int(geo.Objects)*geo.ObjectSize)
	if err := s.ReadRange(0, int(geo.Objects), all, make([]kernel.Result, geo.Objects)); err == nil {
		got := all[3*geo.ObjectSize : 4*geo.ObjectSize]
		if (!bytes.Equal(got[:vo], old[:vo]) || !bytes.Equal(got[vo+32:], old[vo+32:])) &&
			(!bytes.Equal(got[:vo], data[:vo]) || !bytes.Equal(got[vo+32:], data[vo+32:])) {
			t.Errorf("ReadRange over the object a pending write was writing returned torn bytes with no error")
		}
	}
}

// Raw mode: a repair that finds no space on the lagging replica after its
// commit point fails wrapping ErrJournalPending; once space is freed the
// reopen finishes it, and every replica's every object is its old or its
// new bytes (here: the new).
func TestFaultENOSPCRawRepair(t *testing.T) {
	mnt, paths, geo, opts := faultRawSet(t, 24<<20)
	// Objects 0-7: replicas 0 and 1 one write ahead (whole objects, every
	// page allocated); replica 2 lags with only its vector.
	ahead := map[int64][]byte{}
	for i := range int64(8) {
		lag := faultRawObject(t, paths[2], geo, i)
		b := make([]byte, geo.ObjectSize)
		crashFill(b, uint64(i), 77)
		id := make([]byte, 16)
		rand.Read(id)
		copy(b, id)
		copy(b[16:], lag[:16])
		ahead[i] = b
		for _, p := range paths[:2] {
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(b, i*int64(geo.ObjectSize)); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
	}
	lagging := make([][]byte, 8)
	for i := range lagging {
		lagging[i] = faultRawObject(t, paths[2], geo, int64(i))
	}
	s, err := OpenRaw(paths, geo, opts)
	if err != nil {
		t.Fatal(err)
	}
	filler := faultFill(t, mnt, 40*4096)
	_, err = s.Scan(context.Background(), ScanOptions{Repair: true})
	if !errors.Is(err, ErrJournalPending) || !errors.Is(err, syscall.ENOSPC) {
		s.Close()
		t.Fatalf("a repair that found no space past its commit point: %v; want ErrJournalPending and ENOSPC", err)
	}
	t.Logf("the repair: %v", err)
	if err := s.Write(12, crashPayload(geo, 12, 1)); !errors.Is(err, ErrJournalPending) {
		t.Errorf("a write after a repair left pending: %v, want ErrJournalPending", err)
	}
	s.Close()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	s, err = OpenRaw(paths, geo, opts)
	if err != nil {
		t.Fatalf("reopening once space is freed: %v", err)
	}
	defer s.Close()
	for i := range int64(8) {
		for r, p := range paths {
			got := faultRawObject(t, p, geo, i)
			if !bytes.Equal(got, ahead[i]) {
				t.Fatalf("replica %d object %d is not the repaired bytes after the replay (old: %v)", r, i, bytes.Equal(got, lagging[i]))
			}
		}
	}
	rep, err := s.Scan(context.Background(), ScanOptions{VerifyData: true})
	if err != nil || !rep.Clean() {
		t.Fatalf("Scan after the replay: %v, %v", rep.Counts, err)
	}
}

// OpenRaw creates the raw set's journal on first use; on a file system too
// full for it, it fails saying so. Once there is room, OpenRaw must work:
// what the failed attempt left must not stand in for a journal.
func TestFaultENOSPCRawJournalCreate(t *testing.T) {
	mnt, paths, geo, opts := faultRawSet(t, 8<<20)
	_, err := OpenRaw(paths, geo, opts)
	if !errors.Is(err, ErrJournal) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("OpenRaw with no room for its journal: %v; want ErrJournal and ENOSPC", err)
	}
	t.Logf("no room for the journal: %v", err)
	if s, err := OpenRaw(paths, geo, &Options{ReadOnly: true}); err != nil {
		t.Errorf("read-only OpenRaw on the full file system: %v", err)
	} else {
		s.Close()
	}
	faultResize(t, mnt, 40<<20)
	s, err := OpenRaw(paths, geo, opts)
	if err != nil {
		t.Fatalf("OpenRaw once there is room for the journal: %v", err)
	}
	defer s.Close()
	if err := s.Write(1, crashPayload(geo, 1, 1)); err != nil {
		t.Fatalf("a write once there is room: %v", err)
	}
}

// Rebuild onto a replacement file (sparse until rebuilt) on a file system
// without room for it fails with ENOSPC, leaving the set writable; once
// space is freed Rebuild resumes and finishes, and the set is clean.
func TestFaultENOSPCRebuild(t *testing.T) {
	mnt := faultTmpfs(t, 4<<20)
	geo := Geometry{ObjectSize: 4096, Objects: 128}
	paths := faultPaths(mnt, 3)
	s, err := Create(paths, geo, &Options{JournalCapacity: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	m := &crashWriteModel{crashLayout: crashLayout{paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	next := uint64(0)
	write := func(s *Set, o int64) {
		t.Helper()
		next++
		m.start(o, next)
		if err := s.Write(o, crashPayload(geo, o, next)); err != nil {
			t.Fatalf("write of object %d: %v", o, err)
		}
		m.ack(o, next)
	}
	for o := range geo.Objects {
		write(s, o)
	}
	newPath := filepath.Join(mnt, "r1new")
	if err := s.Replace(1, newPath); err != nil {
		t.Fatal(err)
	}
	filler := faultFill(t, mnt, 200<<10)
	_, err = s.Rebuild(context.Background(), RebuildOptions{BatchBytes: 64 << 10})
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Rebuild with no room: %v, want ENOSPC", err)
	}
	t.Logf("the rebuild: %v", err)
	st, rebuilt, _ := s.State(1)
	if st != Rebuilding || rebuilt >= geo.Objects {
		t.Fatalf("after the failed rebuild replica 1 is %v, %d of %d objects", st, rebuilt, geo.Objects)
	}
	write(s, 0)             // copied already: reaches the new replica
	write(s, geo.Objects-1) // not copied yet
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rebuild(context.Background(), RebuildOptions{BatchBytes: 64 << 10}); err != nil {
		t.Fatalf("Rebuild once there is room: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.paths = []string{paths[0], newPath, paths[2]}
	m.check(t, "rebuilt after running out of space", false)
}

// faultLoop attaches a new loop device to a fresh backing file of size
// bytes, detached at cleanup.
func faultLoop(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("attaching loop devices needs root (running as uid %d)", os.Geteuid())
	}
	if _, err := exec.LookPath("losetup"); err != nil {
		t.Skipf("losetup is not installed: %v", err)
	}
	back := filepath.Join(t.TempDir(), "backing")
	if err := os.WriteFile(back, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(back, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", back).CombinedOutput()
	if err != nil {
		t.Skipf("losetup cannot attach a loop device: %v: %s", err, bytes.TrimSpace(out))
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if out, err := exec.Command("losetup", "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, bytes.TrimSpace(out))
		}
	})
	return dev
}

// A set on loop devices: Create needs a journal on a file system; writes,
// reads, a scan, a repair, a power failure in a write, a Replace onto a
// fourth device and its Rebuild.
func TestFaultBlockDevices(t *testing.T) {
	var devs []string
	for range 4 {
		devs = append(devs, faultLoop(t, 1<<20))
	}
	geo := Geometry{ObjectSize: 4096, Objects: 200}
	if _, err := Create(devs[:3], geo, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Create on block devices without Options.Journal: %v, want ErrInvalid", err)
	}
	journal := filepath.Join(t.TempDir(), "journal")
	s, err := Create(devs[:3], geo, &Options{Journal: journal, JournalCapacity: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	m := &crashWriteModel{crashLayout: crashLayout{paths: devs[:3], geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	next := uint64(0)
	write := func(s *Set, o int64) {
		t.Helper()
		next++
		m.start(o, next)
		if err := s.Write(o, crashPayload(geo, o, next)); err != nil {
			t.Fatalf("write of object %d: %v", o, err)
		}
		m.ack(o, next)
	}
	for o := int64(0); o < geo.Objects; o += 3 {
		write(s, o)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.check(t, "block devices: written", false)

	// Replica 2 misses writes, then a repair catches it up.
	s, err = Open([]string{devs[0], devs[1], ""}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for o := int64(10); o < 20; o++ {
		write(s, o)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(devs[:3], nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := s.Scan(context.Background(), ScanOptions{Repair: true})
	if err != nil || rep.Counts[Lagging] != 10 || rep.Repaired != 10 {
		t.Fatalf("repair on block devices: %v repaired, counts %v, %v; want 10 lagging repaired", rep.Repaired, rep.Counts, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.check(t, "block devices: repaired", false)

	// A power failure in the middle of a write's in-place copies.
	d := newPowerDisk(crashBaseSeed(t), 0)
	SetTestHook(func(p string) {
		if p == "replica write" {
			d.crashNextOp()
		}
	})
	restore := d.use()
	s, err = Open(devs[:3], nil)
	if err == nil {
		next++
		m.start(7, next)
		err = s.Write(7, crashPayload(geo, 7, next))
		s.Close()
	}
	restore()
	SetTestHook(nil)
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	m.check(t, "block devices: after a power failure in a write", false)

	// Replica 1 dies; a blank device takes its place.
	s, err = Open([]string{devs[0], "", devs[2]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(1, devs[3]); err != nil {
		t.Fatal(err)
	}
	write(s, 1)
	if _, err := s.Rebuild(context.Background(), RebuildOptions{BatchBytes: 64 << 10}); err != nil {
		t.Fatal(err)
	}
	rep, err = s.Scan(context.Background(), ScanOptions{VerifyData: true})
	if err != nil || !rep.Clean() {
		t.Fatalf("after the rebuild: %v, %v", rep.Counts, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.paths = []string{devs[0], devs[3], devs[2]}
	m.check(t, "block devices: rebuilt", false)
	if sb, err := Examine(devs[3]); err != nil || sb.State != Active || sb.Index != 1 {
		t.Fatalf("Examine of the rebuilt device: %+v, %v", sb, err)
	}
	if s, err := Open(devs[:3], nil); !errors.Is(err, ErrStale) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("the replaced device is not refused as stale: %v", err)
	}
}
