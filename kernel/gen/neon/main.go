// Command neon generates the arm64 NEON fast path of the quorum kernel
// (kernel/internal/asm/neon_arm64.s and its Go declaration). avo cannot emit arm64,
// so this is a small text emitter: op, label and comment write lines, and
// Go loops unroll. The output depends only on the flags, so regenerating
// reproduces both files byte for byte.
//
// It decides one object at a time, on 128-bit registers: a vector is two
// registers, ID0 and ID1, each two 64-bit lanes. (The AVX2 kernel has since
// moved to group codes and two objects per pass, see ../avx2/main.go; this
// one keeps the exact count below, which it was tuned for.)
//
//  1. a is replica 0's vector. Scan forward while replicas equal a, eight
//     at a time, AND-ing the compares and reducing through lane moves (the
//     Go assembler has no UMINV), then one at a time. If all do, the object
//     is agreed.
//  2. Otherwise b is the first replica that differs (index ib). Over the
//     rest (ib included), four at a time, count exact matches of a (all four
//     lanes equal, reduced through lane moves) and, branch-free, per 64-bit
//     lane, matches of b. The lane counts prove every non-a replica is b:
//     each lane of b must have been matched by all nb = n-na of them, plus
//     by the na-ib copies of a counted in this phase where a and b share
//     that lane (two forks of one parent share ID1). Lane counts alone
//     would miss a replica mixing a's and b's lanes; the exact count of a
//     rules that out.
//  3. Compare a's and b's IDs: self-loops, a conflict (one ID0, two ID1s)
//     or a mutual dependency go to the slow path; one built on the other is
//     a chain; otherwise the larger group wins and a tie is split-brain.
//
// An object it cannot decide is handed back to Go by returning its index,
// with nothing written for it.
//
// Small (small.go) is the same contract for up to 8 replicas, as on AVX2:
// one replica loop of whole-vector compares, a two-replica loop, and a
// strangers test in registers that decides objects of all strangers.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
)

// Register roles, fixed for the whole routine so the listing reads alone.
// R16 and R17 (linker trampolines), R18 (platform), R26 to R30 are not used.
const (
	ptrs = "R0"  // the sources' data pointers, 8 bytes each
	n    = "R1"  // replicas
	off  = "R2"  // byte offset of the current object's vector in every source
	obj  = "R3"  // current object index
	to   = "R4"  // end of the range
	q    = "R5"  // address of the next replica's data pointer: ptrs + 8*replica
	na   = "R6"  // replicas equal to a
	ib   = "R7"  // first replica on b
	nb   = "R8"  // replicas on b, once counted (scratch while counting)
	word = "R9"  // the result: leader | length<<8 | repair<<16 | forked<<24 (scratch while counting)
	lead = "R10" // the leader's index once decided
	t0   = "R11" // scratch
	t1   = "R12" // scratch
	res  = "R13" // results
	tgt  = "R14" // target, or 0
	size = "R15" // objectSize
	end  = "R19" // ptrs + 8*n: one past the last data pointer
	end8 = "R20" // end - 64: q <= end8 while eight replicas remain
	end4 = "R21" // end - 32: q <= end4 while four replicas remain

	a0, a1   = "V0", "V1" // a: ID0, ID1
	b0, b1   = "V2", "V3" // b: ID0, ID1
	lb0, lb1 = "V4", "V5" // per 64-bit lane of b: replicas matching it
	// V6 to V9: zero, for filling target objects with no leader.
	// V16 to V31: replica vectors and compare results.
)

// addr holds four replicas' vector addresses (data pointer + off), and
// then the copy's pointers.
var addr = [4]string{"R22", "R23", "R24", "R25"}

// spare are the general registers free while counting: with addr, the
// lane-move destinations of four replicas' compares of a.
var spare = [4]string{nb, word, t0, t1}

var out bytes.Buffer

// directMax is the most replicas counted by whole-vector compares (label
// direct) rather than four at a time with lane counts.
const directMax = 8

// op writes one instruction.
func op(name string, args ...string) {
	fmt.Fprintf(&out, "\t%s\t%s\n", name, strings.Join(args, ", "))
}

// label starts a block.
func label(name string) { fmt.Fprintf(&out, "\n%s:\n", name) }

// comment writes comment lines at instruction indent.
func comment(lines ...string) {
	for _, l := range lines {
		fmt.Fprintf(&out, "\t// %s\n", l)
	}
}

// v names vector register i with an arrangement: v(16, "D2") is V16.D2.
func v(i int, arr string) string { return fmt.Sprintf("V%d.%s", i, arr) }

// d2 is a named vector register with the 2x64-bit arrangement.
func d2(reg string) string { return reg + ".D2" }

// mem is the address disp(base).
func mem(disp int, base string) string {
	if disp == 0 {
		return "(" + base + ")"
	}
	return fmt.Sprintf("%d(%s)", disp, base)
}

// pair lists the two registers x, x+1 holding one vector, for VLD1/VST1.
func pair(x int) string { return fmt.Sprintf("[%s, %s]", v(x, "B16"), v(x+1, "B16")) }

// loadAddrs sets addr[0..k) to the vector addresses of replicas q+disp/8
// onwards (k = 1, 2 or 4), loading the data pointers in pairs.
func loadAddrs(disp, k int) {
	if k == 1 {
		op("MOVD", mem(disp, q), addr[0])
	}
	for i := 0; i+1 < k; i += 2 {
		op("LDP", mem(disp+8*i, q), "("+addr[i]+", "+addr[i+1]+")")
	}
	for i := range k {
		op("ADD", off, addr[i], addr[i])
	}
}

// allOnes sets flags EQ iff vector register x is all ones, reducing its
// two lanes through general registers t0 and t1.
func allOnes(x int) {
	op("VMOV", v(x, "D[0]"), t0)
	op("VMOV", v(x, "D[1]"), t1)
	op("AND", t1, t0, t0)
	op("CMN", "$1", t0)
}

// sameVector sets flags EQ iff the vector in registers x, x+1 equals the
// one in id0, id1; it uses registers t, t+1.
func sameVector(x int, id0, id1 string, t int) {
	op("VCMEQ", d2(id0), v(x, "D2"), v(t, "D2"))
	op("VCMEQ", d2(id1), v(x+1, "D2"), v(t+1, "D2"))
	op("VAND", v(t+1, "B16"), v(t, "B16"), v(t, "B16"))
	allOnes(t)
}

// sameID sets flags EQ iff the 16-byte IDs in registers x and y are equal;
// it uses V16.
func sameID(x, y string) {
	op("VCMEQ", d2(x), d2(y), v(16, "D2"))
	allOnes(16)
}

func main() {
	asmPath := flag.String("out", "", "assembly file to write")
	stubPath := flag.String("stubs", "", "Go declaration file to write")
	flag.Parse()
	if *asmPath == "" || *stubPath == "" || flag.NArg() != 0 {
		log.Fatal("usage: neon -out FILE.s -stubs FILE.go")
	}
	header := "// Code generated by command: go run ./neon -out " + *asmPath + " -stubs " + *stubPath + ". DO NOT EDIT.\n\n//go:build gc && !purego\n\n"
	out.WriteString(header + "#include \"textflag.h\"\n\n")
	out.WriteString("// func Fast(ptrs **byte, n int, vectorOffset int, objectSize int, from int, to int, results *uint32, target *byte) int\n" +
		"//\n" +
		"// Registers: R0 ptrs, R1 n, R2 offset of the object's vector, R3 object, R4 to,\n" +
		"// R5 address of the next replica's pointer, R6 na, R7 ib, R8 nb, R9 result,\n" +
		"// R10 leader, R11 R12 scratch, R13 results, R14 target, R15 objectSize,\n" +
		"// R19 end of ptrs, R20 R21 the same less eight and four replicas,\n" +
		"// R22-R25 replica vector addresses (R8 R9 R11 R12 R22-R25 lane moves while counting);\n" +
		"// V0 V1 a, V2 V3 b, V4 V5 lane counts of b, V6-V9 zero, V16-V31 replicas and compares.\n")
	out.WriteString("TEXT ·Fast(SB), NOSPLIT, $0-72\n")
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
	op("SUB", "$64", end, end8)
	op("SUB", "$32", end, end4)
	for i := 6; i <= 9; i++ {
		op("VEOR", v(i, "B16"), v(i, "B16"), v(i, "B16"))
	}

	label("object")
	op("CMP", to, obj)
	op("BGE", "done")
	comment("a = replica 0's vector")
	op("MOVD", mem(0, ptrs), t0)
	op("ADD", off, t0, t0)
	op("VLD1", mem(0, t0), "[V0.B16, V1.B16]")
	op("ADD", "$8", ptrs, q)

	comment("Phase 1: skip replicas equal to a, eight at a time while eight remain.")
	label("scan8")
	op("CMP", end8, q)
	op("BHI", "scan1")
	for half := range 2 {
		loadAddrs(32*half, 4)
		for k := range 4 {
			op("VLD1", mem(0, addr[k]), pair(16+8*half+2*k))
		}
		for k := range 4 {
			x := 16 + 8*half + 2*k
			op("VCMEQ", d2(a0), v(x, "D2"), v(x, "D2"))
			op("VCMEQ", d2(a1), v(x+1, "D2"), v(x+1, "D2"))
		}
		for k := range 4 {
			x := 16 + 8*half + 2*k
			op("VAND", v(x+1, "B16"), v(x, "B16"), v(x, "B16"))
		}
	}
	for step := 2; step <= 8; step *= 2 { // AND the eight results into V16
		for x := 16; x < 32; x += 2 * step {
			op("VAND", v(x+step, "B16"), v(x, "B16"), v(x, "B16"))
		}
	}
	allOnes(16)
	op("BNE", "scan1") // a difference among these eight: find it one by one
	op("ADD", "$64", q, q)
	op("B", "scan8")

	label("scan1")
	op("CMP", end, q)
	op("BEQ", "agreed")
	loadAddrs(0, 1)
	op("VLD1", mem(0, addr[0]), pair(16))
	sameVector(16, a0, a1, 18)
	op("BNE", "second")
	op("ADD", "$8", q, q)
	op("B", "scan1")

	label("agreed")
	comment("Every replica holds a: agreed, unless a depends on itself.")
	sameID(a0, a1)
	op("BEQ", "slow")
	comment("leader 0, length n")
	op("LSL", "$8", n, word)
	op("MOVD", "$0", lead)
	op("B", "write")

	label("second")
	comment("Phase 2: b = this replica's vector (V16, V17), ib = na = its index.",
		"Counting starts at ib, so b counts itself.")
	op("VMOV", v(16, "B16"), v(2, "B16"))
	op("VMOV", v(17, "B16"), v(3, "B16"))
	op("SUB", ptrs, q, ib)
	op("LSR", "$3", ib, ib)
	op("MOVD", ib, na)
	comment("Most objects that leave the fast path do so because replica ib+1 is a",
		"third vector (every replica on its own state): catch that before counting.")
	op("ADD", "$8", q, t0)
	op("CMP", end, t0)
	op("BEQ", "counting")
	loadAddrs(8, 1)
	op("VLD1", mem(0, addr[0]), pair(16))
	sameVector(16, a0, a1, 18)
	op("BEQ", "counting")
	sameVector(16, b0, b1, 18)
	op("BNE", "slow")
	label("counting")
	op("CMP", fmt.Sprintf("$%d", directMax), n)
	op("BLE", "direct")
	op("VEOR", v(4, "B16"), v(4, "B16"), v(4, "B16"))
	op("VEOR", v(5, "B16"), v(5, "B16"), v(5, "B16"))

	comment("Four at a time while four remain: the stages of the four replicas",
		"interleave, so an in-order core need not wait on each result.")
	label("count4")
	op("CMP", end4, q)
	op("BHI", "count1")
	countReplicas(4)
	op("ADD", "$32", q, q)
	op("B", "count4")

	label("count1")
	op("CMP", end, q)
	op("BEQ", "counted")
	countReplicas(1)
	op("ADD", "$8", q, q)
	op("B", "count1")

	label("counted")
	comment("nb = n - na. Every non-a replica is b iff each lane of b was matched",
		"nb times, plus na-ib times (the a's counted from ib on) where a and b",
		"share the lane.")
	op("SUB", na, n, nb)
	op("SUB", ib, na, t0)
	op("VDUP", t0, v(16, "D2"))
	op("VDUP", nb, v(17, "D2"))
	for k, regs := range [][3]string{{a0, b0, lb0}, {a1, b1, lb1}} {
		x := 18 + 2*k
		op("VCMEQ", d2(regs[0]), d2(regs[1]), v(x, "D2")) // lanes a and b share
		op("VAND", v(16, "B16"), v(x, "B16"), v(x, "B16"))
		op("VADD", v(17, "D2"), v(x, "D2"), v(x, "D2"))
		op("VCMEQ", d2(regs[2]), v(x, "D2"), v(x, "D2"))
	}
	op("VAND", v(20, "B16"), v(18, "B16"), v(18, "B16"))
	allOnes(18)
	op("BNE", "slow")
	op("B", "relations")

	label("direct")
	comment(fmt.Sprintf("Phase 2 with at most %d replicas: compare each after ib whole with a,", directMax),
		"then b, and count it, or leave the fast path; no lane counts are needed.")
	op("MOVD", "$1", nb)
	label("directNext")
	op("ADD", "$8", q, q)
	op("CMP", end, q)
	op("BEQ", "relations")
	loadAddrs(0, 1)
	op("VLD1", mem(0, addr[0]), pair(16))
	sameVector(16, a0, a1, 18)
	op("BNE", "directB")
	op("ADD", "$1", na, na)
	op("B", "directNext")
	label("directB")
	sameVector(16, b0, b1, 18)
	op("BNE", "slow")
	op("ADD", "$1", nb, nb)
	op("B", "directNext")

	relations("", relationExits{bad: "slow", writeA: "write", writeZero: "write"})

	label("write")
	op("MOVW", word, fmt.Sprintf("(%s)(%s<<2)", res, obj))
	copyTarget("")
	op("ADD", "$1", obj, obj)
	op("ADD", size, off, off)
	op("B", "object")

	label("slow")
	label("done")
	op("MOVD", obj, "ret+64(FP)")
	op("RET")

	small()
	singles()

	if err := os.WriteFile(*asmPath, out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	stub := header + `package asm

// Fast decides objects [from, to) on the fast path, writing results[o] and,
// if target is not nil, target's object o. It returns the index of the first
// object it cannot decide (to if none), having written nothing for it.
// ptrs holds the n sources' data pointers; the arguments are validated.
//
//go:noescape
func Fast(ptrs **byte, n int, vectorOffset int, objectSize int, from int, to int, results *uint32, target *byte) int

// Small is Fast for 1 <= n <= ` + fmt.Sprint(smallMax) + ` replicas, which also decides the objects
// whose replicas are all strangers (every ID0 distinct, no ID1 any
// replica's ID0): a split-brain. ptrs holds the n sources' data pointers.
//
//go:noescape
func Small(ptrs **byte, n int, vectorOffset int, objectSize int, from int, to int, results *uint32, target *byte) int

` + oneDoc + `//
//go:noescape
` + oneDecl + `

` + decideDoc + `//
//go:noescape
` + decideDecl + `
`
	if err := os.WriteFile(*stubPath, []byte(stub), 0o644); err != nil {
		log.Fatal(err)
	}
}

// countReplicas adds the k replicas from q on (k = 1 or 4) to the counts:
// na += (vector == a), and each lane of b's counts += (that lane equals
// b's). Replica i's vector is loaded into x, x+1 (x = 16+4i), compared with
// a into x+2, x+3 and with b in place; the compare with a is reduced through
// lane moves into addr[i] and spare[i].
func countReplicas(k int) {
	xs := make([]int, k)
	for i := range xs {
		xs[i] = 16 + 4*i
	}
	loadAddrs(0, k)
	for i, x := range xs {
		op("VLD1", mem(0, addr[i]), pair(x))
	}
	for _, x := range xs {
		op("VCMEQ", d2(a0), v(x, "D2"), v(x+2, "D2"))
		op("VCMEQ", d2(a1), v(x+1, "D2"), v(x+3, "D2"))
	}
	for _, x := range xs {
		op("VCMEQ", d2(b0), v(x, "D2"), v(x, "D2"))
		op("VCMEQ", d2(b1), v(x+1, "D2"), v(x+1, "D2"))
	}
	for _, x := range xs {
		op("VAND", v(x+3, "B16"), v(x+2, "B16"), v(x+2, "B16"))
	}
	for _, x := range xs {
		op("VSUB", v(x, "D2"), d2(lb0), d2(lb0)) // a matching lane is -1: subtracting counts it
		op("VSUB", v(x+1, "D2"), d2(lb1), d2(lb1))
	}
	for i, x := range xs {
		op("VMOV", v(x+2, "D[0]"), addr[i])
		op("VMOV", v(x+2, "D[1]"), spare[i])
	}
	for i := range xs {
		op("AND", spare[i], addr[i], addr[i]) // -1 iff the whole vector equals a
	}
	if k == 4 {
		op("ADD", addr[1], addr[0], addr[0])
		op("ADD", addr[3], addr[2], addr[2])
		op("ADD", addr[2], addr[0], addr[0])
	}
	op("SUB", addr[0], na, na)
}

// copyTarget writes target's object, with labels that start with prefix:
// the leader's object (the leader's index in lead), or zeros when the
// result's length byte is zero. Objects are at least 32 bytes, so 64- then
// 32-byte moves from the start and a last 32-byte move ending at the
// object's end cover it exactly, never touching memory outside the two
// objects.
func copyTarget(prefix string) {
	dst, last, src := addr[0], addr[1], addr[2]
	comment("Copy the leader's object into target's, or zero it: 64- then 32-byte",
		"moves while they fit before the last 32 bytes, then those.")
	op("CBZ", tgt, prefix+"copied")
	op("MUL", size, obj, t0) // the object's start in every buffer
	op("ADD", t0, tgt, dst)
	op("ADD", size, dst, last)
	op("SUB", "$32", last, last) // the last move's destination
	op("AND", "$0xff00", word, t1)
	op("CBZ", t1, prefix+"zero")
	op("MOVD", fmt.Sprintf("(%s)(%s<<3)", ptrs, lead), src)
	op("ADD", t0, src, src)
	quad := "[V16.B16, V17.B16, V18.B16, V19.B16]"
	label(prefix + "copy64")
	op("ADD", "$32", dst, t1) // 64 bytes fit iff dst+64 <= last+32
	op("CMP", last, t1)
	op("BHI", prefix+"copy32")
	op("VLD1.P", mem(64, src), quad)
	op("VST1.P", quad, mem(64, dst))
	op("B", prefix+"copy64")
	label(prefix + "copy32")
	op("CMP", last, dst)
	op("BHS", prefix+"copyLast")
	op("VLD1.P", mem(32, src), pair(16))
	op("VST1.P", pair(16), mem(32, dst))
	op("B", prefix+"copy32")
	label(prefix + "copyLast")
	op("SUB", dst, last, t1) // src and dst move together: src += last - dst
	op("ADD", t1, src, src)
	op("VLD1", mem(0, src), pair(16))
	op("VST1", pair(16), mem(0, last))
	op("B", prefix+"copied")

	zeros := "[V6.B16, V7.B16, V8.B16, V9.B16]"
	label(prefix + "zero")
	op("ADD", "$32", dst, t1)
	op("CMP", last, t1)
	op("BHI", prefix+"zero32")
	op("VST1.P", zeros, mem(64, dst))
	op("B", prefix+"zero")
	label(prefix + "zero32")
	op("CMP", last, dst)
	op("BHS", prefix+"zeroLast")
	op("VST1.P", pair(6), mem(32, dst))
	op("B", prefix+"zero32")
	label(prefix + "zeroLast")
	op("VST1", pair(6), mem(0, last))
	label(prefix + "copied")
}

// relationExits are where the relations of a and b branch to: bad for an
// object the assembly hands back, and the writes of a result whose leader
// is a (lead 0), b (lead ib) or none. An empty writeBTo falls through to
// the code that follows.
type relationExits struct{ bad, writeA, writeBTo, writeZero string }

// writeB is where b's win branches to mid-block (the end falls through).
func (x relationExits) writeB() string { return cmpOr(x.writeBTo, x.writeA) }

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// relations emits the decision between two vectors a and b, counted na
// and nb, with labels prefixed by p: Fast and Small share it.
func relations(p string, x relationExits) {
	label(p + "relations")
	comment("Relations of a and b, comparing 16-byte IDs.")
	sameID(a0, a1) // a depends on itself
	op("BEQ", x.bad)
	sameID(b0, b1) // b depends on itself
	op("BEQ", x.bad)
	sameID(a0, b0) // one ID0, two ID1s (the vectors differ): a conflict
	op("BEQ", x.bad)
	sameID(a0, b1) // b was built on a
	op("CSET", "EQ", lead)
	sameID(a1, b0) // a was built on b
	op("BNE", p+"notAOnB")
	op("CBNZ", lead, x.bad) // each built on the other: a cycle
	comment("a was built on b: leader 0, length n, repair nb")
	op("LSL", "$16", nb, word)
	op("ORR", n+"<<8", word, word)
	op("B", x.writeA) // lead is 0
	label(p + "notAOnB")
	op("CBZ", lead, p+"unrelated")
	comment("b was built on a: leader ib, length n, repair na")
	op("LSL", "$16", na, word)
	op("ORR", n+"<<8", word, word)
	op("ORR", ib, word, word)
	op("MOVD", ib, lead)
	op("B", x.writeB())

	label(p + "unrelated")
	comment("Unrelated: the larger group wins; equal groups are split-brain.")
	op("CMP", nb, na)
	op("BHI", p+"aWins")
	op("BLO", p+"bWins")
	op("MOVD", "$(1<<24)", word)
	op("B", x.writeZero)
	label(p + "aWins")
	comment("leader 0, length na")
	op("LSL", "$8", na, word)
	op("MOVD", "$0", lead)
	op("B", x.writeA)
	label(p + "bWins")
	comment("leader ib, length nb")
	op("LSL", "$8", nb, word)
	op("ORR", ib, word, word)
	op("MOVD", ib, lead)
	if x.writeBTo != "" {
		op("B", x.writeBTo)
	}
}
