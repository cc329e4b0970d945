package testvectors

import (
	"fmt"
	"math/rand/v2"
)

// Shape is a kind of replica history that Object simulates.
type Shape int

const (
	// AllAgree: every replica ran the same transactions.
	AllAgree Shape = iota
	// OneAhead: an interrupted transaction reached only some replicas, so
	// they are one step ahead of the rest.
	OneAhead
	// Lagging: replicas missed the last few transactions and sit several
	// steps behind on one chain (only a lag of one still links them).
	Lagging
	// Partition: two to four groups each advanced from a shared ancestor
	// on their own branch, sometimes in equal-size groups (a tie). With
	// n == 1 there is nothing to split: a Lagging history instead.
	Partition
	// Strangers: a healthy group plus some replicas holding unrelated
	// random vectors (replaced disks, stray data).
	Strangers
	// Offline: one replica left behind long ago (two or more steps, so no
	// longer linked), the others advancing, sometimes with an interrupted
	// last transaction. With n == 1 just the advancing replica.
	Offline
	// TwoUnrelated: exactly two unrelated vectors in random counts,
	// sometimes equal (a tie).
	TwoUnrelated
	// Deep: one chain n deep, every replica at a different depth, in
	// shuffled order.
	Deep
	// Cycle: a healthy history with a self-loop, all-zero vectors, a loop
	// of 2..k fresh vectors (maybe with a tail leading into it), or one
	// vector's IDs swapped (A/B beside B/A). Cyclic, or Conflict when a
	// swap also reuses an ID0.
	Cycle
	// Conflicting: a healthy history where one ID0 is given a second ID1,
	// sometimes with a cycle elsewhere in the same object. Always Conflict
	// when n >= 2 (with n == 1 no conflict exists: a self-loop instead).
	// Named so because Conflict is the ErrKind.
	Conflicting
	// Random: every replica picks a random node of a random forest over a
	// few IDs (so chains, forks and ties form by chance), now and then a
	// wholly random vector. Never an error.
	Random
	// Mixed: the replicas split into groups, each with its own history of
	// a random healthy shape, then shuffled together.
	Mixed
)

// Shapes lists every shape.
var Shapes = []Shape{AllAgree, OneAhead, Lagging, Partition, Strangers, Offline, TwoUnrelated, Deep, Cycle, Conflicting, Random, Mixed}

// healthy lists the shapes that never produce an error object, Mixed
// last (Mixed picks its groups' shapes from the others).
var healthy = []Shape{AllAgree, OneAhead, Lagging, Partition, Strangers, Offline, TwoUnrelated, Deep, Random, Mixed}

func (s Shape) String() string {
	names := [...]string{"AllAgree", "OneAhead", "Lagging", "Partition", "Strangers", "Offline", "TwoUnrelated", "Deep", "Cycle", "Conflicting", "Random", "Mixed"}
	if s >= 0 && int(s) < len(names) {
		return names[s]
	}
	return fmt.Sprintf("Shape(%d)", int(s))
}

// vec is one replica's vector.
type vec struct{ id0, id1 id }

func (v vec) bytes() []byte {
	b := make([]byte, 32)
	copy(b, v.id0[:])
	copy(b[16:], v.id1[:])
	return b
}

// newID returns a random ID, never all zeros (a zero ID is only ever put
// in deliberately).
func newID(rng *rand.Rand) id {
	for {
		var x id
		for i := range x {
			x[i] = byte(rng.Uint32())
		}
		if x != (id{}) {
			return x
		}
	}
}

// stranger returns a vector unrelated to anything else.
func stranger(rng *rand.Rand) vec {
	return vec{newID(rng), newID(rng)}
}

// update is SPEC.md's Update. A refusal means the simulation broke the
// original's invariants, which is a bug here, so it panics.
func update(v vec, x id) vec {
	zero := id{}
	if v.id0 == zero || v.id1 == zero || v.id0 == v.id1 || x == zero || x == v.id0 || x == v.id1 {
		panic("testvectors: simulated history made an Update the original refuses")
	}
	return vec{x, v.id0}
}

// chain returns v and the vectors after each of steps more transactions:
// chain[d] is the vector at depth d.
func chain(rng *rand.Rand, v vec, steps int) []vec {
	c := []vec{v}
	for range steps {
		v = update(v, newID(rng))
		c = append(c, v)
	}
	return c
}

// history returns the vector of a freshly created object after a few
// transactions: where the interesting part of most shapes starts.
func history(rng *rand.Rand) vec {
	c := chain(rng, stranger(rng), rng.IntN(4))
	return c[len(c)-1]
}

// Object returns n vectors (32 bytes each) for one object, produced by
// simulating a replica history of the given shape. Replicas come in random
// order, so the leader is not always replica 0.
func Object(rng *rand.Rand, n int, shape Shape) [][]byte {
	if n < 1 || n > 255 {
		panic(fmt.Sprintf("testvectors: Object with n = %d, want 1..255", n))
	}
	vs := object(rng, n, shape)
	rng.Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
	out := make([][]byte, n)
	for r, v := range vs {
		out[r] = v.bytes()
	}
	return out
}

// object simulates one history; Object shuffles it.
func object(rng *rand.Rand, n int, shape Shape) []vec {
	vs := make([]vec, n)
	switch shape {
	case AllAgree:
		h := history(rng)
		for r := range vs {
			vs[r] = h
		}

	case OneAhead:
		head := history(rng)
		next := update(head, newID(rng))
		ahead := 1 + rng.IntN(max(1, n-1)) // a strict subset when n >= 2
		for r := range vs {
			vs[r] = head
			if r < ahead {
				vs[r] = next
			}
		}

	case Lagging:
		c := chain(rng, history(rng), 2+rng.IntN(8))
		top := len(c) - 1
		for r := range vs {
			vs[r] = c[top] // replica 0 stays at the head
			if r > 0 && rng.IntN(2) == 0 {
				vs[r] = c[top-1-rng.IntN(top)] // 1..top steps behind
			}
		}

	case Partition:
		if n < 2 {
			return object(rng, n, Lagging) // one replica cannot split
		}
		ancestor := history(rng)
		groups := 2 + rng.IntN(min(3, n-1))
		sizes := make([]int, groups)
		tie := rng.IntN(2) == 0
		if tie {
			for g := range sizes {
				sizes[g] = n / groups
			}
		} else {
			// Each group gets one replica, the rest go anywhere, some
			// staying at the ancestor.
			for g := range sizes {
				sizes[g] = 1
			}
			for range n - groups {
				if g := rng.IntN(groups + 1); g < groups {
					sizes[g]++
				}
			}
		}
		for r := range vs {
			vs[r] = ancestor // replicas in no group never left it
		}
		r := 0
		for _, size := range sizes {
			// Each group runs its own transactions; outside a tie, an
			// interrupted last one may leave part of the group behind.
			c := chain(rng, ancestor, 1+rng.IntN(3))
			behind := 0
			if !tie && rng.IntN(2) == 0 {
				behind = rng.IntN(size)
			}
			for i := range size {
				vs[r] = c[len(c)-1]
				if i < behind {
					vs[r] = c[len(c)-2]
				}
				r++
			}
		}

	case Strangers:
		vs = object(rng, n, [...]Shape{AllAgree, OneAhead}[rng.IntN(2)])
		strangers := 1 + rng.IntN(max(1, n-1)) // some healthy replicas remain when n >= 2
		for _, r := range rng.Perm(n)[:strangers] {
			vs[r] = stranger(rng)
		}

	case Offline:
		c := chain(rng, history(rng), 3+rng.IntN(6))
		top := len(c) - 1
		next := update(c[top], newID(rng))
		interrupted := rng.IntN(2) == 0
		for r := range vs {
			vs[r] = c[top]
			if interrupted && r == 1 {
				vs[r] = next // one more transaction reached replica 1 only
			}
		}
		if n >= 2 {
			vs[0] = c[rng.IntN(top-1)] // two or more steps behind the others
		}

	case TwoUnrelated:
		a, b := history(rng), history(rng)
		as := 1 + rng.IntN(max(1, n-1))
		if n%2 == 0 && rng.IntN(3) == 0 {
			as = n / 2
		}
		for r := range vs {
			vs[r] = a
			if r >= as {
				vs[r] = b
			}
		}

	case Deep:
		// Depths start..start+n-1 of a chain that may go on a little
		// further down, so the bottom replica's ID1 is sometimes a node
		// with no replica of its own.
		c := chain(rng, stranger(rng), n-1+rng.IntN(3))
		start := rng.IntN(len(c) - n + 1)
		for r := range vs {
			vs[r] = c[start+r]
		}

	case Cycle:
		vs = object(rng, n, healthy[rng.IntN(len(healthy))])
		injectCycle(rng, vs, nil)

	case Conflicting:
		vs = object(rng, n, healthy[rng.IntN(len(healthy))])
		if n < 2 {
			x := newID(rng)
			vs[0] = vec{x, x}
			break
		}
		// Replica r reuses replica j's ID0 on another dependency, as if
		// an ID were used again in a later transaction.
		p := rng.Perm(n)
		j, r := p[0], p[1]
		vs[r] = vec{vs[j].id0, newID(rng)}
		if n >= 3 && rng.IntN(3) == 0 {
			// Keep j and r intact so the conflict survives the cycle.
			injectCycle(rng, vs, map[int]bool{j: true, r: true})
		}

	case Random:
		// A random forest: ID i depends on a later ID or on a fresh root,
		// so there are no loops and each ID0 has one ID1.
		pool := make([]id, 1+rng.IntN(n/2+2))
		for i := range pool {
			pool[i] = newID(rng)
		}
		dep := make([]id, len(pool))
		for i := range pool {
			if i == len(pool)-1 || rng.IntN(4) == 0 {
				dep[i] = newID(rng)
			} else {
				dep[i] = pool[i+1+rng.IntN(len(pool)-i-1)]
			}
		}
		for r := range vs {
			i := rng.IntN(len(pool))
			vs[r] = vec{pool[i], dep[i]}
			if rng.IntN(8) == 0 {
				vs[r] = stranger(rng)
			}
		}

	case Mixed:
		// Random group sizes; each group's history is independent of the
		// others', so groups are unrelated components of one graph.
		for r := 0; r < n; {
			size := 1 + rng.IntN(n-r)
			shape := healthy[rng.IntN(len(healthy)-1)] // not Mixed itself
			copy(vs[r:], object(rng, size, shape))
			r += size
		}

	default:
		panic(fmt.Sprintf("testvectors: unknown shape %v", shape))
	}
	return vs
}

// injectCycle corrupts vs with a cycle, leaving the replicas in keep alone.
// With a self-loop, zero vectors or fresh loop IDs the object stays free of
// conflicts (unless it already had one); a swapped vector may also create a
// conflict.
func injectCycle(rng *rand.Rand, vs []vec, keep map[int]bool) {
	var free []int // replicas we may overwrite, in random order
	for _, r := range rng.Perm(len(vs)) {
		if !keep[r] {
			free = append(free, r)
		}
	}
	if len(free) == 0 {
		panic("testvectors: no replica to put a cycle in")
	}
	kind := rng.IntN(4)
	if len(free) < 2 {
		kind = rng.IntN(2) // loops and swaps need two replicas
	}
	switch kind {
	case 0:
		// Self-loop: a corrupted write of x||x, either with a fresh ID or
		// on every replica of one vector (so its ID0 keeps a single ID1).
		r := free[0]
		if rng.IntN(2) == 0 || keep != nil {
			x := newID(rng)
			vs[r] = vec{x, x}
			return
		}
		old := vs[r]
		for i := range vs {
			if vs[i] == old {
				vs[i] = vec{old.id0, old.id0}
			}
		}
	case 1:
		// All-zero vectors: never-initialised objects.
		for _, r := range free[:1+rng.IntN(len(free))] {
			if r == free[0] || rng.IntN(2) == 0 {
				vs[r] = vec{}
			}
		}
	case 2:
		// A loop X1->X2->...->Xk->X1 of fresh IDs, sometimes with a
		// replica whose chain runs into it.
		k := 2 + rng.IntN(len(free)-1)
		loop := make([]id, k)
		for i := range loop {
			loop[i] = newID(rng)
		}
		for i := range k {
			vs[free[i]] = vec{loop[i], loop[(i+1)%k]}
		}
		if k < len(free) && rng.IntN(2) == 0 {
			vs[free[k]] = vec{newID(rng), loop[rng.IntN(k)]}
		}
	case 3:
		// Swapped halves: B/A written beside some replica's A/B. If A is
		// also some replica's ID0 (its own dependency), that is a
		// conflict too.
		j := -1 // a replica other than free[0] whose vector survives
		for i := range vs {
			if i != free[0] {
				j = i
				break
			}
		}
		vs[free[0]] = vec{vs[j].id1, vs[j].id0}
	}
}

// Batch builds sources for `objects` objects of objectSize bytes with the
// vector at vectorOffset. Each object gets a random shape from shapes; with
// no shapes, every shape except Cycle and Conflicting, so that the batch
// has no bad object. Bytes outside the vectors are random, so that a target
// copied from the wrong replica or object shows.
func Batch(rng *rand.Rand, n, objects, objectSize, vectorOffset int, shapes ...Shape) [][]byte {
	if n < 1 || n > 255 || objects < 0 || objectSize < 32 || vectorOffset < 0 || vectorOffset > objectSize-32 {
		panic(fmt.Sprintf("testvectors: Batch(n=%d, objects=%d, objectSize=%d, vectorOffset=%d)",
			n, objects, objectSize, vectorOffset))
	}
	if len(shapes) == 0 {
		shapes = healthy
	}
	sources := make([][]byte, n)
	for r := range sources {
		sources[r] = make([]byte, objects*objectSize)
		for i := range sources[r] {
			sources[r][i] = byte(rng.Uint32())
		}
	}
	for o := range objects {
		vs := Object(rng, n, shapes[rng.IntN(len(shapes))])
		for r, v := range vs {
			copy(sources[r][o*objectSize+vectorOffset:], v)
		}
	}
	return sources
}
