package replica_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// quickObjects fills n replicas with random vector patterns in runs of one
// shape (chains, forks, strangers, now and then a cyclic or conflicting
// vector), fresh IDs or the same from object to object, the bytes outside
// the vector named after the state with a rare flipped byte.
func quickObjects(r *rand.Rand, n int, objects int64, osz, vo int) [][]byte {
	data := make([][]byte, n)
	for k := range data {
		data[k] = make([]byte, objects*int64(osz))
	}
	newID := func() (id [16]byte) {
		for i := range id {
			id[i] = byte(r.Uint32())
		}
		id[0] |= 1
		return id
	}
	var node, parent []int // replica -> node (-1 stranger); node -> parent (-1 base)
	var ids [][16]byte     // node IDs, then the base's
	corrupt := 0           // 1 cyclic, 2 conflict
	for i := int64(0); i < objects; i++ {
		if node == nil || r.IntN(8) == 0 {
			k := 1 + r.IntN(4)
			parent, node, corrupt = make([]int, k), make([]int, n), 0
			for j := range parent {
				if parent[j] = j - 1; j > 1 && r.IntN(4) == 0 {
					parent[j] = r.IntN(j - 1) // a fork
				}
			}
			for rep := range node {
				switch node[rep] = r.IntN(k); {
				case r.IntN(10) == 0:
					node[rep] = -1
				case r.IntN(2) == 0:
					node[rep] = k - 1
				}
			}
			if r.IntN(20) == 0 {
				corrupt = 1 + r.IntN(2)
			}
		}
		if len(ids) != len(parent)+1 || r.IntN(3) != 0 {
			ids = make([][16]byte, len(parent)+1)
			for j := range ids {
				ids[j] = newID()
			}
		}
		for rep := range n {
			obj := data[rep][i*int64(osz) : (i+1)*int64(osz)]
			id0, id1 := newID(), newID()
			if j := node[rep]; j >= 0 {
				id0, id1 = ids[j], ids[len(ids)-1]
				if parent[j] >= 0 {
					id1 = ids[parent[j]]
				}
			}
			if rep == 0 && corrupt == 1 {
				id1 = id0
			} else if rep == 0 && corrupt == 2 && n > 1 && node[1] >= 0 {
				id0 = ids[node[1]]
			}
			for b := range obj {
				obj[b] = id0[0] ^ byte(b)
			}
			if r.IntN(200) == 0 {
				obj[(vo+32)%osz] ^= 0x80
			}
			copy(obj[vo:], id0[:])
			copy(obj[vo+16:], id1[:])
		}
	}
	return data
}

// naiveRanges is the definition Scan must meet: every object classified
// from kernel.Depths alone (Range's documented fields), alike neighbours
// merged.
func naiveRanges(data [][]byte, voters []int, objects int64, osz, vo, need int, verify bool) []replica.Range {
	var out []replica.Range
	vecs, depths := make([][]byte, len(voters)), make([]uint8, len(voters))
	for i := int64(0); i < objects; i++ {
		at := i * int64(osz)
		for k, v := range voters {
			vecs[k] = data[v][at+int64(vo) : at+int64(vo)+32]
		}
		g := replica.Range{First: i, Count: 1}
		res, err := kernel.Depths(vecs, depths)
		switch {
		case errors.Is(err, kernel.ErrConflict):
			g.Status = replica.Conflict
		case err != nil:
			g.Status = replica.Cyclic
		case res.Forked:
			g.Status = replica.SplitBrain
		case int(res.Length) < need:
			g.Status, g.Length = replica.NoQuorum, int(res.Length)
		default:
			g.Leader, g.Length = voters[res.Leader], int(res.Length)
			for d := 254; d >= 1; d-- { // lagging, deepest first
				for k := range voters {
					if int(depths[k]) == d {
						g.Order, g.Lagging = append(g.Order, voters[k]), g.Lagging+1
					}
				}
			}
			for k := range voters { // then outside the chain, by index
				if depths[k] == kernel.NotInChain {
					g.Order = append(g.Order, voters[k])
				}
			}
			lead := data[voters[res.Leader]][at : at+int64(osz)]
			for k, v := range voters {
				if verify && depths[k] == 0 && !slices.Equal(data[v][at:at+int64(osz)], lead) {
					g.Differ = append(g.Differ, v)
				}
			}
			if len(g.Differ) > 0 {
				g.Status = replica.Differ
			} else if len(g.Order) > 0 {
				g.Status = replica.Lagging
			}
		}
		if p := len(out) - 1; p >= 0 {
			q := g
			q.First, q.Count = out[p].First, out[p].Count
			if reflect.DeepEqual(norm(out[p]), norm(q)) {
				out[p].Count++
				continue
			}
		}
		out = append(out, g)
	}
	return out
}
