package advice

import (
	"github.com/lockstep/quorum/manager"

	"cmp"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Observation is one probe between two nodes, as the caller measured it.
type Observation struct {
	From, To manager.NodeID // the prober and the probed
	// Reachable: the probe was answered. When false RTT is ignored.
	Reachable bool
	// RTT is the round trip, 0 to MaxRTT.
	RTT time.Duration
}

// MaxRTT is the longest round trip an observation may report; longer is
// treated as a caller bug rather than a slow link.
const MaxRTT = time.Hour

// Link is an undirected pair of nodes, A < B.
type Link struct {
	A, B manager.NodeID // the two ends, A < B
}

func linkOf(a, b manager.NodeID) Link {
	if b < a {
		a, b = b, a
	}
	return Link{a, b}
}

// linkState is what is known of one link.
type linkState struct {
	srtt    time.Duration // smoothed round trip
	samples int           // reachable observations folded into srtt
	// last[d] is the last word on direction d (0: A to B, 1: B to A):
	// 0 unknown, 1 up, 2 down. The link is up when no direction is down.
	last     [2]uint8
	up, fail int // observations answered and not
}

// Network keeps the caller's observations of the links between nodes: a
// smoothed round trip per link (an exponentially weighted moving average
// with gain 1/8, as TCP's SRTT in RFC 6298) and whether each link is up
// (the last observation in either direction). It is safe for concurrent use.
type Network struct {
	mu    sync.Mutex
	links map[Link]*linkState
}

// NewNetwork returns a Network with no observations.
func NewNetwork() *Network { return &Network{links: map[Link]*linkState{}} }

// Observe folds one observation in. It refuses empty or equal node IDs and
// round trips outside 0 to MaxRTT.
func (nw *Network) Observe(o Observation) error {
	if err := checkID("observation From", o.From); err != nil {
		return err
	}
	if err := checkID("observation To", o.To); err != nil {
		return err
	}
	if o.From == o.To {
		return fmt.Errorf("manager: observation From and To are both %q", o.From)
	}
	if o.Reachable && (o.RTT < 0 || o.RTT > MaxRTT) {
		return fmt.Errorf("manager: observation RTT must be from 0 to %v, got %v", MaxRTT, o.RTT)
	}
	nw.mu.Lock()
	defer nw.mu.Unlock()
	if nw.links == nil {
		nw.links = map[Link]*linkState{}
	}
	l := linkOf(o.From, o.To)
	s := nw.links[l]
	if s == nil {
		s = &linkState{}
		nw.links[l] = s
	}
	dir := 0
	if o.From != l.A {
		dir = 1
	}
	if !o.Reachable {
		s.last[dir] = 2
		s.fail++
		return nil
	}
	s.last[dir] = 1
	s.up++
	if s.samples == 0 {
		s.srtt = o.RTT
	} else {
		s.srtt += (o.RTT - s.srtt) / 8
	}
	s.samples++
	return nil
}

// NetworkView is the network as seen among a set of nodes at one moment.
type NetworkView struct {
	Nodes []manager.NodeID `json:"nodes"` // sorted
	// Latency is each node's smoothed round trip: the median over its links
	// (the lower one of an even count), so one slow peer does not make a
	// fast node look slow. Absent when nothing was measured.
	Latency map[manager.NodeID]time.Duration `json:"latency"`
	// Links lists the links that are up.
	Links []Link `json:"links"`
	// Partitions are the connected components of the up links, largest
	// first (then by first ID). A node no one reached is a partition of
	// its own.
	Partitions [][]manager.NodeID `json:"partitions"`
	// Centrality is each node's closeness centrality over up links,
	// 0 to 1 (Wasserman-Faust, so it also shrinks with the node's
	// partition): central nodes reach the rest in few hops.
	Centrality map[manager.NodeID]float64 `json:"centrality"`
	// Reliability is the share of a node's observations that were
	// answered (1 when there are none yet).
	Reliability map[manager.NodeID]float64 `json:"reliability"`
	// Coverage is the share of node pairs with any observation: how much
	// of the view rests on evidence.
	Coverage float64 `json:"coverage"`
	Risk     Risk    `json:"risk"` // how likely the nodes are to split
}

// Risk is how likely the nodes are to split.
type Risk struct {
	// Score is 0 (no sign of risk) to 1 (partitioned now): 1 when
	// partitioned; else 0.75 when one link's loss would split them, 0.5
	// when one node's would; else up to 0.25 for the share of observed
	// links that are down.
	Score       float64 `json:"score"`
	Partitioned bool    `json:"partitioned"` // more than one partition now
	// CutNodes are nodes whose loss would split the rest (articulation
	// points); CutLinks links whose loss would (bridges).
	CutNodes []manager.NodeID `json:"cut_nodes"` // articulation points
	CutLinks []Link           `json:"cut_links"` // bridges
	// LargestCutOff is the most nodes one event (the present partition,
	// or losing one cut node or cut link) separates from the largest group.
	LargestCutOff int `json:"largest_cut_off"`
	// Reasons explain the score.
	Reasons []string `json:"reasons"`
}

// View computes the network among nodes (duplicates ignored).
func (nw *Network) View(nodes []manager.NodeID) NetworkView {
	ids := slices.Clone(nodes)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	v := NetworkView{
		Nodes:       ids,
		Latency:     map[manager.NodeID]time.Duration{},
		Centrality:  map[manager.NodeID]float64{},
		Reliability: map[manager.NodeID]float64{},
	}
	n := len(ids)
	if n == 0 {
		return v
	}
	adj := make([][]int, n)
	rtts := make([][]time.Duration, n)
	up, fail := make([]int, n), make([]int, n)
	observed, down, pairs := 0, 0, n*(n-1)/2

	nw.mu.Lock()
	for i := range ids {
		for j := i + 1; j < n; j++ {
			s := nw.links[Link{ids[i], ids[j]}]
			if s == nil {
				continue
			}
			observed++
			up[i] += s.up
			up[j] += s.up
			fail[i] += s.fail
			fail[j] += s.fail
			if s.samples > 0 {
				rtts[i] = append(rtts[i], s.srtt)
				rtts[j] = append(rtts[j], s.srtt)
			}
			if s.last[0] == 2 || s.last[1] == 2 || (s.last[0] == 0 && s.last[1] == 0) {
				down++
				continue
			}
			adj[i] = append(adj[i], j)
			adj[j] = append(adj[j], i)
			v.Links = append(v.Links, Link{ids[i], ids[j]})
		}
	}
	nw.mu.Unlock()

	v.Coverage = 1
	if pairs > 0 {
		v.Coverage = float64(observed) / float64(pairs)
	}
	for i, id := range ids {
		if len(rtts[i]) > 0 {
			slices.Sort(rtts[i])
			v.Latency[id] = rtts[i][(len(rtts[i])-1)/2]
		}
		v.Reliability[id] = 1
		if up[i]+fail[i] > 0 {
			v.Reliability[id] = float64(up[i]) / float64(up[i]+fail[i])
		}
	}

	comps := components(adj, -1)
	for _, c := range comps {
		p := make([]manager.NodeID, len(c))
		for k, i := range c {
			p[k] = ids[i]
		}
		v.Partitions = append(v.Partitions, p)
	}
	for i, id := range ids {
		v.Centrality[id] = closeness(adj, i)
	}
	v.Risk = risk(ids, adj, comps, observed, down)
	return v
}

// components returns the connected components of adj without node skip,
// each sorted, largest first, then by first node.
func components(adj [][]int, skip int) [][]int {
	n := len(adj)
	seen := make([]bool, n)
	var comps [][]int
	for s := range n {
		if seen[s] || s == skip {
			continue
		}
		seen[s] = true
		c := []int{s}
		for k := 0; k < len(c); k++ {
			for _, j := range adj[c[k]] {
				if !seen[j] && j != skip {
					seen[j] = true
					c = append(c, j)
				}
			}
		}
		slices.Sort(c)
		comps = append(comps, c)
	}
	slices.SortStableFunc(comps, func(a, b []int) int {
		if c := cmp.Compare(len(b), len(a)); c != 0 {
			return c
		}
		return cmp.Compare(a[0], b[0])
	})
	return comps
}

// closeness is Wasserman-Faust closeness: (r-1)/(n-1) * (r-1)/sum of
// distances, where r counts the nodes s reaches (itself included).
func closeness(adj [][]int, s int) float64 {
	n := len(adj)
	if n < 2 {
		return 1
	}
	dist := make([]int, n)
	for i := range dist {
		dist[i] = -1
	}
	dist[s] = 0
	queue := []int{s}
	sum := 0
	for k := 0; k < len(queue); k++ {
		u := queue[k]
		for _, w := range adj[u] {
			if dist[w] < 0 {
				dist[w] = dist[u] + 1
				sum += dist[w]
				queue = append(queue, w)
			}
		}
	}
	r := len(queue)
	if r < 2 {
		return 0
	}
	return float64(r-1) / float64(n-1) * float64(r-1) / float64(sum)
}

// risk scores how likely the nodes are to split, from the present
// components, articulation points and bridges.
func risk(ids []manager.NodeID, adj [][]int, comps [][]int, observed, down int) Risk {
	n := len(ids)
	var r Risk
	if len(comps) > 1 {
		r.Partitioned = true
		r.Score = 1
		r.LargestCutOff = n - len(comps[0])
		r.Reasons = append(r.Reasons, fmt.Sprintf("partitioned now into %d groups; %d of %d nodes are cut off from the largest",
			len(comps), r.LargestCutOff, n))
	}
	// Events inside the largest group cut off more of it; the nodes
	// already outside it stay cut off.
	largest := comps[0]
	outside := n - len(largest)
	inMain := func(i int) bool { _, ok := slices.BinarySearch(largest, i); return ok }
	cutNodes, cutLinks := articulation(adj)
	for _, i := range cutNodes {
		r.CutNodes = append(r.CutNodes, ids[i])
		if !inMain(i) {
			continue
		}
		// Losing i cuts off i and all but the largest group left.
		for _, c := range components(adj, i) {
			if inMain(c[0]) {
				r.LargestCutOff = max(r.LargestCutOff, outside+len(largest)-len(c))
				break
			}
		}
	}
	for _, l := range cutLinks {
		r.CutLinks = append(r.CutLinks, linkOf(ids[l[0]], ids[l[1]]))
		if !inMain(l[0]) {
			continue
		}
		// Losing a bridge cuts off its smaller side.
		side := reachWithout(adj, l[0], l[1])
		r.LargestCutOff = max(r.LargestCutOff, outside+min(side, len(largest)-side))
	}
	slices.SortFunc(r.CutLinks, func(a, b Link) int {
		if c := cmp.Compare(a.A, b.A); c != 0 {
			return c
		}
		return cmp.Compare(a.B, b.B)
	})
	if len(r.CutLinks) > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("losing one link would split the nodes: %s", linkList(r.CutLinks)))
		r.Score = max(r.Score, 0.75)
	}
	if len(r.CutNodes) > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("losing one node would split the rest: %s", joinIDs(r.CutNodes)))
		r.Score = max(r.Score, 0.5)
	}
	if observed > 0 && down > 0 {
		r.Reasons = append(r.Reasons, fmt.Sprintf("%d of %d observed links are down", down, observed))
		r.Score = max(r.Score, 0.25*float64(down)/float64(observed))
	}
	if len(r.Reasons) == 0 {
		r.Reasons = append(r.Reasons, "every node reaches every other over more than one path")
	}
	return r
}

// reachWithout counts the nodes s reaches without using the link s-t.
func reachWithout(adj [][]int, s, t int) int {
	seen := make([]bool, len(adj))
	seen[s] = true
	queue := []int{s}
	for k := 0; k < len(queue); k++ {
		u := queue[k]
		for _, w := range adj[u] {
			if (u == s && w == t) || (u == t && w == s) || seen[w] {
				continue
			}
			seen[w] = true
			queue = append(queue, w)
		}
	}
	return len(queue)
}

// articulation returns the articulation points and bridges of adj
// (Tarjan's low-link, with an explicit stack: no recursion).
func articulation(adj [][]int) (cutNodes []int, bridges [][2]int) {
	n := len(adj)
	disc, low := make([]int, n), make([]int, n)
	parent := make([]int, n)
	isCut := make([]bool, n)
	for i := range disc {
		disc[i] = -1
	}
	clock := 0
	type frame struct{ u, next, children int }
	for root := range n {
		if disc[root] >= 0 {
			continue
		}
		parent[root] = -1
		disc[root], low[root] = clock, clock
		clock++
		stack := []frame{{u: root}}
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.next < len(adj[f.u]) {
				w := adj[f.u][f.next]
				f.next++
				if disc[w] < 0 {
					parent[w] = f.u
					disc[w], low[w] = clock, clock
					clock++
					f.children++
					stack = append(stack, frame{u: w})
				} else if w != parent[f.u] {
					low[f.u] = min(low[f.u], disc[w])
				}
				continue
			}
			u, children := f.u, f.children
			stack = stack[:len(stack)-1]
			if p := parent[u]; p >= 0 {
				low[p] = min(low[p], low[u])
				if low[u] > disc[p] {
					bridges = append(bridges, [2]int{p, u})
				}
				if parent[p] >= 0 && low[u] >= disc[p] {
					isCut[p] = true
				}
			} else if children > 1 {
				isCut[u] = true
			}
		}
	}
	for i, c := range isCut {
		if c {
			cutNodes = append(cutNodes, i)
		}
	}
	return cutNodes, bridges
}

func linkList(ls []Link) string {
	var b []byte
	for i, l := range ls {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "%s-%s", l.A, l.B)
	}
	return string(b)
}

// errNoNodes is returned by strategies given a configuration without voters.
var errNoNodes = errors.New("manager: the configuration has no voters")
