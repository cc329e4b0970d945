package manager

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// config builds a configuration: spec is "id[:weight][@domain][*]" words,
// * marking a standby, ! a failed node.
func config(t testing.TB, rule Rule, spec string) Config {
	t.Helper()
	c := Config{Epoch: 1, Rule: rule}
	for _, w := range strings.Fields(spec) {
		c.Nodes = append(c.Nodes, parseNode(w))
	}
	slices.SortFunc(c.Nodes, func(a, b Node) int { return strings.Compare(string(a.ID), string(b.ID)) })
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// parseNode reads one node of a config spec: ID, then optionally :weight,
// @domain, ! (failed) and * (standby), e.g. "a:1500@r1*".
func parseNode(w string) Node {
	n := Node{Weight: One}
	if strings.HasSuffix(w, "*") {
		n.Standby, w = true, strings.TrimSuffix(w, "*")
	}
	if strings.HasSuffix(w, "!") {
		n.State, w = Failed, strings.TrimSuffix(w, "!")
	}
	if strings.HasSuffix(w, "~") {
		n.Witness, w = true, strings.TrimSuffix(w, "~")
	}
	if i := strings.IndexByte(w, '@'); i >= 0 {
		n.Domain, w = w[i+1:], w[:i]
	}
	if i := strings.IndexByte(w, ':'); i >= 0 {
		var weight int
		fmt.Sscan(w[i+1:], &weight)
		n.Weight, w = Weight(weight), w[:i]
	}
	n.ID = NodeID(w)
	return n
}

func ids(s string) []NodeID {
	var out []NodeID
	for _, f := range strings.Fields(s) {
		out = append(out, NodeID(f))
	}
	return out
}

// Data-driven decisions on real kernel answers: vectors as SPEC.md writes
// them, the replicas' nodes, and the expected verdict, leader and repair.
func TestDecide(t *testing.T) {
	tests := []struct {
		name     string
		rule     Rule
		members  string
		vectors  string // ID0/ID1 per replica
		replicas string
		verdict  Verdict
		leader   int
		repair   []int
	}{
		{"all agree", Rule{}, "a b c", "B/A B/A B/A", "a b c", Quorate, 0, []int{}},
		{"one ahead: lagging replicas repaired", Rule{}, "a b c", "B/A C/B B/A", "a b c", Quorate, 1, []int{0, 2}},
		{"offline replica: outside, repaired last", Rule{}, "a b c", "C/B B/A X/Y", "a b c", Quorate, 0, []int{1, 2}},
		{"lagging before outside, whatever the index", Rule{}, "a b c d e", "X/Y C/B C/B Q/R B/A", "a b c d e", Quorate, 1, []int{4, 0, 3}},
		{"split-brain", Rule{}, "a b", "B/A C/A", "a b", SplitBrain, -1, nil},
		{"chain of 2 of 5 is no quorum", Rule{}, "a b c d e", "B/A B/A X/Y P/Q R/S", "a b c d e", NoQuorum, 0, nil},
		{"missing replicas count against", Rule{}, "a b c d e", "B/A B/A", "a b", NoQuorum, 0, nil},
		{"replicas in any order", Rule{}, "a b c", "B/A B/A X/Y", "c a b", Quorate, 0, []int{2}},
		{"standby replica repaired, no vote", Rule{}, "a b c d*", "B/A B/A X/Y P/Q", "a b c d", Quorate, 0, []int{2, 3}},
		{"farthest behind first: the only C/B keeps the chain linked", Rule{}, "a b c d", "D/C C/B B/A B/A", "a b c d", Quorate, 0, []int{2, 3, 1}},
		{"farthest behind first, then outside", Rule{}, "a b c d e", "X/Y D/C B/A C/B A/Z", "a b c d e", Quorate, 1, []int{4, 2, 3, 0}},
		{"standby votes do not count", Rule{}, "a b c d* e*", "B/A X/Y P/Q B/A B/A", "a b c d e", NoQuorum, 0, nil},
		{"weighted: the heavy pair wins", Rule{Weighted: true}, "a:2000 b:2000 c:500 d:500 e:500", "B/A B/A X/Y P/Q R/S", "a b c d e", Quorate, 0, []int{2, 3, 4}},
		{"weighted: three light are no quorum", Rule{Weighted: true}, "a:2000 b:2000 c:500 d:500 e:500", "X/Y X/Y B/A B/A B/A", "a b c d e", NoQuorum, 2, nil},
		{"byzantine: 3 of 4", Rule{Model: Byzantine}, "a b c d", "B/A B/A B/A X/Y", "a b c d", Quorate, 0, []int{3}},
		{"byzantine: 2 of 3 is no quorum", Rule{Model: Byzantine}, "a b c", "B/A B/A X/Y", "a b c", NoQuorum, 0, nil},
		{"domains: a majority in one rack is not enough", Rule{Domains: true}, "a@r1 b@r1 c@r1 d@r2 e@r3", "B/A B/A B/A X/Y P/Q", "a b c d e", NoQuorum, 0, nil},
		{"domains: two racks", Rule{Domains: true}, "a@r1 b@r1 c@r1 d@r2 e@r3", "B/A B/A X/Y B/A P/Q", "a b c d e", Quorate, 0, []int{2, 4}},
		{"single replica", Rule{}, "a", "B/A", "a", Quorate, 0, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := config(t, tt.rule, tt.members)
			vs := suite.Letters(tt.vectors)
			d, err := c.Decide(vs, ids(tt.replicas))
			if err != nil {
				t.Fatal(err)
			}
			results := make([]kernel.Result, 1)
			if err := kernel.Calculate(vs, 0, kernel.VectorSize, results, nil); err != nil || d.Result != results[0] {
				t.Fatalf("Decision.Result %+v, kernel.Calculate %+v, %v", d.Result, results[0], err)
			}
			if d.Verdict != tt.verdict || d.Leader != tt.leader || !slices.Equal(d.Repair, tt.repair) {
				t.Fatalf("got %v leader %d repair %v, want %v leader %d repair %v (%s)", d.Verdict, d.Leader, d.Repair, tt.verdict, tt.leader, tt.repair, d.Reason)
			}
			if d.Epoch != c.Epoch || d.Reason == "" {
				t.Errorf("epoch %d reason %q", d.Epoch, d.Reason)
			}
			if tt.verdict != SplitBrain && d.LeaderNode != ids(tt.replicas)[d.Leader] {
				t.Errorf("leader node %q", d.LeaderNode)
			}
		})
	}
}

func TestDecideJoint(t *testing.T) {
	c := config(t, Rule{}, "a b c d e f")
	// Incoming voters a b c d f (e a standby); outgoing a b c d e.
	old, _ := NewQuorum(Rule{}, []Voter{{ID: "a", Weight: One}, {ID: "b", Weight: One}, {ID: "c", Weight: One}, {ID: "d", Weight: One}, {ID: "e", Weight: One}})
	for i := range c.Nodes {
		c.Nodes[i].Standby = c.Nodes[i].ID == "e"
	}
	c.Outgoing = &old
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	decide := func(vectors, replicas string) Decision {
		d, err := c.Decide(suite.Letters(vectors), ids(replicas))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// {c d f} is a new quorum but not an old one; {a b e} the reverse.
	if d := decide("B/A B/A B/A X/Y P/Q", "c d f a b"); d.Verdict != NoQuorum || d.Outgoing == nil || d.Outgoing.Quorate || !d.Tally.Quorate {
		t.Errorf("new-only quorum decided in a joint phase: %+v", d)
	}
	if d := decide("B/A B/A B/A X/Y", "a b e c"); d.Verdict != NoQuorum || d.Tally.Quorate || !d.Outgoing.Quorate {
		t.Errorf("old-only quorum decided in a joint phase: %+v", d)
	}
	if d := decide("B/A B/A B/A X/Y", "a b c e"); d.Verdict != Quorate {
		t.Errorf("a quorum of both not quorate: %+v", d)
	}
}

func TestDecideErrors(t *testing.T) {
	c := config(t, Rule{}, "a b c")
	tests := []struct {
		vectors  [][]byte
		replicas string
		want     string
		is       error
	}{
		{suite.Letters("B/A"), "", "replicas must name 1 to 255", nil},
		{suite.Letters("B/A C/B"), "a b c", "vectors has 2 entries, want 3", nil},
		{suite.Letters("B/A C/B B/A"), "a b x", `replicas[2] is "x", not a member`, nil},
		{suite.Letters("B/A C/B B/A"), "a b a", "must vote once", nil},
		{[][]byte{make([]byte, 31)}, "a", "vectors[0] has length 31", nil},
		{suite.Letters("A/A B/A"), "a b", "cyclic", kernel.ErrCyclic},
		{suite.Letters("B/A B/C"), "a b", "two different dependencies", kernel.ErrConflict},
	}
	for _, tt := range tests {
		_, err := c.Decide(tt.vectors, ids(tt.replicas))
		if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("%q: err %v, want it to contain %q (is %v)", tt.replicas, err, tt.want, tt.is)
		}
	}
}

// Property on real kernel answers: writing the repair list in order, with a
// crash after any prefix, never makes the quorum go backwards: the same
// leader state, a chain at least as long, still quorate; and at the end
// every replica is current. The leader and current replicas are never in
// the list, and lagging replicas come before outside ones.
func TestRepairNeverGoesBackwards(t *testing.T) {
	rng, seed := newRand(t)
	shapes := []testvectors.Shape{testvectors.AllAgree, testvectors.OneAhead, testvectors.Lagging, testvectors.Partition,
		testvectors.Strangers, testvectors.Offline, testvectors.TwoUnrelated, testvectors.Deep, testvectors.Random, testvectors.Mixed}
	quorate := 0
	for round := range suiteRounds(600) {
		n := 1 + rng.IntN(12)
		if round%200 == 0 {
			n = maxMembers
		}
		shape := shapes[rng.IntN(len(shapes))]
		vs := testvectors.Object(rng, n, shape)
		var members []string
		for i := range n {
			members = append(members, fmt.Sprintf("n%d:%d", i, testWeights[rng.IntN(len(testWeights))]))
		}
		c := config(t, Rule{Weighted: rng.IntN(2) == 0}, strings.Join(members, " "))
		replicas := c.Quorum().IDs()
		d, err := c.Decide(vs, replicas)
		r, roles := d.Result, d.Roles
		if err != nil {
			t.Fatalf("seed %d round %d %v: %v", seed, round, shape, err)
		}
		if d.Verdict != Quorate {
			if len(d.Repair) != 0 {
				t.Fatalf("seed %d round %d: %v with a repair list %v", seed, round, d.Verdict, d.Repair)
			}
			continue
		}
		quorate++
		seenOutside := false
		for _, i := range d.Repair {
			switch roles[i] {
			case kernel.Current:
				t.Fatalf("seed %d round %d: repair writes current replica %d (leader %d)", seed, round, i, d.Leader)
			case kernel.Outside:
				seenOutside = true
			case kernel.Lagging:
				if seenOutside {
					t.Fatalf("seed %d round %d: lagging replica %d after an outside one in %v", seed, round, i, d.Repair)
				}
			}
		}
		want := len(slices.DeleteFunc(slices.Clone(roles), func(r kernel.Role) bool { return r == kernel.Current }))
		if len(d.Repair) != want {
			t.Fatalf("seed %d round %d: repair %v misses replicas (roles %v)", seed, round, d.Repair, roles)
		}
		head := slices.Clone(vs[d.Leader])
		cur := slices.Clone(vs)
		prevLength := r.Length
		for k, i := range d.Repair {
			cur[i] = slices.Clone(head) // the replica copies the leader's object
			d2, err := c.Decide(cur, replicas)
			r2 := d2.Result
			if err != nil {
				t.Fatalf("seed %d round %d: %v", seed, round, err)
			}
			if r2.Forked || !bytes.Equal(cur[r2.Leader][:kernel.IDSize], head[:kernel.IDSize]) || r2.Length < prevLength || d2.Verdict != Quorate {
				t.Fatalf("seed %d round %d %v: after %d of %v the quorum went backwards: %+v (was length %d), %v",
					seed, round, shape, k+1, d.Repair, r2, prevLength, d2.Verdict)
			}
			prevLength = r2.Length
		}
		if int(prevLength) != n {
			t.Fatalf("seed %d round %d: after the whole repair the chain has %d of %d", seed, round, prevLength, n)
		}
	}
	if quorate == 0 {
		t.Fatalf("seed %d: no round was quorate", seed)
	}
}
