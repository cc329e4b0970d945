package consensus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// ErrNotLeader is wrapped by the error of every change asked of a member
// that is not raft's leader; the error names the leader when one is known.
var ErrNotLeader = errors.New("consensus: not the leader")

// ErrShutdown: the Node is shut down.
var ErrShutdown = errors.New("consensus: the node is shut down")

// notLeader is ErrNotLeader naming the leader.
func (n *Node) notLeader() error {
	addr, id := n.Leader()
	if id == "" {
		return fmt.Errorf("%w: no leader is known", ErrNotLeader)
	}
	return fmt.Errorf("%w: the leader is %s at %s", ErrNotLeader, id, addr)
}

// timeout is how long raft may take for one step under ctx.
func (n *Node) timeout(ctx context.Context) time.Duration {
	t := n.opts.ApplyTimeout
	if d, ok := ctx.Deadline(); ok {
		t = min(t, time.Until(d))
	}
	return max(t, time.Millisecond)
}

// wait waits for f or ctx, mapping raft's errors to this package's.
func (n *Node) wait(ctx context.Context, f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// The entry may still commit: a retry names the epoch to be
		// answered AlreadyApplied rather than applied twice.
		return fmt.Errorf("consensus: %w (the change may still be applied)", ctx.Err())
	case <-n.done:
		return ErrShutdown
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipLost),
		errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w (%v)", n.notLeader(), err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	}
	return fmt.Errorf("consensus: raft: %w", err)
}

// propose appends c to the log and returns the FSM's answer once it is
// committed and applied here.
func (n *Node) propose(ctx context.Context, c command) (manager.Answer, error) {
	if !n.Leads() {
		return manager.Answer{}, n.notLeader()
	}
	data, err := c.encode()
	if err != nil {
		return manager.Answer{}, fmt.Errorf("consensus: encoding the %s entry: %w", c.Kind, err)
	}
	f := n.raft.Apply(data, n.timeout(ctx))
	if err := n.wait(ctx, f); err != nil {
		return manager.Answer{}, err
	}
	res, ok := f.Response().(result)
	if !ok {
		return manager.Answer{}, fmt.Errorf("consensus: the FSM answered %T", f.Response())
	}
	return res.Answer, res.Err
}

// Apply proposes one change (OpAdd, OpRemove, OpSuspect, OpFail,
// OpRecover, OpReconfigure or OpLeaveJoint) and returns the manager's
// answer once it is committed and applied on this member. Only the leader
// proposes: elsewhere the error wraps ErrNotLeader. A change of the voters
// is then followed by raft's voter changes (Reconcile); a Reconfigure
// that enters a joint phase is left by Reconcile once raft's voters
// follow. Adjust is the safer way to change the quorum system.
func (n *Node) Apply(ctx context.Context, c manager.Change) (manager.Answer, error) {
	if !changeOps[c.Op] {
		return manager.Answer{}, fmt.Errorf("consensus: Apply: change op %q is not one a member may propose", c.Op)
	}
	ans, err := n.propose(ctx, command{Kind: kindChange, Change: &c})
	if err != nil {
		return ans, err
	}
	if ans.Status == manager.OK && changesVoters(c.Op) {
		if err := n.Reconcile(ctx); err != nil {
			n.log.Warn("raft's voters do not follow the configuration yet; the next reconcile retries",
				"epoch", ans.Epoch, "error", err)
		}
	}
	return ans, nil
}

func changesVoters(op manager.Op) bool {
	switch op {
	case manager.OpAdd, manager.OpRemove, manager.OpReconfigure, manager.OpLeaveJoint:
		return true
	}
	return false
}

// Adjust changes the quorum system to p, each phase a log entry with
// raft's voter changes in between:
//
//  1. propose the Reconfigure (refused: its answer, nothing to undo);
//  2. make raft's voters the configuration's (both halves in a joint
//     phase), one change at a time;
//  3. after a joint phase, propose LeaveJoint and follow it in raft again;
//  4. on any failure, propose a rollback to the quorum system before and
//     move raft's voters back, answering RolledBack.
//
// Only the leader adjusts (ErrNotLeader elsewhere). If leadership is lost
// part-way, the error says so and the next leader's Reconcile repairs
// raft's voters and leaves a pending joint phase.
func (n *Node) Adjust(ctx context.Context, p manager.Proposal) (manager.Answer, error) {
	if !n.Leads() {
		return manager.Answer{}, n.notLeader()
	}
	n.adjusting.Lock()
	defer n.adjusting.Unlock()
	before := n.Config()
	if before.Epoch == 0 {
		return manager.Answer{}, ErrNotBootstrapped
	}
	ans, err := n.propose(ctx, command{Kind: kindChange, Change: &manager.Change{Op: manager.OpReconfigure, Proposal: p}})
	if err != nil || ans.Status != manager.OK {
		return ans, err
	}
	if err := n.followConfig(ctx, false); err != nil {
		return n.rollback(ctx, before.Proposal(), err)
	}
	cfg := n.Config()
	return manager.Answer{Status: manager.OK, Epoch: cfg.Epoch, Joint: cfg.Joint(),
		Reason: fmt.Sprintf("adjusted from epoch %d; raft's voters follow", before.Epoch)}, nil
}

// followConfig makes raft's voters the configuration's, and if it is a
// joint phase, leaves it and does so again. Going back (a rollback), raft's
// voters need not follow the joint phase first: the voter that cannot
// follow is usually why the adjustment failed, and it leaves with the
// phase. Called with n.adjusting held.
func (n *Node) followConfig(ctx context.Context, back bool) error {
	if err := n.syncRaft(ctx); err != nil && !(back && n.Config().Joint()) {
		return err
	}
	if !n.Config().Joint() {
		return nil
	}
	ans, err := n.propose(ctx, command{Kind: kindChange, Change: &manager.Change{Op: manager.OpLeaveJoint}})
	if err != nil {
		return fmt.Errorf("leaving the joint phase: %w", err)
	}
	if ans.Status != manager.OK {
		return fmt.Errorf("leaving the joint phase: %s: %s", ans.Status, ans.Reason)
	}
	return n.syncRaft(ctx)
}

// rollback returns to the quorum system prev after cause, raft's voters
// with it. Called with n.adjusting held.
func (n *Node) rollback(ctx context.Context, prev manager.Proposal, cause error) (manager.Answer, error) {
	n.log.Warn("adjustment failed, rolling back", "error", cause)
	ans, err := n.propose(ctx, command{Kind: kindRollback, Proposal: &prev})
	if err == nil && ans.Err() == nil {
		err = n.followConfig(ctx, true)
	} else if err == nil {
		err = ans.Err()
	}
	cfg := n.Config()
	if err != nil {
		// Not RolledBack: the quorum system before may not be in force.
		return manager.Answer{Status: manager.Conflict, Epoch: cfg.Epoch, Joint: cfg.Joint(),
				Reason: fmt.Sprintf("%v; the rollback did not complete (%v): epoch %d is in force, and Reconcile makes raft's voters follow it", cause, err, cfg.Epoch)},
			fmt.Errorf("consensus: Adjust failed (%v) and its rollback did not complete: %w", cause, err)
	}
	return manager.Answer{Status: manager.RolledBack, Epoch: cfg.Epoch, Joint: cfg.Joint(),
		Reason: fmt.Sprintf("rolled back to the previous quorum system: %v", cause)}, nil
}

// ReadConfig returns the configuration with every committed change
// applied: on the leader it confirms leadership with a quorum
// (VerifyLeader) and waits for the FSM to apply everything before it
// (Barrier). A follower refuses with ErrNotLeader naming the leader rather
// than forward the read: the caller decides whether to ask the leader or
// use the possibly stale Config.
func (n *Node) ReadConfig(ctx context.Context) (manager.Config, error) {
	if !n.Leads() {
		return manager.Config{}, n.notLeader()
	}
	if err := n.wait(ctx, n.raft.VerifyLeader()); err != nil {
		return manager.Config{}, err
	}
	if err := n.wait(ctx, n.raft.Barrier(n.timeout(ctx))); err != nil {
		return manager.Config{}, err
	}
	if n.fsm.manager() == nil {
		return manager.Config{}, ErrNotBootstrapped
	}
	return n.Config(), nil
}
