package manager

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/kernel"
)

// Every votequorum-style option on clusters of 2 to 5 voters (a witness
// among them or not), through wait_for_all's bootstrap and every order of
// failures with last-man-standing steps after each: at no moment can two
// disjoint sets of members both be quorate, under one configuration or
// across two successive ones (members still at the old epoch against
// members at the new); and while a configuration waits for all, only every
// voter together is a quorum.
func TestVotequorumOptionsNeverTwoQuorums(t *testing.T) {
	for n := 2; n <= 5; n++ {
		ids := universe(n)
		rules := []Rule{{}, {TieBreaker: ids[n-1]}, {AutoTieBreaker: true}, {WaitForAll: true}, {WaitForAll: true, AutoTieBreaker: true}}
		if n == 2 {
			rules = append(rules, Rule{TwoNode: true}, Rule{TwoNode: true, TieBreaker: ids[1]})
		}
		for _, rule := range rules {
			for _, witness := range []bool{false, true} {
				permutations(ids, func(order []NodeID) {
					votequorumRun(t, ids, rule, witness, order)
				})
			}
		}
	}
}

// quorumWatch checks every configuration a run goes through.
type quorumWatch struct {
	t    *testing.T
	what string
	ids  []NodeID
	last *Config
}

func (w *quorumWatch) see(c Config) {
	w.t.Helper()
	full := uint32(1)<<len(w.ids) - 1
	for mask := uint32(0); mask <= full; mask++ {
		side, other := subset(w.ids, mask), subset(w.ids, full&^mask)
		if c.IsQuorum(side) && c.IsQuorum(other) {
			w.t.Fatalf("%s: epoch %d: %v and %v are both quorate", w.what, c.Epoch, side, other)
		}
		if w.last != nil && w.last.IsQuorum(side) && c.IsQuorum(other) {
			w.t.Fatalf("%s: %v quorate at epoch %d and %v at epoch %d", w.what, side, w.last.Epoch, other, c.Epoch)
		}
		if c.Waiting && c.IsQuorum(side) && !allVoters(c, side) {
			w.t.Fatalf("%s: epoch %d waits for all, yet %v is quorate", w.what, c.Epoch, side)
		}
	}
	c = c.Clone()
	w.last = &c
}

// allVoters reports whether ids hold every (incoming) voter.
func allVoters(c Config, ids []NodeID) bool {
	for _, v := range c.Quorum().Voters {
		if !slices.Contains(ids, v.ID) {
			return false
		}
	}
	return true
}

func votequorumRun(t *testing.T, ids []NodeID, rule Rule, witness bool, order []NodeID) {
	t.Helper()
	var nodes []Node
	for i, id := range ids {
		nodes = append(nodes, Node{ID: id, Witness: witness && i == len(ids)-1})
	}
	m, err := New(nil, nodes, rule)
	if witness && err != nil && strings.Contains(err.Error(), "witness") {
		return // a witness that breaks ties, or witnesses alone a quorum: refused, rightly
	}
	if err != nil {
		t.Fatal(err)
	}
	w := &quorumWatch{t: t, ids: ids, what: fmt.Sprintf("voters %v, rule %s, witness %v, failing %v", ids, rule, witness, order)}
	w.see(m.Config())
	if m.Config().Waiting {
		// Members seen in groups, never all at once, end nothing.
		if a := m.Apply(Change{Op: OpAllSeen, Seen: order[:len(order)-1]}); a.Status != Refused {
			t.Fatalf("%s: seen %v of %v: %v", w.what, order[:len(order)-1], ids, a)
		}
		if a := m.Apply(Change{Op: OpAllSeen, Seen: order}); a.Status != OK {
			t.Fatalf("%s: all seen: %v", w.what, a)
		}
		w.see(m.Config())
	}
	var gone []NodeID
	for _, id := range order[:len(order)-1] { // one voter always survives
		if a := m.Apply(Change{Op: OpFail, ID: id}); a.Status != OK {
			t.Fatalf("%s: fail %s: %v", w.what, id, a)
		}
		w.see(m.Config())
		gone = append(gone, id)
		for {
			p, _, ok := m.Config().LastManStanding(gone, 1)
			if !ok {
				break
			}
			adj := m.Adjust(0, p, func(c Config) error { w.see(c); return nil })
			if adj.Answer.Status != OK {
				t.Fatalf("%s: Adjust to %v: %v", w.what, p.Voters, adj.Answer)
			}
			w.see(m.Config())
		}
	}
}

// A witness keeps vectors only. Writes go to any quorum of the members up
// (a data replica and the witness may be all of it); members fail and come
// back at random. Whatever is read, a quorate decision names a data replica
// holding the last committed state: never an older copy, never the witness;
// when only the witness holds it, the verdict is NoCopy.
func TestWitnessNeverServesAnOlderCopy(t *testing.T) {
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	ids := []NodeID{"a", "b", "w"}
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "w", Witness: true}}, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := m.Config()
	first := kernel.NewVector()
	vectors := map[NodeID][]byte{}
	for _, id := range ids {
		vectors[id] = bytes.Clone(first[:])
	}
	committed := bytes.Clone(first[:kernel.IDSize])
	up := map[NodeID]bool{"a": true, "b": true, "w": true}
	noCopy := 0
	for step := range 20000 {
		if rng.IntN(3) == 0 { // a member fails or comes back
			id := ids[rng.IntN(len(ids))]
			up[id] = !up[id]
			continue
		}
		var read []NodeID // any subset of the members up is what a reader reaches
		for _, id := range ids {
			if up[id] && rng.IntN(4) != 0 {
				read = append(read, id)
			}
		}
		if len(read) == 0 {
			continue
		}
		vs := make([][]byte, len(read))
		for i, id := range read {
			vs[i] = vectors[id]
		}
		d, err := cfg.Decide(vs, read)
		if err != nil {
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
		switch d.Verdict {
		case Quorate:
			if d.LeaderNode == "w" || !bytes.Equal(vectors[d.LeaderNode][:kernel.IDSize], committed) {
				t.Fatalf("seed %d step %d: quorate on %s, not a data replica at the committed state", seed, step, d.LeaderNode)
			}
		case NoCopy:
			noCopy++
			continue
		default:
			continue
		}
		// A write: the readers catch up with the leader, then move on.
		next := bytes.Clone(vectors[d.LeaderNode])
		id := make([]byte, kernel.IDSize)
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		if err := kernel.Update(next, id); err != nil {
			continue // a zero or reused random ID: try another step
		}
		for _, r := range read {
			vectors[r] = bytes.Clone(next)
		}
		committed = id
	}
	if noCopy == 0 {
		t.Fatalf("seed %d: no read ever found the witness alone at the head: the test proves nothing", seed)
	}
}
