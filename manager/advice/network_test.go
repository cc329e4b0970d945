package advice

import (
	"github.com/lockstep/quorum/manager"

	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// topology builds a Network from "a-b" (up, 1ms) and "a/b" (observed
// down) words, and returns it with the view over nodes.
func topology(t *testing.T, nodes, links string) NetworkView {
	t.Helper()
	nw := NewNetwork()
	for _, l := range strings.Fields(links) {
		if a, b, ok := strings.Cut(l, "-"); ok {
			if err := nw.Observe(Observation{From: manager.NodeID(a), To: manager.NodeID(b), Reachable: true, RTT: time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		a, b, _ := strings.Cut(l, "/")
		if err := nw.Observe(Observation{From: manager.NodeID(a), To: manager.NodeID(b)}); err != nil {
			t.Fatal(err)
		}
	}
	return nw.View(ids(nodes))
}

func partitionsString(ps [][]manager.NodeID) string {
	var s []string
	for _, p := range ps {
		s = append(s, joinIDs(p))
	}
	return strings.Join(s, " | ")
}

func linksString(ls []Link) string {
	var s []string
	for _, l := range ls {
		s = append(s, string(l.A)+"-"+string(l.B))
	}
	return strings.Join(s, " ")
}

// Hand-made topologies: partitions, cut nodes, cut links, the largest
// cut-off and the risk score.
func TestTopologies(t *testing.T) {
	tests := []struct {
		name       string
		nodes      string
		links      string
		partitions string
		cutNodes   string
		cutLinks   string
		cutOff     int
		score      float64
	}{
		{"full mesh", "a b c d", "a-b a-c a-d b-c b-d c-d", "a b c d", "", "", 0, 0},
		{"ring", "a b c d e", "a-b b-c c-d d-e e-a", "a b c d e", "", "", 0, 0},
		{"ring with one link observed down", "a b c d e", "a-b b-c c-d d-e e-a a/c", "a b c d e", "", "", 0, 0.25 / 6},
		{"two groups", "a b c d e", "a-b b-c a-c d-e", "a b c | d e", "", "d-e", 2, 1},
		{"three groups", "a b c d e", "a-b c-d", "a b | c d | e", "", "a-b c-d", 4, 1},
		{"star", "a b c d e", "a-b a-c a-d a-e", "a b c d e", "a", "a-b a-c a-d a-e", 4, 0.75},
		{"line", "a b c d", "a-b b-c c-d", "a b c d", "b c", "a-b b-c c-d", 2, 0.75},
		{"two triangles and a bridge", "a b c d e f", "a-b b-c a-c d-e e-f d-f c-d", "a b c d e f", "c d", "c-d", 3, 0.75},
		{"bowtie: a cut node, no cut link", "a b c d e", "a-b b-c a-c c-d d-e c-e", "a b c d e", "c", "", 3, 0.5},
		{"unobserved node is alone", "a b c x", "a-b b-c a-c", "a b c | x", "", "", 1, 1},
		{"a link down one way is down", "a b c", "a-b b-c a-c c/a", "a b c", "b", "a-b b-c", 2, 0.75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := topology(t, tt.nodes, tt.links)
			if got := partitionsString(v.Partitions); got != tt.partitions {
				t.Errorf("partitions %q, want %q", got, tt.partitions)
			}
			if got := joinIDs(v.Risk.CutNodes); got != tt.cutNodes {
				t.Errorf("cut nodes %q, want %q", got, tt.cutNodes)
			}
			if got := linksString(v.Risk.CutLinks); got != tt.cutLinks {
				t.Errorf("cut links %q, want %q", got, tt.cutLinks)
			}
			if v.Risk.LargestCutOff != tt.cutOff {
				t.Errorf("largest cut-off %d, want %d", v.Risk.LargestCutOff, tt.cutOff)
			}
			if math.Abs(v.Risk.Score-tt.score) > 1e-9 || v.Risk.Partitioned != (len(v.Partitions) > 1) || len(v.Risk.Reasons) == 0 {
				t.Errorf("risk %+v, want score %v", v.Risk, tt.score)
			}
		})
	}
}

func TestCentrality(t *testing.T) {
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
	star := topology(t, "a b c d e", "a-b a-c a-d a-e")
	// The hub reaches everyone in one hop; a leaf needs 1 + 2*3 hops.
	if !near(star.Centrality["a"], 1) || !near(star.Centrality["b"], 4.0/7) {
		t.Errorf("star centrality %v", star.Centrality)
	}
	line := topology(t, "a b c d", "a-b b-c c-d")
	if !(line.Centrality["b"] > line.Centrality["a"]) || !near(line.Centrality["b"], line.Centrality["c"]) || !near(line.Centrality["a"], 0.5) {
		t.Errorf("line centrality %v", line.Centrality)
	}
	// Wasserman-Faust: a pair cut off from three others is less central
	// than a connected pair alone.
	split := topology(t, "a b c d e", "a-b b-c a-c d-e")
	if !near(split.Centrality["d"], 0.25) || !near(split.Centrality["a"], 0.5) {
		t.Errorf("split centrality %v", split.Centrality)
	}
	alone := topology(t, "a", "")
	if alone.Centrality["a"] != 1 || len(alone.Partitions) != 1 {
		t.Errorf("single node %+v", alone)
	}
	if v := NewNetwork().View(nil); len(v.Partitions) != 0 || v.Risk.Score != 0 {
		t.Errorf("empty view %+v", v)
	}
}

// Smoothed round trips follow RFC 6298's gain of 1/8 exactly, per link;
// a node's latency is the median over its links.
func TestSmoothedLatency(t *testing.T) {
	nw := NewNetwork()
	obs := func(a, b string, rtt time.Duration) {
		if err := nw.Observe(Observation{From: manager.NodeID(a), To: manager.NodeID(b), Reachable: true, RTT: rtt}); err != nil {
			t.Fatal(err)
		}
	}
	obs("a", "b", 8*time.Millisecond)
	obs("b", "a", 16*time.Millisecond) // either direction feeds the link
	want := 8*time.Millisecond + (16*time.Millisecond-8*time.Millisecond)/8
	if v := nw.View(ids("a b")); v.Latency["a"] != want || v.Latency["b"] != want {
		t.Fatalf("latency %v, want %v", v.Latency, want)
	}
	// A down observation does not move the average.
	nw.Observe(Observation{From: "a", To: "b"})
	v := nw.View(ids("a b"))
	if v.Latency["a"] != want || len(v.Links) != 0 || v.Reliability["a"] != 2.0/3 {
		t.Fatalf("after a failure: %+v", v)
	}
	// One slow node: its links are slow, but the fast nodes' medians stay fast.
	nw = NewNetwork()
	base := map[string]int{"a": 1, "b": 2, "c": 3, "d": 4, "e": 400}
	for x, bx := range base {
		for y, by := range base {
			if x < y {
				obs(x, y, time.Duration(bx+by)*time.Millisecond)
			}
		}
	}
	v = nw.View(ids("a b c d e"))
	for id, want := range map[manager.NodeID]time.Duration{"a": 4 * time.Millisecond, "b": 5 * time.Millisecond, "c": 5 * time.Millisecond, "d": 6 * time.Millisecond, "e": 402 * time.Millisecond} {
		if v.Latency[id] != want {
			t.Errorf("latency[%s] = %v, want %v", id, v.Latency[id], want)
		}
	}
	if v.Coverage != 1 {
		t.Errorf("coverage %v", v.Coverage)
	}
	if v := nw.View(ids("a b z")); v.Coverage != 1.0/3 {
		t.Errorf("coverage with an unobserved node %v", v.Coverage)
	}
}

func TestObserveErrors(t *testing.T) {
	nw := NewNetwork()
	tests := []struct {
		o    Observation
		want string
	}{
		{Observation{To: "b", Reachable: true}, "From"},
		{Observation{From: "a", Reachable: true}, "To"},
		{Observation{From: "a", To: "a", Reachable: true}, "both"},
		{Observation{From: "a", To: "b", Reachable: true, RTT: -1}, "RTT"},
		{Observation{From: "a", To: "b", Reachable: true, RTT: MaxRTT + 1}, "RTT"},
	}
	for _, tt := range tests {
		if err := nw.Observe(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.o, err, tt.want)
		}
	}
	if v := nw.View(ids("a b")); len(v.Links) != 0 || v.Coverage != 0 {
		t.Errorf("refused observations were kept: %+v", v)
	}
	// The zero Network works too.
	var zero Network
	if err := zero.Observe(Observation{From: "a", To: "b", Reachable: true, RTT: time.Millisecond}); err != nil || len(zero.View(ids("a b")).Links) != 1 {
		t.Errorf("zero Network: %v", err)
	}
}

// Articulation points and bridges against brute force (remove and count
// components) on random graphs.
func TestArticulationBruteForce(t *testing.T) {
	rng, seed := newRand(t)
	for round := range suiteRounds(300) {
		n := 1 + rng.IntN(9)
		adj := make([][]int, n)
		p := rng.Float64()
		var edges [][2]int
		for i := range n {
			for j := i + 1; j < n; j++ {
				if rng.Float64() < p {
					adj[i] = append(adj[i], j)
					adj[j] = append(adj[j], i)
					edges = append(edges, [2]int{i, j})
				}
			}
		}
		base := len(components(adj, -1))
		cut, bridges := articulation(adj)
		for i := range n {
			// A cut node leaves more components behind than there were
			// (removing a lone node leaves fewer, a leaf as many).
			isCut := len(components(adj, i)) > base
			if slices.Contains(cut, i) != isCut {
				t.Fatalf("seed %d round %d: node %d cut %v, brute force %v (adj %v)", seed, round, i, slices.Contains(cut, i), isCut, adj)
			}
		}
		for _, e := range edges {
			without := make([][]int, n)
			for i := range adj {
				without[i] = slices.DeleteFunc(slices.Clone(adj[i]), func(j int) bool {
					return (i == e[0] && j == e[1]) || (i == e[1] && j == e[0])
				})
			}
			isBridge := len(components(without, -1)) > base
			found := slices.ContainsFunc(bridges, func(b [2]int) bool {
				return (b[0] == e[0] && b[1] == e[1]) || (b[0] == e[1] && b[1] == e[0])
			})
			if found != isBridge {
				t.Fatalf("seed %d round %d: edge %v bridge %v, brute force %v", seed, round, e, found, isBridge)
			}
		}
	}
}

func ExampleNetwork() {
	nw := NewNetwork()
	for _, l := range [][2]manager.NodeID{{"a", "b"}, {"b", "c"}, {"a", "c"}, {"d", "e"}} {
		nw.Observe(Observation{From: l[0], To: l[1], Reachable: true, RTT: 2 * time.Millisecond})
	}
	nw.Observe(Observation{From: "c", To: "d", Reachable: false})
	v := nw.View([]manager.NodeID{"a", "b", "c", "d", "e"})
	fmt.Println(v.Partitions, v.Risk.Score)
	fmt.Println(v.Risk.Reasons[0])
	// Output:
	// [[a b c] [d e]] 1
	// partitioned now into 2 groups; 2 of 5 nodes are cut off from the largest
}
