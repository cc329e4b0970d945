package manager

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/lockstep/quorum/kernel"
)

// Verdict is what a kernel result means under a configuration.
type Verdict uint8

const (
	// NoQuorum: the longest chain's replicas do not hold a quorum. The zero
	// Verdict, so an unset Decision never reads as quorate.
	NoQuorum Verdict = iota
	// Quorate: the longest chain's replicas hold a quorum; its leader's
	// copy is the object's committed state.
	Quorate
	// SplitBrain: two or more chains tie for longest (kernel Forked).
	SplitBrain
	// NoCopy: the longest chain holds a quorum, but only witnesses (see
	// Node.Witness) among the replicas read are at its head: the data is
	// on replicas not read. Nothing older may be served in its place.
	NoCopy
)

var verdictNames = [...]string{"no quorum", "quorate", "split-brain", "no copy"}

// String returns "no quorum", "quorate", "split-brain" or "no copy".
func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return fmt.Sprintf("Verdict(%d)", uint8(v))
}

// MarshalText writes the verdict's name, for JSON.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Decision is the verdict on one object.
type Decision struct {
	Verdict Verdict       `json:"verdict"` // quorate, split-brain or no quorum
	Epoch   uint64        `json:"epoch"`   // the configuration it was judged under
	Result  kernel.Result `json:"result"`  // the kernel's answer (kernel.Roles)
	Roles   []kernel.Role `json:"roles"`   // each replica's role, by index
	// Leader is the replica index holding the head of the longest chain
	// (the first such data replica: never a witness; Result.Leader is the
	// kernel's, which may be), -1 on split-brain and when only witnesses
	// hold the head; LeaderNode is its node. Authoritative only when
	// Quorate (otherwise it is merely the most advanced copy seen).
	Leader     int    `json:"leader"`
	LeaderNode NodeID `json:"leader_node,omitempty"` // replicas[Leader]
	// Chain lists the replica indices in the longest chain, ascending.
	Chain []int `json:"chain"`
	// Tally is the chain's votes in the current quorum system; Outgoing
	// the same in the outgoing one during a joint phase.
	Tally    Tally  `json:"tally"`              // incoming voters
	Outgoing *Tally `json:"outgoing,omitempty"` // outgoing voters, joint phase only
	// Repair lists the replica indices to overwrite with the leader's
	// object, in the order to write them (see Config.Decide). Empty unless
	// Quorate: copying a chain that is not a quorum over other replicas
	// could destroy the only copies of committed data.
	Repair []int `json:"repair"`
	// Reason says why, for logs.
	Reason string `json:"reason"`
}

// Decide judges one object: vectors holds each replica's 32-byte vector
// and replicas the node that supplied it, in the same order; every replica
// must be a member, each at most once. It runs kernel.Roles and decides,
// under the configuration's rule, weights and (in a joint phase) both
// quorum systems, whether the longest chain is a quorum.
//
// The repair list holds the lagging replicas of the winning chain first,
// the farthest behind first, then the replicas outside it, each group in
// index order; never the leader nor a replica already at its state. Every
// write only moves a replica into the chain, so a crash after any prefix
// of the list leaves the same leader and a chain at least as long: the
// quorum never goes backwards. Farthest behind first matters: a lagging
// replica may be the only one whose vector links the chain to the states
// below it, and overwriting it first would cut the replicas there out of
// the chain. Replicas D/C C/B B/A B/A form a chain of four; writing the
// C/B replica first would leave D/C D/C B/A B/A, a split-brain.
//
// A cyclic or conflicting object is an error wrapping kernel.ErrCyclic or
// kernel.ErrConflict, as are bad vectors.
func (c Config) Decide(vectors [][]byte, replicas []NodeID) (Decision, error) {
	return c.decide(c.systems(), vectors, replicas)
}

// decide is Decide with the configuration's quorum systems at hand (the
// Manager keeps them beside the configuration it publishes).
func (c Config) decide(qs []Quorum, vectors [][]byte, replicas []NodeID) (Decision, error) {
	n := len(replicas)
	if n < 1 || n > maxMembers {
		return Decision{}, fmt.Errorf("manager: replicas must name 1 to %d replicas, got %d", maxMembers, n)
	}
	if len(vectors) != n {
		return Decision{}, fmt.Errorf("manager: vectors has %d entries, want %d (one per replica)", len(vectors), n)
	}
	for i, id := range replicas {
		if _, ok := c.Node(id); !ok {
			return Decision{}, fmt.Errorf("manager: replicas[%d] is %q, not a member of epoch %d", i, id, c.Epoch)
		}
	}
	if i, j, dup := duplicate(replicas); dup {
		return Decision{}, fmt.Errorf("manager: replicas[%d] and replicas[%d] are both %q: a node must vote once", i, j, replicas[i])
	}
	var depthBuf [maxMembers]uint8
	depths := depthBuf[:n]
	r, err := kernel.Depths(vectors, depths)
	if err != nil {
		return Decision{}, fmt.Errorf("manager: %w", err)
	}
	roles := make([]kernel.Role, n)
	for i, d := range depths {
		switch d {
		case 0:
			roles[i] = kernel.Current
		case kernel.NotInChain:
			roles[i] = kernel.Outside
		default:
			roles[i] = kernel.Lagging
		}
	}

	d := Decision{Epoch: c.Epoch, Result: r, Roles: roles, Leader: -1}
	if r.Forked {
		d.Verdict = SplitBrain
		d.Reason = "two or more chains tie for longest: split-brain"
		return d, nil
	}
	d.Leader = int(r.Leader)
	d.LeaderNode = replicas[d.Leader]
	chain := make([]NodeID, 0, n)
	d.Chain = make([]int, 0, n)
	for i, role := range roles {
		if role != kernel.Outside {
			d.Chain = append(d.Chain, i)
			chain = append(chain, replicas[i])
		}
	}
	d.Tally = qs[0].Tally(chain)
	quorate := d.Tally.Quorate
	if len(qs) > 1 {
		out := qs[1].Tally(chain)
		d.Outgoing = &out
		quorate = quorate && out.Quorate
	}
	d.Reason = fmt.Sprintf("chain of %d (%s) holds %s of %s votes, a quorum needs %s",
		len(chain), joinIDs(chain), qs[0].fmtVotes(d.Tally.Weight), qs[0].fmtVotes(qs[0].TotalWeight()), qs[0].fmtVotes(d.Tally.Threshold))
	if tb := qs[0].tieBreaker(); tb != "" {
		d.Reason += fmt.Sprintf(" (or half, with the tie-breaker %s)", tb)
	}
	if c.Waiting {
		d.Reason += fmt.Sprintf(" and, until all are seen at once (wait_for_all), all %d voters", len(qs[0].Voters))
	}
	if c.Rule.Domains {
		d.Reason += fmt.Sprintf(" and a majority in %d domains (has %d)", d.Tally.DomainsNeeded, d.Tally.Domains)
	}
	if d.Outgoing != nil {
		d.Reason += fmt.Sprintf("; outgoing voters: %s of %s, needs %s",
			qs[1].fmtVotes(d.Outgoing.Weight), qs[1].fmtVotes(qs[1].TotalWeight()), qs[1].fmtVotes(d.Outgoing.Threshold))
	}
	if n, _ := c.Node(d.LeaderNode); n.Witness {
		// The kernel names the first replica at the head; name a data one.
		d.Leader, d.LeaderNode = -1, ""
		for i, id := range replicas {
			if n, _ := c.Node(id); roles[i] == kernel.Current && !n.Witness {
				d.Leader, d.LeaderNode = i, id
				break
			}
		}
	}
	switch {
	case !quorate:
		d.Verdict = NoQuorum
	case d.Leader < 0:
		d.Verdict, d.Repair = NoCopy, []int{}
		d.Reason += "; only witnesses hold the chain's head: its data is on replicas not read"
	default:
		d.Verdict, d.Repair = Quorate, repairOrder(depths)
	}
	return d, nil
}

// repairOrder lists the lagging replicas by distance behind the leader,
// farthest first, then the outside ones, each in index order.
func repairOrder(depths []uint8) []int {
	repair := []int{}
	for i, d := range depths {
		if d != 0 && d != kernel.NotInChain {
			repair = append(repair, i)
		}
	}
	slices.SortStableFunc(repair, func(a, b int) int { return cmp.Compare(depths[b], depths[a]) })
	for i, d := range depths {
		if d == kernel.NotInChain {
			repair = append(repair, i)
		}
	}
	return repair
}

// duplicate finds a node named twice, the pair with the lowest second index.
func duplicate(ids []NodeID) (i, j int, found bool) {
	if len(ids) <= 16 { // a few comparisons beat sorting
		for j := range ids {
			for i := range j {
				if ids[i] == ids[j] {
					return i, j, true
				}
			}
		}
		return 0, 0, false
	}
	order := make([]int, len(ids))
	for k := range order {
		order[k] = k
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Or(cmp.Compare(ids[a], ids[b]), cmp.Compare(a, b)) })
	best := -1
	for k := 1; k < len(order); k++ {
		if a, b := order[k-1], order[k]; ids[a] == ids[b] && (best < 0 || b < j || b == j && a < i) {
			i, j, best = a, b, 0
		}
	}
	return i, j, best == 0
}

func joinIDs(ids []NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " ")
}
