package consensus

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// fsm is raft's state machine: a manager.Manager without a store (raft's
// log and snapshots are its durability), nil until the bootstrap entry.
// Every entry it applies is committed, so it declares each epoch
// committed at once (Manager.Committed): the core's one-pending-change
// rule then holds across the cluster as it does locally.
//
// Apply is deterministic: it reads nothing but the entry and the
// manager, so members applying one log hold byte-identical snapshots.
type fsm struct {
	m atomic.Pointer[manager.Manager]
	// onApply, if set, sees the configuration after every entry and
	// restore (on raft's FSM goroutine).
	onApply func(index uint64, cfg manager.Config)
}

// result is what Apply returns to the proposer (ApplyFuture.Response).
type result struct {
	Answer manager.Answer
	// Err: the entry was not applied (bad entry, not bootstrapped).
	Err error
}

var (
	// ErrNotBootstrapped: no configuration exists yet (bootstrap-expect
	// has not been met, or its entry is not applied here yet).
	ErrNotBootstrapped = errors.New("consensus: the cluster is not bootstrapped yet")
)

// manager returns the manager, nil before bootstrap.
func (f *fsm) manager() *manager.Manager { return f.m.Load() }

// Apply applies one committed log entry.
func (f *fsm) Apply(l *raft.Log) any {
	res := f.apply(l.Data)
	if m := f.manager(); m != nil && f.onApply != nil {
		f.onApply(l.Index, m.Config())
	}
	return res
}

func (f *fsm) apply(data []byte) result {
	c, err := decodeCommand(data)
	if err != nil {
		return result{Err: err}
	}
	m := f.manager()
	if c.Kind == kindBootstrap {
		if m != nil {
			cfg := m.Config()
			return result{Answer: manager.Answer{Status: manager.AlreadyApplied, Epoch: cfg.Epoch, Joint: cfg.Joint(),
				Reason: "the cluster is already bootstrapped"}}
		}
		nm, err := manager.New(nil, c.Nodes, *c.Rule)
		if err != nil {
			return result{Err: fmt.Errorf("%w: bootstrap: %v", errBadEntry, err)}
		}
		f.m.Store(nm)
		return result{Answer: manager.Answer{Status: manager.OK, Epoch: 1, Reason: "bootstrapped"}}
	}
	if m == nil {
		return result{Err: ErrNotBootstrapped}
	}
	var ans manager.Answer
	switch c.Kind {
	case kindChange:
		ans = m.Apply(*c.Change)
	case kindRollback:
		ans = rollback(m, *c.Proposal)
	}
	// Committed cannot fail here: the epoch is the one in force and there
	// is no store.
	_ = m.Committed(m.Config().Epoch)
	return result{Answer: ans}
}

// rollback returns the manager to the quorum system p an adjustment
// started from. Out of a joint phase it is a Reconfigure (which may enter
// a joint phase of its own, left by the next entry). In a joint phase, from
// old (p) to new, Reconfigure is refused until the phase is left, so the
// entry leaves it and reconfigures back in one step: the joint phase from
// new back to old that results needs a quorum of both halves, as the one
// it replaces did, and since every member applies the entry whole, no
// decision is ever made under the new voters alone. If the manager
// refuses the way back, the answer says so and the new quorum system
// stays in force.
func rollback(m *manager.Manager, p manager.Proposal) manager.Answer {
	if m.Config().Joint() {
		if ans := m.Apply(manager.Change{Op: manager.OpLeaveJoint}); ans.Status != manager.OK {
			return ans
		}
		_ = m.Committed(m.Config().Epoch) // within this committed entry
	}
	return m.Apply(manager.Change{Op: manager.OpReconfigure, Proposal: p})
}

// Snapshot captures the manager in its store format. raft calls it on the
// FSM goroutine, between entries.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	m := f.manager()
	if m == nil {
		return snapshot(nil), nil // nothing yet: an empty snapshot
	}
	b, err := m.Snapshot().MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("consensus: encoding the snapshot: %w", err)
	}
	return snapshot(b), nil
}

// Restore replaces the state with a snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("consensus: reading the snapshot: %w", err)
	}
	if len(b) == 0 {
		f.m.Store(nil)
		return nil
	}
	var snap manager.Snapshot
	if err := snap.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("consensus: restoring the snapshot: %w", err)
	}
	m, err := manager.Restore(nil, snap)
	if err != nil {
		return fmt.Errorf("consensus: restoring the snapshot: %w", err)
	}
	f.m.Store(m)
	if f.onApply != nil {
		f.onApply(0, m.Config())
	}
	return nil
}

// snapshot is an encoded manager snapshot (empty before bootstrap).
type snapshot []byte

func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return fmt.Errorf("consensus: writing the snapshot: %w", err)
	}
	return sink.Close()
}

func (snapshot) Release() {}
