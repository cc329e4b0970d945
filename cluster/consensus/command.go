package consensus

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/lockstep/quorum/manager"
)

// commandVersion is the encoding of log entries this package writes. An
// entry of another version is answered with an error, never applied: a
// member that does not understand an entry must not guess at it.
const commandVersion = 1

// kind is what a log entry asks the FSM to do.
type kind string

const (
	// kindBootstrap makes the first configuration (manager.New).
	kindBootstrap kind = "bootstrap"
	// kindChange applies one manager.Change (Manager.Apply).
	kindChange kind = "change"
	// kindRollback returns an adjustment to the quorum system it started
	// from (see fsm.rollback).
	kindRollback kind = "rollback"
)

// command is one raft log entry: small, versioned JSON.
type command struct {
	Version  int               `json:"v"`
	Kind     kind              `json:"kind"`
	Nodes    []manager.Node    `json:"nodes,omitempty"`    // bootstrap
	Rule     *manager.Rule     `json:"rule,omitempty"`     // bootstrap
	Change   *manager.Change   `json:"change,omitempty"`   // change
	Proposal *manager.Proposal `json:"proposal,omitempty"` // rollback
}

// errBadEntry is wrapped by every error about a log entry that cannot be
// applied as written.
var errBadEntry = errors.New("consensus: bad log entry")

// changeOps are the manager operations a kindChange entry may carry.
var changeOps = map[manager.Op]bool{
	manager.OpAdd: true, manager.OpRemove: true, manager.OpSuspect: true, manager.OpFail: true,
	manager.OpRecover: true, manager.OpReconfigure: true, manager.OpLeaveJoint: true,
}

func (c command) encode() ([]byte, error) {
	c.Version = commandVersion
	return json.Marshal(c)
}

// decodeCommand parses and checks a log entry.
func decodeCommand(data []byte) (command, error) {
	var c command
	if err := json.Unmarshal(data, &c); err != nil {
		return command{}, fmt.Errorf("%w: %v", errBadEntry, err)
	}
	if c.Version != commandVersion {
		return command{}, fmt.Errorf("%w: version %d, this member reads version %d", errBadEntry, c.Version, commandVersion)
	}
	switch c.Kind {
	case kindBootstrap:
		if len(c.Nodes) == 0 || c.Rule == nil {
			return command{}, fmt.Errorf("%w: bootstrap without nodes or rule", errBadEntry)
		}
	case kindChange:
		if c.Change == nil || !changeOps[c.Change.Op] {
			return command{}, fmt.Errorf("%w: change without a known op", errBadEntry)
		}
	case kindRollback:
		if c.Proposal == nil {
			return command{}, fmt.Errorf("%w: rollback without a proposal", errBadEntry)
		}
	default:
		return command{}, fmt.Errorf("%w: unknown kind %q", errBadEntry, c.Kind)
	}
	return c, nil
}
