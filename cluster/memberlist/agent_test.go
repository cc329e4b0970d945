package memberlist

import (
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/manager"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fakeList drives an agent's delegates as memberlist would, without a
// memberlist: the agent's goroutine runs, but only on the fake clock.
type fakeList struct {
	t     *testing.T
	a     *Agent
	d     *delegates
	clock *fakeClock
	metas map[string]Meta
}

func newFakeList(t *testing.T, opts Options) *fakeList {
	t.Helper()
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	conf := memberlist.DefaultLocalConfig()
	conf.Name = "a"
	opts.Now = clock.Now
	opts.ReconnectInterval = -1
	if opts.Meta.Domain == "" {
		opts.Meta.Domain = "r1"
	}
	a, err := New(conf, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown() })
	f := &fakeList{t: t, a: a, d: conf.Events.(*delegates), clock: clock, metas: map[string]Meta{"a": opts.Meta}}
	f.join("a", opts.Meta)
	return f
}

func (f *fakeList) node(name string) *memberlist.Node {
	f.t.Helper()
	meta, err := f.metas[name].Encode()
	if err != nil {
		f.t.Fatal(err)
	}
	return &memberlist.Node{Name: name, Addr: net.IPv4(127, 0, 0, 1), Port: 7000 + uint16(name[0]), Meta: meta}
}

func (f *fakeList) join(name string, m Meta) {
	f.metas[name] = m
	if err := f.d.NotifyAlive(f.node(name)); err != nil {
		f.t.Fatalf("NotifyAlive(%s): %v", name, err)
	}
	f.d.NotifyJoin(f.node(name))
}

func (f *fakeList) fail(name string) { f.d.NotifyLeave(f.node(name)) }
func (f *fakeList) leave(name string) {
	m := f.metas[name]
	m.Leaving = true
	f.metas[name] = m
	f.d.NotifyUpdate(f.node(name))
	f.d.NotifyLeave(f.node(name))
}

// acks reports an answered probe of each peer, as the ping delegate does.
func (f *fakeList) acks(names ...string) {
	for _, n := range names {
		f.d.NotifyPingComplete(f.node(n), time.Millisecond, nil)
	}
}

// step moves the clock, lets the listed peers answer, and runs a round.
func (f *fakeList) step(d time.Duration, alive ...string) {
	// On the agent's goroutine, so no round sees the clock moved before
	// the answers arrive.
	if !f.a.sync(func() { f.clock.advance(d); f.acks(alive...) }) {
		f.t.Fatal("agent stopped")
	}
	// A round that adjusted asks for another at once; let it run.
	for range 5 {
		if !f.a.sync(nil) {
			f.t.Fatal("agent stopped")
		}
	}
}

// walk steps the clock by d in steps of at most a second, the listed
// peers answering every step, as memberlist's probes would.
func (f *fakeList) walk(d time.Duration, alive ...string) {
	for d > 0 {
		s := min(d, time.Second)
		f.step(s, alive...)
		d -= s
	}
}

func (f *fakeList) cfg() manager.Config { return f.a.Manager().Config() }

func (f *fakeList) state(id manager.NodeID) manager.NodeState {
	f.t.Helper()
	n, ok := f.cfg().Node(id)
	if !ok {
		f.t.Fatalf("%s is not a member:\n%s", id, f.cfg().Describe())
	}
	return n.State
}

func (f *fakeList) voters() []manager.NodeID { return f.cfg().Quorum().IDs() }

func (f *fakeList) adjustments() uint64 { return f.a.Manager().Metrics().Adjustments }

func eqIDs(got []manager.NodeID, want ...manager.NodeID) bool { return slices.Equal(got, want) }

// TestAgentFollowsPlan walks one agent through joins, a failure outlasting
// the window and a graceful departure on a fake clock: what memberlist
// reports reaches the policy, and its plan the manager (the policy's own
// timing is tested in package policy).
func TestAgentFollowsPlan(t *testing.T) {
	const window = 10 * time.Second
	f := newFakeList(t, Options{Window: window, SuspectAfter: 3 * time.Second, MaxVoters: 3})
	f.join("b", Meta{Domain: "r2"})
	f.join("c", Meta{Domain: "r3"})
	f.join("s", Meta{Domain: "r3", Standby: true})
	peers := []string{"b", "c", "s"}
	f.step(0, peers...)
	if got := f.voters(); !eqIDs(got, "a") || len(f.cfg().Nodes) != 4 {
		t.Fatalf("right after the joins: voters %v, %d members; want [a], 4", got, len(f.cfg().Nodes))
	}
	if st := f.a.Status(); len(st.Held) != 2 || !strings.Contains(st.Held[0], "promoting b") || !st.Leads {
		t.Fatalf("held = %q, leads %v; want b and c held for promotion", st.Held, st.Leads)
	}
	f.walk(window, peers...)
	if got := f.voters(); !eqIDs(got, "a", "b", "c") || f.adjustments() != 1 {
		t.Fatalf("a window later: voters %v, adjustments %d; want [a b c] (s asked to stay a standby), 1\n%+v", got, f.adjustments(), f.a.Status())
	}
	if adj := f.a.Status().LastAdjustment; adj == nil || adj.Status != manager.OK {
		t.Fatalf("last adjustment = %+v, want ok", adj)
	}

	// Silence: b is suspect after SuspectAfter, active at its next answer.
	f.step(4*time.Second, "c", "s")
	if st := f.state("b"); st != manager.Suspect {
		t.Fatalf("b after 4s of silence: %v, want suspect", st)
	}
	f.step(time.Second, peers...)
	if st := f.state("b"); st != manager.Active {
		t.Fatalf("b answering again: %v, want active", st)
	}

	// c fails for good: failed at once, replaced by the standby s (the
	// strategies' advice) once it has been down for the window.
	f.fail("c")
	f.step(0, "b", "s")
	if st := f.state("c"); st != manager.Failed {
		t.Fatalf("c after failing: %v, want failed", st)
	}
	f.walk(window+time.Millisecond, "b", "s")
	f.step(0, "b", "s")
	if got := f.voters(); !eqIDs(got, "a", "b", "s") {
		t.Fatalf("past the window: voters %v, want [a b s]\n%s", got, f.cfg().Describe())
	}

	// b leaves gracefully: failed at once, out of the voters and the
	// members a window later.
	f.leave("b")
	f.step(0, "s")
	if st := f.state("b"); st != manager.Failed {
		t.Fatalf("b after leaving: %v, want failed until the window passes", st)
	}
	f.walk(window+time.Millisecond, "s")
	if _, ok := f.cfg().Node("b"); ok || f.cfg().Joint() {
		t.Fatalf("b still a member a window after leaving:\n%s", f.cfg().Describe())
	}
	for _, e := range f.a.Manager().History() {
		if e.Step == manager.StepVerifyFailed || e.Op == manager.OpRollback {
			t.Fatalf("unexpected %s %s in the history", e.Op, e.Step)
		}
	}
	// Long gone and no longer a member, b is forgotten.
	f.walk(forgetAfter*window+time.Second, "s")
	for _, m := range f.a.Status().Members {
		if m.ID == "b" {
			t.Fatalf("b still reported %v %v after %d windows", m.State, m.Since, forgetAfter)
		}
	}
}

// TestUnseenMembersFail: a manager opened with members memberlist never
// reports marks them failed once the window has passed, not before.
func TestUnseenMembersFail(t *testing.T) {
	m, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, manager.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeList(t, Options{Manager: m, Window: 5 * time.Second})
	f.join("b", Meta{})
	f.step(time.Second, "b")
	if st := f.state("c"); st != manager.Active {
		t.Fatalf("c within the window: %v, want active", st)
	}
	f.step(5*time.Second, "b")
	if st := f.state("c"); st != manager.Failed {
		t.Fatalf("c after the window: %v, want failed", st)
	}
	if st := f.state("b"); st != manager.Active {
		t.Fatalf("b: %v, want active", st)
	}
	// No standby: the recommendation keeps c's vote, and nothing is adjusted.
	if got := f.voters(); !eqIDs(got, "a", "b", "c") || f.adjustments() != 0 {
		t.Fatalf("voters %v, adjustments %d; want [a b c], 0", got, f.adjustments())
	}
	rec := f.a.Status().Recommendation
	if rec.Changed || rec.Quorum != 2 || slices.Contains(rec.Nodes, "c") {
		t.Fatalf("recommendation %+v: want quorum 2 without c, unchanged", rec)
	}
}

// TestVerifyRollback: an adjustment whose verification fails is rolled
// back by the manager and not retried at the same epoch.
func TestVerifyRollback(t *testing.T) {
	calls := 0
	var verifyErr error = errVerify
	f := newFakeList(t, Options{Window: time.Second, Verify: func(manager.Config) error {
		calls++
		return verifyErr
	}})
	f.join("b", Meta{})
	f.step(0, "b")
	f.step(2*time.Second, "b")
	f.step(time.Second/2, "b")
	if got := f.voters(); !eqIDs(got, "a") {
		t.Fatalf("voters = %v, want [a]: the promotion failed verification", got)
	}
	met := f.a.Manager().Metrics()
	if met.Rollbacks != 1 || calls != 1 {
		t.Fatalf("rollbacks %d, Verify calls %d; want 1, 1 (not retried within the window)", met.Rollbacks, calls)
	}
	if st := f.a.Status(); !strings.Contains(st.LastError, "rolled back") || st.LastAdjustment == nil || st.LastAdjustment.Status != manager.RolledBack {
		t.Fatalf("last error %q, want the rollback", st.LastError)
	}
	// A window later it is tried again, and this time replication agrees.
	verifyErr = nil
	f.step(time.Second/2, "b")
	if got := f.voters(); !eqIDs(got, "a", "b") || calls < 2 {
		t.Fatalf("a window later: voters %v after %d Verify calls, want [a b]", got, calls)
	}
}

var errVerify = errorString("replication refused the configuration")

type errorString string

func (e errorString) Error() string { return string(e) }

// TestAliveFilter: peers whose names or metadata the manager would refuse
// are not let into the memberlist.
func TestAliveFilter(t *testing.T) {
	f := newFakeList(t, Options{})
	bad := []*memberlist.Node{
		{Name: "has space", Addr: net.IPv4(127, 0, 0, 1), Port: 1},
		{Name: "ok", Addr: net.IPv4(127, 0, 0, 1), Port: 1, Meta: []byte("not ours")},
		{Name: "ok", Addr: net.IPv4(127, 0, 0, 1), Port: 1, Meta: []byte(`q{"domain":"a b"}`)},
	}
	for _, n := range bad {
		if err := f.d.NotifyAlive(n); err == nil {
			t.Errorf("NotifyAlive(%q, %q) = nil, want an error", n.Name, n.Meta)
		}
	}
	if err := f.d.NotifyAlive(&memberlist.Node{Name: "plain", Addr: net.IPv4(127, 0, 0, 1), Port: 1}); err != nil {
		t.Errorf("a member without metadata: %v, want accepted", err)
	}
}

// userDelegate records the user messages passed on to it.
type userDelegate struct {
	mu   sync.Mutex
	msgs []string
}

func (u *userDelegate) NodeMeta(int) []byte { return []byte("never used") }
func (u *userDelegate) NotifyMsg(b []byte) {
	u.mu.Lock()
	u.msgs = append(u.msgs, string(b))
	u.mu.Unlock()
}
func (u *userDelegate) GetBroadcasts(int, int) [][]byte { return nil }
func (u *userDelegate) LocalState(bool) []byte          { return nil }
func (u *userDelegate) MergeRemoteState([]byte, bool)   {}

// TestLeaveNotice: a member's leave notice, arriving before or after
// memberlist's leave, makes the departure graceful (removed after the
// window) rather than a failure; other user messages reach the user's
// delegate.
func TestLeaveNotice(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	conf := memberlist.DefaultLocalConfig()
	conf.Name = "a"
	user := &userDelegate{}
	conf.Delegate = user
	a, err := New(conf, Options{Now: clock.Now, ReconnectInterval: -1, Window: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown() })
	f := &fakeList{t: t, a: a, d: conf.Events.(*delegates), clock: clock, metas: map[string]Meta{"a": {}}}
	if got := f.d.NodeMeta(memberlist.MetaMaxSize); string(got) == "never used" {
		t.Fatal("the user's NodeMeta was used")
	}
	f.join("a", Meta{})
	peers := []string{"b", "c", "d", "e", "f", "g"}
	for _, n := range peers {
		f.join(n, Meta{})
	}
	f.step(0, peers...)
	f.step(time.Second, peers...)
	f.step(time.Millisecond, peers...)
	if got := f.voters(); !eqIDs(got, "a", "b", "c", "d", "e", "f", "g") {
		t.Fatalf("voters %v, want [a b c d e f g]", got)
	}

	notice := func(name string) { f.d.NotifyMsg(append(slices.Clone(leaveNotice), name...)) }
	notice("b") // before memberlist's leave
	f.fail("b")
	f.fail("c")
	notice("c") // after it
	f.fail("d") // no notice: a failure
	f.d.NotifyMsg([]byte("hello"))
	f.step(0, "e", "f", "g")
	st := f.a.Status()
	states := map[manager.NodeID]MemberState{}
	for _, m := range st.Members {
		states[m.ID] = m.State
	}
	if states["b"] != Left || states["c"] != Left || states["d"] != Dead {
		t.Fatalf("member states %v, want b and c left, d dead", states)
	}
	f.step(time.Second, "e", "f", "g")
	f.step(time.Millisecond, "e", "f", "g")
	cfg := f.cfg()
	for _, id := range []manager.NodeID{"b", "c"} {
		if _, ok := cfg.Node(id); ok {
			t.Errorf("%s still a member:\n%s", id, cfg.Describe())
		}
	}
	if n, ok := cfg.Node("d"); !ok || n.State != manager.Failed || n.Standby {
		t.Errorf("d should stay a failed voter:\n%s", cfg.Describe())
	}
	user.mu.Lock()
	defer user.mu.Unlock()
	if !slices.Equal(user.msgs, []string{"hello"}) {
		t.Errorf("the user's delegate got %q, want only hello", user.msgs)
	}
}

// TestOnMember: the hook sees each member's metadata (this member's
// included) when first seen and when it changes, not on every update.
func TestOnMember(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	f := newFakeList(t, Options{Meta: Meta{Domain: "r1", Raft: "127.0.0.1:8300"}, OnMember: func(id manager.NodeID, m Meta) {
		mu.Lock()
		seen = append(seen, string(id)+"@"+m.Raft)
		mu.Unlock()
	}})
	f.join("b", Meta{Domain: "r2", Raft: "127.0.0.2:8300"})
	f.d.NotifyUpdate(f.node("b")) // unchanged: not reported again
	f.metas["b"] = Meta{Domain: "r2", Raft: "127.0.0.2:8301"}
	f.d.NotifyUpdate(f.node("b"))
	f.step(0, "b")
	mu.Lock()
	defer mu.Unlock()
	want := []string{"a@127.0.0.1:8300", "b@127.0.0.2:8300", "b@127.0.0.2:8301"}
	if !slices.Equal(seen, want) {
		t.Fatalf("OnMember saw %q, want %q", seen, want)
	}
}
