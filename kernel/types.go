package kernel

import (
	"errors"
	"fmt"
	"unsafe"
)

// Sizes and limits, as in the original @ronomon/quorum addon.
const (
	IDSize     = 16  // bytes in one ID
	VectorSize = 32  // bytes in one vector: ID0 (current state), ID1 (dependency)
	SourcesMin = 1   // fewest replicas a call accepts
	SourcesMax = 255 // most replicas a call accepts
)

// Result is the quorum of one object. Its layout is the original's 4-byte
// result: Leader, Length, Repair, Forked.
type Result struct {
	Leader uint8 // index of the first replica at the head of the longest chain
	Length uint8 // replicas in the longest chain (0 when Forked)
	Repair uint8 // replicas in the chain that lag the leader and must catch up
	Forked bool  // two or more chains tie for longest: split-brain
}

// The errors every refusal wraps, for errors.Is. Calculate wraps an
// object's ErrCyclic or ErrConflict in an *ObjectError naming the object.
var (
	// ErrCyclic: a vector depends on itself (ID0 == ID1, which includes the
	// all-zero vector), or dependencies form a loop.
	ErrCyclic = errors.New("quorum: vectors must not have cyclic references")
	// ErrConflict: one ID appears as ID0 with two different ID1s. IDs are never
	// reused, so this is corruption or a caller bug. Reported before ErrCyclic.
	ErrConflict = errors.New("quorum: one ID has two different dependencies")
	// ErrInvalid: an argument is malformed (a count, a length, an offset, an
	// overlap); the message names the argument. Nothing was written.
	ErrInvalid = errors.New("quorum: invalid argument")
	// ErrZeroID: Update was given an all-zero id, or a vector holding one
	// (such as a zeroed buffer: a new object's first vector comes from
	// NewVector).
	ErrZeroID = errors.New("quorum: all-zero ID")
	// ErrReusedID: Update was given an id the vector already holds. IDs must
	// be unique for the quorum to be right; NewID makes fresh ones.
	ErrReusedID = errors.New("quorum: reused ID")
)

// invalid is an ErrInvalid naming what is wrong.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// ObjectError names the first object whose vectors are invalid. Results and
// target for earlier objects are final; later objects are untouched.
type ObjectError struct {
	Index int   // index of the object within the batch
	Err   error // ErrCyclic or ErrConflict
}

func (e *ObjectError) Error() string { return fmt.Sprintf("object %d: %v", e.Index, e.Err) }

// Unwrap makes errors.Is(err, ErrCyclic) and errors.Is(err, ErrConflict) work.
func (e *ObjectError) Unwrap() error { return e.Err }

// validate checks the arguments of a Calculate call and returns the number of
// objects per source. Every implementation calls it before reading anything,
// so a bad call is refused before any result or target byte is written.
func validate(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) (objects int, err error) {
	n := len(sources)
	if n < SourcesMin || n > SourcesMax {
		return 0, invalid("sources must hold %d to %d replicas, got %d", SourcesMin, SourcesMax, n)
	}
	if objectSize < VectorSize {
		return 0, invalid("objectSize must be at least %d, got %d", VectorSize, objectSize)
	}
	if vectorOffset < 0 || vectorOffset > objectSize-VectorSize {
		return 0, invalid("vectorOffset must be from 0 to objectSize-%d (%d), got %d",
			VectorSize, objectSize-VectorSize, vectorOffset)
	}
	size := len(sources[0])
	for i, s := range sources {
		if len(s) != size {
			return 0, invalid("sources[%d] has length %d, want %d (the length of sources[0])", i, len(s), size)
		}
	}
	if size%objectSize != 0 {
		return 0, invalid("source length %d is not a whole number of objects of objectSize %d", size, objectSize)
	}
	objects = size / objectSize
	if len(results) < objects {
		return 0, invalid("results has room for %d results, want %d (one per object)", len(results), objects)
	}
	if target != nil {
		if len(target) < size {
			return 0, invalid("target has length %d, want at least %d (the source length) or nil", len(target), size)
		}
		if size > 0 {
			t := span(target[:size])
			for i, s := range sources {
				if t.overlaps(span(s)) {
					return 0, invalid("target overlaps sources[%d]; sources are never written", i)
				}
			}
		}
	}
	return objects, nil
}

type memRange struct{ lo, hi uintptr }

func span(b []byte) memRange {
	if len(b) == 0 {
		return memRange{}
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return memRange{p, p + uintptr(len(b))}
}

func (r memRange) overlaps(o memRange) bool { return r.lo < o.hi && o.lo < r.hi }
