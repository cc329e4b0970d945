package replica

// Power loss: every file the package opens goes through a powerDev, which
// keeps the writes since the file's last Sync in memory (reads see them) and
// writes them to the real file only at Sync. At the simulated crash a random
// subset of each file's unsynced writes reaches the real file, in random
// order, some of them torn at 512-byte sector boundaries; every file is then
// closed (its locks released) and all further I/O fails. The set is then
// reopened normally and checked.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

var errPowerLost = errors.New("power lost (simulated crash)")

const powerSector = 512

type powerWrite struct {
	off int64
	b   []byte
}

// powerDisk is every file of one run between two crashes.
type powerDisk struct {
	mu      sync.Mutex
	rng     *rand.Rand
	ops     int // writes and syncs so far
	crashAt int // the write or sync that crashes (0: never)
	crashed bool
	devs    []*powerDev
	// keep, when set, decides which parts of each unsynced write reach the
	// file at the crash: the part of write w in each sector, by the file
	// offset where that part starts; nil: random. (Writes the package makes
	// to *os.File directly, such as a new journal's reserved zeros, do not
	// pass through the disk and are taken as durable.)
	keep func(path string, w powerWrite, sector int64) bool
	// unsynced counts writes that a Close found not synced.
	unsynced int
	// freeze: the goroutine whose write or sync meets the crash stops
	// there for good, so that no code after it runs, not even deferred
	// calls, as in a real crash (returning an error would let error paths
	// run: closing files, removing a half-made one). Run the operation with
	// run, which returns at the crash.
	freeze bool
	down   chan struct{} // closed at the crash
}

// run runs f and returns its error, or errPowerLost once f's goroutine is
// frozen by the crash. f must do its writes and syncs in its own goroutine
// (others would go on after the crash).
func (d *powerDisk) run(f func() error) error {
	if !d.freeze {
		return f()
	}
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-d.down:
		return errPowerLost
	}
}

func newPowerDisk(seed int64, crashAt int) *powerDisk {
	return &powerDisk{rng: rand.New(rand.NewSource(seed)), crashAt: crashAt, down: make(chan struct{})}
}

// use makes every file the package opens from now on this disk's, until
// the returned function is called.
func (d *powerDisk) use() (restore func()) {
	SetTestDevice(d.wrap)
	return func() { SetTestDevice(nil) }
}

func (d *powerDisk) wrap(path string, real Device) Device {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := &powerDev{d: d, path: path, real: real}
	if d.crashed {
		real.Close()
		p.closed = true
	}
	d.devs = append(d.devs, p)
	return p
}

// crashNextOp makes the next write or sync the crash.
func (d *powerDisk) crashNextOp() {
	d.mu.Lock()
	d.crashAt = d.ops + 1
	d.mu.Unlock()
}

// crashNow crashes between two operations.
func (d *powerDisk) crashNow() {
	d.mu.Lock()
	d.crashLocked()
	d.mu.Unlock()
}

func (d *powerDisk) crashLocked() {
	if d.crashed {
		return
	}
	d.crashed = true
	defer close(d.down)
	for _, p := range d.devs {
		if p.closed {
			continue
		}
		for _, k := range d.rng.Perm(len(p.pending)) {
			w := p.pending[k]
			whole := d.rng.Intn(3)
			for off := w.off; off < w.off+int64(len(w.b)); {
				end := min(w.off+int64(len(w.b)), (off/powerSector+1)*powerSector)
				var keep bool
				switch {
				case d.keep != nil:
					keep = d.keep(p.path, w, off)
				case whole == 0: // lost
				case whole == 1: // reached the disk
					keep = true
				default: // torn: some sectors reached the disk
					keep = d.rng.Intn(2) == 0
				}
				if keep {
					p.real.WriteAt(w.b[off-w.off:end-w.off], off)
				}
				off = end
			}
		}
		p.pending = nil
		p.real.Close()
		p.closed = true
	}
}

// powerDev is one file on a powerDisk.
type powerDev struct {
	d       *powerDisk
	path    string
	real    Device
	pending []powerWrite
	closed  bool
}

func (p *powerDev) dead() error {
	if p.d.crashed {
		return errPowerLost
	}
	return fs.ErrClosed
}

func (p *powerDev) ReadAt(b []byte, off int64) (int, error) {
	p.d.mu.Lock()
	defer p.d.mu.Unlock()
	if p.closed {
		return 0, p.dead()
	}
	n, err := p.real.ReadAt(b, off)
	for _, w := range p.pending {
		lo, hi := max(off, w.off), min(off+int64(len(b)), w.off+int64(len(w.b)))
		if lo < hi {
			copy(b[lo-off:hi-off], w.b[lo-w.off:hi-w.off])
			n = max(n, int(hi-off))
		}
	}
	if n == len(b) {
		err = nil
	}
	return n, err
}

func (p *powerDev) WriteAt(b []byte, off int64) (int, error) {
	d := p.d
	d.mu.Lock()
	if p.closed {
		err := p.dead()
		d.mu.Unlock()
		return 0, err
	}
	d.ops++
	p.pending = append(p.pending, powerWrite{off, bytes.Clone(b)})
	if d.ops == d.crashAt {
		// The write in flight is one of those the crash may keep, tear or
		// lose.
		d.crashLocked()
		d.mu.Unlock()
		d.stop()
		return 0, errPowerLost
	}
	d.mu.Unlock()
	return len(b), nil
}

// stop freezes the calling goroutine for good on a freezing disk.
func (d *powerDisk) stop() {
	if d.freeze {
		select {}
	}
}

func (p *powerDev) Sync() error {
	d := p.d
	d.mu.Lock()
	if p.closed {
		err := p.dead()
		d.mu.Unlock()
		return err
	}
	d.ops++
	if d.ops == d.crashAt {
		d.crashLocked()
		d.mu.Unlock()
		d.stop()
		return errPowerLost
	}
	defer d.mu.Unlock()
	for _, w := range p.pending {
		if _, err := p.real.WriteAt(w.b, w.off); err != nil {
			return err
		}
	}
	p.pending = nil
	return nil
}

func (p *powerDev) Close() error {
	d := p.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	// Unsynced writes at a clean close reach the file (the page cache
	// would write them back), and are counted: Close promises to sync.
	d.unsynced += len(p.pending)
	for _, w := range p.pending {
		p.real.WriteAt(w.b, w.off)
	}
	p.pending = nil
	return p.real.Close()
}

// powerCountOps runs f on a disk that never crashes and returns how many
// writes and syncs it made.
func powerCountOps(t testing.TB, f func() error) int {
	t.Helper()
	d := newPowerDisk(0, 0)
	restore := d.use()
	err := f()
	restore()
	if err != nil {
		t.Fatal(err)
	}
	if d.unsynced != 0 {
		t.Errorf("Close left %d writes unsynced", d.unsynced)
	}
	return d.ops
}

// powerRounds runs seeded rounds of an operation on a template: each round
// crashes it at a random write or sync, one to three times (a crash may land
// in the journal replay of the reopen before it, when no check reopened the
// set in between), checks the set after crashes, then finishes the operation
// and compares it with an uninterrupted run.
func powerRounds(t *testing.T, rounds int, dir string, tmpl crashSnap, ops int, op func() error, check, finish func(t testing.TB, stage string)) {
	base := crashBaseSeed(t)
	for r := range rounds {
		seed := base*1_000_003 + int64(r)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			crashRestore(t, dir, tmpl)
			crashes := 1 + rng.Intn(3)
			for c := range crashes {
				d := newPowerDisk(rng.Int63(), 1+rng.Intn(ops))
				d.freeze = rng.Intn(2) == 0
				restore := d.use()
				err := d.run(op)
				restore()
				if !d.crashed {
					if err != nil {
						t.Fatalf("crash %d: failed with no crash: %v", c+1, err)
					}
					break // it finished before its crash point
				}
				stage := fmt.Sprintf("after crash %d (at write or sync %d)", c+1, d.crashAt)
				if c == crashes-1 || rng.Intn(2) == 0 {
					check(t, stage)
				}
			}
			if err := op(); err != nil {
				t.Fatalf("finishing after the crashes: %v", err)
			}
			finish(t, "finished after the crashes")
			check(t, "finished after the crashes")
		})
		if !ok {
			t.Logf("stopped at the first failing round: rerun it alone with -run '%s/seed=%d$' (%s=%d)", t.Name(), seed, crashSeedEnv, base)
			break
		}
	}
}

// A repair of a set with many lagging and outside objects, cut by power
// failures, then finished: every replica's every object is its old or its
// new bytes after every crash, every object reads as its quorum's, and the
// end is byte for byte an uninterrupted repair's.
func TestPowerLossRepair(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRepair(t, dir, crashBaseSeed(t), 5, 160)
	m.reference(t)
	powerRounds(t, crashRounds(t, 30, 8), dir, m.tmpl, m.ops,
		func() error { return crashRepair(&m.crashLayout) }, m.check, m.finish)
}

// A rebuild of a replaced replica cut by power failures (in its batches, its
// syncs, its superblock updates), then finished.
func TestPowerLossRebuild(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRebuild(t, dir, crashBaseSeed(t), 160)
	m.reference(t)
	powerRounds(t, crashRounds(t, 30, 8), dir, m.tmpl, m.ops,
		func() error { return crashRebuild(&m.crashLayout) }, m.check, m.finish)
}

// Streams of writes cut by power failures (some while the reopen replays the
// record the last crash left): one writer without group commit, or several
// sharing transactions; some epochs with one or two of the five replicas
// missing, so that later writes catch them up, lagging or outside the
// chain. After each crash every acknowledged write reads back, every object
// is a whole version, and none goes back, before the journal is replayed
// (read-only) or after.
func TestPowerLossWrites(t *testing.T) {
	dir := t.TempDir()
	powerWrites(t, crashBuildWrites(t, dir, 5, 32), false, true)
}

// The same, with a repairing Scan running beside the writers in some epochs.
func TestPowerLossWritesBesideRepair(t *testing.T) {
	dir := t.TempDir()
	powerWrites(t, crashBuildWrites(t, dir, 5, 32), true, true)
}

// The same on a raw set (OpenRaw, no superblocks), every replica present.
func TestPowerLossRawWrites(t *testing.T) {
	dir := t.TempDir()
	powerWrites(t, crashBuildRawWrites(t, dir, 3, 32), false, false)
}

func powerWrites(t *testing.T, m *crashWriteModel, withRepair, missing bool) {
	dir := m.dir
	tmpl := crashSnapshot(t, dir)
	base := crashBaseSeed(t)
	for r := range crashRounds(t, 25, 6) {
		seed := base*1_000_003 + int64(r)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			crashRestore(t, dir, tmpl)
			m.restart(make([]uint64, m.geo.Objects))
			var next atomic.Uint64
			replayDue := false // a crash not yet followed by a reopen
			epochs := 2 + rng.Intn(3)
			for e := range epochs {
				writers := 1 + rng.Intn(3)
				count := 4 + rng.Intn(10)
				opts := &Options{NoGroupCommit: writers == 1 && rng.Intn(2) == 0}
				paths := append([]string(nil), m.paths...)
				if missing && !replayDue && rng.Intn(2) == 0 {
					// Replicas missing (the last record, replayed already,
					// cannot need them): later writes catch them up,
					// farthest behind first.
					m.crashMissing(rng, paths)
				}
				repairing := withRepair && rng.Intn(2) == 0
				d := newPowerDisk(rng.Int63(), 1+rng.Intn(writers*count*(4+2*len(m.paths))+20))
				// One writer and no scan: every write and sync is in one
				// goroutine, so the crash can stop the code dead.
				d.freeze = writers == 1 && !repairing && rng.Intn(2) == 0
				wseed := rng.Int63()
				restore := d.use()
				// The open (which may replay, and crash there) and the writes.
				err := d.run(func() error {
					s, err := m.open(paths, opts)
					if err != nil {
						return err
					}
					var wg sync.WaitGroup
					var serr error
					if repairing {
						wg.Add(1)
						go func() {
							defer wg.Done()
							_, serr = s.Scan(context.Background(), ScanOptions{Repair: true, BatchBytes: 16 << 10})
						}()
					}
					err = crashWriteStream(s, m, wseed, writers, count, &next, m.start, m.ack)
					wg.Wait()
					return errors.Join(err, serr, s.Close())
				})
				restore()
				if !d.crashed && err != nil {
					t.Fatalf("epoch %d failed with no crash: %v", e, err)
				}
				replayDue = d.crashed
				if e == epochs-1 || !d.crashed || rng.Intn(3) > 0 {
					m.check(t, fmt.Sprintf("epoch %d (%d writers, crash %v at %d)", e, writers, d.crashed, d.crashAt), rng.Intn(2) == 0)
					replayDue = false
				}
			}
		})
		if !ok {
			t.Logf("stopped at the first failing round: rerun it alone with -run '%s/seed=%d$' (%s=%d)", t.Name(), seed, crashSeedEnv, base)
			break
		}
	}
}

// Every write and sync of one Write is a crash point, each with several
// random outcomes for the unsynced writes; then every write and sync of the
// reopen's replay is one too, before a last clean reopen.
func TestPowerLossEveryPointOfAWrite(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildWrites(t, dir, 3, 4)
	s, err := Open(m.paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(1, crashPayload(m.geo, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tmpl := crashSnapshot(t, dir)
	acked := false
	write := func(v uint64) error {
		acked = false
		s, err := Open(m.paths, nil)
		if err != nil {
			return err
		}
		err = s.Write(1, crashPayload(m.geo, 1, v))
		acked = err == nil
		return errors.Join(err, s.Close())
	}
	ops := powerCountOps(t, func() error { return write(2) })
	crashRestore(t, dir, tmpl)
	seeds := 3
	if testing.Short() {
		seeds = 1
	}
	for k := 1; k <= ops; k++ {
		for seed := range seeds {
			crashRestore(t, dir, tmpl)
			d := newPowerDisk(crashBaseSeed(t)+int64(k*100+seed), k)
			d.freeze = seed%2 == 1
			restore := d.use()
			err := d.run(func() error { return write(2) })
			restore()
			stage := fmt.Sprintf("crash at write or sync %d of %d (seed %d)", k, ops, seed)
			if !d.crashed {
				t.Fatalf("%s: no crash (%v)", stage, err)
			}
			wasAcked := acked
			crashed := crashSnapshot(t, dir)
			// The reopen's replay, crashed at each of its writes and syncs.
			for r := 1; ; r++ {
				crashRestore(t, dir, crashed)
				d := newPowerDisk(int64(r), r)
				d.freeze = r%2 == 0
				restore := d.use()
				err := d.run(func() error {
					s, err := Open(m.paths, nil)
					if err == nil {
						err = s.Close()
					}
					return err
				})
				restore()
				if !d.crashed {
					if err != nil {
						t.Fatalf("%s: reopening: %v", stage, err)
					}
					break
				}
				m.floor[1] = 1
				m.reset()
				m.start(1, 2)
				if wasAcked {
					m.ack(1, 2)
				}
				m.check(t, fmt.Sprintf("%s, then at write or sync %d of the replay", stage, r), false)
			}
		}
	}
}

// Replace of a present replica by a new file and Rebuild onto it, with
// writes before, between and after, cut by a power failure anywhere (in the
// new replica's superblocks, between the generation updates of the others,
// in Rebuild's batches and superblock updates): afterwards the set opens
// with the new replica, or (when the new one never got a whole superblock)
// with the old one; acknowledged writes are there; finishing the Replace and
// Rebuild gives a clean set that refuses the old replica as stale.
func TestPowerLossReplace(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildWrites(t, dir, 3, 48)
	var next atomic.Uint64
	s, err := Open(m.paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	for o := range m.geo.Objects {
		v := next.Add(1)
		if err := s.Write(o, crashPayload(m.geo, o, v)); err != nil {
			t.Fatal(err)
		}
		m.floor[o] = v
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tmpl := crashSnapshot(t, dir)
	floor := append([]uint64(nil), m.floor...)
	oldPaths := append([]string(nil), m.paths...)
	newPaths := []string{m.paths[0], filepath.Join(dir, "r1new"), m.paths[2]}
	op := func(seed int64) error {
		s, err := Open(oldPaths, nil)
		if err != nil {
			return err
		}
		w := func(n int) error { return crashWriteStream(s, m, seed, 1, n, &next, m.start, m.ack) }
		err = w(4)
		if err == nil {
			err = s.Replace(1, newPaths[1])
		}
		if err == nil {
			err = w(4)
		}
		if err == nil {
			_, err = s.Rebuild(context.Background(), RebuildOptions{BatchBytes: 32 << 10})
		}
		if err == nil {
			err = w(4)
		}
		return errors.Join(err, s.Close())
	}
	ops := powerCountOps(t, func() error { return op(0) })
	base := crashBaseSeed(t)
	for r := range crashRounds(t, 30, 8) {
		seed := base*1_000_003 + int64(r)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			crashRestore(t, dir, tmpl)
			m.restart(floor)
			d := newPowerDisk(rng.Int63(), 1+rng.Intn(ops))
			d.freeze = rng.Intn(2) == 0
			restore := d.use()
			opSeed := rng.Int63()
			err := d.run(func() error { return op(opSeed) })
			restore()
			if !d.crashed {
				t.Fatalf("no crash at write or sync %d of %d: %v", d.crashAt, ops, err)
			}
			stage := fmt.Sprintf("crash at write or sync %d of %d", d.crashAt, ops)
			m.paths = newPaths
			replaced := true
			if s, err := Open(newPaths, &Options{ReadOnly: true}); err != nil {
				if !errors.Is(err, ErrNotFormatted) && !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("%s: reopening with the new replica: %v", stage, err)
				}
				// The new replica never got a whole superblock: the old one
				// is still the set's.
				m.paths, replaced = oldPaths, false
			} else if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			m.check(t, stage, false)
			// Finish: Replace (again), Rebuild, write.
			s, err := Open(m.paths, &Options{Force: true})
			if err != nil {
				t.Fatal(err)
			}
			if !replaced {
				if err := s.Replace(1, newPaths[1]); err != nil {
					t.Fatalf("%s: Replace again: %v", stage, err)
				}
			}
			if _, err := s.Rebuild(context.Background(), RebuildOptions{}); err != nil {
				t.Fatalf("%s: Rebuild: %v", stage, err)
			}
			if err := crashWriteStream(s, m, rng.Int63(), 2, 4, &next, m.start, m.ack); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			m.paths = newPaths
			m.check(t, stage+", finished", false)
			if s, err := Open(oldPaths, nil); !errors.Is(err, ErrStale) {
				if err == nil {
					s.Close()
				}
				t.Fatalf("%s: the replaced replica is not refused as stale: %v", stage, err)
			}
		})
		m.paths = oldPaths
		if !ok {
			t.Logf("stopped at the first failing round: rerun it alone with -run '%s/seed=%d$' (%s=%d)", t.Name(), seed, crashSeedEnv, base)
			break
		}
	}
}

// A crash in Replace before the new replica's superblock reached the disk
// leaves the new file created at its full size and blank. Replace again
// (without Force) must take it: "a file holding anything but a blank start
// or a replica of this set is refused unless Options.Force".
func TestPowerLossReplaceRetried(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildWrites(t, dir, 3, 8)
	newPath := filepath.Join(dir, "r1new")
	d := newPowerDisk(1, 0)
	d.freeze = true
	d.keep = func(string, powerWrite, int64) bool { return false }
	restore := d.use()
	err := d.run(func() error {
		s, err := Open([]string{m.paths[0], "", m.paths[2]}, nil)
		if err != nil {
			return err
		}
		d.crashNextOp() // the new replica's first superblock write
		return s.Replace(1, newPath)
	})
	restore()
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	if fi, err := os.Stat(newPath); err != nil || fi.Size() == 0 {
		t.Fatalf("the interrupted Replace left %v, %v: want the new file at its size", fi, err)
	}
	s, err := Open([]string{m.paths[0], "", m.paths[2]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Replace(1, newPath); err != nil {
		t.Fatalf("Replace again onto the blank file an interrupted Replace left: %v", err)
	}
	if _, err := s.Rebuild(context.Background(), RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A crash after Replace and a finished Rebuild, before any other write: the
// journal's last record (a write from before the Replace) names the old
// replica's ID, and the new replica is now active. Reopening must not fail.
func TestPowerLossAfterReplaceAndRebuild(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildWrites(t, dir, 3, 8)
	newPaths := []string{m.paths[0], filepath.Join(dir, "r1new"), m.paths[2]}
	d := newPowerDisk(1, 0)
	restore := d.use()
	s, err := Open(m.paths, nil)
	if err != nil {
		restore()
		t.Fatal(err)
	}
	werr := s.Write(3, crashPayload(m.geo, 3, 7))
	if werr == nil {
		werr = s.Replace(1, newPaths[1])
	}
	if werr == nil {
		_, werr = s.Rebuild(context.Background(), RebuildOptions{})
	}
	d.crashNow() // everything was synced: nothing is lost
	s.Close()
	restore()
	if werr != nil {
		t.Fatal(werr)
	}
	m.paths = newPaths
	m.ack(3, 7)
	m.check(t, "reopened after Replace, Rebuild and a crash", false)
}

// A write torn by a power failure across the sector boundary that cuts its
// object's vector in two (object 1 of 1000-byte objects starts 24 bytes
// before a sector boundary): the replica's vector is then half new, half
// old, and the reopen must still finish the committed write.
func TestPowerLossTornVectorAcrossSectors(t *testing.T) {
	dir := t.TempDir()
	geo := Geometry{ObjectSize: 1000, VectorOffset: 0, Objects: 4}
	paths := []string{filepath.Join(dir, "r0"), filepath.Join(dir, "r1"), filepath.Join(dir, "r2")}
	s, err := Create(paths, geo, &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	start := int64(DataOffset + geo.ObjectSize)
	if start/powerSector == (start+32-1)/powerSector {
		t.Fatalf("object 1's vector at %d does not straddle a sector", start)
	}
	d := newPowerDisk(1, 0)
	// The crash keeps the first sector of the object (the first 24 bytes
	// of its vector) and loses the rest of the write.
	d.keep = func(path string, w powerWrite, sector int64) bool { return sector < (start/powerSector+1)*powerSector }
	SetTestHook(func(p string) {
		if p == "replica write" {
			d.crashNextOp()
		}
	})
	restore := d.use()
	s, err = Open(paths, nil)
	if err == nil {
		err = s.Write(1, crashPayload(geo, 1, 5))
		s.Close()
	}
	restore()
	SetTestHook(nil)
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	m := &crashWriteModel{crashLayout: crashLayout{dir: dir, paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	m.start(1, 5)
	m.check(t, "a write torn inside its vector", false)
}

// A write torn by a power failure (the replica's first sector, with the new
// vector, reached the disk; the rest did not), then a read-only open, which
// does not replay: Scan reports the object pending, and Read must not return
// the torn bytes as the quorum's.
func TestPowerLossReadOnlyOpenTornObject(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildWrites(t, dir, 3, 4)
	const obj = 2
	start := DataOffset + obj*int64(m.geo.ObjectSize)
	d := newPowerDisk(1, 0)
	d.keep = func(path string, w powerWrite, sector int64) bool {
		return w.off == start && sector == start // the first sector of the object's replica write
	}
	SetTestHook(func(p string) {
		if p == "replica write" {
			d.crashNextOp()
		}
	})
	restore := d.use()
	s, err := Open(m.paths, nil)
	if err == nil {
		err = s.Write(obj, crashPayload(m.geo, obj, 9))
		s.Close()
	}
	restore()
	SetTestHook(nil)
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	s, err = Open(m.paths, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Recovery().Pending == 0 {
		t.Errorf("read-only open after a crash after the commit point: no record pending (%+v)", s.Recovery())
	}
	rep, err := s.Scan(context.Background(), ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts[Pending] != 1 {
		t.Errorf("Scan counts %v: want object %d pending", rep.Counts, obj)
	}
	buf := make([]byte, m.geo.ObjectSize)
	if _, err := s.Read(obj, buf); err == nil {
		if v, verr := crashVersion(m.geo, obj, buf); verr != nil || (v != 0 && v != 9) {
			t.Errorf("read-only Read of a pending object torn by the crash returned bytes that are neither its old nor its new ones (%v, version %d)", verr, v)
		}
	}
	all := make([]byte, int(m.geo.Objects)*m.geo.ObjectSize)
	if err := s.ReadRange(0, int(m.geo.Objects), all, make([]kernel.Result, m.geo.Objects)); err == nil {
		got := all[obj*m.geo.ObjectSize : (obj+1)*m.geo.ObjectSize]
		if v, verr := crashVersion(m.geo, obj, got); verr != nil || (v != 0 && v != 9) {
			t.Errorf("read-only ReadRange of a pending object torn by the crash returned bytes that are neither its old nor its new ones (%v, version %d)", verr, v)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.start(obj, 9)
	m.check(t, "writable reopen after the read-only one", false)
}

// A journal whose areas are smaller than 4 KiB: Create accepts any capacity
// that holds one object of every replica. A crash in a write, then a reopen,
// must finish the write.
func TestPowerLossSmallJournalCapacity(t *testing.T) {
	dir := t.TempDir()
	geo := Geometry{ObjectSize: 256, VectorOffset: 0, Objects: 8}
	paths := []string{filepath.Join(dir, "r0"), filepath.Join(dir, "r1"), filepath.Join(dir, "r2")}
	s, err := Create(paths, geo, &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 2048})
	if err != nil {
		t.Fatalf("Create with a 2 KiB journal: %v", err)
	}
	m := &crashWriteModel{crashLayout: crashLayout{dir: dir, paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
	m.reset()
	if err := s.Write(1, crashPayload(geo, 1, 1)); err != nil {
		t.Fatal(err)
	}
	m.ack(1, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.check(t, "reopened after a clean close, 2 KiB journal areas", false)
	d := newPowerDisk(1, 0)
	SetTestHook(func(p string) {
		if p == "replica write" {
			d.crashNextOp()
		}
	})
	restore := d.use()
	s, err = Open(paths, nil)
	if err == nil {
		err = s.Write(2, crashPayload(geo, 2, 2))
		s.Close()
	}
	restore()
	SetTestHook(nil)
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	m.start(2, 2)
	m.check(t, "reopened after a crash, 2 KiB journal areas", false)
}

// A raw set opened with a replica missing, a write torn by a power failure
// (replica 0 kept the first sector of the object, with the new vector), then
// the set opened with every replica: the committed write must be finished
// (or the open refused), never the torn copy read as the quorum's.
func TestPowerLossRawMissingReplica(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRawWrites(t, dir, 3, 4)
	const obj = 1
	start := obj * int64(m.geo.ObjectSize)
	d := newPowerDisk(1, 0)
	d.keep = func(path string, w powerWrite, sector int64) bool { return w.off == start && sector == start }
	SetTestHook(func(p string) {
		if p == "replica write" {
			d.crashNextOp()
		}
	})
	restore := d.use()
	s, err := m.open([]string{m.paths[0], m.paths[1], ""}, nil)
	if err == nil {
		err = s.Write(obj, crashPayload(m.geo, obj, 3))
		s.Close()
	}
	restore()
	SetTestHook(nil)
	if !d.crashed {
		t.Fatalf("no crash: %v", err)
	}
	m.start(obj, 3)
	m.lagged = true
	m.check(t, "reopened with every replica after a crash with one missing", false)
}

// A crash (power failure) at each write and sync of the first OpenRaw of a
// raw set, which creates its journal: the next OpenRaw must work.
func TestPowerLossRawJournalCreation(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRawWrites(t, dir, 3, 4)
	for _, e := range mustReadDirNames(t, dir) {
		if e != "raw0" && e != "raw1" && e != "raw2" { // the journal
			if err := os.Remove(filepath.Join(dir, e)); err != nil {
				t.Fatal(err)
			}
		}
	}
	tmpl := crashSnapshot(t, dir)
	ops := powerCountOps(t, func() error {
		s, err := m.open(m.paths, nil)
		if err != nil {
			return err
		}
		return s.Close()
	})
	for k := 1; k <= ops; k++ {
		crashRestore(t, dir, tmpl)
		d := newPowerDisk(int64(k), k)
		d.freeze = true
		restore := d.use()
		err := d.run(func() error {
			s, err := m.open(m.paths, nil)
			if err == nil {
				err = s.Close()
			}
			return err
		})
		restore()
		if !d.crashed {
			t.Fatalf("crash at write or sync %d of %d: no crash (%v)", k, ops, err)
		}
		s, err := m.open(m.paths, nil)
		if err != nil {
			t.Fatalf("OpenRaw after a crash at write or sync %d of %d of the first one (which created the journal): %v", k, ops, err)
		}
		if err := s.Write(0, crashPayload(m.geo, 0, 1)); err != nil {
			t.Fatalf("a write after the crash at %d: %v", k, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func mustReadDirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// A crash (power failure, stopping the code dead) at each write and sync of
// Create: afterwards Open refuses the replicas as not formatted (or, past
// the last superblock, opens the set), and Create again with Force makes a
// set that works.
func TestPowerLossCreate(t *testing.T) {
	dir := t.TempDir()
	geo := Geometry{ObjectSize: 4096, Objects: 16}
	paths := []string{filepath.Join(dir, "r0"), filepath.Join(dir, "r1"), filepath.Join(dir, "r2")}
	opts := &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 64 << 10}
	create := func(o *Options) error {
		s, err := Create(paths, geo, o)
		if err != nil {
			return err
		}
		return s.Close()
	}
	ops := powerCountOps(t, func() error { return create(opts) })
	for k := 1; k <= ops; k++ {
		for _, name := range mustReadDirNames(t, dir) {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		d := newPowerDisk(int64(k), k)
		d.freeze = true
		restore := d.use()
		err := d.run(func() error { return create(opts) })
		restore()
		if !d.crashed {
			t.Fatalf("crash at write or sync %d of %d: no crash (%v)", k, ops, err)
		}
		stage := fmt.Sprintf("crash at write or sync %d of %d of Create", k, ops)
		if s, err := Open(paths, nil); err == nil {
			m := &crashWriteModel{crashLayout: crashLayout{paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
			m.reset()
			s.Close()
			m.check(t, stage+": the set opens", false)
		} else if !errors.Is(err, ErrNotFormatted) {
			t.Fatalf("%s: Open: %v, want the set or ErrNotFormatted", stage, err)
		}
		o := *opts
		o.Force = true
		if err := create(&o); err != nil {
			t.Fatalf("%s: Create again with Force: %v", stage, err)
		}
		m := &crashWriteModel{crashLayout: crashLayout{paths: paths, geo: geo}, floor: make([]uint64, geo.Objects)}
		m.reset()
		s, err := Open(paths, nil)
		if err != nil {
			t.Fatalf("%s: Open after Create again: %v", stage, err)
		}
		if err := s.Write(3, crashPayload(geo, 3, 1)); err != nil {
			t.Fatal(err)
		}
		m.ack(3, 1)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		m.check(t, stage+", then Create again", false)
	}
}
