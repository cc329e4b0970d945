package kernel_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// CalculateParallel must give Calculate's results, target and error, with
// the bad object anywhere relative to the workers' ranges.
func TestCalculateParallel(t *testing.T) {
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	const objects = 5000
	for round := range suite.Rounds(16) {
		n := 1 + rng.IntN(9)
		shapes := testvectors.Shapes
		if round%2 == 0 {
			shapes = nil // no invalid objects
		}
		sources := testvectors.Batch(rng, n, objects, 32, 0, shapes...)
		want := make([]kernel.Result, objects)
		wantTarget := make([]byte, objects*32)
		wantErr := kernel.Calculate(sources, 0, 32, want, wantTarget)
		for _, workers := range []int{0, 1, 2, 3, 4} {
			got := make([]kernel.Result, objects)
			gotTarget := make([]byte, objects*32)
			err := kernel.CalculateParallel(sources, 0, 32, got, gotTarget, workers)
			var we, ge *kernel.ObjectError
			if (wantErr == nil) != (err == nil) || (wantErr != nil && (!errors.As(wantErr, &we) || !errors.As(err, &ge) || *we != *ge)) {
				t.Fatalf("seed %d round %d workers %d: err %v, Calculate %v", seed, round, workers, err, wantErr)
			}
			end := objects
			if we != nil {
				end = we.Index // the bad object and later ones may differ
			}
			for o := range end {
				if got[o] != want[o] {
					t.Fatalf("seed %d round %d workers %d object %d: %+v, Calculate %+v", seed, round, workers, o, got[o], want[o])
				}
			}
			if !bytes.Equal(gotTarget[:end*32], wantTarget[:end*32]) {
				t.Fatalf("seed %d round %d workers %d: target differs", seed, round, workers)
			}
		}
	}
}

func TestCalculateParallelArguments(t *testing.T) {
	err := kernel.CalculateParallel([][]byte{make([]byte, 64)}, 0, 31, make([]kernel.Result, 2), nil, 2)
	if err == nil {
		t.Fatal("objectSize 31 accepted")
	}
}

// Calculate is safe for concurrent use: goroutines sharing sources (and the
// slow path's pool) get the answers one goroutine gets. Run under -race.
func TestConcurrentCalculate(t *testing.T) {
	rng := rand.New(rand.NewPCG(suite.Seed(t), 9))
	sources := testvectors.Batch(rng, 7, 400, 40, 3)
	want := make([]kernel.Result, 400)
	if err := kernel.Calculate(sources, 3, 40, want, nil); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			got := make([]kernel.Result, 400)
			target := make([]byte, 400*40)
			for range suite.Rounds(20) {
				if err := kernel.Calculate(sources, 3, 40, got, target); err != nil {
					errs <- err
					return
				}
				if !slices.Equal(got, want) {
					errs <- errors.New("results differ from a lone goroutine's")
					return
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
