//go:build (amd64 || arm64) && gc && !purego

package kernel

import "github.com/lockstep/quorum/kernel/asm"

// asmImplementations is the assembly kernel, if this CPU can run it.
func asmImplementations() []implementation {
	if !asm.Available() {
		return nil
	}
	return []implementation{{name: asm.Name, calculate: asm.CalculateRange}}
}
