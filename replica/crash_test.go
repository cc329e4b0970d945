//go:build unix

package replica

// kill -9: the test binary runs itself again as a child (TestCrashChild,
// with QUORUM_CRASH_CHILD naming what to do) that repairs, rebuilds or
// writes, and dies by a real SIGKILL: at the k-th crash point (SetTestHook),
// after writing only part of the write that follows it (a torn pwrite), or
// when the parent kills it after a random delay. After each death the
// parent reopens the set (Open replays the journal) and checks it, then
// continues the operation; the end must be what an uninterrupted run gives.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv holds a child's crashChildSpec, as JSON.
const crashChildEnv = "QUORUM_CRASH_CHILD"

// crashChildSpec is what a child does.
type crashChildSpec struct {
	Role     string // "repair", "rebuild" or "writes"
	Paths    []string
	Geo      Geometry
	Batch    int
	Kill     int   // die at this crash point (0: only the parent kills)
	Torn     bool  // ... in the middle of the next write after it
	TearSeed int64 // where that write is cut
	// Writes: Writers goroutines write Count objects each, versions from
	// Base, logging to Log every write started ("S object version") and
	// acknowledged ("A object version"), synced.
	Log     string
	Writers int
	Count   int
	Base    uint64
	Seed    int64
	NoGroup bool
}

// TestCrashChild is the child of the kill tests: it returns at once unless
// QUORUM_CRASH_CHILD is set.
func TestCrashChild(t *testing.T) {
	js := os.Getenv(crashChildEnv)
	if js == "" {
		return
	}
	var c crashChildSpec
	if err := json.Unmarshal([]byte(js), &c); err != nil {
		t.Fatalf("%s: %v", crashChildEnv, err)
	}
	ctl := os.NewFile(3, "control")
	if c.Kill > 0 {
		crashArm(c)
	}
	fmt.Fprintln(ctl, "ready")
	l := &crashLayout{paths: c.Paths, geo: c.Geo, batch: c.Batch}
	var err error
	switch c.Role {
	case "repair":
		err = crashRepair(l)
	case "rebuild":
		err = crashRebuild(l)
	case "writes":
		err = crashChildWrites(c)
	default:
		err = fmt.Errorf("unknown role %q", c.Role)
	}
	SetTestHook(nil)
	SetTestDevice(nil)
	if err != nil {
		t.Fatalf("%s: %v", c.Role, err)
	}
	fmt.Fprintln(ctl, "done")
}

func crashDie() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	for {
		time.Sleep(time.Second)
	}
}

// crashArm makes the child die at crash point c.Kill, or, torn, at the
// next write after it, half written.
func crashArm(c crashChildSpec) {
	var n atomic.Int64
	var tear atomic.Bool
	if c.Torn {
		rng := rand.New(rand.NewSource(c.TearSeed))
		SetTestDevice(func(path string, d Device) Device { return &crashTearDev{Device: d, tear: &tear, rng: rng} })
	}
	SetTestHook(func(string) {
		if n.Add(1) == int64(c.Kill) {
			if c.Torn {
				tear.Store(true)
				return
			}
			crashDie()
		}
	})
}

// crashTearDev writes part of the first write after it is armed, then the
// process dies: a pwrite cut short, as a kill in the middle of a write of
// many pages leaves it.
type crashTearDev struct {
	Device
	tear *atomic.Bool
	rng  *rand.Rand
}

func (d *crashTearDev) WriteAt(b []byte, off int64) (int, error) {
	if !d.tear.Load() {
		return d.Device.WriteAt(b, off)
	}
	// Half the bytes, or up to a sector boundary inside the write.
	cut := len(b) / 2
	first := (off/powerSector + 1) * powerSector
	if end := off + int64(len(b)); first < end && d.rng.Intn(2) == 0 {
		sectors := (end - 1 - first) / powerSector
		cut = int(first + powerSector*d.rng.Int63n(sectors+1) - off)
	}
	d.Device.WriteAt(b[:cut], off)
	crashDie()
	return 0, nil
}

func crashChildWrites(c crashChildSpec) error {
	logf, err := os.OpenFile(c.Log, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	var mu sync.Mutex
	var logErr error
	line := func(kind byte, o int64, v uint64) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := fmt.Fprintf(logf, "%c %d %d\n", kind, o, v); err != nil {
			logErr = err
		} else if err := logf.Sync(); err != nil {
			logErr = err
		}
	}
	s, err := Open(c.Paths, &Options{NoGroupCommit: c.NoGroup})
	if err != nil {
		return err
	}
	m := &crashWriteModel{crashLayout: crashLayout{geo: c.Geo}}
	var next atomic.Uint64
	next.Store(c.Base)
	err = crashWriteStream(s, m, c.Seed, c.Writers, c.Count, &next,
		func(o int64, v uint64) { line('S', o, v) }, func(o int64, v uint64) { line('A', o, v) })
	return errors.Join(err, s.Close(), logErr)
}

// crashReadLog feeds a child's log into m (a line cut by the kill is
// ignored; a child killed before it opened its log logged nothing).
func crashReadLog(t testing.TB, path string, killed bool, m *crashWriteModel) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && killed {
		return // killed before it opened its log: it started and acknowledged nothing
	}
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for _, l := range lines[:len(lines)-1] {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("%s: bad line %q", path, l)
		}
		o, err1 := strconv.ParseInt(f[1], 10, 64)
		v, err2 := strconv.ParseUint(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: bad line %q", path, l)
		}
		switch f[0] {
		case "S":
			m.start(o, v)
		case "A":
			m.ack(o, v)
		default:
			t.Fatalf("%s: bad line %q", path, l)
		}
	}
}

// crashRun is how a child ended.
type crashRun struct {
	killed  bool
	elapsed time.Duration // from its start to its end
}

// crashRunChild runs a child; with killAfter >= 0 the parent kills it that
// long after it said it was ready, if it is still running.
func crashRunChild(t testing.TB, c crashChildSpec, killAfter time.Duration) crashRun {
	t.Helper()
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1", "-test.timeout=5m")
	// GORACE: a race-enabled child would sleep a second at exit.
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(js), "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.ExtraFiles = []*os.File{pw}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		if errors.Is(err, syscall.ENOEXEC) {
			t.Skipf("cannot run the test binary %s again to kill it (%v): an emulator without binfmt_misc?", os.Args[0], err)
		}
		t.Fatalf("starting the child: %v", err)
	}
	pw.Close()
	var hung atomic.Bool
	guard := time.AfterFunc(3*time.Minute, func() {
		hung.Store(true)
		cmd.Process.Kill()
	})
	defer guard.Stop()
	start := time.Now()
	sc := bufio.NewScanner(pr)
	done := false
	if sc.Scan() && sc.Text() == "ready" {
		start = time.Now()
		if killAfter >= 0 {
			time.Sleep(killAfter)
			cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	for sc.Scan() {
		done = done || sc.Text() == "done"
	}
	pr.Close()
	err = cmd.Wait()
	elapsed := time.Since(start)
	if hung.Load() {
		t.Fatalf("the child (%s) hung and was killed:\n%s", c.Role, out.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		return crashRun{killed: true, elapsed: elapsed}
	}
	if err != nil || !done {
		t.Fatalf("the child (%s) failed: %v\n%s", c.Role, err, out.String())
	}
	return crashRun{elapsed: elapsed}
}

// crashKillRounds restores the template, kills children running spec one
// to three times, checking the set after each death, then finishes the
// operation here and compares.
func crashKillRounds(t *testing.T, dir string, tmpl crashSnap, spec crashChildSpec, points int,
	check, finish func(testing.TB, string), complete func() error) {
	crashRestore(t, dir, tmpl)
	full := crashRunChild(t, spec, -1)
	if full.killed {
		t.Fatal("a child nobody killed died by SIGKILL")
	}
	finish(t, "a child's uninterrupted run")
	base := crashBaseSeed(t)
	for r := range crashRounds(t, 20, 4) {
		seed := base*1_000_003 + int64(r)
		ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			crashRestore(t, dir, tmpl)
			for k := range 1 + rng.Intn(3) {
				c := spec
				after := time.Duration(-1)
				var how string
				if rng.Intn(3) == 0 {
					after = time.Duration(rng.Int63n(int64(full.elapsed) + 1))
					how = fmt.Sprintf("killed by the parent %v after it started", after)
				} else {
					c.Kill, c.Torn, c.TearSeed = 1+rng.Intn(points), rng.Intn(2) == 0, rng.Int63()
					how = fmt.Sprintf("killed at crash point %d of %d (torn write: %v)", c.Kill, points, c.Torn)
				}
				run := crashRunChild(t, c, after)
				t.Logf("child %d: %s: killed %v after %v", k+1, how, run.killed, run.elapsed)
				if !run.killed {
					break // it finished first
				}
				check(t, fmt.Sprintf("kill %d, %s", k+1, how))
			}
			if err := complete(); err != nil {
				t.Fatalf("finishing after the kills: %v", err)
			}
			finish(t, "finished after the kills")
		})
		if !ok {
			t.Logf("stopped at the first failing round: rerun it alone with -run '%s/seed=%d$' (%s=%d)", t.Name(), seed, crashSeedEnv, base)
			break
		}
	}
}

// A repair of a set of five replicas with many lagging and outside objects
// (and some it must leave alone), killed again and again.
func TestCrashKillRepair(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRepair(t, dir, crashBaseSeed(t), 5, 160)
	m.reference(t)
	m.prefix = true
	spec := crashChildSpec{Role: "repair", Paths: m.paths, Geo: m.geo, Batch: m.batch}
	crashKillRounds(t, dir, m.tmpl, spec, m.points, m.check, m.finish, func() error { return crashRepair(&m.crashLayout) })
}

// A rebuild of a replaced replica, killed again and again (in its batch
// writes, syncs and superblock updates).
func TestCrashKillRebuild(t *testing.T) {
	dir := t.TempDir()
	m := crashBuildRebuild(t, dir, crashBaseSeed(t), 160)
	m.reference(t)
	spec := crashChildSpec{Role: "rebuild", Paths: m.paths, Geo: m.geo, Batch: m.batch}
	crashKillRounds(t, dir, m.tmpl, spec, m.points, m.check, m.finish, func() error { return crashRebuild(&m.crashLayout) })
}

// Streams of writes to five replicas killed again and again: every write
// the child logged as acknowledged (Write returned nil) must read back after
// the kill, every object must be a whole version, and none may go back, in
// the files before any replay (Write's order), read-only before the replay,
// or after it. One writer without group commit, or three sharing
// transactions; some epochs with one or two replicas missing, so that later
// writes catch them up, lagging or outside the chain.
func TestCrashKillWrites(t *testing.T) {
	for _, writers := range []int{1, 3} {
		t.Run(fmt.Sprintf("writers=%d", writers), func(t *testing.T) {
			dir, logs := t.TempDir(), t.TempDir()
			m := crashBuildWrites(t, dir, 5, 24)
			m.prefix = true
			base := crashBaseSeed(t)
			rng := rand.New(rand.NewSource(base*1_000_003 + int64(writers)))
			count := 24 / writers
			points := (3 + 2*len(m.paths)) * count * writers
			var full crashRun
			for e := range 1 + crashRounds(t, 24, 6) {
				c := crashChildSpec{Role: "writes", Paths: append([]string(nil), m.paths...), Geo: m.geo,
					Log: filepath.Join(logs, fmt.Sprintf("epoch%d", e)), Writers: writers, Count: count,
					Base: uint64(e+1) << 32, Seed: rng.Int63(), NoGroup: writers == 1}
				after := time.Duration(-1)
				how := "not killed"
				switch {
				case e == 0: // timed, for the delays
				case rng.Intn(3) == 0:
					after = time.Duration(rng.Int63n(int64(full.elapsed) + 1))
					how = fmt.Sprintf("killed by the parent %v after it started", after)
				default:
					c.Kill, c.Torn, c.TearSeed = 1+rng.Intn(points), rng.Intn(2) == 0, rng.Int63()
					how = fmt.Sprintf("killed at crash point %d (torn write: %v)", c.Kill, c.Torn)
				}
				if e > 0 && rng.Intn(2) == 0 {
					how += fmt.Sprintf(", replicas %v missing", m.crashMissing(rng, c.Paths))
				}
				run := crashRunChild(t, c, after)
				if e == 0 {
					full = run
				}
				crashReadLog(t, c.Log, run.killed, m)
				m.check(t, fmt.Sprintf("epoch %d (seed %d), %s", e, c.Seed, how), rng.Intn(3) == 0)
			}
		})
	}
}
