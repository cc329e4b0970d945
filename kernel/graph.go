package kernel

import (
	"encoding/binary"
	"math/bits"
	"sync"
)

// The slow path: build the dependency graph of one object's vectors and
// find its longest chain. This is the definition every fast path must match.
//
// Unlike the original C addon it does not recurse (a chain may be 255 deep),
// finds nodes by hashing instead of a linear search of the node list, and
// reuses its scratch space so a call allocates nothing.
//
// Only IDs that some replica holds as ID0 become nodes: an ID seen only as
// a dependency has count 0 and total 0, so it can neither win nor add to a
// chain, and a lookup that misses stands for it.

const (
	tableBits = 12 // 4096 slots for at most 255 nodes: a probe rarely meets another ID
	tableMask = 1<<tableBits - 1
	noNode    = -1
)

// graph is the scratch space of the slow path. The zero value is ready to
// use; a graph must not be used by two goroutines at once. Node arrays have
// 256 entries so that a uint8 node index needs no bounds check.
type graph struct {
	vectors [SourcesMax][4]uint64 // the object's vectors, gathered first
	table   [1 << tableBits]uint8 // node index + 1, 0 for an empty slot: small, so it stays in L1

	// Nodes, one per distinct ID0, as parallel arrays.
	n     int
	id    [256][4]uint64 // the node's vector: ID0 then its ID1
	slot  [256]uint16    // where the node sits in the table, to clear it
	count [256]int32     // replicas whose ID0 is this node
	first [256]uint8     // lowest such replica
	dep   [256]int16     // the node of ID1, or noNode
	total [256]int32     // count plus the dependency's total
	state [256]uint8     // chain walk: unvisited, onPath or done
	path  [256]uint8     // the chain walk's stack
	depth [256]uint8     // place: states behind the leader, for nodes on its chain

	// strangers' scratch, for objects of more than strangersMax replicas.
	lo0   [256]uint64 // ID0 prefixes
	lo1   [256]uint64 // ID1 prefixes
	bloom [256]uint64 // the filter: 64 bits per replica at most
}

const (
	unvisited = iota
	onPath
	done
)

var graphs = sync.Pool{New: func() any { return new(graph) }}

// getGraph and putGraph share slow-path scratch between calls, so a batch
// allocates nothing once the pool is warm.
func getGraph() *graph  { return graphs.Get().(*graph) }
func putGraph(g *graph) { graphs.Put(g) }

// quorum computes the quorum of the object whose vector starts at byte off
// of every source. The caller guarantees off+VectorSize <= len(source) for
// every source and 1 <= len(sources) <= SourcesMax (Validate does).
func (g *graph) quorum(sources [][]byte, off int) (Result, error) {
	defer g.reset()
	return g.build(sources, off)
}

// hash places an ID in the table. IDs are random, but a hostile or broken
// caller may share prefixes: mixing both words still spreads such IDs.
func hash(lo, hi uint64) uint16 {
	return uint16(((lo ^ bits.RotateLeft64(hi, 32)) * 0x9e3779b97f4a7c15) >> (64 - tableBits))
}

// build is quorum leaving the graph built, for Roles to read.
func (g *graph) build(sources [][]byte, off int) (Result, error) {
	// Gather first: the loads are independent, so the CPU overlaps their
	// cache misses (every replica is a different buffer).
	vectors := g.vectors[:len(sources)]
	for r, s := range sources {
		vectors[r] = load(s, off)
	}
	// One node per distinct ID0, counting its replicas.
	selfLoop := false
	var node uint8 // the current replica's node
	for r := range vectors {
		v := &vectors[r]
		if r > 0 && *v == vectors[r-1] {
			g.count[node]++ // same vector as the replica before: same node
			continue
		}
		h := hash(v[0], v[1])
		for {
			e := g.table[h]
			if e == 0 {
				node = uint8(g.n)
				g.n++
				g.table[h] = node + 1
				g.slot[node], g.id[node], g.first[node], g.count[node] = h, *v, uint8(r), 1
				break
			}
			if node = e - 1; g.id[node][0] == v[0] && g.id[node][1] == v[1] {
				if g.id[node][2] != v[2] || g.id[node][3] != v[3] {
					return Result{}, ErrConflict // outranks everything else in the object
				}
				g.count[node]++
				break
			}
			h = (h + 1) & tableMask
		}
		selfLoop = selfLoop || (v[0] == v[2] && v[1] == v[3])
	}
	if selfLoop {
		return Result{}, ErrCyclic
	}
	// Link each node to the node of its ID1, if some replica holds it.
	linked := false
	for i := range g.n {
		g.dep[i], g.state[i] = g.find(g.id[i][2], g.id[i][3]), unvisited
		linked = linked || g.dep[i] != noNode
	}
	if !linked {
		// No node depends on another (every replica a stranger to the
		// rest): each total is its count, no chain to walk.
		copy(g.total[:g.n], g.count[:g.n])
	} else if !g.totals() {
		return Result{}, ErrCyclic
	}
	return g.longest(), nil
}

// find returns the node whose ID0 is the given ID, or noNode.
func (g *graph) find(lo, hi uint64) int16 {
	for h := hash(lo, hi); g.table[h] != 0; h = (h + 1) & tableMask {
		if i := g.table[h] - 1; g.id[i][0] == lo && g.id[i][1] == hi {
			return int16(i)
		}
	}
	return noNode
}

// totals sets total(X) = count(X) + total(dep(X)) for every node, walking each
// chain once with an explicit stack. It reports false if a chain loops.
func (g *graph) totals() bool {
	for i := range g.n {
		if g.state[i] != unvisited {
			continue
		}
		depth := 0
		j := int16(i)
		for j != noNode && g.state[j] == unvisited {
			g.state[j] = onPath
			g.path[depth] = uint8(j)
			depth++
			j = g.dep[j]
		}
		base := int32(0)
		if j != noNode {
			if g.state[j] == onPath {
				return false // the walk came back to itself
			}
			base = g.total[j]
		}
		for depth > 0 {
			depth--
			k := g.path[depth]
			base += g.count[k]
			g.total[k] = base
			g.state[k] = done
		}
	}
	return true
}

// longest picks the node with the largest total; a tie is split-brain.
func (g *graph) longest() Result { return longest(g.total[:g.n], g.count[:g.n], g.first[:g.n]) }

// longest picks, from nodes' chain totals, replica counts and first
// replicas, the node with the largest total; a tie is split-brain.
func longest(total, count []int32, first []uint8) Result {
	best, ties, leader := int32(0), 0, 0
	for i, t := range total {
		switch {
		case t > best:
			best, ties, leader = t, 1, i
		case t == best:
			ties++
		}
	}
	if ties > 1 {
		return Result{Forked: true}
	}
	return Result{Leader: first[leader], Length: uint8(best), Repair: uint8(best - count[leader])}
}

// reset empties the table by clearing only the slots this object used.
func (g *graph) reset() {
	for _, h := range g.slot[:g.n] {
		g.table[h] = 0
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

// place writes the role, depth or both (nil slices are not written) of
// each replica of the object the graph holds, whose result is r.
func (g *graph) place(vectors [][]byte, r Result, roles []Role, depths []uint8) {
	if r.Forked {
		placeTwo(vectors, r, roles, depths) // every replica outside, whatever the vectors
		return
	}
	// Walk the chain from the leader's node down through its dependencies,
	// numbering the states. Totals are known, so the walk is acyclic and ends.
	leader := g.nodeOf(vectors[r.Leader])
	clear(g.state[:g.n])
	d := uint8(0)
	for j := leader; j != noNode; j = g.dep[j] {
		g.state[j], g.depth[j] = onPath, d
		d++
	}
	for i, v := range vectors {
		role, depth := Outside, uint8(NotInChain)
		if j := g.nodeOf(v); g.state[j] == onPath {
			role, depth = Lagging, g.depth[j]
			if j == leader {
				role = Current
			}
		}
		if roles != nil {
			roles[i] = role
		}
		if depths != nil {
			depths[i] = depth
		}
	}
}

// nodeOf returns the node of a vector's ID0, which must be in the graph.
func (g *graph) nodeOf(v []byte) int16 {
	return g.find(binary.LittleEndian.Uint64(v[0:]), binary.LittleEndian.Uint64(v[8:]))
}
