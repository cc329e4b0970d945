package kernel

import (
	"bytes"
	"crypto/rand"
	"fmt"
)

var zeroID [IDSize]byte

// Update advances vector to the state id: the new vector is id followed by
// the old ID0, so the old current state becomes the dependency. It refuses,
// leaving vector unchanged, anything that would break the invariants the
// quorum relies on (IDs are unique, non-zero, and never depend on
// themselves): sizes other than 32 and 16 bytes (ErrInvalid), an all-zero id
// or a vector holding one (ErrZeroID), a self-dependent vector (ErrCyclic),
// and an id equal to either of the vector's IDs (ErrReusedID). Update only
// replicas at the leader's state: lagging replicas must first catch up by
// copying the leader's object.
func Update(vector, id []byte) error {
	if len(vector) != VectorSize {
		return invalid("vector must be %d bytes, got %d", VectorSize, len(vector))
	}
	if len(id) != IDSize {
		return invalid("id must be %d bytes, got %d", IDSize, len(id))
	}
	id0, id1 := vector[:IDSize], vector[IDSize:]
	switch {
	case bytes.Equal(id0, zeroID[:]):
		return fmt.Errorf("%w: the vector's ID0 (a new object's first vector comes from NewVector)", ErrZeroID)
	case bytes.Equal(id1, zeroID[:]):
		return fmt.Errorf("%w: the vector's ID1 (a new object's first vector comes from NewVector)", ErrZeroID)
	case bytes.Equal(id0, id1):
		return fmt.Errorf("%w: the vector's ID0 equals its ID1", ErrCyclic)
	case bytes.Equal(id, zeroID[:]):
		return fmt.Errorf("%w: id", ErrZeroID)
	case bytes.Equal(id, id0):
		return fmt.Errorf("%w: id equals the vector's ID0 (NewID makes fresh ones)", ErrReusedID)
	case bytes.Equal(id, id1):
		return fmt.Errorf("%w: id equals the vector's ID1 (NewID makes fresh ones)", ErrReusedID)
	}
	// id may alias vector; take a copy before moving anything.
	var next [IDSize]byte
	copy(next[:], id)
	copy(id1, id0)
	copy(id0, next[:])
	return nil
}

// NewID returns a fresh random ID for Update: 16 bytes from crypto/rand,
// never all zeros.
func NewID() [IDSize]byte {
	var id [IDSize]byte
	for id == zeroID {
		rand.Read(id[:]) // never fails (crypto/rand, Go 1.24 and later)
	}
	return id
}

// NewVector returns a valid first vector for a new object: two fresh random
// IDs, its current state and a made-up state before it. Write the same
// vector to every replica of the object, with the object's first bytes;
// Update then advances it as usual. (A zeroed vector is cyclic: the kernel
// refuses it and Update will not advance it.)
func NewVector() [VectorSize]byte {
	var v [VectorSize]byte
	id0, id1 := NewID(), NewID()
	for id1 == id0 {
		id1 = NewID()
	}
	copy(v[:IDSize], id0[:])
	copy(v[IDSize:], id1[:])
	return v
}
