//go:build (amd64 || arm64) && gc && !purego

package asm

import (
	"testing"

	"github.com/lockstep/quorum/internal/suite"
)

// The fast path must decide every object of at most two valid vectors
// itself (a hand-back is correct but slow, so the shared suite cannot see
// one): all agree, unrelated, forks of one parent, one built on the other,
// with the second vector first seen at any replica.
func TestFastDecides(t *testing.T) {
	if !Available() {
		t.Skip("this CPU cannot run " + Name)
	}
	for _, spec := range []string{
		"B/A B/A B/A", "B/A", "B/A C/A", "B/A B/A C/A", "B/A C/A C/A", "C/A B/A B/A C/A",
		"B/A D/C", "B/A D/C D/C B/A D/C", "B/A C/B B/A", "C/B B/A B/A", "B/A B/A B/A C/B C/B",
		"B/A B/A B/A B/A B/A B/A B/A B/A B/A C/A", "C/B B/A B/A B/A B/A B/A B/A B/A B/A B/A",
	} {
		vectors := suite.Letters(spec)
		sources := suite.Sources([][][]byte{vectors}, 32, 0)
		var ptrs pointers
		var res uint32
		if got := fast(ptrs.set(sources), len(sources), 0, 32, 0, 1, &res, nil); got != 1 {
			t.Errorf("%s: handed back to the slow path", spec)
		}
	}
}
