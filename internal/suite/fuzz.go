package suite

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// FuzzSources builds a call's sources from fuzzer bytes: n replicas of
// objects objects of objectSize bytes (which may be invalid), vectors at
// offset-8 (which may be out of range), IDs from a small palette.
func FuzzSources(n, objects, objectSize, offset uint8, picks []byte) (sources [][]byte, off, size int) {
	if len(picks) == 0 {
		picks = []byte{0}
	}
	palette := 2 + int(picks[0])%40
	id := func(k int) []byte {
		b := make([]byte, kernel.IDSize)
		if k%palette != palette-1 {
			binary.LittleEndian.PutUint64(b, uint64(k%palette)*0x9e3779b97f4a7c15+1)
			b[15] = byte(k % palette)
		}
		return b
	}
	size, off = int(objectSize), int(offset)-8
	sources = make([][]byte, n)
	for r := range sources {
		s := make([]byte, int(objects)*max(size, 0))
		for i := range s {
			s[i] = byte(r + i*13)
		}
		for o := range int(objects) {
			at := o*size + off
			if size < 32 || off < 0 || at+32 > len(s) {
				break
			}
			p := (o*int(n) + r) * 2
			copy(s[at:], id(int(picks[p%len(picks)])))
			copy(s[at+16:], id(int(picks[(p+1)%len(picks)])))
		}
		sources[r] = s
	}
	return sources, off, size
}

// AddFuzzSeeds gives a fuzz target a few starting inputs of every kind.
func AddFuzzSeeds(f *testing.F) {
	f.Add(uint8(3), uint8(2), uint8(32), uint8(8), []byte{0, 1, 0, 1, 2, 0, 3, 4})
	f.Add(uint8(1), uint8(1), uint8(32), uint8(8), []byte{5, 5})
	f.Add(uint8(5), uint8(3), uint8(45), uint8(21), []byte{9, 1, 2, 1, 2, 3, 2, 1, 2, 4, 5, 6, 7, 8})
	f.Add(uint8(255), uint8(2), uint8(32), uint8(8), []byte{200, 1, 2, 3, 4, 5})
	f.Add(uint8(64), uint8(4), uint8(40), uint8(12), []byte{30, 7, 1, 1, 2})
	f.Add(uint8(4), uint8(1), uint8(31), uint8(8), []byte{1})   // objectSize too small
	f.Add(uint8(4), uint8(1), uint8(40), uint8(100), []byte{1}) // vectorOffset too large
	f.Add(uint8(0), uint8(1), uint8(40), uint8(8), []byte{1})   // no replicas
}

// Fuzz builds a call from fuzzer bytes and checks calc against the
// reference model (valid arguments), or for an ErrInvalid that writes
// nothing (invalid ones, which only the replica count and the geometry can
// make here: the lengths are equal and whole by construction).
// IDs come from a small palette chosen by the bytes, so the graphs are
// rich in shared parents, chains, cycles and conflicts; the palette's last
// entry is the all-zero ID.
func Fuzz(t *testing.T, calc Calculate, n, objects, objectSize, offset uint8, picks []byte) {
	sources, off, size := FuzzSources(n, objects, objectSize, offset, picks)
	results := make([]kernel.Result, objects)
	valid := n >= kernel.SourcesMin && size >= kernel.VectorSize && off >= 0 && off <= size-kernel.VectorSize
	if !valid {
		target := bytes.Repeat([]byte{0xEE}, len(sources))
		got := calc(sources, off, size, results, target)
		if !errors.Is(got, kernel.ErrInvalid) {
			t.Fatalf("bad arguments (n=%d objectSize=%d vectorOffset=%d): got error %v, want ErrInvalid", n, size, off, got)
		}
		if bytes.Count(target, []byte{0xEE}) != len(target) {
			t.Fatal("target written on an argument error")
		}
		for _, r := range results {
			if r != (kernel.Result{}) {
				t.Fatal("results written on an argument error")
			}
		}
		return
	}
	if msg := Compare(calc, sources, off, size); msg != "" {
		t.Fatal(msg)
	}
}
