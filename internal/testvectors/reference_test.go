package testvectors

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// letters turns "B/A C/B" into vectors, each letter an ID of 16 copies of
// itself, so SPEC.md's table can be written as it reads. "0" is the zero ID.
func letters(s string) [][]byte {
	var vs [][]byte
	for _, f := range strings.Fields(s) {
		v := make([]byte, 0, 32)
		for _, c := range []byte{f[0], f[2]} {
			if c == '0' {
				c = 0
			}
			v = append(v, bytes.Repeat([]byte{c}, 16)...)
		}
		vs = append(vs, v)
	}
	return vs
}

func vectorsOf(vs []vec) [][]byte {
	out := make([][]byte, len(vs))
	for r, v := range vs {
		out[r] = v.bytes()
	}
	return out
}

func TestErrKindString(t *testing.T) {
	for k, want := range map[ErrKind]string{OK: "OK", Cyclic: "Cyclic", Conflict: "Conflict", 7: "ErrKind(7)"} {
		if got := k.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(k), got, want)
		}
	}
}

// The worked examples of SPEC.md, plus the zero and loop cases it states in
// words.
func TestSpecExamples(t *testing.T) {
	for _, c := range []struct {
		replicas string
		want     Answer
	}{
		{"B/A B/A B/A", Answer{Leader: 0, Length: 3, Repair: 0}},
		{"B/A C/B B/A", Answer{Leader: 1, Length: 3, Repair: 2}},
		{"C/B B/A X/Y", Answer{Leader: 0, Length: 2, Repair: 1}},
		{"B/A C/A", Answer{Forked: true}},
		{"B/A B/A C/A", Answer{Leader: 0, Length: 2, Repair: 0}},
		{"A/A", Answer{Err: Cyclic}},
		{"B/A A/B", Answer{Err: Cyclic}},
		{"B/A B/C", Answer{Err: Conflict}},
		// One replica: always its own quorum.
		{"B/A", Answer{Leader: 0, Length: 1, Repair: 0}},
		// All-zero vectors are ID0 == ID1.
		{"0/0", Answer{Err: Cyclic}},
		{"B/A 0/0 B/A", Answer{Err: Cyclic}},
		// A zero ID that is not a self-loop is just an ID.
		{"B/0 B/0", Answer{Leader: 0, Length: 2, Repair: 0}},
		// Longer loops, and a chain running into a loop.
		{"A/B B/C C/A", Answer{Err: Cyclic}},
		{"D/A A/B B/C C/A", Answer{Err: Cyclic}},
		// The leader is the lowest index at the winning node.
		{"X/Y C/B B/A C/B", Answer{Leader: 1, Length: 3, Repair: 1}},
		// A lag of two steps unlinks: C/B and A/Z share no node.
		{"C/B A/Z", Answer{Forked: true}},
		// Forks of one parent: the parent's replicas count for both.
		{"B/A C/A A/Z", Answer{Forked: true}},
		{"B/A C/A A/Z C/A", Answer{Leader: 1, Length: 3, Repair: 1}},
	} {
		if got := Reference(letters(c.replicas)); got != c.want {
			t.Errorf("%s: got %+v, want %+v", c.replicas, got, c.want)
		}
	}
}

// Conflict outranks Cyclic wherever each sits in the object.
func TestConflictBeforeCycle(t *testing.T) {
	for _, s := range []string{
		"B/A B/C A/A",
		"A/A B/A B/C",
		"0/0 B/A B/C",
		"B/A A/B B/C",     // the loop's own ID0 conflicts
		"X/Y Y/X B/A B/C", // the loop is elsewhere
		"B/C X/X B/A",
	} {
		if got := Reference(letters(s)); got.Err != Conflict {
			t.Errorf("%s: got %+v, want Conflict", s, got)
		}
	}
}

// The README's scenarios: 3 replicas, one offline long ago, then an
// interrupted transaction that reached only one of the two others.
func TestReadmeScenarios(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := chain(rng, stranger(rng), 6)
	offline := c[1] // went down long ago
	head := c[5]
	next := update(head, newID(rng))
	fresh := newID(rng)
	for _, tc := range []struct {
		name string
		vs   []vec
		want Answer
	}{
		{"all in step", []vec{head, head, head}, Answer{Length: 3}},
		{"one offline", []vec{head, head, offline}, Answer{Length: 2}},
		{"interrupted on 0", []vec{next, head, offline}, Answer{Leader: 0, Length: 2, Repair: 1}},
		{"interrupted on 1", []vec{head, next, offline}, Answer{Leader: 1, Length: 2, Repair: 1}},
		{"offline leads the list", []vec{offline, head, next}, Answer{Leader: 2, Length: 2, Repair: 1}},
		// Strict lockstep would fail here; relaxed lockstep lets one leg
		// step ahead, but not two: then every replica stands alone.
		{"two steps ahead", []vec{update(next, newID(rng)), head, offline}, Answer{Forked: true}},
		// The lagging leg caught up (copied the leader), then both moved.
		{"caught up", []vec{update(next, fresh), update(next, fresh), offline}, Answer{Length: 2}},
	} {
		if got := Reference(vectorsOf(tc.vs)); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

// A chain 255 deep, every replica at its own depth, in shuffled order; and
// loops as long as the walks can meet.
func TestDeep255(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	c := chain(rng, stranger(rng), 254)
	p := rng.Perm(255)
	vs := make([]vec, 255)
	for r := range vs {
		vs[r] = c[p[r]]
	}
	want := Answer{Leader: slices.Index(p, 254), Length: 255, Repair: 254}
	if got := Reference(vectorsOf(vs)); got != want {
		t.Errorf("deep chain: got %+v, want %+v", got, want)
	}

	// Close the chain into a loop of 255 (the bottom replica now depends on
	// the head), then into a loop of 254 with the bottom replica leading
	// into it.
	bottom := slices.Index(p, 0)
	vs[bottom] = vec{vs[bottom].id0, c[254].id0}
	if got := Reference(vectorsOf(vs)); got.Err != Cyclic {
		t.Errorf("loop of 255: got %+v, want Cyclic", got)
	}
	vs[bottom] = vec{c[0].id0, c[5].id0}
	second := slices.Index(p, 1)
	vs[second] = vec{vs[second].id0, c[254].id0}
	if got := Reference(vectorsOf(vs)); got.Err != Cyclic {
		t.Errorf("loop of 254 with a tail: got %+v, want Cyclic", got)
	}

	// 255 replicas, 255 unrelated vectors: a 255-way fork.
	for r := range vs {
		vs[r] = stranger(rng)
	}
	if got := Reference(vectorsOf(vs)); got != (Answer{Forked: true}) {
		t.Errorf("255 strangers: got %+v, want forked", got)
	}
}

// lineage answers an object whose replicas all sit on one chain, from
// their depths alone: only consecutive depths link, so each maximal run of
// occupied depths is a chain whose head holds the whole run. This is a
// second, graph-free derivation of the rules for such histories.
func lineage(depths []int) (Answer, []int) {
	count := map[int]int{}
	for _, d := range depths {
		count[d]++
	}
	type run struct{ lo, hi, total int }
	var runs []run
	for d := range slices.Max(depths) + 1 {
		switch {
		case count[d] == 0:
		case len(runs) > 0 && runs[len(runs)-1].hi == d-1:
			runs[len(runs)-1].hi = d
			runs[len(runs)-1].total += count[d]
		default:
			runs = append(runs, run{d, d, count[d]})
		}
	}
	slices.SortStableFunc(runs, func(a, b run) int { return b.total - a.total })
	roles := make([]int, len(depths))
	if len(runs) > 1 && runs[0].total == runs[1].total {
		return Answer{Forked: true}, roles
	}
	best := runs[0]
	for r, d := range depths {
		switch {
		case d == best.hi:
			roles[r] = RoleLeader
		case d >= best.lo && d < best.hi:
			roles[r] = RoleLagging
		}
	}
	return Answer{
		Leader: slices.Index(depths, best.hi),
		Length: best.total,
		Repair: best.total - count[best.hi],
	}, roles
}

func TestLineage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rounds := 3000
	if testing.Short() {
		rounds = 300
	}
	for range rounds {
		n := 1 + rng.IntN(12)
		if rng.IntN(10) == 0 {
			n = 1 + rng.IntN(255)
		}
		c := chain(rng, stranger(rng), 1+rng.IntN(2*n))
		depths := make([]int, n)
		vs := make([]vec, n)
		for r := range depths {
			depths[r] = rng.IntN(len(c))
			vs[r] = c[depths[r]]
		}
		wantA, wantRoles := lineage(depths)
		gotA, gotRoles := ReferenceRoles(vectorsOf(vs))
		if gotA != wantA || !slices.Equal(gotRoles, wantRoles) {
			t.Fatalf("depths %v: got %+v %v, want %+v %v", depths, gotA, gotRoles, wantA, wantRoles)
		}
	}
}

// Every case of the original C addon's corpus, object by object and as a
// batch with its target.
func TestCorpus(t *testing.T) {
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) != 400 {
		t.Fatalf("%d cases, want 400", len(cases))
	}
	for i, c := range cases {
		for o := range c.Results {
			vs := make([][]byte, c.N)
			for r := range vs {
				vs[r] = c.Vector(o, r)
			}
			r := c.Results[o]
			want := Answer{Leader: r[0], Length: r[1], Repair: r[2], Forked: r[3] == 1}
			if got := Reference(vs); got != want {
				t.Errorf("case %d object %d: got %+v, want %+v", i, o, got, want)
			}
		}
		answers, bad, kind, target := ReferenceBatch(c.Sources(), c.VectorOffset, c.ObjectSize)
		wantKind := OK
		if c.Err >= 0 {
			wantKind = Cyclic // the corpus has no conflicts
		}
		if bad != c.Err || kind != wantKind || len(answers) != len(c.Results) {
			t.Errorf("case %d: batch stops at %d (%v) after %d answers, want %d (%v) after %d",
				i, bad, kind, len(answers), c.Err, wantKind, len(c.Results))
		}
		if !bytes.Equal(target, c.Target()) {
			t.Errorf("case %d: batch target differs from the case's", i)
		}
	}
}

func TestCorpusSources(t *testing.T) {
	cases, err := Corpus()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(cases, func(c Case) bool { return c.N >= 3 && c.VectorOffset > 1 })
	if i < 0 {
		t.Fatal("no case with 3 replicas and filler before the vector")
	}
	c := cases[i]
	s := c.Sources()
	if len(s) != c.N || len(s[c.N-1]) != c.Objects*c.ObjectSize {
		t.Fatalf("sources: %d of %d bytes", len(s), len(s[0]))
	}
	// Replica 2, object 0, byte 1 is filler.
	if s[2][1] != byte(2*31+1) {
		t.Errorf("filler byte = %d, want %d", s[2][1], 2*31+1)
	}
	if got := s[1][c.VectorOffset : c.VectorOffset+32]; !bytes.Equal(got, c.Vector(0, 1)) {
		t.Errorf("vector not at its offset")
	}
}

// checkShape checks what each shape claims about its own objects.
func checkShape(t *testing.T, n int, shape Shape, vs [][]byte) {
	t.Helper()
	a, roles := ReferenceRoles(vs)
	fail := func(why string) {
		t.Helper()
		t.Fatalf("%v n=%d: %s; got %+v", shape, n, why, a)
	}
	if len(vs) != n {
		fail("wrong replica count")
	}
	distinct := map[string]int{}
	for _, v := range vs {
		if len(v) != 32 {
			fail("vector not 32 bytes")
		}
		distinct[string(v)]++
	}
	switch shape {
	case Cycle:
		if a.Err != Cyclic && a.Err != Conflict {
			fail("want Cyclic or Conflict")
		}
		return
	case Conflicting:
		if want := map[bool]ErrKind{true: Cyclic, false: Conflict}[n == 1]; a.Err != want {
			fail("want " + want.String())
		}
		return
	}
	if a.Err != OK {
		fail("healthy shape gave an error")
	}
	// Roles must add up to the answer.
	leaders, lagging := 0, 0
	for _, r := range roles {
		leaders += map[int]int{RoleLeader: 1}[r]
		lagging += map[int]int{RoleLagging: 1}[r]
	}
	if !a.Forked && (leaders+lagging != a.Length || lagging != a.Repair || roles[a.Leader] != RoleLeader) {
		fail("roles disagree with the answer")
	}
	switch shape {
	case AllAgree:
		if a != (Answer{Length: n}) || len(distinct) != 1 {
			fail("want everyone agreeing")
		}
	case OneAhead:
		if a.Forked || a.Length != n || (n > 1 && (a.Repair == 0 || len(distinct) != 2)) {
			fail("want one quorum of all with some ahead")
		}
	case Lagging:
		if a.Forked && n == 1 {
			fail("one replica forked")
		}
	case Partition:
		if n > 1 && !a.Forked && a.Length == n {
			fail("a partition cannot hold everyone in one chain")
		}
	case Offline:
		if n >= 3 && (a.Forked || a.Length != n-1 || leaders+lagging != n-1) {
			fail("want all but the offline replica")
		}
		if n == 2 && !a.Forked {
			fail("want a 1:1 fork")
		}
	case TwoUnrelated:
		if n > 1 && len(distinct) != 2 {
			fail("want two vectors")
		}
		var counts []int
		for _, k := range distinct {
			counts = append(counts, k)
		}
		slices.Sort(counts)
		slices.Reverse(counts)
		tie := len(counts) > 1 && counts[0] == counts[1]
		if tie != a.Forked || (!a.Forked && (a.Length != counts[0] || a.Repair != 0)) {
			fail("want the larger group, or a fork on a tie")
		}
	case Deep:
		if a.Forked || a.Length != n || a.Repair != n-1 || len(distinct) != n {
			fail("want one chain n deep")
		}
	}
}

func TestShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	seen := map[Shape]map[ErrKind]int{}
	forked := map[Shape]int{}
	for _, shape := range Shapes {
		seen[shape] = map[ErrKind]int{}
		for i := range rounds {
			n := []int{1, 2, 3, 4, 5, 8, 16, 255}[i%8]
			if i%8 == 0 && i > 0 {
				n = 1 + rng.IntN(255)
			}
			vs := Object(rng, n, shape)
			checkShape(t, n, shape, vs)
			a := Reference(vs)
			seen[shape][a.Err]++
			if a.Forked {
				forked[shape]++
			}
		}
	}
	// The generators must actually reach the cases they are for.
	if seen[Cycle][Cyclic] == 0 || seen[Cycle][Conflict] == 0 {
		t.Errorf("Cycle gave %v, want both Cyclic and (via swaps) Conflict", seen[Cycle])
	}
	for _, s := range []Shape{Partition, TwoUnrelated, Strangers, Random, Mixed} {
		if forked[s] == 0 || forked[s] == rounds {
			t.Errorf("%v forked %d of %d times, want some but not all", s, forked[s], rounds)
		}
	}
	if len(Shapes) != 12 {
		t.Errorf("%d shapes", len(Shapes))
	}
	for _, s := range Shapes {
		if strings.HasPrefix(s.String(), "Shape(") {
			t.Errorf("shape %d has no name", int(s))
		}
	}
}

func TestObjectDeterministic(t *testing.T) {
	for _, shape := range Shapes {
		a := Object(rand.New(rand.NewPCG(9, uint64(shape))), 17, shape)
		b := Object(rand.New(rand.NewPCG(9, uint64(shape))), 17, shape)
		if !slices.EqualFunc(a, b, bytes.Equal) {
			t.Errorf("%v: same seed, different objects", shape)
		}
	}
}

// Batch puts each object's vectors where ReferenceBatch reads them, and
// ReferenceBatch agrees with Reference object by object.
func TestBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for i := range 200 {
		n := 1 + rng.IntN(9)
		objects := rng.IntN(12)
		size := 32 + rng.IntN(40)
		offset := rng.IntN(size - 31)
		var shapes []Shape
		if i%2 == 1 {
			shapes = Shapes
		}
		sources := Batch(rng, n, objects, size, offset, shapes...)
		if len(sources) != n || len(sources[0]) != objects*size {
			t.Fatalf("Batch: %d sources of %d bytes", len(sources), len(sources[0]))
		}
		answers, bad, kind, target := ReferenceBatch(sources, offset, size)
		if shapes == nil && bad != -1 {
			t.Fatalf("default batch has bad object %d (%v)", bad, kind)
		}
		if (bad == -1) != (kind == OK) {
			t.Fatalf("bad %d with kind %v", bad, kind)
		}
		good := objects
		if bad >= 0 {
			good = bad
		}
		if len(answers) != good {
			t.Fatalf("%d answers before object %d", len(answers), good)
		}
		for o := range objects {
			vs := make([][]byte, n)
			for r := range vs {
				vs[r] = sources[r][o*size+offset : o*size+offset+32]
			}
			a := Reference(vs)
			obj := target[o*size : (o+1)*size]
			switch {
			case o < good:
				want := make([]byte, size)
				if !a.Forked {
					want = sources[a.Leader][o*size : (o+1)*size]
				}
				if a != answers[o] || !bytes.Equal(obj, want) {
					t.Fatalf("object %d: batch %+v, alone %+v (or target differs)", o, answers[o], a)
				}
			case o == bad:
				if a.Err != kind {
					t.Fatalf("object %d: batch says %v, alone %v", o, kind, a.Err)
				}
				fallthrough
			default:
				if !bytes.Equal(obj, make([]byte, size)) {
					t.Fatalf("object %d after the bad one: target not zero", o)
				}
			}
		}
	}
}

// The simulation must refuse what Update refuses, or its histories would
// not be ones the original can produce.
func TestUpdateRefusals(t *testing.T) {
	a, b, c := id{1}, id{2}, id{3}
	if got := update(vec{a, b}, c); got != (vec{c, a}) {
		t.Errorf("update = %v", got)
	}
	for _, tc := range []struct {
		v vec
		x id
	}{
		{vec{a, b}, a}, {vec{a, b}, b}, {vec{a, b}, id{}},
		{vec{a, a}, c}, {vec{id{}, b}, c}, {vec{a, id{}}, c},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("update(%v, %v) was not refused", tc.v, tc.x)
				}
			}()
			update(tc.v, tc.x)
		}()
	}
}
