// Package policy decides what a membership agent proposes: given the
// configuration in force, the members as observed (by memberlist, say)
// and the time, Plan returns the changes to make, each with a reason.
//
// It keeps the rules of package cluster/memberlist's agent:
//
//   - health changes at once: a member observed alive is Active, one
//     observed suspect is Suspect, one dead or gone is Failed, and a
//     configured member never observed is Failed once the window has
//     passed since observation started;
//   - a member observed alive and not yet configured is added as a
//     standby at once;
//   - voter changes wait for the window: a standby is promoted once it
//     has been alive for the whole window, a departed member is removed
//     once it has been gone for it (a voter first stops voting, then the
//     standby is removed), and an advised change that drops a voter
//     waits until that voter has been down for the whole window; so a
//     member that fails and returns within the window produces no
//     adjustment;
//   - at most one voter change per plan, never one without a voter, at
//     most Options.MaxVoters promoted voters, and a voter change that
//     failed is not retried from the same configuration within the
//     window.
//
// Plan is a pure function: no goroutines, no clock, no state of its own.
// What it needs to remember (when members changed state, what was tried)
// comes in as arguments, so the same inputs always give the same plan.
package policy

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lockstep/quorum/manager"
)

// planner is one call of Plan.
type planner struct {
	cfg     manager.Config
	members map[manager.NodeID]Member
	now     time.Time
	opts    Options
	res     Result
	voter   bool // a voter change is planned
}

// Plan returns what to propose for cfg given the members as observed at
// now. Members may come in any order; a member listed twice counts once
// (the last). It never fails: an input it cannot act on (an unknown
// state, a non-positive window) plans nothing for the part concerned.
func Plan(cfg manager.Config, members []Member, now time.Time, opts Options) Result {
	p := &planner{cfg: cfg, members: map[manager.NodeID]Member{}, now: now, opts: opts}
	for _, m := range members {
		p.members[m.ID] = m
	}
	if opts.Window <= 0 {
		return p.res
	}
	p.health()
	p.additions()
	if cfg.Joint() {
		// A joint phase left behind (a rollback into one): leave it
		// before any other voter change.
		p.voterChange(Action{Change: manager.Change{Op: manager.OpLeaveJoint}, Reason: "a joint phase is in force"}, "leaving the joint phase")
		return p.res
	}
	if opts.Leaving {
		return p.res
	}
	p.departures()
	p.promotions()
	p.advice()
	return p.res
}

func (p *planner) add(a Action) { p.res.Actions = append(p.res.Actions, a) }

func (p *planner) hold(what string, until time.Time) {
	p.res.Held = append(p.res.Held, Hold{What: what, Until: until})
	p.wake(until)
}

func (p *planner) wake(t time.Time) {
	if t.After(p.now) && (p.res.Next.IsZero() || t.Before(p.res.Next)) {
		p.res.Next = t
	}
}

// health reports self and every configured member in the state observed.
func (p *planner) health() {
	self, seen := p.members[p.opts.Self]
	if n, ok := p.cfg.Node(p.opts.Self); !ok {
		if seen && p.opts.Self != "" {
			p.add(Action{Change: manager.Change{Op: manager.OpAdd, Node: self.Node()}, Reason: "this member is not in the configuration"})
		}
	} else if n.State != manager.Active && n.State != manager.Left && !p.opts.Leaving {
		p.add(Action{Change: manager.Change{Op: manager.OpRecover, ID: n.ID}, Reason: "this member is running"})
	}
	unseenUntil := p.opts.Started.Add(p.opts.Window)
	for _, n := range p.cfg.Nodes {
		if n.ID == p.opts.Self || n.State == manager.Left {
			continue
		}
		m, ok := p.members[n.ID]
		var want manager.NodeState
		var why string
		switch {
		case !ok && p.now.Before(unseenUntil):
			p.wake(unseenUntil)
			continue
		case !ok:
			want, why = manager.Failed, "not seen since observation started at "+stamp(p.opts.Started)
		case m.State == Alive:
			want, why = manager.Active, "alive since "+stamp(m.Since)
		case m.State == Suspect:
			want, why = manager.Suspect, "silent since "+stamp(m.Since)
		case m.State == Dead || m.State == Left:
			want, why = manager.Failed, m.State.String()+" since "+stamp(m.Since)
		default:
			continue
		}
		if want == n.State {
			continue
		}
		op := map[manager.NodeState]manager.Op{manager.Active: manager.OpRecover, manager.Suspect: manager.OpSuspect, manager.Failed: manager.OpFail}[want]
		p.add(Action{Change: manager.Change{Op: op, ID: n.ID}, Reason: why})
	}
}

// additions adds every member observed alive and not configured, as a
// standby.
func (p *planner) additions() {
	for _, m := range p.sortedMembers() {
		if _, ok := p.cfg.Node(m.ID); ok || m.ID == p.opts.Self || (m.State != Alive && m.State != Suspect) {
			continue
		}
		p.add(Action{Change: manager.Change{Op: manager.OpAdd, Node: m.Node()}, Reason: "joined at " + stamp(m.Since)})
	}
}

func (p *planner) sortedMembers() []Member {
	ms := make([]Member, 0, len(p.members))
	for _, m := range p.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b Member) int { return cmp.Compare(a.ID, b.ID) })
	return ms
}

// voterChange plans a, unless another voter change is planned, a failed
// attempt at it is less than a window old, or the window's attempts are
// used up. It reports whether it planned it.
func (p *planner) voterChange(a Action, what string) bool {
	if p.voter {
		return false
	}
	if a.Proposal != nil && len(a.Proposal.Voters) == 0 {
		return false // never a configuration without a voter
	}
	a.Key = fmt.Sprintf("%v|%v|%v|%s|%v", p.cfg.Rule, p.cfg.Nodes, p.cfg.Outgoing, a.Change.Op, a.Proposal)
	var recent []time.Time
	for _, at := range p.opts.Attempts {
		until := at.At.Add(p.opts.Window)
		if !p.now.Before(until) {
			continue
		}
		if at.Key == a.Key && at.Failed {
			p.hold("retrying a failed change ("+what+")", until)
			return false
		}
		recent = append(recent, until)
	}
	if len(recent) >= MaxAttempts {
		p.hold(fmt.Sprintf("%s: %d voter changes already this window", what, len(recent)), slices.MinFunc(recent, time.Time.Compare))
		return false
	}
	p.voter = true
	p.add(a)
	return true
}

// departures removes the members that left a window ago: a voter first
// stops voting (an adjustment), then the standby is removed.
func (p *planner) departures() {
	for _, n := range p.cfg.Nodes {
		m, ok := p.members[n.ID]
		if n.ID == p.opts.Self || !ok || m.State != Left || n.State == manager.Left {
			continue
		}
		if until := m.Since.Add(p.opts.Window); p.now.Before(until) {
			p.hold("removing "+string(n.ID)+" (left)", until)
			continue
		}
		if n.Standby {
			p.add(Action{Change: manager.Change{Op: manager.OpRemove, ID: n.ID}, Reason: "left at " + stamp(m.Since)})
			continue
		}
		prop := p.cfg.Proposal()
		prop.Voters = slices.DeleteFunc(prop.Voters, func(v manager.Vote) bool { return v.ID == n.ID })
		if prop.Rule.TieBreaker == n.ID {
			prop.Rule.TieBreaker = ""
		}
		p.voterChange(Action{Proposal: &prop, Reason: string(n.ID) + " left at " + stamp(m.Since)}, "removing "+string(n.ID))
	}
}

// promotions makes voters of the standbys that want a vote and have been
// alive for the window, up to MaxVoters, in one adjustment.
func (p *planner) promotions() {
	if p.voter {
		return
	}
	room := len(p.cfg.Nodes)
	if p.opts.MaxVoters > 0 {
		room = p.opts.MaxVoters - len(p.cfg.Quorum().Voters)
	}
	prop := p.cfg.Proposal()
	var added []string
	for _, n := range p.cfg.Nodes {
		if len(added) >= room {
			break
		}
		m, ok := p.members[n.ID]
		if !n.Standby || n.State != manager.Active || !ok || m.State != Alive || m.Standby {
			continue
		}
		if until := m.Since.Add(p.opts.Window); n.ID != p.opts.Self && p.now.Before(until) {
			p.hold("promoting "+string(n.ID), until)
			continue
		}
		prop.Voters = append(prop.Voters, manager.Vote{ID: n.ID})
		added = append(added, string(n.ID))
	}
	if len(added) > 0 {
		p.voterChange(Action{Proposal: &prop, Reason: "promote " + strings.Join(added, ", ") + ": alive for the window"}, "promoting "+strings.Join(added, ", "))
	}
}

// advice adopts the advised quorum system once every voter it drops has
// been down for the window and every voter it adds alive and active for
// it, if it changes the voters, the rule or a weight by at least
// weightStep.
func (p *planner) advice() {
	adv := p.opts.Advice
	if p.voter || adv == nil {
		return
	}
	cur := p.cfg.Quorum()
	next := map[manager.NodeID]manager.Weight{}
	for _, v := range adv.Proposal.Voters {
		next[v.ID] = v.Weight
	}
	ok, significant := true, adv.Proposal.Rule != cur.Rule || len(adv.Proposal.Voters) != len(cur.Voters)
	for _, v := range cur.Voters {
		w, stays := next[v.ID]
		if stays {
			if w != 0 && (w >= v.Weight+weightStep || v.Weight >= w+weightStep) {
				significant = true
			}
			continue
		}
		significant = true
		since := p.opts.Started
		if m, seen := p.members[v.ID]; seen {
			if m.State == Alive || m.State == Suspect || v.ID == p.opts.Self {
				return // a live voter is never dropped
			}
			since = m.Since
		}
		if until := since.Add(p.opts.Window); p.now.Before(until) {
			p.hold("replacing "+string(v.ID), until)
			ok = false
		}
	}
	for _, v := range adv.Proposal.Voters {
		if cur.Has(v.ID) {
			continue
		}
		significant = true
		n, member := p.cfg.Node(v.ID)
		m, seen := p.members[v.ID]
		if !member || n.State != manager.Active || !seen || m.State != Alive {
			return
		}
		if until := m.Since.Add(p.opts.Window); v.ID != p.opts.Self && p.now.Before(until) {
			p.hold("promoting "+string(v.ID), until)
			ok = false
		}
	}
	if ok && significant {
		prop := adv.Proposal
		prop.Voters = slices.Clone(prop.Voters)
		p.voterChange(Action{Proposal: &prop, Reason: "recommended by " + adv.Strategy}, "adjusting as "+adv.Strategy+" recommends")
	}
}

func stamp(t time.Time) string { return t.Format("15:04:05.000") }
