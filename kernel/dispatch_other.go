//go:build !((amd64 || arm64) && gc && !purego)

package kernel

// asmImplementations: this build has no assembly (purego, or an
// architecture without a kernel).
func asmImplementations() []implementation { return nil }

// asmSmallMax: no assembly, no asm.Small.
const asmSmallMax = 0

// quorum: no assembly to decide one object with.
func quorum(vectors [][]byte) (Result, error) { return quorumGo(vectors) }

// decide: no assembly; activeIsAsm is false, so it is never called.
func decide([][]byte) (word uint32, onA uint64) { return undecided, 0 }

const undecided = 0xffffffff

const oneDecidesStrangers = 0

const activeIsAsm = false
