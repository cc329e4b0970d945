package manager

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func newManager(t *testing.T, rule Rule, spec string) *Manager {
	t.Helper()
	m, err := New(nil, config(t, rule, spec).Nodes, rule)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Every typed answer, from a fresh five-voter cluster a..e with standby s.
func TestAnswers(t *testing.T) {
	weightedRemove := Proposal{Rule: Rule{Weighted: true}, Voters: []Vote{{ID: "a", Weight: MaxWeight}, {ID: "b", Weight: MaxWeight}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}
	tests := []struct {
		name   string
		setup  []Change // applied first, each must be OK
		change Change
		status Status
		reason string // part of Answer.Reason
		joint  bool
	}{
		{"add a voter", nil, Change{Epoch: 2, Op: OpAdd, Node: Node{ID: "f"}}, OK, "", false},
		{"add a standby", nil, Change{Op: OpAdd, Node: Node{ID: "f", Standby: true}}, OK, "", false},
		{"retry of an applied add", []Change{{Epoch: 2, Op: OpAdd, Node: Node{ID: "f"}}}, Change{Epoch: 2, Op: OpAdd, Node: Node{ID: "f"}}, AlreadyApplied, "already applied", false},
		{"different change at a taken epoch", []Change{{Epoch: 2, Op: OpAdd, Node: Node{ID: "f"}}}, Change{Epoch: 2, Op: OpFail, ID: "a"}, Conflict, "different change (add f)", false},
		{"future epoch", nil, Change{Epoch: 3, Op: OpFail, ID: "a"}, EpochNotNext, "not next", false},
		{"past epoch, taken by the bootstrap", nil, Change{Epoch: 1, Op: OpFail, ID: "a"}, Conflict, "bootstrap", false},
		{"add an existing member", nil, Change{Op: OpAdd, Node: Node{ID: "a", Domain: "x"}}, Conflict, "already a member", false},
		{"add it again as it is", nil, Change{Op: OpAdd, Node: Node{ID: "a", Domain: "r1"}}, AlreadyApplied, "as given", false},
		{"add a bad node", nil, Change{Op: OpAdd, Node: Node{ID: "bad id"}}, Refused, "space", false},
		{"add with a weight out of bounds", nil, Change{Op: OpAdd, Node: Node{ID: "f", Weight: 5}}, Refused, "weight must be", false},
		{"remove an unknown node", nil, Change{Op: OpRemove, ID: "zz"}, UnknownMembers, `"zz" is not a member`, false},
		{"fail an unknown node", nil, Change{Op: OpFail, ID: "zz"}, UnknownMembers, "not a member", false},
		{"fail", nil, Change{Op: OpFail, ID: "a"}, OK, "", false},
		{"fail twice", []Change{{Op: OpFail, ID: "a"}}, Change{Op: OpFail, ID: "a"}, AlreadyApplied, "already failed", false},
		{"recover", []Change{{Op: OpFail, ID: "a"}}, Change{Op: OpRecover, ID: "a"}, OK, "", false},
		{"remove a voter", nil, Change{Op: OpRemove, ID: "e"}, OK, "", false},
		{"remove a standby", nil, Change{Op: OpRemove, ID: "s"}, OK, "", false},
		{"remove down to the minimum", []Change{{Op: OpRemove, ID: "e"}}, Change{Op: OpRemove, ID: "d"}, Refused, "voters must number 4", false},
		{"a quorum the healthy could not reach", []Change{{Op: OpFail, ID: "a"}, {Op: OpFail, ID: "b"}}, Change{Op: OpAdd, Node: Node{ID: "f", State: Failed}}, Refused, "would hold no quorum", false},
		{"reconfigure: too many removals", nil, Change{Op: OpReconfigure, Proposal: Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}}}}, Refused, "removes 3 of 5 voters at once; at most (voters-1)/2 = 2", false},
		{"reconfigure: unknown voters", nil, Change{Op: OpReconfigure, Proposal: Proposal{Voters: []Vote{{ID: "a"}, {ID: "x"}, {ID: "y"}}}}, UnknownMembers, "x y", false},
		{"reconfigure: duplicate voter", nil, Change{Op: OpReconfigure, Proposal: Proposal{Voters: []Vote{{ID: "a"}, {ID: "a"}}}}, Refused, "listed twice", false},
		{"reconfigure: bad weight", nil, Change{Op: OpReconfigure, Proposal: Proposal{Voters: []Vote{{ID: "a", Weight: 9999}}}}, Refused, "weight must be 0 (keep)", false},
		{"reconfigure: nothing changes", nil, Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 4}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}}, AlreadyApplied, "already in force", false},
		{"reconfigure: swap a voter for the standby needs a joint phase", nil, Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 4}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}}, OK, "joint phase", true},
		{"weighted: a removal that needs a joint phase", []Change{{Op: OpReconfigure, Proposal: weightedRemove}, {Op: OpLeaveJoint}}, Change{Op: OpRemove, ID: "a"}, OK, "joint phase", true},
		{"no voter changes during a joint phase", []Change{{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 4}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}}}, Change{Op: OpRemove, ID: "a"}, Conflict, "leave it first", true},
		{"health changes during a joint phase", []Change{{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 4}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}}}, Change{Op: OpFail, ID: "a"}, OK, "", true},
		{"leave a joint phase", []Change{{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 4}, Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}}}, Change{Op: OpLeaveJoint}, OK, "", false},
		{"leave when not joint", nil, Change{Op: OpLeaveJoint}, Conflict, "not a joint phase", false},
		{"unknown op", nil, Change{Op: "explode"}, Refused, "unknown op", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Rule{MinVoters: 4}, "a@r1 b@r1 c@r2 d@r2 e@r3 s@r3*")
			for _, c := range tt.setup {
				if a := m.Apply(c); a.Status != OK || m.Committed(a.Epoch) != nil {
					t.Fatalf("setup %+v: %+v", c, a)
				}
			}
			before := m.Config()
			a := m.Apply(tt.change)
			if a.Status != tt.status || !strings.Contains(a.Reason, tt.reason) || a.Joint != tt.joint {
				t.Fatalf("answer %+v, want %v with reason containing %q, joint %v", a, tt.status, tt.reason, tt.joint)
			}
			after := m.Config()
			if err := after.Validate(); err != nil {
				t.Fatal(err)
			}
			if a.Status == OK {
				if after.Epoch != before.Epoch+1 || a.Epoch != after.Epoch || a.Err() != nil {
					t.Fatalf("OK answer %+v moved epoch %d -> %d", a, before.Epoch, after.Epoch)
				}
			} else if !reflect.DeepEqual(before, after) || a.Epoch != before.Epoch {
				t.Fatalf("answer %v changed the configuration: %+v -> %+v", a.Status, before, after)
			}
			if (a.Status == OK || a.Status == AlreadyApplied) != (a.Err() == nil) {
				t.Fatalf("Err() = %v for %v", a.Err(), a.Status)
			}
		})
	}
}

// A failure never shrinks the quorum; removal does, one voter at a time.
func TestFailKeepsQuorum(t *testing.T) {
	m := newManager(t, Rule{}, "a b c d e")
	for _, id := range ids("a b c") {
		if a := m.Apply(Change{Op: OpFail, ID: id}); a.Status != OK {
			t.Fatal(a)
		}
	}
	cfg := m.Config()
	if got := cfg.Quorum().MinSize(); got != 3 {
		t.Fatalf("quorum %d after failures, want 3", got)
	}
	tol := cfg.Tolerance()
	if tol.Healthy != 2 || tol.Crash != -1 || cfg.IsQuorum(cfg.Healthy()) {
		t.Fatalf("tolerance %+v", tol)
	}
	// Removing failed voters while the healthy ones hold no quorum is refused.
	if a := m.Apply(Change{Op: OpRemove, ID: "a"}); a.Status != Refused || !strings.Contains(a.Reason, "no quorum") {
		t.Fatalf("remove with no healthy quorum: %+v", a)
	}
}

// Failure tolerance at the configuration level, domains and joint phases
// included, against brute force over every set of failures.
func TestToleranceBruteForce(t *testing.T) {
	rng, seed := newRand(t)
	u := universe(7)
	for round := range suiteRounds(300) {
		c := randomConfig(rng, u)
		if rng.IntN(3) == 0 { // a joint phase with a random outgoing system
			o := randomQuorum(rng, u, randomRule(rng, true))
			c.Outgoing = &o
			for _, v := range o.Voters {
				if _, ok := c.Node(v.ID); !ok {
					c.Nodes = append(c.Nodes, Node{ID: v.ID, Weight: One, State: Left, Domain: v.Domain})
				}
			}
			slices.SortFunc(c.Nodes, func(a, b Node) int { return strings.Compare(string(a.ID), string(b.ID)) })
		}
		if err := c.Validate(); err != nil {
			continue
		}
		tol := c.Tolerance()
		qm := quorumMasks(u, c.IsQuorum)
		healthy := mask(u, c.Healthy())
		// Brute force: the most failures of healthy voters, whichever, that
		// leave a quorum.
		if qm[healthy] {
			want := 0
			for k := 1; k <= bitsCount(healthy); k++ {
				ok := true
				for r := healthy; r != 0; r = (r - 1) & healthy {
					if bitsCount(r) == k && !qm[healthy&^r] {
						ok = false
						break
					}
				}
				if !ok {
					break
				}
				want = k
			}
			if tol.Crash != want {
				t.Fatalf("seed %d round %d: Crash %d, brute force %d (%s)", seed, round, tol.Crash, want, c.Describe())
			}
		} else if tol.Crash >= 0 {
			t.Fatalf("seed %d round %d: no healthy quorum but Crash %d", seed, round, tol.Crash)
		}
		for _, d := range tol.Domains {
			var lost []NodeID
			for _, n := range c.Nodes {
				if domainName(domainKey(n.ID, n.Domain)) == d.Domain {
					lost = append(lost, n.ID)
				}
			}
			if got, want := d.SurvivesLoss, qm[healthy&^mask(u, lost)]; got != want {
				t.Fatalf("seed %d round %d: losing %s survives %v, brute force %v", seed, round, d.Domain, got, want)
			}
		}
	}
}

func bitsCount(m uint32) int {
	n := 0
	for ; m != 0; m &= m - 1 {
		n++
	}
	return n
}

func mask(u []NodeID, set []NodeID) uint32 {
	var m uint32
	for i, id := range u {
		if slices.Contains(set, id) {
			m |= 1 << i
		}
	}
	return m
}

// randomConfig draws a valid configuration over a subset of u.
func randomConfig(rng *rand.Rand, u []NodeID) Config {
	q := randomQuorum(rng, u, randomRule(rng, true))
	c := Config{Epoch: 1, Rule: q.Rule}
	for _, id := range u {
		n := Node{ID: id, Weight: testWeights[rng.IntN(len(testWeights))], Standby: true, State: NodeState(rng.IntN(3))}
		if i := q.index(id); i >= 0 {
			n.Weight, n.Domain, n.Standby = q.Voters[i].Weight, q.Voters[i].Domain, false
		} else if rng.IntN(2) == 0 {
			continue
		}
		c.Nodes = append(c.Nodes, n)
	}
	return c
}

// The safety property of reconfiguration: over random sequences of
// membership changes, no two disjoint sets are a quorum of one epoch and
// a quorum of the next; changes to or from a Byzantine rule always share a
// quorum system with the epoch before. Every request gets a typed answer,
// and only OK moves the epoch, by one.
func TestReconfigurationNeverDisjoint(t *testing.T) {
	rng, seed := newRand(t)
	u := universe(7)
	statuses := map[Status]int{}
	joints := 0
	for seq := range suiteRounds(60) {
		m, err := New(nil, []Node{{ID: u[0]}, {ID: u[1]}, {ID: u[2]}}, Rule{})
		if err != nil {
			t.Fatal(err)
		}
		for step := range 30 {
			prev := m.Config()
			c := randomChange(rng, prev, u)
			a := m.Apply(c)
			statuses[a.Status]++
			next := m.Config()
			where := fmt.Sprintf("seed %d sequence %d step %d: %+v -> %+v", seed, seq, step, c, a)
			if err := next.Validate(); err != nil {
				t.Fatalf("%s: invalid configuration: %v", where, err)
			}
			if a.Status != OK {
				if !reflect.DeepEqual(prev, next) {
					t.Fatalf("%s: changed the configuration", where)
				}
				continue
			}
			if next.Epoch != prev.Epoch+1 {
				t.Fatalf("%s: epoch %d -> %d", where, prev.Epoch, next.Epoch)
			}
			if next.Joint() && !prev.Joint() {
				joints++
			}
			qa, qb := quorumMasks(u, prev.IsQuorum), quorumMasks(u, next.IsQuorum)
			if x, y, found := disjoint(u, qa, qb); found {
				t.Fatalf("%s: {%s} decides in epoch %d and {%s} in epoch %d\n%s\n%s", where, joinIDs(x), prev.Epoch, joinIDs(y), next.Epoch, prev.Describe(), next.Describe())
			}
			if !prev.SameQuorums(next) && (hasByzantine(prev) || hasByzantine(next)) && !shareSystem(prev, next) {
				t.Fatalf("%s: a Byzantine change without a shared quorum system", where)
			}
		}
	}
	for _, s := range []Status{OK, AlreadyApplied, Conflict, EpochNotNext, UnknownMembers, Refused} {
		if statuses[s] == 0 {
			t.Errorf("seed %d: no request answered %v (answers %v)", seed, s, statuses)
		}
	}
	if joints == 0 {
		t.Errorf("seed %d: no change went through a joint phase", seed)
	}
}

func hasByzantine(c Config) bool {
	return slices.ContainsFunc(c.systems(), func(q Quorum) bool { return q.Rule.Model == Byzantine })
}

func shareSystem(a, b Config) bool {
	for _, x := range a.systems() {
		for _, y := range b.systems() {
			if x.Equal(y) {
				return true
			}
		}
	}
	return false
}

// randomChange draws a request against cfg over the universe u.
func randomChange(rng *rand.Rand, cfg Config, u []NodeID) Change {
	c := Change{Epoch: cfg.Epoch + 1}
	switch rng.IntN(10) {
	case 0:
		c.Epoch = 0
	case 1:
		c.Epoch = uint64(rng.IntN(int(cfg.Epoch) + 3))
	}
	id := u[rng.IntN(len(u))]
	if rng.IntN(20) == 0 {
		id = "stranger"
	}
	switch rng.IntN(9) {
	case 0, 1:
		c.Op = OpAdd
		c.Node = Node{ID: id, Standby: rng.IntN(3) == 0, Weight: testWeights[rng.IntN(len(testWeights))], Domain: []string{"", "r1", "r2"}[rng.IntN(3)]}
	case 2:
		c.Op, c.ID = OpRemove, id
	case 3:
		c.Op, c.ID = []Op{OpFail, OpSuspect, OpRecover}[rng.IntN(3)], id
	case 4, 5, 6:
		c.Op = OpReconfigure
		c.Proposal.Rule = randomRule(rng, true)
		c.Proposal.Rule.MinVoters = rng.IntN(3)
		for _, n := range cfg.Nodes {
			if n.State != Left && rng.IntN(3) > 0 {
				c.Proposal.Voters = append(c.Proposal.Voters, Vote{ID: n.ID, Weight: []Weight{0, MinWeight, One, MaxWeight, 700}[rng.IntN(5)]})
			}
		}
		if rng.IntN(15) == 0 {
			c.Proposal.Voters = append(c.Proposal.Voters, Vote{ID: "stranger"})
		}
	default:
		c.Op = OpLeaveJoint
	}
	return c
}

func TestHistory(t *testing.T) {
	m := newManager(t, Rule{}, "a b c")
	m.Apply(Change{Op: OpAdd, Node: Node{ID: "d"}})
	m.Apply(Change{Op: OpFail, ID: "a"})
	m.Apply(Change{Op: OpRemove, ID: "zz"}) // unknown: no event
	h := m.History()
	var got []string
	for _, e := range h {
		got = append(got, fmt.Sprintf("%d %s %s %s", e.Epoch, e.Op, e.Step, e.Node))
	}
	want := []string{"1 bootstrap applied ", "2 add applied d", "3 fail applied a"}
	if !slices.Equal(got, want) {
		t.Fatalf("history %q, want %q", got, want)
	}
	for _, e := range h[1:] {
		if e.Fingerprint == "" || e.Detail == "" {
			t.Errorf("event %+v lacks a fingerprint or detail", e)
		}
	}
	// The history is bounded.
	for i := range historyLimit + 10 {
		if i%2 == 0 {
			m.Apply(Change{Op: OpFail, ID: "b"})
		} else {
			m.Apply(Change{Op: OpRecover, ID: "b"})
		}
	}
	if h := m.History(); len(h) != historyLimit || h[len(h)-1].Epoch != m.Config().Epoch {
		t.Fatalf("history of %d events ending at %d, epoch %d", len(h), h[len(h)-1].Epoch, m.Config().Epoch)
	}
	// An epoch past the history gets EpochNotNext.
	if a := m.Apply(Change{Epoch: 2, Op: OpFail, ID: "c"}); a.Status != EpochNotNext {
		t.Fatalf("answer %+v", a)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		nodes []Node
		rule  Rule
		want  string
	}{
		{nil, Rule{}, "voters must number 1"},
		{[]Node{{ID: "a"}, {ID: "a"}}, Rule{}, "unique ID"},
		{[]Node{{ID: "a", State: Left}}, Rule{}, "no Left members"},
		{[]Node{{ID: "a", Standby: true}}, Rule{}, "voters must number 1"},
		{[]Node{{ID: "a"}}, Rule{MinVoters: 3}, "voters must number 3"},
		{[]Node{{ID: "a", Capabilities: Capabilities{CPU: -1}}}, Rule{}, "negative"},
		{[]Node{{ID: "a", State: 9}}, Rule{}, "unknown state"},
	}
	for _, tt := range tests {
		if _, err := New(nil, tt.nodes, tt.rule); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v, %+v): err %v, want %q", tt.nodes, tt.rule, err, tt.want)
		}
	}
	if _, err := Open(nil); err == nil {
		t.Error("Open(nil) succeeded")
	}
}
