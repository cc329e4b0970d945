package promtext

import (
	"github.com/lockstep/quorum/cluster/consensus"
	"github.com/lockstep/quorum/manager"
)

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
			verdict("quorate", m.DecisionsQuorate), verdict("split_brain", m.DecisionsSplitBrain), verdict("no_quorum", m.DecisionsNoQuorum), verdict("no_copy", m.DecisionsNoCopy),
		}},
		one("adjustments_total", "counter", "Adjustments completed.", float64(m.Adjustments)),
		one("rollbacks_total", "counter", "Adjustments undone after failed verification.", float64(m.Rollbacks)),
		one("refusals_total", "counter", "Adjustments refused at validation.", float64(m.Refusals)),
	}
}

// Raft returns a replicated member's raft numbers as metrics, under the
// names consensus.Metrics.WritePrometheus uses, with the member label the
// manager's metrics carry so that both join on it.
func Raft(member string, m consensus.Metrics) []Metric {
	l := []Label{{"member", member}}
	one := func(name, typ, help string, v float64) Metric {
		return Metric{Name: "lockstep_quorum_raft_" + name, Type: typ, Help: help, Samples: []Sample{{Labels: l, Value: v}}}
	}
	leader := 0.0
	if m.Leader {
		leader = 1
	}
	return []Metric{
		one("term", "counter", "The current raft term.", float64(m.Term)),
		one("last_index", "gauge", "The last raft log index.", float64(m.LastIndex)),
		one("commit_index", "gauge", "The last raft log index known committed.", float64(m.CommitIndex)),
		one("applied_index", "gauge", "The last raft log index applied to the configuration.", float64(m.AppliedIndex)),
		one("last_contact_seconds", "gauge", "Seconds since the leader was heard from (0 on the leader, -1 never).", m.LastContactSeconds),
		one("leader", "gauge", "1 if this member is the raft leader.", leader),
		one("voters", "gauge", "Raft voters in the latest configuration.", float64(m.Voters)),
		one("non_voters", "gauge", "Raft non-voters in the latest configuration.", float64(m.NonVoters)),
		one("epoch", "gauge", "The configuration epoch applied on this member.", float64(m.Epoch)),
	}
}
