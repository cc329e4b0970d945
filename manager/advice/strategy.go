package advice

import (
	"github.com/lockstep/quorum/manager"

	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Targets are the service levels a recommendation aims for; zero fields
// are not targeted.
type Targets struct {
	// MaxLatency: the preferred quorum's slowest member should answer within it.
	MaxLatency time.Duration
	// MinBandwidthMbps: the preferred quorum's members should have at least it.
	MinBandwidthMbps int
}

// Input is what a strategy reads: the configuration, the network among its
// members, and the targets.
type Input struct {
	Config  manager.Config // the configuration in force
	Network NetworkView    // the network among its members
	Targets Targets        // what to aim for
}

// Strategy recommends a quorum for the conditions in Input. It changes
// nothing: a recommendation's Proposal takes effect only through
// Manager.Adjust, which applies the safety rules.
type Strategy interface {
	Name() string
	Recommend(in Input) (Recommendation, error)
}

// Recommendation is one strategy's advice.
type Recommendation struct {
	Strategy string `json:"strategy"` // the strategy's Name
	// Quorum is the fewest voters that form a quorum under Proposal, and
	// Threshold the votes a quorum needs (milli-votes).
	Quorum    int    `json:"quorum"`    // voters
	Threshold uint64 `json:"threshold"` // milli-votes
	// Nodes is the preferred quorum, in preference order: the voters to
	// send to (or wait for) first. Empty when no quorum is reachable.
	Nodes []manager.NodeID `json:"nodes"`
	// Proposal is the quorum system to adopt; Changed reports whether it
	// differs from the current one.
	Proposal manager.Proposal `json:"proposal"` // for manager.Manager.Adjust
	Changed  bool             `json:"changed"`  // manager.Proposal differs from the quorum system in force
	// Confidence is 0 to 1: how much of the advice rests on evidence.
	Confidence float64 `json:"confidence"`
	// Reasoning explains the advice, one finding per line.
	Reasoning []string `json:"reasoning"`
	Impact    Impact   `json:"impact"` // what adopting it is expected to do
}

// Impact is what adopting a recommendation is expected to do.
type Impact struct {
	// Tolerance is Tolerance.Crash under the proposal; ToleranceChange the
	// difference from now.
	Tolerance       int `json:"tolerance"`        // crash failures survived
	ToleranceChange int `json:"tolerance_change"` // versus now
	// Latency is the preferred quorum's slowest smoothed latency: the
	// expected commit latency (0 when unknown).
	Latency time.Duration `json:"latency"`
	// SurvivesDomainLoss under the proposal.
	SurvivesDomainLoss bool   `json:"survives_domain_loss"`
	Summary            string `json:"summary"` // the above in one line, for people
}

// Strategies returns the built-in strategies, hybrid first.
func Strategies() []Strategy {
	return []Strategy{HybridStrategy{}, NetworkStrategy{}, PerformanceStrategy{}, FaultToleranceStrategy{}}
}

// Built-in strategy names.
const (
	NetworkName        = "network"
	PerformanceName    = "performance"
	FaultToleranceName = "fault-tolerance"
	HybridName         = "hybrid"
)

// analysis is what every strategy derives from its input first.
type analysis struct {
	in    Input
	cfg   manager.Config
	q     manager.Quorum
	tol   manager.Tolerance
	live  []manager.NodeID // manager.Active or manager.Suspect voters, by ID
	nodes map[manager.NodeID]manager.Node
}

func analyze(in Input) (*analysis, error) {
	if err := in.Config.Validate(); err != nil {
		return nil, err
	}
	a := &analysis{in: in, cfg: in.Config, q: in.Config.Quorum(), tol: in.Config.Tolerance(), nodes: map[manager.NodeID]manager.Node{}}
	if len(a.q.Voters) == 0 {
		return nil, errNoNodes
	}
	for _, n := range a.cfg.Nodes {
		a.nodes[n.ID] = n
		if n.Voting() && (n.State == manager.Active || n.State == manager.Suspect) {
			a.live = append(a.live, n.ID)
		}
	}
	return a, nil
}

func (a *analysis) latency(id manager.NodeID) (time.Duration, bool) {
	d, ok := a.in.Network.Latency[id]
	return d, ok
}

// byLatency orders known latencies first, fastest first, then by ID.
func (a *analysis) byLatency(x, y manager.NodeID) int {
	dx, okx := a.latency(x)
	dy, oky := a.latency(y)
	switch {
	case okx && !oky:
		return -1
	case !okx && oky:
		return 1
	case okx && dx != dy:
		return cmp.Compare(dx, dy)
	}
	return cmp.Compare(x, y)
}

// slow reports whether a voter's latency is more than twice the median of
// the live voters' (and at least 1ms above it), and the median.
func (a *analysis) slow(id manager.NodeID) (bool, time.Duration) {
	var lats []time.Duration
	for _, v := range a.live {
		if d, ok := a.latency(v); ok {
			lats = append(lats, d)
		}
	}
	d, ok := a.latency(id)
	if !ok || len(lats) == 0 {
		return false, 0
	}
	slices.Sort(lats)
	median := lats[(len(lats)-1)/2]
	return d > 2*median && d-median >= time.Millisecond, median
}

// needs describes what a quorum of cfg needs.
func needs(cfg manager.Config) string {
	q := cfg.Quorum()
	var s string
	if q.Rule.Weighted {
		s = fmt.Sprintf("a quorum needs %s of %s votes (%s)", votes(q.Threshold()), votes(q.TotalWeight()), q.Rule)
	} else {
		s = fmt.Sprintf("a quorum needs %d of %d voters (%s)", q.MinSize(), len(q.Voters), q.Rule)
	}
	if cfg.Joint() {
		s += ", and a quorum of the outgoing voters (joint phase)"
	}
	return s
}

// pick takes nodes in order until they hold a quorum of cfg; nil if they
// never do.
func pick(cfg manager.Config, order []manager.NodeID) []manager.NodeID {
	var got []manager.NodeID
	for _, id := range order {
		got = append(got, id)
		if cfg.IsQuorum(got) {
			return got
		}
	}
	return nil
}

// finish fills in what every recommendation derives from its proposal.
func (a *analysis) finish(r *Recommendation, target manager.Config) {
	tq := target.Quorum()
	r.Quorum = tq.MinSize()
	r.Threshold = tq.Threshold()
	r.Changed = !a.cfg.SameQuorums(target)
	tt := target.Tolerance()
	r.Impact.Tolerance = tt.Crash
	r.Impact.ToleranceChange = tt.Crash - a.tol.Crash
	r.Impact.SurvivesDomainLoss = tt.SurvivesDomainLoss
	for _, id := range r.Nodes {
		if d, ok := a.latency(id); ok {
			r.Impact.Latency = max(r.Impact.Latency, d)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tolerates %d crash failure(s) (%+d)", tt.Crash, r.Impact.ToleranceChange)
	if tt.SurvivesDomainLoss {
		b.WriteString("; survives losing any one domain")
	} else {
		b.WriteString("; losing some one domain loses the quorum")
	}
	if r.Impact.Latency > 0 {
		fmt.Fprintf(&b, "; commit latency about %v", roundLatency(r.Impact.Latency))
	}
	r.Impact.Summary = b.String()
	r.Confidence = min(max(r.Confidence, 0), 1)
}

func roundLatency(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}

func listLatencies(a *analysis, ids []manager.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		if d, ok := a.latency(id); ok {
			s[i] = fmt.Sprintf("%s %v", id, roundLatency(d))
		} else {
			s[i] = fmt.Sprintf("%s (latency unknown)", id)
		}
	}
	return strings.Join(s, ", ")
}

// PerformanceStrategy picks the smallest quorum of the fastest live voters
// that still meets the fault rule, and, under a weighted rule, proposes
// weights from capabilities and latency (WeightFor). Confidence is the
// share of voters that are live and have a measured latency, halved for
// each target missed.
type PerformanceStrategy struct{}

// Name returns "performance".
func (PerformanceStrategy) Name() string { return PerformanceName }

// Recommend implements Strategy.
func (PerformanceStrategy) Recommend(in Input) (Recommendation, error) {
	a, err := analyze(in)
	if err != nil {
		return Recommendation{}, err
	}
	r := Recommendation{Strategy: PerformanceName, Proposal: a.cfg.Proposal()}
	if a.cfg.Rule.Weighted {
		for i, v := range r.Proposal.Voters {
			d, ok := a.latency(v.ID)
			r.Proposal.Voters[i].Weight = WeightFor(a.nodes[v.ID].Capabilities, d, ok)
		}
	}
	target, err := a.cfg.WithProposal(r.Proposal)
	if err != nil {
		return Recommendation{}, err
	}
	bw := in.Targets.MinBandwidthMbps
	order := slices.Clone(a.live)
	slices.SortFunc(order, func(x, y manager.NodeID) int {
		nx, ny := a.nodes[x], a.nodes[y]
		if bx, by := nx.Capabilities.BandwidthMbps >= bw, ny.Capabilities.BandwidthMbps >= bw; bx != by {
			if bx {
				return -1
			}
			return 1
		}
		if nx.State != ny.State {
			return cmp.Compare(nx.State, ny.State) // manager.Active first
		}
		return a.byLatency(x, y)
	})
	r.Nodes = pick(target, order)
	r.Reasoning = append(r.Reasoning, needs(target))
	known := 0
	for _, id := range a.live {
		if _, ok := a.latency(id); ok {
			known++
		}
	}
	r.Confidence = float64(known) / float64(len(a.q.Voters))
	if r.Nodes == nil {
		r.Reasoning = append(r.Reasoning, fmt.Sprintf("only %d of %d voters are live: no quorum until a voter recovers",
			len(a.live), len(a.q.Voters)))
		r.Confidence = 0
		a.finish(&r, target)
		return r, nil
	}
	r.Reasoning = append(r.Reasoning, "fastest quorum: "+listLatencies(a, r.Nodes))

	// Call out the slow and the dead that the quorum leaves behind.
	for _, v := range a.q.Voters {
		if slices.Contains(r.Nodes, v.ID) {
			continue
		}
		if a.nodes[v.ID].State == manager.Failed {
			r.Reasoning = append(r.Reasoning, fmt.Sprintf("%s is failed: left out", v.ID))
			continue
		}
		if slow, median := a.slow(v.ID); slow {
			d, _ := a.latency(v.ID)
			line := fmt.Sprintf("%s is slow (%v, median %v): left out of the preferred quorum", v.ID, roundLatency(d), roundLatency(median))
			if tq := target.Quorum(); a.cfg.Rule.Weighted && tq.Has(v.ID) {
				line += fmt.Sprintf("; its weight becomes %v", voterWeight(tq, v.ID))
			}
			r.Reasoning = append(r.Reasoning, line)
		}
	}
	slowest := time.Duration(0)
	for _, id := range r.Nodes {
		if d, ok := a.latency(id); ok {
			slowest = max(slowest, d)
		}
	}
	if t := in.Targets.MaxLatency; t > 0 {
		if slowest <= t {
			r.Reasoning = append(r.Reasoning, fmt.Sprintf("meets the %v latency target (slowest member %v)", t, roundLatency(slowest)))
		} else {
			r.Reasoning = append(r.Reasoning, fmt.Sprintf("misses the %v latency target: no quorum answers faster than %v", t, roundLatency(slowest)))
			r.Confidence /= 2
		}
	}
	if bw > 0 {
		var short []manager.NodeID
		for _, id := range r.Nodes {
			if a.nodes[id].Capabilities.BandwidthMbps < bw {
				short = append(short, id)
			}
		}
		if len(short) == 0 {
			r.Reasoning = append(r.Reasoning, fmt.Sprintf("every member has the %d Mbps bandwidth target", bw))
		} else {
			r.Reasoning = append(r.Reasoning, fmt.Sprintf("misses the %d Mbps bandwidth target: %s fall short", bw, joinIDs(short)))
			r.Confidence /= 2
		}
	}
	a.finish(&r, target)
	return r, nil
}

// FaultToleranceStrategy spreads the preferred quorum across failure
// domains and proposes replacing failed voters with healthy standbys,
// preferring standbys in the domains with the fewest voters (at most
// (voters-1)/2 at once). Confidence grows with the share of voters whose
// failure domain is known.
type FaultToleranceStrategy struct{}

// Name returns "fault-tolerance".
func (FaultToleranceStrategy) Name() string { return FaultToleranceName }

// Recommend implements Strategy.
func (FaultToleranceStrategy) Recommend(in Input) (Recommendation, error) {
	a, err := analyze(in)
	if err != nil {
		return Recommendation{}, err
	}
	r := Recommendation{Strategy: FaultToleranceName}
	r.Proposal, r.Reasoning = a.replaceFailed(nil)
	target, err := a.cfg.WithProposal(r.Proposal)
	if err != nil {
		return Recommendation{}, err
	}
	r.Reasoning = append([]string{needs(target), a.toleranceLine()}, r.Reasoning...)
	r.Reasoning = append(r.Reasoning, a.domainLines()...)

	r.Nodes = pick(target, a.spread(target, nil, a.byLatency))
	if r.Nodes == nil {
		r.Reasoning = append(r.Reasoning, "no quorum of live voters exists: wait for a voter to recover")
	} else {
		r.Reasoning = append(r.Reasoning, fmt.Sprintf("preferred quorum spans %d domain(s): %s", countDomains(target, r.Nodes), a.withDomains(r.Nodes)))
	}
	named := 0
	for _, v := range a.q.Voters {
		if v.Domain != "" {
			named++
		}
	}
	r.Confidence = 0.4 + 0.6*float64(named)/float64(len(a.q.Voters))
	if r.Nodes == nil {
		r.Confidence = 0
	}
	a.finish(&r, target)
	return r, nil
}

func (a *analysis) toleranceLine() string {
	t := a.tol
	if t.Crash < 0 {
		return fmt.Sprintf("no quorum of healthy voters now: %d healthy, a quorum needs %d", t.Healthy, t.Quorum)
	}
	return fmt.Sprintf("tolerates %d crash failure(s) now (%d healthy voters, quorum %d)", t.Crash, t.Healthy, t.Quorum)
}

// domainLines reports which domain losses the configuration survives.
func (a *analysis) domainLines() []string {
	t := a.tol
	if len(t.Domains) == 0 {
		return nil
	}
	var lost []string
	for _, d := range t.Domains {
		if !d.SurvivesLoss {
			lost = append(lost, d.Domain)
		}
	}
	var largest manager.DomainTolerance
	for _, d := range t.Domains {
		if d.Domain == t.LargestDomain {
			largest = d
		}
	}
	line := fmt.Sprintf("losing the largest domain %s (%d voters) ", largest.Domain, largest.Voters)
	if largest.SurvivesLoss {
		line += fmt.Sprintf("keeps a quorum (margin %d)", largest.Margin)
	} else {
		line += "loses the quorum"
	}
	lines := []string{line}
	if len(lost) > 0 {
		lines = append(lines, "domains whose loss loses the quorum: "+strings.Join(lost, ", "))
	}
	return lines
}

// replaceFailed proposes each failed voter's replacement by a healthy
// standby (among allowed, or any when allowed is nil), and says so.
func (a *analysis) replaceFailed(allowed []manager.NodeID) (manager.Proposal, []string) {
	p := a.cfg.Proposal()
	var failed, standbys []manager.NodeID
	for _, n := range a.cfg.Nodes {
		switch {
		case n.Voting() && n.State == manager.Failed:
			failed = append(failed, n.ID)
		case n.Standby && n.State == manager.Active && (allowed == nil || slices.Contains(allowed, n.ID)):
			standbys = append(standbys, n.ID)
		}
	}
	if len(failed) == 0 {
		return p, nil
	}
	// Voters staying per domain, kept current as replacements are chosen:
	// a replacement goes where the fewest remain.
	perDomain := map[string]int{}
	for _, v := range p.Voters {
		if a.nodes[v.ID].State != manager.Failed {
			perDomain[domainKey(v.ID, a.nodes[v.ID].Domain)]++
		}
	}
	limit := (len(p.Voters) - 1) / 2
	var lines []string
	for _, f := range failed {
		if len(standbys) == 0 || limit == 0 {
			why := "no healthy standby"
			if limit == 0 && len(standbys) > 0 {
				why = "the (voters-1)/2 removal limit leaves no room"
			}
			lines = append(lines, fmt.Sprintf("failed voter %s stays: %s; add a node to replace it", f, why))
			continue
		}
		slices.SortFunc(standbys, func(x, y manager.NodeID) int {
			dx, dy := domainKey(x, a.nodes[x].Domain), domainKey(y, a.nodes[y].Domain)
			if c := cmp.Compare(perDomain[dx], perDomain[dy]); c != 0 {
				return c
			}
			if c := cmp.Compare(CapabilityScore(a.nodes[y].Capabilities), CapabilityScore(a.nodes[x].Capabilities)); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		s := standbys[0]
		standbys = standbys[1:]
		limit--
		i := slices.IndexFunc(p.Voters, func(v manager.Vote) bool { return v.ID == f })
		p.Voters[i] = manager.Vote{ID: s, Weight: a.nodes[f].Weight}
		perDomain[domainKey(s, a.nodes[s].Domain)]++
		lines = append(lines, fmt.Sprintf("replace failed voter %s%s with standby %s%s", f, a.inDomain(f), s, a.inDomain(s)))
	}
	slices.SortFunc(p.Voters, func(x, y manager.Vote) int { return cmp.Compare(x.ID, y.ID) })
	return p, lines
}

// spread orders the live voters of target (among allowed, or all when
// allowed is nil) round-robin across failure domains: one from each
// domain, then a second from each, so a quorum spans as many domains as
// it can. Voters within a domain come Active before Suspect, then in the
// order of less; domains in the order of their first voter.
func (a *analysis) spread(target manager.Config, allowed []manager.NodeID, less func(x, y manager.NodeID) int) []manager.NodeID {
	groups := map[string][]manager.NodeID{}
	var keys []string
	for _, v := range target.Quorum().Voters {
		n := a.nodes[v.ID]
		if n.State != manager.Active && n.State != manager.Suspect || (allowed != nil && !slices.Contains(allowed, v.ID)) {
			continue
		}
		k := domainKey(v.ID, v.Domain)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], v.ID)
	}
	order := func(x, y manager.NodeID) int {
		if sx, sy := a.nodes[x].State, a.nodes[y].State; sx != sy {
			return cmp.Compare(sx, sy)
		}
		return less(x, y)
	}
	for _, k := range keys {
		slices.SortFunc(groups[k], order)
	}
	slices.SortFunc(keys, func(x, y string) int {
		if c := order(groups[x][0], groups[y][0]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	var out []manager.NodeID
	for round := 0; ; round++ {
		added := false
		for _, k := range keys {
			if round < len(groups[k]) {
				out = append(out, groups[k][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out
}

// inDomain is " (domain)" for a node with one, else "".
func (a *analysis) inDomain(id manager.NodeID) string {
	if d := a.nodes[id].Domain; d != "" {
		return " (" + d + ")"
	}
	return ""
}

func countDomains(cfg manager.Config, ids []manager.NodeID) int {
	seen := map[string]bool{}
	for _, id := range ids {
		if n, ok := cfg.Node(id); ok {
			seen[domainKey(n.ID, n.Domain)] = true
		}
	}
	return len(seen)
}

func (a *analysis) withDomains(ids []manager.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprintf("%s (%s)", id, domainName(domainKey(id, a.nodes[id].Domain)))
	}
	return strings.Join(s, ", ")
}

// NetworkStrategy keeps decisions within the group of connected voters that
// can hold a quorum, prefers the best-connected voters of it, and says
// whether the voters left by the largest likely partition still reach the
// threshold (liveness only: safety never rests on a partition prediction).
// Under a weighted rule it proposes the design's network weights: a score
// of 30 for links up out of all possible, 25 for
// centrality, 25 for reliability and 20 for domain diversity, scaled by
// latency as in WeightFor. It never proposes shrinking the membership to
// regain a quorum: in a partition that is how both sides come to decide.
// Confidence is the share of node pairs observed, less half the partition
// risk.
type NetworkStrategy struct{}

// Name returns "network".
func (NetworkStrategy) Name() string { return NetworkName }

// Recommend implements Strategy.
func (NetworkStrategy) Recommend(in Input) (Recommendation, error) {
	a, err := analyze(in)
	if err != nil {
		return Recommendation{}, err
	}
	r := Recommendation{Strategy: NetworkName, Proposal: a.cfg.Proposal()}
	scores := a.networkScores()
	if a.cfg.Rule.Weighted {
		for i, v := range r.Proposal.Voters {
			d, ok := a.latency(v.ID)
			r.Proposal.Voters[i].Weight = weightFrom(scores[v.ID], d, ok)
		}
	}
	target, err := a.cfg.WithProposal(r.Proposal)
	if err != nil {
		return Recommendation{}, err
	}
	r.Reasoning = append(r.Reasoning, needs(target))
	group, lines := a.quorumGroup(target)
	r.Reasoning = append(r.Reasoning, lines...)
	r.Reasoning = append(r.Reasoning, a.in.Network.Risk.Reasons...)
	r.Reasoning = append(r.Reasoning, a.partitionAwareLine(target))
	r.Confidence = a.in.Network.Coverage * (1 - a.in.Network.Risk.Score/2)
	if group != nil {
		order := slices.Clone(group)
		slices.SortFunc(order, func(x, y manager.NodeID) int {
			if c := cmp.Compare(scores[y], scores[x]); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		r.Nodes = pick(target, order)
		parts := make([]string, len(r.Nodes))
		for i, id := range r.Nodes {
			parts[i] = fmt.Sprintf("%s (score %d)", id, scores[id])
		}
		r.Reasoning = append(r.Reasoning, "best-connected quorum: "+strings.Join(parts, ", "))
	}
	a.finish(&r, target)
	return r, nil
}

// networkScores rates each voter 0..100 as the design's network strategy does.
func (a *analysis) networkScores() map[manager.NodeID]int {
	v := a.in.Network
	degree := map[manager.NodeID]int{}
	for _, l := range v.Links {
		degree[l.A]++
		degree[l.B]++
	}
	perDomain := map[string]int{}
	for _, x := range a.q.Voters {
		perDomain[domainKey(x.ID, x.Domain)]++
	}
	n := len(v.Nodes)
	scores := map[manager.NodeID]int{}
	for _, x := range a.q.Voters {
		s := 0.0
		if n > 1 {
			s += 30 * float64(degree[x.ID]) / float64(n-1)
		}
		s += 25 * v.Centrality[x.ID]
		rel, ok := v.Reliability[x.ID]
		if !ok {
			rel = 1
		}
		s += 25 * rel
		s += 20 / float64(perDomain[domainKey(x.ID, x.Domain)])
		scores[x.ID] = int(s + 0.5)
	}
	return scores
}

// quorumGroup returns the live voters of the one partition that holds a
// quorum of target (two cannot: quorums intersect), or nil, and says so.
func (a *analysis) quorumGroup(target manager.Config) ([]manager.NodeID, []string) {
	var groups [][]manager.NodeID
	for _, p := range a.in.Network.Partitions {
		var g []manager.NodeID
		for _, id := range p {
			if slices.Contains(a.live, id) {
				g = append(g, id)
			}
		}
		if len(g) > 0 {
			groups = append(groups, g)
		}
	}
	// Live voters the view does not cover are on their own.
	for _, id := range a.live {
		if !slices.Contains(a.in.Network.Nodes, id) {
			groups = append(groups, []manager.NodeID{id})
		}
	}
	if len(groups) == 1 {
		if target.IsQuorum(groups[0]) {
			return groups[0], []string{fmt.Sprintf("all %d live voters are connected", len(groups[0]))}
		}
		return nil, []string{fmt.Sprintf("the %d live voters are connected but hold no quorum: wait for a voter to recover", len(groups[0]))}
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = "{" + joinIDs(g) + "}"
	}
	line := "live voters are partitioned: " + strings.Join(names, " | ")
	for _, g := range groups {
		if target.IsQuorum(g) {
			return g, []string{line, fmt.Sprintf("only {%s} holds a quorum: decide there; the rest must catch up when the partition heals", joinIDs(g))}
		}
	}
	return nil, []string{line, "no group of connected voters holds a quorum: wait for the partition to heal; " +
		"removing unreachable voters now could let both sides decide (split-brain)"}
}

func (a *analysis) partitionAwareLine(target manager.Config) string {
	q := target.Quorum()
	n := len(q.Voters)
	cut := min(a.in.Network.Risk.LargestCutOff, n)
	// Only liveness is at stake: the fault rule's threshold is already a
	// majority of all n, so no partition prediction may lower it.
	t, err := manager.Threshold(n, q.Rule.Model)
	if cut == 0 {
		return "no single link or node failure cuts any node off"
	}
	if err != nil || q.Rule.Weighted || q.Rule.Domains {
		return fmt.Sprintf("the largest likely partition cuts off %d node(s)", cut)
	}
	if n-cut >= t {
		return fmt.Sprintf("if the largest likely partition cuts off %d node(s), the %d left still reach the quorum of %d", cut, n-cut, t)
	}
	return fmt.Sprintf("if the largest likely partition cuts off %d node(s), the %d left cannot reach the quorum of %d", cut, n-cut, t)
}

// HybridStrategy combines the other three: it keeps to the partition that
// holds a quorum (network), replaces failed voters with healthy standbys
// there (fault tolerance), proposes capability and latency weights under a
// weighted rule (performance), and orders the preferred quorum round-robin
// across failure domains with the fastest domains and voters first, slow
// voters (over twice the median latency) last.
// Confidence rests on the evidence it uses, not on running the others: the
// network strategy's (the share of node pairs observed, less half the
// partition risk) scaled by how many voters' latencies are known (half
// credit for none).
type HybridStrategy struct{}

// Name returns "hybrid".
func (HybridStrategy) Name() string { return HybridName }

// Recommend implements Strategy.
func (HybridStrategy) Recommend(in Input) (Recommendation, error) {
	a, err := analyze(in)
	if err != nil {
		return Recommendation{}, err
	}
	r := Recommendation{Strategy: HybridName}
	known := 0
	for _, v := range a.q.Voters {
		if _, ok := a.latency(v.ID); ok {
			known++
		}
	}
	r.Confidence = in.Network.Coverage * (1 - in.Network.Risk.Score/2) * (0.5 + 0.5*float64(known)/float64(len(a.q.Voters)))
	group, groupLines := a.quorumGroup(a.cfg)
	var reachable []manager.NodeID
	if group != nil {
		reachable = slices.Clone(group)
		for _, n := range a.cfg.Nodes {
			if n.Standby && a.sameGroup(n.ID, group) {
				reachable = append(reachable, n.ID)
			}
		}
	}
	var repl []string
	r.Proposal, repl = a.replaceFailed(reachable)
	if group == nil {
		r.Proposal = a.cfg.Proposal() // change nothing while no side can decide
		repl = nil
	}
	if a.cfg.Rule.Weighted {
		for i, v := range r.Proposal.Voters {
			d, ok := a.latency(v.ID)
			r.Proposal.Voters[i].Weight = WeightFor(a.nodes[v.ID].Capabilities, d, ok)
		}
	}
	target, err := a.cfg.WithProposal(r.Proposal)
	if err != nil {
		return Recommendation{}, err
	}
	r.Reasoning = append(r.Reasoning, needs(target), a.toleranceLine())
	r.Reasoning = append(r.Reasoning, groupLines...)
	r.Reasoning = append(r.Reasoning, repl...)
	r.Reasoning = append(r.Reasoning, a.domainLines()...)
	if group != nil {
		// Slow voters go last: spreading across domains is not worth
		// waiting for one.
		var fast, slow []manager.NodeID
		for _, id := range a.spread(target, reachable, a.byLatency) {
			if s, median := a.slow(id); s {
				slow = append(slow, id)
				d, _ := a.latency(id)
				r.Reasoning = append(r.Reasoning, fmt.Sprintf("%s is slow (%v, median %v): the preferred quorum takes it last", id, roundLatency(d), roundLatency(median)))
			} else {
				fast = append(fast, id)
			}
		}
		slices.SortStableFunc(slow, a.byLatency)
		r.Nodes = pick(target, append(fast, slow...))
	}
	if r.Nodes != nil {
		r.Reasoning = append(r.Reasoning, fmt.Sprintf("preferred quorum, fastest first across %d domain(s): %s",
			countDomains(target, r.Nodes), listLatencies(a, r.Nodes)))
	}
	a.finish(&r, target)
	return r, nil
}

// sameGroup reports whether id is in the network partition of group.
func (a *analysis) sameGroup(id manager.NodeID, group []manager.NodeID) bool {
	for _, p := range a.in.Network.Partitions {
		if slices.Contains(p, group[0]) {
			return slices.Contains(p, id)
		}
	}
	return false
}

// Best returns the recommendation with the highest confidence, the first
// on a tie, and false when recs is empty.
func Best(recs []Recommendation) (Recommendation, bool) {
	if len(recs) == 0 {
		return Recommendation{}, false
	}
	best := recs[0]
	for _, r := range recs[1:] {
		if r.Confidence > best.Confidence {
			best = r
		}
	}
	return best, true
}
