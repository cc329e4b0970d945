package consensus

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// State is what an operator sees of this member's raft.
type State struct {
	ID       string `json:"id"`
	Raft     string `json:"raft"` // Follower, Candidate, Leader, Shutdown
	Leader   string `json:"leader,omitempty"`
	LeaderID string `json:"leader_id,omitempty"`
	Term     uint64 `json:"term"`
	// LastIndex, CommitIndex, AppliedIndex: the last log entry, the last
	// known committed, the last applied to the configuration.
	LastIndex    uint64   `json:"last_index"`
	CommitIndex  uint64   `json:"commit_index"`
	AppliedIndex uint64   `json:"applied_index"`
	Voters       []string `json:"voters"`     // raft's voters, by ID
	NonVoters    []string `json:"non_voters"` // raft's non-voters
	Epoch        uint64   `json:"epoch"`      // the configuration applied here
}

// State reports this member's raft state.
func (n *Node) State() State {
	addr, id := n.raft.LeaderWithID()
	s := State{ID: string(n.opts.ID), Raft: n.raft.State().String(), Leader: string(addr), LeaderID: string(id),
		Term: n.raft.CurrentTerm(), LastIndex: n.raft.LastIndex(), CommitIndex: n.raft.CommitIndex(),
		AppliedIndex: n.raft.AppliedIndex(), Epoch: n.Config().Epoch}
	s.Voters, s.NonVoters = n.raftMembers()
	return s
}

// raftMembers lists raft's latest configuration's voters and non-voters.
func (n *Node) raftMembers() (voters, nonvoters []string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	f := n.raft.GetConfiguration()
	if n.wait(ctx, f) != nil {
		return nil, nil
	}
	for _, sv := range f.Configuration().Servers {
		if sv.Suffrage == raft.Voter {
			voters = append(voters, string(sv.ID))
		} else {
			nonvoters = append(nonvoters, string(sv.ID))
		}
	}
	slices.Sort(voters)
	slices.Sort(nonvoters)
	return voters, nonvoters
}

// String is State for display.
func (s State) String() string {
	return fmt.Sprintf("%s: %s, leader %s (%s), term %d, log last %d commit %d applied %d, epoch %d, voters [%s], non-voters [%s]",
		s.ID, s.Raft, s.LeaderID, s.Leader, s.Term, s.LastIndex, s.CommitIndex, s.AppliedIndex, s.Epoch,
		strings.Join(s.Voters, " "), strings.Join(s.NonVoters, " "))
}

// Metrics are raft's numbers for this member.
type Metrics struct {
	Term         uint64 `json:"term"`
	LastIndex    uint64 `json:"last_index"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	// LastContact is how long since the leader was last heard from (0 on
	// the leader; -1 never).
	LastContactSeconds float64 `json:"last_contact_seconds"`
	Leader             bool    `json:"leader"`
	Voters             int     `json:"voters"`
	NonVoters          int     `json:"non_voters"`
	Epoch              uint64  `json:"epoch"` // the configuration applied here
}

// Metrics returns raft's numbers for this member.
func (n *Node) Metrics() Metrics {
	s := n.State()
	m := Metrics{Term: s.Term, LastIndex: s.LastIndex, CommitIndex: s.CommitIndex, AppliedIndex: s.AppliedIndex,
		Leader: n.raft.State() == raft.Leader, Voters: len(s.Voters), NonVoters: len(s.NonVoters), Epoch: s.Epoch}
	switch last := n.raft.LastContact(); {
	case m.Leader:
	case last.IsZero():
		m.LastContactSeconds = -1
	default:
		m.LastContactSeconds = time.Since(last).Seconds()
	}
	return m
}

// WritePrometheus writes the metrics in Prometheus' text format, each
// name prefixed lockstep_quorum_raft_.
func (m Metrics) WritePrometheus(w io.Writer) error {
	leader := 0
	if m.Leader {
		leader = 1
	}
	rows := []struct {
		name, kind, help string
		value            any
	}{
		{"term", "counter", "The current raft term.", m.Term},
		{"last_index", "gauge", "The last raft log index.", m.LastIndex},
		{"commit_index", "gauge", "The last raft log index known committed.", m.CommitIndex},
		{"applied_index", "gauge", "The last raft log index applied to the configuration.", m.AppliedIndex},
		{"last_contact_seconds", "gauge", "Seconds since the leader was heard from (0 on the leader, -1 never).", m.LastContactSeconds},
		{"leader", "gauge", "1 if this member is the raft leader.", leader},
		{"voters", "gauge", "Raft voters in the latest configuration.", m.Voters},
		{"non_voters", "gauge", "Raft non-voters in the latest configuration.", m.NonVoters},
		{"epoch", "gauge", "The configuration epoch applied on this member.", m.Epoch},
	}
	for _, r := range rows {
		name := "lockstep_quorum_raft_" + r.name
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, r.help, name, r.kind, name, r.value); err != nil {
			return err
		}
	}
	return nil
}

// ManagerMetrics returns the Metrics of the manager this member applies
// (the zero Metrics before bootstrap): the configuration's numbers, beside
// raft's in Metrics. Decision counters count this member's Decide calls.
func (n *Node) ManagerMetrics() manager.Metrics {
	if m := n.fsm.manager(); m != nil {
		return m.Metrics()
	}
	return manager.Metrics{}
}

// Restarted reports whether raft had state in DataDir when the Node was
// opened: such a member comes back with its log and never bootstraps,
// whatever BootstrapExpect says.
func (n *Node) Restarted() bool { return n.existing }
