//go:build (amd64 || arm64) && gc && !purego

package kernel

import (
	"unsafe"

	"github.com/lockstep/quorum/kernel/internal/asm"
)

// asmSmallMax is the most replicas the assembly runs asm.Small for: on
// fewer, it costs less to start than Fast (see calculatorFor).
const asmSmallMax = asm.SmallMax

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
// asm.SmallMax replicas the assembly is Small (see calculateSmall).
func calculateAsm(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error {
	if from >= to {
		return nil
	}
	if len(sources) <= asm.SmallMax {
		return calculateSmall(sources, vectorOffset, objectSize, from, to, results, target)
	}
	var ptrs asm.Pointers
	first := ptrs.Set(sources)
	t, res := targetOf(target), resultsOf(results)
	var slow solver
	defer slow.Release()
	for o := from; o < to; o++ {
		// Called directly: through a func value the pointers would escape
		// (noescape holds only for direct calls).
		o = asm.Fast(first, len(sources), vectorOffset, objectSize, o, to, res, t)
		if o == to {
			break
		}
		if err := slow.Solve(sources, vectorOffset, objectSize, o, results, target); err != nil {
			return err
		}
	}
	return nil
}

// calculateSmall is calculateAsm for at most asm.SmallMax replicas: Small
// has no per-object set-up, decides strangers too, and leaves the fast path
// only for objects of three or more vectors that are not all strangers
// (chains, repeated strangers) and for bad objects. It reads only the n
// pointers it is given, so they take a few words of stack where Fast's
// padded array takes 270, zeroed on every call (a fifth of a one-object
// call's cost at 3 replicas).
func calculateSmall(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error {
	var ptrs [asm.SmallMax]*byte
	for i, s := range sources {
		ptrs[i] = unsafe.SliceData(s)
	}
	first := unsafe.SliceData(ptrs[:])
	t, res := targetOf(target), resultsOf(results)
	slow := solver{noStrangers: asm.SmallDecidesStrangers}
	defer slow.Release()
	for o := from; o < to; o++ {
		o = asm.Small(first, len(sources), vectorOffset, objectSize, o, to, res, t)
		if o == to {
			break
		}
		if err := slow.Solve(sources, vectorOffset, objectSize, o, results, target); err != nil {
			return err
		}
	}
	return nil
}

// quorum is Quorum: asm.One, which reads the vectors' slice headers
// itself and checks their lengths, decides every object of at most two
// distinct vectors and, up to asm.SmallMax replicas, every object of
// strangers; it hands anything else, with its arguments, to asm.Slow
// (quorumGo). A call it decides is then one call, Quorum inlined into its
// caller. Result is the word One returns (see resultsOf).
func quorum(vectors [][]byte) (r Result, err error) {
	*(*uint32)(unsafe.Pointer(&r)), err = asm.One(vectors)
	return
}

// decide is asm.Decide for 1 to SourcesMax vectors (for Roles and
// Depths): the result word of an object asm.One would decide, undecided
// for any other object, bad lengths included, and the replicas (up to 64)
// on replica 0's vector, a bit each.
func decide(vectors [][]byte) (word uint32, onA uint64) {
	return asm.Decide(unsafe.SliceData(vectors), len(vectors))
}

// undecided is decide's word for an object it leaves to Go.
const undecided = asm.Undecided

func init() {
	asm.Slow = func(vectors [][]byte) (uint32, error) {
		r, err := quorumGo(vectors)
		return *(*uint32)(unsafe.Pointer(&r)), err
	}
	asm.OneOff = !activeIsAsm
}

// activeIsAsm: Calculate runs the assembly (QUORUM_KERNEL may rule it out).
var activeIsAsm = active.name == asm.Name

// oneDecidesStrangers is the most replicas of an object of strangers
// (whose prefixes differ) that asm.One decides.
const oneDecidesStrangers = asm.SmallMax

// targetOf is the target's first byte for the assembly, nil for none.
func targetOf(target []byte) *byte {
	if target == nil {
		return nil
	}
	return unsafe.SliceData(target)
}

// resultsOf is results as the assembly writes them: each Result one
// little-endian word, the struct's four bytes in field order.
func resultsOf(results []Result) *uint32 {
	return (*uint32)(unsafe.Pointer(unsafe.SliceData(results)))
}
