package main

import (
	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// smallMax is the most replicas Small takes: few enough that a replica
// loop, whole-vector compares and an all-pairs test of strangers cost less
// than Fast's set-up of lane groups and object pairs.
const smallMax = 8

// Small's register roles. The names Fast uses for the same jobs keep the
// same registers, so copyTarget and selfLoop serve both routines.
var (
	sOff = RCX // byte offset of the current object's vector in every source
	sRes = R10 // results
	sTgt = R14 // target, or 0 when there is none
	sIB  = R13 // ib, the first replica not on a
	sA   = Y0  // replica 0's vector
	sB   = Y1  // the first other vector
	sV   = Y2  // the replica being compared
	sEq  = Y3  // a compare result
	zero = Y5  // all zeros: the target object of a split-brain
	ones = Y4  // all ones: VPTEST's operand for an all-ones compare
)

// small emits Small: the whole batch loop for 1 <= n <= smallMax replicas,
// one object at a time. Per object, a is replica 0's vector; replicas equal
// to a are skipped; b is the first that differs; every later replica must
// equal a or b and is counted. Then a and b are related as in Fast's
// decide. A replica on neither a nor b sends the object to the strangers
// test: if every replica is its own stranger (the common object of three
// or more vectors, a long-partitioned cluster) it is a split-brain, decided
// here; anything else is handed back to Go. When objects are 32 bytes the
// target object is the winner's vector, which is in a register: one store.
func small() {
	TEXT("Small", NOSPLIT, "func(ptrs **byte, n, vectorOffset, objectSize, from, to int, results *uint32, target *byte) int")
	Pragma("noescape")
	Doc(
		"Small is Fast for 1 <= n <= 8 replicas, which also decides the objects",
		"whose replicas are all strangers (every ID0 distinct, no ID1 any",
		"replica's ID0): a split-brain. ptrs points at the n sources' data",
		"pointers; it needs no copies before them.",
	)
	Comment(
		"Registers: AX ptrs, BX n, CX offset of the object's vector, DX object,",
		"SI replica, DI replica pointer (then leader), R8 masks, R9 na, R10 results,",
		"R11 result (while counting, the second replica's pointer), R12 nb, R13 ib,",
		"R14 target (0 if none). Y0 a, Y1 b, Y2 the replica compared, Y3 compare,",
		"Y4 ones, Y5 zeros, Y6-Y11 the relations, Y6-Y14 the strangers test, Y12-Y15 scratch.",
	)
	Load(Param("ptrs"), ptrs)
	Load(Param("n"), n)
	Load(Param("vectorOffset"), sOff)
	Load(Param("from"), obj)
	Load(Param("objectSize"), tmp)
	IMULQ(obj, tmp)
	ADDQ(tmp, sOff)
	Load(Param("results"), sRes)
	Load(Param("target"), sTgt)
	VPXOR(zero, zero, zero)
	VPCMPEQB(zero, zero, ones)
	Comment("Two replicas: a loop of their own when the target is nil or 32-byte objects.")
	CMPQ(n, U8(2))
	JNE(LabelRef("sobject"))
	TESTQ(sTgt, sTgt)
	JE(LabelRef("two0"))
	size0, _ := Param("objectSize").Resolve()
	CMPQ(size0.Addr, U8(vectorSize))
	JE(LabelRef("two32"))
	JMP(LabelRef("sobject"))

	Label("snext")
	INCQ(obj)
	size, _ := Param("objectSize").Resolve()
	ADDQ(size.Addr, sOff)
	Label("sobject")
	to, _ := Param("to").Resolve()
	CMPQ(obj, to.Addr)
	JAE(LabelRef("done"))
	MOVQ(Mem{Base: ptrs}, p)
	VMOVDQU(vec(p, sOff), sA)
	MOVQ(U32(1), r)

	Comment("Skip the replicas equal to a; b is the first that is not.")
	Label("sscan")
	CMPQ(r, n)
	JE(LabelRef("sagreed"))
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8}, p)
	VMOVDQU(vec(p, sOff), sB)
	INCQ(r)
	sameVector(sB, sA, sEq)
	JE(LabelRef("sscan"))
	LEAQ(Mem{Base: r, Disp: -1}, sIB)
	MOVQ(sIB, na) // replicas before ib hold a
	MOVQ(U32(1), nb)

	Comment("Count the replicas after ib: each must be a or b.")
	Comment("An odd one first, then two at a time.")
	MOVQ(n, mask)
	SUBQ(r, mask)
	TESTQ(U32(1), mask)
	JE(LabelRef("spairs"))
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8}, p)
	INCQ(r)
	countOne(p, sV)
	LEAQ(Mem{Base: na, Index: nb, Scale: 1}, mask)
	CMPQ(mask, r)
	JNE(LabelRef("sstrangers")) // a replica on neither
	Label("spairs")
	CMPQ(r, n)
	JE(LabelRef("srelations"))
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8}, p)
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8, Disp: 8}, word)
	ADDQ(U8(2), r)
	countOne(p, sV)
	countOne(word, t[1])
	LEAQ(Mem{Base: na, Index: nb, Scale: 1}, mask)
	CMPQ(mask, r)
	JE(LabelRef("spairs"))
	JMP(LabelRef("sstrangers"))

	Label("sagreed")
	Comment("Every replica holds a: agreed, unless a depends on itself.")
	selfLoop(sA, t[0])
	Comment("leader 0, length n")
	MOVQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("swriteA"))

	smallRelations("s", nil)
	strangers("s", smallSource)
	smallWrite()
	two()

	Label("slow")
	Label("sslow")
	Label("done")
	VZEROUPPER()
	Store(obj, ReturnIndex(0))
	RET()
}

// countOne counts the replica whose data pointer is q on a (na) or b
// (nb), without a branch: each compare's all-ones test is a carry.
func countOne(q Register, v VecPhysical) {
	VMOVDQU(vec(q, sOff), v) // one load for both compares
	for _, c := range []struct {
		v     VecPhysical
		count Register
	}{{sA, na}, {sB, nb}} {
		VPCMPEQB(v, c.v, sEq)
		VPTEST(ones, sEq) // CF: sEq is all ones
		ADCQ(U8(0), c.count)
	}
}

// smallRelations emits the relations of a and b, counted na and nb, as
// Fast's decide does, ending in a jump to one of the routine's writers
// (pre+"writeA", "writeB" or "writeZero", the winner's index in p) or to
// pre+"slow". pre names the routine's labels: "s" Small's, "o" One's, "d"
// Decide's. first, if not nil, is emitted before the relations' compares,
// which begin at pre+"quick".
func smallRelations(pre string, first func()) {
	l := func(s string) LabelRef { return LabelRef(pre + s) }
	Label(pre + "relations")
	if first != nil {
		first()
	}
	Label(pre + "quick")
	quickRelations(l("exact"), l("unrelated"), l("bOnA"), l("aOnB"))
	Label(pre + "exact")
	exactRelations(sA, sB, l("slow"), l("bOnA"), l("aOnB"))

	Label(pre + "unrelated")
	Comment("Unrelated: the larger group wins; equal groups are split-brain.")
	CMPQ(na, nb)
	JA(l("aWins"))
	JB(l("bWins"))
	MOVL(U32(1<<24), word.As32())
	JMP(l("writeZero"))

	Label(pre + "aWins")
	Comment("leader 0, length na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(l("writeA"))

	Label(pre + "bWins")
	Comment("leader ib, length nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(sIB, word)
	MOVQ(sIB, p)
	JMP(l("writeB"))

	Label(pre + "bOnA")
	Comment("b was built on a: leader ib, length n, repair na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	ORQ(sIB, word)
	MOVQ(sIB, p)
	JMP(l("writeB"))

	Label(pre + "aOnB")
	Comment("a was built on b: leader 0, length n, repair nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(l("writeA"))
}

// quickRelations emits the relations of two distinct vectors a and b in
// the common cases, all compared at once: X = (a.ID0, b.ID0), Y = (a.ID1,
// b.ID1) and Z = (b.ID1, a.ID1); 64-bit compares of X with Y (self-loops),
// of a with b (the ID0s: a conflict) and of X with Z (b built on a, a
// built on b) give a lane mask each, 4 bits, in one word m. m is 0 for
// unrelated vectors, 0x300 when b was built on a and 0xc00 when a was
// built on b; anything else (a self-loop, a conflict, a cycle, or half of
// two IDs equal) jumps to exact, the compares of whole IDs. Uses Y6-Y11,
// mask and word.
func quickRelations(exact, unrelated, bOnA, aOnB LabelRef) {
	x, y, z, self, ids, chain := Y6, Y7, Y8, Y9, Y10, Y11
	VPERM2I128(U8(0x20), sB, sA, x) // (a.ID0, b.ID0)
	VPERM2I128(U8(0x31), sB, sA, y) // (a.ID1, b.ID1)
	VPERMQ(U8(0x4e), y, z)          // (b.ID1, a.ID1)
	VPCMPEQQ(y, x, self)
	VPCMPEQQ(sB, sA, ids)
	VPCMPEQQ(z, x, chain)
	VMOVMSKPD(self, mask.As32())
	VMOVMSKPD(ids, word.As32())
	ANDL(U8(3), word.As32()) // the ID0s' lanes; equal ID1s are no conflict
	SHLL(U8(4), word.As32())
	ORL(word.As32(), mask.As32())
	VMOVMSKPD(chain, word.As32())
	SHLL(U8(8), word.As32())
	ORL(word.As32(), mask.As32())
	JE(unrelated) // ZF from the OR: m == 0
	CMPL(mask.As32(), U32(0x300))
	JE(bOnA)
	CMPL(mask.As32(), U32(0xc00))
	JE(aOnB)
	JMP(exact)
}

// smallWrite emits the writers: each stores the result word, then the
// target object, and goes on to the next object. The winner's index is in
// p. For 32-byte objects the target object is exactly the winner's
// vector (a or b) or zeros, stored from its register; other sizes copy.
func smallWrite() {
	size, _ := Param("objectSize").Resolve()
	for _, w := range []struct {
		label string
		v     VecPhysical
	}{{"swriteA", sA}, {"swriteB", sB}, {"swriteZero", zero}} {
		Label(w.label)
		MOVL(word.As32(), Mem{Base: sRes, Index: obj, Scale: 4})
		TESTQ(sTgt, sTgt)
		JE(LabelRef("snext"))
		CMPQ(size.Addr, U8(vectorSize))
		JNE(LabelRef("scopy"))
		VMOVDQU(w.v, Mem{Base: sTgt, Index: sOff, Scale: 1}) // objectSize 32: the offset is 0
		JMP(LabelRef("snext"))
	}
	Label("scopy")
	copyTarget()
	JMP(LabelRef("snext"))
}

// vectorSize is a vector's bytes: an object of this size is its vector.
const vectorSize = 32

// two emits Small's loop for two replicas when the target is nil or
// objects are 32 bytes (Small jumps to two0 or two32; other targets use
// the general loop): both pointers and the stride stay in registers, and
// each object is a handful of compares with its result and target stored
// as immediates and registers. Registers: SI replica 0's pointer, DI
// replica 1's, R9 objectSize, R12 to.
func two() {
	p0, p1, stride, end := r, p, na, nb
	for _, store := range []bool{false, true} {
		name := "two0"
		if store {
			name = "two32"
		}
		l := func(s string) LabelRef { return LabelRef(name + s) }
		Label(name)
		MOVQ(Mem{Base: ptrs}, p0)
		MOVQ(Mem{Base: ptrs, Disp: 8}, p1)
		Load(Param("objectSize"), stride)
		Load(Param("to"), end)
		JMP(l("Object"))
		Label(name + "Next")
		INCQ(obj)
		ADDQ(stride, sOff)
		Label(name + "Object")
		CMPQ(obj, end)
		JAE(LabelRef("done"))
		VMOVDQU(vec(p0, sOff), sA)
		VMOVDQU(vec(p1, sOff), sB)
		VPCMPEQB(sA, sB, sEq)
		VPMOVMSKB(sEq, tmp.As32())
		CMPL(tmp.As32(), U32(0xffffffff))
		JE(l("Agreed"))
		quickRelations(l("Exact"), l("Unrelated"), l("BOnA"), l("AOnB"))
		Label(name + "Exact")
		exactRelations(sA, sB, "slow", l("BOnA"), l("AOnB"))
		for _, c := range []struct {
			label string
			word  uint32
			v     VecPhysical
		}{
			{"Unrelated", 1 << 24, zero},   // unrelated, one replica each: split-brain
			{"Agreed", 2 << 8, sA},         // leader 0, length 2
			{"BOnA", 1 | 2<<8 | 1<<16, sB}, // leader 1, length 2, repair 1
			{"AOnB", 0 | 2<<8 | 1<<16, sA}, // leader 0, length 2, repair 1
		} {
			Label(name + c.label)
			if c.label == "Agreed" {
				selfLoop(sA, t[1]) // a depends on itself
			}
			MOVL(U32(c.word), Mem{Base: sRes, Index: obj, Scale: 4})
			if store {
				VMOVDQU(c.v, Mem{Base: sTgt, Index: sOff, Scale: 1}) // objectSize 32: the offset is 0
			}
			JMP(l("Next"))
		}
	}
}
