package memberlist

import (
	"fmt"
	"slices"
	"time"

	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// MemberState is a member's state as this member sees it.
type MemberState uint8

const (
	// Alive: memberlist reports it alive and its probes are answered.
	Alive MemberState = iota
	// Suspect: memberlist reports it alive, but this member's direct
	// probes of it have gone unanswered for SuspectAfter.
	Suspect
	// Dead: memberlist declared it failed.
	Dead
	// Left: it left gracefully.
	Left
)

var memberStateNames = [...]string{"alive", "suspect", "dead", "left"}

// String returns "alive", "suspect", "dead" or "left".
func (s MemberState) String() string {
	if int(s) < len(memberStateNames) {
		return memberStateNames[s]
	}
	return fmt.Sprintf("MemberState(%d)", uint8(s))
}

// MarshalText writes the state's name, for JSON.
func (s MemberState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Member is one memberlist member as this member sees it.
type Member struct {
	ID    manager.NodeID `json:"id"`
	Addr  string         `json:"addr"` // host:port
	State MemberState    `json:"state"`
	// Since is when it entered its state: when memberlist reported it
	// joined, failed or left; for Suspect, when it last answered.
	Since time.Time `json:"since"`
	Meta  Meta      `json:"meta"`
	// RTT is the last direct round trip measured to it (0: none yet).
	RTT  time.Duration `json:"rtt"`
	Self bool          `json:"self,omitempty"`
}

// Status is what the agent reports after each round of changes.
type Status struct {
	Time   time.Time      `json:"time"`
	Self   manager.NodeID `json:"self"`
	Config manager.Config `json:"config"` // the manager's configuration in force
	// Members are memberlist's members, by ID, including dead and left
	// ones not yet removed.
	Members []Member `json:"members"`
	// Recommendation is the strategies' advice for the configuration in
	// force; RecommendError says why there is none.
	Recommendation advice.Recommendation `json:"recommendation"`
	RecommendError string                `json:"recommend_error,omitempty"`
	// Held lists the adjustments the window holds back, and until when.
	Held []string `json:"held,omitempty"`
	// Leads: this member turns what it observes into proposals
	// (Keeper.Leads); when it does not, Held is empty and the agent
	// changes nothing.
	Leads bool `json:"leads"`
	// LastAdjustment is the answer of the agent's last Keeper.Adjust.
	LastAdjustment *manager.Answer `json:"last_adjustment,omitempty"`
	// LastError is the last change refused or not submitted, or "".
	LastError string `json:"last_error,omitempty"`
	// DroppedPings counts ping reports dropped while the agent was busy.
	DroppedPings uint64 `json:"dropped_pings,omitempty"`
}

func (s Status) clone() Status {
	s.Config = s.Config.Clone()
	s.Members = slices.Clone(s.Members)
	s.Held = slices.Clone(s.Held)
	s.Recommendation.Nodes = slices.Clone(s.Recommendation.Nodes)
	s.Recommendation.Reasoning = slices.Clone(s.Recommendation.Reasoning)
	s.Recommendation.Proposal.Voters = slices.Clone(s.Recommendation.Proposal.Voters)
	if s.LastAdjustment != nil {
		adj := *s.LastAdjustment
		s.LastAdjustment = &adj
	}
	return s
}

// recommendationKey identifies what OnChange reports of a recommendation:
// the quorum it recommends and whether one is reachable, not which members
// it prefers, which follows latencies that move with every probe.
func recommendationKey(r advice.Recommendation, err string) string {
	return fmt.Sprintf("%s|%d|%d|%v|%v|%v|%s", r.Strategy, r.Quorum, r.Threshold, r.Changed, len(r.Nodes) > 0, r.Proposal, err)
}
