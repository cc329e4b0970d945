package testvectors

import "math/rand/v2"

// Shape is a kind of replica history to generate one object from.
type Shape int

// Shapes of history. Cycle and Conflicting give invalid objects; every other
// shape gives valid ones.
const (
	AllAgree     Shape = iota // every replica at the newest state
	OneAhead                  // an interrupted write: some replicas one step ahead
	Lagging                   // replicas up to several steps behind on one chain
	Partition                 // groups that each advanced from a shared ancestor (ties too)
	Strangers                 // an agreeing group plus replicas with unrelated vectors
	Offline                   // one replica left behind long ago, the rest moved on
	TwoUnrelated              // exactly two unrelated vectors, in any counts (ties too)
	Deep                      // one chain with every replica at a different depth
	Random                    // every replica random
	Mixed                     // a partition with lagging members and strangers
	Cycle                     // a valid object with a self-loop, zero vector or loop injected
	Conflicting               // a valid object with one ID0 given a second ID1 (sometimes a cycle too)
)

// Shapes lists every shape.
var Shapes = []Shape{AllAgree, OneAhead, Lagging, Partition, Strangers, Offline, TwoUnrelated, Deep, Random, Mixed, Cycle, Conflicting}

func (s Shape) String() string {
	return [...]string{"AllAgree", "OneAhead", "Lagging", "Partition", "Strangers", "Offline",
		"TwoUnrelated", "Deep", "Random", "Mixed", "Cycle", "Conflicting"}[s]
}

func newID(rng *rand.Rand) []byte {
	id := make([]byte, 16)
	for i := 0; i < 16; i += 8 {
		v := rng.Uint64() | 1 // never all zeros
		for j := range 8 {
			id[i+j] = byte(v >> (8 * j))
		}
	}
	return id
}

func vector(id0, id1 []byte) []byte { return append(append(make([]byte, 0, 32), id0...), id1...) }

// chain returns k+1 IDs, each state built on the one before.
func chain(rng *rand.Rand, k int) [][]byte {
	ids := make([][]byte, k+1)
	for i := range ids {
		ids[i] = newID(rng)
	}
	return ids
}

// at is a replica's vector at step i of a chain (i >= 1).
func at(ids [][]byte, i int) []byte { return vector(ids[i], ids[i-1]) }

// Object returns n vectors for one object, from a simulated history.
func Object(rng *rand.Rand, n int, shape Shape) [][]byte {
	vs := make([][]byte, n)
	switch shape {
	case AllAgree:
		ids := chain(rng, 1+rng.IntN(3))
		for r := range vs {
			vs[r] = at(ids, len(ids)-1)
		}
	case OneAhead:
		ids := chain(rng, 2+rng.IntN(3))
		top := len(ids) - 1
		ahead := rng.IntN(n) + 1 // at least one replica ran the next write
		if ahead == n && n > 1 {
			ahead--
		}
		for r := range vs {
			vs[r] = at(ids, top-1)
		}
		for _, r := range rng.Perm(n)[:ahead] {
			vs[r] = at(ids, top)
		}
	case Lagging:
		ids := chain(rng, 6)
		for r := range vs {
			vs[r] = at(ids, 6-rng.IntN(4))
		}
	case Partition, Mixed:
		base := chain(rng, 2)
		groups := 2 + rng.IntN(2)
		branches := make([][][]byte, groups)
		for g := range branches {
			// Each side extends the shared ancestor with IDs of its own.
			branches[g] = append([][]byte{base[0], base[1]}, chain(rng, 2)...)
		}
		perm := rng.Perm(n)
		for i, r := range perm {
			g := i % groups // equal sizes when n divides: a tie
			if rng.IntN(4) == 0 {
				g = rng.IntN(groups)
			}
			depth := len(branches[g]) - 1
			if shape == Mixed {
				depth -= rng.IntN(3) // lagging members
			}
			vs[r] = at(branches[g], depth)
			if shape == Mixed && rng.IntN(6) == 0 {
				vs[r] = vector(newID(rng), newID(rng)) // a stranger
			}
		}
	case Strangers:
		ids := chain(rng, 2)
		for r := range vs {
			vs[r] = at(ids, 2)
			if rng.IntN(3) == 0 {
				vs[r] = vector(newID(rng), newID(rng))
			}
		}
	case Offline:
		ids := chain(rng, 8)
		down := rng.IntN(n)
		for r := range vs {
			vs[r] = at(ids, 7+rng.IntN(2))
		}
		vs[down] = at(ids, 1+rng.IntN(3))
	case TwoUnrelated:
		a, b := vector(newID(rng), newID(rng)), vector(newID(rng), newID(rng))
		if rng.IntN(3) == 0 {
			copy(b[16:], a[16:]) // two forks of one parent
		}
		na := rng.IntN(n + 1)
		if n%2 == 0 && rng.IntN(3) == 0 {
			na = n / 2 // a tie
		}
		for i, r := range rng.Perm(n) {
			vs[r] = a
			if i >= na {
				vs[r] = b
			}
		}
	case Deep:
		ids := chain(rng, n)
		for i, r := range rng.Perm(n) {
			vs[r] = at(ids, i+1)
		}
	case Random:
		for r := range vs {
			vs[r] = vector(newID(rng), newID(rng))
		}
	case Cycle:
		vs = Object(rng, n, Shapes[rng.IntN(int(Random)+1)])
		injectCycle(rng, vs)
	case Conflicting:
		vs = Object(rng, n, Shapes[rng.IntN(int(Random)+1)])
		if n < 2 {
			injectCycle(rng, vs) // a conflict needs two replicas
			break
		}
		r, s := rng.IntN(n), rng.IntN(n)
		for s == r {
			s = rng.IntN(n)
		}
		// Replica s takes replica r's ID0 with a different ID1.
		other := newID(rng)
		if rng.IntN(2) == 0 {
			other = vs[r][:16] // ...which may even make it depend on itself
		}
		vs[s] = vector(vs[r][:16], other)
		if rng.IntN(3) == 0 && n > 2 {
			injectCycle(rng, vs)
			vs[s] = vector(vs[r][:16], other) // keep the conflict
		}
	}
	return vs
}

// injectCycle makes some replicas form a loop: a self-loop, an all-zero
// vector, or a loop of 2..5 IDs.
func injectCycle(rng *rand.Rand, vs [][]byte) {
	n := len(vs)
	switch k := rng.IntN(3); {
	case k == 0 || n == 1:
		id := newID(rng)
		vs[rng.IntN(n)] = vector(id, id)
	case k == 1:
		vs[rng.IntN(n)] = make([]byte, 32)
	default:
		size := min(n, 2+rng.IntN(4))
		ids := chain(rng, size-1)
		for i, r := range rng.Perm(n)[:size] {
			vs[r] = vector(ids[i], ids[(i+1)%size])
		}
	}
}

// Batch builds n sources of objects objects of objectSize bytes, each
// object's vectors at vectorOffset from a random shape among shapes (all
// valid shapes when none are given), other bytes random.
func Batch(rng *rand.Rand, n, objects, objectSize, vectorOffset int, shapes ...Shape) [][]byte {
	if len(shapes) == 0 {
		shapes = Shapes[:Cycle]
	}
	sources := make([][]byte, n)
	for r := range sources {
		s := make([]byte, objects*objectSize)
		for i := range s {
			s[i] = byte(rng.Uint32())
		}
		sources[r] = s
	}
	for o := range objects {
		for r, v := range Object(rng, n, shapes[rng.IntN(len(shapes))]) {
			copy(sources[r][o*objectSize+vectorOffset:], v)
		}
	}
	return sources
}
