package manager

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// A naive model of the documented rules, brute force over small clusters,
// and the property tests that hold the code to it (from an adversarial
// review: REVIEW_RUNS sets the random runs, REVIEW_BASE their first seed).

// naiveTB is the tie-breaker per the docs.
func naiveTB(r Rule, voters []Voter) NodeID {
	if r.TieBreaker != "" {
		return r.TieBreaker
	}
	if (r.AutoTieBreaker || r.TwoNode) && len(voters) > 0 {
		low := voters[0].ID
		for _, v := range voters {
			if v.ID < low {
				low = v.ID
			}
		}
		return low
	}
	return ""
}

// naiveQuorate: is set a quorum of (r, voters), waiting meaning all voters needed.
func naiveQuorate(r Rule, voters []Voter, waiting bool, set map[NodeID]bool) bool {
	if len(voters) == 0 {
		return false
	}
	val := func(v Voter) uint64 {
		if r.Weighted {
			return uint64(v.Weight)
		}
		return 1000
	}
	var W, w uint64
	any := false
	for _, v := range voters {
		W += val(v)
		if set[v.ID] {
			w += val(v)
			any = true
		} else if waiting {
			return false
		}
	}
	if !any {
		return false
	}
	var flat bool
	if r.Model == Byzantine {
		flat = 3*w > 2*W
	} else {
		flat = 2*w > W
		if tb := naiveTB(r, voters); tb != "" && 2*w == W && set[tb] {
			flat = true
		}
	}
	if !flat {
		return false
	}
	if r.Domains {
		dw := map[string]uint64{}
		dh := map[string]uint64{}
		for _, v := range voters {
			k := v.Domain
			if k == "" {
				k = "\x00" + string(v.ID)
			}
			dw[k] += val(v)
			if set[v.ID] {
				dh[k] += val(v)
			}
		}
		maj := 0
		for k, tw := range dw {
			if 2*dh[k] > tw {
				maj++
			}
		}
		if maj < len(dw)/2+1 {
			return false
		}
	}
	return true
}

func naiveIncoming(c Config) []Voter {
	var vs []Voter
	for _, n := range c.Nodes {
		if !n.Standby && n.State != Left {
			vs = append(vs, Voter{ID: n.ID, Weight: n.Weight, Domain: n.Domain})
		}
	}
	return vs
}

// naiveConfigQuorate: per the docs, waiting applies to the incoming half.
func naiveConfigQuorate(c Config, set map[NodeID]bool) bool {
	if !naiveQuorate(c.Rule, naiveIncoming(c), c.Waiting, set) {
		return false
	}
	if c.Outgoing != nil && !naiveQuorate(c.Outgoing.Rule, c.Outgoing.Voters, false, set) {
		return false
	}
	return true
}

func maskSet(ids []NodeID, mask uint32) map[NodeID]bool {
	s := map[NodeID]bool{}
	for i, id := range ids {
		if mask&(1<<i) != 0 {
			s[id] = true
		}
	}
	return s
}

// disjointPair finds a quorum of a and a disjoint quorum of b (naive model).
func disjointPair(ids []NodeID, a, b Config) (uint32, bool) {
	full := uint32(1)<<len(ids) - 1
	for m := uint32(0); m <= full; m++ {
		if naiveConfigQuorate(a, maskSet(ids, m)) && naiveConfigQuorate(b, maskSet(ids, full&^m)) {
			return m, true
		}
	}
	return 0, false
}

var reviewIDs = []NodeID{"a", "b", "c", "d", "e", "f"}

func reviewRule(rng *rand.Rand, members []NodeID) Rule {
	r := Rule{Weighted: rng.IntN(3) == 0, Domains: rng.IntN(5) == 0}
	switch rng.IntN(6) {
	case 0:
		r.Model = Byzantine
	case 1:
		r.AutoTieBreaker = true
	case 2:
		if len(members) > 0 {
			r.TieBreaker = members[rng.IntN(len(members))]
		}
	case 3:
		r.TwoNode = true
	}
	if rng.IntN(4) == 0 {
		r.WaitForAll = true
	}
	if rng.IntN(8) == 0 {
		r.MinVoters = rng.IntN(4)
	}
	return r
}

func reviewNode(rng *rand.Rand, id NodeID) Node {
	n := Node{ID: id, Standby: rng.IntN(4) == 0, Witness: rng.IntN(5) == 0}
	if rng.IntN(3) == 0 {
		n.Weight = testWeights[rng.IntN(len(testWeights))]
	}
	n.Domain = []string{"", "", "r1", "r2"}[rng.IntN(4)]
	return n
}

func memberIDs(c Config) []NodeID {
	var ids []NodeID
	for _, n := range c.Nodes {
		if n.State != Left {
			ids = append(ids, n.ID)
		}
	}
	return ids
}

func reviewChange(rng *rand.Rand, c Config) Change {
	mem := memberIDs(c)
	pick := func() NodeID {
		if len(mem) == 0 || rng.IntN(10) == 0 {
			return reviewIDs[rng.IntN(len(reviewIDs))]
		}
		return mem[rng.IntN(len(mem))]
	}
	switch rng.IntN(9) {
	case 0:
		return Change{Op: OpAdd, Node: reviewNode(rng, reviewIDs[rng.IntN(len(reviewIDs))])}
	case 1:
		return Change{Op: OpRemove, ID: pick()}
	case 2:
		return Change{Op: []Op{OpSuspect, OpFail, OpRecover}[rng.IntN(3)], ID: pick()}
	case 3, 4:
		var vs []Vote
		for _, id := range mem {
			if rng.IntN(3) > 0 {
				v := Vote{ID: id}
				if rng.IntN(3) == 0 {
					v.Weight = testWeights[rng.IntN(len(testWeights))]
				}
				vs = append(vs, v)
			}
		}
		var vids []NodeID
		for _, v := range vs {
			vids = append(vids, v.ID)
		}
		return Change{Op: OpReconfigure, Proposal: Proposal{Rule: reviewRule(rng, vids), Voters: vs}}
	case 5:
		return Change{Op: OpLeaveJoint}
	case 6:
		var seen []NodeID
		all := rng.IntN(2) == 0
		for _, n := range c.Nodes {
			if all || rng.IntN(2) == 0 {
				seen = append(seen, n.ID)
			}
		}
		return Change{Op: OpAllSeen, Seen: seen}
	case 7:
		return Change{Op: OpRemove, ID: pick()}
	default:
		return Change{Op: Op("bogus"), Epoch: uint64(rng.IntN(5))}
	}
}

type reviewRun struct {
	t     *testing.T
	seed  uint64
	step  int
	trace []string
}

func (r *reviewRun) fail(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("seed %d step %d: %s\ntrace:\n%s", r.seed, r.step, fmt.Sprintf(format, args...), joinLines(r.trace))
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}

// checkConfig: implementation vs naive model, and no disjoint quorums.
func (r *reviewRun) checkConfig(c Config) {
	r.t.Helper()
	if err := c.Validate(); err != nil {
		r.fail("invalid config: %v", err)
	}
	ids := reviewIDs
	full := uint32(1)<<len(ids) - 1
	for m := uint32(0); m <= full; m++ {
		s := maskSet(ids, m)
		var list []NodeID
		for _, id := range ids {
			if s[id] {
				list = append(list, id)
			}
		}
		if got, want := c.IsQuorum(list), naiveConfigQuorate(c, s); got != want {
			r.fail("epoch %d: IsQuorum(%v) = %v, the documented rule says %v\n%s", c.Epoch, list, got, want, c.Describe())
		}
	}
	if m, ok := disjointPair(ids, c, c); ok {
		r.fail("epoch %d: disjoint quorums %v\n%s", c.Epoch, maskSet(ids, m), c.Describe())
	}
}

// naiveMinSize: the fewest voters of the incoming system forming a quorum of it.
func naiveMinSize(c Config) int {
	vs := naiveIncoming(c)
	ids := make([]NodeID, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	best := 0
	for m := uint32(1); m < 1<<len(ids); m++ {
		if naiveQuorate(c.Rule, vs, c.Waiting, maskSet(ids, m)) {
			if k := popcount(m); best == 0 || k < best {
				best = k
			}
		}
	}
	return best
}

func popcount(m uint32) int {
	k := 0
	for ; m != 0; m &= m - 1 {
		k++
	}
	return k
}

// naiveCrash: the most healthy voters that may stop, whichever, with a
// quorum left; -1 if the healthy hold none now.
func naiveCrash(c Config) int {
	h := c.Healthy()
	full := uint32(1)<<len(h) - 1
	if !naiveConfigQuorate(c, maskSet(h, full)) {
		return -1
	}
	worst := len(h) // fewest stopped that break the quorum
	for m := uint32(0); m <= full; m++ {
		if !naiveConfigQuorate(c, maskSet(h, full&^m)) {
			worst = min(worst, popcount(m))
		}
	}
	return worst - 1
}

func (r *reviewRun) checkMetrics(c Config) {
	r.t.Helper()
	q := c.Quorum()
	got, want := q.MinSize(), naiveMinSize(c)
	// Documented: exact, except with domains and a tie-breaker (may be one more).
	if got != want && !(c.Rule.Domains && naiveTB(c.Rule, naiveIncoming(c)) != "" && got == want+1) {
		r.fail("epoch %d: MinSize %d, brute force %d\n%s", c.Epoch, got, want, c.Describe())
	}
	tol := c.Tolerance()
	nc := naiveCrash(c)
	if nc >= 0 && tol.Crash > nc {
		r.fail("epoch %d: Tolerance.Crash %d overstates the brute force %d\n%s", c.Epoch, tol.Crash, nc, c.Describe())
	}
	if nc >= 0 && tol.Crash < 0 {
		r.fail("epoch %d: Tolerance.Crash %d though healthy are quorate (brute %d)\n%s", c.Epoch, tol.Crash, nc, c.Describe())
	}
	if nc < 0 && tol.Crash >= 0 {
		r.fail("epoch %d: Tolerance.Crash %d though healthy hold no quorum\n%s", c.Epoch, tol.Crash, c.Describe())
	}
	_ = c.Describe()
}

// checkRoundTrip: Snapshot -> MarshalBinary -> UnmarshalBinary -> Restore decides the same.
func (r *reviewRun) checkRoundTrip(m *Manager) {
	r.t.Helper()
	snap := m.Snapshot()
	b, err := snap.MarshalBinary()
	if err != nil {
		r.fail("MarshalBinary: %v", err)
	}
	var back Snapshot
	if err := back.UnmarshalBinary(b); err != nil {
		r.fail("UnmarshalBinary: %v", err)
	}
	m2, err := Restore(nil, back)
	if err != nil {
		r.fail("Restore: %v", err)
	}
	c1, c2 := m.Config(), m2.Config()
	full := uint32(1)<<len(reviewIDs) - 1
	for mk := uint32(0); mk <= full; mk++ {
		var list []NodeID
		for i, id := range reviewIDs {
			if mk&(1<<i) != 0 {
				list = append(list, id)
			}
		}
		if c1.IsQuorum(list) != c2.IsQuorum(list) {
			r.fail("epoch %d: after Snapshot/MarshalBinary/Restore IsQuorum(%v) is %v, before %v\n%s", c1.Epoch, list, c2.IsQuorum(list), c1.IsQuorum(list), c1.Describe())
		}
	}
}

func TestReviewRandomSequences(t *testing.T) {
	runs, steps := 120, 40
	if s := os.Getenv("REVIEW_RUNS"); s != "" {
		fmt.Sscan(s, &runs)
	}
	base := uint64(20261201)
	if s := os.Getenv("REVIEW_BASE"); s != "" {
		fmt.Sscan(s, &base)
	}
	for run := range runs {
		seed := base + uint64(run)
		rng := rand.New(rand.NewPCG(seed, 7))
		r := &reviewRun{t: t, seed: seed}
		var nodes []Node
		k := 2 + rng.IntN(4)
		for _, id := range reviewIDs[:k] {
			nodes = append(nodes, reviewNode(rng, id))
		}
		var vids []NodeID
		for _, n := range nodes {
			if !n.Standby {
				vids = append(vids, n.ID)
			}
		}
		rule := reviewRule(rng, vids)
		m, err := New(nil, nodes, rule)
		if err != nil {
			continue
		}
		r.trace = append(r.trace, fmt.Sprintf("New(%+v, %s)", nodes, rule))
		configs := map[uint64]Config{1: m.Config()}
		r.checkConfig(m.Config())
		newEpoch := func(before uint64, committed uint64, c Config) {
			r.t.Helper()
			if _, seen := configs[c.Epoch]; seen {
				return
			}
			for e, old := range configs {
				if e >= committed {
					if mk, ok := disjointPair(reviewIDs, old, c); ok {
						r.fail("epoch %d (committed %d) and epoch %d have disjoint quorums %v / rest\nold:\n%s\nnew:\n%s", e, committed, c.Epoch, maskSet(reviewIDs, mk), old.Describe(), c.Describe())
					}
				}
			}
			configs[c.Epoch] = c
			r.checkConfig(c)
			r.checkMetrics(c)
		}
		for r.step = 0; r.step < steps; r.step++ {
			cur := m.Config()
			committed := m.Snapshot().Committed
			switch rng.IntN(6) {
			case 0:
				e := cur.Epoch - uint64(rng.IntN(2))
				err := m.Committed(e)
				r.trace = append(r.trace, fmt.Sprintf("Committed(%d) = %v", e, err))
			case 1:
				ch := reviewChange(rng, cur)
				if ch.Op != OpReconfigure {
					continue
				}
				fails := rng.IntN(3) == 0
				adj := m.Adjust(0, ch.Proposal, func(c Config) error {
					newEpoch(0, m.Snapshot().Committed, c)
					if fails {
						return fmt.Errorf("verify says no")
					}
					return nil
				})
				r.trace = append(r.trace, fmt.Sprintf("Adjust(%+v) = %v", ch.Proposal, adj.Answer))
				newEpoch(0, m.Snapshot().Committed, m.Config())
			default:
				ch := reviewChange(rng, cur)
				ans := m.Apply(ch)
				r.trace = append(r.trace, fmt.Sprintf("Apply(%+v) = %v", ch, ans))
				if ans.Status == OK {
					reviewStats[string(ch.Op)+fmt.Sprint(ans.Joint)]++
					if nc := m.Config(); nc.Waiting != cur.Waiting {
						reviewStats["waitEnded"]++
					}
					if tb := m.Config().Quorum().tieBreaker(); tb != "" && ch.Op == OpReconfigure {
						reviewStats["reconfTB"]++
					}
					newEpoch(0, committed, m.Config())
				}
			}
			r.checkRoundTrip(m)
		}
	}
	t.Logf("stats %v", reviewStats)
}

var reviewStats = map[string]int{}

// Decide with witnesses over random object histories: a tree of states,
// each replica at a random one.
func TestReviewDecideWitnessRandom(t *testing.T) {
	const runs = 20000
	seed := uint64(99)
	rng := rand.New(rand.NewPCG(seed, 11))
	for run := range runs {
		k := 2 + rng.IntN(4)
		var nodes []Node
		for _, id := range reviewIDs[:k] {
			nodes = append(nodes, reviewNode(rng, id))
		}
		nodes[0].Standby = false
		var vids []NodeID
		for _, n := range nodes {
			if !n.Standby {
				vids = append(vids, n.ID)
			}
		}
		m, err := New(nil, nodes, reviewRule(rng, vids))
		if err != nil {
			continue
		}
		if m.Config().Waiting {
			m.Apply(Change{Op: OpAllSeen, Seen: reviewIDs})
		}
		c := m.Config()
		// states: 0 is the root; state i>0 built on a random earlier one.
		ns := 1 + rng.IntN(5)
		parent := make([]int, ns)
		idOf := make([][16]byte, ns+1)
		for i := range idOf {
			for j := range idOf[i] {
				idOf[i][j] = byte(rng.Uint32())
			}
			idOf[i][0] |= 1
		}
		for i := 1; i < ns; i++ {
			parent[i] = rng.IntN(i)
		}
		vec := func(s int) []byte {
			v := make([]byte, 32)
			copy(v, idOf[s][:])
			if s == 0 {
				copy(v[16:], idOf[ns][:])
			} else {
				copy(v[16:], idOf[parent[s]][:])
			}
			return v
		}
		var reps []NodeID
		var vs [][]byte
		for _, n := range c.Nodes {
			if rng.IntN(4) > 0 {
				reps = append(reps, n.ID)
				vs = append(vs, vec(rng.IntN(ns)))
			}
		}
		if len(reps) == 0 {
			continue
		}
		d, err := c.Decide(vs, reps)
		if err != nil {
			t.Fatalf("seed %d run %d: %v", seed, run, err)
		}
		var chain []NodeID
		for _, i := range d.Chain {
			chain = append(chain, reps[i])
		}
		isWitness := func(id NodeID) bool { n, _ := c.Node(id); return n.Witness }
		switch d.Verdict {
		case Quorate:
			if !c.IsQuorum(chain) || d.Leader < 0 || isWitness(d.LeaderNode) || d.Roles[d.Leader] != kernel.Current || reps[d.Leader] != d.LeaderNode {
				t.Fatalf("seed %d run %d: bad quorate decision %+v", seed, run, d)
			}
			for _, i := range d.Repair {
				if d.Roles[i] == kernel.Current {
					t.Fatalf("seed %d run %d: repair names a current replica %+v", seed, run, d)
				}
			}
		case NoCopy:
			if !c.IsQuorum(chain) || d.Leader != -1 || d.LeaderNode != "" || len(d.Repair) != 0 {
				t.Fatalf("seed %d run %d: bad no-copy decision %+v", seed, run, d)
			}
			for i, id := range reps {
				if d.Roles[i] == kernel.Current && !isWitness(id) {
					t.Fatalf("seed %d run %d: no copy though %s holds the head %+v", seed, run, id, d)
				}
			}
		case NoQuorum:
			if c.IsQuorum(chain) || len(d.Repair) != 0 {
				t.Fatalf("seed %d run %d: bad no-quorum decision %+v", seed, run, d)
			}
			if d.Leader >= 0 && isWitness(d.LeaderNode) {
				noQuorumWitnessLeader++
			}
		}
	}
	t.Logf("no-quorum decisions naming a witness as Leader: %d", noQuorumWitnessLeader)
}

var noQuorumWitnessLeader int

// Intersect(a, b) true must mean no quorum of a is disjoint from one of b,
// tie-breakers (named, auto, two_node) and weights included.
func TestReviewIntersectTieBreakers(t *testing.T) {
	seed := uint64(4242)
	rng := rand.New(rand.NewPCG(seed, 1))
	ids := reviewIDs[:5]
	draw := func() (Quorum, bool) {
		var voters []Voter
		for _, id := range ids {
			if rng.IntN(3) > 0 {
				voters = append(voters, Voter{ID: id, Weight: []Weight{500, 1000, 1000, 1500, 2000, 250}[rng.IntN(6)], Domain: []string{"", "r1", "r2"}[rng.IntN(3)]})
			}
		}
		var vids []NodeID
		for _, v := range voters {
			vids = append(vids, v.ID)
		}
		r := reviewRule(rng, vids)
		r.WaitForAll = false
		q, err := NewQuorum(r, voters)
		return q, err == nil
	}
	checked := 0
	for i := 0; i < 100000; i++ {
		a, ok1 := draw()
		b, ok2 := draw()
		if !ok1 || !ok2 || !Intersect(a, b) {
			continue
		}
		checked++
		full := uint32(1)<<len(ids) - 1
		for m := uint32(0); m <= full; m++ {
			if naiveQuorate(a.Rule, a.Voters, false, maskSet(ids, m)) && naiveQuorate(b.Rule, b.Voters, false, maskSet(ids, full&^m)) {
				t.Fatalf("seed %d case %d: Intersect(%+v, %+v) but %v and its complement are quorums", seed, i, a, b, maskSet(ids, m))
			}
		}
	}
	t.Logf("%d intersecting pairs checked", checked)
}

// Restore with random (valid) snapshots, then random changes, decisions,
// tolerance, Describe and LastManStanding: nothing panics and every
// configuration reached is valid.
func TestReviewRestoreFuzz(t *testing.T) {
	seed := uint64(777)
	rng := rand.New(rand.NewPCG(seed, 5))
	restored := 0
	for run := 0; run < 8000; run++ {
		k := 1 + rng.IntN(6)
		var c Config
		c.Epoch = uint64(1 + rng.IntN(5))
		for _, id := range reviewIDs[:k] {
			n := reviewNode(rng, id)
			if n.Weight == 0 {
				n.Weight = One
			}
			n.State = NodeState(rng.IntN(4))
			c.Nodes = append(c.Nodes, n)
		}
		var vids []NodeID
		for _, n := range c.Nodes {
			if n.Voting() {
				vids = append(vids, n.ID)
			}
		}
		c.Rule = reviewRule(rng, vids)
		c.Waiting = rng.IntN(3) == 0
		if rng.IntN(2) == 0 {
			var ov []Voter
			for _, n := range c.Nodes {
				if n.State == Left || rng.IntN(2) == 0 {
					ov = append(ov, Voter{ID: n.ID, Weight: n.Weight, Domain: n.Domain})
				}
			}
			var oids []NodeID
			for _, v := range ov {
				oids = append(oids, v.ID)
			}
			q, err := NewQuorum(reviewRule(rng, oids), ov)
			if err == nil {
				c.Outgoing = &q
			}
		}
		snap := Snapshot{Config: c, Committed: uint64(rng.IntN(8)), Changed: uint64(rng.IntN(8)), Adjustments: uint64(rng.IntN(3))}
		if rng.IntN(2) == 0 {
			snap.History = []Event{{Epoch: uint64(rng.IntN(8)), Op: OpAdd, Step: StepApplied, Fingerprint: "x"}}
		}
		m, err := Restore(nil, snap)
		if err != nil {
			continue
		}
		restored++
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("seed %d run %d: panic %v\n%+v", seed, run, p, snap)
				}
			}()
			for step := 0; step < 15; step++ {
				cur := m.Config()
				if err := cur.Validate(); err != nil {
					t.Fatalf("seed %d run %d step %d: invalid config %v", seed, run, step, err)
				}
				_ = cur.Describe()
				_ = cur.Tolerance()
				_, _, _ = cur.LastManStanding(reviewIDs, rng.IntN(3))
				ch := reviewChange(rng, cur)
				if rng.IntN(4) == 0 {
					ch.Epoch = uint64(rng.IntN(10))
				}
				m.Apply(ch)
				if rng.IntN(5) == 0 {
					_ = m.Committed(cur.Epoch)
				}
				mem := memberIDs(m.Config())
				if len(mem) > 0 {
					v := kernel.NewVector()
					vs := [][]byte{v[:]}
					_, _ = m.Decide(vs, mem[:1])
				}
			}
		}()
	}
	t.Logf("%d snapshots restored", restored)
}

func TestReviewDecideBadInput(t *testing.T) {
	seed := uint64(31337)
	rng := rand.New(rand.NewPCG(seed, 9))
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c", Witness: true}}, Rule{AutoTieBreaker: true})
	if err != nil {
		t.Fatal(err)
	}
	c := m.Config()
	for i := 0; i < 50000; i++ {
		n := rng.IntN(5)
		var reps []NodeID
		var vs [][]byte
		for j := 0; j < n; j++ {
			reps = append(reps, []NodeID{"a", "b", "c", "zz", ""}[rng.IntN(5)])
			v := make([]byte, []int{0, 31, 32, 32, 32, 33}[rng.IntN(6)])
			for k := range v {
				v[k] = byte(rng.IntN(3))
			}
			vs = append(vs, v)
		}
		if rng.IntN(5) == 0 && len(vs) > 0 {
			vs = vs[1:]
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("seed %d case %d: Decide(%x, %v) panicked: %v", seed, i, vs, reps, p)
				}
			}()
			d, err := c.Decide(vs, reps)
			if err == nil && d.Verdict == Quorate {
				if nd, _ := c.Node(d.LeaderNode); nd.Witness {
					t.Fatalf("seed %d case %d: witness leader", seed, i)
				}
			}
		}()
	}
}

// Every reconfiguration of 4 members (every voter set, weights 1 or 1.5,
// rules with every tie-breaker option, weights and domains) from every
// such configuration: the successive configurations (and the joint phase
// and the one after it) never have disjoint quorums.
func TestReviewExhaustiveReconfigure(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	mem := []NodeID{"a", "b", "c", "d"}
	domains := map[NodeID]string{"a": "r1", "b": "r1", "c": "r2", "d": ""}
	rulesFor := func(voters []NodeID) []Rule {
		rs := []Rule{{}, {AutoTieBreaker: true}, {Weighted: true}, {Weighted: true, AutoTieBreaker: true}, {Domains: true, AutoTieBreaker: true}, {Model: Byzantine}}
		rs = append(rs, Rule{TieBreaker: voters[len(voters)-1]}, Rule{Weighted: true, TieBreaker: voters[len(voters)-1]})
		if len(voters) == 2 {
			rs = append(rs, Rule{TwoNode: true}, Rule{TwoNode: true, Weighted: true})
		}
		return rs
	}
	type sys struct {
		voters  uint32
		weights uint32
		rule    Rule
	}
	var all []sys
	for vm := uint32(1); vm < 16; vm++ {
		vs := subset(mem, vm)
		for _, r := range rulesFor(vs) {
			for wm := uint32(0); wm < 16; wm++ {
				if wm&^vm != 0 || (!r.Weighted && wm != 0) {
					continue
				}
				all = append(all, sys{vm, wm, r})
			}
		}
	}
	nodesOf := func(s sys) []Node {
		var ns []Node
		for i, id := range mem {
			n := Node{ID: id, Domain: domains[id], Weight: 1000, Standby: s.voters&(1<<i) == 0}
			if s.weights&(1<<i) != 0 {
				n.Weight = 1500
			}
			ns = append(ns, n)
		}
		return ns
	}
	checked, joint := 0, 0
	for _, from := range all {
		base, err := New(nil, nodesOf(from), from.rule)
		if err != nil {
			continue
		}
		if base.Config().Waiting {
			base.Apply(Change{Op: OpAllSeen, Seen: mem})
		}
		snap := base.Snapshot()
		old := base.Config()
		for _, to := range all {
			m, _ := Restore(nil, snap)
			var vs []Vote
			for i, id := range mem {
				if to.voters&(1<<i) != 0 {
					w := Weight(1000)
					if to.weights&(1<<i) != 0 {
						w = 1500
					}
					vs = append(vs, Vote{ID: id, Weight: w})
				}
			}
			a := m.Apply(Change{Op: OpReconfigure, Proposal: Proposal{Rule: to.rule, Voters: vs}})
			if a.Status != OK {
				continue
			}
			checked++
			next := m.Config()
			if mk, bad := disjointPair(mem, old, next); bad {
				t.Fatalf("from %+v to %+v: disjoint quorums %v / rest\n%s\n%s", from, to, subset(mem, mk), old.Describe(), next.Describe())
			}
			if next.Joint() {
				joint++
				m.Committed(next.Epoch)
				if a := m.Apply(Change{Op: OpLeaveJoint}); a.Status != OK {
					t.Fatalf("leave joint: %v", a)
				}
				left := m.Config()
				if mk, bad := disjointPair(mem, next, left); bad {
					t.Fatalf("from %+v to %+v: joint and after: disjoint quorums %v / rest", from, to, subset(mem, mk))
				}
			}
		}
	}
	t.Logf("%d systems, %d reconfigurations applied, %d through a joint phase", len(all), checked, joint)
}

// MinSize and Tolerance.Crash against brute force over every 4-member
// system of the exhaustive test and every set of failed voters.
func TestReviewExhaustiveTolerance(t *testing.T) {
	mem := []NodeID{"a", "b", "c", "d"}
	doms := []string{"r1", "r1", "r2", ""}
	ws := []Weight{1000, 1500, 500}
	rules := []Rule{{}, {AutoTieBreaker: true}, {Weighted: true}, {Weighted: true, AutoTieBreaker: true}, {Domains: true}, {Domains: true, AutoTieBreaker: true}, {Domains: true, Weighted: true, AutoTieBreaker: true}, {Model: Byzantine, Weighted: true}, {TwoNode: true}, {TwoNode: true, Weighted: true}}
	n := 0
	for vm := uint32(1); vm < 16; vm++ {
		for wcode := 0; wcode < 81; wcode++ {
			for _, r := range rules {
				if !r.Weighted && wcode != 0 {
					continue
				}
				for fm := uint32(0); fm < 16; fm++ {
					var nodes []Node
					c := wcode
					for i, id := range mem {
						nd := Node{ID: id, Domain: doms[i], Weight: ws[c%3], Standby: vm&(1<<i) == 0}
						c /= 3
						if fm&(1<<i) != 0 {
							nd.State = Failed
						}
						nodes = append(nodes, nd)
					}
					m, err := New(nil, nodes, r)
					if err != nil {
						continue
					}
					m.Apply(Change{Op: OpAllSeen, Seen: mem})
					cfg := m.Config()
					n++
					got, want := cfg.Quorum().MinSize(), naiveMinSize(cfg)
					if got != want && !(r.Domains && naiveTB(r, naiveIncoming(cfg)) != "" && got == want+1) {
						t.Fatalf("MinSize %d, brute %d\n%s", got, want, cfg.Describe())
					}
					tol, nc := cfg.Tolerance(), naiveCrash(cfg)
					if (nc >= 0) != (tol.Crash >= 0) || tol.Crash > nc {
						t.Fatalf("Crash %d, brute %d\n%s", tol.Crash, nc, cfg.Describe())
					}
					if nc >= 0 && !r.Weighted && !r.Domains && naiveTB(r, naiveIncoming(cfg)) == "" && tol.Crash != nc {
						t.Fatalf("Crash %d, brute %d (documented exact)\n%s", tol.Crash, nc, cfg.Describe())
					}
				}
			}
		}
	}
	t.Logf("%d configurations", n)
}
