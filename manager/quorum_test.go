package manager

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"
	"testing"
)

// naiveThreshold is the definition: the fewest of n votes whose any two
// sets share a voter (crash, 2q > n) or more than two-thirds (3q > 2n).
func naiveThreshold(n int, m FaultModel) int {
	for q := 1; ; q++ {
		if (m == Crash && 2*q > n) || (m == Byzantine && 3*q > 2*n) {
			return q
		}
	}
}

// Every threshold for n = 1..255 in both models, with the properties that
// make it a quorum rule.
func TestThresholdTable(t *testing.T) {
	for _, m := range []FaultModel{Crash, Byzantine} {
		for n := 1; n <= maxMembers; n++ {
			q, err := Threshold(n, m)
			if err != nil || q != naiveThreshold(n, m) {
				t.Fatalf("Threshold(%d, %v) = %d, %v; want %d", n, m, q, err, naiveThreshold(n, m))
			}
			f, err := maxFaults(n, m)
			if err != nil {
				t.Fatal(err)
			}
			if 2*q <= n {
				t.Errorf("%v n=%d: two quorums of %d need not intersect", m, n, q)
			}
			switch m {
			case Crash:
				if f != n-q {
					t.Errorf("crash n=%d: maxFaults %d, want n-q = %d", n, f, n-q)
				}
			case Byzantine:
				// Safety: two quorums share at least f+1 voters. Liveness:
				// the n-f honest voters still make a quorum.
				if 2*q-n < f+1 {
					t.Errorf("byzantine n=%d q=%d f=%d: 2q-n = %d < f+1", n, q, f, 2*q-n)
				}
				if n-f < q {
					t.Errorf("byzantine n=%d q=%d f=%d: honest voters cannot make a quorum", n, q, f)
				}
				if 3*f >= n {
					t.Errorf("byzantine n=%d: f=%d is not below n/3", n, f)
				}
			}
			// The weighted rule with equal weights is the same rule.
			w, err := weightedThreshold(uint64(n)*uint64(One), m)
			if err != nil || int(ceilDiv(w, uint64(One))) != q {
				t.Errorf("%v n=%d: weightedThreshold(%d) = %d, %v; want %d voters' worth", m, n, n*int(One), w, err, q)
			}
		}
	}
}

func TestThresholdSpotValues(t *testing.T) {
	tests := []struct {
		n          int
		crash, byz int
		fc, fb     int
	}{
		{1, 1, 1, 0, 0}, {2, 2, 2, 0, 0}, {3, 2, 3, 1, 0}, {4, 3, 3, 1, 1},
		{5, 3, 4, 2, 1}, {6, 4, 5, 2, 1}, {7, 4, 5, 3, 2}, {254, 128, 170, 126, 84}, {255, 128, 171, 127, 84},
	}
	for _, tt := range tests {
		c, _ := Threshold(tt.n, Crash)
		b, _ := Threshold(tt.n, Byzantine)
		fc, _ := maxFaults(tt.n, Crash)
		fb, _ := maxFaults(tt.n, Byzantine)
		if c != tt.crash || b != tt.byz || fc != tt.fc || fb != tt.fb {
			t.Errorf("n=%d: thresholds %d/%d faults %d/%d, want %d/%d %d/%d", tt.n, c, b, fc, fb, tt.crash, tt.byz, tt.fc, tt.fb)
		}
	}
	// Large n: no overflow on 32-bit ints.
	for _, n := range []int{math.MaxInt32, math.MaxInt} {
		b, err := Threshold(n, Byzantine)
		want := new(big.Int).Add(new(big.Int).Div(new(big.Int).Mul(big.NewInt(int64(n)), big.NewInt(2)), big.NewInt(3)), big.NewInt(1))
		if err != nil || !want.IsInt64() || int64(b) != want.Int64() {
			t.Errorf("Threshold(%d, Byzantine) = %d, %v; want %v", n, b, err, want)
		}
	}
}

func TestThresholdErrors(t *testing.T) {
	for _, n := range []int{0, -1, math.MinInt} {
		if _, err := Threshold(n, Crash); err == nil || !strings.Contains(err.Error(), "n must be") {
			t.Errorf("Threshold(%d): err %v, want one naming n", n, err)
		}
		if _, err := maxFaults(n, Byzantine); err == nil {
			t.Errorf("maxFaults(%d): no error", n)
		}
	}
	if _, err := Threshold(3, FaultModel(7)); err == nil || !strings.Contains(err.Error(), "fault model") {
		t.Errorf("unknown model: err %v", err)
	}
	if _, err := weightedThreshold(0, Crash); err == nil || !strings.Contains(err.Error(), "total weight") {
		t.Errorf("weightedThreshold(0): err %v", err)
	}
	if _, err := weightedThreshold(10, FaultModel(2)); err == nil {
		t.Errorf("weightedThreshold unknown model: no error")
	}
}

// weightedThreshold is exact for every total, checked against math/big:
// the guard against overflow in weight arithmetic.
func TestWeightedThresholdExact(t *testing.T) {
	rng, seed := newRand(t)
	totals := []uint64{1, 2, 3, 4, 5, 6, 999, 1000, 1001, 2999, 3000, 3001, 255 * 2000, 255 * math.MaxUint32,
		math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxUint64 - 2, math.MaxUint64 - 1, math.MaxUint64}
	for range 1000 {
		totals = append(totals, rng.Uint64(), rng.Uint64N(1<<20)+1)
	}
	for _, total := range totals {
		T := new(big.Int).SetUint64(total)
		for _, m := range []FaultModel{Crash, Byzantine} {
			got, err := weightedThreshold(total, m)
			if err != nil {
				t.Fatalf("seed %d: weightedThreshold(%d, %v): %v", seed, total, m, err)
			}
			// The least w with 2w > T (crash) or 3w > 2T (Byzantine).
			num, den := big.NewInt(1), big.NewInt(2)
			if m == Byzantine {
				num, den = big.NewInt(2), big.NewInt(3)
			}
			want := new(big.Int).Div(new(big.Int).Mul(T, num), den)
			want.Add(want, big.NewInt(1))
			if !want.IsUint64() || want.Uint64() != got {
				t.Fatalf("seed %d: weightedThreshold(%d, %v) = %d, want %v", seed, total, m, got, want)
			}
		}
	}
}

// TotalWeight and Threshold stay exact even for weights far beyond the
// bounds (a quorum built without validation).
func TestTotalWeightNoOverflow(t *testing.T) {
	q := Quorum{Rule: Rule{Weighted: true, Model: Byzantine}}
	for i := range maxMembers {
		q.Voters = append(q.Voters, Voter{ID: NodeID(fmt.Sprintf("n%03d", i)), Weight: math.MaxUint32})
	}
	want := new(big.Int).Mul(big.NewInt(maxMembers), big.NewInt(math.MaxUint32))
	if got := q.TotalWeight(); !want.IsUint64() || got != want.Uint64() {
		t.Fatalf("TotalWeight = %d, want %v", got, want)
	}
	th := new(big.Int).Add(new(big.Int).Div(new(big.Int).Mul(want, big.NewInt(2)), big.NewInt(3)), big.NewInt(1))
	if got := q.Threshold(); got != th.Uint64() {
		t.Fatalf("Threshold = %d, want %v", got, th)
	}
	if q.Validate() == nil {
		t.Fatal("weights above MaxWeight validated")
	}
	if Intersect(q, q) {
		t.Fatal("Intersect trusted an invalid quorum system")
	}
}

// Data-driven tallies: each case is a quorum system and sets of nodes with
// whether each set is a quorum.
func TestTally(t *testing.T) {
	v := func(id string, w Weight, domain string) Voter {
		return Voter{ID: NodeID(id), Weight: w, Domain: domain}
	}
	three := []Voter{v("a", One, ""), v("b", One, ""), v("c", One, "")}
	weighted := []Voter{v("a", MaxWeight, ""), v("b", 500, ""), v("c", 500, ""), v("d", MinWeight, "")} // total 3.1
	racks := []Voter{v("a", One, "r1"), v("b", One, "r1"), v("c", One, "r1"), v("d", One, "r2"), v("e", One, "r3")}
	tests := []struct {
		name   string
		rule   Rule
		voters []Voter
		sets   map[string]bool // space-separated IDs -> quorate
	}{
		{"majority of three", Rule{}, three, map[string]bool{
			"": false, "a": false, "a b": true, "b c": true, "a b c": true, "a a": false, "a x y": false, "a b x": true}},
		{"byzantine four", Rule{Model: Byzantine}, []Voter{v("a", One, ""), v("b", One, ""), v("c", One, ""), v("d", One, "")},
			map[string]bool{"a b": false, "a b c": true, "b c d": true, "a b c d": true}},
		{"weighted ignores weights when off", Rule{}, weighted, map[string]bool{"a b": false, "a b c": true, "b c d": true}},
		{"weighted crash", Rule{Weighted: true}, weighted, map[string]bool{
			"a": true, "b c d": false, "a d": true, "b c": false}},
		{"weighted byzantine", Rule{Weighted: true, Model: Byzantine}, weighted, map[string]bool{
			"a": false, "a b": true, "a d": true, "a c": true, "b c d": false, "a b c d": true}},
		{"domains: majority of rack1 alone is not enough", Rule{Domains: true}, racks, map[string]bool{
			"a b c": false, "a b d": true, "a d e": true, "a b c d": true, "d e": false, "a b d e": true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := NewQuorum(tt.rule, tt.voters)
			if err != nil {
				t.Fatal(err)
			}
			for set, want := range tt.sets {
				ids := []NodeID{}
				for _, f := range strings.Fields(set) {
					ids = append(ids, NodeID(f))
				}
				if got := q.IsQuorum(ids); got != want {
					t.Errorf("{%s}: quorate %v, want %v (tally %+v)", set, got, want, q.Tally(ids))
				}
			}
		})
	}
}

func TestNewQuorumErrors(t *testing.T) {
	ok := Voter{ID: "a", Weight: One}
	tests := []struct {
		name   string
		rule   Rule
		voters []Voter
		want   string
	}{
		{"no voters", Rule{}, nil, "voters must number 1"},
		{"below min voters", Rule{MinVoters: 2}, []Voter{ok}, "voters must number 2"},
		{"bad min voters", Rule{MinVoters: -1}, []Voter{ok}, "MinVoters"},
		{"bad model", Rule{Model: 9}, []Voter{ok}, "fault model"},
		{"empty id", Rule{}, []Voter{{Weight: One}}, "voter ID must be 1 to 64 bytes"},
		{"space in id", Rule{}, []Voter{{ID: "a b", Weight: One}}, "space or control"},
		{"bad utf8", Rule{}, []Voter{{ID: "\xff", Weight: One}}, "UTF-8"},
		{"duplicate", Rule{}, []Voter{ok, ok}, "unique ID"},
		{"weight too low", Rule{}, []Voter{{ID: "a", Weight: 99}}, "weight must be from 0.100 to 2.000"},
		{"weight too high", Rule{}, []Voter{{ID: "a", Weight: 2001}}, "weight must be"},
		{"domain", Rule{}, []Voter{{ID: "a", Weight: One, Domain: "rack\n"}}, "domain"},
	}
	for _, tt := range tests {
		if _, err := NewQuorum(tt.rule, tt.voters); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
	var many []Voter
	for i := range maxMembers + 1 {
		many = append(many, Voter{ID: NodeID(fmt.Sprint(i)), Weight: One})
	}
	if _, err := NewQuorum(Rule{}, many); err == nil {
		t.Error("256 voters accepted")
	}
	// The zero Quorum has no quorum and does not panic.
	var zero Quorum
	if zero.IsQuorum([]NodeID{"a"}) || zero.MinSize() != 0 || zero.Threshold() != 1 {
		t.Error("zero Quorum")
	}
}

// Property: any two quorums of one quorum system intersect; under the
// Byzantine rule they share more than the faulty weight (and, without
// weights, at least f+1 voters).
func TestQuorumsIntersect(t *testing.T) {
	rng, seed := newRand(t)
	ids := universe(8)
	for round := range suiteRounds(400) {
		q := randomQuorum(rng, ids, randomRule(rng, true))
		qm := quorumMasks(ids, q.IsQuorum)
		if a, b, found := disjoint(ids, qm, qm); found {
			t.Fatalf("seed %d round %d: %+v has disjoint quorums %v and %v", seed, round, q, a, b)
		}
		if q.Rule.Model != Byzantine {
			continue
		}
		weight := make([]uint64, len(qm))
		for m := range weight {
			weight[m] = q.Tally(subset(ids, uint32(m))).Weight
		}
		var quorums []uint32
		for m, ok := range qm {
			if ok {
				quorums = append(quorums, uint32(m))
			}
		}
		f, _ := maxFaults(len(q.Voters), Byzantine)
		for _, a := range quorums {
			for _, b := range quorums {
				if weight[a&b] <= q.faultyWeight() {
					t.Fatalf("seed %d round %d: %+v: quorums %v and %v share %d, not more than faulty %d",
						seed, round, q, subset(ids, a), subset(ids, b), weight[a&b], q.faultyWeight())
				}
				if !q.Rule.Weighted && bits.OnesCount32(a&b) < f+1 {
					t.Fatalf("seed %d round %d: quorums %v and %v share fewer than f+1 = %d", seed, round, subset(ids, a), subset(ids, b), f+1)
				}
			}
		}
		// byzantineFaults is the most voters whose weight fits faultyWeight.
		fb := q.byzantineFaults()
		worst := uint64(0)
		for m := range weight {
			if bits.OnesCount32(uint32(m)) == fb {
				worst = max(worst, weight[m])
			}
		}
		if worst > q.faultyWeight() {
			t.Fatalf("seed %d round %d: %d faulty voters may weigh %d > %d", seed, round, fb, worst, q.faultyWeight())
		}
	}
}

// Intersect against brute force on small universes: never claims an
// intersection that does not exist; exact for equal-weight flat rules;
// symmetric.
func TestIntersectBruteForce(t *testing.T) {
	rng, seed := newRand(t)
	ids := universe(7)
	exactSeen, jointSeen := 0, 0
	for round := range suiteRounds(1500) {
		ra, rb := randomRule(rng, false), randomRule(rng, false)
		a, b := randomQuorum(rng, ids, ra), randomQuorum(rng, ids, rb)
		if rng.IntN(4) == 0 { // nearby systems: one voter more or less
			b = a
			b.Voters = slices.Clone(a.Voters)
			if len(b.Voters) > 1 && rng.IntN(2) == 0 {
				b.Voters = slices.Delete(b.Voters, 0, 1)
			}
		}
		tie := false
		for _, q := range []*Quorum{&a, &b} {
			if q.Rule.Model == Crash && rng.IntN(3) == 0 {
				*q, tie = withTieBreaker(t, *q, rng.IntN(len(q.Voters))), true
			}
		}
		got := Intersect(a, b)
		if got != Intersect(b, a) {
			t.Fatalf("seed %d round %d: Intersect not symmetric for %+v, %+v", seed, round, a, b)
		}
		_, _, found := disjoint(ids, quorumMasks(ids, a.IsQuorum), quorumMasks(ids, b.IsQuorum))
		if got && found {
			t.Fatalf("seed %d round %d: Intersect(%+v, %+v) but disjoint quorums exist", seed, round, a, b)
		}
		if !a.Rule.Weighted && !b.Rule.Weighted && !a.Rule.Domains && !b.Rule.Domains && !tie { // a tie is bounded conservatively
			exactSeen++
			if got == found {
				t.Fatalf("seed %d round %d: equal weights, Intersect %v but disjoint %v: %+v, %+v", seed, round, got, found, a, b)
			}
		}
		if !got {
			jointSeen++
		}
	}
	if exactSeen == 0 || jointSeen == 0 {
		t.Fatalf("seed %d: the rounds never covered both cases (exact %d, joint %d)", seed, exactSeen, jointSeen)
	}
	// Byzantine systems intersect only with themselves.
	q := randomQuorum(rng, ids, Rule{Model: Byzantine})
	if !Intersect(q, q) {
		t.Error("a Byzantine system does not intersect itself")
	}
	o := q
	o.Rule.Model = Crash
	if Intersect(q, o) {
		t.Error("Intersect trusts a Byzantine change")
	}
}

// MinSize and the tolerance arithmetic against brute force.
func TestMinSizeAndToleranceBruteForce(t *testing.T) {
	rng, seed := newRand(t)
	ids := universe(8)
	for round := range suiteRounds(300) {
		q := randomQuorum(rng, ids, randomRule(rng, true))
		qm := quorumMasks(ids, q.IsQuorum)
		minSize := len(ids) + 1
		for m, ok := range qm {
			if ok {
				minSize = min(minSize, bits.OnesCount32(uint32(m)))
			}
		}
		if got := q.MinSize(); got != minSize {
			t.Fatalf("seed %d round %d: MinSize %d, brute force %d for %+v", seed, round, got, minSize, q)
		}
		// Health: a random subset of the voters is healthy.
		healthy := uint32(0)
		for i, id := range ids {
			if q.Has(id) && rng.IntN(4) > 0 {
				healthy |= 1 << i
			}
		}
		got := crashTolerance([]Quorum{q}, subset(ids, healthy))
		want := bruteTolerance(qm, healthy, q.MinSize())
		if got != want {
			t.Fatalf("seed %d round %d: crash tolerance %d, brute force %d; healthy %v of %+v", seed, round, got, want, subset(ids, healthy), q)
		}
	}
}

// bruteTolerance: the most healthy voters that may fail, whichever they
// are, with a quorum left; or, with none now, min(-1, healthy - minSize).
func bruteTolerance(qm []bool, healthy uint32, minSize int) int {
	if !qm[healthy] {
		return min(-1, bits.OnesCount32(healthy)-minSize)
	}
	for k := 1; ; k++ {
		for r := healthy; ; r = (r - 1) & healthy {
			if bits.OnesCount32(r) == k && !qm[healthy&^r] {
				return k - 1
			}
			if r == 0 {
				break
			}
		}
	}
}

func suiteRounds(full int) int {
	if testing.Short() {
		return max(1, full/8)
	}
	return full
}
