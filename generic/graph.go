package generic

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// The slow path: build the dependency graph of one object's vectors and
// find its longest chain. This is the definition every fast path must match.
//
// Unlike the original C addon it does not recurse (a chain may be 255 deep),
// finds nodes by hashing instead of a linear search of the node list, and
// reuses its scratch space so a call allocates nothing.

const (
	maxNodes  = 2 * SourcesMax // every replica brings at most two new IDs
	tableBits = 10             // 1024 slots: load factor at most 1/2
	tableMask = 1<<tableBits - 1
	noNode    = -1
)

// node is one distinct ID of an object.
type node struct {
	lo, hi uint64 // the ID, as two little-endian words
	slot   int32  // where the ID sits in the hash table, to clear it after
	dep    int32  // node index of the dependency (ID1), or noNode
	count  int32  // replicas whose ID0 is this ID
	total  int32  // count plus the dependency's total, once computed
	first  uint8  // lowest replica index whose ID0 is this ID
	state  uint8  // for the chain walk: unvisited, onPath or done
}

const (
	unvisited = iota
	onPath
	done
)

// graph is the scratch space of the slow path. The zero value is ready to
// use; a graph must not be used by two goroutines at once.
type graph struct {
	table [1 << tableBits]int32 // node index + 1, 0 for an empty slot
	nodes [maxNodes]node
	path  [maxNodes]int32
	n     int
}

var graphs = sync.Pool{New: func() any { return new(graph) }}

// getGraph and putGraph share slow-path scratch between calls, so a batch
// allocates nothing once the pool is warm.
func getGraph() *graph  { return graphs.Get().(*graph) }
func putGraph(g *graph) { graphs.Put(g) }

// quorum computes the quorum of the object whose vector starts at byte off of
// every source. The caller guarantees off+VectorSize <= len(source) for every
// source and 1 <= len(sources) <= SourcesMax (Validate does).
func (g *graph) quorum(sources [][]byte, off int) (Result, error) {
	defer g.reset()
	return g.build(sources, off)
}

// build is quorum leaving the graph built, for Roles to read.
func (g *graph) build(sources [][]byte, off int) (Result, error) {
	conflict, selfLoop := false, false
	prev := int32(noNode) // node of the previous replica's ID0, to skip repeats
	var plo0, phi0, plo1, phi1 uint64
	for r, s := range sources {
		v := s[off : off+VectorSize : off+VectorSize]
		lo0 := binary.LittleEndian.Uint64(v[0:])
		hi0 := binary.LittleEndian.Uint64(v[8:])
		lo1 := binary.LittleEndian.Uint64(v[16:])
		hi1 := binary.LittleEndian.Uint64(v[24:])
		if prev != noNode && lo0 == plo0 && hi0 == phi0 && lo1 == plo1 && hi1 == phi1 {
			g.nodes[prev].count++ // same vector as the replica before: same nodes
			continue
		}
		i0 := g.find(lo0, hi0)
		i1 := g.find(lo1, hi1)
		x := &g.nodes[i0]
		if x.count == 0 { // first replica at this state: it is first(X)
			x.first = uint8(r)
			x.dep = i1
		} else if x.dep != i1 {
			conflict = true
			break // a conflict outranks everything else in the object
		}
		x.count++
		selfLoop = selfLoop || i0 == i1
		prev, plo0, phi0, plo1, phi1 = i0, lo0, hi0, lo1, hi1
	}
	if conflict {
		return Result{}, ErrConflict
	}
	if selfLoop {
		return Result{}, ErrCyclic
	}
	if !g.totals() {
		return Result{}, ErrCyclic
	}
	return g.longest(), nil
}

// find returns the node index of an ID, adding a node if it is new.
func (g *graph) find(lo, hi uint64) int32 {
	// IDs are random, but a hostile or broken caller may share prefixes:
	// mix both words so such IDs still spread over the table.
	h := (lo*0x9e3779b97f4a7c15 ^ hi) * 0xbf58476d1ce4e5b9
	slot := int32(h >> (64 - tableBits))
	for {
		i := g.table[slot] - 1
		if i < 0 {
			break
		}
		if g.nodes[i].lo == lo && g.nodes[i].hi == hi {
			return i
		}
		slot = (slot + 1) & tableMask
	}
	i := int32(g.n)
	g.n++
	g.table[slot] = i + 1
	g.nodes[i] = node{lo: lo, hi: hi, slot: slot, dep: noNode}
	return i
}

// totals sets total(X) = count(X) + total(dep(X)) for every node, walking each
// chain once with an explicit stack. It reports false if a chain loops.
func (g *graph) totals() bool {
	nodes := g.nodes[:g.n]
	for i := range nodes {
		if nodes[i].state != unvisited {
			continue
		}
		depth := 0
		j := int32(i)
		for j != noNode && nodes[j].state == unvisited {
			nodes[j].state = onPath
			g.path[depth] = j
			depth++
			j = nodes[j].dep
		}
		base := int32(0)
		if j != noNode {
			if nodes[j].state == onPath {
				return false // the walk came back to itself
			}
			base = nodes[j].total
		}
		for depth > 0 {
			depth--
			x := &nodes[g.path[depth]]
			base += x.count
			x.total = base
			x.state = done
		}
	}
	return true
}

// longest picks the node with the largest total; a tie is split-brain.
func (g *graph) longest() Result {
	best, ties := int32(0), 0
	var leader *node
	for i := range g.nodes[:g.n] {
		x := &g.nodes[i]
		switch {
		case x.total > best:
			best, ties, leader = x.total, 1, x
		case x.total == best:
			ties++
		}
	}
	if ties > 1 {
		return Result{Forked: true}
	}
	return Result{Leader: leader.first, Length: uint8(best), Repair: uint8(best - leader.count)}
}

// reset empties the table by clearing only the slots this object used.
func (g *graph) reset() {
	for i := range g.nodes[:g.n] {
		g.table[g.nodes[i].slot] = 0
	}
	g.n = 0
}

// Role is where one replica stands relative to an object's quorum.
type Role uint8

const (
	// Outside: the replica is not in the longest chain (a stranger, the losing
	// side of a partition, or any replica of a split-brain object). It must
	// be overwritten from the leader.
	Outside Role = iota
	// Current: the replica is at the leader's state.
	Current
	// Lagging: the replica is in the longest chain but behind the leader; it
	// must catch up by copying the leader's object.
	Lagging
)

func (r Role) String() string {
	switch r {
	case Current:
		return "current"
	case Lagging:
		return "lagging"
	}
	return "outside"
}

// Roles computes the quorum of one object from its replicas' vectors, one
// 32-byte vector per replica, and writes each replica's role into roles.
// The Result is the one Calculate gives for the same vectors; in a
// split-brain every replica is Outside. On an error roles is untouched.
func Roles(vectors [][]byte, roles []Role) (Result, error) {
	n := len(vectors)
	if n < SourcesMin || n > SourcesMax {
		return Result{}, fmt.Errorf("quorum: vectors must hold %d to %d replicas, got %d", SourcesMin, SourcesMax, n)
	}
	for i, v := range vectors {
		if len(v) != VectorSize {
			return Result{}, fmt.Errorf("quorum: vectors[%d] has length %d, want %d", i, len(v), VectorSize)
		}
	}
	if len(roles) < n {
		return Result{}, fmt.Errorf("quorum: roles has room for %d replicas, want %d", len(roles), n)
	}
	g := getGraph()
	defer putGraph(g)
	defer g.reset()
	r, err := g.build(vectors, 0)
	if err != nil {
		return Result{}, err
	}
	if r.Forked {
		clear(roles[:n])
		return r, nil
	}
	// Mark the chain from the leader's node down through its dependencies.
	// Totals are known, so the walk is acyclic and ends.
	leader := g.nodeOf(vectors[r.Leader])
	for i := range g.nodes[:g.n] {
		g.nodes[i].state = unvisited
	}
	for j := leader; j != noNode; j = g.nodes[j].dep {
		g.nodes[j].state = onPath
	}
	for i, v := range vectors {
		switch j := g.nodeOf(v); {
		case j == leader:
			roles[i] = Current
		case g.nodes[j].state == onPath:
			roles[i] = Lagging
		default:
			roles[i] = Outside
		}
	}
	return r, nil
}

// nodeOf returns the node of a vector's ID0, which must be in the graph.
func (g *graph) nodeOf(v []byte) int32 {
	return g.find(binary.LittleEndian.Uint64(v[0:]), binary.LittleEndian.Uint64(v[8:]))
}
