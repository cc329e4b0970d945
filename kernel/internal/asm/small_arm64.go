//go:build gc && !purego

package asm

// SmallMax is the most replicas Small takes: none on arm64, where NEON has
// no Small and the driver runs Fast at every replica count.
const SmallMax = 0

// Small is Fast on arm64 (never called while SmallMax is 0).
func Small(ptrs **byte, n, vectorOffset, objectSize, from, to int, results *uint32, target *byte) int {
	return Fast(ptrs, n, vectorOffset, objectSize, from, to, results, target)
}

// SmallDecidesStrangers: Small decides objects of strangers itself (moot
// while SmallMax is 0).
const SmallDecidesStrangers = false
