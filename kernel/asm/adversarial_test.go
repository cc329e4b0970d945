//go:build (amd64 || arm64) && gc && !purego && unix

package asm

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"

	"github.com/lockstep/quorum/internal/guard"
	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
)

// TestFastAdversarial drives fast as CalculateRange does, over ranges
// [from, to) of objects built to fool a kernel that counts per lane, each
// replica's objects mapped against guard pages. It checks every decided
// result and target against the reference model, that nothing is written
// for the object handed back or any later one, and that no valid object of
// at most two vectors is handed back.
func TestFastAdversarial(t *testing.T) {
	if !Available() {
		t.Skip("this CPU cannot run " + Name)
	}
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	gen := adversary{rng}
	ns := []int{1, 2, 3, 4, 5, 8, 9, 15, 16, 17, 18, 31, 32, 33, 34, 100, 239, 240, 241, 254, 255}
	for round := range suite.Rounds(400) {
		n := ns[rng.IntN(len(ns))]
		if rng.IntN(3) == 0 {
			n = 1 + rng.IntN(255)
		}
		objectSize := 32 + rng.IntN(3)*rng.IntN(70)
		offset := rng.IntN(objectSize - 31)
		to := 1 + rng.IntN(9)
		from := rng.IntN(to)
		objects := make([][][]byte, to)
		for o := range objects {
			if o > 0 && rng.IntN(4) == 0 {
				objects[o] = objects[o-1] // the same object twice, decided as a pair
			} else {
				objects[o] = gen.object(n)
			}
		}
		span := (to - from) * objectSize
		var buffers []*guard.Buffer
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
		var ptrs pointers
		for r := range sources {
			s := alloc(span)
			for i := range s {
				s[i] = byte(r*31 + i*7 + 3)
			}
			for o := from; o < to; o++ {
				copy(s[(o-from)*objectSize+offset:], objects[o][r])
			}
			sources[r] = s
			ptrs[pad+r] = (*byte)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(s)), -from*objectSize))
		}
		for i := range pad {
			ptrs[i] = ptrs[pad]
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
				append([]any{seed, round, n, objectSize, offset, from, to, o, distinct(objects[o])}, args...)...)
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
			k := fast(&ptrs[pad], n, offset, objectSize, o, to, res, tgt)
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
			w, obj, a := want(k)
			if a.Err != testvectors.OK {
				break // the slow path would stop here
			}
			if distinct(objects[k]) <= 2 {
				fail(k, "a valid object of at most two vectors handed back")
			}
			// Stand in for the slow path, then resume after it.
			*(*uint32)(unsafe.Pointer(&results[4*(k-from)])) = w
			if withTarget {
				copy(target[(k-from)*objectSize:], obj)
			}
			o = k
		}
		for _, b := range buffers {
			b.Free()
		}
	}
}

// adversary builds objects of two vectors a and b in every relation, often
// sharing lanes at some width, with replicas that mix them.
type adversary struct{ rng *rand.Rand }

func (g adversary) random() []byte {
	v := make([]byte, 32)
	for i := range v {
		v[i] = byte(g.rng.Uint32())
	}
	return v
}

// mix takes each lane of the given width from x where take says so, else from y.
func (g adversary) mix(x, y []byte, width int, take []bool) []byte {
	v := bytes.Clone(y)
	for l := range take {
		if take[l] {
			copy(v[l*width:(l+1)*width], x[l*width:(l+1)*width])
		}
	}
	return v
}

// lanes picks each of the 32/width lanes with probability percent/100.
func (g adversary) lanes(width, percent int) []bool {
	take := make([]bool, 32/width)
	for l := range take {
		take[l] = g.rng.IntN(100) < percent
	}
	return take
}

// pair returns two different vectors in some relation.
func (g adversary) pair() (a, b []byte) {
	rng := g.rng
	a, b = g.random(), g.random()
	switch rng.IntN(10) {
	case 1: // b on a
		copy(b[16:], a[:16])
	case 2: // a on b
		copy(a[16:], b[:16])
	case 3: // forks of one parent
		copy(b[16:], a[16:])
	case 4: // a conflict
		copy(b[:16], a[:16])
	case 5: // each on the other
		copy(b[16:], a[:16])
		copy(a[16:], b[:16])
	case 6: // a on itself
		copy(a[16:], a[:16])
	case 7: // b on itself
		copy(b[16:], b[:16])
	}
	if rng.IntN(2) == 0 { // share lanes at some width
		width := []int{1, 2, 4, 8, 16}[rng.IntN(5)]
		b = g.mix(a, b, width, g.lanes(width, []int{50, 80, 95, 100}[rng.IntN(4)]))
	}
	if bytes.Equal(a, b) {
		b[rng.IntN(32)] ^= 1 << rng.IntN(8)
	}
	return a, b
}

// object returns n vectors: a up to replica ib, then a or b, with some
// replicas after ib+1 (which phase 1 checks directly) replaced by mixes,
// complementary pairs of mixes, flipped bits, strangers, or one mix over a
// run of replicas, so that a group's sets agree.
func (g adversary) object(n int) [][]byte {
	rng := g.rng
	a, b := g.pair()
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = a
	}
	if n == 1 || rng.IntN(8) == 0 {
		return vs
	}
	ib := 1 + rng.IntN(n-1)
	if rng.IntN(3) == 0 { // near the ends and group boundaries
		ib = max(1, min(n-1, []int{1, 2, n - 1, n - 2, n - 15, n - 16, n - 17}[rng.IntN(7)]))
	}
	vs[ib] = b
	share := rng.IntN(101)
	for i := ib + 1; i < n; i++ {
		if rng.IntN(100) < share {
			vs[i] = b
		}
	}
	for range []int{0, 1, 2, 1 + rng.IntN(6)}[rng.IntN(4)] {
		if ib+2 >= n {
			break
		}
		i := ib + 2 + rng.IntN(n-ib-2)
		width := []int{1, 2, 4, 8, 16}[rng.IntN(5)]
		switch rng.IntN(6) {
		case 0, 1:
			vs[i] = g.mix(a, b, width, g.lanes(width, rng.IntN(101)))
		case 2: // a complementary pair: per-lane counts add up
			take := g.lanes(width, 50)
			other := make([]bool, len(take))
			for l := range take {
				other[l] = !take[l]
			}
			vs[i] = g.mix(a, b, width, take)
			vs[ib+2+rng.IntN(n-ib-2)] = g.mix(a, b, width, other)
		case 3:
			v := bytes.Clone(vs[i])
			v[rng.IntN(32)] ^= 1 << rng.IntN(8)
			vs[i] = v
		case 4:
			vs[i] = g.random()
		case 5: // one mix over a run of replicas
			v := g.mix(a, b, width, g.lanes(width, 50))
			end := min(n, i+1+rng.IntN(16))
			for j := i; j < end; j++ {
				vs[j] = v
			}
		}
	}
	return vs
}

func distinct(vs [][]byte) int {
	seen := map[string]bool{}
	for _, v := range vs {
		seen[string(v)] = true
	}
	return len(seen)
}
