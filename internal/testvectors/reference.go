// Package testvectors holds an independent reference model of the quorum
// rules in ../shared/SPEC.md, the corpus answered by the original C addon,
// and generators of realistic and adversarial replica histories.
//
// The reference model is written for obviousness, not speed: maps keyed by
// ID and plain chain walks, so that it can be checked by reading it against
// SPEC.md and then used to catch bugs in the fast implementations.
package testvectors

import "fmt"

// ErrKind is how an object went wrong, if it did.
type ErrKind int

const (
	OK       ErrKind = iota // a valid object
	Cyclic                  // ID0 == ID1 (incl. all zeros) or a dependency loop
	Conflict                // one ID0 with two different ID1s; outranks Cyclic
)

func (k ErrKind) String() string {
	switch k {
	case OK:
		return "OK"
	case Cyclic:
		return "Cyclic"
	case Conflict:
		return "Conflict"
	}
	return fmt.Sprintf("ErrKind(%d)", int(k))
}

// Answer is the quorum of one object per SPEC.md.
type Answer struct {
	Leader, Length, Repair int
	Forked                 bool
	Err                    ErrKind
}

// id is a 16-byte ID, usable as a map key.
type id = [16]byte

// graph is the graph of one object, named as in SPEC.md.
type graph struct {
	id0, id1 []id        // per replica
	nodes    map[id]bool // every ID seen as an ID0 or an ID1
	count    map[id]int  // count(X)
	first    map[id]int  // first(X), for X seen as an ID0
	dep      map[id]id   // dep(X), for X seen as an ID0
}

// build makes the graph of one object and reports whether it holds a
// conflict, a vector with ID0 == ID1, or neither. Loops longer than one
// are left to the walks.
func build(vectors [][]byte) (*graph, ErrKind) {
	if len(vectors) < 1 || len(vectors) > 255 {
		panic(fmt.Sprintf("testvectors: %d vectors, want 1..255", len(vectors)))
	}
	g := &graph{
		nodes: map[id]bool{},
		count: map[id]int{},
		first: map[id]int{},
		dep:   map[id]id{},
	}
	conflict, selfLoop := false, false
	for r, v := range vectors {
		if len(v) != 32 {
			panic(fmt.Sprintf("testvectors: vector %d has %d bytes, want 32", r, len(v)))
		}
		var a, b id
		copy(a[:], v[:16])
		copy(b[:], v[16:])
		g.id0 = append(g.id0, a)
		g.id1 = append(g.id1, b)
		g.nodes[a], g.nodes[b] = true, true
		if d, seen := g.dep[a]; !seen {
			g.dep[a], g.first[a] = b, r
		} else if d != b {
			conflict = true
		}
		g.count[a]++
		if a == b {
			selfLoop = true
		}
	}
	// Conflict outranks Cyclic, so it is decided only after every vector
	// has been seen.
	switch {
	case conflict:
		return g, Conflict
	case selfLoop:
		return g, Cyclic
	}
	return g, OK
}

// total returns total(x), or false when the chain from x loops. Without a
// conflict every node has at most one dependency, so an acyclic chain
// visits each node at most once: more steps than nodes means a loop.
func (g *graph) total(x id) (int, bool) {
	total := 0
	for steps := 0; steps <= len(g.nodes); steps++ {
		total += g.count[x]
		next, ok := g.dep[x]
		if !ok {
			return total, true
		}
		x = next
	}
	return 0, false
}

// solve answers one object and returns its graph for ReferenceRoles.
func solve(vectors [][]byte) (Answer, *graph) {
	g, kind := build(vectors)
	if kind != OK {
		return Answer{Err: kind}, g
	}
	// The largest total and how many nodes reach it. Ties are counted, not
	// broken, so the random map order cannot change the answer.
	best, bestTotal, ties := id{}, -1, 0
	for x := range g.nodes {
		t, ok := g.total(x)
		if !ok {
			return Answer{Err: Cyclic}, g
		}
		switch {
		case t > bestTotal:
			best, bestTotal, ties = x, t, 1
		case t == bestTotal:
			ties++
		}
	}
	if ties > 1 {
		return Answer{Forked: true}, g
	}
	// bestTotal >= 1 (every replica's ID0 has count >= 1), so best is
	// some replica's ID0 and first(best) exists.
	return Answer{Leader: g.first[best], Length: bestTotal, Repair: bestTotal - g.count[best]}, g
}

// Reference computes the answer for one object from its N vectors (each
// exactly 32 bytes: ID0 then ID1), 1 <= N <= 255.
func Reference(vectors [][]byte) Answer {
	a, _ := solve(vectors)
	return a
}

// Replica roles returned by ReferenceRoles.
const (
	RoleOutside = 0 // not in the quorum (and every replica when forked or on error)
	RoleLeader  = 1 // at the leader's node: ID0 == leader's ID0
	RoleLagging = 2 // its ID0 is on the leader's chain below the leader
)

// ReferenceRoles returns the answer and, for a non-forked, non-error answer,
// the role of each replica: 1 = at the leader's node (ID0 == leader's ID0),
// 2 = lagging (its ID0 node is on the leader's chain below the leader),
// 0 = outside (everything else, and every replica when forked or on error).
// The roles count to Length, and the lagging ones to Repair.
func ReferenceRoles(vectors [][]byte) (Answer, []int) {
	a, g := solve(vectors)
	roles := make([]int, len(vectors))
	if a.Err != OK || a.Forked {
		return a, roles
	}
	head := g.id0[a.Leader]
	// The answer is not an error, so this walk terminates.
	below := map[id]bool{}
	for x, ok := g.dep[head]; ok; x, ok = g.dep[x] {
		below[x] = true
	}
	for r, x := range g.id0 {
		switch {
		case x == head:
			roles[r] = RoleLeader
		case below[x]:
			roles[r] = RoleLagging
		}
	}
	return a, roles
}

// ReferenceBatch applies Reference to every object of a batch laid out as
// SPEC.md says: one source per replica, each a whole number of objects of
// objectSize bytes, the vector at vectorOffset in each object. It returns
// the answers of the objects before the first bad one, the index and kind
// of the first bad object (-1, OK if none), and the expected target: the
// leader's object (or zeros when forked) for each object before the first
// bad one, zeros from the bad one on (SPEC.md leaves the bad object's
// target unspecified and later ones untouched, so zeros is what a zeroed
// target keeps there).
//
// Arguments are trusted (this is test code): bad ones panic.
func ReferenceBatch(sources [][]byte, vectorOffset, objectSize int) (answers []Answer, badIndex int, badKind ErrKind, target []byte) {
	if len(sources) < 1 || len(sources) > 255 || objectSize < 32 ||
		vectorOffset < 0 || vectorOffset > objectSize-32 || len(sources[0])%objectSize != 0 {
		panic(fmt.Sprintf("testvectors: bad batch: %d sources, vectorOffset %d, objectSize %d",
			len(sources), vectorOffset, objectSize))
	}
	for r, s := range sources {
		if len(s) != len(sources[0]) {
			panic(fmt.Sprintf("testvectors: source %d has %d bytes, source 0 has %d", r, len(s), len(sources[0])))
		}
	}
	objects := len(sources[0]) / objectSize
	target = make([]byte, len(sources[0]))
	vectors := make([][]byte, len(sources))
	for o := 0; o < objects; o++ {
		start := o * objectSize
		for r, s := range sources {
			vectors[r] = s[start+vectorOffset : start+vectorOffset+32]
		}
		a := Reference(vectors)
		if a.Err != OK {
			return answers, o, a.Err, target
		}
		answers = append(answers, a)
		if !a.Forked {
			copy(target[start:start+objectSize], sources[a.Leader][start:start+objectSize])
		}
	}
	return answers, -1, OK, target
}
