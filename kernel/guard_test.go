//go:build unix

package kernel_test

import (
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/internal/guard"
	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// Every implementation on sources and targets that end exactly at a guard
// page (sources read-only): any access outside the slices faults. Objects
// switch between fast and slow path, and some batches end in a bad object.
func TestGuardPages(t *testing.T) {
	seed := suite.Seed(t)
	rng := rand.New(rand.NewPCG(seed, 8))
	for _, name := range kernel.Implementations() {
		calc := with(name)
		for _, objectSize := range []int{32, 33, 47, 64, 4096 + 1} {
			for _, n := range []int{1, 2, 3, 5, 17, 255} {
				offset := rng.IntN(objectSize - 31)
				if rng.IntN(3) == 0 {
					offset = objectSize - 32 // the vector is the last byte before the guard
				}
				objects := 1 + rng.IntN(4)
				plain := testvectors.Batch(rng, n, objects, objectSize, offset, testvectors.Shapes...)
				sources := make([][]byte, n)
				var bufs []*guard.Buffer
				for i, p := range plain {
					b, err := guard.New(len(p))
					if err != nil {
						t.Fatal(err)
					}
					bufs = append(bufs, b)
					copy(b.Bytes, p)
					if err := b.ReadOnly(); err != nil {
						t.Fatal(err)
					}
					sources[i] = b.Bytes
				}
				tb, err := guard.New(objects * objectSize)
				if err != nil {
					t.Fatal(err)
				}
				results := make([]kernel.Result, objects)
				err = calc(sources, offset, objectSize, results, tb.Bytes)
				// Compare with generic on plain memory: same answer.
				want := make([]kernel.Result, objects)
				wantErr := kernel.CalculateWith("generic", plain, offset, objectSize, want, make([]byte, objects*objectSize))
				if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
					t.Fatalf("%s seed %d n=%d size=%d offset=%d: err %v, generic %v", name, seed, n, objectSize, offset, err, wantErr)
				}
				if err == nil {
					for o := range want {
						if results[o] != want[o] {
							t.Fatalf("%s seed %d n=%d size=%d offset=%d object %d: %+v, generic %+v", name, seed, n, objectSize, offset, o, results[o], want[o])
						}
					}
				}
				for _, b := range append(bufs, tb) {
					b.Free()
				}
			}
		}
	}
}
