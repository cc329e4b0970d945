package kernel

import (
	"encoding/binary"
	"unsafe"
)

// Quorum computes the quorum of one object from its replicas' vectors, one
// 32-byte vector per replica (1 to 255): the entry for a read path that has
// just read the object from each replica. The Result is the one Calculate
// gives for the same vectors. A cyclic or conflicting object returns an
// error wrapping ErrCyclic or ErrConflict (no *ObjectError: there is one
// object), bad arguments an ErrInvalid. Quorum allocates nothing. Where
// Calculate runs the assembly, Quorum is one call of it: it reads the
// vectors through their slice headers and decides every object of at most
// two distinct vectors (every object but a fork of three states or worse)
// and, up to 8 replicas, every object of strangers; elsewhere portable Go
// does the same. Only what is left reaches the slow path's graph. For many
// objects, use Calculate.
func Quorum(vectors [][]byte) (Result, error) { return quorum(vectors) }

// resultOf is the Result of a result word: its bytes, in field order (see
// resultsOf).
func resultOf(w uint32) Result {
	return Result{Leader: uint8(w), Length: uint8(w >> 8), Repair: uint8(w >> 16), Forked: w>>24 != 0}
}

// quorumGo is Quorum in Go: all of it without the assembly, and otherwise
// what the assembly leaves, which needs only the arguments checked and
// the slow path (the assembly has decided the objects of two vectors and,
// up to asm.SmallMax replicas, of strangers).
func quorumGo(vectors [][]byte) (Result, error) {
	if !activeIsAsm {
		if r, ok := agreed(vectors); ok {
			return r, nil
		}
	}
	if err := checkVectors(vectors); err != nil {
		return Result{}, err
	}
	if !activeIsAsm {
		if r, ok := fastGeneric(vectors, 0); ok {
			return r, nil
		}
	}
	slow := solver{noStrangers: activeIsAsm && len(vectors) <= oneDecidesStrangers}
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
	roles = roles[:len(vectors)]
	// A Role is a byte.
	if r, ok := placeAsm(vectors, unsafe.Slice((*byte)(unsafe.SliceData(roles)), len(roles)), byte(Current), byte(Lagging), byte(Outside)); ok {
		return r, nil
	}
	return place(vectors, roles, nil)
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
	depths = depths[:len(vectors)]
	if r, ok := placeAsm(vectors, depths, 0, 1, NotInChain); ok {
		return r, nil
	}
	return place(vectors, nil, depths)
}

// placeAsm decides an object of up to 64 replicas with the assembly, if
// it runs and decides it, and writes each replica's place into out: the
// byte current, lagging or outside. The assembly's set of replicas on
// replica 0's vector places them without another look at the vectors.
func placeAsm(vectors [][]byte, out []byte, current, lagging, outside byte) (Result, bool) {
	if n := len(vectors); !activeIsAsm || n < SourcesMin || n > 64 {
		return Result{}, false
	}
	w, onA := decide(vectors)
	if w == undecided {
		return Result{}, false
	}
	r := resultOf(w) // two vectors, or strangers: Forked
	set := onA       // the leader's vector's replicas
	if r.Leader != 0 {
		set = ^onA // the leader holds the other vector
	}
	if r.Forked {
		set = 0
	}
	other := outside
	if r.Repair > 0 {
		other = lagging
	}
	if len(out) < 8 {
		fillTail(out, spread(set, current, other)) // inlined: no call for the usual replica counts
	} else {
		fillSet(out, set, current, other)
	}
	return r, true
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

// fillSet sets dst[i] to on where bit i of set is set and to off elsewhere,
// eight bytes a store: a loop of a branch per replica costs more than the
// whole of a small object's decision.
func fillSet(dst []byte, set uint64, on, off byte) {
	for len(dst) >= 8 {
		binary.LittleEndian.PutUint64(dst, spread(set, on, off))
		dst, set = dst[8:], set>>8
	}
	fillTail(dst, spread(set, on, off))
}

// fillTail stores the first len(dst) < 8 bytes of w into dst.
func fillTail(dst []byte, w uint64) {
	if len(dst)&4 != 0 {
		binary.LittleEndian.PutUint32(dst, uint32(w))
		dst, w = dst[4:], w>>32
	}
	if len(dst)&2 != 0 {
		binary.LittleEndian.PutUint16(dst, uint16(w))
		dst, w = dst[2:], w>>16
	}
	if len(dst) != 0 {
		dst[0] = byte(w)
	}
}

// spread is eight bytes, byte i on where bit i of set is set, off elsewhere.
func spread(set uint64, on, off byte) uint64 {
	const lanes = 0x0101010101010101
	bit := (set & 0xff) * lanes & 0x8040201008040201        // byte i: bit i of set, in place
	mask := (bit + 0x7f*lanes) & (0x80 * lanes) >> 7 * 0xff // byte i: 0xff where it is set
	return uint64(on)*lanes&mask | uint64(off)*lanes&^mask
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
