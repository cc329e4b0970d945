// Package kernel computes the relaxed-lockstep quorum of replicated objects:
// for every object kept on N replicas, which replica's copy is the quorum's,
// how long its chain is, how many replicas lag it, and whether the replicas
// have split. It gives bit-for-bit the answers of the original
// @ronomon/quorum C addon, plus conflict detection.
//
// Each replica keeps a 32-byte vector per object: ID0, the random 16-byte ID
// of its current state, then ID1, the ID of the state it was built on.
// Linking ID1s to ID0s gives chains; the longest chain is the quorum, and
// replicas one step behind still count in it. A new object starts from
// NewVector; a write advances it with Update and a fresh NewID.
//
// # Implementations
//
// Calculate runs the fastest implementation the CPU allows: AVX2 assembly on
// amd64, NEON on arm64, or "generic", the portable Go implementation. Generic
// is complete on its own (a one-pass fast path for objects of at most two
// distinct vectors, and a non-recursive topological sort for the rest) and
// is the slow path the assembly hands its hard objects to. It runs on every
// architecture, everywhere with the build tag purego (no assembly is
// compiled), with QUORUM_KERNEL=generic (see EnvKernel), or per call through
// CalculateWith("generic", ...). Every implementation gives identical
// results and errors.
//
// # Errors
//
// Every error wraps one of the package's sentinels for errors.Is: ErrInvalid
// for a malformed argument (nothing written), ErrCyclic or ErrConflict for a
// bad object (inside an *ObjectError naming it), ErrZeroID and ErrReusedID
// for an Update that would break the invariants the quorum relies on.
package kernel

// Calculate computes the quorum of every object in the sources, one source
// per replica (1 to 255), all of equal length: a whole number of objects of
// objectSize bytes (at least 32), each holding its vector at vectorOffset.
// results[i] receives object i's quorum. If target is not nil (it must then
// be at least as long as a source and not overlap any), target's object i
// receives a copy of the leader's object i, or zeros when there is none.
//
// A cyclic or conflicting object stops the call with an *ObjectError naming
// it; results and target are final before it and untouched after it. Bad
// arguments get an ErrInvalid naming the argument, with nothing written.
// Sources are never written. Calculate is safe for concurrent use and
// allocates nothing when it succeeds. A batch of a few objects runs the
// portable implementation, which costs less to start than the assembly;
// one object as a read path holds it is cheaper still through Quorum.
func Calculate(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	objects, err := validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	return calculatorFor(objects, len(sources))(sources, vectorOffset, objectSize, 0, objects, results, target)
}

// calculatorFor is what Calculate runs on a batch of objects of n replicas:
// the active implementation, or generic for a small batch.
func calculatorFor(objects, n int) rangeFunc {
	if objects*n <= smallBatch && (objects == 1 || n > asmSmallMax) {
		return calculateGeneric
	}
	return active.calculate
}

// smallBatch is the most vectors (objects times replicas) for which
// Calculate runs generic rather than the assembly, whose set-up costs more
// than it saves on a few objects. Measured on an AMD Zen 4 guest
// (BenchmarkSmallBatch, 2026-12-01): up to 8 replicas, where the assembly
// is asm.Small, generic wins only on one object (27 against 36 ns at 3
// replicas, a tie at 8) and ties on two at 2-3 replicas; beyond, where it
// is Fast, generic wins on one object at 16 replicas (61 against 69 ns),
// ties at 32, and ties or loses on two at 16. arm64, where the assembly is
// NEON's Small up to 8 replicas too, takes the same rule, unmeasured.
const smallBatch = 32
