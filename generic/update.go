package generic

import (
	"bytes"
	"fmt"
)

var zeroID [IDSize]byte

// Update advances vector to the state id: the new vector is id followed by
// the old ID0, so the old current state becomes the dependency. It refuses,
// leaving vector unchanged, anything that would break the invariants the
// quorum relies on (IDs are unique, non-zero, and never depend on
// themselves). Update only replicas at the leader's state: lagging replicas
// must first catch up by copying the leader's object.
func Update(vector, id []byte) error {
	if len(vector) != VectorSize {
		return fmt.Errorf("quorum: vector must be %d bytes, got %d", VectorSize, len(vector))
	}
	if len(id) != IDSize {
		return fmt.Errorf("quorum: id must be %d bytes, got %d", IDSize, len(id))
	}
	id0, id1 := vector[:IDSize], vector[IDSize:]
	switch {
	case bytes.Equal(id0, zeroID[:]):
		return fmt.Errorf("quorum: vector's ID0 is all zeros: not a valid vector")
	case bytes.Equal(id1, zeroID[:]):
		return fmt.Errorf("quorum: vector's ID1 is all zeros: not a valid vector")
	case bytes.Equal(id0, id1):
		return fmt.Errorf("quorum: vector's ID0 equals its ID1: the vector is cyclic")
	case bytes.Equal(id, zeroID[:]):
		return fmt.Errorf("quorum: id must not be all zeros")
	case bytes.Equal(id, id0):
		return fmt.Errorf("quorum: id equals the vector's ID0: IDs must never be reused")
	case bytes.Equal(id, id1):
		return fmt.Errorf("quorum: id equals the vector's ID1: IDs must never be reused")
	}
	// id may alias vector; take a copy before moving anything.
	var next [IDSize]byte
	copy(next[:], id)
	copy(id1, id0)
	copy(id0, next[:])
	return nil
}
