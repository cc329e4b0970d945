package main

import "fmt"

// smallMax is the most replicas Small takes, as on AVX2 (kernel/gen/avx2's
// smallMax): few enough that one replica loop of whole-vector compares and
// an all-pairs test of strangers cost less than Fast's eight-at-a-time scan
// and lane counts.
const smallMax = 8

// Small's registers beyond Fast's, whose roles it keeps (ptrs, n, off, obj,
// to, q, na, ib, nb, word, lead, t0, t1, res, tgt, size, end; addr for the
// copy; V0-V3 a and b, V6-V9 zeros).
const (
	fill  = "R20" // the strangers' fillers: 8 ID0 prefixes, then 8 ID1 prefixes
	fill1 = "R21" // fill + 64: the ID1 fillers
)

// The strangers test's vector registers: the first 8 bytes of replicas
// 2i and 2i+1's ID0 in sp0[i] (lanes 0 and 1) and of their ID1 in sp1[i];
// a lane-swapped copy; a compare; the OR of every compare.
var (
	sp0  = [4]int{20, 21, 22, 23}
	sp1  = [4]int{24, 25, 26, 27}
	sswp = 28
	seq  = 29
	sacc = 30
)

// small emits Small: Fast's batch loop for 1 <= n <= smallMax replicas
// without its scans in blocks and lane counts. Per object, a is replica 0's
// vector; replicas equal to a are skipped; b is the first that differs
// (index ib); every later replica must equal a or b and is counted. Then a
// and b are related as in Fast's relations. A replica on neither a nor b
// (so n >= 3) sends the object to the strangers test: if every replica is
// its own stranger it is a split-brain, decided here; anything else is
// handed back to Go. When objects are 32 bytes the target object is the
// winner's vector, which is in registers: one store.
func small() {
	out.WriteString("\n// func Small(ptrs **byte, n int, vectorOffset int, objectSize int, from int, to int, results *uint32, target *byte) int\n" +
		"//\n" +
		"// Registers: R0 ptrs, R1 n, R2 offset of the object's vector, R3 object, R4 to,\n" +
		"// R5 address of the next replica's pointer, R6 na, R7 ib, R8 nb, R9 result,\n" +
		"// R10 leader, R11 R12 scratch, R13 results, R14 target, R15 objectSize,\n" +
		"// R19 end of ptrs, R20 the strangers' ID0 fillers, R21 their ID1 fillers,\n" +
		"// R22-R24 the copy's pointers; in the two-replica loops R5 and R6 replica 0's\n" +
		"// and 1's data pointers; V0 V1 a, V2 V3 b, V6-V9 zero,\n" +
		"// V16-V19 the replica compared and its compare (then the copy),\n" +
		"// V20-V23 ID0 prefixes and V24-V27 ID1 prefixes of replicas 0-7 (two a register),\n" +
		"// V28 a lane swap, V29 a compare, V30 the strangers' OR of compares.\n")
	out.WriteString("TEXT ·Small(SB), NOSPLIT, $0-72\n")
	op("MOVD", "ptrs+0(FP)", ptrs)
	op("MOVD", "n+8(FP)", n)
	op("MOVD", "vectorOffset+16(FP)", off)
	op("MOVD", "objectSize+24(FP)", size)
	op("MOVD", "from+32(FP)", obj)
	op("MOVD", "to+40(FP)", to)
	op("MOVD", "results+48(FP)", res)
	op("MOVD", "target+56(FP)", tgt)
	op("MADD", size, off, obj, off) // off = obj*size + off
	op("ADD", n+"<<3", ptrs, end)
	for i := 6; i <= 9; i++ {
		op("VEOR", v(i, "B16"), v(i, "B16"), v(i, "B16"))
	}
	comment("Two replicas: a loop of their own when the target is nil or objects are 32 bytes.")
	op("CMP", "$2", n)
	op("BNE", "sobject")
	op("CBZ", tgt, "two0")
	op("CMP", "$32", size)
	op("BEQ", "two32")
	op("B", "sobject")

	label("snext")
	op("ADD", "$1", obj, obj)
	op("ADD", size, off, off)
	label("sobject")
	op("CMP", to, obj)
	op("BGE", "sdone")
	comment("a = replica 0's vector")
	op("MOVD", mem(0, ptrs), t0)
	op("ADD", off, t0, t0)
	op("VLD1", mem(0, t0), "[V0.B16, V1.B16]")
	op("ADD", "$8", ptrs, q)

	comment("Skip the replicas equal to a; b (V2, V3) is the first that is not.")
	label("sscan")
	op("CMP", end, q)
	op("BEQ", "sagreed")
	op("MOVD", mem(0, q), t0)
	op("ADD", off, t0, t0)
	op("VLD1", mem(0, t0), "[V2.B16, V3.B16]")
	op("ADD", "$8", q, q)
	sameVector(2, a0, a1, 18)
	op("BEQ", "sscan")
	comment("ib = na = the index of b's replica (q is one past it); nb = 1.")
	op("SUB", ptrs, q, ib)
	op("LSR", "$3", ib, ib)
	op("SUB", "$1", ib, ib)
	op("MOVD", ib, na)
	op("MOVD", "$1", nb)

	comment("Count the replicas after ib: each must be a or b.")
	label("scount")
	op("CMP", end, q)
	op("BEQ", "srelations")
	op("MOVD", mem(0, q), t0)
	op("ADD", off, t0, t0)
	op("VLD1", mem(0, t0), pair(16))
	op("ADD", "$8", q, q)
	sameVector(16, a0, a1, 18)
	op("BNE", "snotA")
	op("ADD", "$1", na, na)
	op("B", "scount")
	label("snotA")
	sameVector(16, b0, b1, 18)
	op("BNE", "sstrangers")
	op("ADD", "$1", nb, nb)
	op("B", "scount")

	label("sagreed")
	comment("Every replica holds a: agreed, unless a depends on itself.")
	sameID(a0, a1)
	op("BEQ", "sdone")
	comment("leader 0, length n")
	op("LSL", "$8", n, word)
	op("MOVD", "$0", lead)
	op("B", "swriteA")

	exits := relationExits{bad: "sdone", writeA: "swriteA", writeBTo: "swriteB", writeZero: "swriteZero"}
	relations("s", exits)
	strangers("s", 8, true, exits)
	smallWrite()
	two()

	label("sdone")
	op("MOVD", obj, "ret+64(FP)")
	op("RET")

	comment2 := "\n// sfillers stand in for the prefixes of replicas n to 7 in the strangers\n" +
		"// test: 16 distinct odd constants, 8 for ID0s then 8 for ID1s. One that\n" +
		"// equals a replica's prefix only hands the object back.\n"
	out.WriteString(comment2)
	for k := range 2 * smallMax {
		fmt.Fprintf(&out, "DATA sfillers<>+%d(SB)/8, $%#016x\n", 8*k, 0x9e3779b97f4a7c15*uint64(2*k+1))
	}
	fmt.Fprintf(&out, "GLOBL sfillers<>(SB), RODATA|NOPTR, $%d\n", 16*smallMax)
}

// strangers emits the strangers test, reached when a third vector is met
// (so n >= 3): it decides a split-brain if every ID0 is distinct and no
// ID1 equals any replica's ID0, its own included (which also rules out
// conflicts and cycles), and hands the object back otherwise. As on AVX2
// it compares only each ID's first 8 bytes: distinct prefixes prove
// distinct IDs, and a shared prefix merely hands the object back, so the
// test is exact either way. The lanes of replicas n to 7 hold fillers, so
// that all lanes can be compared at once; with n <= 4 only replicas 0-3's
// registers are compared. It starts at label p+"strangers" and leaves for
// x.bad or, with the result in word, x.writeZero. Replica k's data
// pointer is at k*stride(ptrs) and, when withOff, its vector at off.
func strangers(p string, stride int, withOff bool, x relationExits) {
	label(p + "strangers")
	comment("Strangers: the first 8 bytes of every ID0 and ID1, two replicas a register;",
		"the fillers first, then replicas 0 to n-1 over them.")
	op("MOVD", "$sfillers<>(SB)", fill)
	op("ADD", "$64", fill, fill1)
	op("VLD1", mem(0, fill), fmt.Sprintf("[%s, %s, %s, %s]", v(sp0[0], "B16"), v(sp0[1], "B16"), v(sp0[2], "B16"), v(sp0[3], "B16")))
	op("VLD1", mem(0, fill1), fmt.Sprintf("[%s, %s, %s, %s]", v(sp1[0], "B16"), v(sp1[1], "B16"), v(sp1[2], "B16"), v(sp1[3], "B16")))
	for k := range smallMax {
		if k >= 3 {
			op("CMP", fmt.Sprintf("$%d", k), n)
			op("BEQ", p+"gathered")
		}
		op("MOVD", mem(stride*k, ptrs), t0)
		if withOff {
			op("ADD", off, t0, t0)
		}
		op("MOVD", mem(0, t0), t1)
		op("VMOV", t1, v(sp0[k/2], fmt.Sprintf("D[%d]", k%2)))
		op("MOVD", mem(16, t0), t1)
		op("VMOV", t1, v(sp1[k/2], fmt.Sprintf("D[%d]", k%2)))
	}
	label(p + "gathered")
	comment("All pairs: each register against each other one as it is and lane-swapped",
		"(against itself swapped only): any equal lanes hand the object back.")
	op("VEOR", v(sacc, "B16"), v(sacc, "B16"), v(sacc, "B16"))
	any := func(x, y int) { // acc |= lanes where x equals y
		op("VCMEQ", v(x, "D2"), v(y, "D2"), v(seq, "D2"))
		op("VORR", v(seq, "B16"), v(sacc, "B16"), v(sacc, "B16"))
	}
	// ID0 against ID0, and ID1 against ID0, over replica pairs is and js.
	test := func(is, js []int) {
		for _, j := range js {
			op("VEXT", "$8", v(sp0[j], "B16"), v(sp0[j], "B16"), v(sswp, "B16")) // ID0s of replicas 2j+1, 2j
			for _, i := range is {
				if i <= j {
					if i < j {
						any(sp0[i], sp0[j]) // ID0s of 2i, 2j and of 2i+1, 2j+1
					}
					any(sp0[i], sswp) // ID0s of 2i, 2j+1 and of 2i+1, 2j (of 2j, 2j+1 when i == j)
				}
				any(sp1[i], sp0[j]) // ID1 of 2i and ID0 of 2j, ID1 of 2i+1 and ID0 of 2j+1
				any(sp1[i], sswp)   // ID1 of 2i and ID0 of 2j+1, ID1 of 2i+1 and ID0 of 2j
			}
		}
	}
	test([]int{0, 1}, []int{0, 1})
	op("CMP", "$4", n)
	op("BLE", p+"tested")
	test([]int{2, 3}, []int{0, 1, 2, 3})
	test([]int{0, 1}, []int{2, 3})
	label(p + "tested")
	op("VMOV", v(sacc, "D[0]"), t0)
	op("VMOV", v(sacc, "D[1]"), t1)
	op("ORR", t1, t0, t0)
	op("CBNZ", t0, x.bad)
	comment("n >= 3 strangers, one replica each: every chain ties at 1.")
	op("MOVD", "$(1<<24)", word)
	op("B", x.writeZero)
}

// smallWrite emits the writers: each stores the result word, then the
// target object, and goes on to the next object. The winner's index is in
// lead. For 32-byte objects the target object is exactly the winner's
// vector (a or b) or zeros, stored from its registers; other sizes copy.
func smallWrite() {
	for _, w := range []struct {
		label string
		v     int
	}{{"swriteA", 0}, {"swriteB", 2}, {"swriteZero", 6}} {
		label(w.label)
		op("MOVW", word, fmt.Sprintf("(%s)(%s<<2)", res, obj))
		op("CBZ", tgt, "snext")
		op("CMP", "$32", size)
		op("BNE", "scopy")
		op("ADD", off, tgt, t0) // objectSize 32: the offset is 0, off is the object's start
		op("VST1", pair(w.v), mem(0, t0))
		op("B", "snext")
	}
	label("scopy")
	copyTarget("s")
	op("B", "snext")
}

// two emits Small's loops for two replicas when the target is nil (two0)
// or objects are 32 bytes (two32); other targets take the general loop.
// Both data pointers stay in registers, R5 replica 0's and R6 replica 1's,
// and each object's result is an immediate and its target a's or b's
// registers (or the zeros).
func two() {
	p0, p1 := q, na
	for _, store := range []bool{false, true} {
		name := "two0"
		if store {
			name = "two32"
		}
		l := func(s string) string { return name + s }
		label(name)
		op("MOVD", mem(0, ptrs), p0)
		op("MOVD", mem(8, ptrs), p1)
		op("B", l("Object"))
		label(l("Next"))
		op("ADD", "$1", obj, obj)
		op("ADD", size, off, off)
		label(l("Object"))
		op("CMP", to, obj)
		op("BGE", "sdone")
		op("ADD", off, p0, t0)
		op("VLD1", mem(0, t0), "[V0.B16, V1.B16]")
		op("ADD", off, p1, t1)
		op("VLD1", mem(0, t1), "[V2.B16, V3.B16]")
		sameID(a0, a1) // a depends on itself (so does b, if it equals a)
		op("BEQ", "sdone")
		sameVector(2, a0, a1, 18)
		op("BEQ", l("Agreed"))
		sameID(b0, b1) // b depends on itself
		op("BEQ", "sdone")
		sameID(a0, b0) // one ID0, two ID1s (the vectors differ): a conflict
		op("BEQ", "sdone")
		sameID(a0, b1) // b was built on a
		op("CSET", "EQ", lead)
		sameID(a1, b0) // a was built on b
		op("BNE", l("NotAOnB"))
		op("CBNZ", lead, "sdone") // each built on the other: a cycle
		op("B", l("AOnB"))
		label(l("NotAOnB"))
		op("CBNZ", lead, l("BOnA"))
		for _, c := range []struct {
			label string
			word  uint32
			v     int
		}{
			{"", 1 << 24, 6},              // unrelated, one replica each: split-brain
			{"Agreed", 2 << 8, 0},         // leader 0, length 2
			{"BOnA", 1 | 2<<8 | 1<<16, 2}, // leader 1, length 2, repair 1
			{"AOnB", 0 | 2<<8 | 1<<16, 0}, // leader 0, length 2, repair 1
		} {
			if c.label != "" {
				label(l(c.label))
			}
			op("MOVD", fmt.Sprintf("$%d", c.word), t0)
			op("MOVW", t0, fmt.Sprintf("(%s)(%s<<2)", res, obj))
			if store {
				op("ADD", off, tgt, t1) // objectSize 32: the offset is 0, off is the object's start
				op("VST1", pair(c.v), mem(0, t1))
			}
			op("B", l("Next"))
		}
	}
}
