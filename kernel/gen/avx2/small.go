package main

import (
	"fmt"

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
		"R11 result, R12 nb, R13 ib, R14 target (0 if none).",
		"Y0 a, Y1 b, Y2 the replica compared, Y3 compare, Y5 zeros, Y12-Y15 scratch.",
	)
	fp0, fp1 := AllocLocal(8*smallMax), AllocLocal(8*smallMax)
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
	fillers(fp0, fp1)
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
	Label("scount")
	CMPQ(r, n)
	JE(LabelRef("srelations"))
	MOVQ(Mem{Base: ptrs, Index: r, Scale: 8}, p)
	VMOVDQU(vec(p, sOff), sV)
	INCQ(r)
	sameVector(sV, sA, sEq)
	JNE(LabelRef("snotA"))
	INCQ(na)
	JMP(LabelRef("scount"))
	Label("snotA")
	sameVector(sV, sB, sEq)
	JNE(LabelRef("sstrangers"))
	INCQ(nb)
	JMP(LabelRef("scount"))

	Label("sagreed")
	Comment("Every replica holds a: agreed, unless a depends on itself.")
	selfLoop(sA, t[0])
	Comment("leader 0, length n")
	MOVQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("swriteA"))

	smallRelations()
	strangers(fp0, fp1)
	smallWrite()
	two()

	Label("slow")
	Label("done")
	VZEROUPPER()
	Store(obj, ReturnIndex(0))
	RET()
}

// smallRelations emits the relations of a and b, counted na and nb, as
// Fast's decide does, ending in a jump to a writer or to slow.
func smallRelations() {
	Label("srelations")
	Comment("Relations of a and b, comparing 16-byte IDs (a 16-bit mask of 0xffff is equal).")
	selfLoop(sA, t[0])
	selfLoop(sB, t[1]) // t[1] = (b.ID1, b.ID0) from here on
	VPCMPEQB(sA, sB, t[0])
	VPMOVMSKB(t[0], mask.As32())
	CMPW(mask.As16(), U16(0xffff)) // a.ID0 == b.ID0 (the vectors differ): a conflict
	JE(LabelRef("slow"))
	VPCMPEQB(sA, t[1], t[0]) // low: a.ID0 == b.ID1 (b on a); high: a.ID1 == b.ID0 (a on b)
	VPMOVMSKB(t[0], mask.As32())
	CMPL(mask.As32(), U32(0xffffffff)) // each built on the other: a cycle
	JE(LabelRef("slow"))
	CMPW(mask.As16(), U16(0xffff))
	JE(LabelRef("sbOnA"))
	SHRL(U8(16), mask.As32())
	CMPW(mask.As16(), U16(0xffff))
	JE(LabelRef("saOnB"))

	Comment("Unrelated: the larger group wins; equal groups are split-brain.")
	CMPQ(na, nb)
	JA(LabelRef("saWins"))
	JB(LabelRef("sbWins"))
	MOVL(U32(1<<24), word.As32())
	JMP(LabelRef("swriteZero"))

	Label("saWins")
	Comment("leader 0, length na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("swriteA"))

	Label("sbWins")
	Comment("leader ib, length nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(sIB, word)
	MOVQ(sIB, p)
	JMP(LabelRef("swriteB"))

	Label("sbOnA")
	Comment("b was built on a: leader ib, length n, repair na")
	MOVQ(na, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	ORQ(sIB, word)
	MOVQ(sIB, p)
	JMP(LabelRef("swriteB"))

	Label("saOnB")
	Comment("a was built on b: leader 0, length n, repair nb")
	MOVQ(nb, word)
	SHLQ(U8(8), word)
	ORQ(n, word)
	SHLQ(U8(8), word)
	XORQ(p, p)
	JMP(LabelRef("swriteA"))
}

// strangers emits the strangers test, reached when a third vector is met
// (so n >= 3): it decides a split-brain if every ID0 is distinct and no
// ID1 equals any replica's ID0, its own included (which also rules out
// conflicts and cycles), and hands the object back otherwise. It compares
// only each ID's first 8 bytes: distinct prefixes prove distinct IDs, and
// a shared prefix merely hands the object back, so the test is exact
// either way. fp0 and fp1 hold fillers for the prefixes of ID0 and ID1
// (see fillers), which stand in for replicas n to 7, so that all lanes
// can be compared at once: a filler that equals a replica's prefix only
// hands the object back.
func strangers(fp0, fp1 Mem) {
	Label("sstrangers")
	Comment("Strangers: the first 8 bytes of every ID0 and ID1, 4 replicas a register.")
	for k := 3; k <= smallMax; k++ {
		CMPQ(n, U8(k))
		JE(LabelRef(fmt.Sprint("sgather", k)))
	}
	for k := 3; k <= smallMax; k++ {
		gather(k, fp0, fp1)
	}
	Label("sgathered")
	Comment("All pairs at once, compared under 4 rotations.")
	any := func(x, y VecPhysical) { // acc |= lanes where x equals y
		VPCMPEQQ(x, y, eq)
		VPOR(eq, acc, acc)
	}
	rotations := func(x VecPhysical, with func(VecPhysical)) { // with(x rotated by 0-3 lanes)
		with(x)
		for _, imm := range []uint8{0x39, 0x4e, 0x93} {
			VPERMQ(U8(imm), x, rot)
			with(rot)
		}
	}
	VPXOR(acc, acc, acc)
	rotations(l0, func(x VecPhysical) {
		any(l1, x) // an ID1 of 0-3 is an ID0 of 0-3 (rotation 0: its own)
		if x != l0 {
			any(l0, x) // two ID0s of 0-3 equal (rotation 3 repeats 1's pairs, harmlessly)
		}
	})
	CMPQ(n, U8(4))
	JLE(LabelRef("stested"))
	rotations(h0, func(x VecPhysical) {
		any(h1, x)
		any(l1, x)
		any(l0, x) // an ID0 of 0-3 is one of 4-7
		if x != h0 {
			any(h0, x)
		}
	})
	rotations(l0, func(x VecPhysical) { any(h1, x) })
	Label("stested")
	VPTEST(acc, acc)
	JNE(LabelRef("slow"))
	Comment("n >= 3 strangers, one replica each: every chain ties at 1.")
	MOVL(U32(1<<24), word.As32())
	JMP(LabelRef("swriteZero"))
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
		selfLoop(sA, t[1]) // t[1] = (a.ID1, a.ID0)
		VPCMPEQB(sA, sB, sEq)
		VPMOVMSKB(sEq, tmp.As32())
		CMPL(tmp.As32(), U32(0xffffffff))
		JE(l("Agreed"))
		selfLoop(sB, t[1])            // t[1] = (b.ID1, b.ID0)
		CMPW(tmp.As16(), U16(0xffff)) // a.ID0 == b.ID0 (the vectors differ): a conflict
		JE(LabelRef("slow"))
		VPCMPEQB(sA, t[1], t[0]) // low: a.ID0 == b.ID1 (b on a); high: a.ID1 == b.ID0 (a on b)
		VPMOVMSKB(t[0], mask.As32())
		CMPL(mask.As32(), U32(0xffffffff)) // each built on the other: a cycle
		JE(LabelRef("slow"))
		CMPW(mask.As16(), U16(0xffff))
		JE(l("BOnA"))
		SHRL(U8(16), mask.As32())
		CMPW(mask.As16(), U16(0xffff))
		JE(l("AOnB"))
		for _, c := range []struct {
			label string
			word  uint32
			v     VecPhysical
		}{
			{"", 1 << 24, zero},            // unrelated, one replica each: split-brain
			{"Agreed", 2 << 8, sA},         // leader 0, length 2
			{"BOnA", 1 | 2<<8 | 1<<16, sB}, // leader 1, length 2, repair 1
			{"AOnB", 0 | 2<<8 | 1<<16, sA}, // leader 0, length 2, repair 1
		} {
			if c.label != "" {
				Label(name + c.label)
			}
			MOVL(U32(c.word), Mem{Base: sRes, Index: obj, Scale: 4})
			if store {
				VMOVDQU(c.v, Mem{Base: sTgt, Index: sOff, Scale: 1}) // objectSize 32: the offset is 0
			}
			JMP(l("Next"))
		}
	}
}

// fillers writes the strangers test's fillers into every slot of fp0 and
// fp1 (those of replicas 0 to n-1 are overwritten per object): 16
// distinct odd constants.
func fillers(fp0, fp1 Mem) {
	for k := range 2 * smallMax {
		slot := fp0
		if k >= smallMax {
			slot = fp1
		}
		slot.Disp += 8 * (k % smallMax)
		MOVQ(U64(0x9e3779b97f4a7c15*uint64(2*k+1)), tmp)
		MOVQ(tmp, slot)
	}
}

// Strangers' registers: the ID0 and ID1 prefixes of replicas 0-3 (l0, l1)
// and 4-7 (h0, h1), the OR of every compare, a rotation, a compare.
var l0, h0, l1, h1, acc, rot, eq = Y6, Y7, Y8, Y9, Y10, Y11, Y12

// gather emits the strangers' loads for k replicas, into l0, l1 and, for
// k > 4, h0 and h1, and jumps to sgathered. Pairs of lanes are built in
// the low halves (VMOVQ, VPINSRQ) and the upper pairs inserted; a lane of
// no replica loads its filler. Loading into registers, not storing
// prefixes to reload them, avoids a failed store forward per object.
func gather(k int, fp0, fp1 Mem) {
	Label(fmt.Sprint("sgather", k))
	dst := [2][2]VecPhysical{{l0, l1}, {h0, h1}}
	hi := [2]VecPhysical{Y13, Y14} // upper pairs, ID0 and ID1, before insertion
	for half := range 2 {
		if half == 1 && k <= 4 {
			break
		}
		for pair := range 2 {
			for id, fp := range []Mem{fp0, fp1} {
				into := dst[half][id].AsX()
				if pair == 1 {
					into = hi[id].AsX()
				}
				for lane := range 2 {
					rep := 4*half + 2*pair + lane
					src := fp
					src.Disp += 8 * rep
					if rep < k {
						MOVQ(Mem{Base: ptrs, Disp: 8 * rep}, p)
						src = Mem{Base: p, Index: sOff, Scale: 1, Disp: 16 * id}
					}
					if lane == 0 {
						VMOVQ(src, into)
					} else {
						VPINSRQ(U8(1), src, into, into)
					}
				}
			}
		}
		for id := range 2 {
			VINSERTI128(U8(1), hi[id].AsX(), dst[half][id], dst[half][id])
		}
	}
	JMP(LabelRef("sgathered"))
}
