// Command avx2 generates the AVX2 fast path of the quorum kernel
// (kernel/asm/avx2_amd64.s and its Go declaration) with avo.
//
// Per object the routine decides, as SPEC.md's fast path does, the objects
// whose replicas hold at most two distinct vectors, a and b:
//
//  1. a is replica 0's vector. Scan forward while replicas equal a, eight
//     then one at a time: one 256-bit compare per replica covers the whole
//     vector, so ID1 is checked for free. If all do, the object is agreed.
//  2. Otherwise b is the first replica that differs (index ib). Over the
//     rest, count exact matches of a (compare, movemask, carry of mask+1)
//     and, branch-free, per-64-bit-lane matches of b. The lane counts prove
//     that every non-a replica is b: each lane of b must have been matched
//     by all nb = n-na of them, plus by the na-ib copies of a counted from
//     ib on where a and b share that lane. (Lane counts alone would miss a replica mixing a's
//     and b's lanes; the exact count of a is what rules that out.)
//  3. Compare a and b once: self-loops, a conflict (one ID0, two ID1s) or a
//     mutual dependency go to the slow path; one built on the other is a
//     chain; otherwise the larger group wins and a tie is split-brain.
//
// An object it cannot decide is handed back to Go by returning its index.
package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// Register roles, fixed for the whole routine so the listing reads alone.
var (
	ptrs   = RAX                                             // the sources' data pointers, 8 bytes each
	n      = RBX                                             // replicas
	off    = RCX                                             // byte offset of the current object's vector in every source
	obj    = RDX                                             // current object index
	r      = RSI                                             // replica index
	p      = RDI                                             // a replica's data pointer; the leader's index once decided
	mask   = R8                                              // compare masks
	na     = R9                                              // replicas equal to a
	ib     = R10                                             // first replica on b
	word   = R11                                             // the result being built: leader | length<<8 | repair<<16 | forked<<24
	nb     = R12                                             // replicas on b, once counted
	limit  = R12                                             // before that: the last replica index an unrolled loop may start at
	tmp    = R13                                             // scratch
	a      = Y0                                              // replica 0's vector
	b      = Y1                                              // the first other vector
	laneB  = Y2                                              // per 64-bit lane: replicas matching b in that lane
	zero   = Y3                                              // zero, for filling target objects with no leader
	ones   = Y11                                             // all ones, while counting
	na2    = R8                                              // second counter of a while counting (then masks again)
	laneB2 = Y10                                             // second lane counts of b while counting
	y      = []VecPhysical{Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11} // replica vectors and compare results
	ycmp   = []VecPhysical{Y12, Y13, Y14, Y15}
)

func vec(base Register) Mem { return Mem{Base: base, Index: off, Scale: 1} }

// loadPtr sets p to replica (r + k)'s data pointer.
func loadPtr(k int) { MOVQ(Mem{Base: ptrs, Index: r, Scale: 8, Disp: 8 * k}, p) }

func main() {
	ConstraintExpr("gc,!purego")
	TEXT("fast", NOSPLIT, "func(ptrs **byte, n, vectorOffset, objectSize, from, to int, results *uint32, target *byte) int")
	Pragma("noescape")
	Doc(
		"fast decides objects [from, to) on the fast path, writing results[o] and,",
		"if target is not nil, target's object o. It returns the index of the first",
		"object it cannot decide (to if none), having written nothing for it.",
		"ptrs holds the n sources' data pointers; the arguments are validated.",
	)
	Comment(
		"Registers: AX ptrs, BX n, CX offset of the object's vector, DX object,",
		"SI replica, DI replica pointer (then leader), R8 masks, R9 na, R10 ib,",
		"R11 result, R12 loop limit then nb, R13 scratch; Y0 a, Y1 b, Y2 lane counts of b, Y3 zero.",
	)
	Load(Param("ptrs"), ptrs)
	Load(Param("n"), n)
	Load(Param("vectorOffset"), off)
	Load(Param("from"), obj)
	Load(Param("objectSize"), tmp)
	IMULQ(obj, tmp)
	ADDQ(tmp, off)
	VPXOR(zero, zero, zero)

	Label("object")
	to, _ := Param("to").Resolve()
	CMPQ(obj, to.Addr)
	JAE(LabelRef("done"))

	Comment("a = replica 0's vector")
	MOVQ(Mem{Base: ptrs}, p)
	VMOVDQU(vec(p), a)
	MOVQ(U32(1), r)

	Comment("Phase 1: skip replicas equal to a, eight at a time while eight remain.")
	MOVQ(n, limit)
	SUBQ(U8(8), limit)
	Label("scan8")
	CMPQ(r, limit)
	JG(LabelRef("scan1"))
	for k := range 8 {
		loadPtr(k)
		VPCMPEQB(vec(p), a, y[k])
	}
	VPAND(y[1], y[0], y[0])
	VPAND(y[3], y[2], y[2])
	VPAND(y[5], y[4], y[4])
	VPAND(y[7], y[6], y[6])
	VPAND(y[2], y[0], y[0])
	VPAND(y[6], y[4], y[4])
	VPAND(y[4], y[0], y[0])
	VPMOVMSKB(y[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
	JNE(LabelRef("scan1")) // a difference among these eight: find it one by one
	ADDQ(U8(8), r)
	JMP(LabelRef("scan8"))

	Label("scan1")
	CMPQ(r, n)
	JE(LabelRef("agreed"))
	loadPtr(0)
	sameVector(vec(p), a, y[0])
	JNE(LabelRef("second"))
	INCQ(r)
	JMP(LabelRef("scan1"))

	Label("agreed")
	Comment("Every replica holds a: agreed, unless a depends on itself.")
	VPERMQ(U8(0x4e), a, y[0]) // a with ID0 and ID1 swapped
	VPCMPEQB(a, y[0], y[0])
	VPMOVMSKB(y[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
	JE(LabelRef("slow"))
	Comment("leader 0, length n")
	MOVQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("write"))

	Label("second")
	Comment("Phase 2: b = replica r's vector, na = r. Counting starts at r, so b counts itself.")
	VMOVDQU(vec(p), b)
	MOVQ(r, ib)
	MOVQ(r, na)
	Comment("Most objects that leave the fast path do so because replica ib+1 is a",
		"third vector (every replica on its own state): catch that before counting.")
	LEAQ(Mem{Base: r, Disp: 1}, tmp)
	CMPQ(tmp, n)
	JE(LabelRef("counting"))
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8, Disp: 8}, p)
	VMOVDQU(vec(p), y[0])
	sameVector(y[0], a, y[1])
	JE(LabelRef("counting"))
	sameVector(y[0], b, y[1])
	JNE(LabelRef("slow"))
	Label("counting")
	VPXOR(laneB, laneB, laneB)
	VPXOR(laneB2, laneB2, laneB2)
	XORQ(na2, na2)
	VPCMPEQB(ones, ones, ones)

	MOVQ(n, limit)
	SUBQ(U8(4), limit)
	Label("count4")
	CMPQ(r, limit)
	JG(LabelRef("count1"))
	for k := range 4 {
		loadPtr(k)
		countReplica(vec(p), ycmp[k], k%2)
	}
	ADDQ(U8(4), r)
	JMP(LabelRef("count4"))

	Label("count1")
	CMPQ(r, n)
	JE(LabelRef("counted"))
	loadPtr(0)
	countReplica(vec(p), ycmp[0], 0)
	INCQ(r)
	JMP(LabelRef("count1"))

	Label("counted")
	ADDQ(na2, na)
	VPADDQ(laneB2, laneB, laneB)
	Comment("nb = n - na. Every non-a replica is b iff each lane of b was matched")
	Comment("nb times, plus (na-ib) times where a and b share the lane.")
	MOVQ(n, nb)
	SUBQ(na, nb)
	MOVQ(na, tmp)
	SUBQ(ib, tmp) // the copies of a counted from ib on, as the lane counts were
	MOVQ(tmp, y[0].AsX())
	VPBROADCASTQ(y[0].AsX(), y[0])
	VPCMPEQQ(a, b, y[1])
	VPAND(y[1], y[0], y[0])
	MOVQ(nb, y[1].AsX())
	VPBROADCASTQ(y[1].AsX(), y[1])
	VPADDQ(y[0], y[1], y[1])
	VPCMPEQQ(laneB, y[1], y[1])
	VPMOVMSKB(y[1], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
	JNE(LabelRef("slow"))

	Comment("Relations of a and b, comparing 16-byte IDs (a 16-bit mask of 0xffff is equal).")
	VPERMQ(U8(0x4e), a, y[0]) // (a.ID1, a.ID0)
	VPCMPEQB(a, y[0], y[0])
	VPMOVMSKB(y[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff)) // a.ID0 == a.ID1: a cycle
	JE(LabelRef("slow"))
	VPERMQ(U8(0x4e), b, y[1]) // (b.ID1, b.ID0)
	VPCMPEQB(b, y[1], y[0])
	VPMOVMSKB(y[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff)) // b.ID0 == b.ID1: a cycle
	JE(LabelRef("slow"))
	VPCMPEQB(a, b, y[0])
	VPMOVMSKB(y[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff)) // a.ID0 == b.ID0 (the vectors differ): a conflict
	JE(LabelRef("slow"))
	VPCMPEQB(a, y[1], y[0]) // low: a.ID0 == b.ID1 (b on a); high: a.ID1 == b.ID0 (a on b)
	VPMOVMSKB(y[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff)) // each built on the other: a cycle
	JE(LabelRef("slow"))
	CMPW(mask.As16(), U16(0xffff))
	JE(LabelRef("bOnA"))
	SHRL(U8(16), mask.As32())
	CMPW(mask.As16(), U16(0xffff))
	JE(LabelRef("aOnB"))

	Comment("Unrelated: the larger group wins; equal groups are split-brain.")
	CMPQ(na, nb)
	JA(LabelRef("aWins"))
	JB(LabelRef("bWins"))
	MOVL(U32(1<<24), word.As32())
	JMP(LabelRef("write"))

	Label("aWins")
	Comment("leader 0, length na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("write"))

	Label("bWins")
	Comment("leader ib, length nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(ib, word)
	MOVQ(ib, p)
	JMP(LabelRef("write"))

	Label("bOnA")
	Comment("b was built on a: leader ib, length n, repair na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	ORQ(ib, word)
	MOVQ(ib, p)
	JMP(LabelRef("write"))

	Label("aOnB")
	Comment("a was built on b: leader 0, length n, repair nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)

	Label("write")
	Load(Param("results"), tmp)
	MOVL(word.As32(), Mem{Base: tmp, Index: obj, Scale: 4})
	copyTarget()
	INCQ(obj)
	Load(Param("objectSize"), tmp)
	ADDQ(tmp, off)
	JMP(LabelRef("object"))

	Label("slow")
	Label("done")
	VZEROUPPER()
	Store(obj, ReturnIndex(0))
	RET()

	Generate()
}

// sameVector sets ZF iff the 32 bytes at x equal vector v, using t.
func sameVector(x Op, v, t VecPhysical) {
	VPCMPEQB(x, v, t)
	VPMOVMSKB(t, mask.As32())
	CMPL(mask.As32(), U32(0xffffffff))
}

// countReplica adds one replica's vector v to the counts: na += (v == a),
// and each lane of laneB += (that lane of v == that lane of b). Two sets of
// counters (half = 0, 1) halve the chains of dependent adds.
// v is read twice from memory: a load folded into each compare costs less
// than a separate load and a register.
func countReplica(v Mem, c VecPhysical, half int) {
	counter, lanes := []Register{na, na2}[half], []VecPhysical{laneB, laneB2}[half]
	VPCMPEQB(v, a, c)
	VPTEST(ones, c) // carry iff c is all ones: v == a
	ADCQ(U32(0), counter)
	VPCMPEQQ(v, b, c)
	VPSUBQ(c, lanes, lanes) // a matching lane is -1: subtracting counts it
}

// copyTarget writes target's object: the leader's object (leader's index
// in p), or zeros when the result's length byte is zero. Objects are at
// least 32 bytes, so 128- then 32-byte moves from the start and a last one
// ending at the object's end cover it exactly. Uses r, nb, tmp and mask as
// scratch.
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
	JE(LabelRef("zero128"))
	MOVQ(Mem{Base: ptrs, Index: p, Scale: 8}, p)
	ADDQ(p, src) // src = the leader's object

	at32 := func(k int) Mem { return Mem{Base: src, Index: at, Scale: 1, Disp: 32 * k} }
	to32 := func(k int) Mem { return Mem{Base: dst, Index: at, Scale: 1, Disp: 32 * k} }
	Label("copy128")
	LEAQ(Mem{Base: at, Disp: 96}, p)
	CMPQ(p, last)
	JAE(LabelRef("copy32"))
	for k := range 4 {
		VMOVDQU(at32(k), y[k])
	}
	for k := range 4 {
		VMOVDQU(y[k], to32(k))
	}
	ADDQ(U8(128), at)
	JMP(LabelRef("copy128"))
	Label("copy32")
	CMPQ(at, last)
	JAE(LabelRef("copyLast"))
	VMOVDQU(at32(0), y[0])
	VMOVDQU(y[0], to32(0))
	ADDQ(U8(32), at)
	JMP(LabelRef("copy32"))
	Label("copyLast")
	VMOVDQU(Mem{Base: src, Index: last, Scale: 1}, y[0])
	VMOVDQU(y[0], Mem{Base: dst, Index: last, Scale: 1})
	JMP(LabelRef("copied"))

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
