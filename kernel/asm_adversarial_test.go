//go:build (amd64 || arm64) && gc && !purego && unix

package kernel_test

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/lockstep/quorum/internal/guard"
	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// TestFastAdversarial drives asm.Fast as calculateAsm does, over ranges
// [from, to) of objects built to fool a kernel that counts per lane, each
// replica's objects mapped against guard pages. It checks every decided
// result and target against the reference model, that nothing is written
// for the object handed back or any later one, and that no valid object of
// at most two vectors is handed back.
func TestFastAdversarial(t *testing.T) {
	if !asm.Available() {
		t.Skip("this CPU cannot run " + asm.Name)
	}
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	gen := suite.NewAdversary(rng)
	ns := []int{1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 18, 31, 32, 33, 34, 100, 239, 240, 241, 254, 255}
	adversarial(t, asm.Fast, seed, rng, suite.Rounds(400), func() int {
		if rng.IntN(3) == 0 {
			return 1 + rng.IntN(255)
		}
		return ns[rng.IntN(len(ns))]
	}, func(n int) [][]byte { return gen.Object(n, true) }, func(vs [][]byte) bool { return suite.Distinct(vs) <= 2 })
}

// fastFunc is asm.Fast's signature, which asm.Small shares.
type fastFunc func(ptrs **byte, n, vectorOffset, objectSize, from, to int, results *uint32, target *byte) int

// adversarial drives fast as calculateAsm does for rounds rounds: each a
// range of objects of a replica count from pickN, objects from object,
// checked as TestFastAdversarial says; decides says which valid objects
// fast must not hand back.
func adversarial(t *testing.T, fast fastFunc, seed uint64, rng *rand.Rand, rounds int, pickN func() int,
	object func(n int) [][]byte, decides func([][]byte) bool) {
	t.Helper()
	// A round's guard buffers are freed when it ends, and on a failure
	// too, so that later tests in the run can still map theirs.
	var buffers []*guard.Buffer
	free := func() {
		for _, b := range buffers {
			b.Free()
		}
		buffers = buffers[:0]
	}
	defer free()
	for round := range rounds {
		n := pickN()
		objectSize := 32 + rng.IntN(3)*rng.IntN(70)
		offset := rng.IntN(objectSize - 31)
		to := 1 + rng.IntN(9)
		from := rng.IntN(to)
		objects := make([][][]byte, to)
		for o := range objects {
			if o > 0 && rng.IntN(4) == 0 {
				objects[o] = objects[o-1] // the same object twice, decided as a pair
			} else {
				objects[o] = object(n)
			}
		}
		span := (to - from) * objectSize
		alloc := func(size int) []byte {
			b, err := guard.New(size)
			if err != nil {
				t.Fatal(err)
			}
			buffers = append(buffers, b)
			return b.Bytes
		}
		// Each source holds objects [from, to) only: the pointers handed to
		// fast point from*objectSize bytes before it, as if the rest were there.
		sources := make([][]byte, n)
		var ptrs asm.Pointers
		for r := range sources {
			s := alloc(span)
			for i := range s {
				s[i] = byte(r*31 + i*7 + 3)
			}
			for o := from; o < to; o++ {
				copy(s[(o-from)*objectSize+offset:], objects[o][r])
			}
			sources[r] = s
			ptrs[asm.Pad+r] = (*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), -from*objectSize))
		}
		for i := range asm.Pad {
			ptrs[i] = ptrs[asm.Pad]
		}
		results, target := alloc(4*(to-from)), alloc(span)
		for i := range results {
			results[i] = 0xee
		}
		for i := range target {
			target[i] = 0xee
		}
		res := (*uint32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(results)), -4*from))
		tgt := (*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(target)), -from*objectSize))
		withTarget := rng.IntN(4) != 0
		if !withTarget {
			tgt = nil
		}
		fail := func(o int, format string, args ...any) {
			t.Helper()
			t.Fatalf("seed %d round %d n=%d size=%d offset=%d from=%d to=%d object %d (%d distinct vectors): "+format,
				append([]any{seed, round, n, objectSize, offset, from, to, o, suite.Distinct(objects[o])}, args...)...)
		}
		// want is the reference's result word and target object for o.
		want := func(o int) (uint32, []byte, testvectors.Answer) {
			a := testvectors.Reference(objects[o])
			w := uint32(a.Leader) | uint32(a.Length)<<8 | uint32(a.Repair)<<16
			obj := make([]byte, objectSize)
			if a.Forked {
				w |= 1 << 24
			} else {
				copy(obj, sources[a.Leader][(o-from)*objectSize:])
			}
			return w, obj, a
		}
		for o := from; o < to; o++ {
			k := fast(&ptrs[asm.Pad], n, offset, objectSize, o, to, res, tgt)
			if k < o || k > to {
				fail(o, "returned %d", k)
			}
			for ; o < k; o++ {
				w, obj, a := want(o)
				if a.Err != testvectors.OK {
					fail(o, "decided, but the reference says %v", a.Err)
				}
				if got := *(*uint32)(unsafe.Pointer(&results[4*(o-from)])); got != w {
					fail(o, "result %#08x, reference %#08x", got, w)
				}
				if withTarget && !bytes.Equal(target[(o-from)*objectSize:(o-from+1)*objectSize], obj) {
					fail(o, "target differs from the reference's")
				}
			}
			for i := 4 * (k - from); i < len(results); i++ {
				if results[i] != 0xee {
					fail(k, "results written at or after the object handed back")
				}
			}
			for i := (k - from) * objectSize; i < len(target); i++ {
				if target[i] != 0xee {
					fail(k, "target written at or after the object handed back")
				}
			}
			if k == to {
				break
			}
			// Stand in for the slow path, then resume after it. A bad
			// object would end the batch there, but fast keeps no state
			// between calls: resuming tests the objects after it too.
			if w, obj, a := want(k); a.Err == testvectors.OK {
				if decides(objects[k]) {
					fail(k, "a valid object it must decide handed back")
				}
				*(*uint32)(unsafe.Pointer(&results[4*(k-from)])) = w
				if withTarget {
					copy(target[(k-from)*objectSize:], obj)
				}
			}
			o = k
		}
		free()
	}
}
