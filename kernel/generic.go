package kernel

import "encoding/binary"

// calculateSlow is Calculate with every object sent through the graph,
// the topological sort that defines the answer, whatever the replica count:
// for tests of the fast paths and of quorumSmall. Identical results and
// errors, only slower.
func calculateSlow(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	objects, err := validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	g := getGraph()
	defer putGraph(g)
	for o := range objects {
		r, err := g.quorum(sources, o*objectSize+vectorOffset)
		if err != nil {
			return &ObjectError{Index: o, Err: err}
		}
		store(sources, objectSize, o, r, results, target)
	}
	return nil
}

// calculateGeneric is the portable implementation: Calculate on objects
// [from, to) of arguments validate accepted, each object on the one-pass
// fast path below unless it needs the slow one. Object indices in errors
// count from the start of the sources, not from 'from'.
func calculateGeneric(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error {
	var slow solver
	defer slow.Release()
	for o := from; o < to; o++ {
		r, ok := fastGeneric(sources, o*objectSize+vectorOffset)
		if !ok {
			if err := slow.Solve(sources, vectorOffset, objectSize, o, results, target); err != nil {
				return err
			}
			continue
		}
		store(sources, objectSize, o, r, results, target)
	}
	return nil
}

// solver decides single objects on the slow path (strangers first, then
// quorumSmall for up to smallN replicas, the graph beyond), for fast paths
// that hand it the objects they cannot decide. It takes scratch space from
// a pool on first use and keeps it until Release. The zero value is ready;
// a solver is not safe for concurrent use.
type solver struct {
	g *graph
	// noStrangers: the fast path has already ruled out objects of
	// strangers (asm.Small does), so the test would only fail again.
	noStrangers bool
	// wait is how many objects skip the strangers test, backoff what wait
	// becomes at the next failure: a failed test costs nearly a successful
	// one (at 128 replicas a chain object's slow path takes 1870 ns with
	// it, 1380 without), so a batch whose slow objects are chains (replicas
	// lagging by different counts) soon tries it on one in 64 only.
	wait, backoff uint8
}

// Solve decides object o of arguments validate accepted: results[o] and, if
// target is not nil, target's object o. A bad object returns an
// *ObjectError and writes nothing.
func (s *solver) Solve(sources [][]byte, vectorOffset, objectSize, o int, results []Result, target []byte) error {
	r, err := s.quorum(sources, o*objectSize+vectorOffset)
	if err != nil {
		return &ObjectError{Index: o, Err: err}
	}
	store(sources, objectSize, o, r, results, target)
	return nil
}

// quorum is the slow path's answer for the object at byte off.
func (s *solver) quorum(sources [][]byte, off int) (Result, error) {
	n := len(sources)
	try := s.try()
	if n <= smallN {
		if try {
			r, ok := quorumStrangers(sources, off)
			if s.tried(ok) {
				return r, nil
			}
		}
		return quorumSmall(sources, off)
	}
	if s.g == nil {
		s.g = getGraph()
	}
	if try && s.tried(strangers(sources, off, s.g.lo0[:], s.g.lo1[:], s.g.bloom[:bloomWords(n)])) {
		return strangersResult(n), nil
	}
	return s.g.quorum(sources, off)
}

// try reports whether this object takes the strangers test.
func (s *solver) try() bool {
	if s.noStrangers {
		return false
	}
	if s.wait > 0 {
		s.wait--
		return false
	}
	return true
}

// tried records the test's outcome and returns it: a success resets the
// backoff, a failure doubles it, up to 63 objects.
func (s *solver) tried(ok bool) bool {
	if ok {
		s.backoff = 0
	} else {
		s.backoff = min(2*s.backoff+1, 63)
		s.wait = s.backoff
	}
	return ok
}

// Release returns the scratch space to the pool.
func (s *solver) Release() {
	if s.g != nil {
		putGraph(s.g)
		s.g = nil
	}
}

// store writes object o's result and, if target is not nil, its target
// object: the leader's object, or zeros if the object has no leader.
func store(sources [][]byte, objectSize, o int, r Result, results []Result, target []byte) {
	results[o] = r
	if target == nil {
		return
	}
	start := o * objectSize
	dst := target[start : start+objectSize]
	if r.Length == 0 {
		clear(dst)
		return
	}
	copy(dst, sources[r.Leader][start:start+objectSize])
}

// fastGeneric decides, in one pass and without building the graph, the objects
// whose replicas hold at most two distinct vectors: all on one vector, two
// unrelated vectors (a partition, a stranger), or one vector built directly
// on the other (an interrupted transaction). It reports false for anything
// else, including every cycle and conflict, which the slow path decides.
func fastGeneric(sources [][]byte, off int) (Result, bool) {
	a := load(sources[0], off)
	// Phase 1: skip the replicas that agree with replica 0 (few live
	// values, so nothing spills in the common all-agree case).
	r := 1
	for ; r < len(sources); r++ {
		if load(sources[r], off) != a {
			break
		}
	}
	if a[0] == a[2] && a[1] == a[3] {
		return Result{}, false // a depends on itself
	}
	if r == len(sources) {
		return Result{Length: uint8(r)}, true
	}
	// Phase 2: b is the first other vector; every later replica must be a or b.
	ib, b := r, load(sources[r], off)
	na, nb := r, 1
	for r++; r < len(sources); r++ {
		v := load(sources[r], off)
		if (v[0]^a[0])|(v[1]^a[1])|(v[2]^a[2])|(v[3]^a[3]) == 0 {
			na++
		} else if (v[0]^b[0])|(v[1]^b[1])|(v[2]^b[2])|(v[3]^b[3]) == 0 {
			nb++
		} else {
			return Result{}, false // a third vector
		}
	}
	switch {
	case b[0] == b[2] && b[1] == b[3], // b depends on itself
		a[0] == b[0] && a[1] == b[1]: // one ID0, two ID1s: a conflict
		return Result{}, false
	case b[2] == a[0] && b[3] == a[1]: // b was built on a
		if a[2] == b[0] && a[3] == b[1] {
			return Result{}, false // and a on b: a cycle
		}
		return Result{Leader: uint8(ib), Length: uint8(na + nb), Repair: uint8(na)}, true
	case a[2] == b[0] && a[3] == b[1]: // a was built on b
		return Result{Leader: 0, Length: uint8(na + nb), Repair: uint8(nb)}, true
	case na > nb:
		return Result{Leader: 0, Length: uint8(na)}, true
	case nb > na:
		return Result{Leader: uint8(ib), Length: uint8(nb)}, true
	}
	return Result{Forked: true}, true
}

// load reads the vector at byte off of a source as four little-endian words.
func load(source []byte, off int) [4]uint64 {
	v := source[off : off+VectorSize : off+VectorSize]
	return [4]uint64{
		binary.LittleEndian.Uint64(v[0:]), binary.LittleEndian.Uint64(v[8:]),
		binary.LittleEndian.Uint64(v[16:]), binary.LittleEndian.Uint64(v[24:]),
	}
}
