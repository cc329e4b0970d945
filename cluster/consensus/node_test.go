package consensus

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// inmemCluster starts members on raft's in-memory transport, all
// connected, in memory (no DataDir), each told of the others by
// Discovered once started.
func inmemCluster(t *testing.T, expect int, names ...string) ([]*Node, *recorder) {
	t.Helper()
	rec := newRecorder()
	var nodes []*Node
	var trans []*raft.InmemTransport
	for _, name := range names {
		_, tr := raft.NewInmemTransport(raft.ServerAddress(name))
		for i, other := range trans {
			tr.Connect(other.LocalAddr(), other)
			other.Connect(tr.LocalAddr(), tr)
			_ = i
		}
		trans = append(trans, tr)
		opts := fastOptions(manager.NodeID(name))
		opts.Transport, opts.BootstrapExpect, opts.OnApply = tr, expect, rec.hook(name)
		n, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.Shutdown() })
		nodes = append(nodes, n)
	}
	return nodes, rec
}

func discoverAll(t *testing.T, nodes []*Node) {
	t.Helper()
	for _, a := range nodes {
		for _, b := range nodes {
			if err := a.Discovered(b.ID(), b.Addr()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Nothing is quorate nor proposed until BootstrapExpect members are
// known; then every member gets epoch 1 with them all as voters.
func TestBootstrapExpect(t *testing.T) {
	nodes, rec := inmemCluster(t, 3, "a", "b", "c")
	// Two of three know each other: still nothing.
	for _, x := range nodes[:2] {
		for _, y := range nodes[:2] {
			if err := x.Discovered(y.ID(), y.Addr()); err != nil {
				t.Fatal(err)
			}
		}
	}
	time.Sleep(500 * time.Millisecond) // several election timeouts
	for _, n := range nodes {
		cfg := n.Config()
		if cfg.Epoch != 0 || len(cfg.Quorum().Voters) != 0 || n.Leads() {
			t.Fatalf("%s before bootstrap: epoch %d, voters %v, leads %v", n.ID(), cfg.Epoch, cfg.Quorum().IDs(), n.Leads())
		}
		if _, err := n.Decide(nil, nil); !errors.Is(err, ErrNotBootstrapped) {
			t.Fatalf("%s: Decide before bootstrap: %v", n.ID(), err)
		}
		if _, err := n.Apply(context.Background(), manager.Change{Op: manager.OpFail, ID: "a"}); !errors.Is(err, ErrNotLeader) {
			t.Fatalf("%s: Apply before bootstrap: %v", n.ID(), err)
		}
	}
	discoverAll(t, nodes)
	waitLeader(t, nodes)
	waitFor(t, 10*time.Second, "epoch 1 everywhere", func() error {
		if err := converged(nodes); err != nil {
			return err
		}
		for _, n := range nodes {
			if cfg := n.Config(); cfg.Epoch != 1 || !slices.Equal(cfg.Quorum().IDs(), ids("a", "b", "c")) {
				return fmt.Errorf("%s: epoch %d voters %v", n.ID(), cfg.Epoch, cfg.Quorum().IDs())
			}
		}
		return nil
	})
	rec.check(t)
}

// A member that has seen more members than expected never bootstraps.
func TestBootstrapExpectTooMany(t *testing.T) {
	nodes, _ := inmemCluster(t, 2, "a", "b", "c")
	n := nodes[0]
	for _, o := range nodes { // a learns of three before it could act on two
		n.mu.Lock()
		n.addrs[o.ID()] = raft.ServerAddress(o.Addr())
		n.mu.Unlock()
	}
	n.maybeBootstrap()
	n.mu.Lock()
	over, boot := n.overExpect, n.bootstrap
	n.mu.Unlock()
	if !over || boot {
		t.Fatalf("overExpect %v bootstrap %v, want true false", over, boot)
	}
	if err := n.Discovered("a", n.Addr()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if n.Leads() || n.raft.LastIndex() != 0 {
		t.Fatalf("bootstrapped anyway: last index %d", n.raft.LastIndex())
	}
}

// Followers refuse every change and linearizable read, naming the leader.
func TestFollowerRefuses(t *testing.T) {
	nodes, _ := inmemCluster(t, 3, "a", "b", "c")
	discoverAll(t, nodes)
	l := waitLeader(t, nodes)
	ctx := context.Background()
	for _, n := range nodes {
		if n == l {
			continue
		}
		waitFor(t, 5*time.Second, "the follower knows the leader", func() error {
			if _, id := n.Leader(); id != l.ID() {
				return fmt.Errorf("leader %q", id)
			}
			return nil
		})
		_, errApply := n.Apply(ctx, manager.Change{Op: manager.OpFail, ID: "a"})
		_, errAdjust := n.Adjust(ctx, proposal(ids("a", "b")...))
		_, errRead := n.ReadConfig(ctx)
		_, errJoin := n.Join(ctx, "d", "d")
		errReconcile := n.Reconcile(ctx)
		for what, err := range map[string]error{"Apply": errApply, "Adjust": errAdjust, "ReadConfig": errRead, "Join": errJoin, "Reconcile": errReconcile} {
			if !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), string(l.ID())) {
				t.Errorf("%s on follower %s: %v, want ErrNotLeader naming %s", what, n.ID(), err, l.ID())
			}
		}
	}
	if _, err := l.Apply(ctx, manager.Change{Op: manager.OpBootstrap}); err == nil || errors.Is(err, ErrNotLeader) {
		t.Errorf("Apply of a bootstrap op: %v, want an error naming the op", err)
	}
	cfg, err := l.ReadConfig(ctx)
	if err != nil || cfg.Epoch != 1 {
		t.Fatalf("ReadConfig on the leader: epoch %d, %v", cfg.Epoch, err)
	}
}

// Adjust swaps a voter for a standby through a joint phase, raft's voters
// following; an adjustment whose raft step fails is rolled back.
func TestAdjustAndRollback(t *testing.T) {
	nodes, rec := inmemCluster(t, 3, "a", "b", "c", "d")
	discoverAll(t, nodes[:3]) // d starts with the others but is not expected
	l := waitLeader(t, nodes[:3])
	ctx := context.Background()
	for _, n := range nodes[:3] {
		if err := n.Discovered("d", "d"); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "d joins", func() error {
		_, err := leaderOrSelf(nodes, l).Join(ctx, "d", "d")
		return err
	})
	waitFor(t, 5*time.Second, "d a raft non-voter", func() error { return converged(nodes) })

	if ans := adjustOK(t, nodes, proposal(ids("a", "b", "d")...)); ans.Joint {
		t.Fatalf("Adjust to a b d: %+v", ans)
	}
	waitFor(t, 5*time.Second, "a b d voters everywhere", func() error { return converged(nodes) })
	if v, s := raftVoters(l); !slices.Equal(v, ids("a", "b", "d")) || !slices.Equal(s, ids("c")) {
		t.Fatalf("raft voters %v non-voters %v", v, s)
	}
	joint := false
	for _, e := range l.fsm.manager().History() {
		joint = joint || e.Joint
	}
	if !joint {
		t.Fatal("swapping a voter of three went through no joint phase")
	}

	// e is a member without a raft address: making it a voter cannot
	// follow in raft, so the adjustment rolls back.
	if ans := applyOK(t, nodes, manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: "e", Standby: true}}); ans.Status != manager.OK {
		t.Fatalf("add e: %+v", ans)
	}
	var before manager.Config
	var ans manager.Answer
	waitFor(t, 10*time.Second, "an adjustment answered", func() error {
		if l = leaderOf(nodes); l == nil {
			return fmt.Errorf("no leader")
		}
		before = l.Config()
		var err error
		ans, err = l.Adjust(ctx, proposal(ids("a", "b", "e")...))
		if errors.Is(err, ErrNotLeader) {
			return err
		}
		if err != nil || ans.Status != manager.RolledBack {
			t.Fatalf("Adjust to a voter without an address: %+v %v, want RolledBack", ans, err)
		}
		return nil
	})
	after := l.Config()
	if !after.Quorum().Equal(before.Quorum()) || after.Joint() || after.Epoch <= before.Epoch {
		t.Fatalf("after the rollback:\n%s\nbefore:\n%s", after.Describe(), before.Describe())
	}
	if v, _ := raftVoters(l); !slices.Equal(v, ids("a", "b", "d")) {
		t.Fatalf("raft voters after the rollback: %v", v)
	}

	applyOK(t, nodes, manager.Change{Op: manager.OpRemove, ID: "e"})
	waitFor(t, 5*time.Second, "everyone converged", func() error { return converged(nodes) })
	rec.check(t)
}

// Reconcile repairs raft changes made behind the manager's back.
func TestReconcileRepairsDrift(t *testing.T) {
	nodes, rec := inmemCluster(t, 3, "a", "b", "c")
	discoverAll(t, nodes)
	waitLeader(t, nodes)
	ctx := context.Background()
	// Drift: raft changed behind the manager's back (a voter other than
	// the leader demoted, a stranger added), as a crash between an entry
	// and its raft change would leave it.
	waitFor(t, 10*time.Second, "drift repaired", func() error {
		l := leaderOf(nodes)
		if l == nil {
			return fmt.Errorf("no leader")
		}
		victim := manager.NodeID("a")
		if l.ID() == victim {
			victim = "b"
		}
		if err := l.raft.DemoteVoter(raft.ServerID(victim), 0, time.Second).Error(); err != nil {
			return err
		}
		if err := l.raft.AddNonvoter("stray", "stray", 0, time.Second).Error(); err != nil {
			return err
		}
		if err := l.Reconcile(ctx); err != nil {
			return err
		}
		return consistent(l)
	})
	waitFor(t, 5*time.Second, "everyone converged", func() error { return converged(nodes) })
	rec.check(t)
}

// A member that bootstraps a different list after the others formed a
// cluster never leads nor gets a configuration, and the cluster is
// unaffected: its members refuse a candidate with an older log while they
// hear from their leader.
func TestBootstrapDifferentListLater(t *testing.T) {
	nodes, rec := inmemCluster(t, 3, "a", "b", "c", "d")
	abc, d := nodes[:3], nodes[3]
	discoverAll(t, abc)
	waitLeader(t, abc)
	waitFor(t, 5*time.Second, "a b c converged", func() error { return converged(abc) })
	for _, n := range []*Node{nodes[1], nodes[2], d} { // d sees b, c and itself: three
		if err := d.Discovered(n.ID(), n.Addr()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, "d bootstraps its own list", func() error {
		if d.raft.LastIndex() == 0 {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	time.Sleep(time.Second) // many election timeouts of d's
	if d.Leads() || d.Config().Epoch != 0 {
		t.Fatalf("d leads %v, holds epoch %d", d.Leads(), d.Config().Epoch)
	}
	if err := converged(abc); err != nil {
		t.Fatal(err)
	}
	if cfg := nodes[0].Config(); !slices.Equal(cfg.Quorum().IDs(), ids("a", "b", "c")) {
		t.Fatalf("the cluster's voters: %v", cfg.Quorum().IDs())
	}
	applyOK(t, abc, manager.Change{Op: manager.OpSuspect, ID: "c"})
	rec.check(t)
}

// Bad options are errors naming the option.
func TestOpenRefusesBadOptions(t *testing.T) {
	_, tr := raft.NewInmemTransport("x")
	for name, opts := range map[string]Options{
		"Options.ID":              {ID: "has space", Transport: tr},
		"Options.BootstrapExpect": {ID: "x", Transport: tr, BootstrapExpect: -1},
		"Options.Rule":            {ID: "x", Transport: tr, Rule: manager.Rule{Model: 9}},
		"BindAddr or Transport":   {ID: "x"},
	} {
		if n, err := Open(opts); err == nil || !strings.Contains(err.Error(), name) {
			if n != nil {
				n.Shutdown()
			}
			t.Errorf("%s: %v, want an error naming it", name, err)
		}
	}
}
