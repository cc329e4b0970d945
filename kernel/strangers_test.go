package kernel

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/lockstep/quorum/internal/testvectors"
	"time"
)

// twisted returns n random vectors (each at byte 5 of a 45-byte buffer,
// so loads are unaligned), often (two times in three) with twists that
// must keep strangers from proving the object: a shared 8-byte prefix,
// a shared prefix of 7 or 9 bytes (the first is harmless, the second
// not), a duplicate vector, a link, or a self-loop.
func twisted(rng *rand.Rand, n int) [][]byte {
	vs := make([][]byte, n)
	for i := range vs {
		vs[i] = make([]byte, 45)
		for j := range vs[i] {
			vs[i][j] = byte(rng.Uint32())
		}
		vs[i] = vs[i][5:37]
	}
	for range rng.IntN(3) {
		i, j := rng.IntN(n), rng.IntN(n)
		from, to := 16*rng.IntN(2), 16*rng.IntN(2) // ID0 or ID1 of each
		width := []int{8, 16, 7, 9}[rng.IntN(4)]
		switch rng.IntN(3) {
		case 0:
			copy(vs[i][to:to+width], vs[j][from:from+width])
		case 1:
			copy(vs[i], vs[j])
		case 2:
			copy(vs[i][16:], vs[j][:16]) // i built on j (a self-loop if i == j)
		}
	}
	return vs
}

// The solver's strangers test, at every replica count and on both of its
// variants (stack and graph scratch): whenever it decides an object, the
// reference model agrees; it decides every object of strangers whose
// prefixes differ; and the solver's answer and Quorum's, strangers or
// not, are the reference's, errors included.
func TestStrangers(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // shown on failure
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	rng := rand.New(rand.NewPCG(seed, 14))
	var s solver
	defer s.Release()
	for n := 1; n <= SourcesMax; n++ {
		for round := range rounds {
			vs := twisted(rng, n)
			ref := testvectors.Reference(vs)
			plain := prefixStrangers(vs)
			var proved bool
			var got Result
			if n <= strangersMax {
				got, proved = quorumStrangers(vs, 0)
			} else {
				var g graph
				proved = strangers(vs, 0, g.lo0[:], g.lo1[:], g.bloom[:bloomWords(n)])
				got = strangersResult(n)
			}
			desc := fmt.Sprintf("seed %d, %d replicas, round %d", seed, n, round)
			if proved != plain {
				t.Fatalf("%s: strangers %v, prefixes say %v", desc, proved, plain)
			}
			if proved && (ref.Err != testvectors.OK || got != answer(ref)) {
				t.Fatalf("%s: strangers %+v, reference %+v", desc, got, ref)
			}
			r, err := s.quorum(vs, 0)
			if !sameAnswer(r, err, ref) {
				t.Fatalf("%s: solver %+v (%v), reference %+v", desc, r, err, ref)
			}
			if r, err := Quorum(vs); !sameAnswer(r, err, ref) { // through asm.Small up to SmallMax
				t.Fatalf("%s: Quorum %+v (%v), reference %+v", desc, r, err, ref)
			}
		}
	}
}

// prefixStrangers is what strangers must prove: no ID0 shares its first 8
// bytes with another ID0, and no ID1 with any ID0.
func prefixStrangers(vs [][]byte) bool {
	seen := map[string]bool{}
	for _, v := range vs {
		if seen[string(v[:8])] {
			return false
		}
		seen[string(v[:8])] = true
	}
	for _, v := range vs {
		if seen[string(v[16:24])] {
			return false
		}
	}
	return true
}

func answer(a testvectors.Answer) Result {
	return Result{Leader: uint8(a.Leader), Length: uint8(a.Length), Repair: uint8(a.Repair), Forked: a.Forked}
}

func sameAnswer(r Result, err error, ref testvectors.Answer) bool {
	switch ref.Err {
	case testvectors.OK:
		return err == nil && r == answer(ref)
	case testvectors.Conflict:
		return errors.Is(err, ErrConflict)
	}
	return errors.Is(err, ErrCyclic)
}

// A Bloom filter full of chance hits (prefixes that differ only where the
// hash drops them cannot be built on purpose cheaply, so: every ID0 prefix
// distinct but many ID1 prefixes equal to each other) still proves
// strangers, and a link at the last replica is still found.
func TestStrangersEdges(t *testing.T) {
	for _, n := range []int{2, 9, 16, 17, 64, 255} {
		vs := make([][]byte, n)
		for i := range vs {
			vs[i] = make([]byte, 32)
			vs[i][0], vs[i][1], vs[i][8] = byte(i), byte(i>>8), 1 // ID0 prefixes 0..n-1
			vs[i][16], vs[i][17] = 0xff, 0xff                     // one ID1 prefix for all, no ID0's
		}
		var s solver
		if r, err := s.quorum(vs, 0); err != nil || r != strangersResult(n) {
			t.Fatalf("%d replicas: %+v, %v", n, r, err)
		}
		copy(vs[n-1][16:], vs[0][:16]) // the last built on the first
		r, err := s.quorum(vs, 0)
		if ref := testvectors.Reference(vs); !sameAnswer(r, err, ref) {
			t.Fatalf("%d replicas, linked: %+v (%v), reference %+v", n, r, err, ref)
		}
		s.Release()
	}
}

// The solver's backoff: after failed strangers tests it skips the test on
// the following objects (which the graph decides, with the same answers)
// and takes it again after a success.
func TestStrangersBackoff(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 14))
	for _, n := range []int{5, 16, 17, 128} {
		var s solver
		for o := range 300 {
			vs := twisted(rng, n)
			chain := o < 100 || o%7 == 0
			if chain {
				copy(vs[n-1][16:], vs[0][:16]) // the last built on the first: not strangers
			}
			waited := s.wait > 0
			r, err := s.quorum(vs, 0)
			if ref := testvectors.Reference(vs); !sameAnswer(r, err, ref) {
				t.Fatalf("%d replicas, object %d: %+v (%v), reference %+v", n, o, r, err, ref)
			}
			if o == 99 && s.backoff != 63 {
				t.Fatalf("%d replicas: backoff %d after 100 failures, want 63", n, s.backoff)
			}
			if !chain && !waited && prefixStrangers(vs) && s.backoff != 0 {
				t.Fatalf("%d replicas, object %d: a success left backoff %d", n, o, s.backoff)
			}
		}
		s.Release()
	}
}
