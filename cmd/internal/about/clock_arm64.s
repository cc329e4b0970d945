//go:build gc

#include "textflag.h"

// func addChain(n int) int
// Registers: R1 iterations left, R0 the chain (each ADD waits for the last).
TEXT ·addChain(SB), NOSPLIT, $0-16
	MOVD n+0(FP), R1
	MOVD $0, R0
loop:
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	ADD  $1, R0, R0
	SUBS $1, R1, R1
	BNE  loop
	MOVD R0, ret+8(FP)
	RET
