package generic

import "encoding/binary"

// Calculate computes the quorum of every object in the sources, one source
// per replica, all of equal length: a whole number of objects of objectSize
// bytes, each holding its 32-byte vector at vectorOffset. results[i] receives
// object i's quorum. If target is not nil, target's object i receives a copy
// of the leader's object i, or zeros when there is no leader (split-brain).
//
// On a cyclic or conflicting object it stops and returns an *ObjectError
// naming that object; results and target are final for the objects before it
// and untouched after it. Bad arguments return an error naming the argument,
// before anything is written. Sources are never written.
func Calculate(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	objects, err := Validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	return calculate(sources, vectorOffset, objectSize, objects, results, target, false)
}

// CalculateSlow is Calculate with every object sent through the slow path,
// the topological sort that defines the answer. It exists to test fast paths
// against; it gives identical results and errors, only slower.
func CalculateSlow(sources [][]byte, vectorOffset, objectSize int, results []Result, target []byte) error {
	objects, err := Validate(sources, vectorOffset, objectSize, results, target)
	if err != nil {
		return err
	}
	return calculate(sources, vectorOffset, objectSize, objects, results, target, true)
}

// CalculateRange is Calculate on objects [from, to) of validated arguments:
// the building block of kernels that run a fast path of their own and of
// parallel batches. Object indices in errors count from the start of the
// sources, not from 'from'.
func CalculateRange(sources [][]byte, vectorOffset, objectSize, from, to int, results []Result, target []byte) error {
	var g *graph
	defer func() {
		if g != nil {
			putGraph(g)
		}
	}()
	for o := from; o < to; o++ {
		off := o*objectSize + vectorOffset
		r, ok := fast(sources, off)
		if !ok {
			if g == nil {
				g = getGraph()
			}
			var err error
			if r, err = g.quorum(sources, off); err != nil {
				return &ObjectError{Index: o, Err: err}
			}
		}
		results[o] = r
		if target != nil {
			copyObject(sources, objectSize, o, r, target)
		}
	}
	return nil
}

func calculate(sources [][]byte, vectorOffset, objectSize, objects int, results []Result, target []byte, slow bool) error {
	if !slow {
		return CalculateRange(sources, vectorOffset, objectSize, 0, objects, results, target)
	}
	g := getGraph()
	defer putGraph(g)
	for o := range objects {
		r, err := g.quorum(sources, o*objectSize+vectorOffset)
		if err != nil {
			return &ObjectError{Index: o, Err: err}
		}
		results[o] = r
		if target != nil {
			copyObject(sources, objectSize, o, r, target)
		}
	}
	return nil
}

// copyObject writes object o's target: the leader's object, or zeros if the
// object has no leader.
func copyObject(sources [][]byte, objectSize, o int, r Result, target []byte) {
	start := o * objectSize
	dst := target[start : start+objectSize]
	if r.Length == 0 {
		clear(dst)
		return
	}
	copy(dst, sources[r.Leader][start:start+objectSize])
}

// fast decides, in one pass and without building the graph, the objects
// whose replicas hold at most two distinct vectors: all on one vector, two
// unrelated vectors (a partition, a stranger), or one vector built directly
// on the other (an interrupted transaction). It reports false for anything
// else, including every cycle and conflict, which the slow path decides.
func fast(sources [][]byte, off int) (Result, bool) {
	a := sources[0][off : off+VectorSize : off+VectorSize]
	a0 := binary.LittleEndian.Uint64(a[0:])
	a1 := binary.LittleEndian.Uint64(a[8:])
	a2 := binary.LittleEndian.Uint64(a[16:])
	a3 := binary.LittleEndian.Uint64(a[24:])
	var b0, b1, b2, b3 uint64
	na, nb, ib := 1, 0, 0
	for r := 1; r < len(sources); r++ {
		v := sources[r][off : off+VectorSize : off+VectorSize]
		v0 := binary.LittleEndian.Uint64(v[0:])
		v1 := binary.LittleEndian.Uint64(v[8:])
		v2 := binary.LittleEndian.Uint64(v[16:])
		v3 := binary.LittleEndian.Uint64(v[24:])
		if (v0^a0)|(v1^a1)|(v2^a2)|(v3^a3) == 0 {
			na++
			continue
		}
		if nb == 0 {
			b0, b1, b2, b3, ib = v0, v1, v2, v3, r
		} else if (v0^b0)|(v1^b1)|(v2^b2)|(v3^b3) != 0 {
			return Result{}, false // a third vector
		}
		nb++
	}
	if a0 == a2 && a1 == a3 {
		return Result{}, false // a depends on itself
	}
	if nb == 0 {
		return Result{Length: uint8(na)}, true
	}
	switch {
	case b0 == b2 && b1 == b3, // b depends on itself
		a0 == b0 && a1 == b1: // one ID0, two ID1s: a conflict
		return Result{}, false
	case b2 == a0 && b3 == a1: // b was built on a
		if a2 == b0 && a3 == b1 {
			return Result{}, false // and a on b: a cycle
		}
		return Result{Leader: uint8(ib), Length: uint8(na + nb), Repair: uint8(na)}, true
	case a2 == b0 && a3 == b1: // a was built on b
		return Result{Leader: 0, Length: uint8(na + nb), Repair: uint8(nb)}, true
	case na > nb:
		return Result{Leader: 0, Length: uint8(na)}, true
	case nb > na:
		return Result{Leader: uint8(ib), Length: uint8(nb)}, true
	}
	return Result{Forked: true}, true
}
