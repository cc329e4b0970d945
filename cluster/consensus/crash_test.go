//go:build unix

package consensus

// Crash tests of a member's storage (the bbolt log and stable store,
// boltstore.go, and raft's FileSnapshotStore): kill -9 of a member process
// at random moments, in a cluster of three and alone, and damaged files.
// Each kill is a re-execution of this test binary (TestCrashChild) with
// QUORUM_CRASH_CHILD naming its role; the randomness has a fixed seed,
// QUORUM_SEED overrides it, and a failure prints it. QUORUM_CRASH_ROUNDS
// runs more rounds of the kill tests. QUORUM_CRASH_NEWPORT=1 restarts the killed member on a new port, which
// shows a data race in hashicorp/raft under -race (see
// TestCrashMemberKill).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
	bolt "go.etcd.io/bbolt"
)

// TestCrashChild is the child process of the crash tests; it does
// nothing unless one of them re-executes the test binary for it.
func TestCrashChild(t *testing.T) {
	role := os.Getenv(envCrashChild)
	if role == "" {
		t.Skip("the child process of the crash tests: runs only when they re-execute the test binary with " + envCrashChild + " set")
	}
	os.Exit(runCrashChild(role))
}

// A member of one (BootstrapExpect 1) in a child process proposes as fast
// as it can and is killed with SIGKILL at a random moment, several times.
// After each kill the parent opens the bbolt file itself (it opens;
// FirstIndex and LastIndex are sane; every entry up to LastIndex reads
// back, with its own index and terms that never decrease; the current term
// reads back), then opens the member on the directory: it has state (never
// bootstraps again), and once it leads its configuration is at or after
// every epoch the child acknowledged, each acknowledged change is what the
// configuration at its epoch shows and is in the history, and every
// configuration it or any child applied at an epoch is the same one.
func TestCrashSoloKill(t *testing.T) {
	skipUnlessReexec(t)
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	rounds := crashRounds(t, 5)
	dir := t.TempDir()
	rec := newRecorder()
	var acks []crashAck
	var lastEpoch uint64 // the epoch the member was at when last reopened
	for round := range rounds {
		var mu sync.Mutex
		var roundAcks []crashAck
		var openErr string
		opened := make(chan struct{}, 1)
		inc := fmt.Sprintf("child#%d", round)
		child := startCrashChild(t, "solo", func(f []string) {
			if len(f) == 0 {
				return
			}
			switch f[0] {
			case "addr":
				opened <- struct{}{}
			case "open-error":
				mu.Lock()
				openErr = strings.Join(f[1:], " ")
				mu.Unlock()
			case "apply":
				_, epoch, b, err := parseApply(f[1:])
				if err != nil {
					t.Errorf("%s: %v", inc, err)
					return
				}
				rec.record(inc, epoch, b)
			case "ack":
				a, err := parseAck(f[1:])
				if err != nil {
					t.Errorf("%s: %v", inc, err)
					return
				}
				a.By = inc
				mu.Lock()
				roundAcks = append(roundAcks, a)
				mu.Unlock()
			}
		}, envCrashDir+"="+dir, envCrashID+"=solo", envCrashExpect+"=1", envCrashPrefix+fmt.Sprintf("=r%d-", round))
		select {
		case <-opened:
		case <-child.done:
			t.Fatalf("round %d: the child exited before opening (%v; open error %s); stderr:\n%s", round, child.err, openErr, child.stderr)
		case <-time.After(15 * time.Second):
			t.Fatalf("round %d: the child did not open within 15s; stderr:\n%s", round, child.stderr)
		}
		// Kills land anywhere from the restore and election to
		// mid-proposal and mid-snapshot.
		time.Sleep(randDuration(rng, 50*time.Millisecond, 900*time.Millisecond))
		child.kill()
		mu.Lock()
		acks = append(acks, roundAcks...)
		n := len(roundAcks)
		mu.Unlock()

		checkBoltFile(t, filepath.Join(dir, "raft.db"))
		node := openCrashSolo(t, dir, rec, fmt.Sprintf("verify#%d", round))
		if !node.Restarted() {
			t.Fatalf("round %d: the member reopened without its state", round)
		}
		l := waitLeader(t, []*Node{node})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cfg, err := l.ReadConfig(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: ReadConfig after the restart: %v", round, err)
		}
		if cfg.Epoch < maxAck(acks) || cfg.Epoch < lastEpoch {
			t.Fatalf("round %d: epoch %d after the restart; acknowledged up to %d, reopened before at %d", round, cfg.Epoch, maxAck(acks), lastEpoch)
		}
		lastEpoch = cfg.Epoch
		for _, a := range acks {
			if err := checkAck(rec, a); err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if err := checkHistory(node.fsm.manager(), acks); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if err := node.Shutdown(); err != nil {
			t.Fatalf("round %d: shutdown: %v", round, err)
		}
		rec.check(t)
		t.Logf("round %d: %d changes acknowledged, epoch %d after the restart", round, n, cfg.Epoch)
	}
	if len(acks) == 0 {
		t.Fatal("no change was ever acknowledged: the kills came too early to test anything")
	}
}

// openCrashSolo opens the member of one on dir in this process.
func openCrashSolo(t *testing.T, dir string, rec *recorder, inc string) *Node {
	t.Helper()
	opts := crashOptions("solo", dir)
	_, opts.Transport = raft.NewInmemTransport("solo")
	opts.BootstrapExpect, opts.OnApply = 1, rec.hook(inc)
	n, err := Open(opts)
	if err != nil {
		t.Fatalf("%s: opening after the kill: %v", inc, err)
	}
	t.Cleanup(func() { _ = n.Shutdown() })
	return n
}

// checkBoltFile opens a killed member's bbolt file: it opens, FirstIndex
// and LastIndex are sane, every entry between them reads with its index
// and terms that never decrease, and the current term reads.
func checkBoltFile(t *testing.T, path string) {
	t.Helper()
	s, err := openBoltStore(path)
	if err != nil {
		t.Fatalf("the bbolt file after the kill: %v", err)
	}
	defer s.Close()
	first, err := s.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	if last == 0 || first == 0 || first > last {
		t.Fatalf("the bbolt file after the kill: first index %d, last %d", first, last)
	}
	var term uint64
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("entry %d of %d..%d: %v", i, first, last, err)
		}
		if l.Index != i || l.Term < term {
			t.Fatalf("entry %d has index %d, term %d after %d", i, l.Index, l.Term, term)
		}
		term = l.Term
	}
	if cur, err := s.GetUint64([]byte("CurrentTerm")); err != nil || cur < term {
		t.Fatalf("current term %d (%v), last entry's term %d", cur, err, term)
	}
}

// A cluster of three: a and b run in this process, c in a child process
// that proposes whenever it leads (the parent proposes through a or b when
// one of them leads) and reports every configuration it applies and every
// change acknowledged to it. The parent kills c with SIGKILL at random
// moments, sometimes just after handing it the leadership, and restarts it
// on its directory, on a new port that a and b learn through Discovered.
// Every round checks: the restarted c opens; it catches up (its epoch at or
// after everything acknowledged so far and everything it applied before
// the kill); every configuration any incarnation applied at an epoch is
// byte-identical to a's and b's there (the recorder); epochs never go back
// within an incarnation; every acknowledged change (c's and the parent's)
// is what the configuration at its epoch shows, and is in the history. At
// the end c is opened in this process and the three members' snapshots
// (Snapshot().MarshalBinary, history included) are byte-identical.
func TestCrashMemberKill(t *testing.T) {
	skipUnlessReexec(t)
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	rounds := crashRounds(t, 8)
	rec := newRecorder()
	dirs := map[manager.NodeID]string{"a": t.TempDir(), "b": t.TempDir(), "c": t.TempDir()}
	open := func(id manager.NodeID, inc, bind string) *Node {
		t.Helper()
		opts := crashOptions(id, dirs[id])
		opts.BindAddr, opts.BootstrapExpect, opts.OnApply = bind, 3, rec.hook(inc)
		n, err := Open(opts)
		if err != nil && bind != "127.0.0.1:0" {
			opts.BindAddr = "127.0.0.1:0" // the old port is taken: a new one
			n, err = Open(opts)
		}
		if err != nil {
			t.Fatalf("%s: %v", inc, err)
		}
		t.Cleanup(func() { _ = n.Shutdown() })
		return n
	}
	a, b := open("a", "a", "127.0.0.1:0"), open("b", "b", "127.0.0.1:0")
	ab := []*Node{a, b}
	discoverAll(t, ab)

	var mu sync.Mutex
	var acks []crashAck
	addAck := func(x crashAck) {
		mu.Lock()
		acks = append(acks, x)
		mu.Unlock()
	}
	ackList := func() []crashAck {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(acks)
	}
	stop := make(chan struct{})
	proposerDone := make(chan struct{})
	go func() {
		defer close(proposerDone)
		proposeLoop(stop, func() *Node { return leaderOf(ab) }, "p", func(x crashAck) { x.By = "parent"; addAck(x) })
	}()
	stopProposer := sync.OnceFunc(func() { close(stop); <-proposerDone })
	t.Cleanup(stopProposer)

	peers := fmt.Sprintf("a=%s,b=%s", a.Addr(), b.Addr())
	// c restarts on its port, as a host would; QUORUM_CRASH_NEWPORT=1
	// restarts it on a new one each time, which a and b learn through
	// Discovered. That is supported, but hashicorp/raft v1.8.0 then has a
	// data race (the leader's startStopReplication writes a peer's
	// address under peerLock, updateLastAppended reads s.peer.ID without
	// it: replication.go:660) that -race reports: a known bug, reported.
	caddr := ""
	rebind := func() string {
		if caddr == "" || os.Getenv("QUORUM_CRASH_NEWPORT") != "" {
			return "127.0.0.1:0"
		}
		return caddr
	}
	var before uint64 // the highest epoch an earlier incarnation of c applied
	var transfers int
	for round := range rounds {
		inc := fmt.Sprintf("c#%d", round)
		var cmu sync.Mutex
		var cEpoch uint64 // the last epoch this incarnation applied
		var openErr string
		addr := make(chan string, 1)
		child := startCrashChild(t, "member", func(f []string) {
			if len(f) == 0 {
				return
			}
			switch f[0] {
			case "addr":
				addr <- f[1]
			case "open-error":
				cmu.Lock()
				openErr = strings.Join(f[1:], " ")
				cmu.Unlock()
			case "apply":
				_, epoch, cfg, err := parseApply(f[1:])
				if err != nil {
					t.Errorf("%s: %v", inc, err)
					return
				}
				rec.record(inc, epoch, cfg)
				cmu.Lock()
				cEpoch = epoch
				cmu.Unlock()
			case "ack":
				x, err := parseAck(f[1:])
				if err != nil {
					t.Errorf("%s: %v", inc, err)
					return
				}
				x.By = inc
				addAck(x)
			}
		}, envCrashDir+"="+dirs["c"], envCrashID+"=c", envCrashExpect+"=3", envCrashPeers+"="+peers,
			envCrashPrefix+fmt.Sprintf("=c%d-", round), envCrashBind+"="+rebind())
		select {
		case caddr = <-addr:
		case <-child.done:
			t.Fatalf("%s exited before opening (%v; open error %s); stderr:\n%s", inc, child.err, openErr, child.stderr)
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not open within 15s; stderr:\n%s", inc, child.stderr)
		}
		for _, n := range ab {
			if err := n.Discovered("c", caddr); err != nil {
				t.Fatal(err)
			}
		}
		if round > 0 && rng.IntN(4) == 0 {
			// Killed again while it restores and catches up; the next
			// incarnation's checks cover this one's.
			time.Sleep(randDuration(rng, time.Millisecond, 150*time.Millisecond))
			child.kill()
			cmu.Lock()
			before = max(before, cEpoch)
			cmu.Unlock()
			t.Logf("%s killed while catching up, at epoch %d", inc, before)
			continue
		}
		// Caught up: at or after everything acknowledged so far and
		// everything it applied before.
		want := max(maxAck(ackList()), before)
		waitFor(t, 15*time.Second, inc+" catching up", func() error {
			cmu.Lock()
			defer cmu.Unlock()
			if cEpoch < want {
				return fmt.Errorf("%s at epoch %d, want at least %d", inc, cEpoch, want)
			}
			return nil
		})
		checkCrashAcks(t, rec, ab, ackList())
		rec.check(t)

		if rng.IntN(2) == 0 {
			// Hand c the leadership, so that it is killed as the leader.
			if l := leaderOf(ab); l != nil {
				if err := l.raft.LeadershipTransferToServer("c", raft.ServerAddress(caddr)).Error(); err == nil {
					transfers++
				} else {
					t.Logf("%s: leadership transfer: %v", inc, err)
				}
			}
		}
		time.Sleep(randDuration(rng, 50*time.Millisecond, 1200*time.Millisecond))
		child.kill()
		cmu.Lock()
		before = max(before, cEpoch)
		cmu.Unlock()
		t.Logf("%s killed at epoch %d (cluster at %d), %d changes acknowledged so far", inc, before, rec.maxEpoch(), len(ackList()))
	}

	// The end: c restarted in this process, everyone converged, the
	// snapshots byte-identical.
	stopProposer()
	c := open("c", fmt.Sprintf("c#%d", rounds), rebind())
	if !c.Restarted() {
		t.Fatal("c reopened without its state")
	}
	for _, n := range ab {
		if err := n.Discovered("c", c.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	discoverAll(t, []*Node{a, b, c})
	all := []*Node{a, b, c}
	// Converged: one epoch everywhere, at or after everything acknowledged
	// and everything c applied before its kill (an entry c committed as
	// the leader is applied by the others only once a new leader commits
	// in its term). (Not converged(): a name the proposers abandoned
	// part-way stays a standby without an address, which raft never gets
	// as a non-voter.)
	waitFor(t, 20*time.Second, "converged", func() error {
		if want := max(maxAck(ackList()), before); a.Config().Epoch < want {
			return fmt.Errorf("a at epoch %d, want at least %d", a.Config().Epoch, want)
		}
		for _, n := range all[1:] {
			if n.Config().Epoch != a.Config().Epoch {
				return fmt.Errorf("a at epoch %d, %s at %d", a.Config().Epoch, n.ID(), n.Config().Epoch)
			}
		}
		return nil
	})
	final := ackList()
	if e := c.Config().Epoch; e < maxAck(final) || e < before {
		t.Fatalf("c at epoch %d after the last restart; acknowledged up to %d, applied before %d", e, maxAck(final), before)
	}
	checkCrashAcks(t, rec, all, final)
	want := snapshotBytes(t, a.fsm)
	for _, n := range all[1:] {
		if got := snapshotBytes(t, n.fsm); string(got) != string(want) {
			t.Fatalf("%s's snapshot differs from a's at epoch %d:\n%s\n%s", n.ID(), a.Config().Epoch, got, want)
		}
	}
	rec.check(t)
	var byC int
	for _, x := range final {
		if strings.HasPrefix(x.By, "c#") {
			byC++
		}
	}
	t.Logf("%d rounds, %d changes acknowledged (%d by c as the leader), %d leadership transfers to c, final epoch %d",
		rounds, len(final), byC, transfers, c.Config().Epoch)
	if byC == 0 {
		t.Logf("c never acknowledged a change as the leader in these rounds")
	}
}

// checkCrashAcks checks every ack against the recorded configurations
// (waiting a little for a and b to apply the newest) and the histories of
// nodes.
func checkCrashAcks(t *testing.T, rec *recorder, nodes []*Node, acks []crashAck) {
	t.Helper()
	waitFor(t, 10*time.Second, "acknowledged changes applied", func() error {
		for _, x := range acks {
			if err := checkAck(rec, x); err != nil {
				return err
			}
		}
		return nil
	})
	waitFor(t, 10*time.Second, "acknowledged changes in the history", func() error {
		for _, n := range nodes {
			m := n.fsm.manager()
			if m == nil {
				return fmt.Errorf("%s has no configuration", n.ID())
			}
			if m.Config().Epoch < maxAck(acks) {
				return fmt.Errorf("%s at epoch %d, acknowledged %d", n.ID(), m.Config().Epoch, maxAck(acks))
			}
			if err := checkHistory(m, acks); err != nil {
				return fmt.Errorf("%s: %v", n.ID(), err)
			}
		}
		return nil
	})
}

// crashDamage is one way of damaging a stopped member's directory.
type crashDamage struct {
	name   string
	damage func(t *testing.T, dir string, rng *rand.Rand)
}

// A member of one is stopped cleanly with two snapshots and a log
// beyond them; then copies of its directory are damaged, one way each,
// and a child process opens each copy (a panic in raft's or bbolt's
// goroutines would kill this process otherwise). Every outcome must be
// one of: Open refuses with an error that says what; or it opens and
// every configuration it applies, and the one it finally reads, is one
// that was committed at that epoch (a prefix of the history). A panic,
// another exit, or a configuration that was never committed fails.
//
// What detects what (bbolt v1.4.3, raft v1.8.0's FileSnapshotStore):
//
//   - bbolt checksums its two meta pages (FNV-64a) and nothing else. One
//     damaged meta page: bbolt uses the other (db/meta0-damaged,
//     db/meta1-damaged open with everything). Both damaged: Open refuses,
//     "checksum error" (db/both-metas-damaged). A file shorter than its
//     meta pages: "invalid database" (db/truncated-in-meta). An empty file
//     is a new database to bbolt: the member opens from its newest
//     snapshot with the log after it and its stable store (term, vote)
//     gone (db/emptied: a prefix, as the brief allows).
//   - bbolt does not compare the file's size with the pages its meta
//     records, nor check data pages: a file truncated past its metas would
//     open, and bbolt then panic or the process die of SIGBUS on the mmap.
//     The store refuses such a file before mapping it, turns bbolt's
//     panics at open into errors, and walks the pages (tx.Check)
//     (db/truncated-to-metas, -half, -random: refused). Losing only the
//     last page can be harmless (db/truncated-last-page: the page was free).
//   - Data pages have no checksum, so the store seals every value with a
//     CRC-32C, and Open reads every entry before raft starts (raft.NewRaft
//     panics on an entry it cannot read rather than return the error).
//     A broken or changed entry, before the newest snapshot or after it,
//     is refused (db/entry-before-snapshot-broken, db/entry-json-broken,
//     db/entry-command-changed, db/entry-index-changed: the entry keeps
//     its old checksum, as bit rot would). Random flips land on any of
//     these (db/random-bytes-flipped).
//   - Raft's snapshots carry a CRC-64 of state.bin in meta.json, checked
//     when one is opened: a damaged or truncated newest snapshot, or its
//     meta.json damaged or missing, makes raft fall back to the older one
//     and replay the log from there (snap/newest-*). Every snapshot
//     damaged: Open refuses, "failed to load any existing snapshots"
//     (snap/all-states-flipped). No snapshot at all: the whole log replays
//     (snap/all-removed). A torn snapshot a kill left (a .tmp directory)
//     is ignored (snap/torn-tmp-left).
func TestCrashDamagedFiles(t *testing.T) {
	skipUnlessReexec(t)
	seed := crashSeed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	pristine := t.TempDir()
	committed := newRecorder()
	{
		opts := crashOptions("solo", pristine)
		_, opts.Transport = raft.NewInmemTransport("solo")
		opts.BootstrapExpect, opts.OnApply = 1, committed.hook("pristine")
		opts.SnapshotThreshold, opts.SnapshotInterval = 1<<30, time.Hour // only the snapshots forced here
		n, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		waitLeader(t, []*Node{n})
		name := 0
		changes := func(names int) {
			for range names {
				id := manager.NodeID(fmt.Sprintf("d%d", name))
				name++
				for _, op := range crashOps {
					c := manager.Change{Op: op, ID: id}
					if op == manager.OpAdd {
						c = manager.Change{Op: op, Node: manager.Node{ID: id, Standby: true}}
					}
					applyOK(t, []*Node{n}, c)
				}
			}
		}
		changes(5)
		if err := n.raft.Snapshot().Error(); err != nil {
			t.Fatal(err)
		}
		changes(5)
		if err := n.raft.Snapshot().Error(); err != nil {
			t.Fatal(err)
		}
		changes(3)
		if err := n.Shutdown(); err != nil {
			t.Fatal(err)
		}
		committed.check(t)
	}
	last := committed.maxEpoch()

	for _, d := range crashDamages() {
		dseed := rng.Uint64()
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			d.damage(t, dir, rand.New(rand.NewPCG(dseed, 0)))
			var mu sync.Mutex
			var lines [][]string
			child := startCrashChild(t, "open", func(f []string) {
				mu.Lock()
				lines = append(lines, f)
				mu.Unlock()
			}, envCrashDir+"="+dir, envCrashID+"=solo", envCrashExpect+"=1")
			if err := child.wait(30 * time.Second); err != nil {
				t.Fatalf("the member on the damaged directory: %v; stderr:\n%s", err, excerpt(child.stderr.String()))
			}
			mu.Lock()
			defer mu.Unlock()
			var outcome string
			var prev uint64
			for _, f := range lines {
				switch f[0] {
				case "open-error":
					msg, _ := strconv.Unquote(strings.Join(f[1:], " "))
					if !strings.Contains(msg, "consensus:") {
						t.Errorf("Open refused without saying what: %q", msg)
					}
					outcome = "refused: " + msg
				case "apply", "final", "final-noleader":
					var epoch uint64
					var b []byte
					var err error
					if f[0] == "apply" {
						_, epoch, b, err = parseApply(f[1:])
					} else {
						_, epoch, b, err = parseApply(append([]string{"0"}, f[1:]...))
					}
					if err != nil {
						t.Fatalf("%v: %v", f, err)
					}
					if f[0] != "apply" {
						outcome = fmt.Sprintf("opened at epoch %d of %d (%s)", epoch, last, f[0])
					}
					if epoch == 0 {
						continue // nothing: the zero configuration
					}
					if want, ok := committed.config(epoch); !ok {
						t.Errorf("%s: epoch %d was never committed (the last is %d): %s", f[0], epoch, last, b)
					} else if wb, _ := json.Marshal(want); string(wb) != string(b) {
						t.Errorf("%s: epoch %d is not the configuration committed:\n%s\nwant\n%s", f[0], epoch, b, wb)
					}
					if epoch < prev {
						t.Errorf("%s: epoch %d after %d", f[0], epoch, prev)
					}
					prev = epoch
				case "error":
					t.Logf("child: %s", strings.Join(f[1:], " "))
				}
			}
			if outcome == "" {
				t.Fatalf("the child reported no outcome; stderr:\n%s", excerpt(child.stderr.String()))
			}
			t.Log(outcome)
		})
	}
}

// excerpt returns the start of a child's stderr: a panic's message and
// the stack of the goroutine that panicked.
func excerpt(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 40 {
		lines = lines[:40]
	}
	return strings.Join(lines, "\n")
}

// copyDir copies a data directory (files and one level of
// subdirectories deep, as raft's snapshots are).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// snapshotDirs returns the snapshot directories under dir, newest first
// (raft names them term-index-milliseconds).
func snapshotDirs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "snapshots"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, filepath.Join(dir, "snapshots", e.Name()))
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		return compareSnapshotNames(filepath.Base(b), filepath.Base(a))
	})
	if len(out) != 2 {
		t.Fatalf("want 2 snapshots, have %v", out)
	}
	return out
}

// newestSnapshotIndex is the log index the newest snapshot covers.
func newestSnapshotIndex(t *testing.T, dir string) uint64 {
	t.Helper()
	parts := strings.Split(filepath.Base(snapshotDirs(t, dir)[0]), "-")
	i, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// compareSnapshotNames orders term-index-ms names numerically.
func compareSnapshotNames(a, b string) int {
	pa, pb := strings.Split(a, "-"), strings.Split(b, "-")
	for i := range min(len(pa), len(pb)) {
		x, _ := strconv.ParseUint(pa[i], 10, 64)
		y, _ := strconv.ParseUint(pb[i], 10, 64)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

func truncateFile(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// flipAt inverts the byte at off.
func flipAt(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rewriteEntry replaces, in the bbolt file at path, the value of every
// log entry for which change returns bytes (nil: leave it), in one bbolt
// transaction: the file stays valid, the values change. change sees the
// entry's JSON; the value keeps its old checksum, as bit rot would.
func rewriteEntry(t *testing.T, path string, change func(l *raft.Log, v []byte) []byte) {
	t.Helper()
	s, err := openBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs)
		type kv struct{ k, v []byte }
		var puts []kv
		err := b.ForEach(func(k, v []byte) error {
			body, err := unseal(v)
			if err != nil {
				return err
			}
			var l raft.Log
			if err := json.Unmarshal(body, &l); err != nil {
				return err
			}
			if nv := change(&l, bytes.Clone(body)); nv != nil {
				puts = append(puts, kv{bytes.Clone(k), append(bytes.Clone(v[:4]), nv...)})
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(puts) == 0 {
			return fmt.Errorf("no entry changed")
		}
		for _, p := range puts {
			if err := b.Put(p.k, p.v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// boltPage is bbolt's page size for a new file: the OS page size.
var boltPage = int64(os.Getpagesize())

// crashDamages lists the damage TestCrashDamagedFiles opens.
func crashDamages() []crashDamage {
	db := func(dir string) string { return filepath.Join(dir, "raft.db") }
	return []crashDamage{
		{name: "db/emptied", damage: func(t *testing.T, dir string, _ *rand.Rand) { truncateFile(t, db(dir), 0) }},
		{name: "db/truncated-in-meta", damage: func(t *testing.T, dir string, _ *rand.Rand) { truncateFile(t, db(dir), 100) }},
		{name: "db/truncated-to-metas", damage: func(t *testing.T, dir string, _ *rand.Rand) { truncateFile(t, db(dir), 2*boltPage) }},
		{name: "db/truncated-last-page", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			truncateFile(t, db(dir), fileSize(t, db(dir))-boltPage)
		}},
		{name: "db/truncated-half", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			truncateFile(t, db(dir), fileSize(t, db(dir))/2)
		}},
		{name: "db/truncated-random", damage: func(t *testing.T, dir string, rng *rand.Rand) {
			size := fileSize(t, db(dir))
			truncateFile(t, db(dir), 2*boltPage+rng.Int64N(size-2*boltPage))
		}},
		{name: "db/meta0-damaged", damage: func(t *testing.T, dir string, _ *rand.Rand) { flipAt(t, db(dir), 40) }},
		{name: "db/meta1-damaged", damage: func(t *testing.T, dir string, _ *rand.Rand) { flipAt(t, db(dir), boltPage+40) }},
		{name: "db/both-metas-damaged", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			flipAt(t, db(dir), 40)
			flipAt(t, db(dir), boltPage+40)
		}},
		// A log entry's value changed in place, bbolt's file otherwise
		// intact: what a flipped bit in a live data page does, which
		// bbolt cannot see (it checksums only its meta pages).
		{name: "db/entry-before-snapshot-broken", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			// Raft never reads an entry the newest snapshot covers.
			at := newestSnapshotIndex(t, dir) - 3
			rewriteEntry(t, db(dir), func(l *raft.Log, v []byte) []byte {
				if l.Index != at {
					return nil
				}
				return bytes.Replace(v, []byte(`"Index":`), []byte(`"Index";`), 1)
			})
		}},
		{name: "db/entry-json-broken", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			at := newestSnapshotIndex(t, dir) + 3
			rewriteEntry(t, db(dir), func(l *raft.Log, v []byte) []byte {
				if l.Index != at {
					return nil
				}
				return bytes.Replace(v, []byte(`"Index":`), []byte(`"Index";`), 1)
			})
		}},
		{name: "db/entry-index-changed", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			at := newestSnapshotIndex(t, dir) + 3
			rewriteEntry(t, db(dir), func(l *raft.Log, v []byte) []byte {
				if l.Index != at {
					return nil
				}
				l.Index++
				b, _ := json.Marshal(l)
				return b
			})
		}},
		{name: "db/entry-command-changed", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			// The first added member after the last snapshot renamed: a
			// configuration that was never committed, unless the store
			// checksums its entries (it does not).
			done, after := false, newestSnapshotIndex(t, dir)
			rewriteEntry(t, db(dir), func(l *raft.Log, _ []byte) []byte {
				c, err := decodeCommand(l.Data)
				if done || l.Index <= after || l.Type != raft.LogCommand || err != nil || c.Kind != kindChange || c.Change.Op != manager.OpAdd {
					return nil
				}
				done = true
				c.Change.Node.ID = "never-committed"
				l.Data, _ = c.encode()
				b, _ := json.Marshal(l)
				return b
			})
			if !done {
				t.Fatalf("no add entry after index %d", after)
			}
		}},
		{name: "db/random-bytes-flipped", damage: func(t *testing.T, dir string, rng *rand.Rand) {
			size := fileSize(t, db(dir))
			for range 8 {
				flipAt(t, db(dir), 2*boltPage+rng.Int64N(size-2*boltPage))
			}
		}},
		{name: "snap/newest-state-truncated", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			p := filepath.Join(snapshotDirs(t, dir)[0], "state.bin")
			truncateFile(t, p, fileSize(t, p)/2)
		}},
		{name: "snap/newest-state-flipped", damage: func(t *testing.T, dir string, rng *rand.Rand) {
			p := filepath.Join(snapshotDirs(t, dir)[0], "state.bin")
			flipAt(t, p, rng.Int64N(fileSize(t, p)))
		}},
		{name: "snap/newest-meta-truncated", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			p := filepath.Join(snapshotDirs(t, dir)[0], "meta.json")
			truncateFile(t, p, fileSize(t, p)/2)
		}},
		{name: "snap/newest-meta-removed", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			if err := os.Remove(filepath.Join(snapshotDirs(t, dir)[0], "meta.json")); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "snap/all-states-flipped", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			for _, s := range snapshotDirs(t, dir) {
				flipAt(t, filepath.Join(s, "state.bin"), 10)
			}
		}},
		{name: "snap/all-removed", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			for _, s := range snapshotDirs(t, dir) {
				if err := os.RemoveAll(s); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "snap/torn-tmp-left", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			// A snapshot a kill interrupted: raft writes it under .tmp
			// and renames it when complete.
			s := snapshotDirs(t, dir)[0]
			tmp := strings.Replace(s, filepath.Base(s), "9-99999-99999999999999.tmp", 1)
			copyDir(t, s, tmp)
			truncateFile(t, filepath.Join(tmp, "state.bin"), 7)
		}},
		{name: "both/db-emptied-newest-snap-flipped", damage: func(t *testing.T, dir string, _ *rand.Rand) {
			truncateFile(t, db(dir), 0)
			flipAt(t, filepath.Join(snapshotDirs(t, dir)[0], "state.bin"), 10)
		}},
	}
}
