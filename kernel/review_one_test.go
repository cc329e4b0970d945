//go:build unix

package kernel_test

// Review tests for the single-object entry (Quorum, Roles, Depths through
// asm.One and asm.Decide) and for Small's two-vector code (quickRelations,
// the branch-free count, two0/two32). They run on every build: with the
// assembly they exercise it, without it they pin the portable answers.

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// qwordPartitions is every set partition of a pair's 8 qwords (a's 4, then
// b's 4) as a restricted growth string: Bell(8) = 4140 patterns, so every
// pattern of equal and unequal 64-bit halves between a.ID0, a.ID1, b.ID0
// and b.ID1 appears exactly once.
func qwordPartitions() [][8]uint8 {
	var out [][8]uint8
	var p [8]uint8
	var rec func(k int, blocks uint8)
	rec = func(k int, blocks uint8) {
		if k == 8 {
			out = append(out, p)
			return
		}
		for b := uint8(0); b <= blocks; b++ {
			p[k] = b
			nb := blocks
			if b == blocks {
				nb++
			}
			rec(k+1, nb)
		}
	}
	rec(0, 0)
	return out
}

// qwordValue is block k's 64-bit value: nonzero, distinct per block.
func qwordValue(k uint8) uint64 { return 0x9e3779b97f4a7c15*uint64(2*k+3) ^ 0x5555 }

// pairOf builds a and b from a partition.
func pairOf(p [8]uint8) (a, b []byte) {
	a, b = make([]byte, 32), make([]byte, 32)
	for k := range 4 {
		binary.LittleEndian.PutUint64(a[8*k:], qwordValue(p[k]))
		binary.LittleEndian.PutUint64(b[8*k:], qwordValue(p[4+k]))
	}
	return a, b
}

// layout is an object of two vectors: replica i holds a where s[i] is 'a'.
func layout(s string, a, b []byte) [][]byte {
	vs := make([][]byte, len(s))
	for i := range s {
		vs[i] = a
		if s[i] == 'b' {
			vs[i] = b
		}
	}
	return vs
}

// reviewLayouts are the two-vector objects the pattern tests lay out:
// Small's odd/pair counting (n = 3..8), Decide's onA at bits 0 and 63,
// n = 9 (past Small), 64, 65 and 255.
func reviewLayouts(short bool) []string {
	ls := []string{"ab", "aab", "abb", "aba", "abba", "abab", "aabbb", "ababa", "abbbbbba", "aaaaaaab",
		"aaaabbbbb", "abbbbbbbb"}
	if short {
		return ls
	}
	return append(ls,
		strings.Repeat("a", 63)+"b",                       // ib = 63: onA's last bit
		"a"+strings.Repeat("b", 63),                       // leader 1, onA = 1
		strings.Repeat("ab", 32)+"a",                      // 65: past Decide's onA
		strings.Repeat("a", 128)+strings.Repeat("b", 127), // 255
		strings.Repeat("a", 127)+strings.Repeat("b", 128), // 255, b wins
	)
}

// TestReviewQwordPatterns runs every pattern of equal 64-bit halves between
// two distinct vectors through Quorum, Roles, Depths and every
// implementation (checkObject), at the layouts above: quickRelations's
// m == 0 / 0x300 / 0xc00 shortcuts must agree with the exact compares and
// the reference on every partial collision.
func TestReviewQwordPatterns(t *testing.T) {
	parts := qwordPartitions()
	if len(parts) != 4140 {
		t.Fatalf("%d partitions, want Bell(8) = 4140", len(parts))
	}
	layouts := reviewLayouts(testing.Short())
	for pi, p := range parts {
		a, b := pairOf(p)
		if string(a) == string(b) {
			continue
		}
		for li, l := range layouts {
			if len(l) > 64 && pi%7 != 0 {
				continue // the long layouts on a seventh of the patterns
			}
			vs := layout(l, a, b)
			checkObject(t, vs, func() string {
				return fmt.Sprintf("pattern %v layout %d (%d replicas)", p, li, len(l))
			})
		}
	}
}

// TestReviewQwordPatternBatches lays the same objects out as batches, each
// object a pattern, with a target, at 32-byte objects (Small's two32 loop
// for two replicas) and at other sizes and offsets (its general loop), and
// compares every implementation with the reference batch.
func TestReviewQwordPatternBatches(t *testing.T) {
	parts := qwordPartitions()
	for _, l := range []string{"ab", "aab", "abb", "aabbb", "abbbbbba", "aaaabbbbb"} {
		var good, all [][][]byte
		for _, p := range parts {
			a, b := pairOf(p)
			if string(a) == string(b) {
				continue
			}
			vs := layout(l, a, b)
			all = append(all, vs)
			if testvectors.Reference(vs).Err == testvectors.OK {
				good = append(good, vs)
			}
		}
		for _, geo := range []struct{ size, off int }{{32, 0}, {48, 16}, {33, 1}, {64, 0}} {
			for _, name := range kernel.Implementations() {
				calc := func(sources [][]byte, vectorOffset, objectSize int, results []kernel.Result, target []byte) error {
					return kernel.CalculateWith(name, sources, vectorOffset, objectSize, results, target)
				}
				if msg := suite.Compare(calc, suite.Sources(good, geo.size, geo.off), geo.off, geo.size); msg != "" {
					t.Errorf("%s, layout %q, %d good objects of %d bytes at offset %d: %s", name, l, len(good), geo.size, geo.off, msg)
				}
				// Every object alone, errors included (a batch stops at the first).
				for o, vs := range all {
					if msg := suite.Compare(calc, suite.Sources([][][]byte{vs}, geo.size, geo.off), geo.off, geo.size); msg != "" {
						t.Fatalf("%s, layout %q, object %d alone, %d bytes at offset %d: %s", name, l, o, geo.size, geo.off, msg)
					}
				}
			}
		}
	}
}

// TestReviewSmallAlphabet draws every ID from two 64-bit halves of a tiny
// alphabet, so prefixes of the strangers test, halves of the quick
// relations and whole IDs collide often, at 1 to 12 replicas, and checks
// Quorum, Roles, Depths and every implementation against the reference.
func TestReviewSmallAlphabet(t *testing.T) {
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 77))
	for round := range suite.Rounds(40000) {
		n := 1 + rng.IntN(12)
		alpha := 2 + rng.IntN(4)
		distinct := 1 + rng.IntN(min(n, 5))
		pool := make([][]byte, distinct)
		for i := range pool {
			v := make([]byte, 32)
			for k := range 4 {
				binary.LittleEndian.PutUint64(v[8*k:], qwordValue(uint8(rng.IntN(alpha))))
			}
			pool[i] = v
		}
		vs := make([][]byte, n)
		for i := range vs {
			vs[i] = pool[rng.IntN(distinct)]
		}
		checkObject(t, vs, func() string { return fmt.Sprintf("seed %d round %d: %x", seed, round, vs) })
	}
}

// TestReviewStackVectors calls Quorum, Roles and Depths on vectors and a
// [][]byte that live on a small goroutine stack (One is noescape, so the
// compiler may keep them there), on objects One hands to Go (a chain of
// three states: the slow path grows the stack under them), with GCs in
// between. The answers must not change when the stack moves.
func TestReviewStackVectors(t *testing.T) {
	want := kernel.Result{Leader: 1, Length: 3, Repair: 2}
	errs := make(chan string, 1)
	for range suite.Rounds(200) {
		go func() {
			errs <- stackVectorsOnce(0, want)
		}()
		if msg := <-errs; msg != "" {
			t.Fatal(msg)
		}
		runtime.GC()
	}
}

//go:noinline
func stackVectorsOnce(depth int, want kernel.Result) string {
	if depth < 3 {
		var pad [512]byte // grow the frame so the slow path's calls need more stack
		pad[depth] = byte(depth)
		msg := stackVectorsOnce(depth+1, want)
		if pad[depth] != byte(depth) {
			return "stack pad changed"
		}
		return msg
	}
	// C/B, D/C, B/A: a chain of three states (leader 1, length 3, repair 2).
	var a, b, c [32]byte
	for i := range 16 {
		a[i], a[16+i] = 'C', 'B'
		b[i], b[16+i] = 'D', 'C'
		c[i], c[16+i] = 'B', 'A'
	}
	vs := [][]byte{a[:], b[:], c[:]}
	for i := range 50 {
		r, err := kernel.Quorum(vs)
		if err != nil || r != want {
			return fmt.Sprintf("call %d: Quorum %+v, %v; want %+v", i, r, err, want)
		}
		var roles [3]kernel.Role
		if r, err := kernel.Roles(vs, roles[:]); err != nil || r != want || roles != [3]kernel.Role{kernel.Lagging, kernel.Current, kernel.Lagging} {
			return fmt.Sprintf("call %d: Roles %+v %v, %v", i, r, roles, err)
		}
		if i%10 == 0 {
			runtime.GC()
		}
	}
	return ""
}

// TestReviewSingleAllocs: Quorum, Roles and Depths allocate nothing on a
// success path, whichever of One, Decide/placeAsm or Go decides: two
// vectors in each relation at 2 to 65 replicas, strangers at 5 and 9, a
// chain of three states (the slow path) at 3, 9 and 65.
func TestReviewSingleAllocs(t *testing.T) {
	if suite.RaceEnabled {
		t.Skip("sync.Pool drops items under -race")
	}
	objects := map[string][][]byte{}
	for _, n := range []int{2, 5, 9, 64, 65} {
		for _, rel := range []string{"B/A C/B", "C/B B/A", "B/A X/Y", "B/A C/A"} {
			two := suite.Letters(rel)
			vs := make([][]byte, n)
			for i := range vs {
				vs[i] = two[min(i, 1)]
				if i > 1 && i%3 == 0 {
					vs[i] = two[0]
				}
			}
			objects[fmt.Sprintf("%s/%d", rel, n)] = vs
		}
	}
	objects["strangers/5"] = suite.Letters("B/A D/C F/E H/G J/I")
	objects["strangers/9"] = suite.Letters("B/A D/C F/E H/G J/I L/K N/M P/O R/Q")
	for _, n := range []int{3, 9, 65} {
		chain := suite.Letters("B/A C/B D/C")
		vs := make([][]byte, n)
		for i := range vs {
			vs[i] = chain[i%3]
		}
		objects[fmt.Sprintf("chain/%d", n)] = vs
	}
	roles := make([]kernel.Role, 255)
	depths := make([]uint8, 255)
	for name, vs := range objects {
		for fn, call := range map[string]func() error{
			"Quorum": func() error { _, err := kernel.Quorum(vs); return err },
			"Roles":  func() error { _, err := kernel.Roles(vs, roles); return err },
			"Depths": func() error { _, err := kernel.Depths(vs, depths); return err },
		} {
			if allocs := testing.AllocsPerRun(50, func() {
				if err := call(); err != nil {
					t.Fatalf("%s on %s: %v", fn, name, err)
				}
			}); allocs != 0 {
				t.Errorf("%s on %s: %v allocations per call, want 0", fn, name, allocs)
			}
		}
	}
}
