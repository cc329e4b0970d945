package generic_test

import (
	"fmt"

	"github.com/lockstep/quorum/generic"
)

func ExampleRoles() {
	id := func(c byte) []byte { b := make([]byte, 16); b[0] = c; return b }
	vector := func(id0, id1 byte) []byte { return append(id(id0), id(id1)...) }
	// Replica 1 ran one more transaction; replica 2 lags; replica 3 is a stranger.
	vectors := [][]byte{vector('B', 'A'), vector('C', 'B'), vector('B', 'A'), vector('X', 'Y')}
	roles := make([]generic.Role, len(vectors))
	r, err := generic.Roles(vectors, roles)
	fmt.Println(r, err, roles)
	// Output: {1 3 2 false} <nil> [lagging current lagging outside]
}
