// Package testvectors holds the test data every implementation is checked
// against: an independent reference model of SPEC.md, the 400 cases recorded
// from the original C addon, and generators of replica histories.
//
// The reference model shares no code with generic: it is written for
// obviousness (maps, plain chain walks), not speed.
package testvectors

// ErrKind is the error, if any, that an object must raise.
type ErrKind int

// Error kinds. Conflict outranks Cyclic within one object.
const (
	OK ErrKind = iota
	Cyclic
	Conflict
)

func (k ErrKind) String() string {
	return [...]string{"ok", "cyclic", "conflict"}[k]
}

// Answer is the quorum of one object per SPEC.md.
type Answer struct {
	Leader, Length, Repair int
	Forked                 bool
	Err                    ErrKind
}

type id [16]byte

func split(v []byte) (id0, id1 id) {
	copy(id0[:], v[:16])
	copy(id1[:], v[16:32])
	return
}

// Reference computes the answer for one object from its vectors (32 bytes
// each: ID0 then ID1), following SPEC.md word for word.
func Reference(vectors [][]byte) Answer {
	a, _ := reference(vectors)
	return a
}

// reference also returns the leader's ID and each ID0's dependency.
func reference(vectors [][]byte) (Answer, graph) {
	g := graph{count: map[id]int{}, first: map[id]int{}, dep: map[id]id{}}
	// Conflicts first: they outrank cycles.
	for r, v := range vectors {
		id0, id1 := split(v)
		if d, seen := g.dep[id0]; seen && d != id1 {
			return Answer{Err: Conflict}, g
		}
		if _, seen := g.dep[id0]; !seen {
			g.first[id0] = r
		}
		g.dep[id0] = id1
		g.count[id0]++
	}
	// Every node: every ID0 and every ID1.
	nodes := map[id]bool{}
	for _, v := range vectors {
		id0, id1 := split(v)
		nodes[id0], nodes[id1] = true, true
	}
	totals := map[id]int{}
	for x := range nodes {
		t, ok := g.total(x)
		if !ok {
			return Answer{Err: Cyclic}, g
		}
		totals[x] = t
	}
	best, ties := 0, 0
	var leader id
	for x, t := range totals {
		switch {
		case t > best:
			best, ties, leader = t, 1, x
		case t == best:
			ties++
		}
	}
	if ties > 1 {
		return Answer{Forked: true}, g
	}
	g.leader = leader
	return Answer{Leader: g.first[leader], Length: best, Repair: best - g.count[leader]}, g
}

type graph struct {
	count  map[id]int // replicas whose ID0 is the key
	first  map[id]int // lowest such replica
	dep    map[id]id  // the ID1 of those replicas
	leader id
}

// total walks the chain from x down through its dependencies, adding the
// counts. A walk longer than the number of IDs has met a loop (including a
// vector that depends on itself).
func (g graph) total(x id) (int, bool) {
	sum := 0
	for steps := 0; ; steps++ {
		if steps > 2*len(g.dep)+1 {
			return 0, false
		}
		sum += g.count[x]
		d, ok := g.dep[x]
		if !ok {
			return sum, true
		}
		x = d
	}
}

// ReferenceRoles is Reference plus each replica's role: 1 at the leader's
// state, 2 lagging (its ID0 is further down the leader's chain), 0 outside
// (everything else, and every replica when forked or on error).
func ReferenceRoles(vectors [][]byte) (Answer, []int) {
	a, g := reference(vectors)
	roles := make([]int, len(vectors))
	if a.Err != OK || a.Forked {
		return a, roles
	}
	chain := map[id]bool{}
	for x := g.leader; ; {
		chain[x] = true
		d, ok := g.dep[x]
		if !ok {
			break
		}
		x = d
	}
	for r, v := range vectors {
		id0, _ := split(v)
		switch {
		case id0 == g.leader:
			roles[r] = 1
		case chain[id0]:
			roles[r] = 2
		}
	}
	return a, roles
}

// ReferenceBatch applies Reference to every object of a batch laid out as
// SPEC.md says. It returns the answers of the objects before the first bad
// one, that object's index and kind (-1, OK if none), and the expected
// target: the leader's object or zeros for each object before the bad one,
// zeros from it on.
func ReferenceBatch(sources [][]byte, vectorOffset, objectSize int) (answers []Answer, badIndex int, badKind ErrKind, target []byte) {
	objects := len(sources[0]) / objectSize
	target = make([]byte, len(sources[0]))
	for o := range objects {
		vectors := make([][]byte, len(sources))
		for r, s := range sources {
			vectors[r] = s[o*objectSize+vectorOffset : o*objectSize+vectorOffset+32]
		}
		a := Reference(vectors)
		if a.Err != OK {
			return answers, o, a.Err, target
		}
		answers = append(answers, a)
		if a.Length > 0 {
			copy(target[o*objectSize:(o+1)*objectSize], sources[a.Leader][o*objectSize:])
		}
	}
	return answers, -1, OK, target
}
