package kernel_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/workload"
	"github.com/lockstep/quorum/kernel"
)

// with adapts one named implementation to the suite's signature.
func with(name string) suite.Calculate {
	return func(sources [][]byte, vectorOffset, objectSize int, results []kernel.Result, target []byte) error {
		return kernel.CalculateWith(name, sources, vectorOffset, objectSize, results, target)
	}
}

// Every implementation this machine can run passes the same suite.
func TestImplementations(t *testing.T) {
	for _, name := range kernel.Implementations() {
		t.Run(name, func(t *testing.T) { suite.Run(t, with(name)) })
	}
	t.Run("Calculate", func(t *testing.T) { suite.Run(t, kernel.Calculate) })
}

// QUORUM_TEST_REQUIRE names the implementation CI expects on its machine,
// so a dispatch bug cannot fall back to generic and still pass.
func TestRequiredImplementation(t *testing.T) {
	want := os.Getenv("QUORUM_TEST_REQUIRE")
	t.Logf("implementation %q, available %v", kernel.Implementation(), kernel.Implementations())
	if want != "" && kernel.Implementation() != want {
		t.Fatalf("implementation is %q, QUORUM_TEST_REQUIRE wants %q (available: %v)", kernel.Implementation(), want, kernel.Implementations())
	}
}

func TestCalculateWithUnknown(t *testing.T) {
	err := kernel.CalculateWith("sse9", [][]byte{make([]byte, 32)}, 0, 32, make([]kernel.Result, 1), nil)
	if err == nil {
		t.Fatal("unknown implementation accepted")
	}
}

func TestAllocs(t *testing.T) {
	if suite.RaceEnabled {
		t.Skip("sync.Pool drops items under -race; make test runs this test without -race")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	workloads := map[string][][]byte{
		"fast": workload.Fast(rng, 128, 100, 32),
		"slow": workload.Slow(rng, 128, 100, 32),
	}
	results := make([]kernel.Result, 100)
	target := make([]byte, 3200)
	calcs := map[string]suite.Calculate{"slow path": kernel.CalculateSlow}
	for _, name := range kernel.Implementations() {
		calcs[name] = with(name)
	}
	for name, calc := range calcs {
		for wl, sources := range workloads {
			allocs := testing.AllocsPerRun(20, func() {
				if err := calc(sources, 0, 32, results, target); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s on the %s workload: %v allocations per call, want 0", name, wl, allocs)
			}
		}
	}
}

// Each implementation and the slow path against the reference model, and each assembly
// kernel against generic byte for byte, on arbitrary inputs.
func FuzzImplementations(f *testing.F) {
	suite.AddFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, n, objects, objectSize, offset uint8, picks []byte) {
		for _, name := range kernel.Implementations() {
			suite.Fuzz(t, with(name), n, objects, objectSize, offset, picks)
		}
		suite.Fuzz(t, kernel.CalculateSlow, n, objects, objectSize, offset, picks)
		sources, off, size := suite.FuzzSources(n, objects, objectSize, offset, picks)
		want := make([]kernel.Result, objects)
		wantTarget := make([]byte, int(objects)*max(size, 0))
		wantErr := kernel.CalculateWith("generic", sources, off, size, want, wantTarget)
		for _, name := range kernel.Implementations() {
			got := make([]kernel.Result, objects)
			gotTarget := make([]byte, len(wantTarget))
			err := kernel.CalculateWith(name, sources, off, size, got, gotTarget)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Fatalf("%s: error %v, generic %v", name, err, wantErr)
			}
			if err == nil && (!slices.Equal(got, want) || !bytes.Equal(gotTarget, wantTarget)) {
				t.Fatalf("%s differs from generic", name)
			}
		}
		checkQuorumOnBatch(t, sources, off, size, want, wantErr)
	})
}

// checkQuorumOnBatch: Quorum on each object's vectors gives the batch's
// result, up to and including the bad object that stopped the batch.
func checkQuorumOnBatch(t *testing.T, sources [][]byte, off, size int, want []kernel.Result, batchErr error) {
	t.Helper()
	if errors.Is(batchErr, kernel.ErrInvalid) {
		return
	}
	decided, bad := len(want), -1 // objects with a result; the bad object
	var oe *kernel.ObjectError
	if errors.As(batchErr, &oe) {
		decided, bad = oe.Index, oe.Index
	}
	vectors := make([][]byte, len(sources))
	for o := range max(decided, bad+1) {
		for r, s := range sources {
			vectors[r] = s[o*size+off : o*size+off+kernel.VectorSize]
		}
		r, err := kernel.Quorum(vectors)
		switch {
		case o == bad && !errors.Is(err, oe.Err):
			t.Fatalf("object %d: Quorum error %v, batch %v", o, err, oe.Err)
		case o < decided && (err != nil || r != want[o]):
			t.Fatalf("object %d: Quorum %+v (%v), batch %+v", o, r, err, want[o])
		}
	}
}

// The original benchmark's workloads, at the original's sizes.
func BenchmarkCalculate(b *testing.B) {
	const objects, objectSize = 1000, 32
	rng := rand.New(rand.NewPCG(1, 2))
	results := make([]kernel.Result, objects)
	target := make([]byte, objects*objectSize)
	for _, name := range kernel.Implementations() {
		for _, wl := range []struct {
			name  string
			build func(*rand.Rand, int, int, int) [][]byte
		}{
			{"FAST", workload.Fast}, {"FASTcopies", workload.FastCopies}, {"AGREE", workload.Agree},
			{"AGREEstaggered", func(rng *rand.Rand, n, objects, size int) [][]byte {
				return workload.Staggered(workload.Agree(rng, n, objects, size))
			}},
			{"SLOW", workload.Slow},
			{"SLOWstaggered", func(rng *rand.Rand, n, objects, size int) [][]byte {
				return workload.Staggered(workload.Slow(rng, n, objects, size))
			}},
		} {
			for _, n := range []int{1, 2, 3, 4, 8, 16, 32, 64, 128, 255} {
				b.Run(fmt.Sprintf("%s/%s/replicas=%d", name, wl.name, n), func(b *testing.B) {
					sources := wl.build(rng, n, objects, objectSize)
					b.SetBytes(int64(n * objects * objectSize))
					for b.Loop() {
						if err := kernel.CalculateWith(name, sources, 0, objectSize, results, target); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*objects), "ns/object")
				})
			}
		}
	}
}

// The ratio benchmarks' batches: the original benchmark's 1000 objects of
// 32 bytes, as in BenchmarkCalculate.
const ratioObjects, ratioObjectSize = 1000, 32

// batchTimer returns a function that times one Calculate of a ratio
// benchmark's batch, into results and a target it keeps.
func batchTimer() func(b *testing.B, sources [][]byte) time.Duration {
	results := make([]kernel.Result, ratioObjects)
	target := make([]byte, ratioObjects*ratioObjectSize)
	return func(b *testing.B, sources [][]byte) time.Duration {
		start := time.Now()
		if err := kernel.Calculate(sources, 0, ratioObjectSize, results, target); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
}

// median sorts xs and returns its middle value.
func median(xs []float64) float64 {
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// Each workload's batch timed back to back with AGREE's, pair after pair,
// reporting the median of the pairs' ratios (x-AGREE): the cost of
// two-vector objects (and SLOW's) as a multiple of agreed ones', with a
// noisy machine's slow spells in both halves of a pair.
func BenchmarkPairedRatios(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 7))
	run := batchTimer()
	for _, n := range []int{2, 3, 4, 5, 8, 16} {
		agree := workload.Agree(rng, n, ratioObjects, ratioObjectSize)
		for _, wl := range []struct {
			name  string
			build func(*rand.Rand, int, int, int) [][]byte
		}{{"FAST", workload.Fast}, {"FASTCOPIES", workload.FastCopies}, {"LAGGING", workload.Lagging}, {"SLOW", workload.Slow}} {
			sources := wl.build(rng, n, ratioObjects, ratioObjectSize)
			b.Run(fmt.Sprintf("%s/replicas=%d", wl.name, n), func(b *testing.B) {
				var ratios []float64
				for b.Loop() {
					base := run(b, agree)
					ratios = append(ratios, float64(run(b, sources))/float64(base))
				}
				b.ReportMetric(median(ratios), "x-AGREE")
			})
		}
	}
}

// BenchmarkPairedRatios's ratios with AGREE, FAST, FASTCOPIES and LAGGING
// timed in turn, so that each batch follows three others' and starts
// partly out of cache (over 800 KB in all at 8 replicas): each workload's
// median ratio to the AGREE batch of the same turn.
func BenchmarkRatiosInTurn(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 8))
	run := batchTimer()
	names := []string{"FAST", "FASTCOPIES", "LAGGING"}
	for _, n := range []int{2, 3, 4, 5, 8} {
		agree := workload.Agree(rng, n, ratioObjects, ratioObjectSize)
		var others [][][]byte
		for _, build := range []func(*rand.Rand, int, int, int) [][]byte{workload.Fast, workload.FastCopies, workload.Lagging} {
			others = append(others, build(rng, n, ratioObjects, ratioObjectSize))
		}
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			ratios := make([][]float64, len(others))
			for b.Loop() {
				base := run(b, agree)
				for i, sources := range others {
					ratios[i] = append(ratios[i], float64(run(b, sources))/float64(base))
				}
			}
			for i, r := range ratios {
				b.ReportMetric(median(r), names[i]+"-x-AGREE")
			}
		})
	}
}

// One large batch, 64 MiB per replica, on one goroutine and spread over
// workers: the speed-up of CalculateParallel.
func BenchmarkCalculateParallel(b *testing.B) {
	const replicaSize = 64 << 20
	rng := rand.New(rand.NewPCG(1, 3))
	for _, objectSize := range []int{32, 4096} {
		objects := replicaSize / objectSize
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("objectSize=%d/workers=%d", objectSize, workers), func(b *testing.B) {
				sources := workload.FastCopies(rng, 3, objects, objectSize)
				results := make([]kernel.Result, objects)
				target := make([]byte, replicaSize)
				b.SetBytes(3 * replicaSize)
				for b.Loop() {
					if err := kernel.CalculateParallel(sources, 0, objectSize, results, target, workers); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*objects), "ns/object")
			})
		}
	}
}
