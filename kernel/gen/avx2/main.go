// Command avx2 generates the AVX2 fast path of the quorum kernel
// (kernel/internal/asm/avx2_amd64.s and its Go declaration) with avo.
//
// Per object the routine decides, as SPEC.md's fast path does, the objects
// whose replicas hold at most two distinct vectors, a and b:
//
//  1. a is replica 0's vector. Scan forward while replicas equal a: the
//     next one alone, then eight at a time, then one at a time; one 256-bit
//     compare per replica covers the whole vector, so ID1 is checked for
//     free. If all do, the object is agreed.
//  2. Otherwise b is the first replica that differs (index ib). Count the
//     replicas in groups of sixteen, two compares per 32-bit lane per
//     replica and no branch:
//     - a: VPAVGW of the compare into a 16-bit code is (code+0x10000)>>1 on
//     a match and (code+1)>>1 otherwise; from zero, the code's low bit is
//     clear before each of at most 16 steps, so no rounding happens and the
//     match bit is shifted in. After a group each lane's code is exactly
//     the set of the group's replicas matching a in that lane. Every lane
//     where a and b differ must hold the same set (the group's copies of
//     a): a replica mixing a's and b's lanes cannot hide, and the set's
//     popcount counts a exactly.
//     - b: a plain count of matches. Where a and b agree, every replica
//     must match. Where they differ, copies of a cannot match b, so the
//     count must be nb = n-na: every non-a replica matches b.
//     Counting starts at the replica that makes the groups whole, at most
//     15 before ib; replicas before ib are copies of a, and the driver puts
//     15 copies of replica 0's pointer before it, so a start below 0 reads a.
//     When the next object also leaves phase 1 for phase 2, both are
//     counted in the same pass, one pointer load serving two objects.
//  3. Compare a and b once: self-loops, a conflict (one ID0, two ID1s) or a
//     mutual dependency go to the slow path; one built on the other is a
//     chain; otherwise the larger group wins and a tie is split-brain.
//
// An object it cannot decide is handed back to Go by returning its index,
// with nothing written for it or after it.
package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Register roles, fixed for the whole routine so the listing reads alone.
var (
	ptrs = RAX // the sources' data pointers, 8 bytes each
	n    = RBX // replicas
	obj  = RDX // current object index
	r    = RSI // replica index; the object's ib while deciding
	p    = RDI // a replica's data pointer; the leader's index once decided
	mask = R8  // compare masks
	na   = R9  // replicas equal to a, once counted
	word = R11 // the result being built: leader | length<<8 | repair<<16 | forked<<24
	nb   = R12 // replicas on b, once counted; before that a loop limit
	tmp  = R13 // scratch
)

// object is the state of one object being decided; two can be in flight.
type object struct {
	off    Register    // byte offset of its vector in every source
	pop    Register    // counting: sum of the groups' set popcounts, twice over
	a, b   VecPhysical // replica 0's vector and the first other one
	codes  VecPhysical // this group's 16-bit code per 32-bit lane: replicas matching a
	counts VecPhysical // per 32-bit lane: replicas matching b
	bad    VecPhysical // OR of every group's codes XOR the code of lane pick
	pick   VecPhysical // a 32-bit lane where a and b differ, in every lane (VPERMD index)
	ib     Mem         // index of the first replica on b
}

var (
	objects = [2]object{
		{off: RCX, pop: R9, a: Y0, b: Y1, codes: Y2, counts: Y3, bad: Y4, pick: Y5},
		{off: R14, pop: R10, a: Y6, b: Y7, codes: Y8, counts: Y9, bad: Y10, pick: Y11},
	}
	// Phase 1's eight compare results: object 0's counting registers are
	// free until both objects have been scanned.
	scan8 = []VecPhysical{Y12, Y13, Y14, Y15, Y2, Y3, Y4, Y5}
	t     = []VecPhysical{Y12, Y13, Y14, Y15} // scratch
)

const group = 16 // replicas per code: VPAVGW shifts 16-bit codes

// directMax is the most replicas counted directly (see direct) rather than
// in groups: below it a group's set-up costs more than the compares it
// saves.
const directMax = 8

func vec(base, off Register) Mem { return Mem{Base: base, Index: off, Scale: 1} }

// loadPtr sets p to replica (r + k)'s data pointer.
func loadPtr(k int) { MOVQ(Mem{Base: ptrs, Index: r, Scale: 8, Disp: 8 * k}, p) }

func main() {
	ConstraintExpr("gc,!purego")
	declareFillers()
	TEXT("Fast", NOSPLIT, "func(ptrs **byte, n, vectorOffset, objectSize, from, to int, results *uint32, target *byte) int")
	Pragma("noescape")
	Doc(
		"Fast decides objects [from, to) on the fast path, writing results[o] and,",
		"if target is not nil, target's object o. It returns the index of the first",
		"object it cannot decide (to if none), having written nothing for it or",
		"any later object. ptrs points at the n sources' data pointers, preceded by",
		"15 copies of the first; the arguments are validated.",
	)
	Comment(
		"Registers: AX ptrs, BX n, CX and R14 offsets of objects o and o+1's vectors,",
		"DX object, SI replica (then ib), DI replica pointer (then leader), R8 masks,",
		"R9 and R10 popcounts of objects o and o+1 (R9 then na), R11 result,",
		"R12 loop limit then nb, R13 scratch. Object o: Y0 a, Y1 b, Y2 codes,",
		"Y3 counts of b, Y4 bad, Y5 pick; object o+1: Y6-Y11 likewise; Y12-Y15 scratch.",
	)
	objects[0].ib, objects[1].ib = AllocLocal(8), AllocLocal(8)
	start, pending, common := AllocLocal(8), AllocLocal(8), AllocLocal(8)
	Load(Param("ptrs"), ptrs)
	Load(Param("n"), n)
	Load(Param("vectorOffset"), objects[0].off)
	Load(Param("from"), obj)
	Load(Param("objectSize"), tmp)
	IMULQ(obj, tmp)
	ADDQ(tmp, objects[0].off)
	MOVQ(U32(0), pending)

	Label("object")
	to, _ := Param("to").Resolve()
	CMPQ(obj, to.Addr)
	JAE(LabelRef("done"))
	a0, a1 := objects[0].a, objects[1].a
	MOVQ(Mem{Base: ptrs}, p)
	VMOVDQU(vec(p, objects[0].off), a0)
	MOVQ(U32(1), r)
	LEAQ(Mem{Base: obj, Disp: 1}, tmp)
	CMPQ(tmp, to.Addr)
	JAE(LabelRef("scan0"))
	Load(Param("objectSize"), objects[1].off)
	ADDQ(objects[0].off, objects[1].off)
	VMOVDQU(vec(p, objects[1].off), a1)
	scanBoth(common)

	Label("scan0")
	scan(0, "agreed0", "slow")

	Comment("Object o leaves phase 1: scan o+1 too, to count both in one pass.")
	LEAQ(Mem{Base: obj, Disp: 1}, tmp)
	CMPQ(tmp, to.Addr)
	JAE(LabelRef("single"))
	MOVQ(common, r)
	scan(1, "single", "single")
	MOVQ(objects[0].ib, tmp)
	CMPQ(tmp, objects[1].ib)
	CMOVQGT(objects[1].ib, tmp) // the lower ib of the two
	CMPQ(n, U8(directMax))
	JLE(LabelRef("pairDirect"))
	MOVQ(U32(1), pending)
	counting([]object{objects[0], objects[1]}, start, "pair")

	Label("single")
	CMPQ(n, U8(directMax))
	JLE(LabelRef("direct0"))
	MOVQ(objects[0].ib, tmp)
	counting([]object{objects[0]}, start, "one")

	decide(0, start)
	decide(1, start)

	Label("pairDirect")
	MOVQ(U32(3), pending)
	direct(0)
	direct(1)

	Label("agreedPair")
	MOVQ(U32(2), pending)
	for k, o := range objects {
		Label(fmt.Sprint("agreed", k))
		Comment("Every replica holds a: agreed, unless a depends on itself.")
		selfLoop(o.a, t[0])
		Comment("leader 0, length n")
		MOVQ(n, word)
		SHLQ(U8(8), word)
		XORQ(p, p)
		if k == 0 {
			JMP(LabelRef("write"))
		}
	}

	Label("write")
	Load(Param("results"), tmp)
	MOVL(word.As32(), Mem{Base: tmp, Index: obj, Scale: 4})
	copyTarget()
	INCQ(obj)
	Load(Param("objectSize"), tmp)
	ADDQ(tmp, objects[0].off)
	Comment("The second object of a pair is decided after the first is written:",
		"pending is 1 when it was counted, 2 when it is agreed, 3 when it is to",
		"be counted directly.")
	MOVQ(pending, tmp)
	MOVQ(U32(0), pending)
	CMPQ(tmp, U8(1))
	JB(LabelRef("object"))
	JE(LabelRef("decide1"))
	CMPQ(tmp, U8(3))
	JE(LabelRef("direct1"))
	JMP(LabelRef("agreed1"))

	Label("slow")
	Label("done")
	VZEROUPPER()
	Store(obj, ReturnIndex(0))
	RET()

	small()
	singles()
	Generate()
}

// scan emits phase 1 for object k from replica r on, its a loaded and
// replicas before r known to equal it: replicas equal to a are skipped. It
// jumps to agreed if all are, sets b and ib otherwise, and jumps to third
// if replica ib+1 holds a third vector (the common way to leave the fast
// path: every replica on its own state).
func scan(k int, agreed, third string) {
	o := objects[k]
	l := func(s string) LabelRef { return LabelRef(fmt.Sprint(s, k)) }
	Comment(fmt.Sprintf("Phase 1, object o+%d: skip replicas equal to a.", k))
	skip(fmt.Sprint("scan", k, "_"), func(j int, into VecPhysical) {
		loadPtr(j)
		VPCMPEQB(vec(p, o.off), o.a, into)
	}, scan8, LabelRef(agreed), l("second"))

	Label(string(l("second")))
	VMOVDQU(vec(p, o.off), o.b) // p is replica r's: the failed match loaded it
	MOVQ(r, o.ib)
	LEAQ(Mem{Base: r, Disp: 1}, tmp)
	CMPQ(tmp, n)
	JE(l("scanned"))
	loadPtr(1)
	VMOVDQU(vec(p, o.off), t[0])
	sameVector(t[0], o.a, t[1])
	JE(l("scanned"))
	sameVector(t[0], o.b, t[1])
	JNE(LabelRef(third))
	Label(string(l("scanned")))
}

// scanBoth emits phase 1 for objects o and o+1 together (their a loaded,
// r = 1), so that each replica's cache line, which often holds both, is
// read once. If every replica holds a in both, it jumps to agreedPair;
// otherwise it stores in common the first replica where either differs and
// falls through, to scan each from there.
func scanBoth(common Mem) {
	Comment("Phase 1, objects o and o+1 together: skip replicas equal to a in both.")
	skip("both", func(j int, into VecPhysical) {
		loadPtr(j)
		VPCMPEQB(vec(p, objects[0].off), objects[0].a, into)
		VPCMPEQB(vec(p, objects[1].off), objects[1].a, t[0])
		VPAND(t[0], into, into)
	}, []VecPhysical{Y8, Y13, Y14, Y15, Y2, Y3, Y4, Y5}, LabelRef("agreedPair"), "bothDiffer") // like scan8, with object 1's codes (also free until counting) for t[0], which the compare uses
	Label("bothDiffer")
	MOVQ(r, common)
}

// skip emits a loop over replicas from r on while they match: match(j, into)
// sets into's bytes to all ones where replica r+j matches. Replica r is
// tried alone first (when it differs, eight compares would be wasted), then
// eight at a time into the registers eight, then one at a time. It jumps to
// done when r reaches n, and to differ with r at the first replica that
// does not match.
func skip(name string, match func(j int, into VecPhysical), eight []VecPhysical, done, differ LabelRef) {
	one := func() {
		CMPQ(r, n)
		JE(done)
		match(0, t[1])
		VPMOVMSKB(t[1], mask.As32())
		CMPL(mask.As32(), U32(0xffffffff))
		JNE(differ)
		INCQ(r)
	}
	one()
	MOVQ(n, nb)
	SUBQ(U8(8), nb)
	Label(name + "8")
	CMPQ(r, nb)
	JG(LabelRef(name + "1"))
	for j := range 8 {
		match(j, eight[j])
	}
	andTree(eight)
	VPMOVMSKB(eight[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
	JNE(LabelRef(name + "1")) // a difference among these eight: find it one by one
	ADDQ(U8(8), r)
	JMP(LabelRef(name + "8"))
	Label(name + "1")
	one()
	JMP(LabelRef(name + "1"))
}

// andTree ANDs the eight compare results into the first.
func andTree(v []VecPhysical) {
	for step := 1; step < len(v); step *= 2 {
		for j := 0; j < len(v); j += 2 * step {
			VPAND(v[j+step], v[j], v[j])
		}
	}
}

// counting emits phase 2 for objs, given the lowest ib in tmp, and jumps
// to decide0. A group always runs whole, from replica
// n - size*ceil((n-ib)/size), which is at most 15 below ib, so at least
// -14; the group size is the smallest of 2, 4, 8 and 16 that holds the
// replicas from ib on, or 16.
func counting(objs []object, start Mem, name string) {
	sizes := []int{2, 4, 8, group}
	NEGQ(tmp)
	ADDQ(n, tmp) // replicas from ib on
	for _, size := range sizes[:len(sizes)-1] {
		CMPQ(tmp, U8(size))
		JLE(LabelRef(fmt.Sprint(name, size)))
	}
	for i := len(sizes) - 1; i >= 0; i-- {
		size := sizes[i]
		Label(fmt.Sprint(name, size))
		LEAQ(Mem{Base: tmp, Disp: size - 1}, tmp)
		ANDQ(I8(-size), tmp)
		NEGQ(tmp)
		ADDQ(n, tmp)
		MOVQ(tmp, start)
		count(objs, start, size, fmt.Sprint(name, size, "group"))
		JMP(LabelRef("decide0"))
	}
}

// count emits phase 2 for objs over replicas [start, n), in whole groups.
func count(objs []object, start Mem, size int, name string) {
	Comment(fmt.Sprintf("Phase 2 (%d object(s)): count from start in groups of %d.", len(objs), size))
	for _, o := range objs {
		Comment("pick = the first 32-bit lane where a and b differ (one does: a != b)")
		VPCMPEQD(o.a, o.b, t[0])
		VMOVMSKPS(t[0], tmp.As32())
		NOTL(tmp.As32())
		BSFL(tmp.As32(), tmp.As32())
		VMOVD(tmp.As32(), o.pick.AsX())
		VPBROADCASTD(o.pick.AsX(), o.pick)
		VPXOR(o.counts, o.counts, o.counts)
		VPXOR(o.bad, o.bad, o.bad)
		XORQ(o.pop, o.pop)
	}
	MOVQ(start, r)
	Label(name)
	for _, o := range objs {
		VPXOR(o.codes, o.codes, o.codes)
	}
	for j := range size {
		loadPtr(j)
		for k, o := range objs {
			matchA, matchB := t[2*k], t[2*k+1]
			VPCMPEQD(vec(p, o.off), o.a, matchA)
			VPAVGW(matchA, o.codes, o.codes) // shift the match bit in at the top
			VPCMPEQD(vec(p, o.off), o.b, matchB)
			VPSUBD(matchB, o.counts, o.counts) // a match is -1: subtracting counts it
		}
	}
	for k, o := range objs {
		set := t[2*k]
		VPERMD(o.codes, o.pick, set) // lane pick's code in every lane
		VMOVD(set.AsX(), tmp.As32())
		POPCNTL(tmp.As32(), tmp.As32()) // the code twice over: both halves of the lane
		ADDQ(tmp, o.pop)
		VPXOR(set, o.codes, set)
		VPOR(set, o.bad, o.bad)
	}
	ADDQ(U8(size), r)
	CMPQ(r, n)
	JL(LabelRef(name))
}

// decide emits the checks and the relations of object k after counting,
// ending in a jump to write or to slow.
func decide(k int, start Mem) {
	o := objects[k]
	l := func(s string) LabelRef { return LabelRef(fmt.Sprint(s, k)) }
	a, b := o.a, o.b
	Label(string(l("decide")))
	Comment("Every group matched a in all lanes where a and b differ, or in none.")
	same := t[0] // the 32-bit lanes where a and b agree
	VPCMPEQD(a, b, same)
	VPTEST(o.bad, same) // carry iff bad is zero where a and b differ
	JCC(LabelRef("slow"))
	Comment("na = start + popcounts/2; nb = n - na")
	if o.pop != na {
		MOVQ(o.pop, na)
	}
	SHRQ(U8(1), na)
	ADDQ(start, na)
	MOVQ(n, nb)
	SUBQ(na, nb)
	Comment("b's counts: n-start where a and b agree, nb where they differ.")
	MOVQ(n, tmp)
	SUBQ(start, tmp)
	MOVQ(tmp, t[1].AsX())
	VPBROADCASTD(t[1].AsX(), t[1])
	VPXOR(o.counts, t[1], t[1])
	VPTEST(t[1], same) // zero iff the counts match where a and b agree
	JNE(LabelRef("slow"))
	MOVQ(nb, t[1].AsX())
	VPBROADCASTD(t[1].AsX(), t[1])
	VPXOR(o.counts, t[1], t[1])
	VPTEST(t[1], same) // carry iff they match where a and b differ
	JCC(LabelRef("slow"))
	Label(string(l("relations")))
	ib := r
	MOVQ(o.ib, ib)

	exactRelations(a, b, "slow", l("bOnA"), l("aOnB"))

	Comment("Unrelated: the larger group wins; equal groups are split-brain.")
	CMPQ(na, nb)
	JA(l("aWins"))
	JB(l("bWins"))
	MOVL(U32(1<<24), word.As32())
	JMP(LabelRef("write"))

	Label(string(l("aWins")))
	Comment("leader 0, length na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("write"))

	Label(string(l("bWins")))
	Comment("leader ib, length nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(ib, word)
	MOVQ(ib, p)
	JMP(LabelRef("write"))

	Label(string(l("bOnA")))
	Comment("b was built on a: leader ib, length n, repair na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	ORQ(ib, word)
	MOVQ(ib, p)
	JMP(LabelRef("write"))

	Label(string(l("aOnB")))
	Comment("a was built on b: leader 0, length n, repair nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("write"))
}

// direct emits phase 2 for object k when there are few replicas: each
// replica after ib is compared whole with a, then with b, and counted, or
// the object goes to the slow path; replicas before ib hold a. A whole
// 32-byte compare needs none of the lane checks of counting. It ends at the
// relations of decide.
func direct(k int) {
	o := objects[k]
	l := func(s string) LabelRef { return LabelRef(fmt.Sprint(s, k)) }
	Label(string(l("direct")))
	Comment(fmt.Sprintf("Phase 2, object o+%d, few replicas: compare each after ib whole.", k))
	MOVQ(o.ib, na) // replicas before ib hold a
	MOVQ(U32(1), nb)
	MOVQ(o.ib, r)
	Label(string(l("directNext")))
	INCQ(r)
	CMPQ(r, n)
	JE(l("relations"))
	loadPtr(0)
	sameVector(vec(p, o.off), o.a, t[0])
	JNE(l("directB"))
	INCQ(na)
	JMP(l("directNext"))
	Label(string(l("directB")))
	sameVector(vec(p, o.off), o.b, t[0])
	JNE(LabelRef("slow"))
	INCQ(nb)
	JMP(l("directNext"))
}

// selfLoop jumps to slow if vector v's ID0 equals its ID1 (a cycle). It
// leaves v with its IDs swapped in swapped unless swapped is t[0], which it
// uses for the compare.
func selfLoop(v, swapped VecPhysical) { selfLoopTo(v, swapped, "slow") }

// selfLoopTo is selfLoop jumping to slow.
func selfLoopTo(v, swapped VecPhysical, slow LabelRef) {
	VPERMQ(U8(0x4e), v, swapped) // (v.ID1, v.ID0)
	VPCMPEQB(v, swapped, t[0])
	VPMOVMSKB(t[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff))
	JE(slow)
}

// exactRelations emits the relations of two distinct vectors a and b,
// comparing whole 16-byte IDs (a 16-bit mask of 0xffff is equal): a
// self-loop, a conflict (one ID0, two ID1s) or a cycle jumps to slow, b
// built on a to bOnA, a built on b to aOnB; unrelated vectors fall
// through. Uses t[0], t[1] and mask.
func exactRelations(a, b VecPhysical, slow, bOnA, aOnB LabelRef) {
	Comment("Relations of a and b, comparing 16-byte IDs (a 16-bit mask of 0xffff is equal).")
	selfLoopTo(a, t[0], slow)
	selfLoopTo(b, t[1], slow) // t[1] = (b.ID1, b.ID0) from here on
	VPCMPEQB(a, b, t[0])
	VPMOVMSKB(t[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff)) // a.ID0 == b.ID0 (the vectors differ): a conflict
	JE(slow)
	VPCMPEQB(a, t[1], t[0]) // low: a.ID0 == b.ID1 (b on a); high: a.ID1 == b.ID0 (a on b)
	VPMOVMSKB(t[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff)) // each built on the other: a cycle
	JE(slow)
	CMPW(mask.As16(), U16(0xffff))
	JE(bOnA)
	SHRL(U8(16), mask.As32())
	CMPW(mask.As16(), U16(0xffff))
	JE(aOnB)
}

// sameVector sets ZF iff the 32 bytes at x equal vector v, using s.
func sameVector(x Op, v, s VecPhysical) {
	VPCMPEQB(x, v, s)
	VPMOVMSKB(s, mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
}

// copyTarget writes target's object: the leader's object (leader's index
// in p), or zeros when the result's length byte is zero. Objects are at
// least 32 bytes, so 128- then 32-byte moves from the start and a last one
// ending at the object's end cover it exactly. Uses r, nb, tmp, mask and
// the scratch vectors; the second object of a pair is left alone.
func copyTarget() {
	dst, src, last, at := r, nb, tmp, mask
	Load(Param("target"), dst)
	TESTQ(dst, dst)
	JE(LabelRef("copied"))
	Load(Param("objectSize"), last)
	MOVQ(obj, src)
	IMULQ(last, src)
	ADDQ(src, dst) // dst = target's object
	SUBQ(U8(32), last)
	XORQ(at, at)
	TESTL(U32(0xff00), word.As32())
	JE(LabelRef("zero"))
	MOVQ(Mem{Base: ptrs, Index: p, Scale: 8}, p)
	ADDQ(p, src) // src = the leader's object

	at32 := func(k int) Mem { return Mem{Base: src, Index: at, Scale: 1, Disp: 32 * k} }
	to32 := func(k int) Mem { return Mem{Base: dst, Index: at, Scale: 1, Disp: 32 * k} }
	Label("copy128")
	LEAQ(Mem{Base: at, Disp: 96}, p)
	CMPQ(p, last)
	JAE(LabelRef("copy32"))
	for k := range 4 {
		VMOVDQU(at32(k), t[k])
	}
	for k := range 4 {
		VMOVDQU(t[k], to32(k))
	}
	ADDQ(U8(128), at)
	JMP(LabelRef("copy128"))
	Label("copy32")
	CMPQ(at, last)
	JAE(LabelRef("copyLast"))
	VMOVDQU(at32(0), t[0])
	VMOVDQU(t[0], to32(0))
	ADDQ(U8(32), at)
	JMP(LabelRef("copy32"))
	Label("copyLast")
	VMOVDQU(Mem{Base: src, Index: last, Scale: 1}, t[0])
	VMOVDQU(t[0], Mem{Base: dst, Index: last, Scale: 1})
	JMP(LabelRef("copied"))

	Label("zero")
	zero := t[0]
	VPXOR(zero, zero, zero)
	Label("zero128")
	LEAQ(Mem{Base: at, Disp: 96}, p)
	CMPQ(p, last)
	JAE(LabelRef("zero32"))
	for k := range 4 {
		VMOVDQU(zero, to32(k))
	}
	ADDQ(U8(128), at)
	JMP(LabelRef("zero128"))
	Label("zero32")
	CMPQ(at, last)
	JAE(LabelRef("zeroLast"))
	VMOVDQU(zero, to32(0))
	ADDQ(U8(32), at)
	JMP(LabelRef("zero32"))
	Label("zeroLast")
	VMOVDQU(zero, Mem{Base: dst, Index: last, Scale: 1})
	Label("copied")
}
