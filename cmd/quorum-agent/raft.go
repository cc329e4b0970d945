package main

import (
	"fmt"
	"io"
	"time"

	ml "github.com/hashicorp/memberlist"
	qagent "github.com/lockstep/quorum/cluster/agent"
	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
)

// raftTimings are raft's heartbeat, election, leader lease and commit
// timeouts for a --profile: local for one machine and tests, lan raft's
// defaults, wan three times those.
func raftTimings(profile string) (heartbeat, election, lease, commit time.Duration) {
	switch profile {
	case "local":
		return 250 * time.Millisecond, 250 * time.Millisecond, 125 * time.Millisecond, 10 * time.Millisecond
	case "wan":
		return 3 * time.Second, 3 * time.Second, 1500 * time.Millisecond, 150 * time.Millisecond
	default:
		return 0, 0, 0, 0 // raft.DefaultConfig's
	}
}

// startReplicated starts a member whose configuration is replicated
// through raft (package cluster/agent), printing raft's changes.
func startReplicated(c config, conf *ml.Config, opts qml.Options, out *printer, stderr io.Writer) (*qagent.Member, error) {
	ro := consensus.Options{BindAddr: c.raft, DataDir: c.dataDir, BootstrapExpect: c.bootstrapExpect, Rule: opts.Rule}
	ro.HeartbeatTimeout, ro.ElectionTimeout, ro.LeaderLeaseTimeout, ro.CommitTimeout = raftTimings(c.profile)
	m, err := qagent.Start(qagent.Options{Memberlist: conf, Agent: opts, Raft: ro, OnRaft: out.raft})
	if err != nil {
		return nil, fmt.Errorf("--raft: %w", err)
	}
	return m, nil
}

// bootstrapPlan says how this member comes to a configuration.
func bootstrapPlan(n *consensus.Node, expect int) string {
	switch {
	case n.Restarted():
		return "restarted with raft state: rejoins its cluster (--bootstrap-expect ignored)"
	case expect > 0:
		return fmt.Sprintf("bootstraps once %d members are known (--bootstrap-expect)", expect)
	default:
		return "joins a running cluster (--bootstrap-expect 0): no configuration until a leader adds it"
	}
}
