//go:build unix

package kernel_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
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
	t.Logf("seed %d", seed) // shown on failure
	rng := rand.New(rand.NewPCG(seed, 8))
	type layout struct{ objectSize, offset, n int }
	var layouts []layout
	for offset := 0; offset <= 47-32; offset++ { // every offset of an odd size
		layouts = append(layouts, layout{47, offset, 1 + offset%4}, layout{47, offset, 9})
	}
	for _, objectSize := range []int{32, 33, 64, 4096 + 1} {
		for _, n := range []int{1, 2, 3, 5, 9, 16, 17, 128, 255} {
			offset := rng.IntN(objectSize - 31)
			if rng.IntN(3) == 0 {
				offset = objectSize - 32 // the vector's last byte is the last before the guard
			}
			layouts = append(layouts, layout{objectSize, offset, n})
		}
	}
	for _, name := range kernel.Implementations() {
		for _, l := range layouts {
			guarded(t, name, rng, l.n, 1+rng.IntN(4), l.objectSize, l.offset)
		}
	}
}

// guarded runs one batch with guarded sources and target and compares it
// with generic on plain memory.
func guarded(t *testing.T, name string, rng *rand.Rand, n, objects, objectSize, offset int) {
	t.Helper()
	plain := testvectors.Batch(rng, n, objects, objectSize, offset, testvectors.Shapes...)
	sources := make([][]byte, n)
	var bufs []*guard.Buffer
	defer func() {
		for _, b := range bufs {
			b.Free()
		}
	}()
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
	bufs = append(bufs, tb)
	results := make([]kernel.Result, objects)
	err = kernel.CalculateWith(name, sources, offset, objectSize, results, tb.Bytes)
	want := make([]kernel.Result, objects)
	wantTarget := make([]byte, objects*objectSize)
	wantErr := kernel.CalculateWith("generic", plain, offset, objectSize, want, wantTarget)
	if fmt.Sprint(err) != fmt.Sprint(wantErr) {
		t.Fatalf("%s n=%d size=%d offset=%d: err %v, generic %v", name, n, objectSize, offset, err, wantErr)
	}
	if err == nil && (!slices.Equal(results, want) || !bytes.Equal(tb.Bytes, wantTarget)) {
		t.Fatalf("%s n=%d size=%d offset=%d: differs from generic", name, n, objectSize, offset)
	}
}
