package memberlist

import (
	"context"
	"errors"
	"fmt"

	"github.com/lockstep/quorum/manager"
)

// Keeper holds the configuration an agent keeps in step with its members.
type Keeper interface {
	// Config returns the configuration in force on this member (a copy).
	Config() manager.Config
	// Leads reports whether this member turns what it observes into
	// proposals: always for a local manager; only the raft leader for a
	// replicated one.
	Leads() bool
	// Apply makes one change and returns its answer once it is in force on
	// this member (replicated: committed and applied), or an error when it
	// could not be submitted (not the leader, timeout, shut down).
	Apply(ctx context.Context, c manager.Change) (manager.Answer, error)
	// Adjust changes the quorum system to p, validated, verified and rolled
	// back on failure (manager.Manager.Adjust locally; replicated: each
	// phase a log entry, with raft's voter changes in between), returning
	// the answer of its outcome.
	Adjust(ctx context.Context, p manager.Proposal) (manager.Answer, error)
}

// LocalKeeper returns a Keeper for a manager nothing else replicates: it
// always leads; Apply calls m.Apply and declares a change of the quorum
// system it makes committed at once; Adjust calls m.Adjust with verify
// (nil accepts). verify is also where an epoch is committed that a
// rollback left undeclared, before the next voter change, and the joint
// configuration before leaving a joint phase: a failure there is Apply's
// or Adjust's error.
func LocalKeeper(m *manager.Manager, verify func(manager.Config) error) Keeper {
	return &localKeeper{m: m, verify: verify}
}

type localKeeper struct {
	m      *manager.Manager
	verify func(manager.Config) error
}

func (k *localKeeper) Config() manager.Config { return k.m.Config() }

func (k *localKeeper) Leads() bool { return true }

// commit runs verify on the configuration in force, whose epoch is then
// declared committed.
func (k *localKeeper) commit(what string) error {
	cfg := k.m.Config()
	if k.verify != nil {
		if err := k.verify(cfg); err != nil {
			return fmt.Errorf("memberlist: %s: epoch %d not verified: %w", what, cfg.Epoch, err)
		}
	}
	// A failed save is retried with the next change; the declaration
	// holds in memory meanwhile.
	_ = k.m.Committed(cfg.Epoch)
	return nil
}

func (k *localKeeper) Apply(ctx context.Context, c manager.Change) (manager.Answer, error) {
	if k.m == nil {
		return manager.Answer{}, errors.New("memberlist: LocalKeeper has no manager")
	}
	if err := ctx.Err(); err != nil {
		return manager.Answer{}, err
	}
	if c.Op == manager.OpLeaveJoint || (c.Op == manager.OpReconfigure && k.m.Uncommitted() != 0) {
		if err := k.commit(string(c.Op)); err != nil {
			return manager.Answer{}, err
		}
	}
	ans := k.m.Apply(c)
	if ans.Status == manager.OK && k.m.Uncommitted() == ans.Epoch {
		// This change moved the quorum system, and this manager is the
		// only copy: it is committed now.
		_ = k.m.Committed(ans.Epoch)
	}
	return ans, nil
}

func (k *localKeeper) Adjust(ctx context.Context, p manager.Proposal) (manager.Answer, error) {
	if k.m == nil {
		return manager.Answer{}, errors.New("memberlist: LocalKeeper has no manager")
	}
	if err := ctx.Err(); err != nil {
		return manager.Answer{}, err
	}
	if k.m.Uncommitted() != 0 {
		// A rollback left a change of the voters that nobody verified.
		if err := k.commit("adjust"); err != nil {
			return manager.Answer{}, err
		}
	}
	return k.m.Adjust(0, p, k.verify).Answer, nil
}
