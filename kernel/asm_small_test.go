//go:build (amd64 || arm64) && gc && !purego && unix

package kernel_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// TestSmallAdversarial is TestFastAdversarial for asm.Small at every
// replica count it takes, on the adversary's objects and on strangers
// with a twist (see strangerObject). Small must decide every valid object
// of at most two vectors and every object of strangers whose IDs differ
// in their first 8 bytes.
func TestSmallAdversarial(t *testing.T) {
	if !asm.Available() || asm.SmallMax == 0 {
		t.Skip("this CPU has no asm.Small")
	}
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 9))
	gen := suite.NewAdversary(rng)
	adversarial(t, asm.Small, seed, rng, suite.Rounds(3000), func() int { return 1 + rng.IntN(asm.SmallMax) },
		func(n int) [][]byte {
			if rng.IntN(2) == 0 {
				return gen.Object(n, true)
			}
			return strangerObject(rng, n)
		},
		func(vs [][]byte) bool { return suite.Distinct(vs) <= 2 || strangers(vs) })
}

// strangerObject returns n random vectors, often with one twist: a shared
// 8-byte prefix or a whole shared ID (between two ID0s, an ID1 and an
// ID0, or within one vector), a duplicate vector, or a chain link, at
// random replicas.
func strangerObject(rng *rand.Rand, n int) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = make([]byte, 32)
		for j := range vs[i] {
			vs[i][j] = byte(rng.Uint32())
		}
	}
	for range rng.IntN(3) {
		i, j := rng.IntN(n), rng.IntN(n)
		from, to := 16*rng.IntN(2), 16*rng.IntN(2) // ID0 or ID1 of each
		width := []int{8, 16, 7, 9}[rng.IntN(4)]
		switch rng.IntN(3) {
		case 0:
			copy(vs[i][to:to+width], vs[j][from:from+width])
		case 1:
			copy(vs[i], vs[j]) // a duplicate
		case 2:
			copy(vs[i][16:], vs[j][:16]) // i built on j (a self-loop if i == j)
		}
	}
	return vs
}

// strangers reports whether vs are strangers that Small must decide: no
// ID's first 8 bytes are another ID0's or any ID0's first 8 bytes.
func strangers(vs [][]byte) bool {
	if len(vs) < 3 {
		return false // two vectors: the two-vector rules
	}
	for i, v := range vs {
		for j, w := range vs {
			if bytes.Equal(v[16:24], w[:8]) || i != j && bytes.Equal(v[:8], w[:8]) {
				return false
			}
		}
	}
	return true
}
