package promtext

import "github.com/lockstep/quorum/manager"

// Quorum returns a manager's Metrics as metrics labelled member="name".
func Quorum(member string, m manager.Metrics) []Metric {
	l := []Label{{"member", member}}
	one := func(name, typ, help string, v float64) Metric {
		return Metric{Name: "lockstep_quorum_" + name, Type: typ, Help: help, Samples: []Sample{{Labels: l, Value: v}}}
	}
	verdict := func(v string, n uint64) Sample {
		return Sample{Labels: []Label{{"member", member}, {"verdict", v}}, Value: float64(n)}
	}
	joint := 0.0
	if m.Joint {
		joint = 1
	}
	return []Metric{
		one("epoch", "gauge", "The epoch of the configuration in force.", float64(m.Epoch)),
		one("joint", "gauge", "1 during a joint phase, else 0.", joint),
		one("members", "gauge", "Members: voters, standbys and leaving members.", float64(m.Members)),
		one("voters", "gauge", "Incoming voters.", float64(m.Voters)),
		one("healthy_voters", "gauge", "Active voters of either half.", float64(m.Healthy)),
		one("quorum", "gauge", "The fewest voters that form a quorum.", float64(m.Quorum)),
		one("tolerance", "gauge", "Further crash failures the healthy voters survive (negative: no quorum).", float64(m.Tolerance)),
		{Name: "lockstep_quorum_decisions_total", Type: "counter", Help: "Decisions made (Manager.Decide), by verdict.", Samples: []Sample{
			verdict("quorate", m.DecisionsQuorate), verdict("split_brain", m.DecisionsSplitBrain), verdict("no_quorum", m.DecisionsNoQuorum),
		}},
		one("adjustments_total", "counter", "Adjustments completed.", float64(m.Adjustments)),
		one("rollbacks_total", "counter", "Adjustments undone after failed verification.", float64(m.Rollbacks)),
		one("refusals_total", "counter", "Adjustments refused at validation.", float64(m.Refusals)),
	}
}
