package advice_test

import (
	"fmt"
	"time"

	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// Five voters over three racks and a standby; e fails. With every link
// observed, the fault-tolerance strategy proposes the standby in e's place,
// and the manager applies it through a joint phase.
func Example() {
	nodes := []manager.Node{
		{ID: "a", Domain: "rack1"}, {ID: "b", Domain: "rack1"},
		{ID: "c", Domain: "rack2"}, {ID: "d", Domain: "rack2"},
		{ID: "e", Domain: "rack3"}, {ID: "f", Domain: "rack3", Standby: true},
	}
	m, err := manager.New(nil, nodes, manager.Rule{Model: manager.Crash, MinVoters: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	adv := advice.New(m)
	base := map[manager.NodeID]int{"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 3}
	for x, bx := range base {
		for y, by := range base {
			if x < y {
				adv.Observe(advice.Observation{From: x, To: y, Reachable: true, RTT: time.Duration(bx+by) * time.Millisecond})
			}
		}
	}
	m.Apply(manager.Change{Op: manager.OpFail, ID: "e"})

	rec, err := adv.Recommend(advice.Targets{MaxLatency: 20 * time.Millisecond}, advice.FaultToleranceStrategy{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("strategy:", rec.Strategy, "nodes:", rec.Nodes, "confidence:", rec.Confidence)
	for _, line := range rec.Reasoning {
		fmt.Println("  -", line)
	}
	fmt.Println("impact:", rec.Impact.Summary)
	adj := m.Adjust(m.Config().Epoch+1, rec.Proposal, nil)
	fmt.Println("adjust:", adj.Answer.Status, "voters", adj.After.IDs())
	fmt.Print(adv.Describe())
	// Output:
	// strategy: fault-tolerance nodes: [a c f] confidence: 1
	//   - a quorum needs 3 of 5 voters (crash majority, min 3 voters)
	//   - tolerates 1 crash failure(s) now (4 healthy voters, quorum 3)
	//   - replace failed voter e (rack3) with standby f (rack3)
	//   - losing the largest domain rack1 (2 voters) loses the quorum
	//   - domains whose loss loses the quorum: rack1, rack2
	//   - preferred quorum spans 3 domain(s): a (rack1), c (rack2), f (rack3)
	// impact: tolerates 2 crash failure(s) (+1); survives losing any one domain; commit latency about 5ms
	// adjust: ok voters [a b c d f]
	// epoch 4, crash majority, min 3 voters: quorum 3 of 5 voters; tolerates 2 failure(s); survives losing rack1
	// ID  STATE   ROLE     WEIGHT  DOMAIN  LATENCY  CENTRALITY
	// a   active  voter    1.000   rack1   3ms      1.00
	// b   active  voter    1.000   rack1   3ms      1.00
	// c   active  voter    1.000   rack2   4ms      1.00
	// d   active  voter    1.000   rack2   4ms      1.00
	// e   failed  standby  1.000   rack3   5ms      1.00
	// f   active  voter    1.000   rack3   5ms      1.00
}
