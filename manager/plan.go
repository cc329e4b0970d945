package manager

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// refusal is why a change is not applied: the answer's status and reason.
type refusal struct {
	status Status
	reason string
}

func refuse(s Status, format string, args ...any) *refusal {
	return &refusal{status: s, reason: fmt.Sprintf(format, args...)}
}

// plan validates c against the configuration in force and returns the next
// configuration, its event and the answer; ok is false when there is
// nothing to commit (ans says why). adj is the adjustment making the
// request, 0 for none.
func (m *Manager) plan(c Change, adj uint64) (next Config, ev Event, ans Answer, ok bool) {
	cur := m.cfg
	if c.Op == OpAdd && c.Node.Weight == 0 {
		c.Node.Weight = One
	}
	fp := fingerprint(c)
	if r := m.checkEpoch(&c, fp, adj); r != nil {
		return Config{}, Event{}, Answer{Status: r.status, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: r.reason}, false
	}
	next = cur.Clone()
	next.Epoch = c.Epoch
	ev = Event{Epoch: c.Epoch, Op: c.Op, Step: StepApplied, Adjustment: adj, Fingerprint: fp}
	r := m.step(cur, &next, &ev, c, adj)
	if r == nil {
		r = refusalOf(next.Validate())
	}
	if r != nil {
		return Config{}, Event{}, Answer{Status: r.status, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: r.reason}, false
	}
	ev.Joint = next.Joint()
	ans = Answer{Status: OK, Epoch: next.Epoch, Joint: next.Joint()}
	if next.Joint() && !cur.Joint() {
		ev.Detail += "; old and new quorums might not intersect: joint phase"
		ans.Reason = fmt.Sprintf("joint phase: decisions need a quorum of the old and the new voters; apply OpLeaveJoint once epoch %d is committed", next.Epoch)
	}
	return next, ev, ans, true
}

func refusalOf(err error) *refusal {
	if err == nil {
		return nil
	}
	return refuse(Refused, "%v", err)
}

// checkEpoch sets c.Epoch to the next epoch when it is 0 and judges a
// request for a past or future epoch: a retry of a change in force is
// AlreadyApplied, anything else a Conflict or EpochNotNext.
func (m *Manager) checkEpoch(c *Change, fp string, adj uint64) *refusal {
	cur := m.cfg
	switch {
	case c.Epoch == 0:
		c.Epoch = cur.Epoch + 1
	case c.Epoch <= cur.Epoch:
		for _, e := range m.history {
			if e.Epoch != c.Epoch || e.Step != StepApplied {
				continue
			}
			if e.Fingerprint == fp && m.inForce(*c, adj) {
				return refuse(AlreadyApplied, "epoch %d already applied this change, and it is in force", c.Epoch)
			}
			if e.Fingerprint == fp {
				return refuse(Conflict, "epoch %d applied this change, but a later epoch undid it: it is not in force (submit it again for epoch %d)", c.Epoch, cur.Epoch+1)
			}
			return refuse(Conflict, "epoch %d was made by a different change (%s %s)", c.Epoch, e.Op, e.Node)
		}
		return refuse(EpochNotNext, "epoch %d is past (now %d) and no longer in the history", c.Epoch, cur.Epoch)
	case c.Epoch > cur.Epoch+1:
		return refuse(EpochNotNext, "epoch %d is not next: the configuration is at epoch %d", c.Epoch, cur.Epoch)
	}
	return nil
}

// busy refuses a change of the voters while another adjustment runs or,
// outside an adjustment, during a joint phase.
func (m *Manager) busy(cur Config, op Op, adj uint64) *refusal {
	if m.adjusting != 0 && m.adjusting != adj {
		return refuse(Conflict, "adjustment %d is in progress", m.adjusting)
	}
	if cur.Joint() && op != OpLeaveJoint && adj == 0 {
		return refuse(Conflict, "epoch %d is a joint phase: leave it first", cur.Epoch)
	}
	return nil
}

// uncommitted enforces one pending change of the quorum system at a time
// (see Committed).
func (m *Manager) uncommitted() *refusal {
	if m.changed > m.committed {
		return refuse(Conflict, "epoch %d changed the quorum system and is not committed yet: call Committed(%d) once a quorum has it", m.changed, m.changed)
	}
	return nil
}

// step applies c to next (a copy of cur at the next epoch), filling in the
// event, and checks what a change of the voters must pass.
func (m *Manager) step(cur Config, next *Config, ev *Event, c Change, adj uint64) *refusal {
	var changesVoters bool
	var r *refusal
	switch c.Op {
	case OpAdd:
		changesVoters, r = planAdd(cur, next, ev, c.Node)
	case OpRemove:
		changesVoters, r = m.planRemove(cur, next, ev, c.ID, adj)
	case OpSuspect, OpFail, OpRecover:
		r = planHealth(cur, next, ev, c)
	case OpReconfigure:
		if r = m.busy(cur, c.Op, adj); r == nil {
			changesVoters, r = planReconfigure(cur, next, ev, c.Proposal)
		}
	case OpLeaveJoint:
		r = m.planLeaveJoint(cur, next, ev, adj)
	case OpAllSeen:
		r = planAllSeen(cur, next, ev, c.Seen)
	default:
		r = refuse(Refused, "unknown op %q", c.Op)
	}
	if r != nil || !changesVoters {
		return r
	}
	if r = m.busy(cur, c.Op, adj); r != nil {
		return r
	}
	if r = m.uncommitted(); r != nil {
		return r
	}
	var why string
	if *next, why = m.guard(cur, *next); why != "" {
		return refuse(Refused, "%s", why)
	}
	return nil
}

func planAdd(cur Config, next *Config, ev *Event, n Node) (changesVoters bool, r *refusal) {
	ev.Node = n.ID
	if err := n.validate(); err != nil {
		return false, refusalOf(err)
	}
	if old, ok := cur.Node(n.ID); ok {
		if old == n {
			return false, refuse(AlreadyApplied, "%s is already a member as given", n.ID)
		}
		return false, refuse(Conflict, "%s is already a member (%s)", n.ID, old.State)
	}
	if n.State == Left {
		return false, refuse(Refused, "a new member cannot have left")
	}
	if len(cur.Nodes) >= maxMembers {
		return false, refuse(Refused, "the configuration already has %d members, the most allowed", maxMembers)
	}
	next.Nodes = append(next.Nodes, n)
	slices.SortFunc(next.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	role := "standby"
	if n.Voting() {
		role = "voter"
	}
	ev.Detail = fmt.Sprintf("added %s as a %s", n.ID, role)
	return n.Voting(), nil
}

func (m *Manager) planRemove(cur Config, next *Config, ev *Event, id NodeID, adj uint64) (changesVoters bool, r *refusal) {
	ev.Node = id
	old, ok := cur.Node(id)
	if !ok || old.State == Left {
		return false, refuse(UnknownMembers, "%q is not a member", id)
	}
	if m.adjusting != 0 && adj != m.adjusting && slices.ContainsFunc(m.restore.Voters, func(v Vote) bool { return v.ID == id }) {
		return false, refuse(Conflict, "adjustment %d is verifying and may roll back to a quorum system with %s as a voter: remove it after the adjustment", m.adjusting, id)
	}
	next.Nodes = slices.DeleteFunc(next.Nodes, func(n Node) bool { return n.ID == id })
	ev.Detail = fmt.Sprintf("removed %s", id)
	return old.Voting(), nil
}

func planHealth(cur Config, next *Config, ev *Event, c Change) *refusal {
	ev.Node = c.ID
	old, ok := cur.Node(c.ID)
	if !ok {
		return refuse(UnknownMembers, "%q is not a member", c.ID)
	}
	if old.State == Left {
		return refuse(Conflict, "%s has left", c.ID)
	}
	state := map[Op]NodeState{OpSuspect: Suspect, OpFail: Failed, OpRecover: Active}[c.Op]
	if old.State == state {
		return refuse(AlreadyApplied, "%s is already %s", c.ID, state)
	}
	i, _ := slices.BinarySearchFunc(next.Nodes, c.ID, func(n Node, id NodeID) int { return cmp.Compare(n.ID, id) })
	next.Nodes[i].State = state
	ev.Detail = fmt.Sprintf("%s: %s -> %s", c.ID, old.State, state)
	return nil
}

func planReconfigure(cur Config, next *Config, ev *Event, prop Proposal) (changesVoters bool, r *refusal) {
	p, err := cur.WithProposal(prop)
	var unknown *errUnknown
	if errors.As(err, &unknown) {
		return false, refuse(UnknownMembers, "proposal names %s", joinIDs(unknown.ids))
	}
	if err != nil {
		return false, refusalOf(err)
	}
	if cur.SameQuorums(p) {
		return false, refuse(AlreadyApplied, "the proposed quorum system is already in force")
	}
	p.Epoch = next.Epoch
	if !p.Rule.WaitForAll && !p.Rule.TwoNode {
		p.Waiting = false // the option is dropped: nothing to wait for
	}
	*next = p
	ev.Detail = fmt.Sprintf("%d voters, %s", len(next.Quorum().Voters), next.Rule)
	return true, nil
}

func (m *Manager) planLeaveJoint(cur Config, next *Config, ev *Event, adj uint64) *refusal {
	if m.adjusting != 0 && m.adjusting != adj {
		return refuse(Conflict, "adjustment %d is in progress", m.adjusting)
	}
	if !cur.Joint() {
		return refuse(Conflict, "epoch %d is not a joint phase", cur.Epoch)
	}
	if r := m.uncommitted(); r != nil {
		return r
	}
	next.Outgoing = nil
	next.Nodes = slices.DeleteFunc(next.Nodes, func(n Node) bool { return n.State == Left })
	ev.Detail = "the incoming voters alone decide"
	return nil
}

// planAllSeen ends wait_for_all once seen holds every (incoming) voter:
// they were all up at once, so from now on the rule alone decides.
func planAllSeen(cur Config, next *Config, ev *Event, seen []NodeID) *refusal {
	if !cur.Waiting {
		return refuse(AlreadyApplied, "not waiting for all voters: every voter has been seen at once before")
	}
	var unknown []NodeID
	for _, id := range seen {
		if _, ok := cur.Node(id); !ok {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		return refuse(UnknownMembers, "seen names %s", joinIDs(unknown))
	}
	var missing []NodeID
	for _, v := range cur.Quorum().Voters {
		if !slices.Contains(seen, v.ID) {
			missing = append(missing, v.ID)
		}
	}
	if len(missing) > 0 {
		return refuse(Refused, "waiting for all voters to be seen at once: %s not seen", joinIDs(missing))
	}
	next.Waiting = false
	ev.Detail = fmt.Sprintf("all %d voters seen at once: the rule alone decides", len(cur.Quorum().Voters))
	return nil
}
