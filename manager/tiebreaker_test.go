package manager

import (
	"math/bits"
	"strings"
	"testing"
)

// withTieBreaker returns q with voter i as its tie-breaker.
func withTieBreaker(t *testing.T, q Quorum, i int) Quorum {
	t.Helper()
	r := q.Rule
	r.TieBreaker = q.Voters[i].ID
	tq, err := NewQuorum(r, q.Voters)
	if err != nil {
		t.Fatal(err)
	}
	return tq
}

// Every system of up to 7 equal voters, and random weighted ones, with
// each voter as tie-breaker: no two disjoint quorums; of every even split
// exactly the half holding the tie-breaker is a quorum; MinSize is the
// smallest quorum.
func TestTieBreakerExhaustive(t *testing.T) {
	rng, seed := newRand(t)
	ids := universe(7)
	var systems []Quorum
	for n := 1; n <= len(ids); n++ {
		var voters []Voter
		for _, id := range ids[:n] {
			voters = append(voters, Voter{ID: id, Weight: One})
		}
		q, err := NewQuorum(Rule{}, voters)
		if err != nil {
			t.Fatal(err)
		}
		systems = append(systems, q)
	}
	for range suiteRounds(300) {
		r := randomRule(rng, false)
		systems = append(systems, randomQuorum(rng, ids, r))
	}
	splits := 0
	for si, base := range systems {
		for i := range base.Voters {
			q := withTieBreaker(t, base, i)
			qm := quorumMasks(ids, q.IsQuorum)
			if a, b, found := disjoint(ids, qm, qm); found {
				t.Fatalf("seed %d system %d %v: disjoint quorums %v and %v", seed, si, q, a, b)
			}
			smallest := len(ids) + 1
			tb := uint32(1) << slicesIndex(ids, q.Rule.TieBreaker)
			all := voterMask(ids, q)
			for m, ok := range qm {
				if ok {
					smallest = min(smallest, bits.OnesCount32(uint32(m)))
				}
				half := uint32(m)
				if half&^all != 0 || 2*q.Tally(subset(ids, half)).Weight != q.TotalWeight() || q.Rule.Domains {
					continue
				}
				// An even split of the voters: exactly the half with the tie-breaker wins.
				splits++
				other := all &^ half
				if qm[half] != (half&tb != 0) || qm[other] != (other&tb != 0) {
					t.Fatalf("seed %d system %d %v: split %v / %v quorate %v / %v", seed, si, q, subset(ids, half), subset(ids, other), qm[half], qm[other])
				}
			}
			if got := q.MinSize(); got != smallest && !(q.Rule.Domains && got == smallest+1) {
				t.Fatalf("seed %d system %d %v: MinSize %d, smallest quorum %d", seed, si, q, got, smallest)
			}
		}
	}
	if splits == 0 {
		t.Fatal("no even split was checked")
	}
}

// slicesIndex is the position of id in ids.
func slicesIndex(ids []NodeID, id NodeID) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

// voterMask is the subset of ids that are q's voters.
func voterMask(ids []NodeID, q Quorum) uint32 {
	var m uint32
	for i, id := range ids {
		if q.Has(id) {
			m |= 1 << i
		}
	}
	return m
}

// Two voters with a tie-breaker: it alone is a quorum, the other is not
// (votequorum's two_node, safe without fencing).
func TestTieBreakerTwoNodes(t *testing.T) {
	q, err := NewQuorum(Rule{TieBreaker: "a"}, []Voter{{ID: "a", Weight: One}, {ID: "b", Weight: One}})
	if err != nil {
		t.Fatal(err)
	}
	if !q.IsQuorum([]NodeID{"a"}) || q.IsQuorum([]NodeID{"b"}) || q.MinSize() != 1 {
		t.Fatalf("two nodes, tie-breaker a: {a} %v, {b} %v, MinSize %d", q.IsQuorum([]NodeID{"a"}), q.IsQuorum([]NodeID{"b"}), q.MinSize())
	}
	if !strings.Contains(q.Rule.String(), "tie-breaker a") {
		t.Fatalf("rule %q does not name the tie-breaker", q.Rule)
	}
}

func TestTieBreakerValidation(t *testing.T) {
	voters := []Voter{{ID: "a", Weight: One}, {ID: "b", Weight: One}}
	if _, err := NewQuorum(Rule{TieBreaker: "z"}, voters); err == nil || !strings.Contains(err.Error(), "not a voter") {
		t.Errorf("a tie-breaker that is not a voter: %v", err)
	}
	if _, err := NewQuorum(Rule{Model: Byzantine, TieBreaker: "a"}, voters); err == nil || !strings.Contains(err.Error(), "crash rule") {
		t.Errorf("a tie-breaker under the Byzantine rule: %v", err)
	}
	// A change that drops the tie-breaker from the voters must name another.
	m := newManager(t, Rule{TieBreaker: "a"}, "a b c d")
	if a := m.Apply(Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{TieBreaker: "a"}, Voters: []Vote{{ID: "b"}, {ID: "c"}, {ID: "d"}}}}); a.Status != Refused || !strings.Contains(a.Reason, "not a voter") {
		t.Errorf("dropping the tie-breaker: %+v", a)
	}
	if a := m.Apply(Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{TieBreaker: "b"}, Voters: []Vote{{ID: "b"}, {ID: "c"}, {ID: "d"}}}}); a.Status != OK {
		t.Errorf("dropping a and naming b: %+v", a)
	}
}
