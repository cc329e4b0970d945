//go:build (amd64 || arm64) && gc && !purego && unix

package kernel_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// TestReviewDecidePatterns checks asm.Decide and asm.One directly on every
// pattern of equal 64-bit halves between two vectors (qwordPartitions) at
// every layout up to 64 replicas, each vector against a guard page: a valid
// object must be decided with the reference's word, an error handed back,
// and onA must be the replicas on replica 0's vector.
func TestReviewDecidePatterns(t *testing.T) {
	if !asm.Available() || asm.OneOff {
		t.Skip("the assembly is not what Quorum runs here")
	}
	handed := countSlow(t)
	for _, p := range qwordPartitions() {
		a, b := pairOf(p)
		if bytes.Equal(a, b) {
			continue
		}
		for _, l := range reviewLayouts(false) {
			n := len(l)
			vs := layout(l, a, b)
			ref := testvectors.Reference(vs)
			want := uint32(ref.Leader) | uint32(ref.Length)<<8 | uint32(ref.Repair)<<16
			if ref.Forked {
				want |= 1 << 24
			}
			ctx := fmt.Sprintf("pattern %v, %d replicas %q", p, n, l)
			if n <= 64 {
				var wantOnA uint64
				for i := range n {
					if l[i] == 'a' {
						wantOnA |= 1 << i
					}
				}
				got, onA := asm.Decide(&vs[0], n)
				switch {
				case ref.Err != testvectors.OK && got != asm.Undecided:
					t.Fatalf("%s: Decide %#x on a %v object", ctx, got, ref.Err)
				case ref.Err == testvectors.OK && got != want:
					t.Fatalf("%s: Decide %#x, reference %#x", ctx, got, want)
				case ref.Err == testvectors.OK && !ref.Forked && onA&(1<<n-1) != wantOnA:
					t.Fatalf("%s: onA %#x, want %#x", ctx, onA, wantOnA)
				}
			}
			before := *handed
			word, err := asm.One(vs)
			switch {
			case ref.Err == testvectors.OK && (err != nil || word != want || *handed != before):
				t.Fatalf("%s: One %#x, %v (handed %d), reference %#x", ctx, word, err, *handed-before, want)
			case ref.Err != testvectors.OK && (err == nil || *handed != before+1):
				t.Fatalf("%s: One %#x, %v (handed %d) on a %v object", ctx, word, err, *handed-before, ref.Err)
			}
		}
	}
}

// TestReviewOneEdges: One and Decide on the edges of their contract, each
// vector against a guard page: n = 1 (agreed, self-loop), a length-32
// slice whose capacity ends at the guard, nil and empty slices at every
// position, 255 agreed replicas, and strangers whose prefixes equal a
// filler constant (handed back, answered by Slow).
func TestReviewOneEdges(t *testing.T) {
	if !asm.Available() || asm.OneOff {
		t.Skip("the assembly is not what Quorum runs here")
	}
	handed := countSlow(t)
	one := suite.Letters("B/A")
	if w, err := asm.One(guardedVectors(t, one)); w != 1<<8 || err != nil || *handed != 0 {
		t.Errorf("One on B/A: %#x, %v, handed %d", w, err, *handed)
	}
	if w, _ := asm.Decide(&guardedVectors(t, one)[0], 1); w != 1<<8 {
		t.Errorf("Decide on B/A: %#x", w)
	}
	self := suite.Letters("A/A")
	if _, err := asm.One(guardedVectors(t, self)); err == nil || *handed != 1 {
		t.Errorf("One on A/A: %v, handed %d", err, *handed)
	}
	if w, _ := asm.Decide(&guardedVectors(t, self)[0], 1); w != asm.Undecided {
		t.Errorf("Decide on A/A: %#x", w)
	}
	many := make([][]byte, 255)
	for i := range many {
		many[i] = one[0]
	}
	if w, err := asm.One(many); w != 255<<8 || err != nil {
		t.Errorf("One on 255 agreed: %#x, %v", w, err)
	}
	// A nil or empty slice anywhere: handed back, an error.
	for _, bad := range [][]byte{nil, {}, make([]byte, 0, 32)} {
		for at := range 4 {
			vs := guardedVectors(t, suite.Letters("B/A B/A C/B D/C"))
			vs[at] = bad
			before := *handed
			if _, err := asm.One(vs); err == nil || *handed != before+1 {
				t.Errorf("One with a %v slice at %d: %v, handed %d", bad, at, err, *handed-before)
			}
			if w, _ := asm.Decide(&vs[0], len(vs)); w != asm.Undecided {
				t.Errorf("Decide with a bad slice at %d: %#x", at, w)
			}
		}
	}
}
