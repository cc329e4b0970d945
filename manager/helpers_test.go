package manager

import (
	"fmt"
	"math/bits"
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
)

// newRand returns the test's generator and its seed (fixed unless
// QUORUM_SEED is set); failures print the seed.
func newRand(t *testing.T) (*rand.Rand, uint64) {
	s := suite.Seed(t)
	return rand.New(rand.NewPCG(s, s^0x5eed)), s
}

// universe names n nodes u0..u(n-1).
func universe(n int) []NodeID {
	ids := make([]NodeID, n)
	for i := range ids {
		ids[i] = NodeID(fmt.Sprintf("u%d", i))
	}
	return ids
}

// subset returns the IDs of the bits of mask.
func subset(ids []NodeID, mask uint32) []NodeID {
	var out []NodeID
	for m := mask; m != 0; m &= m - 1 {
		out = append(out, ids[bits.TrailingZeros32(m)])
	}
	return out
}

// quorumMasks evaluates isQ on every subset of ids (at most 16).
func quorumMasks(ids []NodeID, isQ func([]NodeID) bool) []bool {
	q := make([]bool, 1<<len(ids))
	for m := range q {
		q[m] = isQ(subset(ids, uint32(m)))
	}
	return q
}

// disjoint returns a pair of disjoint sets, the first a quorum under qa and
// the second under qb, if any (quorums are upward closed, so it suffices
// to test each set against its complement).
func disjoint(ids []NodeID, qa, qb []bool) (a, b []NodeID, found bool) {
	full := uint32(len(qa) - 1)
	for m := range qa {
		if qa[m] && qb[full^uint32(m)] {
			return subset(ids, uint32(m)), subset(ids, full^uint32(m)), true
		}
	}
	return nil, nil, false
}

var testWeights = []Weight{MinWeight, 250, 500, 999, One, 1001, 1500, 1999, MaxWeight}

// randomRule draws a rule; byzantine allows the Byzantine model.
func randomRule(rng *rand.Rand, byzantine bool) Rule {
	r := Rule{Weighted: rng.IntN(2) == 0, Domains: rng.IntN(4) == 0}
	if byzantine && rng.IntN(3) == 0 {
		r.Model = Byzantine
	}
	return r
}

// randomQuorum draws a valid quorum system over a random subset of ids.
func randomQuorum(rng *rand.Rand, ids []NodeID, rule Rule) Quorum {
	var voters []Voter
	for len(voters) == 0 {
		for _, id := range ids {
			if rng.IntN(3) > 0 {
				voters = append(voters, Voter{ID: id, Weight: testWeights[rng.IntN(len(testWeights))], Domain: []string{"", "r1", "r2", "r3"}[rng.IntN(4)]})
			}
		}
	}
	q, err := NewQuorum(rule, voters)
	if err != nil {
		panic(err)
	}
	return q
}
