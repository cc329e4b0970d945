package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// State is a member's state as observed.
type State uint8

const (
	// Alive: reported alive and answering.
	Alive State = iota
	// Suspect: reported alive, but its probes have gone unanswered.
	Suspect
	// Dead: declared failed.
	Dead
	// Left: departed gracefully.
	Left
)

var stateNames = [...]string{"alive", "suspect", "dead", "left"}

// String returns "alive", "suspect", "dead" or "left".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Member is what the observer knows of one member.
type Member struct {
	ID    manager.NodeID
	State State
	// Since is when it entered State: for Alive when it last became alive
	// (joined, rejoined or answered again after silence), for Suspect when
	// it last answered, for Dead and Left when it failed or left.
	Since time.Time
	// Domain and Capabilities are what it says of itself: the node it is
	// added as (Node).
	Domain       string
	Capabilities manager.Capabilities
	// Standby: it asks never to be promoted (it may still be chosen by
	// advice to replace a failed voter).
	Standby bool
}

// Node is the configuration member m is added as: a standby, weighted by
// its capabilities (latency is not known yet).
func (m Member) Node() manager.Node {
	return manager.Node{
		ID:           m.ID,
		Domain:       m.Domain,
		Capabilities: m.Capabilities,
		Standby:      true,
		Weight:       advice.WeightFor(m.Capabilities, 0, false),
	}
}

// Advice is a recommended quorum system (from package advice's
// strategies) for the configuration Plan is given.
type Advice struct {
	Strategy string
	Proposal manager.Proposal
}

// Attempt is a voter change the caller carried out: Action.Key, when, and
// whether it failed (refused, rolled back, or not submitted).
type Attempt struct {
	Key    string
	At     time.Time
	Failed bool
}

// Options are the rest of what Plan reads.
type Options struct {
	// Self is the observing member: never waits for the window to be
	// promoted, is never failed or removed, and is recovered when the
	// configuration says otherwise.
	Self manager.NodeID
	// Window is how long a change must hold before it changes the voters;
	// it must be positive.
	Window time.Duration
	// MaxVoters caps the voters promotion makes (0: no cap).
	MaxVoters int
	// Started is when observation began: a configured member never
	// observed is failed once Window has passed since.
	Started time.Time
	// Leaving: this member is leaving; health only, no voter changes, and
	// it is not recovered.
	Leaving bool
	// Advice, if not nil, is adopted once the window allows (see
	// package doc).
	Advice *Advice
	// Attempts are the voter changes carried out within the last Window
	// (older ones are ignored).
	Attempts []Attempt
}

// MaxAttempts is the most voter changes Plan proposes in one window: a
// strategy that never settles must not reconfigure without end.
const MaxAttempts = 8

// weightStep is the least weight change (milli-votes) worth an
// adjustment: smaller ones move with every latency sample.
const weightStep = 100

// Action is one change to propose: a manager.Change to apply (Proposal
// nil) or a quorum system to adjust to.
type Action struct {
	// Change is the change to apply when Proposal is nil: OpAdd (as a
	// standby), OpSuspect, OpFail, OpRecover, OpRemove or OpLeaveJoint.
	// Its Epoch is 0: the next.
	Change manager.Change
	// Proposal, if not nil, is the quorum system to adjust to (promote,
	// remove a departed voter, replace a failed one).
	Proposal *manager.Proposal
	// Reason says why, for people.
	Reason string
	// Key identifies a voter change from the configuration it was planned
	// on (epoch aside), for Attempts; "" for other actions.
	Key string
}

// VoterChange reports whether the action changes the quorum system: an
// adjustment or leaving a joint phase.
func (a Action) VoterChange() bool {
	return a.Proposal != nil || a.Change.Op == manager.OpLeaveJoint
}

// String describes the action in one line: "fail c: dead since ...".
func (a Action) String() string {
	if a.Proposal != nil {
		return fmt.Sprintf("adjust to %s: %s", describeProposal(*a.Proposal), a.Reason)
	}
	c := a.Change
	switch c.Op {
	case manager.OpAdd:
		return fmt.Sprintf("add %s (standby, domain %q, weight %d): %s", c.Node.ID, c.Node.Domain, c.Node.Weight, a.Reason)
	case manager.OpLeaveJoint:
		return fmt.Sprintf("leave-joint: %s", a.Reason)
	}
	return fmt.Sprintf("%s %s: %s", c.Op, c.ID, a.Reason)
}

func describeProposal(p manager.Proposal) string {
	ids := make([]string, len(p.Voters))
	for i, v := range p.Voters {
		ids[i] = string(v.ID)
		if v.Weight != 0 {
			ids[i] += fmt.Sprintf("@%d", v.Weight)
		}
	}
	return "[" + strings.Join(ids, " ") + "]"
}

// Hold is a voter change the window (or an earlier failure) holds back.
type Hold struct {
	What  string
	Until time.Time
}

// String returns "promoting b until 00:00:10.000".
func (h Hold) String() string { return h.What + " until " + h.Until.Format("15:04:05.000") }

// Result is a plan: the actions to carry out in order, what is held back,
// and when to plan again at the latest (zero: only when something is
// observed).
type Result struct {
	Actions []Action
	Held    []Hold
	Next    time.Time
}
