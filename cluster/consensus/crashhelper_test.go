//go:build unix

package consensus

// Helpers of the crash tests (crash_test.go): the child process that
// re-executes this test binary, the line protocol it speaks on stdout, the
// proposer both sides run, and the checks of what was acknowledged.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// The environment of a child process: its role and its member.
const (
	envCrashChild  = "QUORUM_CRASH_CHILD"  // member, solo or open
	envCrashDir    = "QUORUM_CRASH_DIR"    // the data directory
	envCrashID     = "QUORUM_CRASH_ID"     // the member ID
	envCrashPeers  = "QUORUM_CRASH_PEERS"  // id=addr,id=addr: the other members (member)
	envCrashPrefix = "QUORUM_CRASH_PREFIX" // names the child proposes start with
	envCrashExpect = "QUORUM_CRASH_EXPECT" // BootstrapExpect
	envCrashBind   = "QUORUM_CRASH_BIND"   // the address to listen on again (member), else a new port
)

// crashPrefix starts every line of the protocol, so that whatever else the
// test binary prints is ignored.
const crashPrefix = "CRASH "

// crashSeed is the seed of a crash test: 1, or QUORUM_SEED. It is logged
// when the test fails.
func crashSeed(t *testing.T) uint64 {
	t.Helper()
	seed := uint64(1)
	if s := os.Getenv("QUORUM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("QUORUM_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d: rerun with QUORUM_SEED=%d", seed, seed)
		}
	})
	return seed
}

// crashRounds is QUORUM_CRASH_ROUNDS, or def.
func crashRounds(t *testing.T, def int) int {
	t.Helper()
	if s := os.Getenv("QUORUM_CRASH_ROUNDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("QUORUM_CRASH_ROUNDS=%q: want a positive number", s)
		}
		return v
	}
	return def
}

// randDuration is a duration in [lo, hi).
func randDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return lo + time.Duration(rng.Int64N(int64(hi-lo)))
}

// crashOptions are a member's options in the crash tests: fastOptions,
// and snapshots often, so that kills land during them too.
func crashOptions(id manager.NodeID, dir string) Options {
	opts := fastOptions(id)
	opts.DataDir = dir
	opts.SnapshotThreshold, opts.SnapshotInterval = 16, 50*time.Millisecond
	return opts
}

// --- the child ---

// crashOut writes protocol lines to stdout, one write per line, synced.
type crashOut struct{ mu sync.Mutex }

func (o *crashOut) printf(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	fmt.Fprintf(os.Stdout, crashPrefix+format+"\n", args...)
	_ = os.Stdout.Sync() // a pipe cannot be synced; a file can
}

// onApplyLine reports every configuration applied: "apply index epoch
// base64(JSON)", the recorder's encoding.
func (o *crashOut) onApplyLine(index uint64, cfg manager.Config) {
	b, err := json.Marshal(cfg)
	if err != nil {
		o.printf("error encoding epoch %d: %v", cfg.Epoch, err)
		return
	}
	o.printf("apply %d %d %s", index, cfg.Epoch, base64.StdEncoding.EncodeToString(b))
}

// runCrashChild runs one child role until it is killed (member, solo) or
// done (open), and returns the exit code.
func runCrashChild(role string) int {
	out := &crashOut{}
	// The parent holds stdin open; its end (the parent died) ends us.
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(4)
	}()
	id := manager.NodeID(os.Getenv(envCrashID))
	expect, _ := strconv.Atoi(os.Getenv(envCrashExpect))
	opts := crashOptions(id, os.Getenv(envCrashDir))
	opts.BootstrapExpect = expect
	opts.OnApply = out.onApplyLine
	switch role {
	case "member":
		opts.BindAddr = "127.0.0.1:0"
	case "solo", "open":
		_, opts.Transport = raft.NewInmemTransport(raft.ServerAddress(id))
	default:
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	if role == "open" {
		// Snapshots only as the damaged directory has them.
		opts.SnapshotThreshold, opts.SnapshotInterval = 0, 0
	}
	bind := os.Getenv(envCrashBind)
	var n *Node
	var err error
	for try := 0; ; try++ {
		if role == "member" {
			opts.BindAddr = "127.0.0.1:0"
			if bind != "" && try < 20 {
				opts.BindAddr = bind // the address it had, as a host would
			}
		}
		n, err = Open(opts)
		if err == nil || !strings.Contains(err.Error(), "raft transport on") || opts.BindAddr == "127.0.0.1:0" {
			break
		}
		time.Sleep(25 * time.Millisecond) // the port is still taken
	}
	if err != nil {
		out.printf("open-error %s", strconv.Quote(err.Error()))
		return 0
	}
	out.printf("addr %s", n.Addr())
	if peers := os.Getenv(envCrashPeers); peers != "" {
		for _, p := range strings.Split(peers, ",") {
			pid, addr, _ := strings.Cut(p, "=")
			if err := n.Discovered(manager.NodeID(pid), addr); err != nil {
				out.printf("error %s", strconv.Quote(err.Error()))
			}
		}
	}
	if role == "open" {
		return crashOpenReport(n, out)
	}
	self := func() *Node {
		if n.Leads() {
			return n
		}
		return nil
	}
	proposeLoop(nil, self, os.Getenv(envCrashPrefix), func(a crashAck) {
		out.printf("ack %d %s %s", a.Epoch, a.Op, a.ID)
	})
	return 0
}

// crashOpenReport, for a member opened on a damaged directory: once it
// leads (a member of one), a linearizable read, reported as "final epoch
// base64(JSON)"; "final-noleader" with the local configuration if it does
// not lead in time.
func crashOpenReport(n *Node, out *crashOut) int {
	defer n.Shutdown()
	deadline := time.Now().Add(5 * time.Second)
	for !n.Leads() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	what, cfg := "final-noleader", n.Config()
	if n.Leads() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := n.ReadConfig(ctx)
		cancel()
		if err == nil {
			what, cfg = "final", c
		} else {
			out.printf("error ReadConfig %s", strconv.Quote(err.Error()))
		}
	}
	b, _ := json.Marshal(cfg)
	out.printf("%s %d %s", what, cfg.Epoch, base64.StdEncoding.EncodeToString(b))
	return 0
}

// --- the proposer ---

// crashOps is the cycle each proposer puts a name through: added as a
// standby, failed, recovered, removed; the configuration stays small.
var crashOps = []manager.Op{manager.OpAdd, manager.OpFail, manager.OpRecover, manager.OpRemove}

// crashAck is one acknowledged change: the manager answered OK at Epoch.
type crashAck struct {
	Epoch uint64
	Op    manager.Op
	ID    manager.NodeID
	By    string // who acknowledged it (for messages)
}

func (a crashAck) String() string {
	return fmt.Sprintf("%s %s at epoch %d (by %s)", a.Op, a.ID, a.Epoch, a.By)
}

// proposeLoop proposes through leader() until stop is closed (never if
// nil), naming members prefix0, prefix1, ... Each name goes through
// crashOps; any error or refusal abandons the name (the change may still
// commit, and a fresh name needs no retry logic).
func proposeLoop(stop <-chan struct{}, leader func() *Node, prefix string, ack func(crashAck)) {
	for i := 0; ; i++ {
		id := manager.NodeID(fmt.Sprintf("%s%d", prefix, i))
		for _, op := range crashOps {
			var l *Node
			for l == nil {
				select {
				case <-stop:
					return
				default:
				}
				if l = leader(); l == nil {
					time.Sleep(5 * time.Millisecond)
				}
			}
			c := manager.Change{Op: op, ID: id}
			if op == manager.OpAdd {
				c = manager.Change{Op: op, Node: manager.Node{ID: id, Standby: true}}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			ans, err := l.Apply(ctx, c)
			cancel()
			if err != nil || ans.Status != manager.OK {
				break
			}
			ack(crashAck{Epoch: ans.Epoch, Op: op, ID: id})
		}
	}
}

// --- the parent's side of a child ---

// crashChild is a running child process.
type crashChild struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	done   chan struct{} // stdout is at EOF and the process reaped
	err    error         // the process's exit, once done
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startCrashChild re-executes the test binary as a child of role, with
// env added; line gets each complete protocol line's fields (a line torn
// by the kill is dropped), on one goroutine.
// reexec is whether this test binary can run itself as a child: not
// under qemu-user without binfmt_misc (make test-arm64), where the kernel
// cannot execute an arm64 binary directly.
var reexec = sync.OnceValue(func() error {
	return exec.Command(os.Args[0], "-test.run=^$").Run()
})

// skipUnlessReexec skips a test that needs child processes where there can
// be none, saying why.
func skipUnlessReexec(t *testing.T) {
	if err := reexec(); err != nil {
		t.Skipf("this test binary cannot run itself as a child process here (%v): the crash tests need one", err)
	}
}

func startCrashChild(t testing.TB, role string, line func([]string), env ...string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), append([]string{envCrashChild + "=" + role}, env...)...)
	return startChildCmd(t, cmd, line)
}

// startChildCmd starts cmd, a re-execution of the test binary, as a
// crashChild; line gets each complete protocol line's fields (a line torn
// by a kill is dropped), on one goroutine.
func startChildCmd(t testing.TB, cmd *exec.Cmd, line func([]string)) *crashChild {
	t.Helper()
	c := &crashChild{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r := bufio.NewReaderSize(stdout, 1<<16)
		for {
			s, err := r.ReadString('\n')
			if err != nil {
				break // EOF: a partial last line is torn, not a line
			}
			if rest, ok := strings.CutPrefix(strings.TrimSuffix(s, "\n"), crashPrefix); ok {
				line(strings.Fields(rest))
			}
		}
		c.err = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.kill() })
	return c
}

// kill sends SIGKILL and waits for the child and its output.
func (c *crashChild) kill() {
	_ = c.cmd.Process.Kill()
	<-c.done
	_ = c.stdin.Close()
}

// wait waits for the child to exit by itself, killing it after limit.
func (c *crashChild) wait(limit time.Duration) error {
	select {
	case <-c.done:
	case <-time.After(limit):
		c.kill()
		return fmt.Errorf("did not exit within %v", limit)
	}
	_ = c.stdin.Close()
	return c.err
}

// parseApply decodes an "apply index epoch base64" line (fields after
// the verb).
func parseApply(f []string) (index, epoch uint64, cfg []byte, err error) {
	if len(f) != 3 {
		return 0, 0, nil, fmt.Errorf("apply line with %d fields", len(f))
	}
	if index, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return
	}
	if epoch, err = strconv.ParseUint(f[1], 10, 64); err != nil {
		return
	}
	cfg, err = base64.StdEncoding.DecodeString(f[2])
	return
}

// parseAck decodes an "ack epoch op id" line.
func parseAck(f []string) (crashAck, error) {
	if len(f) != 3 {
		return crashAck{}, fmt.Errorf("ack line with %d fields", len(f))
	}
	e, err := strconv.ParseUint(f[0], 10, 64)
	return crashAck{Epoch: e, Op: manager.Op(f[1]), ID: manager.NodeID(f[2])}, err
}

// --- checks ---

// record adds one configuration an incarnation applied (its JSON) to the
// recorder, with the recorder hook's checks: one configuration per epoch,
// and epochs that never go back within an incarnation.
func (r *recorder) record(incarnation string, epoch uint64, b []byte) {
	var cfg manager.Config
	if err := json.Unmarshal(b, &cfg); err != nil || cfg.Epoch != epoch {
		r.mu.Lock()
		r.problems = append(r.problems, fmt.Sprintf("%s: epoch %d: undecodable configuration (%v): %s", incarnation, epoch, err, b))
		r.mu.Unlock()
		return
	}
	r.hook(incarnation)(0, cfg)
}

// config returns the configuration recorded at epoch.
func (r *recorder) config(epoch uint64) (manager.Config, bool) {
	r.mu.Lock()
	b, ok := r.byEpoch[epoch]
	r.mu.Unlock()
	var cfg manager.Config
	if ok {
		ok = json.Unmarshal(b, &cfg) == nil
	}
	return cfg, ok
}

// maxEpoch returns the highest epoch recorded.
func (r *recorder) maxEpoch() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var m uint64
	for e := range r.byEpoch {
		m = max(m, e)
	}
	return m
}

// checkAck reports whether the configuration recorded at a's epoch is the
// one a's change makes.
func checkAck(rec *recorder, a crashAck) error {
	cfg, ok := rec.config(a.Epoch)
	if !ok {
		return fmt.Errorf("%v: no member applied epoch %d", a, a.Epoch)
	}
	nd, in := cfg.Node(a.ID)
	var good bool
	switch a.Op {
	case manager.OpAdd:
		good = in && nd.Standby && nd.State == manager.Active
	case manager.OpFail:
		good = in && nd.State == manager.Failed
	case manager.OpRecover:
		good = in && nd.State == manager.Active
	case manager.OpRemove:
		good = !in || nd.State == manager.Left
	default:
		return fmt.Errorf("%v: unexpected op", a)
	}
	if !good {
		return fmt.Errorf("%v: the configuration at epoch %d does not show it: %+v (present %v)", a, a.Epoch, nd, in)
	}
	return nil
}

// checkHistory reports whether m's history has every ack it still covers
// (the last 1000 events) as an applied event of that epoch, op and member.
func checkHistory(m *manager.Manager, acks []crashAck) error {
	snap := m.Snapshot()
	if len(snap.History) == 0 {
		return errors.New("empty history")
	}
	oldest := snap.History[0].Epoch
	applied := map[uint64]manager.Event{}
	for _, ev := range snap.History {
		if ev.Step == manager.StepApplied {
			applied[ev.Epoch] = ev
		}
	}
	for _, a := range acks {
		if a.Epoch <= oldest {
			continue
		}
		ev, ok := applied[a.Epoch]
		if !ok || ev.Op != a.Op || ev.Node != a.ID {
			return fmt.Errorf("%v: the history has %+v at that epoch (found %v)", a, ev, ok)
		}
	}
	return nil
}

// maxAck is the highest epoch of acks.
func maxAck(acks []crashAck) uint64 {
	var m uint64
	for _, a := range acks {
		m = max(m, a.Epoch)
	}
	return m
}
