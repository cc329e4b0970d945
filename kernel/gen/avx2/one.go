package main

import (
	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/ir"
	. "github.com/mmcloughlin/avo/operand"
	. "github.com/mmcloughlin/avo/reg"
)

// undecided is Decide's answer for an object it leaves to Go: no result
// word has a forked byte above 1.
const undecided = 0xffffffff

// headerSize is a []byte's size: One and Decide walk the caller's slice
// headers.
const headerSize = 24

// The single-object routines' registers beyond Small's: the header being
// read and the end of the headers; in One, the data pointers of a and b
// for the relations (Decide's onA needs those registers: it loads both
// pointers again).
var (
	oCur = R10
	oEnd = R14
	oA   = RCX
	oB   = RDX
)

// oneSource is theirs for the strangers test: the slice headers, each
// vector at its slice's start.
var oneSource = source{
	ptr: func(rep int) Mem { return Mem{Base: ptrs, Disp: headerSize * rep} },
	at:  func(p Register, disp int) Mem { return Mem{Base: p, Disp: disp} },
}

// singles emits the two single-object entries, one body each: One, which
// is Quorum itself (every object it leaves goes on to Go's slowOne, with
// the same arguments, so that a call that it decides is one call), and
// Decide, which returns undecided instead, for Roles and Depths.
func singles() {
	TEXT("One", NOSPLIT, "func(vectors [][]byte) (word uint32, err error)")
	Pragma("noescape") // slowOne's Slow, Go's Quorum, keeps no vector
	Doc(
		"One is Quorum as a result word: it decides the object whose replicas'",
		"vectors are vectors as Decide does, and jumps to slowOne, with its",
		"arguments, for any other object, any vector not 32 bytes long, any",
		"number of vectors outside 1 to 255, and every object when OneOff is set.",
	)
	Comment(oneRegisters...)
	Load(Param("vectors").Base(), ptrs)
	Load(Param("vectors").Len(), n)
	Comment("Before any AVX instruction: OneOff is set on CPUs without AVX2, or without AVX at all.")
	CMPB(NewDataAddr(Symbol{Name: "·OneOff"}, 0), U8(0))
	JNE(LabelRef("ohand"))
	LEAQ(Mem{Base: n, Disp: -1}, mask)
	CMPQ(mask, U32(255))
	JAE(LabelRef("ohand"))
	single("o", false)
	Label("owrite")
	VZEROUPPER()
	Comment("One store of the whole word: Go's loads of it, or of a byte of it, are forwarded from it.")
	Store(word.As32(), Return("word"))
	XORL(word.As32(), word.As32())
	MOVQ(word, NewParamAddr("err_itable", 32)) // both words of the interface
	MOVQ(word, NewParamAddr("err_data", 40))
	RET()
	Label("oslow")
	VZEROUPPER()
	Label("ohand")
	// A tail call, which avo's JMP (a branch to a label) cannot express.
	Instruction(&ir.Instruction{Opcode: "JMP", Operands: []Op{NewDataAddr(Symbol{Name: "·slowOne"}, 0)}, IsTerminal: true})

	TEXT("Decide", NOSPLIT, "func(vectors *[]byte, n int) (word uint32, onA uint64)")
	Pragma("noescape")
	Doc(
		"Decide decides the object whose n >= 1 replicas' 32-byte vectors are the",
		"slices at vectors, returning its result word: an agreed object or one",
		"of two vectors for any n, an object of strangers for n <= 8. It returns",
		"Undecided for any other object and for a slice not 32 bytes long. When",
		"n <= 64, bit i of onA is set when replica i holds replica 0's vector",
		"(unless the object is a split-brain).",
	)
	Comment(oneRegisters...)
	Comment("Decide's own: CX onA, DX the bit of the replica counted, SI scratch.")
	Load(Param("vectors"), ptrs)
	Load(Param("n"), n)
	single("d", true)
	Label("dwrite")
	VZEROUPPER()
	Store(word.As32(), Return("word"))
	Store(dOnA, Return("onA"))
	RET()
	Label("dslow")
	VZEROUPPER()
	MOVL(U32(undecided), word.As32())
	Store(word.As32(), ReturnIndex(0))
	RET()
}

var oneRegisters = []string{
	"Registers: AX the headers, BX n, DI replica pointer, R8 masks,",
	"R9 na, R10 the next header, R11 result, R12 nb, R13 ib, R14 the headers' end;",
	"in One, CX and DX a's and b's data pointers.",
	"Y0 a, Y1 b, Y3 compare, Y6-Y11 the relations, Y6-Y14 the strangers test.",
}

// Decide's registers for onA: the set, the bit of the replica counted, and
// the set's scratch.
var dOnA, dBit, dT = RCX, RDX, RSI

// single emits Small's decisions for one object of n >= 1 replicas whose
// headers are at ptrs, with labels prefixed by pre, ending at pre+"write"
// with the result in word or at pre+"slow"; with onA, it also builds
// Decide's onA in dOnA. Each replica's length is checked as it is read.
// The count after b is branch-free (a carry adds each match), so a
// replica's position costs no misprediction.
func single(pre string, onA bool) {
	l := func(s string) LabelRef { return LabelRef(pre + s) }
	checkLength(Mem{Base: ptrs}, l("slow"))
	MOVQ(Mem{Base: ptrs}, p)
	VMOVDQU(Mem{Base: p}, sA)
	LEAQ(Mem{Base: n, Index: n, Scale: 2}, oEnd)
	LEAQ(Mem{Base: ptrs, Index: oEnd, Scale: 8}, oEnd)
	LEAQ(Mem{Base: ptrs, Disp: headerSize}, oCur)
	CMPQ(oCur, oEnd)
	JE(l("agreed"))

	Comment("Skip the replicas equal to a; b is the first that is not.")
	Label(pre + "scan")
	next(l("slow"))
	sameVector(Mem{Base: p}, sA, sEq)
	JNE(l("b"))
	CMPQ(oCur, oEnd)
	JNE(l("scan"))
	JMP(l("agreed"))
	Label(pre + "b")
	VMOVDQU(Mem{Base: p}, sB)
	if !onA {
		MOVQ(p, oB)
	}
	Comment("ib = (oCur - 24 - ptrs)/24: a multiple of 24 below 2^13 times 2731 (2^16/24 rounded up), over 2^16.")
	LEAQ(Mem{Base: oCur, Disp: -headerSize}, sIB)
	SUBQ(ptrs, sIB)
	IMUL3Q(U32(2731), sIB, sIB)
	SHRQ(U8(16), sIB)
	MOVQ(sIB, na) // replicas before ib hold a
	MOVQ(U32(1), nb)
	if onA {
		Comment("onA = the replicas before ib; the next bit is ib+1's.")
		XORL(dOnA.As32(), dOnA.As32())
		BTSQ(sIB, dOnA)
		MOVQ(dOnA, dBit)
		SHLQ(U8(1), dBit)
		DECQ(dOnA)
	}

	Comment("Count the replicas after ib on a and on b, without branches.")
	Label(pre + "count")
	CMPQ(oCur, oEnd)
	JE(l("counted"))
	next(l("slow"))
	for _, c := range []struct {
		v     VecPhysical
		count Register
	}{{sA, na}, {sB, nb}} {
		VPCMPEQB(Mem{Base: p}, c.v, sEq)
		VPMOVMSKB(sEq, mask.As32())
		ADDL(U8(1), mask.As32()) // carries exactly when all 32 bytes match
		if !onA || c.v == sB {
			ADCQ(U8(0), c.count)
			continue
		}
		SBBQ(dT, dT) // -1 on a match
		SUBQ(dT, c.count)
		ANDQ(dBit, dT)
		ORQ(dT, dOnA)
		SHLQ(U8(1), dBit)
	}
	JMP(l("count"))
	Label(pre + "counted")
	LEAQ(Mem{Base: na, Index: nb, Scale: 1}, mask)
	CMPQ(mask, n)
	JE(l("relations"))
	CMPQ(n, U8(smallMax))
	JA(l("slow"))
	JMP(l("strangers"))

	Label(pre + "agreed")
	Comment("Every replica holds a: agreed, unless a depends on itself.")
	selfLoopTo(sA, t[0], l("slow"))
	Comment("leader 0, length n")
	MOVQ(n, word)
	SHLQ(U8(8), word)
	if onA {
		MOVQ(I32(-1), dOnA)
	}
	JMP(l("write"))

	smallRelations(pre, func() {
		a, b := Mem{Base: oA}, Mem{Base: oB}
		if !onA {
			MOVQ(Mem{Base: ptrs}, oA)
		} else {
			MOVQ(Mem{Base: ptrs}, dT) // Decide's count is done: dT and dBit are free
			LEAQ(Mem{Base: sIB, Index: sIB, Scale: 2}, dBit)
			MOVQ(Mem{Base: ptrs, Index: dBit, Scale: 8}, dBit)
			a, b = Mem{Base: dT}, Mem{Base: dBit}
		}
		unrelatedFirst(a, b, mask, word, l("quick"), l("unrelated"))
	})
	strangers(pre, oneSource)
	// The relations' and strangers' writers: the word is all there is.
	Label(pre + "writeA")
	Label(pre + "writeB")
	Label(pre + "writeZero")
	JMP(l("write"))
}

// unrelatedFirst emits a test of two distinct vectors, at a and b in
// memory, for the commonest relation of all, none, before any vector
// compare: IDs whose first 64-bit halves differ differ, so a.ID0 != a.ID1,
// b.ID0 != b.ID1, a.ID0 != b.ID0, a.ID1 != b.ID0 and a.ID0 != b.ID1 hold
// when the halves do, and then the vectors are unrelated. It jumps to
// unrelated then and to quick otherwise. For one object, scalar loads and
// compares reach the branch sooner than quickRelations's shuffles and
// masks; in the batch loops they cost more than they save (a chain pays
// both). Uses x and y.
func unrelatedFirst(a, b Mem, x, y Register, quick, unrelated LabelRef) {
	at := func(m Mem, disp int) Mem { m.Disp += disp; return m }
	MOVQ(a, x) // a.ID0's first half
	MOVQ(b, y) // b.ID0's
	for _, c := range []struct {
		r Register
		m Mem
	}{{y, at(a, 16)}, {x, at(b, 16)}, {x, at(a, 16)}, {y, at(b, 16)}} { // the chains' first: they leave at once
		CMPQ(c.r, c.m)
		JE(quick)
	}
	CMPQ(x, y)
	JNE(unrelated)
	JMP(quick)
}

// checkLength jumps to slow unless the slice header at h has length 32.
func checkLength(h Mem, slow LabelRef) {
	h.Disp += 8
	CMPQ(h, U8(vectorSize))
	JNE(slow)
}

// next sets p to the next replica's data pointer, its length checked, and
// steps to the header after it.
func next(slow LabelRef) {
	checkLength(Mem{Base: oCur}, slow)
	MOVQ(Mem{Base: oCur}, p)
	ADDQ(U8(headerSize), oCur)
}
