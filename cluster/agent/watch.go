package agent

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lockstep/quorum/cluster/consensus"
)

// EventKind is what changed in raft's state.
type EventKind uint8

const (
	// Configured: the first configuration was applied here, from the
	// bootstrap, from the leader, or from this member's own data.
	Configured EventKind = iota
	// Leader: the leader this member knows changed (or is none).
	Leader
	// Epoch: another epoch was applied here.
	Epoch
	// Voters: raft's voters or non-voters changed, the epoch not.
	Voters
)

// Event is one change of raft's state on this member.
type Event struct {
	Time  time.Time
	Kind  EventKind
	State consensus.State
	// Restarted: the Node came back on its data directory (it never
	// bootstraps).
	Restarted bool
}

// String is the event as the agent prints it.
func (e Event) String() string {
	s := e.State
	voters := fmt.Sprintf("raft voters [%s]", strings.Join(s.Voters, " "))
	if len(s.NonVoters) > 0 {
		voters += fmt.Sprintf(", non-voters [%s]", strings.Join(s.NonVoters, " "))
	}
	switch e.Kind {
	case Configured:
		how := "from the leader"
		switch {
		case e.Restarted:
			how = "from its data directory"
		case s.Epoch == 1:
			how = "the cluster bootstrapped"
		}
		return fmt.Sprintf("raft: configured (%s): epoch %d applied at index %d, %s", how, s.Epoch, s.AppliedIndex, voters)
	case Leader:
		if s.LeaderID == "" {
			return fmt.Sprintf("raft: no leader known (term %d, %s)", s.Term, s.Raft)
		}
		who := s.LeaderID
		if s.LeaderID == s.ID {
			who += " (this member)"
		}
		return fmt.Sprintf("raft: leader %s at %s, term %d", who, s.Leader, s.Term)
	case Epoch:
		return fmt.Sprintf("raft: epoch %d applied at index %d (commit %d), %s", s.Epoch, s.AppliedIndex, s.CommitIndex, voters)
	default:
		return fmt.Sprintf("raft: %s (epoch %d)", voters, s.Epoch)
	}
}

// watch reads raft's state every interval and reports what changed.
func (m *Member) watch(onRaft func(Event), interval time.Duration) {
	defer m.wg.Done()
	if onRaft == nil {
		return
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	var last consensus.State
	first := true
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		s := m.Node.State()
		for _, kind := range changes(last, s, first) {
			onRaft(Event{Time: time.Now(), Kind: kind, State: s, Restarted: m.Node.Restarted()})
		}
		last, first = s, false
	}
}

// changes lists what differs from prev to s: the leader first, then the
// configuration (the first one, another epoch, or raft's voters alone).
func changes(prev, s consensus.State, first bool) []EventKind {
	var out []EventKind
	if s.LeaderID != prev.LeaderID || (first && s.LeaderID != "") {
		out = append(out, Leader)
	}
	switch {
	case s.Epoch == 0:
	case prev.Epoch == 0:
		out = append(out, Configured)
	case s.Epoch != prev.Epoch:
		out = append(out, Epoch)
	case !slices.Equal(s.Voters, prev.Voters) || !slices.Equal(s.NonVoters, prev.NonVoters):
		out = append(out, Voters)
	}
	return out
}
