package manager

import (
	"fmt"
)

// Adjustment is the outcome of Adjust.
type Adjustment struct {
	// ID numbers the adjustment (Event.Adjustment); 0 if none was started.
	ID     uint64 `json:"id"`
	Answer Answer `json:"answer"` // the outcome: OK, RolledBack, a refusal...
	// Joint: the change went through a joint phase.
	Joint bool `json:"joint"`
	// Before and After are the quorum systems before and after (equal when
	// refused or rolled back).
	Before Quorum `json:"before"`
	After  Quorum `json:"after"` // the quorum system in force at the end
	// Steps are the adjustment's history events.
	Steps []Event `json:"steps"`
}

// Adjust changes the quorum system to p with validation and rollback:
//
//  1. validate: the same checks as Reconfigure, at epoch (0: the next);
//  2. apply it as the next epoch, through a joint phase when old and new
//     quorums might not intersect;
//  3. verify each applied epoch: verify (if not nil) returns nil, the
//     store reads it back and the healthy voters hold a quorum. verify is
//     where the caller commits the configuration through its replication
//     and checks the new quorum is operational; it runs without the
//     Manager's lock, and meanwhile other voter changes are refused;
//  4. after a joint phase, leave it and verify again;
//  5. on a failed verification, roll back to the previous quorum system
//     (through a joint phase if need be) and answer RolledBack.
//
// Each step is recorded in the history with the adjustment's number.
func (m *Manager) Adjust(epoch uint64, p Proposal, verify func(Config) error) (res Adjustment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.cfg
	res = Adjustment{Before: cur.Quorum()}
	defer func() {
		res.After = m.cfg.Quorum() // whatever the outcome: what is in force
		if m.uncertain != nil && res.Answer.Cause == nil {
			res.Answer.Cause = m.uncertain
			res.Answer.Reason += "; a save of its history may not have reached the disk: the manager refuses changes until it is reopened from its store"
		}
	}()
	if ans, stuck := m.uncertainAnswer(); stuck {
		res.Answer = ans
		return res
	}
	if m.adjusting != 0 {
		res.Answer = Answer{Status: Conflict, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: fmt.Sprintf("adjustment %d is in progress", m.adjusting)}
		return res
	}
	m.adjustments++
	res.ID = m.adjustments
	step := func(e Event) { res.Steps = append(res.Steps, e) }

	next, ev, ans, ok := m.plan(Change{Epoch: epoch, Op: OpReconfigure, Proposal: p}, 0)
	if !ok {
		res.Answer = ans
		if ans.Status == AlreadyApplied { // nothing started: the number is not given out
			m.adjustments--
			res.ID = 0
			return res
		}
		m.counters.refused++
		e := Event{Epoch: cur.Epoch, Op: OpReconfigure, Step: StepRefused, Adjustment: res.ID, Detail: ans.Status.String() + ": " + ans.Reason}
		m.note(e)
		step(e)
		return res
	}
	ev.Adjustment = res.ID
	m.adjusting, m.restore = res.ID, cur.Proposal()
	defer func() { m.adjusting, m.restore = 0, Proposal{} }()
	validated := Event{Epoch: cur.Epoch, Op: OpReconfigure, Step: StepValidated, Adjustment: res.ID, Detail: ev.Detail}
	if err := m.commit(next, validated, ev); err != nil { // nothing started, nothing persisted
		m.adjustments--
		res.ID = 0
		res.Answer = Answer{Status: StoreFailed, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: "not persisted", Cause: err}
		return res
	}
	step(validated)
	step(ev)
	res.Joint = next.Joint()

	for {
		if err := m.verify(verify); err != nil {
			e := Event{Epoch: m.cfg.Epoch, Op: OpReconfigure, Step: StepVerifyFailed, Adjustment: res.ID, Joint: m.cfg.Joint(), Detail: err.Error()}
			m.note(e)
			step(e)
			return m.rollback(res, cur, err)
		}
		e := Event{Epoch: m.cfg.Epoch, Op: OpReconfigure, Step: StepVerified, Adjustment: res.ID, Joint: m.cfg.Joint()}
		m.committed = max(m.committed, m.cfg.Epoch) // verify is where the caller commits it
		m.note(e)
		step(e)
		if !m.cfg.Joint() {
			break
		}
		next, ev, ans, ok := m.plan(Change{Op: OpLeaveJoint}, res.ID)
		if !ok {
			res.Answer = ans
			return res
		}
		if err := m.commit(next, ev); err != nil {
			res.Answer = Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Cause: err,
				Reason: fmt.Sprintf("leaving the joint phase was not persisted: epoch %d, the joint phase, is in force (a leave-joint change retries it)", m.cfg.Epoch)}
			return res
		}
		step(ev)
	}
	m.counters.adjustments++
	res.Answer = Answer{Status: OK, Epoch: m.cfg.Epoch, Reason: fmt.Sprintf("adjustment %d applied and verified", res.ID)}
	return res
}

// verify checks the configuration in force: check (run without the lock)
// agrees, then the store reads back the configuration now in force (other
// health changes may have moved the epoch meanwhile) and its healthy voters
// hold a quorum. Called and returns with m.mu held.
func (m *Manager) verify(check func(Config) error) error {
	if check != nil {
		cfg := m.cfg.Clone()
		m.mu.Unlock()
		err := func() error {
			defer m.mu.Lock()
			return check(cfg)
		}()
		if err != nil {
			return err
		}
	}
	if m.store != nil {
		snap, err := m.store.Load()
		if err != nil {
			return fmt.Errorf("reading back the store: %w", err)
		}
		if snap.Config.Epoch != m.cfg.Epoch {
			return fmt.Errorf("the store holds epoch %d, not %d", snap.Config.Epoch, m.cfg.Epoch)
		}
	}
	if h := m.cfg.Healthy(); !m.cfg.IsQuorum(h) {
		return fmt.Errorf("the healthy voters (%s) hold no quorum", joinIDs(h))
	}
	return nil
}

// rollback restores the quorum system of before (keeping members' current
// health) as the next epoch and answers RolledBack. When that direct
// change might not be safe it enters a joint phase instead, and the answer
// says so: the caller leaves it (OpLeaveJoint) once it is committed, as for
// any joint phase. Called with m.mu held.
func (m *Manager) rollback(res Adjustment, before Config, cause error) Adjustment {
	fail := func(reason string, err error) Adjustment {
		res.Answer = Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Cause: err,
			Reason: fmt.Sprintf("%s: epoch %d, the adjusted quorum system that failed verification, is in force", reason, m.cfg.Epoch)}
		return res
	}
	target, err := m.cfg.WithProposal(before.Proposal())
	if err != nil {
		return fail("rollback impossible", err)
	}
	reason := cause.Error()
	if !m.cfg.SameQuorums(target) {
		target.Epoch = m.cfg.Epoch + 1
		detail := "restored the previous quorum system"
		if !safeTransition(m.cfg, target) {
			o := m.cfg.Quorum()
			target.Outgoing = &o
			detail = "joint phase back to the previous quorum system"
			reason += fmt.Sprintf("; rolled back into a joint phase: apply OpLeaveJoint once epoch %d is committed", target.Epoch)
		}
		ev := Event{Epoch: target.Epoch, Op: OpRollback, Step: StepApplied, Adjustment: res.ID, Joint: target.Joint(), Detail: detail}
		if err := m.commit(target, ev); err != nil {
			return fail("rollback not persisted", err)
		}
		res.Steps = append(res.Steps, ev)
	}
	m.counters.rollbacks++
	res.After = m.cfg.Quorum()
	res.Answer = Answer{Status: RolledBack, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Reason: reason}
	return res
}
