//go:build (amd64 || arm64) && gc && !purego && unix

package kernel_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// TestOneAdversarial checks asm.Decide and asm.One, the single-object
// entries, on the adversary's objects and on strangers with a twist, at
// every replica count, each vector alone against a guard page, some with
// a slice of the wrong length. Decide must return the reference's word
// for every valid object of at most two vectors and, up to asm.SmallMax
// replicas, every object of strangers, and Undecided for everything else,
// and with it the set of replicas on replica 0's vector;
// One must hand exactly those others to asm.Slow, and its word must be
// the reference's (or Slow's error) either way.
func TestOneAdversarial(t *testing.T) {
	if !asm.Available() || asm.OneOff {
		t.Skip("the assembly is not what Quorum runs here")
	}
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 12))
	gen := suite.NewAdversary(rng)
	handed := countSlow(t)
	for round := range suite.Rounds(3000) {
		n := 1 + rng.IntN(asm.SmallMax)
		if rng.IntN(4) == 0 {
			n = 1 + rng.IntN(kernel.SourcesMax)
		}
		var vs [][]byte
		switch rng.IntN(3) {
		case 0:
			vs = strangerObject(rng, n)
		default:
			vs = gen.Object(n, rng.IntN(2) == 0)
		}
		bad := -1
		if rng.IntN(8) == 0 {
			bad = rng.IntN(n)
		}
		guardedVs, free := guardedEach(t, vs)
		if bad >= 0 {
			guardedVs[bad] = guardedVs[bad][:[]int{0, 16, 31}[rng.IntN(3)]]
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d round %d n=%d (%d distinct vectors, bad length at %d): %s",
				seed, round, n, suite.Distinct(vs), bad, fmt.Sprintf(format, args...))
		}
		a := testvectors.Reference(vs)
		want := uint32(a.Leader) | uint32(a.Length)<<8 | uint32(a.Repair)<<16
		if a.Forked {
			want |= 1 << 24
		}
		mustDecide := bad < 0 && a.Err == testvectors.OK &&
			(suite.Distinct(vs) <= 2 || n <= asm.SmallMax && strangers(vs))

		got, onA := asm.Decide(&guardedVs[0], n)
		var wantOnA uint64 // meant when n <= 64
		for i := range min(n, 64) {
			if bytes.Equal(vs[i], vs[0]) {
				wantOnA |= 1 << i
			}
		}
		switch {
		case got == asm.Undecided && mustDecide:
			fail("Decide handed back an object it must decide")
		case got != asm.Undecided && !mustDecide:
			fail("Decide decided %#08x an object it must hand back (reference %+v)", got, a)
		case got != asm.Undecided && got != want:
			fail("Decide %#08x, reference %#08x", got, want)
		case got != asm.Undecided && !a.Forked && n <= 64 && onA&(1<<n-1) != wantOnA:
			fail("Decide's onA %#x, want %#x", onA, wantOnA)
		}

		before := *handed
		word, err := asm.One(guardedVs)
		switch {
		case mustDecide == (*handed != before):
			fail("One handed %d objects to Slow; it must decide: %v", *handed-before, mustDecide)
		case bad >= 0 && err == nil:
			fail("One on a vector of length %d: no error", len(guardedVs[bad]))
		case bad < 0 && (err == nil) != (a.Err == testvectors.OK):
			fail("One error %v, reference %v", err, a.Err)
		case err == nil && word != want:
			fail("One %#08x, reference %#08x", word, want)
		case err != nil && word != 0:
			fail("One %#08x with error %v", word, err)
		}
		free()
	}
}

// TestOneHandsBack checks what One must leave to asm.Slow whatever the
// vectors: none, more than kernel.SourcesMax, and every object while
// OneOff is set.
func TestOneHandsBack(t *testing.T) {
	if !asm.Available() || asm.OneOff {
		t.Skip("the assembly is not what Quorum runs here")
	}
	handed := countSlow(t)
	agreed := suite.Letters("B/A B/A B/A")
	tooMany := make([][]byte, kernel.SourcesMax+1)
	for i := range tooMany {
		tooMany[i] = agreed[0]
	}
	for _, c := range []struct {
		name    string
		vectors [][]byte
		off     bool
	}{
		{"no vectors", nil, false},
		{"no vectors, with room", make([][]byte, 0, 4), false},
		{"256 vectors", tooMany, false},
		{"an agreed object with OneOff", agreed, true},
	} {
		asm.OneOff = c.off
		before := *handed
		_, err := asm.One(c.vectors)
		asm.OneOff = false
		if *handed != before+1 {
			t.Errorf("%s: One handed %d calls to Slow, want 1", c.name, *handed-before)
		}
		if c.off == (err != nil) {
			t.Errorf("%s: error %v", c.name, err)
		}
	}
	if w, err := asm.One(agreed); w != 3<<8 || err != nil || *handed != 4 {
		t.Errorf("One on an agreed object: %#x, %v, %d calls of Slow", w, err, *handed)
	}
}

// countSlow wraps asm.Slow for the test, counting its calls.
func countSlow(t *testing.T) *int {
	calls := new(int)
	slow := asm.Slow
	asm.Slow = func(vectors [][]byte) (uint32, error) {
		*calls++
		return slow(vectors)
	}
	t.Cleanup(func() { asm.Slow = slow })
	return calls
}
