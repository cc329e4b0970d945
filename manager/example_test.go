package manager_test

import (
	"fmt"
	"time"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/manager"
)

// vector builds a 32-byte vector whose IDs are the letters id0 and id1.
func vector(id0, id1 byte) []byte {
	v := make([]byte, kernel.VectorSize)
	for i := range kernel.IDSize {
		v[i] = id0 + byte(i)
		v[kernel.IDSize+i] = id1 + byte(i)
	}
	return v
}

// A 5-voter cluster over three racks, with a standby, loses a voter; the
// fault-tolerance strategy recommends replacing it with the standby; the
// adjustment goes through a joint phase (old and new majorities might not
// intersect); then a real kernel result is judged under the new voters.
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
	base := map[manager.NodeID]int{"a": 1, "b": 1, "c": 2, "d": 2, "e": 3, "f": 3}
	for x, bx := range base {
		for y, by := range base {
			if x < y {
				m.Observe(manager.Observation{From: x, To: y, Reachable: true, RTT: time.Duration(bx+by) * time.Millisecond})
			}
		}
	}

	// A failure: e goes down. Its vote still counts, so the quorum stays 3.
	ans := m.Fail("e")
	fmt.Println("fail e:", ans.Status, "epoch", ans.Epoch, "tolerance", m.Config().Tolerance().Crash)

	// A recommendation.
	rec, err := m.Recommend(manager.Targets{MaxLatency: 20 * time.Millisecond}, manager.FaultToleranceStrategy{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("strategy:", rec.Strategy, "nodes:", rec.Nodes, "confidence:", rec.Confidence)
	for _, line := range rec.Reasoning {
		fmt.Println("  -", line)
	}
	fmt.Println("impact:", rec.Impact.Summary)

	// The adjustment: validated, applied through a joint phase, verified.
	adj := m.Adjust(m.Epoch()+1, rec.Proposal, func(cfg manager.Config) error {
		return nil // here the store would commit cfg through its replication
	})
	fmt.Println("adjust:", adj.Answer.Status, "joint:", adj.Joint, "epoch", adj.Answer.Epoch, "voters", adj.After.IDs())
	for _, e := range adj.Steps {
		fmt.Printf("  epoch %d %s %s\n", e.Epoch, e.Op, e.Step)
	}

	// A decision on one object. Replicas a, b, c are at state C (built on
	// B), d missed the last write (B/A), f is fresh (X/W); e is down.
	replicas := []manager.NodeID{"a", "b", "c", "d", "f"}
	vectors := [][]byte{vector('C', 'B'), vector('C', 'B'), vector('C', 'B'), vector('B', 'A'), vector('X', 'W')}
	results := make([]kernel.Result, 1) // the batch kernel, one object of 32 bytes per replica
	if err := kernel.Calculate(vectors, 0, kernel.VectorSize, results, nil); err != nil {
		fmt.Println(err)
		return
	}
	d, err := m.Decide(vectors, replicas) // runs kernel.Roles
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("kernel: %+v (Calculate agrees: %v), roles %v\n", d.Result, d.Result == results[0], d.Roles)
	fmt.Println("decision:", d.Verdict, "leader", d.LeaderNode, "repair", d.Repair)
	fmt.Println(" ", d.Reason)
	fmt.Print(m.Describe())
	// Output:
	// fail e: ok epoch 2 tolerance 1
	// strategy: fault-tolerance nodes: [a c f] confidence: 1
	//   - a quorum needs 3 of 5 voters (crash majority, min 3 voters)
	//   - tolerates 1 crash failure(s) now (4 healthy voters, quorum 3)
	//   - replace failed voter e (rack3) with standby f (rack3)
	//   - losing the largest domain rack1 (2 voters) loses the quorum
	//   - domains whose loss loses the quorum: rack1, rack2
	//   - preferred quorum spans 3 domain(s): a (rack1), c (rack2), f (rack3)
	// impact: tolerates 2 crash failure(s) (+1); survives losing any one domain; commit latency about 5ms
	// adjust: ok joint: true epoch 4 voters [a b c d f]
	//   epoch 2 reconfigure validated
	//   epoch 3 reconfigure applied
	//   epoch 3 reconfigure verified
	//   epoch 4 leave-joint applied
	//   epoch 4 reconfigure verified
	// kernel: {Leader:0 Length:4 Repair:1 Forked:false} (Calculate agrees: true), roles [current current current lagging outside]
	// decision: quorate leader a repair [3 4]
	//   chain of 4 (a b c d) holds 4 of 5 votes, a quorum needs 3
	// epoch 4, crash majority, min 3 voters: quorum 3 of 5 voters; tolerates 2 failure(s); survives losing rack1
	// ID  STATE   ROLE     WEIGHT  DOMAIN  LATENCY  CENTRALITY
	// a   active  voter    1.000   rack1   3ms      1.00
	// b   active  voter    1.000   rack1   3ms      1.00
	// c   active  voter    1.000   rack2   4ms      1.00
	// d   active  voter    1.000   rack2   4ms      1.00
	// e   failed  standby  1.000   rack3   5ms      1.00
	// f   active  voter    1.000   rack3   5ms      1.00
}
