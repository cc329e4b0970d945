package memberlist_test

import (
	"fmt"
	"log"
	"time"

	ml "github.com/hashicorp/memberlist"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/manager"
)

// One member of a cluster: memberlist's own config for the network and
// its timings, the agent's options for the quorum. (Compiled, not run:
// it would listen on a port.)
func Example() {
	conf := ml.DefaultLANConfig()
	conf.Name = "db-1"
	conf.BindAddr, conf.BindPort = "127.0.0.1", 7946

	agent, err := qml.Create(conf, qml.Options{
		Meta:   qml.Meta{Domain: "rack-a", Capabilities: manager.Capabilities{CPU: 8, MemoryMB: 16384}},
		Store:  nil, // a *manager.Store to come back with the configuration after a restart
		Window: 10 * time.Second,
		Verify: func(cfg manager.Config) error {
			return nil // commit cfg through the store's replication here
		},
		OnChange: func(st qml.Status) {
			fmt.Printf("epoch %d: quorum %d of %d, prefer %v\n", st.Config.Epoch,
				st.Recommendation.Quorum, len(st.Recommendation.Proposal.Voters), st.Recommendation.Nodes)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer agent.Close() // leave gracefully: peers remove db-1 rather than count it failed

	agent.Join([]string{"127.0.0.1:7947"}) // retried while no other member is alive

	// Decisions go through the manager the agent keeps in step.
	m := agent.Manager()
	fmt.Println(m.Config().Describe())
}
