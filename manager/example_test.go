package manager_test

import (
	"fmt"
	"log"

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

// A 5-voter cluster over three racks, with a standby, loses a voter; an
// adjustment replaces it with the standby through a joint phase (old and
// new majorities might not intersect); then a real kernel result is judged
// under the new voters. (Package advice can propose the replacement.)
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
	// A failure: e goes down. Its vote still counts, so the quorum stays 3.
	ans := m.Apply(manager.Change{Op: manager.OpFail, ID: "e"})
	fmt.Println("fail e:", ans.Status, "epoch", ans.Epoch, "tolerance", m.Config().Tolerance().Crash)

	// The proposal: f votes in e's place.
	p := manager.Proposal{Rule: m.Config().Rule, Voters: []manager.Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "f"}}}

	// The adjustment: validated, applied through a joint phase, verified.
	adj := m.Adjust(m.Config().Epoch+1, p, func(cfg manager.Config) error {
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
	fmt.Print(m.Config().Describe())
	// Output:
	// fail e: ok epoch 2 tolerance 1
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
	// ID  STATE   ROLE     WEIGHT  DOMAIN
	// a   active  voter    1.000   rack1
	// b   active  voter    1.000   rack1
	// c   active  voter    1.000   rack2
	// d   active  voter    1.000   rack2
	// e   failed  standby  1.000   rack3
	// f   active  voter    1.000   rack3
}

// Two data nodes and a witness, waiting for all at bootstrap: the new
// cluster is quorate only once all three have been seen at once; then
// either data node with the witness is a quorum, and an object whose newest
// state only the witness holds is reported as such (NoCopy) rather than
// served from an older copy.
func ExampleNode_witness() {
	m, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "w", Witness: true}},
		manager.Rule{WaitForAll: true, AutoTieBreaker: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("a, w quorate before all were seen:", m.Config().IsQuorum([]manager.NodeID{"a", "w"}))
	fmt.Println(m.Apply(manager.Change{Op: manager.OpAllSeen, Seen: []manager.NodeID{"a", "b", "w"}}).Status)
	fmt.Println("a, w quorate now:", m.Config().IsQuorum([]manager.NodeID{"a", "w"}))

	// b and w took a write (state B on A) while a was away; b is down now.
	d, err := m.Decide([][]byte{vector('A', 'Z'), vector('B', 'A')}, []manager.NodeID{"a", "w"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(d.Verdict)
	// Output:
	// a, w quorate before all were seen: false
	// ok
	// a, w quorate now: true
	// no copy
}
