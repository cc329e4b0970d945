//go:build unix

package kernel_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/guard"
	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/internal/workload"
	"github.com/lockstep/quorum/kernel"
)

// wantErr is the sentinel an object's reference error kind maps to.
func wantErr(k testvectors.ErrKind) error {
	switch k {
	case testvectors.Cyclic:
		return kernel.ErrCyclic
	case testvectors.Conflict:
		return kernel.ErrConflict
	}
	return nil
}

// depthsOf is each replica's distance behind the leader, from the
// reference's roles: follow ID1 links down from the leader's state (a
// valid object has one ID1 per ID0) until the replica's own state.
func depthsOf(vectors [][]byte, r kernel.Result, roles []int) []uint8 {
	dep := map[string]string{}
	for _, v := range vectors {
		dep[string(v[:16])] = string(v[16:])
	}
	out := make([]uint8, len(vectors))
	for i, v := range vectors {
		out[i] = kernel.NotInChain
		if roles[i] == testvectors.RoleOutside {
			continue
		}
		d, id := uint8(0), string(vectors[r.Leader][:16])
		for id != string(v[:16]) {
			id, d = dep[id], d+1
		}
		out[i] = d
	}
	return out
}

// checkObject compares Quorum and Roles on one object with the reference
// model and with Calculate.
func checkObject(t *testing.T, vectors [][]byte, context func() string) {
	t.Helper()
	want, wantRoles := testvectors.ReferenceRoles(vectors)
	got, err := kernel.Quorum(vectors)
	if !errors.Is(err, wantErr(want.Err)) || (err == nil) != (want.Err == testvectors.OK) {
		t.Fatalf("%s: Quorum error %v, reference %v", context(), err, want.Err)
	}
	roles := make([]kernel.Role, len(vectors)+1)
	for i := range roles {
		roles[i] = 99
	}
	gotR, errR := kernel.Roles(vectors, roles)
	if !errors.Is(errR, wantErr(want.Err)) || (errR == nil) != (err == nil) {
		t.Fatalf("%s: Roles error %v, reference %v", context(), errR, want.Err)
	}
	if _, errD := kernel.Depths(vectors, make([]uint8, len(vectors))); !errors.Is(errD, wantErr(want.Err)) || (errD == nil) != (err == nil) {
		t.Fatalf("%s: Depths error %v, reference %v", context(), errD, want.Err)
	}
	if err != nil {
		for i, r := range roles {
			if r != 99 {
				t.Fatalf("%s: Roles wrote replica %d's role on an error", context(), i)
			}
		}
		return
	}
	wantResult := kernel.Result{Leader: uint8(want.Leader), Length: uint8(want.Length), Repair: uint8(want.Repair), Forked: want.Forked}
	if got != wantResult || gotR != wantResult {
		t.Fatalf("%s: Quorum %+v, Roles %+v, reference %+v", context(), got, gotR, wantResult)
	}
	// Every implementation, on the same vectors as a one-object batch.
	results := make([]kernel.Result, 1)
	for _, name := range kernel.Implementations() {
		if err := kernel.CalculateWith(name, vectors, 0, kernel.VectorSize, results, nil); err != nil || results[0] != got {
			t.Fatalf("%s: %s gives %+v (%v), Quorum %+v", context(), name, results[0], err, got)
		}
	}
	for i := range vectors {
		if int(roles[i]) != wantRoles[i] {
			t.Fatalf("%s: replica %d role %v, reference %d", context(), i, roles[i], wantRoles[i])
		}
	}
	if roles[len(vectors)] != 99 {
		t.Fatalf("%s: Roles wrote past the last replica", context())
	}
	depths := make([]uint8, len(vectors)+1)
	depths[len(vectors)] = 99
	if r, err := kernel.Depths(vectors, depths); err != nil || r != got {
		t.Fatalf("%s: Depths %+v (%v), Quorum %+v", context(), r, err, got)
	}
	wantDepths := depthsOf(vectors, got, wantRoles)
	for i := range vectors {
		if depths[i] != wantDepths[i] {
			t.Fatalf("%s: replica %d depth %d, want %d (role %d)", context(), i, depths[i], wantDepths[i], wantRoles[i])
		}
	}
	if depths[len(vectors)] != 99 {
		t.Fatalf("%s: Depths wrote past the last replica", context())
	}
}

// Quorum and Roles at every N from 1 to 255, on adversarial objects (two
// vectors in every relation, mixes that fool per-lane counts, errors) and
// on the reference's history shapes, each vector ending at a guard page so
// a read past it faults; every implementation must agree with them.
func TestQuorum(t *testing.T) {
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 11))
	gen := suite.NewAdversary(rng)
	rounds := suite.Rounds(24)
	for n := kernel.SourcesMin; n <= kernel.SourcesMax; n++ {
		for round := range rounds {
			var vectors [][]byte
			if round%3 == 2 {
				vectors = testvectors.Object(rng, n, testvectors.Shapes[rng.IntN(len(testvectors.Shapes))])
			} else {
				vectors = gen.Object(n, round%2 == 1)
			}
			if round == 0 {
				vectors = guardedVectors(t, vectors)
			}
			checkObject(t, vectors, func() string {
				return fmt.Sprintf("seed %d n=%d round %d", seed, n, round)
			})
		}
	}
}

// guardedVectors copies each vector into its own buffer that ends at a
// guard page, unmapped when the test ends.
func guardedVectors(t *testing.T, vectors [][]byte) [][]byte {
	out, _ := guardedEach(t, vectors)
	return out
}

// guardedEach copies each vector into its own read-only buffer that ends
// at a guard page; free unmaps them all, as the test's end does if it has
// not.
func guardedEach(t *testing.T, vectors [][]byte) (out [][]byte, free func()) {
	t.Helper()
	var bufs []*guard.Buffer
	free = func() {
		for _, b := range bufs {
			b.Free()
		}
		bufs = nil
	}
	t.Cleanup(free) // after a failure too, so that later tests can still map theirs
	for _, v := range vectors {
		b, err := guard.New(kernel.VectorSize)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
		copy(b.Bytes, v)
		if err := b.ReadOnly(); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes)
	}
	return out, free
}

func TestQuorumArguments(t *testing.T) {
	for _, c := range []struct {
		vectors [][]byte
		want    string
	}{
		{nil, "vectors must hold"},
		{make([][]byte, 256), "vectors must hold"},
		{[][]byte{make([]byte, 31)}, "vectors[0] has length 31"},
		{append(suite.Letters("B/A"), make([]byte, 33)), "vectors[1] has length 33"},
	} {
		if _, err := kernel.Quorum(c.vectors); !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Quorum: err = %v, want ErrInvalid naming %q", err, c.want)
		}
		if _, err := kernel.Depths(c.vectors, make([]uint8, 256)); !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Depths: err = %v, want ErrInvalid naming %q", err, c.want)
		}
	}
	if _, err := kernel.Depths(suite.Letters("B/A B/A"), make([]uint8, 1)); !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), "depths has room for 1") {
		t.Errorf("Depths with a short depths: %v", err)
	}
}

// vectorsOf is object o of a workload's sources, as a read path holds it.
func vectorsOf(sources [][]byte, o int) [][]byte {
	vectors := make([][]byte, len(sources))
	for r, s := range sources {
		vectors[r] = s[o*kernel.VectorSize : (o+1)*kernel.VectorSize]
	}
	return vectors
}

func TestQuorumAllocs(t *testing.T) {
	if suite.RaceEnabled {
		t.Skip("sync.Pool drops items under -race; make test runs this test without -race")
	}
	rng := rand.New(rand.NewPCG(1, 4))
	roles := make([]kernel.Role, 128)
	for name, sources := range map[string][][]byte{
		"agree/3":  workload.Agree(rng, 3, 1, 32),
		"fast/3":   workload.Fast(rng, 3, 1, 32),
		"slow/3":   workload.Slow(rng, 3, 1, 32),
		"slow/16":  workload.Slow(rng, 16, 1, 32),
		"fast/128": workload.Fast(rng, 128, 1, 32),
		"slow/128": workload.Slow(rng, 128, 1, 32),
	} {
		vectors := vectorsOf(sources, 0)
		for fn, call := range map[string]func() error{
			"Quorum": func() error { _, err := kernel.Quorum(vectors); return err },
			"Roles":  func() error { _, err := kernel.Roles(vectors, roles); return err },
		} {
			if allocs := testing.AllocsPerRun(50, func() {
				if err := call(); err != nil {
					t.Fatal(err)
				}
			}); allocs != 0 {
				t.Errorf("%s on the %s workload: %v allocations per call, want 0", fn, name, allocs)
			}
		}
	}
}

// One object per call, as a read path calls the kernel: Quorum and Roles
// on the vectors, and Calculate on a batch of one object, beside Calculate
// on the whole batch; each in ns per object. Every call is on the next of
// 1000 objects, so nothing is learnt from repeating one.
func BenchmarkOneObject(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 5))
	for _, wl := range []struct {
		name  string
		build func(*rand.Rand, int, int, int) [][]byte
	}{{"AGREE", workload.Agree}, {"FAST", workload.Fast}, {"SLOW", workload.Slow}} {
		for _, n := range []int{2, 3, 4, 5, 8, 16, 128} {
			const objects = 1000
			sources := wl.build(rng, n, objects, kernel.VectorSize)
			all := make([][][]byte, objects)
			for o := range all {
				all[o] = vectorsOf(sources, o)
			}
			results := make([]kernel.Result, objects)
			roles := make([]kernel.Role, n)
			target := make([]byte, objects*kernel.VectorSize)
			name := func(call string) string { return fmt.Sprintf("%s/%s/replicas=%d", call, wl.name, n) }
			perObject := func(b *testing.B) {
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*objects), "ns/object")
			}
			// Each loop calls the function itself: through a closure it
			// could not be inlined, as it is in a caller's loop.
			b.Run(name("Batch"), func(b *testing.B) {
				for b.Loop() {
					if err := kernel.Calculate(sources, 0, kernel.VectorSize, results, target); err != nil {
						b.Fatal(err)
					}
				}
				perObject(b)
			})
			b.Run(name("Quorum"), func(b *testing.B) {
				for b.Loop() {
					for o, vectors := range all {
						r, err := kernel.Quorum(vectors)
						if err != nil {
							b.Fatal(err)
						}
						results[o] = r
					}
				}
				perObject(b)
			})
			b.Run(name("Roles"), func(b *testing.B) {
				for b.Loop() {
					for o, vectors := range all {
						r, err := kernel.Roles(vectors, roles)
						if err != nil {
							b.Fatal(err)
						}
						results[o] = r
					}
				}
				perObject(b)
			})
			b.Run(name("Calculate"), func(b *testing.B) {
				for b.Loop() {
					for o, vectors := range all {
						if err := kernel.Calculate(vectors, 0, kernel.VectorSize, results[o:o+1], target[32*o:32*o+32]); err != nil {
							b.Fatal(err)
						}
					}
				}
				perObject(b)
			})
		}
	}
}

// Batches of a few objects through each implementation, in ns per object:
// where the assembly's per-call set-up stops paying, which Calculate's
// choice for small batches follows.
func BenchmarkSmallBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 6))
	for _, n := range []int{2, 3, 5, 8, 16, 32} {
		for _, objects := range []int{1, 2, 4, 8, 16} {
			sources := workload.Fast(rng, n, objects, kernel.VectorSize)
			results := make([]kernel.Result, objects)
			for _, name := range append(kernel.Implementations(), "Calculate") {
				b.Run(fmt.Sprintf("%s/replicas=%d/objects=%d", name, n, objects), func(b *testing.B) {
					for b.Loop() {
						var err error
						if name == "Calculate" {
							err = kernel.Calculate(sources, 0, kernel.VectorSize, results, nil)
						} else {
							err = kernel.CalculateWith(name, sources, 0, kernel.VectorSize, results, nil)
						}
						if err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*objects), "ns/object")
				})
			}
		}
	}
}
