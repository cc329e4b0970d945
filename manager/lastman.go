package manager

import (
	"fmt"
	"slices"
)

// LastManStanding is the next step of corosync votequorum's
// last_man_standing: given the voters the caller has seen gone (Failed)
// for its window, it proposes the quorum system without one of them (the
// first by ID), so that a cluster losing members one after another keeps a
// quorum among those left, down to floor voters (and never below the
// rule's MinVoters, nor 1). ok is false, with why, when no step is
// possible: nobody gone, the floor reached, or the healthy voters hold no
// quorum now (a shrinking cluster must still be quorate to shrink).
//
// Guarantee: the proposal is only a proposal; Adjust applies it through a
// joint phase when old and new quorums might not intersect, and refuses it
// unless the healthy voters hold a quorum of both, so no two disjoint sets
// are ever both quorate. One step at a time: the one-pending-change rule
// makes the next wait until the caller declares this one committed.
// Risk: a voter gone for the window but alive behind a partition comes
// back a standby, and must be promoted again; with two voters left, the
// last step needs a tie-breaker (Rule.TieBreaker, AutoTieBreaker or
// TwoNode: the holder alone is then a quorum of two, and the other side of
// an even split is not).
func (c Config) LastManStanding(gone []NodeID, floor int) (p Proposal, why string, ok bool) {
	q := c.Quorum()
	floor = max(floor, c.Rule.MinVoters, 1)
	if len(q.Voters) <= floor {
		return Proposal{}, fmt.Sprintf("%d voters: the floor of %d is reached", len(q.Voters), floor), false
	}
	var drop NodeID
	for _, id := range slices.Sorted(slices.Values(gone)) {
		if n, found := c.Node(id); found && n.Voting() && n.State == Failed && q.Has(id) {
			drop = id
			break
		}
	}
	if drop == "" {
		return Proposal{}, "no voter of the quorum system is gone (Failed)", false
	}
	if h := c.Healthy(); !c.IsQuorum(h) {
		return Proposal{}, fmt.Sprintf("the healthy voters (%s) hold no quorum: a cluster shrinks only while it is quorate", joinIDs(h)), false
	}
	p = c.Proposal()
	p.Voters = slices.DeleteFunc(p.Voters, func(v Vote) bool { return v.ID == drop })
	if p.Rule.TieBreaker == drop {
		p.Rule.TieBreaker = "" // it goes with its holder
	}
	if p.Rule.TwoNode && len(p.Voters) < 2 {
		p.Rule.TwoNode = false // one voter left: nothing to split
	}
	if next, err := c.WithProposal(p); err == nil {
		if err := next.validateWitnesses(); err != nil {
			return Proposal{}, fmt.Sprintf("dropping %s would leave no data voter in every quorum: %v", drop, err), false
		}
	}
	return p, fmt.Sprintf("drop %s, gone: %d voters left", drop, len(p.Voters)), true
}
