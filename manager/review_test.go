package manager

// Regression tests for an adversarial review of the votequorum options
// (wait_for_all, two_node, auto_tie_breaker, witnesses) and
// Snapshot/Restore. Each failed on the code as reviewed (f8d79be); the
// property harness behind them is model_test.go.

import (
	"testing"

	"github.com/lockstep/quorum/internal/suite"
)

func rids(s ...NodeID) []NodeID { return s }

// Finding 1. Reconfiguring while a configuration waits for all is judged
// against the all-voters quorums (leastQuorum = TotalWeight), so no joint
// phase is entered; OpAllSeen then relaxes the new configuration to plain
// majorities without being counted as a change of the quorum system (no
// Committed needed). Epoch 1's quorum {a b c} and epoch 3's {d e f} are
// disjoint, with epoch 2 never declared committed.
func TestReviewAllSeenAfterReconfigureWhileWaiting(t *testing.T) {
	nodes := []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d", Standby: true}, {ID: "e", Standby: true}, {ID: "f", Standby: true}}
	m, err := New(nil, nodes, Rule{WaitForAll: true})
	if err != nil {
		t.Fatal(err)
	}
	e1 := m.Config()
	a2 := m.Apply(Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{WaitForAll: true},
		Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "d"}, {ID: "e"}, {ID: "f"}}}})
	if a2.Status != OK {
		t.Fatalf("reconfigure: %v", a2)
	}
	a3 := m.Apply(Change{Op: OpAllSeen, Seen: rids("a", "b", "d", "e", "f")})
	if a3.Status != OK {
		return // refused while epoch 2 is uncommitted: fine
	}
	e3 := m.Config()
	if e1.IsQuorum(rids("a", "b", "c")) && e3.IsQuorum(rids("d", "e", "f")) {
		t.Fatalf("epoch 1 quorum {a b c} and epoch 3 quorum {d e f} are disjoint; epoch 2 (joint=%v) was never committed, and OpAllSeen answered %v", a2.Joint, a3)
	}
}

// A Byzantine wait_for_all cluster: every change of its voters is a joint
// phase (Intersect judges different Byzantine systems as not
// intersecting), so a joint phase can be waiting. d is swapped for e: d
// stays a member (a standby) voting in the outgoing half.
func waitingJoint(t *testing.T) *Manager {
	t.Helper()
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e", Standby: true}}, Rule{Model: Byzantine, WaitForAll: true})
	if err != nil {
		t.Fatal(err)
	}
	p := Proposal{Rule: Rule{Model: Byzantine, WaitForAll: true}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "e"}}}
	if a := m.Apply(Change{Op: OpReconfigure, Proposal: p}); a.Status != OK || !a.Joint {
		t.Fatalf("swap d for e: %v", a)
	}
	return m
}

// Finding 2a. The outgoing half's wait is kept in the unexported
// Quorum.waiting, which JSON drops: Snapshot -> MarshalBinary ->
// UnmarshalBinary -> Restore (and Store Save/Open) yields a manager that
// decides differently: quorate without the outgoing voter d although the
// configuration still waits for all voters of both halves.
func TestReviewSnapshotKeepsOutgoingWait(t *testing.T) {
	m := waitingJoint(t)
	set := rids("a", "b", "c", "e")
	before := m.Config().IsQuorum(set)
	b, err := m.Snapshot().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var snap Snapshot
	if err := snap.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	m2, err := Restore(nil, snap)
	if err != nil {
		t.Fatal(err)
	}
	if got := m2.Config().IsQuorum(set); got != before {
		t.Fatalf("after Snapshot/MarshalBinary/Restore IsQuorum(%v) = %v, before %v: the restored manager decides differently\n%s", set, got, before, m2.Config().Describe())
	}
}

// Finding 2b. OpAllSeen in a joint phase clears Config.Waiting but not the
// outgoing half's copied wait: the old voters all stay needed until
// OpLeaveJoint, though the docs say OpAllSeen ends the wait for good and
// the rule alone decides.
func TestReviewAllSeenEndsWaitInJointPhase(t *testing.T) {
	m := waitingJoint(t)
	if a := m.Apply(Change{Op: OpAllSeen, Seen: rids("a", "b", "c", "d", "e")}); a.Status != OK {
		t.Fatalf("all seen: %v", a)
	}
	if a := m.Apply(Change{Op: OpFail, ID: "d"}); a.Status != OK {
		t.Fatal(a)
	}
	c := m.Config()
	// Incoming: 4 of 4 (Byzantine needs 3); outgoing: 3 of 4 (needs 3).
	set := rids("a", "b", "c", "e")
	if !c.IsQuorum(set) {
		t.Fatalf("after OpAllSeen %v holds a quorum of both halves by the rule, yet IsQuorum is false\n%s", set, c.Describe())
	}
	if tol := c.Tolerance(); tol.Crash < 0 {
		t.Fatalf("only the outgoing d is down, yet Tolerance.Crash = %d\n%s", tol.Crash, c.Describe())
	}
}

// Finding 2c. Under the Byzantine rule every voter change is a joint
// phase whose outgoing half waits too, and Healthy never counts a Left
// outgoing voter nor, here, the failed one: a wait_for_all cluster whose
// voter never comes up can neither end the wait (OpAllSeen needs it) nor
// remove it (the documented remedy), nor change its rule: stuck for good.
func TestReviewByzantineWaitForAllCanRemoveDeadVoter(t *testing.T) {
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}, Rule{Model: Byzantine, WaitForAll: true})
	if err != nil {
		t.Fatal(err)
	}
	if a := m.Apply(Change{Op: OpFail, ID: "d"}); a.Status != OK {
		t.Fatal(a)
	}
	rm := m.Apply(Change{Op: OpRemove, ID: "d"})
	p := Proposal{Rule: Rule{Model: Byzantine}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}}}
	re := m.Apply(Change{Op: OpReconfigure, Proposal: p})
	if rm.Status != OK && re.Status != OK {
		t.Fatalf("d never came up; removing it: %v; reconfiguring without it: %v", rm, re)
	}
}

// Finding 3. TwoNode under a weighted rule with unequal weights: the
// documented tie-breaker (the lower ID, a) alone is no quorum, and the
// other voter alone is; "losing the tie-breaker stops the cluster" is the
// wrong way round, and Describe names a as the tie-breaker.
func TestReviewTwoNodeWeightedTieBreakerAlone(t *testing.T) {
	m, err := New(nil, []Node{{ID: "a", Weight: 1000}, {ID: "b", Weight: 1001}}, Rule{TwoNode: true, Weighted: true})
	if err != nil {
		return // refused: fine
	}
	if a := m.Apply(Change{Op: OpAllSeen, Seen: rids("a", "b")}); a.Status != OK {
		t.Fatal(a)
	}
	c := m.Config()
	if !c.IsQuorum(rids("a")) || c.IsQuorum(rids("b")) {
		t.Fatalf("two_node, tie-breaker %s: IsQuorum(a) = %v, IsQuorum(b) = %v; the docs say the tie-breaker alone is the quorum\n%s",
			c.Quorum().tieBreaker(), c.IsQuorum(rids("a")), c.IsQuorum(rids("b")), c.Describe())
	}
}

// Finding 4. TwoNode with the domain rule: the tie-breaker alone never
// holds a majority of a majority of domains, so neither voter alone is a
// quorum and the cluster does not survive the other voter's loss, which is
// TwoNode's whole guarantee. The same rule makes AutoTieBreaker/TieBreaker
// win no even split.
func TestReviewTwoNodeDomainsSurvivesLoss(t *testing.T) {
	for _, nodes := range [][]Node{
		{{ID: "a"}, {ID: "b"}},
		{{ID: "a", Domain: "r1"}, {ID: "b", Domain: "r1"}},
		{{ID: "a", Domain: "r1"}, {ID: "b", Domain: "r2"}},
	} {
		m, err := New(nil, nodes, Rule{TwoNode: true, Domains: true})
		if err != nil {
			continue // refused: fine
		}
		if a := m.Apply(Change{Op: OpAllSeen, Seen: rids("a", "b")}); a.Status != OK {
			t.Fatal(a)
		}
		c := m.Config()
		if !c.IsQuorum(rids("a")) {
			t.Fatalf("two_node with domains %+v: the tie-breaker a alone is no quorum: the cluster cannot survive b's loss\n%s", nodes, c.Describe())
		}
	}
}

// Finding 5. Nothing stops a quorum made of witnesses only: with TwoNode
// and the witness as the lower ID, the witness alone is a quorum, so a
// write it alone acknowledges is committed with no data copy anywhere;
// every later read of that object is NoCopy for good.
func TestReviewWitnessesAloneAreNoQuorum(t *testing.T) {
	for _, tc := range []struct {
		nodes []Node
		rule  Rule
		alone []NodeID
	}{
		{[]Node{{ID: "a", Witness: true}, {ID: "b"}}, Rule{TwoNode: true}, rids("a")},
		{[]Node{{ID: "a"}, {ID: "w1", Witness: true}, {ID: "w2", Witness: true}}, Rule{}, rids("w1", "w2")},
	} {
		m, err := New(nil, tc.nodes, tc.rule)
		if err != nil {
			continue // refused: fine
		}
		m.Apply(Change{Op: OpAllSeen, Seen: m.Config().Healthy()})
		if c := m.Config(); c.IsQuorum(tc.alone) {
			t.Fatalf("%s: the witnesses %v alone are a quorum: writes they acknowledge keep no data\n%s", tc.rule, tc.alone, c.Describe())
		}
	}
}

// Finding 5, continued: LastManStanding under AutoTieBreaker, the
// witness having the lowest ID, shrinks a two-data-plus-witness cluster to
// the witness alone: every write is then "committed" on no data at all.
func TestReviewLastManStandingKeepsADataVoter(t *testing.T) {
	if _, err := New(nil, []Node{{ID: "a", Witness: true}, {ID: "b"}, {ID: "c"}}, Rule{AutoTieBreaker: true}); err == nil {
		t.Fatal("a witness as the (auto) tie-breaker was accepted")
	}
	m, err := New(nil, []Node{{ID: "b"}, {ID: "c"}, {ID: "z", Witness: true}}, Rule{AutoTieBreaker: true})
	if err != nil {
		t.Fatal(err)
	}
	var gone []NodeID
	for _, id := range rids("c", "b") {
		if a := m.Apply(Change{Op: OpFail, ID: id}); a.Status != OK {
			t.Fatal(a)
		}
		gone = append(gone, id)
		for {
			p, _, ok := m.Config().LastManStanding(gone, 1)
			if !ok {
				break
			}
			if adj := m.Adjust(0, p, nil); adj.Answer.Status != OK {
				break
			}
		}
	}
	c := m.Config()
	for _, v := range c.Quorum().Voters {
		if n, _ := c.Node(v.ID); !n.Witness {
			return
		}
	}
	t.Fatalf("last man standing left only witnesses voting:\n%s", c.Describe())
}

// Finding 6. Restore accepts a snapshot whose Committed is beyond its
// epoch (Manager.Committed refuses the same), which disables the
// one-pending-change rule: two voter changes in a row, the first never
// committed.
func TestReviewRestoreRefusesCommittedBeyondEpoch(t *testing.T) {
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d", Standby: true}, {ID: "e", Standby: true}}, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	snap := m.Snapshot()
	snap.Committed = 1000
	m2, err := Restore(nil, snap)
	if err != nil {
		return // refused: fine
	}
	add := func(id NodeID) Answer {
		p := m2.Config().Proposal()
		p.Voters = append(p.Voters, Vote{ID: id})
		return m2.Apply(Change{Op: OpReconfigure, Proposal: p})
	}
	if a := add("d"); a.Status != OK {
		t.Fatal(a)
	}
	if a := add("e"); a.Status == OK {
		t.Fatalf("a snapshot committed at epoch %d of %d let a second voter change through before the first was committed: %v", snap.Committed, snap.Config.Epoch, a)
	}
}

// Finding 7 (documentation). Decision.Leader is documented as "never a
// witness", but a NoQuorum decision names the witness at the chain's head.
func TestReviewNoQuorumLeaderIsNoWitness(t *testing.T) {
	c, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "w", Witness: true}}, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := c.Config().Decide(suite.Letters("C/B"), rids("w"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Verdict == NoQuorum && d.LeaderNode == "w" {
		t.Fatalf("a no-quorum decision names the witness as Leader: %+v", d)
	}
}

// Finding 8 (documentation). Tolerance.Crash is documented as "exactly
// Healthy - Quorum" without weights or domains; with a tie-breaker it is
// less (and rightly so: losing the tie-breaker and one more of four
// voters leaves no quorum).
func TestReviewToleranceDocWithTieBreaker(t *testing.T) {
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}, Rule{AutoTieBreaker: true})
	if err != nil {
		t.Fatal(err)
	}
	tol := m.Config().Tolerance()
	if tol.Crash != 1 || tol.Healthy-tol.Quorum != 2 {
		t.Fatalf("4 voters, auto tie-breaker: Crash %d (want 1: the tie-breaker and one more break it), Healthy %d - Quorum %d", tol.Crash, tol.Healthy, tol.Quorum)
	}
	plain, _ := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}, Rule{})
	if tol := plain.Config().Tolerance(); tol.Crash != tol.Healthy-tol.Quorum {
		t.Fatalf("no weights, domains or tie-breaker: Crash %d, want Healthy %d - Quorum %d exactly", tol.Crash, tol.Healthy, tol.Quorum)
	}
}
