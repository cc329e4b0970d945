// Package kernel computes the relaxed-lockstep quorum of replicated objects:
// for every object kept on N replicas, which replica's copy is the quorum's,
// how long its chain is, how many replicas lag it, and whether the replicas
// have split. It runs the fastest implementation the CPU allows (see
// Implementation) and gives bit-for-bit the answers of the original
// @ronomon/quorum C addon, plus conflict detection.
//
// Each replica keeps a 32-byte vector per object: ID0, the random 16-byte ID
// of its current state, then ID1, the ID of the state it was built on.
// Linking ID1s to ID0s gives chains; the longest chain is the quorum, and
// replicas one step behind still count in it. Advance a vector with Update.
package kernel

import "github.com/lockstep/quorum/generic"

// Sizes and limits.
const (
	IDSize     = generic.IDSize
	VectorSize = generic.VectorSize
	SourcesMin = generic.SourcesMin
	SourcesMax = generic.SourcesMax
)

// Result is the quorum of one object (4 bytes: Leader, Length, Repair, Forked).
type Result = generic.Result

// ObjectError names the first invalid object of a batch; it wraps ErrCyclic
// or ErrConflict.
type ObjectError = generic.ObjectError

// Role is where one replica stands relative to an object's quorum.
type Role = generic.Role

// Roles a replica can have.
const (
	Outside = generic.Outside // not in the longest chain: overwrite it from the leader
	Current = generic.Current // at the leader's state
	Lagging = generic.Lagging // in the chain but behind: catch up from the leader
)

var (
	// ErrCyclic: a vector depends on itself or dependencies loop.
	ErrCyclic = generic.ErrCyclic
	// ErrConflict: one ID0 with two different ID1s (corruption or caller bug).
	ErrConflict = generic.ErrConflict
)

// Calculate computes the quorum of every object in the sources, one source
// per replica (1 to 255), all of equal length: a whole number of objects of
// objectSize bytes (at least 32), each holding its vector at vectorOffset.
// results[i] receives object i's quorum. If target is not nil (it must then
// be at least as long as a source and not overlap any), target's object i
// receives a copy of the leader's object i, or zeros when there is none.
//
// A cyclic or conflicting object stops the call with an *ObjectError naming
// it; results and target are final before it and untouched after it. Bad
// arguments get an error naming the argument, with nothing written. Sources
// are never written. Calculate is safe for concurrent use and allocates
// nothing when it succeeds.
func Calculate(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	return active.run(sources, vectorOffset, objectSize, results, target)
}

// Update advances a vector to the state id: the new vector is id followed by
// the old ID0. It refuses (vector unchanged) sizes other than 32 and 16
// bytes, an all-zero or self-dependent vector, an all-zero id, and an id
// equal to either of the vector's IDs. Only replicas at the leader's state
// may be updated; lagging ones must first copy the leader's object.
func Update(vector, id []byte) error { return generic.Update(vector, id) }

// Roles computes one object's quorum from its replicas' 32-byte vectors and
// writes each replica's role (Current, Lagging or Outside) into roles. The
// Result equals Calculate's for the same vectors.
func Roles(vectors [][]byte, roles []Role) (Result, error) { return generic.Roles(vectors, roles) }
