package kernel_test

import (
	"crypto/rand"
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

// Update advances a replica's vector before it writes a new version of
// the object.
func ExampleUpdate() {
	vector := make([]byte, kernel.VectorSize)
	rand.Read(vector) // an existing vector: two random IDs
	before := append([]byte(nil), vector[:16]...)

	id := make([]byte, kernel.IDSize)
	rand.Read(id)
	if err := kernel.Update(vector, id); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("new ID0 is id:", string(vector[:16]) == string(id))
	fmt.Println("new ID1 is old ID0:", string(vector[16:]) == string(before))

	// Reusing an ID is refused and leaves the vector unchanged.
	fmt.Println(kernel.Update(vector, id))
	// Output:
	// new ID0 is id: true
	// new ID1 is old ID0: true
	// quorum: id equals the vector's ID0: IDs must never be reused
}
