// Package workload builds the original addon's benchmark inputs, shared by
// the benchmarks, the allocation tests and cmd/bench.
package workload

import (
	"math/rand/v2"
)

// Fast is the original benchmark's FAST workload: two random buffers a and
// b, replica i reading b when i%3 == 0 and a otherwise. Every object then
// holds two unrelated vectors, about two thirds of the replicas on one.
// The replicas alias two buffers, as in the original; see FastCopies.
func Fast(rng *rand.Rand, n, objects, objectSize int) [][]byte {
	a, b := Random(rng, objects*objectSize), Random(rng, objects*objectSize)
	sources := make([][]byte, n)
	for i := range sources {
		sources[i] = a
		if i%3 == 0 {
			sources[i] = b
		}
	}
	return sources
}

// FastCopies is Fast with every replica in its own buffer, as real replicas
// are: the same vectors, n times the memory to read.
func FastCopies(rng *rand.Rand, n, objects, objectSize int) [][]byte {
	sources := Fast(rng, n, objects, objectSize)
	for i, s := range sources {
		sources[i] = append([]byte(nil), s...)
	}
	return sources
}

// Slow is the original benchmark's SLOW workload: every replica random, so
// every object takes the slow path and ends in a split-brain (n > 1).
func Slow(rng *rand.Rand, n, objects, objectSize int) [][]byte {
	sources := make([][]byte, n)
	for i := range sources {
		sources[i] = Random(rng, objects*objectSize)
	}
	return sources
}

// Random returns size random bytes.
func Random(rng *rand.Rand, size int) []byte {
	b := make([]byte, size)
	for i := 0; i+8 <= size; i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := size &^ 7; i < size; i++ {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// Agree is the common case in production: every replica holds the same
// objects (one random buffer, copied into n distinct buffers).
func Agree(rng *rand.Rand, n, objects, objectSize int) [][]byte {
	one := Random(rng, objects*objectSize)
	sources := make([][]byte, n)
	for i := range sources {
		sources[i] = append([]byte(nil), one...)
	}
	return sources
}

// Staggered copies sources into one allocation, replica i's buffer at
// i*(len+64) bytes: one object's vectors then sit in cache lines of
// different L1 and L2 sets, unlike buffers from separate large
// allocations, which share their alignment and compete for one set.
func Staggered(sources [][]byte) [][]byte {
	size := len(sources[0])
	stride := size + 64
	all := make([]byte, len(sources)*stride)
	out := make([][]byte, len(sources))
	for i, s := range sources {
		out[i] = all[i*stride : i*stride+size : i*stride+size]
		copy(out[i], s)
	}
	return out
}

// Lagging is the storage engine's usual repair: every replica holds the same
// objects except the last, one write behind on each (its vector is the
// others' ID1 followed by a random ID1), each replica in its own buffer.
// Every object then holds two vectors, one built on the other.
func Lagging(rng *rand.Rand, n, objects, objectSize int) [][]byte {
	sources := Agree(rng, n, objects, objectSize)
	if n < 2 {
		return sources
	}
	last := sources[n-1]
	for o := range objects {
		v := last[o*objectSize : o*objectSize+32]
		copy(v[:16], v[16:]) // ID0 := the others' ID1
		copy(v[16:], Random(rng, 16))
	}
	return sources
}
