package main

import (
	"fmt"
	"slices"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/manager"
)

// verdict is what one object's kernel result means.
type verdict uint8

const (
	noQuorum   verdict = iota // the longest chain is not a quorum
	quorate                   // the longest chain is a quorum: its leader's copy is committed
	splitBrain                // two or more chains tie for longest
)

// decision is the verdict on one object and what to do about it.
type decision struct {
	verdict verdict
	// leader is the replica holding the head of the longest chain (-1 on
	// split-brain); authoritative only when quorate.
	leader int
	// repair lists the replicas to overwrite with the leader's object, in
	// the order to write them: empty unless quorate.
	repair []int
}

// rules are the --rule values: the manager's fault models.
var rules = map[string]manager.FaultModel{"majority": manager.Crash, "byzantine": manager.Byzantine}

// decider judges objects under the manager's configuration for this
// replica set: one member per replica, every one voting with weight one,
// under the rule (by default a majority: more than half of the replicas;
// byzantine: more than two-thirds).
type decider struct {
	rule string // --rule
	cfg  manager.Config
	ids  []manager.NodeID // the member each replica is, by index
	need int              // replicas a quorum needs
}

func newDecider(rule string, n int) (*decider, error) {
	model, ok := rules[rule]
	if !ok {
		return nil, usagef("--rule must be majority or byzantine, got %q", rule)
	}
	d := &decider{rule: rule}
	nodes := make([]manager.Node, n)
	for i := range n {
		id := manager.NodeID(fmt.Sprintf("replica-%03d", i))
		d.ids = append(d.ids, id)
		nodes[i] = manager.Node{ID: id}
	}
	m, err := manager.New(nil, nodes, manager.Rule{Model: model})
	if err != nil {
		return nil, err
	}
	d.cfg = m.Config()
	if d.need, err = manager.Threshold(n, model); err != nil {
		return nil, err
	}
	return d, nil
}

// decide is the one place the command turns a kernel answer into an
// action: one object's vectors (one per replica), and the result and roles
// kernel.Roles gave for them, judged by manager.Config.Decide.
//
// The manager's repair list holds the lagging replicas of the winning
// chain first, the farthest behind first, then the replicas outside it,
// each group in index order; never the leader nor a replica at its state.
// Lagging replicas already count in the chain, so catching them up first
// restores full copies of the committed state soonest. Farthest behind
// first, because a lagging replica may be the only one whose vector links
// the chain to the states below it: D/C C/B B/A B/A is a chain of four,
// but with the C/B replica overwritten first it would be D/C D/C B/A B/A,
// a split-brain. In this order every write only moves a replica into the
// chain, so a crash after any prefix of the list leaves the same head and
// a chain at least as long: the quorum never goes backwards. The engine
// checks every decision against this (engine.statusOf) before it writes.
func (d *decider) decide(vectors [][]byte, r kernel.Result, roles []kernel.Role) (decision, error) {
	md, err := d.cfg.Decide(vectors, d.ids)
	if err != nil {
		return decision{}, err
	}
	if md.Result != r || !slices.Equal(md.Roles, roles) {
		return decision{}, fmt.Errorf("manager saw %+v %v where the kernel saw %+v %v", md.Result, md.Roles, r, roles)
	}
	out := decision{verdict: noQuorum, leader: md.Leader}
	switch md.Verdict {
	case manager.Quorate:
		out.verdict = quorate
		if len(md.Repair) > 0 {
			out.repair = md.Repair
		}
	case manager.SplitBrain:
		out.verdict, out.leader = splitBrain, -1
	case manager.NoQuorum:
	default:
		return decision{}, fmt.Errorf("manager: unknown verdict %v", md.Verdict)
	}
	return out, nil
}

// describe is the rule for reports, e.g. "majority (more than half: a
// chain of at least 2 of 3)".
func (d *decider) describe(n int) string {
	what := "more than half"
	if d.rule == "byzantine" {
		what = "more than two-thirds"
	}
	return fmt.Sprintf("%s (%s: a chain of at least %d of %d)", d.rule, what, d.need, n)
}

// chainDepths writes how many states each replica is behind the leader:
// 0 for current replicas, k for a lagging one k states behind, -1 for the
// replicas outside the chain (kernel.Depths). The engine uses it to check
// decide's repair order and to reuse a decision for the next object of the
// same shape.
func chainDepths(vectors [][]byte, depth []int) error {
	var d [kernel.SourcesMax]uint8
	if _, err := kernel.Depths(vectors, d[:len(vectors)]); err != nil {
		return err
	}
	for i, k := range d[:len(vectors)] {
		depth[i] = int(k)
		if k == kernel.NotInChain {
			depth[i] = -1
		}
	}
	return nil
}
