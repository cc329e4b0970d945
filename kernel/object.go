package kernel

// Quorum computes the quorum of one object from its replicas' vectors, one
// 32-byte vector per replica (1 to 255): the entry for a read path that has
// just read the object from each replica. The Result is the one Calculate
// gives for the same vectors. A cyclic or conflicting object returns an
// error wrapping ErrCyclic or ErrConflict (no *ObjectError: there is one
// object), bad arguments an ErrInvalid. Quorum allocates nothing. An
// object of at most two distinct vectors (every object but a fork of three
// states or worse) is decided in one pass of portable Go, without the slow
// path's graph: at a read path's replica counts the assembly's set-up
// costs more than it saves. Objects of strangers go to asm.Small where
// Calculate runs it (up to 8 replicas on AVX2 and NEON), to the slow path's
// strangers test elsewhere. For many objects, use Calculate.
func Quorum(vectors [][]byte) (Result, error) {
	if r, ok := agreed(vectors); ok {
		return r, nil
	}
	if err := checkVectors(vectors); err != nil {
		return Result{}, err
	}
	if r, ok := fastGeneric(vectors, 0); ok {
		return r, nil
	}
	r, ok, tried := quorumAsm(vectors) // objects of strangers, in registers
	if ok {
		return r, nil
	}
	// strangers (unless Small ruled them out), then quorumSmall or the graph
	slow := solver{noStrangers: tried && asmSmallDecidesStrangers}
	defer slow.Release()
	return slow.quorum(vectors, 0)
}

// Roles is Quorum that also writes each replica's role (Current, Lagging or
// Outside) into roles, which must have room for one per vector. In a
// split-brain every replica is Outside. On an error roles is untouched.
func Roles(vectors [][]byte, roles []Role) (Result, error) {
	if len(roles) < len(vectors) {
		if err := checkVectors(vectors); err != nil {
			return Result{}, err
		}
		return Result{}, invalid("roles has room for %d replicas, want %d", len(roles), len(vectors))
	}
	return place(vectors, roles[:len(vectors)], nil)
}

// NotInChain is the depth of a replica outside the longest chain, and of
// every replica of a split-brain object.
const NotInChain = 255

// Depths is Quorum that also writes how many states each replica is behind
// the leader into depths, which must have room for one per vector: 0 at the
// leader's state (Current), k for a replica k writes behind (Lagging), and
// NotInChain for one outside the chain (Outside). A repair that catches up
// the farthest behind first never lets the quorum go backwards. On an
// error depths is untouched.
func Depths(vectors [][]byte, depths []uint8) (Result, error) {
	if len(depths) < len(vectors) {
		if err := checkVectors(vectors); err != nil {
			return Result{}, err
		}
		return Result{}, invalid("depths has room for %d replicas, want %d", len(depths), len(vectors))
	}
	return place(vectors, nil, depths[:len(vectors)])
}

// place decides one object and writes each replica's role, depth or both
// (a nil slice is not written).
func place(vectors [][]byte, roles []Role, depths []uint8) (Result, error) {
	if err := checkVectors(vectors); err != nil {
		return Result{}, err
	}
	if r, ok := fastGeneric(vectors, 0); ok {
		placeTwo(vectors, r, roles, depths)
		return r, nil
	}
	g := getGraph()
	defer putGraph(g)
	defer g.reset()
	r, err := g.build(vectors, 0)
	if err != nil {
		return Result{}, err
	}
	g.place(vectors, r, roles, depths)
	return r, nil
}

// agreed decides the commonest object, every replica on one valid vector,
// checking the arguments as it goes: the read path's usual case, with
// nothing but one load and compare per replica. It reports false for
// anything else, bad arguments included.
func agreed(vectors [][]byte) (Result, bool) {
	n := len(vectors)
	if n < SourcesMin || n > SourcesMax || len(vectors[0]) != VectorSize {
		return Result{}, false
	}
	a := load(vectors[0], 0)
	for _, v := range vectors[1:] {
		if len(v) != VectorSize || load(v, 0) != a {
			return Result{}, false
		}
	}
	if a[0] == a[2] && a[1] == a[3] {
		return Result{}, false // cyclic
	}
	return Result{Length: uint8(n)}, true
}

// checkVectors checks the arguments of a single-object call.
func checkVectors(vectors [][]byte) error {
	if n := len(vectors); n < SourcesMin || n > SourcesMax {
		return invalid("vectors must hold %d to %d replicas, got %d", SourcesMin, SourcesMax, n)
	}
	for i, v := range vectors {
		if len(v) != VectorSize {
			return invalid("vectors[%d] has length %d, want %d", i, len(v), VectorSize)
		}
	}
	return nil
}

// placeTwo places the replicas of an object the fast path decided: it
// holds at most two distinct vectors, so a replica not at the leader's
// vector holds the other one, which is in the chain, one write behind,
// exactly when some replica lags.
func placeTwo(vectors [][]byte, r Result, roles []Role, depths []uint8) {
	if r.Forked {
		clear(roles)
		for i := range depths {
			depths[i] = NotInChain
		}
		return
	}
	otherRole, otherDepth := Outside, uint8(NotInChain)
	if r.Repair > 0 {
		otherRole, otherDepth = Lagging, 1
	}
	leader := load(vectors[r.Leader], 0)
	for i, v := range vectors {
		role, depth := otherRole, otherDepth
		if load(v, 0) == leader {
			role, depth = Current, 0
		}
		if roles != nil {
			roles[i] = role
		}
		if depths != nil {
			depths[i] = depth
		}
	}
}
