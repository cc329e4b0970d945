// Package suite is the one test suite every implementation of Calculate
// runs: generic's fast and slow paths and each assembly kernel. Keeping it in
// one place means a new kernel cannot pass a weaker set of tests.
package suite

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/testvectors"
	"github.com/lockstep/quorum/kernel"
)

// Calculate is the signature every implementation shares.
type Calculate func(sources [][]byte, vectorOffset, objectSize int, results []kernel.Result, target []byte) error

// Run runs the whole suite against calc.
func Run(t *testing.T, calc Calculate) {
	t.Run("Spec", func(t *testing.T) { Spec(t, calc) })
	t.Run("Arguments", func(t *testing.T) { Arguments(t, calc) })
	t.Run("Corpus", func(t *testing.T) { Corpus(t, calc) })
	t.Run("Histories", func(t *testing.T) { Histories(t, calc) })
	t.Run("Layouts", func(t *testing.T) { Layouts(t, calc) })
	t.Run("Errors", func(t *testing.T) { Errors(t, calc) })
	t.Run("Chimeras", func(t *testing.T) { Chimeras(t, calc) })
}

// Seed returns the seed for random tests: fixed by default so a failure
// replays, or QUORUM_SEED to explore. Tests print it when they fail.
func Seed(t testing.TB) uint64 {
	if s := os.Getenv("QUORUM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("QUORUM_SEED=%q: %v", s, err)
		}
		return v
	}
	return 20261122
}

// Rounds scales the number of random rounds: fewer under -short (the
// emulated arm64 run), never zero.
func Rounds(full int) int {
	if testing.Short() {
		return max(1, full/8)
	}
	return full
}

// Letters builds vectors from "ID0/ID1" pairs of letters as SPEC.md writes
// them, e.g. "B/A C/B B/A". Each letter maps to a distinct random-looking
// ID; "0" is the all-zero ID.
func Letters(spec string) [][]byte {
	var vectors [][]byte
	for _, pair := range strings.Fields(spec) {
		ids := strings.Split(pair, "/")
		v := make([]byte, 0, kernel.VectorSize)
		v = append(v, letterID(ids[0])...)
		v = append(v, letterID(ids[1])...)
		vectors = append(vectors, v)
	}
	return vectors
}

func letterID(s string) []byte {
	id := make([]byte, kernel.IDSize)
	if s == "0" {
		return id
	}
	for i := range id {
		id[i] = byte(int(s[0])*37 + i*11 + 1)
	}
	return id
}

// Case is one object given as letters and its expected answer.
type Case struct {
	Name    string
	Vectors string
	Want    kernel.Result
	Err     error
}

// SpecCases are SPEC.md's worked examples and rules, and the original
// README's scenarios.
var SpecCases = []Case{
	{"all agree", "B/A B/A B/A", kernel.Result{Leader: 0, Length: 3}, nil},
	{"one replica ran one more transaction", "B/A C/B B/A", kernel.Result{Leader: 1, Length: 3, Repair: 2}, nil},
	{"third replica offline long ago", "C/B B/A X/Y", kernel.Result{Leader: 0, Length: 2, Repair: 1}, nil},
	{"two forks of A", "B/A C/A", kernel.Result{Forked: true}, nil},
	{"fork with a majority", "B/A B/A C/A", kernel.Result{Leader: 0, Length: 2}, nil},
	{"self loop", "A/A", kernel.Result{}, kernel.ErrCyclic},
	{"two-node loop", "B/A A/B", kernel.Result{}, kernel.ErrCyclic},
	{"conflict", "B/A B/C", kernel.Result{}, kernel.ErrConflict},
	// The original README: three drives, one down, a write interrupted.
	{"raid: one offline, write on both", "C/B C/B B/A", kernel.Result{Leader: 0, Length: 3, Repair: 1}, nil},
	{"raid: one offline, write interrupted", "C/B B/A A/Z", kernel.Result{Leader: 0, Length: 3, Repair: 2}, nil},
	{"raid: offline replica diverged", "C/B B/A X/W", kernel.Result{Leader: 0, Length: 2, Repair: 1}, nil},
	{"single replica", "B/A", kernel.Result{Leader: 0, Length: 1}, nil},
	{"leader is not replica 0", "B/A D/C D/C", kernel.Result{Leader: 1, Length: 2}, nil},
	{"two unrelated, tie", "B/A D/C", kernel.Result{Forked: true}, nil},
	{"a built on b", "C/B B/A B/A", kernel.Result{Leader: 0, Length: 3, Repair: 2}, nil},
	{"two steps behind still in the chain", "D/C C/B B/A", kernel.Result{Leader: 0, Length: 3, Repair: 2}, nil},
	{"chain beats a larger group", "D/C C/B B/A X/Y X/Y", kernel.Result{Leader: 0, Length: 3, Repair: 2}, nil},
	{"partitions that both advanced, tie", "C/B D/B C/B D/B", kernel.Result{Forked: true}, nil},
	{"partitions over a shared lagging parent", "C/B D/B B/A C/B", kernel.Result{Leader: 0, Length: 3, Repair: 1}, nil},
	{"tie below the maximum is no fork", "C/B D/B E/C", kernel.Result{Leader: 2, Length: 2, Repair: 1}, nil},
	{"parent seen only as a dependency", "C/B C/B", kernel.Result{Leader: 0, Length: 2}, nil},
	{"all-zero vector is cyclic", "B/A 0/0", kernel.Result{}, kernel.ErrCyclic},
	{"zero ID0 is a valid ID", "0/A 0/A B/0", kernel.Result{Leader: 2, Length: 3, Repair: 2}, nil},
	{"three-node loop", "B/A C/B A/C", kernel.Result{}, kernel.ErrCyclic},
	{"loop beside a good chain", "B/A C/B X/Y Y/X", kernel.Result{}, kernel.ErrCyclic},
	{"conflict outranks cycle (cycle first)", "A/A B/A B/C", kernel.Result{}, kernel.ErrConflict},
	{"conflict outranks cycle (conflict first)", "B/A B/C A/A", kernel.Result{}, kernel.ErrConflict},
	{"conflict with the first vector later", "B/A C/B C/B B/X", kernel.Result{}, kernel.ErrConflict},
	{"self loop after agreement", "B/A B/A C/C", kernel.Result{}, kernel.ErrCyclic},
	{"conflict and loop A->B->A", "B/A A/B A/C", kernel.Result{}, kernel.ErrConflict},
}

// Sources lays one object per column into sources: object o of replica r
// holds vectors[o][r] at vectorOffset and filler bytes elsewhere.
func Sources(objects [][][]byte, objectSize, vectorOffset int) [][]byte {
	n := len(objects[0])
	sources := make([][]byte, n)
	for r := range sources {
		s := make([]byte, len(objects)*objectSize)
		for i := range s {
			s[i] = byte(r*31 + i*7 + 3)
		}
		for o, vectors := range objects {
			copy(s[o*objectSize+vectorOffset:], vectors[r])
		}
		sources[r] = s
	}
	return sources
}

// Spec checks every worked example, alone and inside a batch of good objects.
func Spec(t *testing.T, calc Calculate) {
	for _, c := range SpecCases {
		t.Run(c.Name, func(t *testing.T) {
			vectors := Letters(c.Vectors)
			// Check the reference model agrees with the table, so the
			// table cannot drift from the model that the random tests use.
			ref := testvectors.Reference(vectors)
			if got := fromAnswer(ref); c.Err == nil && (ref.Err != testvectors.OK || got != c.Want) {
				t.Fatalf("reference model: %+v, table wants %+v", ref, c.Want)
			}
			for _, layout := range []struct{ size, offset int }{{32, 0}, {45, 13}, {64, 32}} {
				good := Letters("B/A B/A B/A B/A B/A B/A B/A B/A")[:len(vectors)]
				objects := [][][]byte{good, vectors, good}
				sources := Sources(objects, layout.size, layout.offset)
				results := make([]kernel.Result, len(objects))
				target := make([]byte, len(sources[0]))
				err := calc(sources, layout.offset, layout.size, results, target)
				if c.Err != nil {
					var oe *kernel.ObjectError
					if !errors.Is(err, c.Err) || !errors.As(err, &oe) || oe.Index != 1 {
						t.Fatalf("size %d offset %d: err = %v, want object 1: %v", layout.size, layout.offset, err, c.Err)
					}
					if results[2] != (kernel.Result{}) || !isZero(target[2*layout.size:]) {
						t.Fatalf("object after the bad one was written")
					}
					continue
				}
				if err != nil {
					t.Fatalf("size %d offset %d: %v", layout.size, layout.offset, err)
				}
				if results[1] != c.Want {
					t.Fatalf("size %d offset %d: got %+v, want %+v", layout.size, layout.offset, results[1], c.Want)
				}
				checkTarget(t, sources, layout.size, 1, results[1], target)
			}
		})
	}
}

func fromAnswer(a testvectors.Answer) kernel.Result {
	return kernel.Result{Leader: uint8(a.Leader), Length: uint8(a.Length), Repair: uint8(a.Repair), Forked: a.Forked}
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func checkTarget(t *testing.T, sources [][]byte, objectSize, o int, r kernel.Result, target []byte) {
	t.Helper()
	got := target[o*objectSize : (o+1)*objectSize]
	want := make([]byte, objectSize)
	if r.Length > 0 {
		want = sources[r.Leader][o*objectSize : (o+1)*objectSize]
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("object %d: target is not the %s", o, map[bool]string{true: "leader's object", false: "zero object"}[r.Length > 0])
	}
}

// Arguments checks that every bad argument is refused with an error naming
// it, nothing written and no panic.
func Arguments(t *testing.T, calc Calculate) {
	good := func() ([][]byte, []kernel.Result, []byte) {
		s := Sources([][][]byte{Letters("B/A B/A C/B"), Letters("B/A B/A C/B")}, 40, 4)
		return s, make([]kernel.Result, 2), make([]byte, 80)
	}
	type call struct {
		name                     string
		mutate                   func(s *[][]byte, offset, size *int, results *[]kernel.Result, target *[]byte)
		wantInError              string
		resultsUnsafe, targetBad bool
	}
	calls := []call{
		{"no sources", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, _ *[]byte) { *s = nil }, "sources", false, false},
		{"256 sources", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, _ *[]byte) {
			for len(*s) < 256 {
				*s = append(*s, (*s)[0])
			}
		}, "sources", false, false},
		{"objectSize 31", func(_ *[][]byte, o, z *int, _ *[]kernel.Result, _ *[]byte) { *z, *o = 31, 0 }, "objectSize", false, false},
		{"objectSize 0", func(_ *[][]byte, o, z *int, _ *[]kernel.Result, _ *[]byte) { *z, *o = 0, 0 }, "objectSize", false, false},
		{"objectSize negative", func(_ *[][]byte, o, z *int, _ *[]kernel.Result, _ *[]byte) { *z, *o = -40, 0 }, "objectSize", false, false},
		{"vectorOffset negative", func(_ *[][]byte, o, _ *int, _ *[]kernel.Result, _ *[]byte) { *o = -1 }, "vectorOffset", false, false},
		{"vectorOffset past the object", func(_ *[][]byte, o, _ *int, _ *[]kernel.Result, _ *[]byte) { *o = 9 }, "vectorOffset", false, false},
		{"unequal sources", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, _ *[]byte) { (*s)[2] = (*s)[2][:40] }, "sources[2]", false, false},
		{"partial object", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, _ *[]byte) {
			for i := range *s {
				(*s)[i] = (*s)[i][:79]
			}
		}, "objectSize", false, false},
		{"results too short", func(_ *[][]byte, _, _ *int, r *[]kernel.Result, _ *[]byte) { *r = (*r)[:1] }, "results", true, false},
		{"target too short", func(_ *[][]byte, _, _ *int, _ *[]kernel.Result, tg *[]byte) { *tg = (*tg)[:79] }, "target", false, true},
		{"target empty but not nil", func(_ *[][]byte, _, _ *int, _ *[]kernel.Result, tg *[]byte) { *tg = (*tg)[:0] }, "target", false, true},
		{"target is a source", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, tg *[]byte) { *tg = (*s)[1] }, "overlaps sources[1]", false, true},
		{"target overlaps a source's tail", func(s *[][]byte, _, _ *int, _ *[]kernel.Result, tg *[]byte) {
			buf := make([]byte, 120)
			copy(buf, (*s)[0])
			(*s)[0] = buf[:80]
			*tg = buf[40:120]
		}, "overlaps sources[0]", false, true},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			sources, results, target := good()
			offset, size := 4, 40
			c.mutate(&sources, &offset, &size, &results, &target)
			var before [][]byte
			for _, s := range sources {
				before = append(before, bytes.Clone(s))
			}
			for i := range results {
				results[i] = kernel.Result{Leader: 9, Length: 9, Repair: 9, Forked: true}
			}
			var targetBefore []byte
			if !c.targetBad {
				for i := range target {
					target[i] = 0xEE
				}
			}
			targetBefore = bytes.Clone(target)
			err := calc(sources, offset, size, results, target)
			if !errors.Is(err, kernel.ErrInvalid) || !strings.Contains(err.Error(), c.wantInError) {
				t.Fatalf("err = %v, want ErrInvalid naming %q", err, c.wantInError)
			}
			var oe *kernel.ObjectError
			if errors.As(err, &oe) {
				t.Fatalf("argument error reported as an object error: %v", err)
			}
			for i, r := range results {
				if r != (kernel.Result{Leader: 9, Length: 9, Repair: 9, Forked: true}) {
					t.Fatalf("results[%d] written: %+v", i, r)
				}
			}
			if !bytes.Equal(target, targetBefore) {
				t.Fatalf("target written")
			}
			for i, s := range sources {
				if !bytes.Equal(s, before[i]) {
					t.Fatalf("sources[%d] written", i)
				}
			}
		})
	}
	t.Run("nil target and no objects are fine", func(t *testing.T) {
		sources, results, _ := good()
		if err := calc(sources, 4, 40, results, nil); err != nil {
			t.Fatal(err)
		}
		empty := [][]byte{{}, nil}
		if err := calc(empty, 0, 32, nil, nil); err != nil {
			t.Fatalf("zero objects: %v", err)
		}
	})
	t.Run("larger results and target are written only where needed", func(t *testing.T) {
		sources, _, _ := good()
		results := make([]kernel.Result, 3)
		results[2] = kernel.Result{Leader: 7}
		target := bytes.Repeat([]byte{0xAB}, 100)
		if err := calc(sources, 4, 40, results, target); err != nil {
			t.Fatal(err)
		}
		if results[2] != (kernel.Result{Leader: 7}) || !bytes.Equal(target[80:], bytes.Repeat([]byte{0xAB}, 20)) {
			t.Fatal("wrote past the last object")
		}
	})
}

// Corpus replays the 400 cases answered by the original C addon.
func Corpus(t *testing.T, calc Calculate) {
	cases, err := testvectors.Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 400 {
		t.Fatalf("corpus has %d cases, want 400", len(cases))
	}
	for i, c := range cases {
		sources := c.Sources()
		results := make([]kernel.Result, c.Objects)
		target := make([]byte, len(sources[0]))
		err := calc(sources, c.VectorOffset, c.ObjectSize, results, target)
		if c.Err < 0 && err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if c.Err >= 0 {
			var oe *kernel.ObjectError
			if !errors.As(err, &oe) || oe.Index != c.Err || !errors.Is(err, kernel.ErrCyclic) {
				t.Fatalf("case %d: err = %v, want cyclic object %d", i, err, c.Err)
			}
		}
		for o, want := range c.Results {
			got := results[o]
			if got != (kernel.Result{Leader: uint8(want[0]), Length: uint8(want[1]), Repair: uint8(want[2]), Forked: want[3] != 0}) {
				t.Fatalf("case %d (n=%d) object %d: got %+v, original answered %v", i, c.N, o, got, want)
			}
		}
		if !bytes.Equal(target, c.Target()) {
			t.Fatalf("case %d: target differs from the original's", i)
		}
	}
}

// Histories compares calc with the reference model on generated replica
// histories of every shape, for N from 1 to 255.
func Histories(t *testing.T, calc Calculate) {
	seed := Seed(t)
	rng := rand.New(rand.NewPCG(seed, 1))
	ns := []int{1, 2, 3, 4, 5, 7, 8, 16, 31, 32, 33, 64, 127, 128, 200, 254, 255}
	for round := range Rounds(24) {
		for _, n := range ns {
			objectSize := 32 + rng.IntN(40)
			offset := rng.IntN(objectSize - 31)
			objects := 1 + rng.IntN(12)
			var sources [][]byte
			if round%3 == 0 {
				sources = testvectors.Batch(rng, n, objects, objectSize, offset, testvectors.Shapes...)
			} else {
				sources = testvectors.Batch(rng, n, objects, objectSize, offset)
			}
			if msg := Compare(calc, sources, offset, objectSize); msg != "" {
				t.Fatalf("seed %d round %d n=%d objects=%d size=%d offset=%d: %s", seed, round, n, objects, objectSize, offset, msg)
			}
		}
	}
}

// Compare runs calc on sources and checks every result, the error, the
// target and that sources are unchanged against the reference model. It
// returns "" when they agree.
func Compare(calc Calculate, sources [][]byte, offset, objectSize int) string {
	answers, bad, kind, wantTarget := testvectors.ReferenceBatch(sources, offset, objectSize)
	objects := len(sources[0]) / objectSize
	var before [][]byte
	for _, s := range sources {
		before = append(before, bytes.Clone(s))
	}
	results := make([]kernel.Result, objects)
	target := make([]byte, len(sources[0]))
	err := calc(sources, offset, objectSize, results, target)
	for i, s := range sources {
		if !bytes.Equal(s, before[i]) {
			return fmt.Sprintf("sources[%d] written", i)
		}
	}
	if bad < 0 {
		if err != nil {
			return fmt.Sprintf("unexpected error %v", err)
		}
	} else {
		var oe *kernel.ObjectError
		want := map[testvectors.ErrKind]error{testvectors.Cyclic: kernel.ErrCyclic, testvectors.Conflict: kernel.ErrConflict}[kind]
		if !errors.As(err, &oe) || oe.Index != bad || !errors.Is(err, want) {
			return fmt.Sprintf("err = %v, want object %d: %v", err, bad, want)
		}
	}
	for o, a := range answers {
		if got := fromAnswer(a); results[o] != got {
			return fmt.Sprintf("object %d: got %+v, reference %+v", o, results[o], got)
		}
	}
	// Objects past the bad one are untouched; the bad one is unspecified.
	if bad >= 0 {
		for o := bad + 1; o < objects; o++ {
			if results[o] != (kernel.Result{}) || !isZero(target[o*objectSize:(o+1)*objectSize]) {
				return fmt.Sprintf("object %d after the bad object %d was written", o, bad)
			}
		}
		clear(target[bad*objectSize : (bad+1)*objectSize])
	}
	if !bytes.Equal(target, wantTarget) {
		return "target differs from the reference's"
	}
	return ""
}

// Layouts sweeps every vectorOffset of odd object sizes and N = 1..255.
func Layouts(t *testing.T, calc Calculate) {
	seed := Seed(t)
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, objectSize := range []int{32, 33, 47, 63, 65, 97} {
		for offset := 0; offset <= objectSize-32; offset++ {
			n := 1 + rng.IntN(255)
			sources := testvectors.Batch(rng, n, 1+rng.IntN(4), objectSize, offset)
			if msg := Compare(calc, sources, offset, objectSize); msg != "" {
				t.Fatalf("seed %d n=%d size=%d offset=%d: %s", seed, n, objectSize, offset, msg)
			}
		}
	}
	step := 1
	if testing.Short() {
		step = 7
	}
	for n := 1; n <= 255; n += step {
		sources := testvectors.Batch(rng, n, 3, 32, 0)
		if msg := Compare(calc, sources, 0, 32); msg != "" {
			t.Fatalf("seed %d n=%d: %s", seed, n, msg)
		}
	}
}

// Errors checks batches whose bad object sits anywhere among good ones,
// with objects switching between fast and slow paths around it.
func Errors(t *testing.T, calc Calculate) {
	seed := Seed(t)
	rng := rand.New(rand.NewPCG(seed, 3))
	for round := range Rounds(60) {
		n := 1 + rng.IntN(64)
		if round%5 == 0 {
			n = 255
		}
		sources := testvectors.Batch(rng, n, 2+rng.IntN(30), 32, 0, testvectors.Shapes...)
		if msg := Compare(calc, sources, 0, 32); msg != "" {
			t.Fatalf("seed %d round %d n=%d: %s", seed, round, n, msg)
		}
	}
}

// Chimeras runs batches of Adversary objects: two vectors with replicas
// mixing their bytes, words, dwords or qwords (often in complementary
// pairs, so that every per-lane count still adds up), one bit off, or
// strangers. Such a replica holds a third vector, which a fast path must not
// miss. N spans group boundaries up to 255, and a batch holds several
// objects, so that objects decided together do not mask each other; only
// the last may be built to be an error, since an error ends the batch.
func Chimeras(t *testing.T, calc Calculate) {
	seed := Seed(t)
	rng := rand.New(rand.NewPCG(seed, 4))
	adversary := NewAdversary(rng)
	ns := []int{2, 3, 4, 5, 6, 8, 9, 12, 15, 16, 17, 18, 20, 31, 32, 33, 48, 64, 100, 127, 128, 129, 200, 254, 255}
	for round := range Rounds(64) {
		for _, n := range ns {
			objectSize := 32 + rng.IntN(9)
			offset := rng.IntN(objectSize - 31)
			objects := make([][][]byte, 1+rng.IntN(6))
			for o := range objects {
				objects[o] = adversary.Object(n, o == len(objects)-1)
			}
			sources := Sources(objects, objectSize, offset)
			if msg := Compare(calc, sources, offset, objectSize); msg != "" {
				t.Fatalf("seed %d round %d n=%d objects=%d: %s", seed, round, n, len(objects), msg)
			}
		}
	}
}
