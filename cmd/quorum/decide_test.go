package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// vectors builds 32-byte vectors from "ID0/ID1" letter pairs.
func vectors(spec string) [][]byte {
	var out [][]byte
	for _, v := range strings.Fields(spec) {
		b := make([]byte, kernel.VectorSize)
		for k := range kernel.IDSize {
			b[k] = v[0]
			b[kernel.IDSize+k] = v[2]
		}
		out = append(out, b)
	}
	return out
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		replicas string
		verdict  verdict
		leader   int
		repair   []int
	}{
		{"B/A B/A B/A", quorate, 0, nil},
		{"B/A C/B B/A", quorate, 1, []int{0, 2}},               // an interrupted write reached replica 1 only
		{"C/B B/A X/Y", quorate, 0, []int{1, 2}},               // lagging 1 first, then outside 2
		{"X/Y C/B B/A", quorate, 1, []int{2, 0}},               // lagging 2 before outside 0, whatever the index order
		{"X/Y C/B D/C B/A", quorate, 2, []int{3, 1, 0}},        // lagging by depth (B/A 2 behind, then C/B), then the stranger
		{"B/A C/A", splitBrain, -1, nil},                       // two forks of A
		{"B/A B/A C/A D/A", noQuorum, 0, nil},                  // three forks of A, the longest 2 of 4
		{"B/A B/A C/A C/A", splitBrain, -1, nil},               // a partition, both sides advanced
		{"B/A B/A X/Y Z/W", noQuorum, 0, nil},                  // a chain of 2 of 4 is no majority
		{"B/A B/A X/Y Z/W V/U", noQuorum, 0, nil},              // 2 of 5
		{"C/B B/A B/A X/Y Z/W", quorate, 0, []int{1, 2, 3, 4}}, // 3 of 5
		{"B/A", quorate, 0, nil},                               // one replica is its own majority
		{"B/A X/Y", splitBrain, -1, nil},                       // two strangers
		{"C/B B/A", quorate, 0, []int{1}},                      // 2 of 2
	} {
		vecs := vectors(c.replicas)
		n := len(vecs)
		roles := make([]kernel.Role, n)
		r, err := kernel.Roles(vecs, roles)
		if err != nil {
			t.Fatalf("%s: %v", c.replicas, err)
		}
		d := mustDecide(t, "majority", vecs, r, roles)
		if d.verdict != c.verdict || d.leader != c.leader || !slices.Equal(d.repair, c.repair) {
			t.Errorf("%s: got %+v, want verdict %d leader %d repair %v", c.replicas, d, c.verdict, c.leader, c.repair)
		}
		// Whatever decide says, the engine accepts it.
		e := &engine{n: n}
		depth := make([]int, n)
		if err := chainDepths(vecs, depth); err != nil {
			t.Fatal(err)
		}
		if _, err := e.statusOf(&d, r, roles, depth); err != nil {
			t.Errorf("%s: %v", c.replicas, err)
		}
	}
}

var deciders = map[string]*decider{}

// mustDecide decides with a decider for len(vecs) replicas under rule.
func mustDecide(t *testing.T, rule string, vecs [][]byte, r kernel.Result, roles []kernel.Role) decision {
	t.Helper()
	key := fmt.Sprint(rule, len(vecs))
	dec := deciders[key]
	if dec == nil {
		var err error
		if dec, err = newDecider(rule, len(vecs)); err != nil {
			t.Fatal(err)
		}
		deciders[key] = dec
	}
	d, err := dec.decide(vecs, r, roles)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecideByzantine(t *testing.T) {
	for _, c := range []struct {
		replicas string
		verdict  verdict
		repair   []int
	}{
		{"C/B B/A X/Y", noQuorum, nil},               // 2 of 3 is a majority, not more than two-thirds
		{"C/B B/A B/A", quorate, []int{1, 2}},        // 3 of 3
		{"C/B B/A B/A X/Y", quorate, []int{1, 2, 3}}, // 3 of 4
		{"C/B B/A X/Y Z/W", noQuorum, nil},
		{"B/A B/A B/A X/Y Z/W", noQuorum, nil}, // 3 of 5: a majority only
		{"B/A B/A B/A B/A Z/W", quorate, []int{4}},
	} {
		vecs := vectors(c.replicas)
		roles := make([]kernel.Role, len(vecs))
		r, err := kernel.Roles(vecs, roles)
		if err != nil {
			t.Fatal(err)
		}
		d := mustDecide(t, "byzantine", vecs, r, roles)
		if d.verdict != c.verdict || !slices.Equal(d.repair, c.repair) {
			t.Errorf("%s: got %+v, want %d %v", c.replicas, d, c.verdict, c.repair)
		}
	}
	if _, err := newDecider("unanimous", 3); err == nil {
		t.Error("accepted --rule unanimous")
	}
}

// TestStatusOfRefuses: a decision the repairer must not follow is an error
// before anything is written.
func TestStatusOfRefuses(t *testing.T) {
	vecs := vectors("C/B B/A X/Y")
	roles := make([]kernel.Role, 3)
	r, err := kernel.Roles(vecs, roles)
	if err != nil {
		t.Fatal(err)
	}
	e := &engine{n: 3}
	depth := make([]int, 3)
	if err := chainDepths(vecs, depth); err != nil {
		t.Fatal(err)
	}
	for _, d := range []decision{
		{verdict: quorate, leader: 0, repair: []int{0, 1, 2}}, // the leader
		{verdict: quorate, leader: 0, repair: []int{2, 1}},    // outside before lagging
		{verdict: quorate, leader: 0, repair: []int{1, 1, 2}}, // twice
		{verdict: quorate, leader: 0, repair: []int{1}},       // leaves out 2
		{verdict: quorate, leader: 0, repair: []int{1, 3}},    // no such replica
		{verdict: quorate, leader: 1, repair: []int{0, 2}},    // not the kernel's leader
		{verdict: noQuorum, leader: 0, repair: []int{1}},      // repairs without a quorum
		{verdict: splitBrain, leader: -1},                     // not forked
		{verdict: 7},
	} {
		if _, err := e.statusOf(&d, r, roles, depth); err == nil {
			t.Errorf("accepted %+v", d)
		}
	}
	forked := kernel.Result{Forked: true}
	if _, err := e.statusOf(&decision{verdict: splitBrain, leader: -1, repair: []int{1}}, forked, make([]kernel.Role, 3), depth); err == nil {
		t.Error("accepted a split-brain repair")
	}
}

// history makes the vectors of n replicas after a random history: writes
// that reach a random part of the replicas at one state (interrupted
// writes, partitions), strangers, and copies of one replica's object over
// another (catch-ups).
func history(rng *rand.Rand, n int) [][]byte {
	fresh := func() []byte {
		id := make([]byte, kernel.IDSize)
		for k := range id {
			id[k] = byte(rng.Uint32())
		}
		return id
	}
	vecs := make([][]byte, n)
	g := append(fresh(), fresh()...)
	for i := range vecs {
		vecs[i] = slices.Clone(g)
	}
	for range rng.IntN(10) {
		i := rng.IntN(n)
		switch rng.IntN(10) {
		case 0: // a stranger
			vecs[i] = append(fresh(), fresh()...)
		case 1: // a catch-up
			vecs[i] = slices.Clone(vecs[rng.IntN(n)])
		default: // a write that reached i and some of the replicas at its state
			x := fresh()
			old := slices.Clone(vecs[i])
			for k := range vecs {
				if k == i || (bytes.Equal(vecs[k], old) && rng.IntN(2) == 0) {
					vecs[k] = append(slices.Clone(x), old[:kernel.IDSize]...)
				}
			}
		}
	}
	return vecs
}

// TestRepairPrefixesNeverGoBackwards: over random histories, decide follows
// the majority rule, and writing the leader's object over any prefix of its
// repair list keeps the same head state with a chain at least as long,
// ending with every replica at the head.
func TestRepairPrefixesNeverGoBackwards(t *testing.T) {
	rounds := 20000
	if testing.Short() {
		rounds = 2000
	}
	rng := rand.New(rand.NewPCG(7, 11))
	var nQuorate, nSplit, nNone, deep int
	for round := range rounds {
		n := 1 + rng.IntN(7)
		vecs := history(rng, n)
		roles := make([]kernel.Role, n)
		r, err := kernel.Roles(vecs, roles)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rule, need := "majority", n/2+1
		if round%4 == 3 {
			rule, need = "byzantine", 2*n/3+1
		}
		d := mustDecide(t, rule, vecs, r, roles)
		want := noQuorum
		switch {
		case r.Forked:
			want = splitBrain
		case int(r.Length) >= need:
			want = quorate
		}
		if d.verdict != want {
			t.Fatalf("round %d %s: verdict %d, want %d", round, show(vecs), d.verdict, want)
		}
		switch d.verdict {
		case splitBrain:
			nSplit++
			continue
		case noQuorum:
			nNone++
			continue
		}
		nQuorate++
		if int(r.Repair) >= 2 {
			deep++
		}
		head := slices.Clone(vecs[d.leader])
		cur := slices.Clone(vecs)
		length := r.Length
		for k, j := range d.repair {
			cur[j] = head
			r2, err := kernel.Roles(cur, make([]kernel.Role, n))
			if err != nil || r2.Forked || !bytes.Equal(cur[r2.Leader], head) || r2.Length < length {
				t.Fatalf("round %d %s: repair %v went backwards after %d writes: %+v, %v", round, show(vecs), d.repair, k+1, r2, err)
			}
			length = r2.Length
		}
		if int(length) != n {
			t.Fatalf("round %d %s: after repair %v a chain of %d", round, show(vecs), d.repair, length)
		}
	}
	t.Logf("%d quorate (%d with 2+ lagging), %d split-brain, %d without a majority", nQuorate, deep, nSplit, nNone)
	if deep == 0 || nSplit == 0 || nNone == 0 {
		t.Fatal("the histories miss a case")
	}
}

func show(vecs [][]byte) string {
	var s []string
	for _, v := range vecs {
		s = append(s, fmt.Sprintf("%x/%x", v[:2], v[kernel.IDSize:kernel.IDSize+2]))
	}
	return strings.Join(s, " ")
}
