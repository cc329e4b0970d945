//go:build gc && !purego

package asm

import "golang.org/x/sys/cpu"

// Name is the implementation this package provides on arm64.
const Name = "neon"

// Available reports whether this CPU can run it. Every ARMv8 core has
// ASIMD; the check guards against an OS or emulator that hides it.
func Available() bool { return cpu.ARM64.HasASIMD }
