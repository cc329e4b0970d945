#!/usr/bin/env bash
# Estimates, with llvm-mca (Debian: apt-get install llvm), the cycles per
# iteration of the AVX2 kernel's hot loops on CPUs this machine may not be:
# the loops are cut from the built kernel by their source lines, so the
# estimate is of the exact instructions that run. Prints two Markdown
# tables, one row a CPU: Fast's loops, then Small's beside generic's (cut
# from the compiled Go) and a hand-written 128-bit sketch of Small's
# (kernel/gen/mca/*.s, never built). Straight-line blocks with branches
# not taken are estimated as if repeated: llvm-mca models neither branch
# prediction nor the memory hierarchy. Run from the repository root: bash
# kernel/gen/mca.sh
set -euo pipefail
MCA=${MCA:-$(command -v llvm-mca || ls /usr/bin/llvm-mca-* 2>/dev/null | tail -n 1)}
OBJDUMP=${OBJDUMP:-$(command -v llvm-objdump || ls /usr/bin/llvm-objdump-* 2>/dev/null | tail -n 1)}
CPUS=${CPUS:-znver1 znver2 znver3 skylake skylake-avx512 icelake-server}
src=kernel/internal/asm/avx2_amd64.s
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOARCH=amd64 go test -c -o "$tmp/k.test" ./kernel/
go tool objdump -s 'internal/asm\.(Fast|Small|One)' "$tmp/k.test" >"$tmp/go.txt"
go tool objdump -s 'kernel\.fastGeneric$' "$tmp/k.test" >"$tmp/gogeneric.txt"

"$OBJDUMP" -d --no-show-raw-insn --disassemble-symbols='github.com/lockstep/quorum/kernel/internal/asm.Fast.abi0,github.com/lockstep/quorum/kernel/internal/asm.Small.abi0,github.com/lockstep/quorum/kernel/internal/asm.One.abi0,github.com/lockstep/quorum/kernel.fastGeneric' "$tmp/k.test" >"$tmp/llvm.txt"

# loop LABEL: the loop's instructions, AT&T syntax, from its head to the
# branch back to it. Go's line table places the label's next instruction
# (Go's disassembler decodes some VEX forms wrongly, but its addresses and
# lines are right); the loop's head is the target of the branch back, which
# is at that address or a few bytes before it.
loop() {
	local line start
	line=$(grep -n "^$1:" "$src" | cut -d: -f1)
	start=$(awk -v l="$((line + 1))" '{ split($1, a, ":"); if (a[1] ~ /avx2_amd64.s/ && a[2] == l) { print $2; exit } }' "$tmp/go.txt")
	python3 - "$tmp/llvm.txt" "$start" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if re.match(r"^ *[0-9a-f]+:", l)]
start = int(sys.argv[2], 16)
insns = [(int(l.split(":")[0], 16), l.split(":", 1)[1].strip()) for l in lines]
for addr, text in insns:
    m = re.match(r"j[a-z]+\s+0x([0-9a-f]+)", text)
    if m and addr > start and start - 16 <= int(m.group(1), 16) <= start:
        head = int(m.group(1), 16)
        print("\n".join(t for a, t in insns if head <= a <= addr))
        break
PY
}

# addr LABEL: the address of the first instruction after LABEL in the
# built kernel (the label must be unique in the .s file).
addr() {
	local line
	line=$(grep -n "^$1:" "$src" | cut -d: -f1)
	# the first instruction within a few lines (comments may follow the label)
	awk -v l="$line" '{ split($1, a, ":"); if (a[1] ~ /avx2_amd64.s/ && a[2] > l && a[2] <= l + 4) { print $2; exit } }' "$tmp/go.txt"
}

# block FROM TO: the instructions from label FROM up to label TO, a path
# whose branches are not taken (llvm-mca estimates it as if repeated).
block() {
	python3 - "$tmp/llvm.txt" "$(addr "$1")" "$(addr "$2")" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if re.match(r"^ *[0-9a-f]+:", l)]
lo, hi = int(sys.argv[2], 16), int(sys.argv[3], 16)
print("\n".join(l.split(":", 1)[1].strip() for l in lines if lo <= int(l.split(":")[0], 16) < hi))
PY
}

# path FROM TO: the instructions from label FROM up to the first branch to
# label TO, then TO's block up to the next label of the .s file: the path
# taken when that branch is the only one taken.
path() {
	local next
	next=$(awk -v l="$2" '$0 == l ":" { on = 1; next } on && /^[a-zA-Z0-9_]+:$/ { sub(":", ""); print; exit }' "$src")
	python3 - "$tmp/llvm.txt" "$(addr "$1")" "$(addr "$2")" "$(addr "$next")" <<'PY'
import re, sys
lines = [l for l in open(sys.argv[1]) if re.match(r"^ *[0-9a-f]+:", l)]
lo, to, end = (int(a, 16) for a in sys.argv[2:5])
insns = [(int(l.split(":")[0], 16), l.split(":", 1)[1].strip()) for l in lines]
for a, t in insns:
    if a >= lo:
        print(t)
        m = re.match(r"j[a-z]+\s+0x([0-9a-f]+)", t)
        if m and int(m.group(1), 16) == to:
            break
print("\n".join(t for a, t in insns if to <= a < end))
PY
}

# goloop LINE: the loop of fastGeneric whose head is on generic.go:LINE
# (the first backward branch to an instruction of that line).
goloop() {
	python3 - "$tmp/llvm.txt" "$tmp/gogeneric.txt" "$1" <<'PY'
import re, sys
heads = set()
for l in open(sys.argv[2]):
    m = re.match(r"\s*generic\.go:(\d+)\s+0x([0-9a-f]+)", l)
    if m and m.group(1) == sys.argv[3]:
        heads.add(int(m.group(2), 16))
lines = [l for l in open(sys.argv[1]) if re.match(r"^ *[0-9a-f]+:", l)]
insns = [(int(l.split(":")[0], 16), l.split(":", 1)[1].strip()) for l in lines]
for addr, text in insns:
    m = re.match(r"j[a-z]+\s+0x([0-9a-f]+)", text)
    if m and int(m.group(1), 16) in heads and int(m.group(1), 16) < addr:
        head = int(m.group(1), 16)
        print("\n".join(t for a, t in insns if head <= a <= addr))
        break
PY
}

# mca FILE CPU: llvm-mca's cycles per iteration of FILE's instructions.
mca() {
	"$MCA" -mcpu="$2" -iterations=200 "$1" 2>/dev/null |
		awk '/^Iterations:/ { i = $2 } /^Total Cycles:/ { c = $3 } END { printf "%.1f", c / i }'
}

# cycles LABEL CPU: llvm-mca's cycles per iteration of the loop.
cycles() {
	loop "$1" >"$tmp/$1.s"
	mca "$tmp/$1.s" "$2"
}

echo "| CPU (-mcpu) | phase 1: 8 replicas, one object (scan0_8) | phase 1: 8 replicas, two objects (both8) | phase 2: 16 replicas, one object (one16group) | phase 2: 16 replicas, two objects (pair16group) |"
echo "|---|---|---|---|---|"
for cpu in $CPUS; do
	echo "| $cpu | $(cycles scan0_8 "$cpu") | $(cycles both8 "$cpu") | $(cycles one16group "$cpu") | $(cycles pair16group "$cpu") |"
done

# Small (up to 8 replicas) and what would compete with it at small N.
# Phase-1 line numbers of fastGeneric: the heads of its two loops.
g1=$(grep -n 'for ; r < len(sources); r++ {' kernel/generic.go | cut -d: -f1)
g2=$(grep -n 'for r++; r < len(sources); r++ {' kernel/generic.go | cut -d: -f1)
goloop "$g1" >"$tmp/generic1.s"
goloop "$g2" >"$tmp/generic2.s"
path two0Next two0Unrelated >"$tmp/two0.s"
block sgathered stested >"$tmp/strangers.s"
loop spairs >"$tmp/spairs.s"
loop sscan >"$tmp/sscan.s"
loop oscan >"$tmp/oscan.s"
echo
# half: a two-replica iteration's cycles, per replica.
half() { awk -v c="$1" 'BEGIN { printf "%.1f", c / 2 }'; }
echo "| CPU (-mcpu) | all agree, a replica: Small (sscan) | 128-bit sketch | generic (phase 1) | one object per call (One, oscan) | two vectors, a replica: Small (spairs, per replica) | generic (phase 2) | 2 replicas, two vectors, an object: Small (two0) | 128-bit sketch | 5-8 strangers, the test (sgathered) |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for cpu in $CPUS; do
	echo "| $cpu | $(mca "$tmp/sscan.s" "$cpu") | $(mca kernel/gen/mca/sscan128.s "$cpu") | $(mca "$tmp/generic1.s" "$cpu") | $(mca "$tmp/oscan.s" "$cpu") | $(half "$(mca "$tmp/spairs.s" "$cpu")") | $(mca "$tmp/generic2.s" "$cpu") | $(mca "$tmp/two0.s" "$cpu") | $(mca kernel/gen/mca/two128.s "$cpu") | $(mca "$tmp/strangers.s" "$cpu") |"
done
