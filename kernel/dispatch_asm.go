//go:build (amd64 || arm64) && gc && !purego

package kernel

import (
	"unsafe"

	"github.com/lockstep/quorum/kernel/internal/asm"
)

// asmImplementations is the assembly kernel, if this CPU can run it.
func asmImplementations() []implementation {
	if !asm.Available() {
		return nil
	}
	return []implementation{{name: asm.Name, calculate: calculateAsm}}
}

// calculateAsm is calculateGeneric with the fast path in assembly. The
// assembly walks the range itself, so Go's call overhead is paid once per
// range plus once per object that leaves the fast path; such an object is
// decided by the slow path and the assembly resumes after it. Up to
// asm.SmallMax replicas the assembly is Small, which leaves the fast path
// only for objects of three or more vectors that are not all strangers
// (chains, repeated strangers) and for bad objects.
func calculateAsm(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error {
	if from >= to {
		return nil
	}
	var ptrs asm.Pointers
	first := ptrs.Set(sources)
	var t *byte
	if target != nil {
		t = unsafe.SliceData(target)
	}
	// Fast writes each Result as one little-endian word: the struct's
	// four bytes in field order.
	res := (*uint32)(unsafe.Pointer(unsafe.SliceData(results)))
	// Small, for few replicas, has no per-object set-up and decides
	// strangers too. Both are called directly: through a func value the
	// pointers would escape (noescape holds only for direct calls).
	small := len(sources) <= asm.SmallMax
	slow := solver{noStrangers: small && asm.SmallDecidesStrangers}
	defer slow.Release()
	for o := from; o < to; o++ {
		if small {
			o = asm.Small(first, len(sources), vectorOffset, objectSize, o, to, res, t)
		} else {
			o = asm.Fast(first, len(sources), vectorOffset, objectSize, o, to, res, t)
		}
		if o == to {
			break
		}
		if err := slow.Solve(sources, vectorOffset, objectSize, o, results, target); err != nil {
			return err
		}
	}
	return nil
}
