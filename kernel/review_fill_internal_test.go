package kernel

import (
	"math/rand/v2"
	"testing"
)

// TestReviewFillSet checks fillSet (placeAsm's writer) against a plain
// loop for every length 0 to 64, every byte value of a set's low byte and
// random sets, with guard bytes after dst that must stay untouched.
func TestReviewFillSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	sets := []uint64{0, ^uint64(0), 1, 1 << 63, 0x8040201008040201, 0x5555555555555555}
	for b := range 256 {
		sets = append(sets, uint64(b), uint64(b)<<56|uint64(255-b))
	}
	for range 200 {
		sets = append(sets, rng.Uint64())
	}
	for _, vals := range [][2]byte{{byte(Current), byte(Outside)}, {byte(Current), byte(Lagging)}, {0, 1}, {0, NotInChain}, {0xff, 0}} {
		for n := 0; n <= 64; n++ {
			for _, set := range sets {
				buf := make([]byte, n+9)
				for i := range buf {
					buf[i] = 0xa5
				}
				fillSet(buf[:n], set, vals[0], vals[1])
				for i := range n {
					want := vals[1]
					if set>>i&1 != 0 {
						want = vals[0]
					}
					if buf[i] != want {
						t.Fatalf("fillSet(len %d, %#x, %d, %d): byte %d = %d, want %d", n, set, vals[0], vals[1], i, buf[i], want)
					}
				}
				for i := n; i < len(buf); i++ {
					if buf[i] != 0xa5 {
						t.Fatalf("fillSet(len %d, %#x): wrote byte %d past dst", n, set, i)
					}
				}
			}
		}
	}
}
