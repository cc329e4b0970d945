package generic_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/generic"
	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/workload"
)

func TestAllocs(t *testing.T) {
	if suite.RaceEnabled {
		t.Skip("sync.Pool drops items under -race; make test runs this test without -race")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for name, sources := range map[string][][]byte{
		"fast": workload.Fast(rng, 128, 100, 32),
		"slow": workload.Slow(rng, 128, 100, 32),
	} {
		results := make([]generic.Result, 100)
		target := make([]byte, 3200)
		for calcName, calc := range map[string]suite.Calculate{"Calculate": generic.Calculate, "CalculateSlow": generic.CalculateSlow} {
			allocs := testing.AllocsPerRun(20, func() {
				if err := calc(sources, 0, 32, results, target); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%s on the %s workload: %v allocations per call, want 0", calcName, name, allocs)
			}
		}
	}
}

func FuzzCalculate(f *testing.F) {
	suite.AddFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, n, objects, objectSize, offset uint8, picks []byte) {
		suite.Fuzz(t, generic.Calculate, n, objects, objectSize, offset, picks)
		suite.Fuzz(t, generic.CalculateSlow, n, objects, objectSize, offset, picks)
	})
}
