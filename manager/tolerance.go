package manager

import "slices"

// Tolerance is how many failures a configuration survives, as
// raft-autopilot reports it: failure tolerance is healthy voters minus the
// quorum size.
type Tolerance struct {
	Voters  int `json:"voters"`  // voters of the current (incoming) quorum system
	Healthy int `json:"healthy"` // Active voters, of either half in a joint phase
	Quorum  int `json:"quorum"`  // fewest voters that can form a quorum (incoming)
	// Crash is how many more healthy voters may stop, whichever they are,
	// with a quorum left among the rest. Negative when the healthy voters
	// hold no quorum now: minus the voters missing (at least 1). Without
	// weights, domains or a tie-breaker it is exactly Healthy - Quorum;
	// with a tie-breaker it may be less (losing it and one more of four
	// voters leaves no quorum).
	Crash int `json:"crash"`
	// Byzantine is how many voters may lie without two quorums losing an
	// honest common voter; 0 under the crash rule.
	Byzantine int `json:"byzantine"`
	// Domains reports each failure domain, by name.
	Domains []DomainTolerance `json:"domains"`
	// SurvivesDomainLoss: losing every voter of any one domain leaves the
	// healthy rest a quorum.
	SurvivesDomainLoss bool `json:"survives_domain_loss"`
	// LargestDomain is the domain with the most votes (then the most voters,
	// then the first name); SurvivesLargestDomainLoss whether its loss
	// leaves a quorum.
	LargestDomain             string `json:"largest_domain"`               // its name
	SurvivesLargestDomainLoss bool   `json:"survives_largest_domain_loss"` // whether its loss leaves a quorum
}

// DomainTolerance is one failure domain's share of the configuration and
// what losing it would do.
type DomainTolerance struct {
	// Domain is the domain's name, or "(id)" for a voter without one.
	Domain  string `json:"domain"`
	Voters  int    `json:"voters"`  // voters in the domain (either half)
	Healthy int    `json:"healthy"` // of them Active
	Weight  uint64 `json:"weight"`  // incoming votes, milli-votes
	// SurvivesLoss: without this domain the healthy voters keep a quorum.
	SurvivesLoss bool `json:"survives_loss"`
	// Margin is Tolerance.Crash after losing this domain.
	Margin int `json:"margin"`
}

// Tolerance computes the configuration's failure tolerance.
func (c Config) Tolerance() Tolerance {
	qs := c.systems()
	in := qs[0]
	healthy := c.Healthy()
	t := Tolerance{Voters: len(in.Voters), Healthy: len(healthy), Quorum: in.MinSize()}
	t.Crash = crashTolerance(qs, healthy)
	t.Byzantine = in.byzantineFaults()
	if c.Outgoing != nil {
		t.Byzantine = min(t.Byzantine, c.Outgoing.byzantineFaults())
	}

	// Every node voting in either half belongs to one domain.
	byDomain := map[string]*DomainTolerance{}
	members := map[string][]NodeID{}
	var keys []string
	for _, n := range c.Nodes {
		if !n.Voting() && (c.Outgoing == nil || !c.Outgoing.Has(n.ID)) {
			continue
		}
		k := domainKey(n.ID, n.Domain)
		d, ok := byDomain[k]
		if !ok {
			d = &DomainTolerance{Domain: domainName(k)}
			byDomain[k] = d
			keys = append(keys, k)
		}
		d.Voters++
		if n.State == Active {
			d.Healthy++
		}
		if i := in.index(n.ID); i >= 0 {
			d.Weight += in.value(in.Voters[i])
		}
		members[k] = append(members[k], n.ID)
	}
	slices.Sort(keys)
	t.SurvivesDomainLoss = len(keys) > 0
	var largest *DomainTolerance
	for _, k := range keys {
		d := byDomain[k]
		rest := slices.DeleteFunc(slices.Clone(healthy), func(id NodeID) bool { return slices.Contains(members[k], id) })
		d.Margin = crashTolerance(qs, rest)
		d.SurvivesLoss = d.Margin >= 0
		t.SurvivesDomainLoss = t.SurvivesDomainLoss && d.SurvivesLoss
		if largest == nil || d.Weight > largest.Weight || (d.Weight == largest.Weight && d.Voters > largest.Voters) {
			largest = d
		}
		t.Domains = append(t.Domains, *d)
	}
	if largest != nil {
		t.LargestDomain = largest.Domain
		t.SurvivesLargestDomainLoss = largest.SurvivesLoss
	}
	return t
}

// crashTolerance is Tolerance.Crash for the healthy voters under every
// quorum system in qs (a joint phase needs a quorum of each; losing one
// half's quorum loses the decision).
func crashTolerance(qs []Quorum, healthy []NodeID) int {
	tol := maxMembers
	for _, q := range qs {
		in := make([]bool, len(q.Voters))
		have := 0
		for _, id := range healthy {
			if i := q.index(id); i >= 0 && !in[i] {
				in[i] = true
				have++
			}
		}
		if q.tally(in).Quorate {
			tol = min(tol, q.minBreak(in)-1)
		} else {
			tol = min(tol, min(-1, have-q.MinSize()))
		}
	}
	return tol
}
