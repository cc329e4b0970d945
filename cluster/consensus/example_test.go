package consensus_test

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/cluster/consensus"
	"github.com/lockstep/quorum/manager"
)

// A cluster of one: it bootstraps at once, leads, and answers changes once
// they are committed and applied. A real member gives BindAddr and
// DataDir, and tells the Node of every member its membership layer finds
// (Discovered) until BootstrapExpect are known.
func ExampleNode() {
	_, tr := raft.NewInmemTransport("a")
	n, err := consensus.Open(consensus.Options{ID: "a", Transport: tr, BootstrapExpect: 1,
		HeartbeatTimeout: 50 * time.Millisecond, ElectionTimeout: 50 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, ReconcileInterval: 100 * time.Millisecond})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer n.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n.Config().Epoch == 0 && ctx.Err() == nil { // elected, bootstrap entry applied
		time.Sleep(10 * time.Millisecond)
	}
	ans, err := n.Apply(ctx, manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: "b", Standby: true}})
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg, err := n.ReadConfig(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ans.Status, "at epoch", ans.Epoch, "; voters", cfg.Quorum().IDs(), "leads", n.Leads())
	// Output: ok at epoch 2 ; voters [a] leads true
}
