package manager

import (
	"fmt"
	"strings"
	"testing"
)

// Every order of failures of clusters of 2 to 5 voters, with and without a
// tie-breaker, each failure followed by last-man-standing steps until none
// is possible: every step removes one gone voter and passes Adjust; old and
// new quorums intersect or a joint phase bridged them; no step goes below
// the floor; and a cluster stops shrinking only at the floor or when its
// healthy voters hold no quorum.
func TestLastManStandingEveryFailureOrder(t *testing.T) {
	for n := 2; n <= 5; n++ {
		ids := universe(n)
		for _, tb := range []NodeID{"", ids[0]} {
			for _, floor := range []int{1, 2} {
				permutations(ids, func(order []NodeID) {
					lastManRun(t, ids, tb, floor, order)
				})
			}
		}
	}
}

func lastManRun(t *testing.T, ids []NodeID, tb NodeID, floor int, order []NodeID) {
	t.Helper()
	var nodes []Node
	for _, id := range ids {
		nodes = append(nodes, Node{ID: id})
	}
	m, err := New(nil, nodes, Rule{TieBreaker: tb})
	if err != nil {
		t.Fatal(err)
	}
	what := fmt.Sprintf("voters %v, tie-breaker %q, floor %d, failing %v", ids, tb, floor, order)
	var gone []NodeID
	for _, id := range order[:len(order)-1] { // one voter always survives
		if a := m.Apply(Change{Op: OpFail, ID: id}); a.Status != OK && a.Status != AlreadyApplied {
			return // a failure refused (it would leave no quorum): the run ends
		}
		gone = append(gone, id)
		for {
			cfg := m.Config()
			p, why, ok := cfg.LastManStanding(gone, floor)
			if !ok {
				h := cfg.Healthy()
				if len(cfg.Quorum().Voters) > max(floor, 1) && cfg.IsQuorum(h) && hasGoneVoter(cfg, gone) {
					t.Fatalf("%s: no step (%s) though %v are quorate", what, why, h)
				}
				break
			}
			before := cfg.Quorum()
			adj := m.Adjust(0, p, nil)
			if adj.Answer.Status != OK {
				t.Fatalf("%s: Adjust to %v: %v", what, p.Voters, adj.Answer)
			}
			after := m.Config().Quorum()
			if len(after.Voters) != len(before.Voters)-1 || len(after.Voters) < floor {
				t.Fatalf("%s: %d voters to %d (floor %d)", what, len(before.Voters), len(after.Voters), floor)
			}
			if !Intersect(before, after) && !adj.Joint {
				t.Fatalf("%s: %v to %v with disjoint quorums and no joint phase", what, before.IDs(), after.IDs())
			}
		}
	}
}

func hasGoneVoter(cfg Config, gone []NodeID) bool {
	for _, id := range gone {
		if cfg.Quorum().Has(id) {
			return true
		}
	}
	return false
}

// permutations calls f with every order of ids.
func permutations(ids []NodeID, f func([]NodeID)) {
	var rec func(k int)
	p := append([]NodeID(nil), ids...)
	rec = func(k int) {
		if k == len(p) {
			f(p)
			return
		}
		for i := k; i < len(p); i++ {
			p[k], p[i] = p[i], p[k]
			rec(k + 1)
			p[k], p[i] = p[i], p[k]
		}
	}
	rec(0)
}

// The two ends of a shrinking cluster: without a tie-breaker two voters
// stay two (one alone is no quorum of two); with one held by the survivor
// they shrink to one.
func TestLastManStandingLastTwo(t *testing.T) {
	for _, tb := range []NodeID{"", "a"} {
		m := newManager(t, Rule{TieBreaker: tb}, "a b c")
		m.Apply(Change{Op: OpFail, ID: "c"})
		p, _, ok := m.Config().LastManStanding(ids("c"), 1)
		if !ok || m.Adjust(0, p, nil).Answer.Status != OK {
			t.Fatalf("tie-breaker %q: 3 to 2: %v", tb, ok)
		}
		m.Apply(Change{Op: OpFail, ID: "b"})
		p, why, ok := m.Config().LastManStanding(ids("b c"), 1)
		switch {
		case tb == "" && (ok || !strings.Contains(why, "hold no quorum")):
			t.Fatalf("2 to 1 without a tie-breaker: ok %v (%s)", ok, why)
		case tb == "a" && !ok:
			t.Fatalf("2 to 1 with a's tie-breaker: %s", why)
		case tb == "a":
			if adj := m.Adjust(0, p, nil); adj.Answer.Status != OK || len(adj.After.Voters) != 1 {
				t.Fatalf("2 to 1 with a's tie-breaker: %v", adj.Answer)
			}
		}
	}
	m := newManager(t, Rule{MinVoters: 3}, "a b c d")
	m.Apply(Change{Op: OpFail, ID: "d"})
	p, _, ok := m.Config().LastManStanding(ids("d"), 1)
	if !ok || m.Adjust(0, p, nil).Answer.Status != OK {
		t.Fatal("4 to 3 with MinVoters 3")
	}
	m.Apply(Change{Op: OpFail, ID: "c"})
	if _, why, ok := m.Config().LastManStanding(ids("c d"), 1); ok || !strings.Contains(why, "floor of 3") {
		t.Fatalf("below MinVoters: ok %v (%s)", ok, why)
	}
}
