//go:build !((amd64 || arm64) && gc && !purego)

package kernel

// asmImplementations: this build has no assembly (purego, or an
// architecture without a kernel).
func asmImplementations() []implementation { return nil }

// asmSmallMax: no assembly, no asm.Small.
const asmSmallMax = 0

// quorumAsm: no assembly to decide one object with.
func quorumAsm([][]byte) (r Result, ok, tried bool) { return Result{}, false, false }

const asmSmallDecidesStrangers = false
