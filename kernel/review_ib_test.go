//go:build amd64 && gc && !purego && unix

package kernel

// Review of One's and Decide's ib (one multiply of the header offset) and
// of their scalar unrelated-first test: every position of b at every
// replica count, the slice headers against a guard page and every vector
// against its own, compared with the portable Go answers.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"unsafe"

	"github.com/lockstep/quorum/internal/guard"
	"github.com/lockstep/quorum/kernel/internal/asm"
)

// reviewIBSeed fixes the relation each (n, ib, shape) gets; printed on failure.
const reviewIBSeed = 20261201

// reviewIBID is an ID of two 64-bit halves.
type reviewIBID [2]uint64

// reviewIBVector is id0 then id1.
func reviewIBVector(id0, id1 reviewIBID) []byte {
	v := make([]byte, 32)
	binary.LittleEndian.PutUint64(v[0:], id0[0])
	binary.LittleEndian.PutUint64(v[8:], id0[1])
	binary.LittleEndian.PutUint64(v[16:], id1[0])
	binary.LittleEndian.PutUint64(v[24:], id1[1])
	return v
}

// reviewIBPairs are a and b in each relation unrelatedFirst and the vector
// relations tell apart, and in each way one of its five compares of first
// halves can meet equal halves of IDs that differ (unrelated all the same).
func reviewIBPairs() [][2][]byte {
	A, B, C, X, Y := reviewIBID{1, 2}, reviewIBID{3, 4}, reviewIBID{5, 6}, reviewIBID{7, 8}, reviewIBID{9, 10}
	Ah, Bh, Xh := reviewIBID{1, 99}, reviewIBID{3, 98}, reviewIBID{7, 97} // A's, B's, X's first halves
	v := reviewIBVector
	return [][2][]byte{
		{v(B, A), v(Y, X)},   // unrelated
		{v(B, A), v(C, B)},   // b on a
		{v(C, B), v(B, A)},   // a on b
		{v(B, A), v(C, A)},   // forks of A
		{v(B, A), v(Ah, X)},  // a.ID1 and b.ID0 share a half
		{v(B, A), v(X, Bh)},  // a.ID0 and b.ID1
		{v(Ah, A), v(Y, X)},  // a.ID0 and a.ID1
		{v(B, A), v(Xh, X)},  // b.ID0 and b.ID1
		{v(B, A), v(Bh, X)},  // a.ID0 and b.ID0
		{v(B, A), v(Ah, Bh)}, // both chains' halves
		{v(B, A), v(B, X)},   // conflict
		{v(B, A), v(A, B)},   // a cycle of two
		{v(B, A), v(C, C)},   // b on itself
		{v(A, A), v(C, B)},   // a on itself
	}
}

// reviewIBWord is the result word of a Result (resultsOf's layout).
func reviewIBWord(r Result) uint32 {
	w := uint32(r.Leader) | uint32(r.Length)<<8 | uint32(r.Repair)<<16
	if r.Forked {
		w |= 1 << 24
	}
	return w
}

// TestReviewEveryIB lays out, for every n from 2 to 255 and every ib from
// 1 to n-1, replica 0..ib-1 on a and replica ib on b, then the rest on a
// (b alone, last when ib = n-1), on b, or on a but for one stranger last
// (a third vector: an ib off by one would count it). Each object's slice
// headers end at a guard page and each vector at its own. Quorum must
// give generic's result or error; One must hand Slow exactly the objects
// it may not decide (a wrong ib hides behind the slow path otherwise);
// Decide must decide every valid two-vector object with generic's word,
// and its onA up to 64 replicas; Roles and Depths must match place, the
// portable Go.
func TestReviewEveryIB(t *testing.T) {
	if !asm.Available() || asm.OneOff {
		t.Skip("the assembly is not what Quorum runs here")
	}
	var bufs []*guard.Buffer
	defer func() {
		for _, b := range bufs {
			b.Free()
		}
	}()
	guarded := func(size int) *guard.Buffer {
		b, err := guard.New(size)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
		return b
	}
	readOnly := func(v []byte) []byte {
		b := guarded(len(v))
		copy(b.Bytes, v)
		if err := b.ReadOnly(); err != nil {
			t.Fatal(err)
		}
		return b.Bytes
	}
	var pairs [][2][]byte
	var valid []int
	for i, p := range reviewIBPairs() {
		pairs = append(pairs, [2][]byte{readOnly(p[0]), readOnly(p[1])})
		if _, err := reviewIBGeneric([][]byte{p[0], p[1]}); err == nil {
			valid = append(valid, i)
		}
	}
	stranger := readOnly(reviewIBVector(reviewIBID{11, 12}, reviewIBID{13, 14}))
	hdrs := guarded(headerBytes(SourcesMax))

	handed := 0
	slow := asm.Slow
	asm.Slow = func(vectors [][]byte) (uint32, error) {
		handed++
		return slow(vectors)
	}
	defer func() { asm.Slow = slow }()

	roles, wantRoles := make([]Role, SourcesMax+1), make([]Role, SourcesMax+1)
	depths, wantDepths := make([]uint8, SourcesMax+1), make([]uint8, SourcesMax+1)
	state := uint64(reviewIBSeed)
	for n := 2; n <= SourcesMax; n++ {
		// The headers' last byte is the last before the guard.
		vs := unsafe.Slice((*[]byte)(unsafe.Pointer(&hdrs.Bytes[len(hdrs.Bytes)-headerBytes(n)])), n)
		for ib := 1; ib < n; ib++ {
			for shape := range 3 {
				if shape == 2 && ib == n-1 {
					continue // no room for the stranger
				}
				state = state*6364136223846793005 + 1442695040888963407
				pi := int(state>>33) % len(pairs)
				if shape == 2 {
					pi = valid[int(state>>33)%len(valid)]
				}
				a, b := pairs[pi][0], pairs[pi][1]
				for i := range vs {
					switch {
					case i == ib || i > ib && shape == 1:
						vs[i] = b
					case shape == 2 && i == n-1:
						vs[i] = stranger
					default:
						vs[i] = a
					}
				}
				ctx := func() string {
					return fmt.Sprintf("seed %d: n=%d ib=%d shape %d pair %d", reviewIBSeed, n, ib, shape, pi)
				}
				reviewIBCheck(t, vs, shape != 2, &handed, ctx, roles, wantRoles, depths, wantDepths)
			}
		}
	}
}

// headerBytes is the size of n slice headers.
func headerBytes(n int) int { return n * int(unsafe.Sizeof([]byte(nil))) }

// reviewIBGeneric is generic's answer for one object.
func reviewIBGeneric(vs [][]byte) (Result, error) {
	res := make([]Result, 1)
	err := CalculateWith("generic", vs, 0, VectorSize, res, nil)
	return res[0], err
}

// reviewIBCheck compares one object's answers: two says it holds two
// distinct vectors (so a valid one must be decided by One and Decide).
func reviewIBCheck(t *testing.T, vs [][]byte, two bool, handed *int, ctx func() string, roles, wantRoles []Role, depths, wantDepths []uint8) {
	t.Helper()
	n := len(vs)
	want, wantErr := reviewIBGeneric(vs)
	sameErr := func(err error) bool {
		return (err == nil) == (wantErr == nil) &&
			errors.Is(err, ErrCyclic) == errors.Is(wantErr, ErrCyclic) &&
			errors.Is(err, ErrConflict) == errors.Is(wantErr, ErrConflict)
	}
	if got, err := Quorum(vs); !sameErr(err) || err == nil && got != want {
		t.Fatalf("%s: Quorum %+v, %v; generic %+v, %v", ctx(), got, err, want, wantErr)
	}
	before := *handed
	word, err := asm.One(vs)
	mayDecide := wantErr == nil && (two || n <= asm.SmallMax)
	switch {
	case !sameErr(err) || err == nil && word != reviewIBWord(want):
		t.Fatalf("%s: One %#x, %v; generic %+v, %v", ctx(), word, err, want, wantErr)
	case wantErr == nil && two && *handed != before:
		t.Fatalf("%s: One handed a valid two-vector object to Slow", ctx())
	case !mayDecide && *handed == before:
		t.Fatalf("%s: One decided an object it must hand back", ctx())
	}
	w, onA := asm.Decide(&vs[0], n)
	switch {
	case w == asm.Undecided && wantErr == nil && two:
		t.Fatalf("%s: Decide left a valid two-vector object undecided", ctx())
	case w != asm.Undecided && !mayDecide:
		t.Fatalf("%s: Decide %#x on an object it must leave (generic %+v, %v)", ctx(), w, want, wantErr)
	case w != asm.Undecided && w != reviewIBWord(want):
		t.Fatalf("%s: Decide %#x, generic %#x", ctx(), w, reviewIBWord(want))
	case w != asm.Undecided && n <= 64 && !want.Forked:
		var wantOnA uint64
		for i := range n {
			if string(vs[i]) == string(vs[0]) {
				wantOnA |= 1 << i
			}
		}
		if onA&(1<<n-1) != wantOnA {
			t.Fatalf("%s: Decide's onA %#x, want %#x", ctx(), onA, wantOnA)
		}
	}
	if n > 64 && n != SourcesMax {
		return // placeAsm runs up to 64 replicas; 255 stays as a check of the fallback
	}
	for i := range n + 1 {
		roles[i], wantRoles[i], depths[i], wantDepths[i] = 99, 99, 99, 99
	}
	r, err := Roles(vs, roles[:n])
	wr, werr := place(vs, wantRoles[:n], nil)
	if !sameErr(err) || !sameErr(werr) || err == nil && (r != wr || string(unsafe.Slice((*byte)(&roles[0]), n+1)) != string(unsafe.Slice((*byte)(&wantRoles[0]), n+1))) {
		t.Fatalf("%s: Roles %+v %v, %v; place %+v %v, %v", ctx(), r, roles[:n+1], err, wr, wantRoles[:n+1], werr)
	}
	r, err = Depths(vs, depths[:n])
	wr, werr = place(vs, nil, wantDepths[:n])
	if !sameErr(err) || err == nil && (r != wr || string(depths[:n+1]) != string(wantDepths[:n+1])) {
		t.Fatalf("%s: Depths %+v %v, %v; place %+v %v, %v", ctx(), r, depths[:n+1], err, wr, wantDepths[:n+1], werr)
	}
}
