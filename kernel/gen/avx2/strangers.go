package main

import (
	"fmt"

	. "github.com/mmcloughlin/avo/build"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// source is where the strangers test finds replica rep's vector: ptr is
// the address of its data pointer, at the vector's bytes from disp on.
type source struct {
	ptr func(rep int) Mem
	at  func(p Register, disp int) Mem
}

// smallSource is Small's: the pointer array, at the object's offset.
var smallSource = source{
	ptr: func(rep int) Mem { return Mem{Base: ptrs, Disp: 8 * rep} },
	at:  func(p Register, disp int) Mem { return Mem{Base: p, Index: sOff, Scale: 1, Disp: disp} },
}

// strangers emits the strangers test, reached at pre+"strangers" when a
// third vector is met (so n >= 3): it decides a split-brain if every ID0
// is distinct and no ID1 equals any replica's ID0, its own included (which
// also rules out conflicts and cycles), and hands the object back
// otherwise. It compares only each ID's first 8 bytes: distinct prefixes
// prove distinct IDs, and a shared prefix merely hands the object back, so
// the test is exact either way. The fillers (see fillerTable) stand in for
// replicas n to 7, so that all lanes can be compared at once: a filler
// that equals a replica's prefix only hands the object back.
func strangers(pre string, src source) {
	l := func(s string) LabelRef { return LabelRef(pre + s) }
	Label(pre + "strangers")
	Comment("Strangers: the first 8 bytes of every ID0 and ID1, 4 replicas a register.")
	for k := 3; k <= smallMax; k++ {
		CMPQ(n, U8(k))
		JE(l(fmt.Sprint("gather", k)))
	}
	for k := 3; k <= smallMax; k++ {
		gather(pre, k, src)
	}
	Label(pre + "gathered")
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
	JLE(l("tested"))
	rotations(h0, func(x VecPhysical) {
		any(h1, x)
		any(l1, x)
		any(l0, x) // an ID0 of 0-3 is one of 4-7
		if x != h0 {
			any(h0, x)
		}
	})
	rotations(l0, func(x VecPhysical) { any(h1, x) })
	Label(pre + "tested")
	VPTEST(acc, acc)
	JNE(l("slow"))
	Comment("n >= 3 strangers, one replica each: every chain ties at 1.")
	MOVL(U32(1<<24), word.As32())
	JMP(l("writeZero"))
}

// fillerTable is the strangers test's fillers, 16 distinct odd
// constants: the ID0 prefixes of replicas 0-7 at 8*rep, then their ID1
// prefixes at 64+8*rep. A replica that exists loads its own instead.
var fillerTable Mem

// declareFillers emits fillerTable, once, before the routines.
func declareFillers() {
	fillerTable = GLOBL("fillers", RODATA|NOPTR)
	for k := range 2 * smallMax {
		DATA(8*k, U64(0x9e3779b97f4a7c15*uint64(2*k+1)))
	}
}

// Strangers' registers: the ID0 and ID1 prefixes of replicas 0-3 (l0, l1)
// and 4-7 (h0, h1), the OR of every compare, a rotation, a compare.
var l0, h0, l1, h1, acc, rot, eq = Y6, Y7, Y8, Y9, Y10, Y11, Y12

// gather emits the strangers' loads for k replicas, into l0, l1 and, for
// k > 4, h0 and h1, and jumps to pre+"gathered". Pairs of lanes are built
// in the low halves (VMOVQ, VPINSRQ) and the upper pairs inserted; a lane
// of no replica loads its filler. Loading into registers, not storing
// prefixes to reload them, avoids a failed store forward per object.
func gather(pre string, k int, src source) {
	Label(fmt.Sprint(pre, "gather", k))
	dst := [2][2]VecPhysical{{l0, l1}, {h0, h1}}
	hi := [2]VecPhysical{Y13, Y14} // upper pairs, ID0 and ID1, before insertion
	for half := range 2 {
		if half == 1 && k <= 4 {
			break
		}
		for pair := range 2 {
			for id := range 2 {
				into := dst[half][id].AsX()
				if pair == 1 {
					into = hi[id].AsX()
				}
				for lane := range 2 {
					rep := 4*half + 2*pair + lane
					from := fillerTable.Offset(8*smallMax*id + 8*rep)
					if rep < k {
						MOVQ(src.ptr(rep), p)
						from = src.at(p, 16*id)
					}
					if lane == 0 {
						VMOVQ(from, into)
					} else {
						VPINSRQ(U8(1), from, into, into)
					}
				}
			}
		}
		for id := range 2 {
			VINSERTI128(U8(1), hi[id].AsX(), dst[half][id], dst[half][id])
		}
	}
	JMP(LabelRef(pre + "gathered"))
}
