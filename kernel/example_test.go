package kernel_test

import (
	"errors"
	"fmt"

	"github.com/lockstep/quorum/kernel"
)

// Three replicas of a 2-object store, objects of 64 bytes with the vector
// at offset 0. Object 0: replica 2 went offline before the last write.
// Object 1: the write reached only replica 1 before a crash.
func ExampleCalculate() {
	id := func(c byte) []byte { b := make([]byte, 16); b[0] = c; return b }
	put := func(replica []byte, object int, id0, id1 byte) {
		copy(replica[object*64:], id(id0))
		copy(replica[object*64+16:], id(id1))
	}
	sources := [][]byte{make([]byte, 128), make([]byte, 128), make([]byte, 128)}
	put(sources[0], 0, 'C', 'B')
	put(sources[1], 0, 'C', 'B')
	put(sources[2], 0, 'X', 'W')
	put(sources[0], 1, 'B', 'A')
	put(sources[1], 1, 'C', 'B')
	put(sources[2], 1, 'B', 'A')

	results := make([]kernel.Result, 2)
	target := make([]byte, 128) // receives each object's quorum copy
	if err := kernel.Calculate(sources, 0, 64, results, target); err != nil {
		fmt.Println(err)
		return
	}
	for i, r := range results {
		fmt.Printf("object %d: leader %d, length %d, repair %d, forked %v\n", i, r.Leader, r.Length, r.Repair, r.Forked)
	}
	// Output:
	// object 0: leader 0, length 2, repair 0, forked false
	// object 1: leader 1, length 3, repair 2, forked false
}

// A new object starts from NewVector on every replica; each write advances
// the vector with Update and a fresh ID.
func ExampleUpdate() {
	vector := kernel.NewVector()
	before := vector

	id := kernel.NewID()
	if err := kernel.Update(vector[:], id[:]); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new ID0 is id:", [16]byte(vector[:16]) == id)
	fmt.Println("new ID1 is old ID0:", [16]byte(vector[16:]) == [16]byte(before[:16]))

	// Reusing an ID is refused and leaves the vector unchanged.
	err := kernel.Update(vector[:], id[:])
	fmt.Println(errors.Is(err, kernel.ErrReusedID), err)
	// A zeroed buffer is not a vector.
	fmt.Println(kernel.Update(make([]byte, kernel.VectorSize), id[:]))
	// Output:
	// new ID0 is id: true
	// new ID1 is old ID0: true
	// true quorum: reused ID: id equals the vector's ID0 (NewID makes fresh ones)
	// quorum: all-zero ID: the vector's ID0 (a new object's first vector comes from NewVector)
}
func ExampleRoles() {
	id := func(c byte) []byte { b := make([]byte, 16); b[0] = c; return b }
	vector := func(id0, id1 byte) []byte { return append(id(id0), id(id1)...) }
	// Replica 1 ran one more transaction; replica 2 lags; replica 3 is a stranger.
	vectors := [][]byte{vector('B', 'A'), vector('C', 'B'), vector('B', 'A'), vector('X', 'Y')}
	roles := make([]kernel.Role, len(vectors))
	r, err := kernel.Roles(vectors, roles)
	fmt.Println(r, err, roles)
	// Output: {1 3 2 false} <nil> [lagging current lagging outside]
}

// A read path: the object was read from three replicas, and its vectors
// decide which copy to return. Replica 2 missed the last write.
func ExampleQuorum() {
	first := kernel.NewVector()
	next := first
	id := kernel.NewID()
	if err := kernel.Update(next[:], id[:]); err != nil {
		fmt.Println(err)
		return
	}
	vectors := [][]byte{next[:], next[:], first[:]}
	r, err := kernel.Quorum(vectors)
	fmt.Printf("leader %d, chain of %d, %d lagging, %v\n", r.Leader, r.Length, r.Repair, err)
	// Output: leader 0, chain of 3, 1 lagging, <nil>
}
