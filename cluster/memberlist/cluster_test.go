package memberlist

import (
	"bytes"
	"fmt"
	"log"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/manager"
)

// timing is the integration tests' memberlist and agent settings.
type timing struct {
	probe, probeTimeout, gossip time.Duration
	suspicionMult, maxMult      int
	window, reconnect           time.Duration
	// wait bounds every wait for convergence: generous, since a slow
	// machine (the race detector, emulation) only makes a test slower.
	wait time.Duration
}

// testTiming: short probes so a test runs in seconds. The policy's timing
// is tested on a fake clock (package policy); these tests only wait for
// conditions, and never assert how long anything took.
func testTiming() timing {
	return timing{
		probe: 150 * time.Millisecond, probeTimeout: 75 * time.Millisecond, gossip: 50 * time.Millisecond,
		suspicionMult: 3, maxMult: 2,
		window: 500 * time.Millisecond, reconnect: 300 * time.Millisecond,
		wait: 30 * time.Second,
	}
}

// syncBuffer collects memberlist's logs, shown when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recorder keeps every quorum system an agent went through (from Verify,
// which Adjust calls for every epoch it applies, and from OnChange) and
// every recommendation it published.
type recorder struct {
	mu      sync.Mutex
	systems []manager.Config // consecutive distinct quorum systems
	recs    []seenRec
}

type seenRec struct {
	cfg   manager.Config
	nodes []manager.NodeID
}

func systemKey(c manager.Config) string { return fmt.Sprintf("%v|%v", c.Quorum(), c.Outgoing) }

func (r *recorder) record(c manager.Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n := len(r.systems); n > 0 && systemKey(r.systems[n-1]) == systemKey(c) {
		return
	}
	r.systems = append(r.systems, c.Clone())
}

func (r *recorder) verify(c manager.Config) error { r.record(c); return nil }

func (r *recorder) onChange(st Status) {
	r.record(st.Config)
	if len(st.Recommendation.Nodes) > 0 {
		r.mu.Lock()
		r.recs = append(r.recs, seenRec{cfg: st.Config, nodes: st.Recommendation.Nodes})
		r.mu.Unlock()
	}
}

// mark returns how much has been recorded, to check what follows.
func (r *recorder) mark() (int, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.systems), len(r.recs)
}

func (r *recorder) since(s, q int) ([]manager.Config, []seenRec) {
	r.mu.Lock()
	defer r.mu.Unlock()
	// The system in force at the mark still counts.
	return slices.Clone(r.systems[max(s-1, 0):]), slices.Clone(r.recs[q:])
}

// joinCounter is a user Events delegate, chained behind the agent's.
type joinCounter struct{ joins atomic.Int32 }

func (j *joinCounter) NotifyJoin(*memberlist.Node)   { j.joins.Add(1) }
func (j *joinCounter) NotifyLeave(*memberlist.Node)  {}
func (j *joinCounter) NotifyUpdate(*memberlist.Node) {}

type tnode struct {
	name, domain string
	port         int
	store        *manager.Store
	agent        *Agent
	list         *memberlist.Memberlist // attached (not owned) by agent; nil when owned
	tr           *dropTransport
	conf         *memberlist.Config
	rec          *recorder   // the running incarnation's
	recs         []*recorder // every incarnation's, oldest first
	events       *joinCounter
}

type cluster struct {
	t     *testing.T
	tm    timing
	part  *partition // nil: memberlist's own NetTransport
	nodes []*tnode
	logs  *syncBuffer
}

var domains = []string{"rack-a", "rack-b", "rack-c", "rack-a", "rack-b"}

// newCluster starts five members on 127.0.0.1, each joining n1; the first
// runs New and Attach with a user Events delegate, the rest Create. Each
// persists its manager, so a restarted member comes back with the
// configuration it had.
func newCluster(t *testing.T, part *partition) *cluster {
	c := &cluster{t: t, tm: testTiming(), part: part, logs: &syncBuffer{}}
	dir := t.TempDir()
	for i := range 5 {
		store, err := manager.NewStore(filepath.Join(dir, fmt.Sprintf("n%d.json", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &tnode{name: fmt.Sprintf("n%d", i+1), domain: domains[i], store: store})
	}
	t.Cleanup(func() {
		c.stopAll()
		if t.Failed() {
			t.Logf("memberlist logs:\n%s", tail(c.logs.String(), 3000))
		}
	})
	for i := range c.nodes {
		c.start(i, 0)
	}
	return c
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	return strings.Join(l[max(len(l)-lines, 0):], "\n")
}

func (c *cluster) config(n *tnode, port int) *memberlist.Config {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = n.name
	conf.BindAddr = "127.0.0.1"
	conf.BindPort = port
	conf.AdvertisePort = port
	conf.ProbeInterval = c.tm.probe
	conf.ProbeTimeout = c.tm.probeTimeout
	conf.GossipInterval = c.tm.gossip
	conf.SuspicionMult = c.tm.suspicionMult
	conf.SuspicionMaxTimeoutMult = c.tm.maxMult
	conf.PushPullInterval = 2 * time.Second
	conf.TCPTimeout = 500 * time.Millisecond
	conf.GossipToTheDeadTime = 30 * time.Second
	conf.DeadNodeReclaimTime = time.Millisecond // a restart on another port may take the name back
	conf.Logger = log.New(c.logs, n.name+" ", log.Lmicroseconds)
	return conf
}

// start (re)starts member i at port (0: any).
func (c *cluster) start(i, port int) {
	t := c.t
	t.Helper()
	n := c.nodes[i]
	n.rec = &recorder{}
	n.recs = append(n.recs, n.rec)
	conf := c.config(n, port)
	if c.part != nil {
		tr, err := newDropTransport(c.part, port, conf.Logger)
		if err != nil && port != 0 {
			tr, err = newDropTransport(c.part, 0, conf.Logger)
		}
		if err != nil {
			t.Fatal(err)
		}
		n.tr = tr
		conf.Transport = tr
		conf.BindPort, conf.AdvertisePort = tr.port(), tr.port()
	}
	opts := Options{
		Meta:              Meta{Domain: n.domain, Capabilities: manager.Capabilities{CPU: 4 + i, MemoryMB: 8192}},
		Store:             n.store,
		Window:            c.tm.window,
		ReconnectInterval: c.tm.reconnect,
		Verify:            n.rec.verify,
		OnChange:          n.rec.onChange,
	}
	var err error
	if i == 0 {
		n.events = &joinCounter{}
		conf.Events = n.events
		n.agent, err = New(conf, opts)
		if err == nil {
			n.list, err = memberlist.Create(conf)
			if err != nil {
				n.agent.Shutdown()
			}
		}
		if err == nil {
			err = n.agent.Attach(n.list)
		}
	} else {
		n.agent, err = Create(conf, opts)
		if err != nil && port != 0 && c.part == nil {
			conf = c.config(n, 0)
			n.agent, err = Create(conf, opts)
		}
	}
	if err != nil {
		t.Fatalf("starting %s: %v", n.name, err)
	}
	n.conf = conf
	n.port = conf.BindPort
	if i > 0 {
		// Failure is fine: the agent retries while it is alone.
		n.agent.Join([]string{c.addr(0)})
	}
}

func (c *cluster) addr(i int) string { return fmt.Sprintf("127.0.0.1:%d", c.nodes[i].port) }

// stop shuts member i down without leaving.
func (c *cluster) stop(i int) {
	n := c.nodes[i]
	if n.agent == nil {
		return
	}
	if err := n.agent.Shutdown(); err != nil {
		c.t.Errorf("shutdown %s: %v", n.name, err)
	}
	if n.list != nil {
		n.list.Shutdown()
		n.list = nil
	}
	n.agent = nil
}

func (c *cluster) stopAll() {
	for i := range c.nodes {
		c.stop(i)
	}
}

func (c *cluster) running() []*tnode {
	var out []*tnode
	for _, n := range c.nodes {
		if n.agent != nil {
			out = append(out, n)
		}
	}
	return out
}

// waitFor polls cond until it holds or the wait runs out.
func (c *cluster) waitFor(what string, cond func() (bool, string)) time.Duration {
	c.t.Helper()
	start := time.Now()
	var why string
	for {
		var ok bool
		if ok, why = cond(); ok {
			return time.Since(start)
		}
		if time.Since(start) > c.tm.wait {
			c.t.Fatalf("%s: not within %v: %s", what, c.tm.wait, why)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var allIDs = []manager.NodeID{"n1", "n2", "n3", "n4", "n5"}

// full reports whether a configuration is the full one: five active
// voters, not joint.
func full(cfg manager.Config) (bool, string) {
	if cfg.Joint() || !slices.Equal(cfg.Quorum().IDs(), allIDs) || len(cfg.Nodes) != 5 {
		return false, cfg.Describe()
	}
	for _, n := range cfg.Nodes {
		if n.State != manager.Active {
			return false, cfg.Describe()
		}
	}
	return true, ""
}

// waitFull waits until every running member's manager is in the full
// configuration, and its agent has published it (no adjustment still
// under way).
func (c *cluster) waitFull(what string) time.Duration {
	c.t.Helper()
	return c.waitFor(what, func() (bool, string) {
		for _, n := range c.running() {
			cfg := n.agent.Manager().Config()
			if ok, why := full(cfg); !ok {
				return false, n.name + " sees\n" + why
			}
			if st := n.agent.Status(); st.Config.Epoch != cfg.Epoch {
				return false, fmt.Sprintf("%s has published epoch %d, not %d yet", n.name, st.Config.Epoch, cfg.Epoch)
			}
		}
		return true, ""
	})
}

// waitWindow waits until every running agent has run a round a window
// (and a probe interval) after from, on its own clock: whatever the window
// would allow has been planned by then.
func (c *cluster) waitWindow(from time.Time) {
	c.t.Helper()
	after := from.Add(c.tm.window + c.tm.probe)
	c.waitFor("a window passing", func() (bool, string) {
		for _, n := range c.running() {
			if st := n.agent.Status(); !st.Time.After(after) {
				return false, fmt.Sprintf("%s's last round was at %v", n.name, st.Time)
			}
		}
		return true, ""
	})
}

// waitState waits until observer's manager holds target in state, and
// returns how long that took from start.
func (c *cluster) waitState(observer *tnode, target manager.NodeID, state manager.NodeState, start time.Time) time.Duration {
	c.t.Helper()
	c.waitFor(fmt.Sprintf("%s marks %s %v", observer.name, target, state), func() (bool, string) {
		cfg := observer.agent.Manager().Config()
		n, ok := cfg.Node(target)
		return ok && n.State == state, cfg.Describe()
	})
	return time.Since(start)
}

// marks are where each running member's records stood, to check what
// follows.
type marks map[*recorder][2]int

func (c *cluster) mark() marks {
	m := marks{}
	for _, n := range c.running() {
		s, r := n.rec.mark()
		m[n.rec] = [2]int{s, r}
	}
	return m
}

// recorders returns every incarnation's recorder.
func (c *cluster) recorders() []*recorder {
	var out []*recorder
	for _, n := range c.nodes {
		out = append(out, n.recs...)
	}
	return out
}

// checkSafety checks, over everything every member recorded since m
// (members started since included), that no two quorum systems any member
// went through have disjoint quorums, that every preferred quorum
// recommended was a quorum of the configuration it was recommended under,
// and that no two of them were disjoint.
func (c *cluster) checkSafety(m marks) {
	t := c.t
	t.Helper()
	var systems []manager.Config
	var recs []seenRec
	for _, n := range c.nodes {
		// The incarnation running at the mark from there, and every
		// later one from its start.
		first := slices.IndexFunc(n.recs, func(r *recorder) bool { _, ok := m[r]; return ok })
		if first < 0 {
			first = 0
		}
		for _, r := range n.recs[first:] {
			at := m[r]
			ss, rs := r.since(at[0], at[1])
			systems = append(systems, ss...)
			recs = append(recs, rs...)
		}
	}
	seen := map[string]bool{}
	var distinct []manager.Config
	for _, s := range systems {
		if k := systemKey(s); !seen[k] {
			seen[k] = true
			distinct = append(distinct, s)
		}
	}
	for i, a := range distinct {
		for _, b := range distinct[i:] {
			if s, ok := disjointQuorums(a, b); ok {
				t.Errorf("disjoint quorums: %v of epoch %d and %v of epoch %d", s[0], a.Epoch, s[1], b.Epoch)
			}
		}
	}
	for i, r := range recs {
		if !r.cfg.IsQuorum(r.nodes) {
			t.Errorf("recommended %v is no quorum of epoch %d", r.nodes, r.cfg.Epoch)
		}
		for _, o := range recs[i+1:] {
			if !slices.ContainsFunc(r.nodes, func(id manager.NodeID) bool { return slices.Contains(o.nodes, id) }) {
				t.Errorf("recommended quorums %v (epoch %d) and %v (epoch %d) are disjoint", r.nodes, r.cfg.Epoch, o.nodes, o.cfg.Epoch)
			}
		}
	}
	t.Logf("safety: %d distinct quorum system(s), %d recommendations checked", len(distinct), len(recs))
}

// checkSequences checks each member's own history of quorum systems,
// from its first epoch: consecutive systems never have disjoint quorums
// (joins went through joint phases where needed).
func (c *cluster) checkSequences(recs ...*recorder) {
	c.t.Helper()
	for _, r := range recs {
		ss, _ := r.since(0, 0)
		joint := 0
		for _, s := range ss {
			if s.Joint() {
				joint++
			}
		}
		if testing.Verbose() {
			c.t.Logf("%d quorum systems in turn, %d joint", len(ss), joint)
		}
		for i := 1; i < len(ss); i++ {
			if s, ok := disjointQuorums(ss[i-1], ss[i]); ok {
				c.t.Errorf("epoch %d then %d: disjoint quorums %v and %v", ss[i-1].Epoch, ss[i].Epoch, s[0], s[1])
			}
		}
	}
}

// disjointQuorums looks for a quorum of a and a quorum of b with no member
// in common. Quorums are monotone, so it is enough to try every set S of
// the members against the rest.
func disjointQuorums(a, b manager.Config) ([2][]manager.NodeID, bool) {
	var ids []manager.NodeID
	for _, c := range []manager.Config{a, b} {
		for _, n := range c.Nodes {
			if !slices.Contains(ids, n.ID) {
				ids = append(ids, n.ID)
			}
		}
	}
	for mask := 0; mask < 1<<len(ids); mask++ {
		var s, rest []manager.NodeID
		for i, id := range ids {
			if mask&(1<<i) != 0 {
				s = append(s, id)
			} else {
				rest = append(rest, id)
			}
		}
		if a.IsQuorum(s) && b.IsQuorum(rest) {
			return [2][]manager.NodeID{s, rest}, true
		}
	}
	return [2][]manager.NodeID{}, false
}

// goodRecommendation reports whether a member of the majority, with
// failed down, recommends what it should: the quorum of 3 of the 5 voters
// kept (no standby to replace failed), without failed, with the reasoning
// saying so; and why not.
func goodRecommendation(n *tnode, failed manager.NodeID) (bool, string) {
	st := n.agent.Status()
	rec := st.Recommendation
	reasons := strings.Join(rec.Reasoning, "\n")
	var bad []string
	if st.RecommendError != "" || rec.Quorum != 3 || len(rec.Nodes) != 3 || slices.Contains(rec.Nodes, failed) ||
		!st.Config.IsQuorum(rec.Nodes) || rec.Changed || len(rec.Proposal.Voters) != 5 {
		bad = append(bad, fmt.Sprintf("recommends quorum %d %v (changed %v, %d voters, error %q), want 3 live voters of 5",
			rec.Quorum, rec.Nodes, rec.Changed, len(rec.Proposal.Voters), st.RecommendError))
	}
	for _, want := range []string{"a quorum needs 3 of 5 voters", "tolerates 1 crash failure(s) now (4 healthy voters, quorum 3)", "failed voter " + string(failed) + " stays"} {
		if !strings.Contains(reasons, want) {
			bad = append(bad, fmt.Sprintf("reasoning lacks %q", want))
		}
	}
	if tol := st.Config.Tolerance(); tol.Healthy != 4 || tol.Crash != 1 {
		bad = append(bad, fmt.Sprintf("tolerance %+v, want 4 healthy, 1 more failure", tol))
	}
	if len(bad) > 0 {
		return false, strings.Join(bad, "; ") + "\n" + reasons + "\n" + st.Config.Describe()
	}
	return true, ""
}

// checkNoLeaks waits for every goroutine of memberlist, the agents and the
// test transports to end.
func checkNoLeaks(t *testing.T, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "hashicorp/memberlist.") || strings.Contains(g, "cluster/memberlist.(*Agent)") ||
				strings.Contains(g, "cluster/memberlist.newDropTransport") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutine(s) left after shutdown:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *cluster) logHistories() {
	for _, n := range c.running() {
		var b strings.Builder
		for _, e := range n.agent.Manager().History() {
			fmt.Fprintf(&b, "  epoch %d %s %s %s adj %d: %s\n", e.Epoch, e.Op, e.Step, e.Node, e.Adjustment, e.Detail)
		}
		c.t.Logf("%s history:\n%s", n.name, b.String())
	}
}

func (c *cluster) adjustments() map[string]uint64 {
	m := map[string]uint64{}
	for _, n := range c.running() {
		m[n.name] = n.agent.Manager().Metrics().Adjustments
	}
	return m
}

// TestFiveMembersFailAndReturn: five members on loopback converge to five
// voters; one is shut down without leaving; the other four mark it failed
// within memberlist's detection time, keep recommending a quorum of 3 of
// the 5 with it failed, and make no adjustment; it restarts from its
// stored configuration and everyone is back in the full configuration.
func TestFiveMembersFailAndReturn(t *testing.T) {
	start := time.Now()
	c := newCluster(t, nil)
	t.Logf("converged in %v", c.waitFull("convergence").Round(time.Millisecond))
	if got := c.nodes[0].events.joins.Load(); got < 5 {
		t.Errorf("the user's Events delegate saw %d joins, want 5", got)
	}
	m := c.mark()
	before := c.adjustments()

	victim := c.nodes[4]
	estimate := FailureDetectionTime(victim.conf, 5)
	stopped := time.Now()
	c.stop(4)
	for _, n := range c.running() {
		took := c.waitState(n, "n5", manager.Failed, stopped)
		t.Logf("%s marked n5 failed after %v (estimate %v)", n.name, took.Round(time.Millisecond), estimate)
	}
	// The window passes: no standby to replace n5, so no adjustment, and
	// the recommendation keeps its vote.
	c.waitWindow(time.Now())
	for _, n := range c.running() {
		c.waitFor(n.name+" recommends 3 of 5 without n5", func() (bool, string) { return goodRecommendation(n, "n5") })
	}
	if after := c.adjustments(); fmt.Sprint(after) != fmt.Sprint(without(before, "n5")) {
		t.Errorf("adjustments %v, want none since %v", after, before)
		c.logHistories()
	}

	// n5 comes back, on its old port, with its stored configuration.
	c.start(4, victim.port)
	t.Logf("back to full in %v", c.waitFull("n5 back").Round(time.Millisecond))

	// n4 leaves gracefully: once the window has passed the others remove
	// it, from the voters (an adjustment) and then from the members.
	if err := c.nodes[3].agent.Close(); err != nil {
		t.Errorf("n4 leaving: %v", err)
	}
	c.stop(3)
	four := []manager.NodeID{"n1", "n2", "n3", "n5"}
	c.waitFor("n4 removed", func() (bool, string) {
		for _, n := range c.running() {
			cfg := n.agent.Manager().Config()
			if _, member := cfg.Node("n4"); member || cfg.Joint() || !slices.Equal(cfg.Quorum().IDs(), four) {
				return false, n.name + " sees\n" + cfg.Describe()
			}
		}
		return true, ""
	})
	for _, n := range c.running() {
		if h := n.agent.Manager().History(); !slices.ContainsFunc(h, func(e manager.Event) bool {
			return e.Op == manager.OpRemove && e.Node == "n4" && e.Step == manager.StepApplied
		}) {
			t.Errorf("%s's history has no removal of n4", n.name)
		}
	}
	c.checkSafety(m)
	c.checkSequences(c.recorders()...)
	c.stopAll()
	checkNoLeaks(t, 5*time.Second)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

func without(m map[string]uint64, name string) map[string]uint64 {
	delete(m, name)
	return m
}

// TestFiveMembersPartition: five members; n5 is cut off by dropping all
// its packets at the transports. The majority marks it failed within the
// detection time and sees the partition in its network view; n5 marks the
// four others failed and finds no quorum on its side; nobody adjusts;
// when the partition heals everyone is back in the full configuration.
func TestFiveMembersPartition(t *testing.T) {
	start := time.Now()
	part := newPartition()
	c := newCluster(t, part)
	t.Logf("converged in %v", c.waitFull("convergence").Round(time.Millisecond))
	c.waitFor("a full network view", func() (bool, string) {
		v := c.nodes[0].agent.View()
		return len(v.Partitions) == 1 && len(v.Latency) == 5 && v.Coverage == 1, fmt.Sprintf("%+v", v)
	})
	m := c.mark()
	before := c.adjustments()

	cut := c.nodes[4]
	estimate := FailureDetectionTime(cut.conf, 5)
	part.isolate(c.addr(4), true)
	isolated := time.Now()
	for _, n := range c.running()[:4] {
		took := c.waitState(n, "n5", manager.Failed, isolated)
		t.Logf("%s marked n5 failed after %v (estimate %v)", n.name, took.Round(time.Millisecond), estimate)
	}
	// Alone, n5 probes the four one at a time with no one to confirm, and
	// memberlist's awareness stretches its probe interval as probes fail:
	// it takes several rounds, bounded only by the wait.
	for _, id := range allIDs[:4] {
		took := c.waitState(cut, id, manager.Failed, isolated)
		t.Logf("n5 marked %s failed after %v", id, took.Round(time.Millisecond))
	}
	c.waitWindow(time.Now())
	for _, n := range c.running()[:4] {
		c.waitFor(n.name+" recommends 3 of 5 without n5", func() (bool, string) { return goodRecommendation(n, "n5") })
	}
	c.waitFor("n1 sees the partition", func() (bool, string) {
		v := c.nodes[0].agent.View()
		return len(v.Partitions) == 2 && slices.Equal(v.Partitions[1], []manager.NodeID{"n5"}), fmt.Sprint(v.Partitions)
	})
	// The cut-off side holds no quorum and is told so.
	c.waitFor("n5 finds no quorum on its side", func() (bool, string) {
		st := cut.agent.Status()
		r := strings.Join(st.Recommendation.Reasoning, "\n")
		return !st.Config.IsQuorum([]manager.NodeID{"n5"}) && len(st.Recommendation.Nodes) == 0 &&
				st.Config.Tolerance().Crash < 0 && strings.Contains(r, "hold no quorum"),
			fmt.Sprintf("recommended %v, tolerance %+v:\n%s", st.Recommendation.Nodes, st.Config.Tolerance(), r)
	})
	if after := c.adjustments(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("adjustments %v, want none since %v", after, before)
	}

	part.isolate(c.addr(4), false)
	t.Logf("healed in %v", c.waitFull("healed").Round(time.Millisecond))
	c.checkSafety(m)
	c.checkSequences(c.recorders()...)
	c.stopAll()
	checkNoLeaks(t, 5*time.Second)
	t.Logf("total %v", time.Since(start).Round(time.Millisecond))
}

// TestDisjointQuorumsChecker: the safety check finds disjoint quorums
// where they exist, and none across a joint phase.
func TestDisjointQuorumsChecker(t *testing.T) {
	abc, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d", Standby: true}, {ID: "e", Standby: true}}, manager.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	before := abc.Config()
	cde := before.Clone()
	for i := range cde.Nodes {
		cde.Nodes[i].Standby = cde.Nodes[i].ID < "c"
	}
	if s, ok := disjointQuorums(before, cde); !ok {
		t.Error("{a b c} and {c d e} majorities: no disjoint quorums found")
	} else if len(s[0]) < 2 || len(s[1]) < 2 {
		t.Errorf("found %v", s)
	}
	// Through Adjust: a joint phase, then the new voters.
	var seen []manager.Config
	adj := abc.Adjust(0, manager.Proposal{Voters: []manager.Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}, func(c manager.Config) error {
		seen = append(seen, c)
		return nil
	})
	if adj.Answer.Status != manager.OK || !adj.Joint || len(seen) != 2 {
		t.Fatalf("adjust: %+v, %d verified", adj.Answer, len(seen))
	}
	seq := append([]manager.Config{before}, seen...)
	for i := 1; i < len(seq); i++ {
		if s, ok := disjointQuorums(seq[i-1], seq[i]); ok {
			t.Errorf("epoch %d then %d: disjoint %v", seq[i-1].Epoch, seq[i].Epoch, s)
		}
	}
}
