package manager

import (
	"reflect"
	"strings"
	"testing"

	"github.com/lockstep/quorum/internal/suite"
)

func TestMetrics(t *testing.T) {
	m := newManager(t, Rule{Weighted: true}, "a:2000@r1 b@r1 c@r2 d@r2 e:500@r3 s@r3*")
	m.Apply(Change{Op: OpFail, ID: "e"})
	m.Apply(Change{Op: OpSuspect, ID: "d"})
	for _, v := range [][2]string{
		{"B/A B/A B/A X/Y P/Q", "a b c d e"}, // a b c: 4 of 5.5 votes
		{"B/A C/A X/Y P/Q R/S", "a b c d e"}, // all tie
		{"B/A B/A X/Y P/Q R/S", "e d c b a"}, // e d: 1.5 votes
	} {
		if _, err := m.Decide(suite.Letters(v[0]), ids(v[1])); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Decide(suite.Letters("A/A"), ids("a")); err == nil {
		t.Fatal("a cyclic object decided")
	}
	m.Adjust(0, Proposal{Voters: []Vote{{ID: "a"}}}, nil) // refused
	got := m.Metrics()
	// Total 5.5 votes, threshold 2.751; healthy a b c hold 4.000, and
	// losing the heaviest, a (2.0), would leave 2.000: no margin.
	want := Metrics{
		Epoch: 3, Members: 6, Voters: 5, Healthy: 3, Quorum: 2, Threshold: 2751, TotalWeight: 5500, HealthyWeight: 4000,
		Tolerance: 0, NearLoss: true, SurvivesDomainLoss: false,
		DecisionsQuorate: 1, DecisionsSplitBrain: 1, DecisionsNoQuorum: 1, Refusals: 1,
	}
	got.Domains = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("metrics\n got %+v\nwant %+v", got, want)
	}
	doms := m.Metrics().Domains
	if len(doms) != 3 || doms[0].Domain != "r1" || doms[0].SurvivesLoss || doms[0].Weight != 3000 ||
		!doms[2].SurvivesLoss || doms[2].Margin != 0 || doms[2].Healthy != 0 {
		t.Fatalf("domains %+v", doms)
	}
	m.Apply(Change{Op: OpRecover, ID: "d"})
	if met := m.Metrics(); met.Tolerance != 1 || met.NearLoss || met.HealthyWeight != 5000 {
		t.Fatalf("after d recovers: %+v", met)
	}
}

func TestDescribe(t *testing.T) {
	m := newManager(t, Rule{MinVoters: 3}, "a@rack1 b@rack1 c@rack2 d e s@rack2*")
	m.Apply(Change{Op: OpFail, ID: "b"})
	if a := m.Apply(Change{Op: OpReconfigure, Proposal: Proposal{Rule: Rule{MinVoters: 3}, Voters: []Vote{{ID: "a"}, {ID: "c"}, {ID: "d"}, {ID: "e"}, {ID: "s"}}}}); a.Status != OK || !a.Joint {
		t.Fatal(a)
	}
	// Joint: incoming a c d e s tolerate 2, outgoing a b c d e (b failed) 1.
	want := `epoch 3, crash majority, min 3 voters: quorum 3 of 5 voters; tolerates 1 failure(s); survives losing rack2
joint phase: decisions also need a quorum of the outgoing voters a b c d e (crash majority, min 3 voters)
ID  STATE   ROLE     WEIGHT  DOMAIN
a   active  voter    1.000   rack1
b   failed  leaving  1.000   rack1
c   active  voter    1.000   rack2
d   active  voter    1.000   -
e   active  voter    1.000   -
s   active  joining  1.000   rack2
`
	if got := m.Config().Describe(); got != want {
		t.Fatalf("Describe:\n%s\nwant:\n%s", got, want)
	}
	cols := m.Config().DescribeColumns([]string{"X"}, func(id NodeID) []string { return []string{"<" + string(id) + ">"} })
	if !strings.Contains(cols, "ID  STATE   ROLE     WEIGHT  DOMAIN  X\n") || !strings.Contains(cols, "rack2   <s>\n") {
		t.Fatalf("DescribeColumns:\n%s", cols)
	}
}
