//go:build (amd64 || arm64) && gc && !purego

package kernel_test

import (
	"slices"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// The fast path must decide every object of at most two valid vectors
// itself (a hand-back is correct but slow, so the shared suite cannot see
// one): all agree, unrelated, forks of one parent, one built on the other,
// with the second vector first seen at any replica.
func TestFastDecides(t *testing.T) {
	if !asm.Available() {
		t.Skip("this CPU cannot run " + asm.Name)
	}
	specs := []string{
		"B/A B/A B/A", "B/A", "B/A C/A", "B/A B/A C/A", "B/A C/A C/A", "C/A B/A B/A C/A",
		"B/A D/C", "B/A D/C D/C B/A D/C", "B/A C/B B/A", "C/B B/A B/A", "B/A B/A B/A C/B C/B",
		"B/A B/A B/A B/A B/A B/A B/A B/A B/A C/A", "C/B B/A B/A B/A B/A B/A B/A B/A B/A B/A",
	}
	// Small also decides strangers.
	strangers := []string{"B/A D/C F/E", "B/A D/C F/E H/G", "B/A D/C F/E H/G J/I L/K N/M P/O"}
	decides := func(name string, objects ...string) {
		t.Helper()
		n := len(suite.Letters(objects[0]))
		var vectors [][][]byte
		for _, spec := range objects {
			vectors = append(vectors, suite.Letters(spec))
		}
		sources := suite.Sources(vectors, 32, 0)
		var ptrs asm.Pointers
		res := make([]uint32, len(objects))
		if got := asm.Fast(ptrs.Set(sources), n, 0, 32, 0, len(objects), &res[0], nil); got != len(objects) && !slices.Contains(strangers, objects[got]) {
			t.Errorf("%s: object %d handed back to the slow path", name, got)
		}
		if n > asm.SmallMax {
			return
		}
		for _, size := range []int{32, 33} { // a vector's store, and a copy
			sources := suite.Sources(vectors, size, 1%(size-31))
			target := make([]byte, len(sources[0]))
			if got := asm.Small(ptrs.Set(sources), n, 1%(size-31), size, 0, len(objects), &res[0], &target[0]); got != len(objects) {
				t.Errorf("%s, %d-byte objects: object %d handed back by Small", name, size, got)
			}
		}
	}
	// Alone, and in batches, where objects are scanned and counted in
	// pairs: the same object twice and thrice, and every two of one size.
	for _, spec := range append(specs, strangers...) {
		decides(spec, spec)
		decides(spec+" (x3)", spec, spec, spec)
		for _, other := range specs {
			if len(suite.Letters(other)) == len(suite.Letters(spec)) {
				decides(spec+", "+other, spec, other)
			}
		}
	}
}
