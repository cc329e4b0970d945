package advice

import (
	"errors"
	"fmt"

	"github.com/lockstep/quorum/manager"
)

// Advisor pairs a manager with what its caller observes of the network,
// and recommends quorum systems for the manager to judge. It never changes
// the manager: a Recommendation's Proposal takes effect only through
// Manager.Adjust, which applies the safety rules. Safe for concurrent use
// (Network is).
type Advisor struct {
	m   *manager.Manager
	net *Network
}

// New returns an advisor for m with no observations yet.
func New(m *manager.Manager) *Advisor { return &Advisor{m: m, net: NewNetwork()} }

// Observe feeds one network observation (see Network.Observe).
func (a *Advisor) Observe(o Observation) error { return a.net.Observe(o) }

// View returns the network among the manager's current members.
func (a *Advisor) View() NetworkView { return a.net.View(memberIDs(a.m.Config())) }

// Input returns what strategies read now: the configuration in force, the
// network among its members, and the targets.
func (a *Advisor) Input(t Targets) Input {
	cfg := a.m.Config()
	return Input{Config: cfg, Network: a.net.View(memberIDs(cfg)), Targets: t}
}

// Recommend runs the strategies (all built-in ones when none are given) on
// the current conditions and returns the most confident recommendation
// (the first on a tie).
func (a *Advisor) Recommend(t Targets, strategies ...Strategy) (Recommendation, error) {
	if len(strategies) == 0 {
		strategies = Strategies()
	}
	in := a.Input(t)
	var recs []Recommendation
	var firstErr error
	for _, s := range strategies {
		r, err := s.Recommend(in)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("advice: strategy %s: %w", s.Name(), err)
			}
			continue
		}
		recs = append(recs, r)
	}
	best, ok := Best(recs)
	if !ok {
		if firstErr == nil {
			firstErr = errors.New("advice: no strategy given")
		}
		return Recommendation{}, firstErr
	}
	return best, nil
}

// Describe is the configuration's Describe with each member's smoothed
// latency and centrality from the network view.
func (a *Advisor) Describe() string {
	cfg := a.m.Config()
	view := a.net.View(memberIDs(cfg))
	return cfg.DescribeColumns([]string{"LATENCY", "CENTRALITY"}, func(id manager.NodeID) []string {
		lat := "-"
		if d, ok := view.Latency[id]; ok {
			lat = roundLatency(d).String()
		}
		return []string{lat, fmt.Sprintf("%.2f", view.Centrality[id])}
	})
}

func memberIDs(cfg manager.Config) []manager.NodeID {
	ids := make([]manager.NodeID, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		ids[i] = n.ID
	}
	return ids
}
