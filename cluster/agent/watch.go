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
	Time time.Time
	Kind EventKind
	// State is raft's state when the change was seen: for an Epoch or
	// Configured event, possibly later than Epoch and Index.
	State consensus.State
	// Epoch and Index, for Configured and Epoch: the epoch applied and
	// the log index of its entry (0: a snapshot restored).
	Epoch, Index uint64
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
		case e.Epoch == 1:
			how = "by the bootstrap"
		}
		return fmt.Sprintf("raft: configured %s: epoch %d applied%s, %s", how, e.Epoch, at(e.Index), voters)
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
		return fmt.Sprintf("raft: epoch %d applied%s (commit %d), %s", e.Epoch, at(e.Index), s.CommitIndex, voters)
	default:
		return fmt.Sprintf("raft: %s (epoch %d)", voters, s.Epoch)
	}
}

func at(index uint64) string {
	if index == 0 {
		return " from a snapshot"
	}
	return fmt.Sprintf(" at index %d", index)
}

// noteApplied records an epoch the FSM applied, on raft's FSM goroutine:
// it must not block.
func (m *Member) noteApplied(index, epoch uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.applied); (n == 0 && epoch != 0) || (n > 0 && m.applied[n-1].epoch != epoch) {
		m.applied = append(m.applied, applied{epoch: epoch, index: index})
	}
}

// takeApplied returns the epochs applied since the last call, dropping
// repeats of last (an entry that left the epoch as it was).
func (m *Member) takeApplied(last uint64) []applied {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []applied
	for _, a := range m.applied {
		if a.epoch != last {
			out = append(out, a)
			last = a.epoch
		}
	}
	m.applied = m.applied[:0]
	return out
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
	var epoch uint64 // the last epoch reported
	first := true
	for {
		select {
		case <-m.stop:
			return
		case <-tick.C:
		}
		s := m.Node.State()
		now, restarted := time.Now(), m.Node.Restarted()
		if s.LeaderID != last.LeaderID || (first && s.LeaderID != "") {
			onRaft(Event{Time: now, Kind: Leader, State: s, Restarted: restarted})
		}
		newEpoch := false
		for _, a := range m.takeApplied(epoch) {
			kind := Epoch
			if epoch == 0 {
				kind = Configured
			}
			onRaft(Event{Time: now, Kind: kind, State: s, Epoch: a.epoch, Index: a.index, Restarted: restarted})
			epoch, newEpoch = a.epoch, true
		}
		if !newEpoch && epoch != 0 && (!slices.Equal(s.Voters, last.Voters) || !slices.Equal(s.NonVoters, last.NonVoters)) {
			onRaft(Event{Time: now, Kind: Voters, State: s, Epoch: epoch, Restarted: restarted})
		}
		last, first = s, false
	}
}
