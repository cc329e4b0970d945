package manager

// Metrics is a snapshot of what a service would export about its quorum.
type Metrics struct {
	Epoch   uint64 `json:"epoch"`          // the configuration in force
	Joint   bool   `json:"joint"`          // in a joint phase
	Members int    `json:"members"`        // voters, standbys and leaving members
	Voters  int    `json:"voters"`         // incoming voters
	Healthy int    `json:"healthy_voters"` // Active voters of either half
	// Quorum is the fewest voters that form a quorum; Threshold and
	// TotalWeight the votes a quorum needs and all votes, HealthyWeight the
	// healthy voters' votes (milli-votes).
	Quorum        int    `json:"quorum"`
	Threshold     uint64 `json:"threshold"`      // milli-votes
	TotalWeight   uint64 `json:"total_weight"`   // milli-votes
	HealthyWeight uint64 `json:"healthy_weight"` // milli-votes
	// Tolerance is the failure-tolerance margin (Tolerance.Crash);
	// NearLoss is true when it is 0 or less: one more failure (or none)
	// loses the quorum.
	Tolerance          int               `json:"tolerance"`
	NearLoss           bool              `json:"quorum_near_loss"`     // Tolerance <= 0
	SurvivesDomainLoss bool              `json:"survives_domain_loss"` // any one domain may go
	Domains            []DomainTolerance `json:"domains"`              // per failure domain
	// Decisions by verdict, from Manager.Decide.
	DecisionsQuorate    uint64 `json:"decisions_quorate"`
	DecisionsSplitBrain uint64 `json:"decisions_split_brain"` // Forked kernel results
	DecisionsNoQuorum   uint64 `json:"decisions_no_quorum"`   // chains short of a quorum
	DecisionsNoCopy     uint64 `json:"decisions_no_copy"`     // quorate, but only witnesses were at the head
	// Adjustments completed, rolled back, and refused.
	Adjustments uint64 `json:"adjustments"`
	Rollbacks   uint64 `json:"rollbacks"` // adjustments undone after failed verification
	Refusals    uint64 `json:"refusals"`  // adjustments refused at validation
}

// Metrics returns a snapshot of the manager's metrics.
func (m *Manager) Metrics() Metrics {
	m.mu.Lock()
	cfg := m.cfg.Clone()
	c := m.counters
	m.mu.Unlock()

	q := cfg.Quorum()
	t := cfg.Tolerance()
	healthy := cfg.Healthy()
	met := Metrics{
		Epoch: cfg.Epoch, Joint: cfg.Joint(), Members: len(cfg.Nodes), Voters: len(q.Voters), Healthy: t.Healthy,
		Quorum: t.Quorum, Threshold: q.Threshold(), TotalWeight: q.TotalWeight(), HealthyWeight: q.Tally(healthy).Weight,
		Tolerance: t.Crash, NearLoss: t.Crash <= 0, SurvivesDomainLoss: t.SurvivesDomainLoss, Domains: t.Domains,
		DecisionsQuorate: m.decided[Quorate].Load(), DecisionsSplitBrain: m.decided[SplitBrain].Load(), DecisionsNoQuorum: m.decided[NoQuorum].Load(),
		DecisionsNoCopy: m.decided[NoCopy].Load(),
		Adjustments:     c.adjustments, Rollbacks: c.rollbacks, Refusals: c.refused,
	}
	return met
}
