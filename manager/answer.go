package manager

import (
	"fmt"
)

// Op is a kind of configuration change.
type Op string

// Configuration changes. Every one that changes something makes the next
// epoch.
const (
	OpBootstrap   Op = "bootstrap"   // the first configuration (New)
	OpAdd         Op = "add"         // a new member, voter or standby
	OpRemove      Op = "remove"      // a member leaves
	OpSuspect     Op = "suspect"     // a member missed heartbeats
	OpFail        Op = "fail"        // a member is down
	OpRecover     Op = "recover"     // a member is healthy again
	OpReconfigure Op = "reconfigure" // a new quorum system (a Proposal)
	OpLeaveJoint  Op = "leave-joint" // end a joint phase: the incoming voters alone decide
	OpRollback    Op = "rollback"    // an adjustment undone
	// OpAllSeen ends wait_for_all: Change.Seen lists members seen up at
	// the same time, which must include every voter (Rule.WaitForAll).
	OpAllSeen Op = "all-seen"
)

// Step is what an Event records.
type Step string

// Steps of the history. Applied events change the configuration; the
// others record an adjustment's progress.
const (
	StepApplied      Step = "applied"       // the change took effect as Event.Epoch
	StepValidated    Step = "validated"     // an adjustment passed validation
	StepRefused      Step = "refused"       // an adjustment was refused (see Detail)
	StepVerified     Step = "verified"      // an applied adjustment step passed verification
	StepVerifyFailed Step = "verify-failed" // it did not (see Detail); a rollback follows
)

// Event is one entry of the history.
type Event struct {
	// Epoch is the epoch in force after the step.
	Epoch uint64 `json:"epoch"`
	Op    Op     `json:"op"`   // the change
	Step  Step   `json:"step"` // what happened to it
	// Node is the member an Add, Remove, Suspect, Fail or Recover names.
	Node NodeID `json:"node,omitempty"`
	// Adjustment numbers the adjustment the step belongs to (0: none).
	Adjustment uint64 `json:"adjustment,omitempty"`
	// Joint: the epoch is a joint phase.
	Joint  bool   `json:"joint,omitempty"`
	Detail string `json:"detail,omitempty"` // for people
	// Fingerprint identifies the request that made an applied epoch, so a
	// retry is answered AlreadyApplied rather than applied twice.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// historyLimit is how many events the history keeps; older ones are dropped.
const historyLimit = 1000

// Change is a request for the next epoch.
type Change struct {
	// Epoch is the epoch the change would make: the current epoch + 1. A
	// retry of a change already applied at that epoch is AlreadyApplied; a
	// different change there is a Conflict. 0 means whatever epoch is
	// next, without that retry check.
	Epoch uint64 `json:"epoch"`
	Op    Op     `json:"op"` // what to do
	// Node is the member to add (OpAdd). Weight 0 means One.
	Node Node `json:"node,omitzero"`
	// ID names the member (OpRemove, OpSuspect, OpFail, OpRecover).
	ID NodeID `json:"id,omitempty"`
	// Proposal is the new quorum system (OpReconfigure).
	Proposal Proposal `json:"proposal,omitzero"`
	// Seen lists the members seen up at once (OpAllSeen).
	Seen []NodeID `json:"seen,omitempty"`
}

// Status is the kind of answer a request gets.
type Status uint8

const (
	// Unanswered is the zero Status: no request was carried out.
	Unanswered Status = iota
	// OK: the change was applied as the next epoch.
	OK
	// AlreadyApplied: the change is already in force (a retry, or a change
	// that would change nothing); nothing was done.
	AlreadyApplied
	// Conflict: a different change holds that epoch, or the change
	// contradicts the configuration (adding a member twice, changing the
	// voters during a joint phase or another adjustment).
	Conflict
	// EpochNotNext: the request names an epoch that is not the next one
	// and whose change is no longer known.
	EpochNotNext
	// UnknownMembers: the request names nodes that are not members.
	UnknownMembers
	// Refused: the change is malformed or breaks a safety rule (removing
	// more than (voters-1)/2 voters at once, fewer voters than the rule's
	// minimum, a quorum the healthy voters could not reach).
	Refused
	// RolledBack: an adjustment was applied, failed verification and was
	// undone.
	RolledBack
	// StoreFailed: the change could not be persisted, and the configuration
	// in force is the one the answer's Epoch and Joint name (an adjustment
	// that fails part-way says in its Reason which epoch stays in force).
	// When Cause wraps ErrUncertain the file may hold the change: the
	// manager refuses every change until it is reopened from its store.
	StoreFailed
)

var statusNames = [...]string{"unanswered", "ok", "already applied", "conflict", "epoch not next", "unknown members", "refused", "rolled back", "store failed"}

// String returns the status's name, e.g. "ok" or "epoch not next".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText writes the status's name, for JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Answer is the typed reply to a configuration request.
type Answer struct {
	Status Status `json:"status"` // what kind of answer
	// Epoch is the epoch in force after the request.
	Epoch uint64 `json:"epoch"`
	// Joint: the configuration is now in a joint phase; apply OpLeaveJoint
	// once the joint configuration is committed.
	Joint  bool   `json:"joint,omitempty"`
	Reason string `json:"reason,omitempty"` // why, for people
	// Cause is the underlying error of StoreFailed.
	Cause error `json:"-"`
}

// Err returns nil for OK and AlreadyApplied, else an error describing the
// answer (wrapping Cause).
func (a Answer) Err() error {
	switch a.Status {
	case OK, AlreadyApplied:
		return nil
	}
	if a.Cause != nil {
		return fmt.Errorf("manager: %v: %s: %w", a.Status, a.Reason, a.Cause)
	}
	return fmt.Errorf("manager: %v: %s", a.Status, a.Reason)
}
