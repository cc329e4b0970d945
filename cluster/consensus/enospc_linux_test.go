//go:build linux

package consensus

// A full disk (ENOSPC) under a member's DataDir: a small tmpfs, filled by
// the member's own proposals and then by a filler file, so that both the
// bbolt store and raft's snapshots run out of space. The member runs in a
// child process (a re-execution of this test binary, TestENOSPCChild, as
// the crash tests do: crashhelper_test.go), so that a panic fails the
// test instead of killing it.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

const envENOSPCChild = "QUORUM_ENOSPC_CHILD" // the data directory of the child

// TestENOSPCChild is the child process of TestENOSPCSolo; it does nothing
// unless that test re-executes the test binary for it.
func TestENOSPCChild(t *testing.T) {
	dir := os.Getenv(envENOSPCChild)
	if dir == "" {
		t.Skip("the child process of TestENOSPCSolo: runs only when it re-executes the test binary with " + envENOSPCChild + " set")
	}
	os.Exit(runENOSPCChild(dir))
}

// runENOSPCChild opens a member of one on dir and proposes as fast as it
// can, forever, reporting every change: "ack epoch op id" when the manager
// answered OK, "fail op id error" when Apply returned an error, "refused
// op id status" for any other answer. Each name goes through crashOps; a
// failure abandons the name for a fresh one.
func runENOSPCChild(dir string) int {
	out := &crashOut{}
	go func() { // the parent holds stdin open; its end ends us
		buf := make([]byte, 1)
		for {
			if _, err := os.Stdin.Read(buf); err != nil {
				os.Exit(4)
			}
		}
	}()
	opts := crashOptions("solo", dir)
	_, opts.Transport = raft.NewInmemTransport("solo")
	opts.BootstrapExpect, opts.OnApply = 1, out.onApplyLine
	// Raft's and the store's complaints go to stderr, for the parent's log.
	opts.Logger = hclog.New(&hclog.LoggerOptions{Output: os.Stderr, Level: hclog.Warn})
	n, err := Open(opts)
	if err != nil {
		out.printf("open-error %s", strconv.Quote(err.Error()))
		return 0
	}
	out.printf("addr %s", n.Addr())
	for i := 0; ; i++ {
		id := manager.NodeID(fmt.Sprintf("e%d", i))
		for _, op := range crashOps {
			for deadline := time.Now().Add(time.Second); !n.Leads() && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			c := manager.Change{Op: op, ID: id}
			if op == manager.OpAdd {
				c = manager.Change{Op: op, Node: manager.Node{ID: id, Standby: true}}
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			ans, err := n.Apply(ctx, c)
			cancel()
			if err != nil {
				out.printf("fail %s %s %s", op, id, strconv.Quote(err.Error()))
				break
			}
			if ans.Status != manager.OK {
				out.printf("refused %s %s %s", op, id, strconv.Quote(fmt.Sprint(ans.Status)))
				break
			}
			out.printf("ack %d %s %s", ans.Epoch, op, id)
		}
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory, unmounted
// when the test ends; it skips the test if it cannot.
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a disk that fills up)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		t.Skipf("mounting a tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting the tmpfs on %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes path until the file system is full; it returns the
// bytes written.
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	var total int64
	for {
		n, err := f.Write(buf)
		total += int64(n)
		if errors.Is(err, syscall.ENOSPC) {
			return total
		}
		if err != nil {
			t.Fatalf("filling the disk: %v", err)
		}
	}
}

// A member of one (BootstrapExpect 1) has its DataDir on a 4 MiB tmpfs.
// Its child process proposes as fast as it can; once some changes are
// acknowledged a filler file takes all the space left, so that bbolt's
// writes and raft's snapshots fail. The checks: the child never dies (a
// panic fails); while the disk is full, proposals fail with an error
// (Apply's error, not an OK answer of a configuration that does not show
// the change: checkAck); after the filler is deleted and the member is
// restarted on the same directory, in this process, every change
// acknowledged before and during the full disk is there (its epoch's
// configuration, the history), the bbolt file checks out, every epoch is
// the configuration any incarnation applied there, and epochs never went
// back (the recorder). Deterministic: no randomness beyond the
// scheduler's.
func TestENOSPCSolo(t *testing.T) {
	skipUnlessReexec(t)
	dir := mountTmpfs(t, 4<<20)
	rec := newRecorder()
	var mu sync.Mutex
	var acks []crashAck
	var fails, refusals []string
	var openErr string
	opened := make(chan struct{}, 1)
	phase := 0           // 0 before the disk filled, 1 full, 2 the filler deleted
	var phaseAcks [3]int // acknowledged in each phase
	child := startENOSPCChild(t, dir, func(f []string) {
		if len(f) == 0 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		switch f[0] {
		case "addr":
			opened <- struct{}{}
		case "open-error":
			openErr = strings.Join(f[1:], " ")
		case "apply":
			_, epoch, b, err := parseApply(f[1:])
			if err != nil {
				t.Errorf("child: %v", err)
				return
			}
			rec.record("child", epoch, b)
		case "ack":
			a, err := parseAck(f[1:])
			if err != nil {
				t.Errorf("child: %v", err)
				return
			}
			a.By = "child"
			acks = append(acks, a)
			phaseAcks[phase]++
		case "fail":
			fails = append(fails, strings.Join(f[1:], " "))
		case "refused":
			refusals = append(refusals, strings.Join(f[1:], " "))
		}
	})
	select {
	case <-opened:
	case <-child.done:
		t.Fatalf("the child exited before opening (%v; open error %s); stderr:\n%s", child.err, openErr, excerpt(child.stderr.String()))
	case <-time.After(15 * time.Second):
		t.Fatalf("the child did not open within 15s; stderr:\n%s", excerpt(child.stderr.String()))
	}
	alive := func(what string) {
		t.Helper()
		select {
		case <-child.done:
			t.Fatalf("the child died %s (%v); stderr:\n%s", what, child.err, excerpt(child.stderr.String()))
		default:
		}
	}
	count := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(acks), len(fails)
	}
	waitFor(t, 10*time.Second, "changes acknowledged before the disk fills", func() error {
		alive("before the disk filled")
		if n, _ := count(); n < 40 {
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	})

	filler := filepath.Join(dir, "filler")
	filled := fillDisk(t, filler)
	mu.Lock()
	phase = 1
	failsBefore := len(fails)
	mu.Unlock()
	t.Logf("the disk is full: a filler of %d bytes", filled)
	waitFor(t, 10*time.Second, "proposals failing on the full disk", func() error {
		alive("on the full disk")
		if _, n := count(); n < failsBefore+5 {
			return fmt.Errorf("%d failures since the disk filled", n-failsBefore)
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond) // snapshots due (every 50ms) fail too
	alive("on the full disk")

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	phase = 2
	mu.Unlock()
	time.Sleep(300 * time.Millisecond)
	alive("after the space was freed")
	child.kill()
	var logFails, snapFails int
	for _, l := range strings.Split(child.stderr.String(), "\n") {
		switch {
		case !strings.Contains(l, "no space left on device"):
		case strings.Contains(l, "snapshots:"):
			snapFails++
		default:
			logFails++
		}
	}
	tmps, tmpBytes := leftoverSnapshots(t, dir)
	t.Logf("the child logged %d store and %d snapshot writes failing for lack of space; %d temporary snapshot directories (%d bytes) are left behind",
		logFails, snapFails, tmps, tmpBytes)
	mu.Lock()
	final := append([]crashAck(nil), acks...)
	t.Logf("changes acknowledged: %d before the disk filled, %d while full, %d after the filler went; %d proposals failed, %d refused; first failures: %q",
		phaseAcks[0], phaseAcks[1], phaseAcks[2], len(fails), len(refusals), fails[failsBefore:min(len(fails), failsBefore+3)])
	for _, r := range refusals {
		t.Errorf("a proposal was answered, not failed, on the full disk: %s", r)
	}
	mu.Unlock()

	checkBoltFile(t, filepath.Join(dir, "raft.db"))
	node := openCrashSolo(t, dir, rec, "restarted")
	if !node.Restarted() {
		t.Fatal("the member reopened without its state")
	}
	l := waitLeader(t, []*Node{node})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	cfg, err := l.ReadConfig(ctx)
	cancel()
	if err != nil {
		t.Fatalf("ReadConfig after the restart: %v", err)
	}
	if cfg.Epoch < maxAck(final) {
		t.Fatalf("epoch %d after the restart; acknowledged up to %d", cfg.Epoch, maxAck(final))
	}
	for _, a := range final {
		if err := checkAck(rec, a); err != nil {
			t.Fatal(err)
		}
	}
	if err := checkHistory(node.fsm.manager(), final); err != nil {
		t.Fatal(err)
	}
	// It takes changes again.
	ans := applyOK(t, []*Node{node}, manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: "after", Standby: true}})
	if ans.Epoch <= cfg.Epoch {
		t.Fatalf("a change after the restart at epoch %d, after %d", ans.Epoch, cfg.Epoch)
	}
	if err := node.Shutdown(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	rec.check(t)
}

// startENOSPCChild re-executes the test binary as TestENOSPCChild on dir;
// line gets each complete protocol line's fields.
func startENOSPCChild(t *testing.T, dir string, line func([]string)) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestENOSPCChild$", "-test.timeout=2m")
	cmd.Env = append(os.Environ(), envENOSPCChild+"="+dir)
	return startChildCmd(t, cmd, line)
}

// leftoverSnapshots counts the temporary snapshot directories (*.tmp)
// under dir's snapshots and the bytes in them. Raft v1.8.0's
// FileSnapshotStore leaves one behind whenever a snapshot fails for lack
// of space (its sink's Close does not remove the directory when writing
// meta.json fails, nor Cancel when flushing state.bin fails), and never
// removes them: each holds up to a whole state.bin.
func leftoverSnapshots(t *testing.T, dir string) (n int, bytes int64) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasSuffix(e.Name(), ".tmp") {
			continue
		}
		n++
		files, _ := os.ReadDir(filepath.Join(dir, "snapshots", e.Name()))
		for _, f := range files {
			if fi, err := f.Info(); err == nil {
				bytes += fi.Size()
			}
		}
	}
	return n, bytes
}
