//go:build gc && !purego

package asm

import "golang.org/x/sys/cpu"

// Name is the implementation this package provides on amd64.
const Name = "avx2"

// Available reports whether this CPU (and OS) can run it.
func Available() bool { return cpu.X86.HasAVX2 && cpu.X86.HasPOPCNT }
