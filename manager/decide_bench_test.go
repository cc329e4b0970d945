package manager

import (
	"fmt"
	"sync"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// threeReplicas is one object on a, b and c: c one write behind.
func threeReplicas() ([][]byte, []NodeID) {
	v0, v1 := kernel.NewVector(), kernel.NewVector()
	id := kernel.NewID()
	copy(v1[:], v0[:])
	if err := kernel.Update(v1[:], id[:]); err != nil {
		panic(err)
	}
	return [][]byte{v1[:], v1[:], v0[:]}, []NodeID{"a", "b", "c"}
}

// Decide reads a published copy of the configuration: it runs beside
// changes without a data race, and each decision names an epoch that was
// in force and agrees with that epoch's configuration.
func TestDecideConcurrent(t *testing.T) {
	m := newManager(t, Rule{}, "a b c")
	vectors, replicas := threeReplicas()
	var wg sync.WaitGroup
	var decisions int
	wg.Go(func() {
		for range 200 {
			m.Apply(Change{Op: OpFail, ID: "c"})
			m.Apply(Change{Op: OpRecover, ID: "c"})
		}
	})
	for range 1000 {
		d, err := m.Decide(vectors, replicas)
		if err != nil || d.Verdict != Quorate || d.Epoch < 1 || d.Epoch > m.Config().Epoch {
			t.Fatalf("decision %+v, %v", d, err)
		}
		decisions++
	}
	wg.Wait()
	if got := m.Metrics().DecisionsQuorate; got != uint64(decisions) {
		t.Fatalf("metrics count %d decisions, made %d", got, decisions)
	}
}

// Manager.Decide at 3 replicas beside kernel.Roles on the same vectors,
// on one goroutine and on every CPU at once (no lock between callers).
func BenchmarkDecide(b *testing.B) {
	m, err := New(nil, config(b, Rule{}, "a b c").Nodes, Rule{})
	if err != nil {
		b.Fatal(err)
	}
	vectors, replicas := threeReplicas()
	b.Run("kernel.Roles", func(b *testing.B) {
		roles := make([]kernel.Role, 3)
		for b.Loop() {
			if _, err := kernel.Roles(vectors, roles); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Manager.Decide", func(b *testing.B) {
		for b.Loop() {
			if _, err := m.Decide(vectors, replicas); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Manager.Decide/parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := m.Decide(vectors, replicas); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
}

// duplicate names the same pair whether it compares (up to 16 IDs) or
// sorts: the lowest second index, then the lowest first.
func TestDuplicate(t *testing.T) {
	rng, seed := newRand(t)
	for round := range 2000 {
		ids := make([]NodeID, 1+rng.IntN(40))
		for k := range ids {
			ids[k] = NodeID(fmt.Sprint(rng.IntN(len(ids) * 2)))
		}
		wi, wj, want := 0, 0, false
	search:
		for j := range ids {
			for i := range j {
				if ids[i] == ids[j] {
					wi, wj, want = i, j, true
					break search
				}
			}
		}
		if i, j, found := duplicate(ids); found != want || i != wi || j != wj {
			t.Fatalf("seed %d round %d %v: duplicate = %d, %d, %v; want %d, %d, %v", seed, round, ids, i, j, found, wi, wj, want)
		}
	}
}
