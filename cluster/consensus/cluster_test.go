package consensus

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lockstep/quorum/manager"
)

func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("a multi-member TCP cluster: not with -short")
	}
}

func adjustOK(t testing.TB, nodes []*Node, p manager.Proposal) manager.Answer {
	t.Helper()
	var ans manager.Answer
	waitFor(t, 20*time.Second, fmt.Sprintf("adjust to %v", p.Voters), func() error {
		l := leaderOf(nodes)
		if l == nil {
			return fmt.Errorf("no leader")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		if ans, err = l.Adjust(ctx, p); err != nil {
			t.Logf("adjust through %s: %v (retrying)", l.ID(), err)
			return err
		}
		// AlreadyApplied: an earlier try got the proposal in before
		// failing (a leader change); Reconcile finishes raft's part.
		if ans.Status != manager.OK && ans.Status != manager.AlreadyApplied {
			return fmt.Errorf("%s: %s", ans.Status, ans.Reason)
		}
		return nil
	})
	return ans
}

// The leader is killed: a new one is elected with every committed change,
// keeps committing, and the old one restarted from its data directory
// (on another port) comes back with the configuration, without
// bootstrapping again. The members open their own TCP transports.
func TestClusterLeaderFailover(t *testing.T) {
	skipShort(t)
	rec := newRecorder()
	c := newTCPCluster(t, rec, "n1", "n2", "n3")
	c.native = true
	for _, id := range c.names {
		c.start(id, 3)
	}
	l := waitLeader(t, c.live())
	var last manager.Answer
	for _, ch := range []manager.Change{{Op: manager.OpSuspect, ID: "n1"}, {Op: manager.OpRecover, ID: "n1"}, {Op: manager.OpSuspect, ID: "n2"}} {
		last = applyOK(t, c.live(), ch)
	}
	committed := l.Config()
	if committed.Epoch != last.Epoch {
		t.Fatalf("the leader is at epoch %d after an answer for %d", committed.Epoch, last.Epoch)
	}

	old := l.ID()
	c.stop(old)
	rest := c.live()
	nl := waitLeader(t, rest)
	if nl.ID() == old {
		t.Fatal("the stopped member leads")
	}
	ctx := context.Background()
	cfg, err := nl.ReadConfig(ctx)
	if err != nil || cfg.Epoch < committed.Epoch {
		t.Fatalf("the new leader reads epoch %d (%v), the old one committed %d", cfg.Epoch, err, committed.Epoch)
	}
	applyOK(t, rest, manager.Change{Op: manager.OpFail, ID: old})

	back := c.start(old, 3)
	if !back.existing {
		t.Fatal("the restarted member found no raft state")
	}
	waitFor(t, 15*time.Second, "the restarted member catches up", func() error { return converged(c.live()) })
	applyOK(t, c.live(), manager.Change{Op: manager.OpRecover, ID: old})
	waitFor(t, 10*time.Second, "converged", func() error { return converged(c.live()) })
	waitFor(t, 10*time.Second, "raft has the restarted member's new address", func() error {
		l := leaderOf(c.live())
		if l == nil {
			return fmt.Errorf("no leader")
		}
		f := l.raft.GetConfiguration()
		if err := f.Error(); err != nil {
			return err
		}
		for _, s := range f.Configuration().Servers {
			if manager.NodeID(s.ID) == old && string(s.Address) != back.Addr() {
				return fmt.Errorf("raft has %s at %s, it is at %s", old, s.Address, back.Addr())
			}
		}
		return nil
	})
	if back.bootstrap {
		t.Fatal("a member with raft state bootstrapped")
	}
	rec.check(t)
}

// A minority holding the old leader commits nothing and applies nothing
// new; the majority replaces the cut-off leader with a standby; healing
// brings everyone to the majority's configuration.
func TestClusterMinorityPartition(t *testing.T) {
	skipShort(t)
	rec := newRecorder()
	c := newTCPCluster(t, rec, "n1", "n2", "n3", "n4", "n5", "s")
	for _, id := range c.names[:5] {
		c.start(id, 5)
	}
	l := waitLeader(t, c.live())
	s := c.start("s", 0)
	ctx := context.Background()
	waitFor(t, 10*time.Second, "s joins", func() error {
		_, err := leaderOrSelf(c.live(), l).Join(ctx, "s", s.Addr())
		return err
	})
	waitFor(t, 10*time.Second, "s a raft non-voter everywhere", func() error { return converged(c.live()) })

	l = waitLeader(t, c.live())
	var other manager.NodeID
	for _, id := range c.names[:5] {
		if id != l.ID() {
			other = id
			break
		}
	}
	minority := []manager.NodeID{l.ID(), other}
	var majority []manager.NodeID
	for _, id := range c.names {
		if !slices.Contains(minority, id) {
			majority = append(majority, id)
		}
	}
	atCut := l.Config().Epoch
	c.net.partition(serverIDs(minority), c.all())

	// The cut-off leader cannot commit.
	short, cancel := context.WithTimeout(ctx, time.Second)
	if ans, err := l.Apply(short, manager.Change{Op: manager.OpFail, ID: majority[0]}); err == nil {
		t.Fatalf("the minority leader committed %+v", ans)
	}
	cancel()

	maj := c.live(majority...)
	waitLeader(t, maj)
	for _, id := range minority {
		applyOK(t, maj, manager.Change{Op: manager.OpFail, ID: id})
	}
	var voters []manager.NodeID
	for _, id := range c.names {
		if id != l.ID() {
			voters = append(voters, id)
		}
	}
	adjustOK(t, maj, proposal(voters...))
	waitFor(t, 10*time.Second, "the majority converged", func() error { return converged(maj) })
	for _, id := range minority {
		n := c.nodes[id]
		if e := n.Config().Epoch; e > atCut {
			t.Fatalf("minority member %s applied epoch %d, beyond %d at the cut", id, e, atCut)
		}
		if es := rec.epochs(string(id) + "#1"); len(es) > 0 && es[len(es)-1] > atCut {
			t.Fatalf("minority member %s applied epochs %v, beyond %d", id, es, atCut)
		}
	}

	c.net.heal()
	waitFor(t, 20*time.Second, "everyone converged after healing", func() error { return converged(c.live()) })
	cfg := c.nodes["n1"].Config()
	if got := cfg.Quorum().IDs(); !slices.Equal(got, voters) {
		t.Fatalf("voters after healing %v, want %v", got, voters)
	}
	if v, _ := raftVoters(c.nodes[l.ID()]); slices.Contains(v, l.ID()) {
		t.Fatalf("the replaced voter %s is still a raft voter: %v", l.ID(), v)
	}
	rec.check(t)
}

// leaderOrSelf returns the single leader among nodes, or fallback.
func leaderOrSelf(nodes []*Node, fallback *Node) *Node {
	if l := leaderOf(nodes); l != nil {
		return l
	}
	return fallback
}

// A member stopped and restarted from its data directory comes back with
// the configuration; one wiped is removed and rejoins as a new member.
func TestClusterRestartAndWipe(t *testing.T) {
	skipShort(t)
	rec := newRecorder()
	c := newTCPCluster(t, rec, "n1", "n2", "n3")
	for _, id := range c.names {
		c.start(id, 3)
	}
	l := waitLeader(t, c.live())
	var followers []manager.NodeID
	for _, id := range c.names {
		if id != l.ID() {
			followers = append(followers, id)
		}
	}
	f, w := followers[0], followers[1]

	c.stop(f)
	applyOK(t, c.live(), manager.Change{Op: manager.OpSuspect, ID: f})
	back := c.start(f, 3)
	waitFor(t, 15*time.Second, "the restarted member catches up", func() error { return converged(c.live()) })
	if n, _ := back.Config().Node(f); !back.existing || n.State != manager.Suspect {
		t.Fatalf("restarted: existing %v, its own state %v", back.existing, n.State)
	}
	applyOK(t, c.live(), manager.Change{Op: manager.OpRecover, ID: f})

	// w loses its disk: it leaves the configuration and comes back new.
	c.stop(w)
	c.wipe(w)
	two := []manager.NodeID{l.ID(), f}
	slices.Sort(two)
	adjustOK(t, c.live(), proposal(two...))
	applyOK(t, c.live(), manager.Change{Op: manager.OpRemove, ID: w})
	waitFor(t, 10*time.Second, "w gone from raft", func() error { return converged(c.live()) })
	fresh := c.start(w, 0)
	if fresh.existing {
		t.Fatal("the wiped member found raft state")
	}
	ctx := context.Background()
	waitFor(t, 10*time.Second, "w joins again", func() error {
		l := leaderOf(c.live())
		if l == nil {
			return fmt.Errorf("no leader")
		}
		_, err := l.Join(ctx, w, fresh.Addr())
		return err
	})
	adjustOK(t, c.live(), proposal(ids("n1", "n2", "n3")...))
	waitFor(t, 15*time.Second, "everyone converged", func() error { return converged(c.live()) })
	if got := fresh.Config().Quorum().IDs(); !slices.Equal(got, ids("n1", "n2", "n3")) {
		t.Fatalf("the rejoined member holds voters %v", got)
	}
	rec.check(t)
}
