package kernel_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// The slow path alone must give the same answers: it is the definition.
func TestSlowPath(t *testing.T) { suite.Run(t, kernel.CalculateSlow) }

func TestUpdate(t *testing.T) {
	v := suite.Letters("B/A")[0]
	id := suite.Letters("C/C")[0][:16]
	if err := kernel.Update(v, id); err != nil {
		t.Fatal(err)
	}
	if want := suite.Letters("C/B")[0]; !bytes.Equal(v, want) {
		t.Fatalf("got %x, want %x", v, want)
	}
	// id may alias the vector it updates only by being one of its IDs,
	// which is refused; a copy of ID0 taken before is fine.
	id2 := suite.Letters("D/D")[0][:16]
	if err := kernel.Update(v, id2); err != nil || !bytes.Equal(v, suite.Letters("D/C")[0]) {
		t.Fatalf("second update: %v, %x", err, v)
	}
}

func TestUpdateRefusals(t *testing.T) {
	good := func() []byte { return suite.Letters("B/A")[0] }
	idOf := func(l string) []byte { return suite.Letters(l + "/" + l)[0][:16] }
	cases := []struct {
		name        string
		vector, id  []byte
		is          error
		wantInError string
	}{
		{"short vector", good()[:31], idOf("C"), kernel.ErrInvalid, "vector must be 32 bytes"},
		{"long vector", append(good(), 0), idOf("C"), kernel.ErrInvalid, "vector must be 32 bytes"},
		{"nil vector", nil, idOf("C"), kernel.ErrInvalid, "vector must be 32 bytes"},
		{"short id", good(), idOf("C")[:15], kernel.ErrInvalid, "id must be 16 bytes"},
		{"nil id", good(), nil, kernel.ErrInvalid, "id must be 16 bytes"},
		{"zero ID0", suite.Letters("0/A")[0], idOf("C"), kernel.ErrZeroID, "vector's ID0"},
		{"zero ID1", suite.Letters("A/0")[0], idOf("C"), kernel.ErrZeroID, "vector's ID1"},
		{"zero vector", make([]byte, 32), idOf("C"), kernel.ErrZeroID, "NewVector"},
		{"cyclic vector", suite.Letters("A/A")[0], idOf("C"), kernel.ErrCyclic, "ID0 equals its ID1"},
		{"zero id", good(), make([]byte, 16), kernel.ErrZeroID, "id"},
		{"id is ID0", good(), idOf("B"), kernel.ErrReusedID, "id equals the vector's ID0"},
		{"id is ID1", good(), idOf("A"), kernel.ErrReusedID, "id equals the vector's ID1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := bytes.Clone(c.vector)
			err := kernel.Update(c.vector, c.id)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.wantInError) {
				t.Fatalf("err = %v, want %v naming %q", err, c.is, c.wantInError)
			}
			if !bytes.Equal(c.vector, before) {
				t.Fatal("vector changed")
			}
		})
	}
	t.Run("id aliasing the vector", func(t *testing.T) {
		v := good()
		if err := kernel.Update(v, v[:16]); err == nil {
			t.Fatal("id == ID0 through aliasing accepted")
		}
		if err := kernel.Update(v, v[16:]); err == nil {
			t.Fatal("id == ID1 through aliasing accepted")
		}
		if !bytes.Equal(v, good()) {
			t.Fatal("vector changed")
		}
	})
}

// A history built with Update must always have one chain with the newest
// state at its head.
func TestUpdateBuildsChains(t *testing.T) {
	rng := rand.New(rand.NewPCG(suite.Seed(t), 4))
	v := suite.Letters("B/A")[0]
	replicas := [][]byte{bytes.Clone(v), bytes.Clone(v), bytes.Clone(v)}
	for step := range 200 {
		id := make([]byte, 16)
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		// Replica step%3 catches up from the leader, then all but one
		// replica advance: always one replica behind, never out of quorum.
		r := make([]kernel.Result, 1)
		if err := kernel.Calculate(replicas, 0, 32, r, nil); err != nil || r[0].Length != 3 {
			t.Fatalf("step %d: %+v %v", step, r[0], err)
		}
		leader := bytes.Clone(replicas[r[0].Leader])
		for i := range replicas {
			copy(replicas[i], leader)
		}
		for i := range replicas {
			if i != step%3 {
				if err := kernel.Update(replicas[i], id); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestRoles(t *testing.T) {
	rng := rand.New(rand.NewPCG(suite.Seed(t), 5))
	roles := make([]kernel.Role, 255)
	for round := range suite.Rounds(400) {
		n := 1 + rng.IntN(255)
		if round%2 == 0 {
			n = 1 + rng.IntN(9)
		}
		shape := testvectors.Shapes[rng.IntN(len(testvectors.Shapes))]
		vectors := testvectors.Object(rng, n, shape)
		want, wantRoles := testvectors.ReferenceRoles(vectors)
		for i := range roles {
			roles[i] = kernel.Role(99)
		}
		got, err := kernel.Roles(vectors, roles)
		if (err != nil) != (want.Err != testvectors.OK) {
			t.Fatalf("seed %d round %d %v: err %v, reference %v", suite.Seed(t), round, shape, err, want.Err)
		}
		if err != nil {
			if roles[0] != 99 {
				t.Fatalf("roles written on error")
			}
			continue
		}
		if got.Leader != uint8(want.Leader) || got.Length != uint8(want.Length) || got.Repair != uint8(want.Repair) || got.Forked != want.Forked {
			t.Fatalf("seed %d round %d %v: result %+v, reference %+v", suite.Seed(t), round, shape, got, want)
		}
		results := make([]kernel.Result, 1)
		if err := kernel.Calculate(vectors, 0, 32, results, nil); err != nil || results[0] != got {
			t.Fatalf("Roles and Calculate disagree: %+v vs %+v (%v)", got, results[0], err)
		}
		for i := range n {
			if int(roles[i]) != wantRoles[i] {
				t.Fatalf("seed %d round %d %v: replica %d role %v, reference %d", suite.Seed(t), round, shape, i, roles[i], wantRoles[i])
			}
		}
		if n < 255 && roles[n] != 99 {
			t.Fatalf("wrote a role past the last replica")
		}
	}
}

func TestRolesArguments(t *testing.T) {
	roles := make([]kernel.Role, 3)
	for _, c := range []struct {
		vectors [][]byte
		roles   []kernel.Role
		want    string
	}{
		{nil, roles, "vectors must hold"},
		{[][]byte{make([]byte, 31)}, roles, "vectors[0] has length 31"},
		{suite.Letters("B/A B/A B/A B/A"), roles, "roles has room for 3"},
	} {
		if _, err := kernel.Roles(c.vectors, c.roles); !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v, want ErrInvalid naming %q", err, c.want)
		}
	}
}

// NewVector makes valid first vectors: Calculate agrees on them, Update
// advances them, and no two are alike.
func TestNewVector(t *testing.T) {
	seen := map[[kernel.VectorSize]byte]bool{}
	for range 1000 {
		v := kernel.NewVector()
		if seen[v] {
			t.Fatalf("vector %x made twice", v)
		}
		seen[v] = true
		sources := [][]byte{v[:], v[:], v[:]}
		results := make([]kernel.Result, 1)
		if err := kernel.Calculate(sources, 0, kernel.VectorSize, results, nil); err != nil || results[0] != (kernel.Result{Length: 3}) {
			t.Fatalf("Calculate on three copies of %x: %v %+v", v, err, results[0])
		}
		id := kernel.NewID()
		if err := kernel.Update(v[:], id[:]); err != nil {
			t.Fatalf("Update of %x: %v", v, err)
		}
	}
}
