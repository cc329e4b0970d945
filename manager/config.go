package manager

import (
	"cmp"
	"fmt"
	"slices"
)

// NodeState is a member's health as last reported to the manager.
type NodeState uint8

const (
	// Active: healthy.
	Active NodeState = iota
	// Suspect: missed heartbeats; still a member and still counted as live
	// for network views, but not healthy for failure tolerance.
	Suspect
	// Failed: down. A failed voter is still a voter: its failure does not
	// shrink the quorum (otherwise both sides of a partition could).
	Failed
	// Left: removed from the configuration, kept only while it still votes
	// in the outgoing half of a joint phase.
	Left
)

var stateNames = [...]string{"active", "suspect", "failed", "left"}

// String returns the state's name: "active", "suspect", "failed", "left".
func (s NodeState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("NodeState(%d)", uint8(s))
}

// MarshalText writes the state's name, for JSON.
func (s NodeState) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("manager: unknown node state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText reads a state's name.
func (s *NodeState) UnmarshalText(b []byte) error {
	for i, name := range stateNames {
		if string(b) == name {
			*s = NodeState(i)
			return nil
		}
	}
	return fmt.Errorf("manager: unknown node state %q", b)
}

// Capabilities are what a node can do; zero means unknown.
type Capabilities struct {
	CPU           int `json:"cpu"`            // cores
	MemoryMB      int `json:"memory_mb"`      // megabytes
	BandwidthMbps int `json:"bandwidth_mbps"` // megabits per second
}

// Node is a member of the configuration.
type Node struct {
	ID NodeID `json:"id"` // unique among members
	// Domain is the failure domain (rack, zone) the node shares fate with.
	Domain       string       `json:"domain,omitempty"`
	Capabilities Capabilities `json:"capabilities"` // for weights and replacements
	State        NodeState    `json:"state"`        // health as last reported
	// Standby: a member that keeps a replica but does not vote (a learner),
	// ready to replace a failed voter.
	Standby bool `json:"standby,omitempty"`
	// Weight is the node's vote when the rule is weighted, MinWeight to
	// MaxWeight. 0 in a request means One.
	Weight Weight `json:"weight"`
	// Witness: a voter that keeps each object's 32-byte vector but not its
	// data (votequorum's quorum device, made to vote on objects too). Its
	// vector counts in the chain like any replica's, so a quorum can form
	// with one data replica and the witness; but a decision names a data
	// replica as the leader, and when only witnesses hold the chain's
	// head the verdict is NoCopy (the data is on replicas not read), never
	// an older copy. Guarantee: two data replicas and a witness survive the
	// loss of any one of the three without serving stale data. Risk: an
	// object written while one data replica was down has one data copy;
	// while that copy is down too the object is unavailable (NoCopy), where
	// a third data replica would serve it. Repairing a witness writes its
	// vector only. A standby
	// witness keeps vectors without voting, ready to replace a witness.
	Witness bool `json:"witness,omitempty"`
}

// Voting reports whether the node is a voter: neither a standby nor leaving.
func (n Node) Voting() bool { return !n.Standby && n.State != Left }

// validate checks one node; the weight must already be set.
func (n Node) validate() error {
	if err := validID("node ID", string(n.ID)); err != nil {
		return err
	}
	if err := validDomain(n.Domain); err != nil {
		return fmt.Errorf("manager: node %q: %w", n.ID, err)
	}
	if c := n.Capabilities; c.CPU < 0 || c.MemoryMB < 0 || c.BandwidthMbps < 0 {
		return fmt.Errorf("manager: node %q: capabilities must not be negative, got %+v", n.ID, c)
	}
	if n.State > Left {
		return fmt.Errorf("manager: node %q: unknown state %d", n.ID, uint8(n.State))
	}
	if n.Weight < MinWeight || n.Weight > MaxWeight {
		return fmt.Errorf("manager: node %q: weight must be from %v to %v, got %v", n.ID, MinWeight, MaxWeight, n.Weight)
	}
	return nil
}

// Config is the membership at one epoch. Nodes are sorted by ID. A Config
// from the Manager is a copy: changing it changes nothing else.
type Config struct {
	// Epoch numbers the configuration; every change makes the next one.
	Epoch uint64 `json:"epoch"`
	// Rule is how the voters' votes make a quorum.
	Rule  Rule   `json:"rule"`
	Nodes []Node `json:"nodes"` // every member, sorted by ID
	// Outgoing, during a joint phase, is the previous quorum system: until
	// the phase ends, a decision needs a quorum of it as well as one of the
	// current voters, so old and new quorums cannot decide apart.
	Outgoing *Quorum `json:"outgoing,omitempty"`
	// Waiting: under Rule.WaitForAll or Rule.TwoNode, the configuration
	// has not yet seen every voter up at once (see OpAllSeen), so only all
	// the (incoming) voters together are a quorum. New sets it; OpAllSeen
	// ends it for good, as does a Reconfigure to a rule with neither
	// option. A running cluster has been seen: reconfiguring into either
	// option starts no wait. The wait only removes quorums, so the safety
	// of every change is judged as if it were over.
	Waiting bool `json:"waiting,omitempty"`
}

// Clone returns a deep copy.
func (c Config) Clone() Config {
	c.Nodes = slices.Clone(c.Nodes)
	if c.Outgoing != nil {
		o := *c.Outgoing
		o.Voters = slices.Clone(o.Voters)
		c.Outgoing = &o
	}
	return c
}

// Joint reports whether the configuration is in a joint phase.
func (c Config) Joint() bool { return c.Outgoing != nil }

// Node returns the member with the ID.
func (c Config) Node(id NodeID) (Node, bool) {
	i, ok := slices.BinarySearchFunc(c.Nodes, id, func(n Node, id NodeID) int { return cmp.Compare(n.ID, id) })
	if !ok {
		return Node{}, false
	}
	return c.Nodes[i], true
}

// Quorum returns the quorum system of the current (incoming) voters: every
// node that is neither a standby nor Left.
func (c Config) Quorum() Quorum {
	q := Quorum{Rule: c.Rule, waiting: c.Waiting}
	for _, n := range c.Nodes {
		if n.Voting() {
			q.Voters = append(q.Voters, Voter{ID: n.ID, Weight: n.Weight, Domain: n.Domain})
		}
	}
	return q
}

// Validate reports anything that makes the configuration unusable: bad
// nodes, duplicate IDs, too many members, a bad rule or voter count, or an
// outgoing quorum system naming a non-member.
func (c Config) Validate() error {
	if c.Epoch == 0 {
		return fmt.Errorf("manager: config epoch must be at least 1")
	}
	if len(c.Nodes) > maxMembers {
		return fmt.Errorf("manager: config holds %d members, at most %d allowed", len(c.Nodes), maxMembers)
	}
	for i, n := range c.Nodes {
		if err := n.validate(); err != nil {
			return err
		}
		if i > 0 && c.Nodes[i-1].ID >= n.ID {
			return fmt.Errorf("manager: config nodes must be sorted by unique ID: %q after %q", n.ID, c.Nodes[i-1].ID)
		}
		if n.State == Left && (c.Outgoing == nil || !c.Outgoing.Has(n.ID)) {
			return fmt.Errorf("manager: node %q has left but is no outgoing voter", n.ID)
		}
	}
	if err := c.Quorum().Validate(); err != nil {
		return err
	}
	if c.Outgoing != nil {
		if err := c.Outgoing.Validate(); err != nil {
			return fmt.Errorf("manager: outgoing quorum: %w", err)
		}
		for _, v := range c.Outgoing.Voters {
			if _, ok := c.Node(v.ID); !ok {
				return fmt.Errorf("manager: outgoing voter %q is not a member", v.ID)
			}
		}
	}
	return c.validateWitnesses()
}

// validateWitnesses refuses a quorum system in which the witnesses alone
// could form a quorum, or a witness breaks ties: writes such a quorum
// acknowledged would keep no data.
func (c Config) validateWitnesses() error {
	for _, q := range c.systems() {
		q.waiting = false // the wait ends: judge the quorums after it
		var witnesses []NodeID
		for _, v := range q.Voters {
			if n, _ := c.Node(v.ID); n.Witness {
				witnesses = append(witnesses, v.ID)
			}
		}
		if len(witnesses) == 0 {
			continue
		}
		if tb := q.tieBreaker(); slices.Contains(witnesses, tb) {
			return fmt.Errorf("manager: the tie-breaker %s is a witness: alone it would be a quorum of two, holding no data", tb)
		}
		if q.IsQuorum(witnesses) {
			return fmt.Errorf("manager: the witnesses %s alone would be a quorum, holding no data", joinIDs(witnesses))
		}
	}
	return nil
}

// systems returns the quorum systems a decision needs: the incoming one,
// then the outgoing one during a joint phase.
func (c Config) systems() []Quorum {
	qs := []Quorum{c.Quorum()}
	if c.Outgoing != nil {
		o := *c.Outgoing
		o.waiting = false // the wait holds for the incoming voters only
		qs = append(qs, o)
	}
	return qs
}

// IsQuorum reports whether ids hold a quorum: of the voters, and during a
// joint phase of the outgoing voters too.
func (c Config) IsQuorum(ids []NodeID) bool {
	for _, q := range c.systems() {
		if !q.IsQuorum(ids) {
			return false
		}
	}
	return true
}

// Healthy lists the Active members that vote in either half.
func (c Config) Healthy() []NodeID {
	var ids []NodeID
	for _, n := range c.Nodes {
		if n.State == Active && (n.Voting() || (c.Outgoing != nil && c.Outgoing.Has(n.ID))) {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

// SameQuorums reports whether two configurations have the same quorum
// systems (health aside).
func (c Config) SameQuorums(o Config) bool {
	a, b := c.systems(), o.systems()
	return len(a) == len(b) && a[0].Equal(b[0]) && (len(a) == 1 || a[1].Equal(b[1]))
}

// safeTransition reports whether moving from c to next can never let a
// quorum of c and a quorum of next decide apart: the same quorum systems,
// entering a joint phase with c's voters outgoing, leaving one for either
// half, or two plain configurations whose quorums Intersect.
func safeTransition(c, next Config) bool {
	if c.SameQuorums(next) {
		return true
	}
	cur, nq := c.Quorum(), next.Quorum()
	switch {
	case !c.Joint() && next.Joint():
		// A joint quorum is a quorum of c.
		return next.Outgoing.Equal(cur)
	case c.Joint() && !next.Joint():
		// A joint quorum is a quorum of both halves.
		return nq.Equal(cur) || nq.Equal(*c.Outgoing)
	case !c.Joint() && !next.Joint():
		return Intersect(cur, nq)
	}
	return false
}

// Vote is one voter of a Proposal.
type Vote struct {
	ID NodeID `json:"id"` // a member
	// Weight is the voter's new weight; 0 keeps the node's weight.
	Weight Weight `json:"weight,omitempty"`
}

// Proposal is a new quorum system for the current members: the rule and
// who votes. Members it does not list become standbys.
type Proposal struct {
	Rule   Rule   `json:"rule"`   // the new rule
	Voters []Vote `json:"voters"` // the new voters, each at most once
}

// Proposal returns the configuration's current quorum system as a
// proposal, a starting point for changes.
func (c Config) Proposal() Proposal {
	p := Proposal{Rule: c.Rule}
	for _, v := range c.Quorum().Voters {
		p.Voters = append(p.Voters, Vote{ID: v.ID, Weight: v.Weight})
	}
	return p
}

// errUnknown names request IDs that are not members (the UnknownMembers
// answer).
type errUnknown struct{ ids []NodeID }

func (e *errUnknown) Error() string {
	return fmt.Sprintf("manager: not members: %s", joinIDs(e.ids))
}

// WithProposal returns c with p's rule and voters (members p does not list
// become standbys), not joint, at the same epoch. Unknown or Left IDs are
// an *errUnknown; duplicates and bad weights an error naming them.
func (c Config) WithProposal(p Proposal) (Config, error) {
	next := c.Clone()
	next.Outgoing = nil
	next.Rule = p.Rule
	if err := p.Rule.Validate(); err != nil {
		return Config{}, err
	}
	listed := map[NodeID]Weight{}
	var unknown []NodeID
	for i, v := range p.Voters {
		if _, dup := listed[v.ID]; dup {
			return Config{}, fmt.Errorf("manager: proposal voters[%d]: %q is listed twice", i, v.ID)
		}
		if v.Weight != 0 && (v.Weight < MinWeight || v.Weight > MaxWeight) {
			return Config{}, fmt.Errorf("manager: proposal voters[%d] %q: weight must be 0 (keep) or from %v to %v, got %v",
				i, v.ID, MinWeight, MaxWeight, v.Weight)
		}
		listed[v.ID] = v.Weight
		if n, ok := c.Node(v.ID); !ok || n.State == Left {
			unknown = append(unknown, v.ID)
		}
	}
	if len(unknown) > 0 {
		return Config{}, &errUnknown{unknown}
	}
	next.Nodes = slices.DeleteFunc(next.Nodes, func(n Node) bool { return n.State == Left })
	for i := range next.Nodes {
		n := &next.Nodes[i]
		w, ok := listed[n.ID]
		n.Standby = !ok
		if ok && w != 0 {
			n.Weight = w
		}
	}
	return next, nil
}
