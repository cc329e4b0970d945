package suite

import (
	"bytes"
	"math/rand/v2"
)

// Adversary builds objects meant to fool a kernel that counts matches per
// lane instead of per vector: two vectors a and b in every relation, often
// sharing lanes at some width, with replicas that mix them.
type Adversary struct{ rng *rand.Rand }

// NewAdversary returns an Adversary drawing from rng.
func NewAdversary(rng *rand.Rand) Adversary { return Adversary{rng} }

func (g Adversary) random() []byte {
	v := make([]byte, 32)
	for i := range v {
		v[i] = byte(g.rng.Uint32())
	}
	return v
}

// mix takes each lane of the given width from x where take says so, else from y.
func (g Adversary) mix(x, y []byte, width int, take []bool) []byte {
	v := bytes.Clone(y)
	for l := range take {
		if take[l] {
			copy(v[l*width:(l+1)*width], x[l*width:(l+1)*width])
		}
	}
	return v
}

// lanes picks each of the 32/width lanes with probability percent/100.
func (g Adversary) lanes(width, percent int) []bool {
	take := make([]bool, 32/width)
	for l := range take {
		take[l] = g.rng.IntN(100) < percent
	}
	return take
}

// pair returns two different vectors in some relation; with bad, also
// the relations that make the object an error.
func (g Adversary) pair(bad bool) (a, b []byte) {
	rng := g.rng
	a, b = g.random(), g.random()
	relations := 4 // unrelated, b on a, a on b, forks of one parent
	if bad {
		relations = 10 // and the errors, 4 to 7
	}
	switch rng.IntN(relations) {
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

// Object returns n vectors: a up to replica ib, then a or b, with some
// replicas replaced by mixes, complementary pairs of mixes, flipped bits,
// strangers, or one mix over a run of replicas (so that a group's sets
// agree). They are mostly after ib+1, which fast paths check directly.
// With bad, a and b may also conflict, depend on each other or on
// themselves. A mix can make any object an error (a conflict, say).
func (g Adversary) Object(n int, bad bool) [][]byte {
	rng := g.rng
	a, b := g.pair(bad)
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
		lo := ib + 2
		if rng.IntN(4) == 0 {
			lo = 0
		}
		if lo >= n {
			continue
		}
		i := lo + rng.IntN(n-lo)
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
			vs[lo+rng.IntN(n-lo)] = g.mix(a, b, width, other)
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

// Distinct counts the different vectors in vs.
func Distinct(vs [][]byte) int {
	seen := map[string]bool{}
	for _, v := range vs {
		seen[string(v)] = true
	}
	return len(seen)
}
