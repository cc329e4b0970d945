package main

import "fmt"

// headerSize is a []byte's size: One and Decide walk the caller's slice
// headers.
const headerSize = 24

// The single-object routines' declarations, for the listing and the stub.
const (
	oneDoc = `// One is Quorum as a result word: it decides the object whose replicas'
// vectors are vectors as Decide does, and jumps to slowOne, with its
// arguments, for any other object, any vector not 32 bytes long, any
// number of vectors outside 1 to 255, and every object when OneOff is set.
`
	oneDecl   = "func One(vectors [][]byte) (word uint32, err error)"
	decideDoc = `// Decide decides the object whose n >= 1 replicas' 32-byte vectors are the
// slices at vectors, returning its result word: an agreed object or one
// of two vectors for any n, an object of strangers for n <= 8. It returns
// Undecided for any other object and for a slice not 32 bytes long. When
// n <= 64, bit i of onA is set when replica i holds replica 0's vector
// (unless the object is a split-brain).
`
	decideDecl = "func Decide(vectors *[]byte, n int) (word uint32, onA uint64)"
)

// oneRegisters is both routines' register comment.
const oneRegisters = "//\n" +
	"// Registers: R0 the headers, R1 n, R5 the next header, R6 na, R7 ib, R8 nb,\n" +
	"// R9 result, R11 R12 scratch, R19 the headers' end, R20 R21 the fillers;\n" +
	"// V0 V1 a, V2 V3 b, V16-V19 the replica compared and its compare,\n" +
	"// V20-V30 the strangers test.\n"

// singles emits the two single-object entries, one body each: One, which
// is Quorum itself (every object it leaves goes on to Go's slowOne, with
// the same arguments, so that a call that it decides is one call), and
// Decide, which returns Undecided instead, for Roles and Depths.
func singles() {
	out.WriteString("\n// " + oneDecl + "\n//\n" + oneDoc + oneRegisters)
	out.WriteString("TEXT ·One(SB), NOSPLIT, $0-48\n")
	op("MOVD", "vectors_base+0(FP)", ptrs)
	op("MOVD", "vectors_len+8(FP)", n)
	op("MOVBU", "·OneOff(SB)", t0)
	op("CBNZ", t0, "oslow")
	op("SUB", "$1", n, t0)
	op("CMP", "$255", t0)
	op("BHS", "oslow")
	single("o", false)
	label("owrite")
	op("MOVW", word, "word+24(FP)")
	op("MOVD", "ZR", "err_itable+32(FP)")
	op("MOVD", "ZR", "err_data+40(FP)")
	op("RET")
	label("oslow")
	op("B", "·slowOne(SB)")

	out.WriteString("\n// " + decideDecl + "\n//\n" + decideDoc + oneRegisters)
	out.WriteString("// Decide's own: R2 onA, R3 the bit of the replica counted, R4 scratch.\n")
	out.WriteString("TEXT ·Decide(SB), NOSPLIT, $0-32\n")
	op("MOVD", "vectors+0(FP)", ptrs)
	op("MOVD", "n+8(FP)", n)
	single("d", true)
	label("dwrite")
	op("MOVW", word, "word+16(FP)")
	op("MOVD", dOnA, "onA+24(FP)")
	op("RET")
	label("dslow")
	op("MOVD", "$0xffffffff", word)
	op("MOVW", word, "word+16(FP)")
	op("RET")
}

// Decide's registers for onA: the set, the bit of the replica counted, and
// scratch.
const dOnA, dBit, dT = "R2", "R3", "R4"

// single emits Small's decisions for one object of n >= 1 replicas whose
// headers are at ptrs (q walks them), with labels prefixed by pre, ending
// at pre+"write" with the result in word or at pre+"slow". Each replica's
// length is checked as it is read. The count after b is branch-free
// (CINC), so a replica's position costs no misprediction. With onA it
// also builds Decide's onA in dOnA.
func single(pre string, onA bool) {
	l := func(s string) string { return pre + s }
	op("ADD", n+"<<4", ptrs, end)
	op("ADD", n+"<<3", end, end) // end = ptrs + 24n
	op("MOVD", ptrs, q)
	next(l("slow"))
	comment("a = replica 0's vector")
	op("VLD1", mem(0, t0), "[V0.B16, V1.B16]")
	op("CMP", end, q)
	op("BEQ", l("agreed"))

	comment("Skip the replicas equal to a; b (V2, V3) is the first that is not.")
	label(l("scan"))
	next(l("slow"))
	op("VLD1", mem(0, t0), "[V2.B16, V3.B16]")
	sameVector(2, a0, a1, 18)
	op("BNE", l("b"))
	op("CMP", end, q)
	op("BNE", l("scan"))
	op("B", l("agreed"))
	label(l("b"))
	comment("ib = na = the index of b's replica (q is one header past it); nb = 1.")
	op("SUB", ptrs, q, ib)
	op("MOVD", fmt.Sprintf("$%d", headerSize), t0)
	op("UDIV", t0, ib, ib)
	op("SUB", "$1", ib, ib)
	op("MOVD", ib, na)
	op("MOVD", "$1", nb)
	if onA {
		comment("onA = the replicas before ib; the next bit is ib+1's.")
		op("MOVD", "$1", dT)
		op("LSL", ib, dT, dOnA)
		op("LSL", "$1", dOnA, dBit)
		op("SUB", "$1", dOnA, dOnA)
	}

	comment("Count the replicas after ib on a and on b, without branches.")
	label(l("count"))
	op("CMP", end, q)
	op("BEQ", l("counted"))
	next(l("slow"))
	op("VLD1", mem(0, t0), pair(16))
	sameVector(16, a0, a1, 18)
	op("CINC", "EQ", na, na)
	if onA {
		op("ORR", dBit, dOnA, dT)
		op("CSEL", "EQ", dT, dOnA, dOnA)
		op("LSL", "$1", dBit, dBit)
	}
	sameVector(16, b0, b1, 18)
	op("CINC", "EQ", nb, nb)
	op("B", l("count"))
	label(l("counted"))
	op("ADD", na, nb, t0)
	op("CMP", n, t0)
	op("BEQ", l("relations"))
	op("CMP", fmt.Sprintf("$%d", smallMax), n)
	op("BHI", l("slow"))
	op("B", l("strangers"))

	label(l("agreed"))
	comment("Every replica holds a: agreed, unless a depends on itself.")
	sameID(a0, a1)
	op("BEQ", l("slow"))
	comment("leader 0, length n")
	op("LSL", "$8", n, word)
	if onA {
		op("MOVD", "$-1", dOnA)
	}
	op("B", l("write"))

	exits := relationExits{bad: l("slow"), writeA: l("write"), writeZero: l("write")}
	relations(pre, exits)
	op("B", l("write"))
	strangers(pre, headerSize, false, exits)
}

// next sets t0 to the data pointer of the replica whose header is at q,
// after checking its length is 32 (else it jumps to slow), and steps q to
// the next header.
func next(slow string) {
	op("MOVD", mem(8, q), t1)
	op("CMP", "$32", t1)
	op("BNE", slow)
	op("MOVD", mem(0, q), t0)
	op("ADD", fmt.Sprintf("$%d", headerSize), q, q)
}
