package testvectors

import (
	"math/rand/v2"
	"testing"
)

// The reference model must give the original's recorded answers.
func TestReferenceMatchesCorpus(t *testing.T) {
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 400 {
		t.Fatalf("%d cases, want 400", len(cases))
	}
	for i, c := range cases {
		answers, bad, kind, target := ReferenceBatch(c.Sources(), c.VectorOffset, c.ObjectSize)
		if bad != c.Err || (bad >= 0 && kind != Cyclic) {
			t.Fatalf("case %d: bad object %d (%v), original %d", i, bad, kind, c.Err)
		}
		if len(answers) != len(c.Results) {
			t.Fatalf("case %d: %d answers, original %d", i, len(answers), len(c.Results))
		}
		for o, a := range answers {
			forked := 0
			if a.Forked {
				forked = 1
			}
			if got := [4]int{a.Leader, a.Length, a.Repair, forked}; got != c.Results[o] {
				t.Fatalf("case %d object %d: %v, original %v", i, o, got, c.Results[o])
			}
		}
		if string(target) != string(c.Target()) {
			t.Fatalf("case %d: target differs", i)
		}
	}
}

// Each shape produces what it claims.
func TestShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, shape := range Shapes {
		for _, n := range []int{1, 2, 3, 4, 7, 64, 255} {
			for range 20 {
				vs := Object(rng, n, shape)
				if len(vs) != n {
					t.Fatalf("%v n=%d: %d vectors", shape, n, len(vs))
				}
				a := Reference(vs)
				switch shape {
				case Cycle:
					if a.Err != Cyclic && a.Err != Conflict {
						t.Fatalf("%v n=%d: %+v", shape, n, a)
					}
				case Conflicting:
					if want := map[bool]ErrKind{true: Conflict, false: Cyclic}[n > 1]; a.Err != want {
						t.Fatalf("%v n=%d: %+v, want %v", shape, n, a, want)
					}
				default:
					if a.Err != OK {
						t.Fatalf("%v n=%d: %+v", shape, n, a)
					}
				}
				switch {
				case shape == AllAgree && (a.Length != n || a.Repair != 0):
					t.Fatalf("AllAgree n=%d: %+v", n, a)
				case shape == Deep && (a.Length != n || a.Repair != n-1):
					t.Fatalf("Deep n=%d: %+v", n, a)
				case shape == OneAhead && (a.Length != n || (n > 1 && a.Repair == 0)):
					t.Fatalf("OneAhead n=%d: %+v", n, a)
				}
			}
		}
	}
}

// The reference walks a 255-deep chain and finds loops of every length.
func TestReferenceChainsAndLoops(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	ids := chain(rng, 255)
	var vs [][]byte
	for i := 255; i >= 1; i-- {
		vs = append(vs, at(ids, i))
	}
	if a := Reference(vs); a != (Answer{Leader: 0, Length: 255, Repair: 254}) {
		t.Fatalf("deep chain: %+v", a)
	}
	for size := 1; size <= 255; size += 17 {
		loop := chain(rng, size-1)
		var vs [][]byte
		for i := range size {
			vs = append(vs, vector(loop[i], loop[(i+1)%size]))
		}
		if a := Reference(vs); a.Err != Cyclic {
			t.Fatalf("loop of %d: %+v", size, a)
		}
		vs[0] = vector(loop[0], newID(rng)) // open the loop: a chain again
		if size > 1 {
			if a := Reference(append(vs, vector(loop[0], loop[1]))); a.Err != Conflict {
				t.Fatalf("loop of %d with a conflict: %+v", size, a)
			}
		}
	}
}
