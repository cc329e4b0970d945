package advice

import (
	"github.com/lockstep/quorum/manager"

	"slices"
	"strings"
	"testing"
	"time"
)

// mesh observes every pair of base's nodes with a round trip of the sum
// of their base milliseconds, or unreachable when down says so.
func mesh(t *testing.T, m *cluster, base map[manager.NodeID]int, down func(a, b manager.NodeID) bool) {
	t.Helper()
	for x, bx := range base {
		for y, by := range base {
			if x >= y {
				continue
			}
			o := Observation{From: x, To: y, Reachable: true, RTT: time.Duration(bx+by) * time.Millisecond}
			if down != nil && down(x, y) {
				o = Observation{From: x, To: y}
			}
			if err := m.Observe(o); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func recommend(t *testing.T, m *cluster, s Strategy, tg Targets) Recommendation {
	t.Helper()
	r, err := s.Recommend(m.Input(tg))
	if err != nil {
		t.Fatal(err)
	}
	if r.Strategy != s.Name() || r.Confidence < 0 || r.Confidence > 1 || len(r.Reasoning) == 0 || r.Impact.Summary == "" {
		t.Fatalf("%s: malformed recommendation %+v", s.Name(), r)
	}
	return r
}

func reasoned(t *testing.T, r Recommendation, wants ...string) {
	t.Helper()
	all := strings.Join(r.Reasoning, "\n")
	for _, w := range wants {
		if !strings.Contains(all, w) {
			t.Errorf("%s reasoning lacks %q:\n%s", r.Strategy, w, all)
		}
	}
}

// applies checks that Adjust takes a recommendation safely: unchanged
// proposals are already applied, changed ones go through.
func applies(t *testing.T, m *cluster, r Recommendation) {
	t.Helper()
	adj := m.Adjust(0, r.Proposal, nil)
	want := manager.OK
	if !r.Changed {
		want = manager.AlreadyApplied
	}
	if adj.Answer.Status != want {
		t.Fatalf("%s: Adjust answered %+v, want %v", r.Strategy, adj.Answer, want)
	}
	if got := m.Config().Tolerance().Crash; got != r.Impact.Tolerance {
		t.Fatalf("%s: tolerance %d after the adjustment, impact said %d", r.Strategy, got, r.Impact.Tolerance)
	}
}

// A slow node: e answers in 400ms, the rest in a few.
func TestScenarioSlowNode(t *testing.T) {
	setup := func() *cluster {
		m := newManager(t, manager.Rule{Weighted: true}, "a@r1 b@r1 c@r2 d@r2 e@r3")
		mesh(t, m, map[manager.NodeID]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 400}, nil)
		return m
	}
	m := setup()
	perf := recommend(t, m, PerformanceStrategy{}, Targets{MaxLatency: 20 * time.Millisecond})
	if !slices.Equal(perf.Nodes, ids("a b c")) || perf.Impact.Latency != 5*time.Millisecond || perf.Confidence != 1 {
		t.Errorf("performance: nodes %v latency %v confidence %v", perf.Nodes, perf.Impact.Latency, perf.Confidence)
	}
	reasoned(t, perf, "fastest quorum: a 4ms, b 5ms, c 5ms", "e is slow (402ms, median 5ms): left out of the preferred quorum; its weight becomes 0.598", "meets the 20ms latency target")
	weights := map[manager.NodeID]manager.Weight{}
	for _, v := range perf.Proposal.Voters {
		weights[v.ID] = v.Weight
	}
	if !(weights["e"] < weights["d"] && weights["d"] <= weights["a"]) {
		t.Errorf("performance weights %v", weights)
	}

	missed := recommend(t, m, PerformanceStrategy{}, Targets{MaxLatency: time.Millisecond, MinBandwidthMbps: 100})
	reasoned(t, missed, "misses the 1ms latency target: no quorum answers faster than 5ms", "misses the 100 Mbps bandwidth target")
	if missed.Confidence != 0.25 {
		t.Errorf("confidence %v with both targets missed", missed.Confidence)
	}

	hybrid := recommend(t, m, HybridStrategy{}, Targets{})
	if slices.Contains(hybrid.Nodes, "e") || len(hybrid.Nodes) != 3 {
		t.Errorf("hybrid preferred quorum %v includes the slow node", hybrid.Nodes)
	}
	reasoned(t, hybrid, "e is slow", "all 5 live voters are connected")
	applies(t, m, perf)
	applies(t, setup(), hybrid)
}

// A rack loss: rack r1 (a, b) is down; standbys f (r2) and g (r3) are healthy.
func TestScenarioRackLoss(t *testing.T) {
	setup := func(members string) *cluster {
		m := newManager(t, manager.Rule{}, members)
		mesh(t, m, map[manager.NodeID]int{"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 2, "g": 3}, func(x, y manager.NodeID) bool {
			return x == "a" || x == "b" || y == "a" || y == "b"
		})
		m.Apply(manager.Change{Op: manager.OpFail, ID: "a"})
		m.Apply(manager.Change{Op: manager.OpFail, ID: "b"})
		return m
	}
	m := setup("a@r1 b@r1 c@r2 d@r2 e@r3 f@r2* g@r3*")
	ft := recommend(t, m, FaultToleranceStrategy{}, Targets{})
	reasoned(t, ft, "tolerates 0 crash failure(s) now (3 healthy voters, quorum 3)",
		"replace failed voter a (r1) with standby g (r3)", "replace failed voter b (r1) with standby f (r2)",
		"domains whose loss loses the quorum: r2, r3")
	var voters []manager.NodeID
	for _, v := range ft.Proposal.Voters {
		voters = append(voters, v.ID)
	}
	if !slices.Equal(voters, ids("c d e f g")) || !ft.Changed || ft.Impact.Tolerance != 2 || ft.Impact.ToleranceChange != 2 {
		t.Errorf("fault tolerance: voters %v changed %v impact %+v", voters, ft.Changed, ft.Impact)
	}
	hybrid := recommend(t, m, HybridStrategy{}, Targets{})
	if !hybrid.Changed || hybrid.Impact.Tolerance != 2 {
		t.Errorf("hybrid: %+v", hybrid)
	}
	perf := recommend(t, m, PerformanceStrategy{}, Targets{})
	reasoned(t, perf, "a is failed: left out", "b is failed: left out")
	applies(t, m, ft)
	if m.Config().Joint() || m.Config().Tolerance().Crash != 2 {
		t.Fatalf("after the replacement: %s", m.Config().Describe())
	}

	// At most (voters-1)/2 replacements at once.
	many := setup("a b c d e f* g* h*")
	many.Apply(manager.Change{Op: manager.OpFail, ID: "c"})
	limited := recommend(t, many, FaultToleranceStrategy{}, Targets{})
	reasoned(t, limited, "replace failed voter a with standby f", "replace failed voter b with standby g",
		"failed voter c stays: the (voters-1)/2 removal limit leaves no room")

	// Without standbys there is nothing to replace them with.
	bare := setup("a@r1 b@r1 c@r2 d@r2 e@r3")
	none := recommend(t, bare, FaultToleranceStrategy{}, Targets{})
	reasoned(t, none, "failed voter a stays: no healthy standby; add a node to replace it")
	if none.Changed || none.Impact.Tolerance != 0 {
		t.Errorf("no standbys: %+v", none)
	}
	applies(t, bare, none)
}

// A partition: {a b c} | {d e}, and then {a b} | {c d} | {e}.
func TestScenarioPartition(t *testing.T) {
	setup := func(members string, group map[manager.NodeID]int) *cluster {
		m := newManager(t, manager.Rule{}, members)
		base := map[manager.NodeID]int{}
		for id := range group {
			base[id] = 1
		}
		mesh(t, m, base, func(x, y manager.NodeID) bool { return group[x] != group[y] })
		return m
	}
	m := setup("a@r1 b@r1 c@r2 d@r2 e@r3", map[manager.NodeID]int{"a": 0, "b": 0, "c": 0, "d": 1, "e": 1})
	nw := recommend(t, m, NetworkStrategy{}, Targets{})
	if !slices.Equal(nw.Nodes, ids("a b c")) || nw.Changed || nw.Confidence != 0.5 {
		t.Errorf("network: nodes %v changed %v confidence %v", nw.Nodes, nw.Changed, nw.Confidence)
	}
	reasoned(t, nw, "live voters are partitioned: {a b c} | {d e}", "only {a b c} holds a quorum",
		"partitioned now into 2 groups", "the 3 left still reach the quorum of 3")
	hybrid := recommend(t, m, HybridStrategy{}, Targets{})
	if len(hybrid.Nodes) != 3 || slices.ContainsFunc(hybrid.Nodes, func(id manager.NodeID) bool { return id == "d" || id == "e" }) {
		t.Errorf("hybrid preferred quorum %v crosses the partition", hybrid.Nodes)
	}

	// No side holds a quorum: wait, change nothing.
	m = setup("a@r1 b@r1 c@r2 d@r2 e@r3", map[manager.NodeID]int{"a": 0, "b": 0, "c": 1, "d": 1, "e": 2})
	for _, s := range []Strategy{NetworkStrategy{}, HybridStrategy{}} {
		r := recommend(t, m, s, Targets{})
		if len(r.Nodes) != 0 || r.Changed {
			t.Errorf("%s in a three-way partition: nodes %v changed %v", s.Name(), r.Nodes, r.Changed)
		}
		reasoned(t, r, "no group of connected voters holds a quorum: wait for the partition to heal")
	}

	// A failed voter is replaced only by a standby on the quorum's side.
	m = setup("a b c d e f* g*", map[manager.NodeID]int{"a": 0, "b": 0, "c": 0, "f": 0, "d": 1, "e": 1, "g": 1})
	m.Apply(manager.Change{Op: manager.OpFail, ID: "e"})
	hybrid = recommend(t, m, HybridStrategy{}, Targets{})
	if !slices.ContainsFunc(hybrid.Proposal.Voters, func(v manager.Vote) bool { return v.ID == "f" }) ||
		slices.ContainsFunc(hybrid.Proposal.Voters, func(v manager.Vote) bool { return v.ID == "g" }) {
		t.Errorf("hybrid replacement across the partition: %+v", hybrid.Proposal)
	}
	reasoned(t, hybrid, "replace failed voter e with standby f")
}

func TestRecommendBest(t *testing.T) {
	m := newManager(t, manager.Rule{}, "a@r1 b@r1 c@r2 d@r2 e@r3")
	mesh(t, m, map[manager.NodeID]int{"a": 1, "b": 1, "c": 2, "d": 2, "e": 3}, nil)
	best, err := m.Recommend(Targets{})
	if err != nil {
		t.Fatal(err)
	}
	in := m.Input(Targets{})
	for _, s := range Strategies() {
		r, _ := s.Recommend(in)
		if r.Confidence > best.Confidence {
			t.Errorf("%s is more confident (%v) than the best, %s (%v)", r.Strategy, r.Confidence, best.Strategy, best.Confidence)
		}
	}
	if best.Strategy != HybridName { // every strategy is fully confident here; the first wins
		t.Errorf("best %s", best.Strategy)
	}
	if r, _ := m.Recommend(Targets{}, PerformanceStrategy{}); r.Strategy != PerformanceName {
		t.Errorf("named strategy: %s", r.Strategy)
	}
	if _, ok := Best(nil); ok {
		t.Error("Best of nothing")
	}
	// Strategies refuse invalid input and report no quorum.
	for _, s := range Strategies() {
		if _, err := s.Recommend(Input{}); err == nil {
			t.Errorf("%s accepted an empty configuration", s.Name())
		}
	}
	for _, id := range ids("a b c") {
		m.Apply(manager.Change{Op: manager.OpFail, ID: id})
	}
	r := recommend(t, m, PerformanceStrategy{}, Targets{})
	if r.Nodes != nil || r.Confidence != 0 {
		t.Errorf("with 2 of 5 live: %+v", r)
	}
	reasoned(t, r, "only 2 of 5 voters are live")
}
