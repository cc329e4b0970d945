//go:build gc && !purego

package asm

// SmallMax is the most replicas Small takes (kernel/gen/neon's smallMax).
const SmallMax = 8

// SmallDecidesStrangers: Small decides objects of strangers itself, so
// the objects it hands back are not.
const SmallDecidesStrangers = true
