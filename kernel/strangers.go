package kernel

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// The slow path's commonest object beyond two vectors is one of strangers:
// every ID0 distinct and no ID1 any replica's ID0 (the original's SLOW
// benchmark; a replica restored from elsewhere, replicas that never
// synced). Every node then totals 1, so with two or more replicas the
// object is a split-brain. strangers proves that from the IDs' first 8
// bytes alone, without building the graph: equal prefixes of distinct IDs
// only send the object on to the graph, so the test is exact.
//
// A Bloom filter of one bit per ID0 prefix, 64 bits per replica, screens
// the lookups: a clear bit proves a prefix new (or an ID1 no ID0), and
// only a set bit (a repeat, or about one lookup in 64 by chance) costs a
// scan of the prefixes seen. Against the graph's hash table it stores no
// vectors, probes nothing and has no chains to walk: at 128 replicas about
// a fifth of the graph's cost.

// strangersMax is the most replicas whose scratch lives on the stack.
const strangersMax = smallN

// bloomWords is the filter's size for n replicas: 64 bits per replica,
// rounded up to a power of two so that a bit's index is a shift.
func bloomWords(n int) int { return 1 << bits.Len(uint(n-1)) }

// strangersResult decides an object proven to be all strangers.
func strangersResult(n int) Result {
	if n == 1 {
		return Result{Length: 1}
	}
	return Result{Forked: true} // n chains of 1: all tie
}

// quorumStrangers decides an object of up to strangersMax replicas if it
// is one of strangers, with its scratch on the stack.
func quorumStrangers(sources [][]byte, off int) (Result, bool) {
	var lo0, lo1, bloom [strangersMax]uint64
	if !strangersOne(sources, off, lo0[:], lo1[:], bloom[:bloomWords(len(sources))]) {
		return Result{}, false
	}
	return strangersResult(len(sources)), true
}

// strangers reports whether the object at byte off of every source is all
// strangers, judged by the IDs' first 8 bytes: lo0 and lo1 receive the ID0
// and ID1 prefixes (room for one per source); bloom is the filter, a power of two of words
// at least len(sources)/64, cleared here. False means only "not proven":
// the graph decides such an object, cycles and conflicts included (a
// self-dependent vector or a repeated ID0 has a repeated prefix).
func strangers(sources [][]byte, off int, lo0, lo1, bloom []uint64) bool {
	clear(bloom)
	mask := uint64(len(bloom)*64 - 1)
	lo0, lo1 = lo0[:len(sources)], lo1[:len(sources)]
	for r, s := range sources {
		v := s[off : off+VectorSize : off+VectorSize]
		x := binary.LittleEndian.Uint64(v[0:])
		lo1[r] = binary.LittleEndian.Uint64(v[16:])
		h := x * bloomMul
		h1, h2 := (h>>50)&mask, (h>>36)&mask
		w1, b1, w2, b2 := h1>>6, uint64(1)<<(h1&63), h2>>6, uint64(1)<<(h2&63)
		if bloom[w1]&b1 != 0 && bloom[w2]&b2 != 0 && slices.Contains(lo0[:r], x) {
			return false // a repeated ID0 prefix
		}
		bloom[w1] |= b1
		bloom[w2] |= b2
		lo0[r] = x
	}
	for _, y := range lo1 {
		h := y * bloomMul
		h1, h2 := (h>>50)&mask, (h>>36)&mask
		if bloom[h1>>6]&(1<<(h1&63)) != 0 && bloom[h2>>6]&(1<<(h2&63)) != 0 && slices.Contains(lo0, y) {
			return false // an ID1 prefix that is some ID0's: a link, or ID0 == ID1
		}
	}
	return true
}

// gatherPrefixes loads every source's ID0 and ID1 prefixes into lo0 and
// lo1 before the filter sees any: the loads are independent, so their
// cache misses overlap, where a filter updated between them would make
// each wait for the update before it (an update reads, modifies and
// writes back a word, and with one word for 64 bits a replica, two
// updates of an object often share one). strangersOne gains from it
// (SLOW at 16 replicas 109 -> 88 ns); strangers, with twice the words and
// twice the updates, measured no better at 128 and worse at 32 (219
// against 183 ns), so it loads as it goes.
func gatherPrefixes(sources [][]byte, off int, lo0, lo1 []uint64) {
	lo0, lo1 = lo0[:len(sources)], lo1[:len(sources)]
	for r, s := range sources {
		v := s[off : off+VectorSize : off+VectorSize]
		lo0[r] = binary.LittleEndian.Uint64(v[0:])
		lo1[r] = binary.LittleEndian.Uint64(v[16:])
	}
}

// strangersOne is strangers with one bit per prefix, cheaper at a few
// replicas, where a chance hit costs a scan of at most strangersMax
// prefixes: the ID1 prefixes are read again from the sources, which are in
// L1 by then.
func strangersOne(sources [][]byte, off int, lo0, lo1, bloom []uint64) bool {
	gatherPrefixes(sources, off, lo0, lo1)
	lo0, lo1 = lo0[:len(sources)], lo1[:len(sources)]
	clear(bloom)
	mask := uint64(len(bloom)*64 - 1)
	for r, x := range lo0 {
		h := ((x * bloomMul) >> 50) & mask
		w, b := h>>6, uint64(1)<<(h&63)
		if bloom[w]&b != 0 && slices.Contains(lo0[:r], x) {
			return false // a repeated ID0 prefix
		}
		bloom[w] |= b
	}
	for _, y := range lo1 {
		h := ((y * bloomMul) >> 50) & mask
		if bloom[h>>6]&(1<<(h&63)) != 0 && slices.Contains(lo0, y) {
			return false // an ID1 prefix that is some ID0's: a link, or ID0 == ID1
		}
	}
	return true
}

// bloomMul spreads a prefix over the filter: its two bits are two
// ranges of the product's top bits, so that prefixes differing only high
// still spread.
const bloomMul = 0x9e3779b97f4a7c15
