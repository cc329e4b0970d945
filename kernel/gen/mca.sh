#!/usr/bin/env bash
# Estimates, with llvm-mca (Debian: apt-get install llvm), the cycles per
# iteration of the AVX2 kernel's hot loops on CPUs this machine may not be:
# the loops are cut from the built kernel by their source lines, so the
# estimate is of the exact instructions that run. Prints one Markdown row a
# CPU. Run from the repository root: bash kernel/gen/mca.sh
set -euo pipefail
MCA=${MCA:-$(command -v llvm-mca || ls /usr/bin/llvm-mca-* 2>/dev/null | tail -n 1)}
OBJDUMP=${OBJDUMP:-$(command -v llvm-objdump || ls /usr/bin/llvm-objdump-* 2>/dev/null | tail -n 1)}
CPUS=${CPUS:-znver1 znver2 znver3 skylake skylake-avx512 icelake-server}
src=kernel/internal/asm/avx2_amd64.s
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOARCH=amd64 go test -c -o "$tmp/k.test" ./kernel/
go tool objdump -s 'internal/asm\.Fast' "$tmp/k.test" >"$tmp/go.txt"

"$OBJDUMP" -d --no-show-raw-insn --disassemble-symbols='github.com/lockstep/quorum/kernel/internal/asm.Fast.abi0' "$tmp/k.test" >"$tmp/llvm.txt"

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

# cycles LABEL CPU: llvm-mca's cycles per iteration of the loop.
cycles() {
	loop "$1" >"$tmp/$1.s"
	"$MCA" -mcpu="$2" -iterations=200 "$tmp/$1.s" 2>/dev/null |
		awk '/^Iterations:/ { i = $2 } /^Total Cycles:/ { c = $3 } END { printf "%.1f", c / i }'
}

echo "| CPU (-mcpu) | phase 1: 8 replicas, one object (scan0_8) | phase 1: 8 replicas, two objects (both8) | phase 2: 16 replicas, one object (one16group) | phase 2: 16 replicas, two objects (pair16group) |"
echo "|---|---|---|---|---|"
for cpu in $CPUS; do
	echo "| $cpu | $(cycles scan0_8 "$cpu") | $(cycles both8 "$cpu") | $(cycles one16group "$cpu") | $(cycles pair16group "$cpu") |"
done
