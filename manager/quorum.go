package manager

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lockstep/quorum/kernel"
)

// NodeID names a member: 1 to 64 bytes of printable UTF-8 without spaces.
type NodeID string

// maxMembers is the most members a configuration holds: every member keeps
// a replica, and the kernel takes at most kernel.SourcesMax replicas.
const maxMembers = kernel.SourcesMax

// FaultModel is the kind of faulty voter a quorum rule must survive.
type FaultModel uint8

const (
	// Crash: faulty voters stop. Any two quorums must share a voter, so a
	// quorum is a majority (more than half the votes).
	Crash FaultModel = iota
	// Byzantine: faulty voters may lie. Any two quorums must share more than
	// the faulty votes (2q - n >= f + 1), so a quorum is more than two-thirds
	// of the votes.
	Byzantine
)

// String returns "crash" or "byzantine".
func (m FaultModel) String() string {
	switch m {
	case Crash:
		return "crash"
	case Byzantine:
		return "byzantine"
	}
	return fmt.Sprintf("FaultModel(%d)", uint8(m))
}

// MarshalText writes the model's name, for JSON.
func (m FaultModel) MarshalText() ([]byte, error) {
	if m > Byzantine {
		return nil, fmt.Errorf("manager: unknown fault model %d", uint8(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText reads "crash" or "byzantine".
func (m *FaultModel) UnmarshalText(b []byte) error {
	switch string(b) {
	case "crash":
		*m = Crash
	case "byzantine":
		*m = Byzantine
	default:
		return fmt.Errorf("manager: unknown fault model %q (want crash or byzantine)", b)
	}
	return nil
}

// Weight is a voting weight in milli-votes: One is one vote. Integers keep
// the intersection arithmetic exact.
type Weight uint32

// Weights a voter may have. The bounds keep any voter from dominating
// (or vanishing from) a weighted quorum; they are the design's 0.1..2.0.
const (
	One       Weight = 1000
	MinWeight Weight = 100
	MaxWeight Weight = 2000
)

// String writes the weight in votes, e.g. "1.250".
func (w Weight) String() string { return fmt.Sprintf("%d.%03d", w/1000, w%1000) }

// votes formats a sum of milli-votes like Weight.String.
func votes(v uint64) string { return fmt.Sprintf("%d.%03d", v/1000, v%1000) }

// fmtVotes formats milli-votes under q's rule: as weights when weighted,
// else as whole votes (rounded up, so a threshold reads as voters needed).
func (q Quorum) fmtVotes(v uint64) string {
	if q.Rule.Weighted {
		return votes(v)
	}
	return fmt.Sprint(ceilDiv(v, uint64(One)))
}

// Threshold returns the fewest votes out of n equal voters that form a
// quorum: n/2+1 for Crash, floor(2n/3)+1 for Byzantine. n must be at least 1.
func Threshold(n int, m FaultModel) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("manager: n must be at least 1, got %d", n)
	}
	t, err := weightedThreshold(uint64(n), m) // n equal votes of weight 1
	return int(t), err
}

// weightedThreshold returns the least weight out of total that forms a
// quorum: more than half (Crash) or more than two-thirds (Byzantine). It is
// exact for every total, with no intermediate overflow; total must be > 0.
func weightedThreshold(total uint64, m FaultModel) (uint64, error) {
	if total == 0 {
		return 0, errors.New("manager: total weight must be positive, got 0")
	}
	switch m {
	case Crash:
		return total/2 + 1, nil
	case Byzantine:
		return 2*(total/3) + 2*(total%3)/3 + 1, nil
	}
	return 0, fmt.Errorf("manager: unknown fault model %d", uint8(m))
}

// maxFaults returns how many of n equal voters may be faulty: for Crash the
// voters that may stop with a quorum left ((n-1)/2), for Byzantine the
// voters that may lie without two quorums losing an honest common voter
// ((n-1)/3).
func maxFaults(n int, m FaultModel) (int, error) {
	if _, err := Threshold(n, m); err != nil {
		return 0, err
	}
	if m == Crash {
		return (n - 1) / 2, nil
	}
	return (n - 1) / 3, nil
}

// Rule says how votes make a quorum.
type Rule struct {
	// Model is the fault rule: a majority (Crash) or more than two-thirds
	// (Byzantine) of the votes.
	Model FaultModel `json:"model"`
	// Weighted counts each voter's Weight; otherwise every voter counts One.
	Weighted bool `json:"weighted"`
	// Domains also requires a majority of the weight of each of a majority
	// of failure domains (ZooKeeper's hierarchical quorums), so a decision
	// outlives the loss of any one domain. The fault rule still applies, so
	// intersection never depends on how domains are drawn.
	Domains bool `json:"domains"`
	// MinVoters refuses any configuration with fewer voters (raft-autopilot
	// calls it MinQuorum). 0 means 1.
	MinVoters int `json:"min_voters"`
	// TieBreaker, a voter, wins an even split (corosync votequorum's
	// auto_tie_breaker with a named node): under the crash rule, voters
	// holding exactly half the votes are a quorum if they include it.
	// Guarantee: two disjoint halves cannot both hold it, so quorums still
	// intersect, and a cluster split evenly keeps working on one side (with
	// 2 voters, the tie-breaker alone is a quorum: votequorum's two_node
	// without needing fencing). Under Domains the tie-breaker's half must
	// also hold a majority in a majority of domains. A witness cannot be
	// the tie-breaker. Risk: if the tie-breaker itself fails, its
	// half is no longer enough and the other half never was: an even split
	// then stops both sides, as without the rule. It must be a voter; a
	// change that drops it must name another (or none).
	TieBreaker NodeID `json:"tie_breaker,omitempty"`
	// AutoTieBreaker, when TieBreaker is empty, makes the voter with the
	// lowest ID the tie-breaker (votequorum's auto_tie_breaker default):
	// the same guarantee and risk, and the role moves when that voter is
	// removed.
	AutoTieBreaker bool `json:"auto_tie_breaker,omitempty"`
	// WaitForAll (votequorum's wait_for_all): a new configuration is not
	// quorate until every voter has been seen up at once (Config.Waiting,
	// ended by OpAllSeen); until then only all the voters together are a
	// quorum. Guarantee: members that bootstrap while cut off from each
	// other never act on a partial view. Risk: a voter that never comes up
	// keeps the new cluster unavailable until an operator removes it.
	WaitForAll bool `json:"wait_for_all,omitempty"`
	// TwoNode is votequorum's two_node made safe without fencing: exactly
	// two voters, WaitForAll at bootstrap, and the tie-breaker (the named
	// one, else the lower ID) alone is a quorum. Guarantee: the two can
	// never both act, whatever splits them, and the cluster survives the
	// other voter's loss. Risk: losing the tie-breaker stops the cluster
	// (votequorum instead lets either side race to fence the other). To
	// survive either loss, reconfigure to three voters without TwoNode, the
	// third a witness (Node.Witness). Not with Weighted or Domains.
	TwoNode bool `json:"two_node,omitempty"`
}

// Validate reports a rule that names an unknown model or a bad minimum.
func (r Rule) Validate() error {
	if r.Model > Byzantine {
		return fmt.Errorf("manager: rule.Model: unknown fault model %d", uint8(r.Model))
	}
	if r.MinVoters < 0 || r.MinVoters > maxMembers {
		return fmt.Errorf("manager: rule.MinVoters must be from 0 to %d, got %d", maxMembers, r.MinVoters)
	}
	if (r.TieBreaker != "" || r.AutoTieBreaker || r.TwoNode) && r.Model != Crash {
		return fmt.Errorf("manager: rule: a tie-breaker (TieBreaker, AutoTieBreaker, TwoNode) needs the crash rule (a Byzantine quorum is more than two-thirds, never half)")
	}
	if r.TwoNode && (r.Weighted || r.Domains) {
		return fmt.Errorf("manager: rule.TwoNode counts two equal votes: not with Weighted or Domains (under either, the tie-breaker alone need not be a quorum)")
	}
	return nil
}

// String describes the rule, e.g. "crash majority, weighted, domains".
func (r Rule) String() string {
	var b strings.Builder
	if r.Model == Byzantine {
		b.WriteString("byzantine >2/3")
	} else {
		b.WriteString("crash majority")
	}
	if r.Weighted {
		b.WriteString(", weighted")
	}
	if r.Domains {
		b.WriteString(", domains")
	}
	if r.MinVoters > 1 {
		fmt.Fprintf(&b, ", min %d voters", r.MinVoters)
	}
	if r.TwoNode {
		b.WriteString(", two_node")
	}
	switch {
	case r.TieBreaker != "":
		fmt.Fprintf(&b, ", tie-breaker %s", r.TieBreaker)
	case r.AutoTieBreaker && !r.TwoNode:
		b.WriteString(", auto tie-breaker")
	}
	if r.WaitForAll {
		b.WriteString(", wait_for_all")
	}
	return b.String()
}

// Voter is one vote of a quorum system.
type Voter struct {
	ID     NodeID `json:"id"`     // the member
	Weight Weight `json:"weight"` // its vote under a weighted rule, MinWeight to MaxWeight
	// Domain is the failure domain (rack, zone). Empty: the voter is a
	// domain of its own.
	Domain string `json:"domain,omitempty"`
}

// Quorum is a quorum system: who votes, with what weight, under which rule.
// Voters are sorted by ID. The zero Quorum has no quorum at all.
type Quorum struct {
	Rule   Rule    `json:"rule"`   // how votes make a quorum
	Voters []Voter `json:"voters"` // sorted by ID
	// waiting: only every voter together is a quorum (Config.Waiting).
	waiting bool
}

// tieBreaker is the voter that wins an even split, "" for none.
func (q Quorum) tieBreaker() NodeID {
	if q.Rule.TieBreaker != "" || len(q.Voters) == 0 {
		return q.Rule.TieBreaker
	}
	if q.Rule.AutoTieBreaker || q.Rule.TwoNode {
		return q.Voters[0].ID // sorted: the lowest ID
	}
	return ""
}

// NewQuorum returns the quorum system of the voters (copied and sorted by
// ID) under the rule, or an error naming what is wrong with them.
func NewQuorum(rule Rule, voters []Voter) (Quorum, error) {
	q := Quorum{Rule: rule, Voters: slices.Clone(voters)}
	slices.SortFunc(q.Voters, func(a, b Voter) int { return cmp.Compare(a.ID, b.ID) })
	return q, q.Validate()
}

// Validate reports a bad rule, voter count, ID, weight or domain, or voters
// not sorted by unique ID.
func (q Quorum) Validate() error {
	if err := q.Rule.Validate(); err != nil {
		return err
	}
	n := len(q.Voters)
	if n < max(1, q.Rule.MinVoters) || n > maxMembers {
		return fmt.Errorf("manager: voters must number %d to %d, got %d", max(1, q.Rule.MinVoters), maxMembers, n)
	}
	for i, v := range q.Voters {
		if err := validID("voter ID", string(v.ID)); err != nil {
			return err
		}
		if i > 0 && q.Voters[i-1].ID >= v.ID {
			return fmt.Errorf("manager: voters must be sorted by unique ID: %q after %q", v.ID, q.Voters[i-1].ID)
		}
		if v.Weight < MinWeight || v.Weight > MaxWeight {
			return fmt.Errorf("manager: voter %q: weight must be from %v to %v, got %v", v.ID, MinWeight, MaxWeight, v.Weight)
		}
		if err := validDomain(v.Domain); err != nil {
			return fmt.Errorf("manager: voter %q: %w", v.ID, err)
		}
	}
	if id := q.Rule.TieBreaker; id != "" && q.index(id) < 0 {
		return fmt.Errorf("manager: rule.TieBreaker %q is not a voter", id)
	}
	if q.Rule.TwoNode && n != 2 {
		return fmt.Errorf("manager: rule.TwoNode needs exactly 2 voters, got %d (to add a third, reconfigure without TwoNode)", n)
	}
	return nil
}

// validID accepts 1 to 64 bytes of printable UTF-8 without spaces, so IDs
// read well in tables and logs.
func validID(what, s string) error {
	if s == "" || len(s) > 64 {
		return fmt.Errorf("manager: %s must be 1 to 64 bytes, got %d", what, len(s))
	}
	return validChars(what, s)
}

func validDomain(s string) error {
	if len(s) > 64 {
		return fmt.Errorf("manager: domain must be at most 64 bytes, got %d", len(s))
	}
	return validChars("domain", s)
}

func validChars(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("manager: %s %q is not valid UTF-8", what, s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("manager: %s %q holds a space or control character", what, s)
		}
	}
	return nil
}

// value is the voter's vote in milli-votes under the rule.
func (q Quorum) value(v Voter) uint64 {
	if q.Rule.Weighted {
		return uint64(v.Weight)
	}
	return uint64(One)
}

// TotalWeight is the sum of every voter's vote in milli-votes (One each when
// the rule is not weighted). It cannot overflow: at most 255 voters
// of at most 2^32 each.
func (q Quorum) TotalWeight() uint64 {
	var t uint64
	for _, v := range q.Voters {
		t += q.value(v)
	}
	return t
}

// Threshold is the least weight, in milli-votes, that a quorum holds. For a
// quorum system without voters it is 1: nothing reaches it.
func (q Quorum) Threshold() uint64 {
	t, err := weightedThreshold(q.TotalWeight(), q.Rule.Model)
	if err != nil {
		return 1
	}
	return t
}

// faultyWeight is the most weight that may be Byzantine while any two
// quorums still share an honest voter: (total-1)/3 under the Byzantine
// rule, 0 under the crash rule (a shared voter is all it guarantees).
func (q Quorum) faultyWeight() uint64 {
	t := q.TotalWeight()
	if q.Rule.Model != Byzantine || t == 0 {
		return 0
	}
	return (t - 1) / 3
}

// index returns the position of id among the voters, or -1.
func (q Quorum) index(id NodeID) int {
	i, ok := slices.BinarySearchFunc(q.Voters, id, func(v Voter, id NodeID) int { return cmp.Compare(v.ID, id) })
	if !ok {
		return -1
	}
	return i
}

// Has reports whether id is a voter.
func (q Quorum) Has(id NodeID) bool { return q.index(id) >= 0 }

// Tally is how a set of nodes fares against a quorum system.
type Tally struct {
	Voters    int    `json:"voters"`    // distinct voters in the set
	Weight    uint64 `json:"weight"`    // their votes, milli-votes
	Threshold uint64 `json:"threshold"` // votes a quorum needs, milli-votes
	// Domains counts the failure domains in which the set holds a majority
	// of the domain's weight; DomainsNeeded is how many the rule needs (0
	// when it ignores domains).
	Domains       int  `json:"domains"`        // domains where the set holds a majority
	DomainsNeeded int  `json:"domains_needed"` // domains the rule needs
	Quorate       bool `json:"quorate"`        // the set holds a quorum
}

// Tally counts the votes of ids: duplicates count once, non-voters not at all.
func (q Quorum) Tally(ids []NodeID) Tally {
	var buf [maxMembers]bool
	in := buf[:]
	if len(q.Voters) > len(buf) {
		in = make([]bool, len(q.Voters))
	}
	for _, id := range ids {
		if i := q.index(id); i >= 0 {
			in[i] = true
		}
	}
	return q.tally(in)
}

// tally counts the voters marked in in (indexed like q.Voters).
func (q Quorum) tally(in []bool) Tally {
	t := Tally{Threshold: q.Threshold()}
	for i, v := range q.Voters {
		if in[i] {
			t.Voters++
			t.Weight += q.value(v)
		}
	}
	t.Quorate = t.Voters > 0 && (t.Weight >= t.Threshold || q.winsTie(in, t.Weight)) && (!q.waiting || t.Voters == len(q.Voters))
	if q.Rule.Domains {
		groups := q.domains()
		t.DomainsNeeded = len(groups)/2 + 1
		for _, g := range groups {
			var have uint64
			for _, i := range g.members {
				if in[i] {
					have += q.value(q.Voters[i])
				}
			}
			if 2*have > g.weight {
				t.Domains++
			}
		}
		t.Quorate = t.Quorate && t.Domains >= t.DomainsNeeded
	}
	return t
}

// winsTie reports whether voters in, holding weight, are exactly half the
// votes and include the tie-breaker.
func (q Quorum) winsTie(in []bool, weight uint64) bool {
	tb := q.tieBreaker()
	if tb == "" || 2*weight != q.TotalWeight() {
		return false
	}
	i := q.index(tb)
	return i >= 0 && in[i]
}

// leastQuorum is the least weight any quorum holds: the threshold, or half
// the votes where a tie-breaker can win a tie. Bounds built on it (joint
// phases, tolerance) stay safe whatever a tie decides.
func (q Quorum) leastQuorum() uint64 {
	// A wait for all voters is not counted: it ends (OpAllSeen) without a
	// change of the voters, so safety is judged for the quorums after it.
	if q.tieBreaker() != "" && q.TotalWeight()%2 == 0 {
		return q.TotalWeight() / 2
	}
	return q.Threshold()
}

// IsQuorum reports whether ids hold a quorum.
func (q Quorum) IsQuorum(ids []NodeID) bool { return q.Tally(ids).Quorate }

// Equal reports whether two quorum systems have the same rule and voters.
// (Whether a configuration still waits for all voters is not compared: it
// only ever ends, and every quorum after it meets the all-voters one.)
func (q Quorum) Equal(o Quorum) bool {
	return q.Rule == o.Rule && slices.Equal(q.Voters, o.Voters)
}

// IDs lists the voters' IDs in order.
func (q Quorum) IDs() []NodeID {
	ids := make([]NodeID, len(q.Voters))
	for i, v := range q.Voters {
		ids[i] = v.ID
	}
	return ids
}

// domainGroup is one failure domain of a quorum system.
type domainGroup struct {
	key     string // the domain, or "\x00"+ID for a voter without one
	members []int  // indices into Voters
	weight  uint64 // the members' votes
}

// domainKey gives a voter without a domain a domain of its own; the NUL
// cannot appear in a real domain name.
func domainKey(id NodeID, domain string) string {
	if domain == "" {
		return "\x00" + string(id)
	}
	return domain
}

// domainName is the key for people: "(id)" for a voter alone.
func domainName(key string) string {
	if strings.HasPrefix(key, "\x00") {
		return "(" + key[1:] + ")"
	}
	return key
}

// domains groups the voters by failure domain, in key order.
func (q Quorum) domains() []domainGroup {
	var gs []domainGroup
	for i, v := range q.Voters {
		k := domainKey(v.ID, v.Domain)
		j := slices.IndexFunc(gs, func(g domainGroup) bool { return g.key == k })
		if j < 0 {
			gs = append(gs, domainGroup{key: k})
			j = len(gs) - 1
		}
		gs[j].members = append(gs[j].members, i)
		gs[j].weight += q.value(v)
	}
	slices.SortFunc(gs, func(a, b domainGroup) int { return cmp.Compare(a.key, b.key) })
	return gs
}

// MinSize is the fewest voters that can form a quorum (exact, the domain
// rule and a tie-breaker included; with both, a tie is not counted, so it
// may be one more than the fewest). 0 for a quorum system without voters.
func (q Quorum) MinSize() int {
	if len(q.Voters) == 0 {
		return 0
	}
	if q.waiting {
		return len(q.Voters)
	}
	t := q.Threshold()
	if !q.Rule.Domains {
		heaviest := func(skip int, need uint64) int { // fewest voters (but skip) reaching need
			var ws []uint64
			for i, v := range q.Voters {
				if i != skip {
					ws = append(ws, q.value(v))
				}
			}
			slices.SortFunc(ws, func(a, b uint64) int { return cmp.Compare(b, a) })
			var sum uint64
			for i, w := range ws {
				if sum >= need {
					return i
				}
				sum += w
			}
			if sum >= need {
				return len(ws)
			}
			return len(q.Voters) + 1 // unreachable
		}
		size := min(len(q.Voters), heaviest(-1, t))
		if tb := q.index(q.tieBreaker()); tb >= 0 && q.TotalWeight()%2 == 0 {
			half, own := q.TotalWeight()/2, q.value(q.Voters[tb])
			size = min(size, 1+heaviest(tb, subFloor(half, own)))
		}
		return size
	}
	// Within a domain the heaviest voters are always the best picks, so a
	// quorum is a count per domain. best[c][s]: the most weight c voters
	// reach while holding a majority in s domains (s capped at the need).
	groups := q.domains()
	need := len(groups)/2 + 1
	n := len(q.Voters)
	const unreached = -1
	best := make([][]int64, n+1)
	for c := range best {
		best[c] = make([]int64, need+1)
		for s := range best[c] {
			best[c][s] = unreached
		}
	}
	best[0][0] = 0
	used := 0
	for _, g := range groups {
		ws := make([]uint64, len(g.members))
		for i, m := range g.members {
			ws[i] = q.value(q.Voters[m])
		}
		slices.SortFunc(ws, func(a, b uint64) int { return cmp.Compare(b, a) })
		next := make([][]int64, n+1)
		for c := range next {
			next[c] = slices.Clone(best[c])
		}
		for c := 0; c <= used; c++ {
			for s := 0; s <= need; s++ {
				if best[c][s] == unreached {
					continue
				}
				var pre uint64
				for k, w := range ws {
					pre += w
					ns := s
					if 2*pre > g.weight {
						ns = min(need, s+1)
					}
					next[c+k+1][ns] = max(next[c+k+1][ns], best[c][s]+int64(pre))
				}
			}
		}
		used += len(ws)
		best = next
	}
	for c := 1; c <= n; c++ {
		if best[c][need] >= int64(t) {
			return c
		}
	}
	return n
}

// minBreak returns the fewest voters marked in in whose loss leaves the
// rest without a quorum; in must hold a quorum. Exact: a loss breaks a
// quorum by taking the weight below the threshold (cheapest: the heaviest
// first) or by taking enough domains below their majority (cheapest: the
// cheapest domains, each heaviest first), and these are independent. With
// a tie-breaker a half holding it stays a quorum, so the true count may be
// higher: tolerance built on it errs on the safe side.
func (q Quorum) minBreak(in []bool) int {
	if q.waiting {
		return 1 // every voter is needed
	}
	t := q.Threshold()
	var have []uint64
	var sum uint64
	for i, v := range q.Voters {
		if in[i] {
			have = append(have, q.value(v))
			sum += q.value(v)
		}
	}
	if sum < t {
		return 1 // quorate only as the tie-breaker's half: any loss breaks it
	}
	slices.SortFunc(have, func(a, b uint64) int { return cmp.Compare(b, a) })
	flat := 0
	for sum >= t && flat < len(have) {
		sum -= have[flat]
		flat++
	}
	if !q.Rule.Domains {
		return flat
	}
	groups := q.domains()
	need := len(groups)/2 + 1
	var costs []int
	for _, g := range groups {
		var ws []uint64
		var w uint64
		for _, m := range g.members {
			if in[m] {
				ws = append(ws, q.value(q.Voters[m]))
				w += q.value(q.Voters[m])
			}
		}
		if 2*w <= g.weight {
			continue // no majority here to break
		}
		slices.SortFunc(ws, func(a, b uint64) int { return cmp.Compare(b, a) })
		cost := 0
		for 2*w > g.weight {
			w -= ws[cost]
			cost++
		}
		costs = append(costs, cost)
	}
	if len(costs) < need {
		return 0 // in holds no quorum to break
	}
	slices.Sort(costs)
	breakDomains := 0
	for _, c := range costs[:len(costs)-need+1] {
		breakDomains += c
	}
	return min(flat, breakDomains)
}

// byzantineFaults is the most voters, heaviest first, whose weight stays
// within faultyWeight: how many lying voters the rule tolerates.
func (q Quorum) byzantineFaults() int {
	if q.Rule.Model != Byzantine {
		return 0
	}
	f := q.faultyWeight()
	ws := make([]uint64, len(q.Voters))
	for i, v := range q.Voters {
		ws[i] = q.value(v)
	}
	slices.SortFunc(ws, func(a, b uint64) int { return cmp.Compare(b, a) })
	var sum uint64
	for i, w := range ws {
		if sum += w; sum > f {
			return i
		}
	}
	return len(ws)
}

// Intersect reports whether every quorum of a is sure to share a voter with
// every quorum of b, so a configuration change from a to b cannot let two
// disjoint quorums decide. Conservative: false means they might not
// intersect, and the change needs a joint phase. Equal quorum systems
// always intersect (in more than the faulty votes, under the Byzantine
// rule); different ones are judged only under the crash rule, since
// Byzantine overlap across changed weights is not bounded here.
func Intersect(a, b Quorum) bool {
	if a.Equal(b) {
		return a.Validate() == nil
	}
	if a.Rule.Model != Crash || b.Rule.Model != Crash || a.Validate() != nil || b.Validate() != nil {
		return false // validated weights also keep the products below from overflowing
	}
	// The domain rules only remove quorums, so the flat rules decide. Two
	// quorums are disjoint at best when a takes every voter only it has and
	// b likewise; the shared voters must then split so that a still gets
	// need[a] and b need[b] of their votes.
	needA, needB := a.leastQuorum(), b.leastQuorum()
	type shared struct{ wa, wb uint64 }
	var common []shared
	for _, v := range a.Voters {
		if j := b.index(v.ID); j >= 0 {
			common = append(common, shared{a.value(v), b.value(b.Voters[j])})
		} else {
			needA = subFloor(needA, a.value(v))
		}
	}
	for _, v := range b.Voters {
		if !a.Has(v.ID) {
			needB = subFloor(needB, b.value(v))
		}
	}
	if needA == 0 || needB == 0 {
		return false // one side reaches a quorum without any shared voter
	}
	// Relax the split to fractions of voters (an upper bound on what b can
	// keep): give a the shared voters that cost b least per vote of a.
	// Votes are first divided by their common factor so that when every
	// voter weighs the same, as without weights, the bound is exact.
	g := uint64(0)
	for _, s := range common {
		g = gcd(gcd(g, s.wa), s.wb)
	}
	if g == 0 {
		return false
	}
	needA, needB = ceilDiv(needA, g), ceilDiv(needB, g)
	var sumB uint64
	for i := range common {
		common[i].wa /= g
		common[i].wb /= g
		sumB += common[i].wb
	}
	slices.SortFunc(common, func(x, y shared) int { return cmp.Compare(x.wb*y.wa, y.wb*x.wa) })
	var gotA, costB uint64
	for _, s := range common {
		if gotA+s.wa >= needA {
			// Take the fraction (needA-gotA)/s.wa of this voter: b keeps
			// sumB - costB - frac*s.wb, disjoint iff that reaches needB.
			left := sumB - costB
			if left < needB {
				return true
			}
			return (left-needB)*s.wa < (needA-gotA)*s.wb
		}
		gotA += s.wa
		costB += s.wb
	}
	return true // the shared voters cannot even give a its quorum
}

func subFloor(a, b uint64) uint64 {
	if b >= a {
		return 0
	}
	return a - b
}

func ceilDiv(a, b uint64) uint64 { return (a + b - 1) / b }

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
