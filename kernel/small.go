package kernel

import "math/bits"

// The slow path for objects of at most smallN replicas, the replica counts
// storage systems run: the same graph as graph's, in a table small enough
// to live on the stack, so a call takes no scratch from the pool and has
// nothing to clear afterwards.

const (
	smallN         = 16
	smallTableBits = 6 // 64 slots for at most 16 nodes: most lookups probe once
)

// smallHash places an ID in the small table, mixing both words as hash does.
func smallHash(lo, hi uint64) uint8 {
	return uint8(((lo ^ bits.RotateLeft64(hi, 32)) * 0x9e3779b97f4a7c15) >> (64 - smallTableBits))
}

// quorumSmall is graph.quorum for 1 <= len(sources) <= smallN.
func quorumSmall(sources [][]byte, off int) (Result, error) {
	var (
		table [1 << smallTableBits]uint8 // node index + 1, 0 for an empty slot
		id    [smallN][4]uint64          // the node's vector: ID0 then its ID1
		count [smallN]int32              // replicas whose ID0 is this node
		first [smallN]uint8              // lowest such replica
		dep   [smallN]int8               // the node of ID1, or -1
		nodes int
	)
	// find returns the node of an ID0, or the empty slot where it belongs.
	find := func(lo, hi uint64) (node int, slot uint8) {
		for h := smallHash(lo, hi); ; h = (h + 1) & (1<<smallTableBits - 1) {
			e := table[h]
			if e == 0 || id[e-1][0] == lo && id[e-1][1] == hi {
				return int(e) - 1, h
			}
		}
	}
	selfLoop := false
	for r, s := range sources {
		v := load(s, off)
		if j, slot := find(v[0], v[1]); j >= 0 {
			if id[j][2] != v[2] || id[j][3] != v[3] {
				return Result{}, ErrConflict // outranks everything else in the object
			}
			count[j]++
		} else {
			id[nodes], count[nodes], first[nodes] = v, 1, uint8(r)
			nodes++
			table[slot] = uint8(nodes)
			selfLoop = selfLoop || (v[0] == v[2] && v[1] == v[3])
		}
	}
	if selfLoop {
		return Result{}, ErrCyclic
	}
	for i := range nodes {
		j, _ := find(id[i][2], id[i][3])
		dep[i] = int8(j)
	}
	// total(i) = count(i) + total(dep(i)), walked afresh from each node: at
	// most smallN steps each, and a walk of more steps than nodes has met a
	// loop.
	var total [smallN]int32
	for i := range nodes {
		steps := 0
		for j := int8(i); j >= 0; j = dep[j] {
			if steps++; steps > nodes {
				return Result{}, ErrCyclic
			}
			total[i] += count[j]
		}
	}
	return longest(total[:nodes], count[:nodes], first[:nodes]), nil
}
