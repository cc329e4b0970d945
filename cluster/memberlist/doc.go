// Package memberlist keeps a configuration in step with a
// hashicorp/memberlist cluster (SWIM gossip failure detection), so the
// membership and network health a quorum manager decides on come from a
// proven engine rather than a home-made one. Package manager itself stays
// free of the dependency.
//
// The agent is an adapter with three parts:
//
//   - memberlist delegates (Create, or New and Attach for a memberlist
//     the caller creates) that only queue what memberlist reports: joins,
//     updates, departures, leave notices, and probe round trips;
//   - one goroutine that folds those reports into the members as
//     observed (alive, suspect, dead, left, and since when), asks
//     package cluster/policy's Plan what to propose, and carries the plan
//     out through a Keeper;
//   - the Keeper, which holds the configuration: LocalKeeper of a
//     manager.Manager by default (Options.Manager, or one opened from or
//     saved to Options.Store), or a replicated one (Options.Keeper) on
//     which only the leader proposes. When Keeper.Leads is false the agent
//     still observes and reports (Status), and proposes nothing. A
//     replicated keeper learns its peers' raft addresses from their
//     metadata (Meta.Raft) through Options.OnMember; package cluster/agent
//     wires a consensus.Node in that way.
//
// The policy (see package cluster/policy for its rules and tests) is the
// one this package always had:
//
//   - a member memberlist reports alive becomes a member at once: a
//     standby, with the failure domain and capabilities from its node
//     metadata (Meta) and the weight advice.WeightFor gives them; once it
//     has stayed alive for the window it is promoted to voter (unless its
//     Meta asks to stay a standby or Options.MaxVoters is reached);
//   - a member whose direct probes go unanswered for SuspectAfter becomes
//     Suspect (memberlist does not report its own suspect state to
//     delegates; the ping delegate's acknowledgements show the silence),
//     and is alive again only from its next answer; one memberlist
//     declares dead becomes Failed, at once; either becomes Active again
//     (Recover) when it answers or rejoins. A failed voter still votes:
//     the quorum does not shrink;
//   - a member that left gracefully (Agent.Leave tells every member
//     directly and gossips Meta.Leaving before memberlist's leave, so peers
//     can tell) is Failed at once and removed once it has stayed away for
//     the window: first from the voters (an adjustment), then from the
//     members;
//   - round trips from the ping delegate feed the agent's network view
//     (Agent.View), and each acknowledgement carries the acking member's
//     own measurements, so every member sees the whole mesh;
//   - after every round the strategies are asked for a recommendation; one
//     that changes the voters (replacing a failed voter with a healthy
//     standby, say) is adopted through Keeper.Adjust (locally
//     Manager.Adjust, with its validation, joint phase, Options.Verify and
//     rollback), but only once every voter it drops has been down for the
//     whole window;
//   - one voter change at a time, and one that failed is not retried from
//     the same configuration within the window.
//
// So a member that fails and returns within the window produces no
// adjustment: the configuration records Fail and Recover, and the voters
// stay as they were.
//
// With local keepers each agent keeps its own manager from its own view
// of the cluster: two agents may be at different epochs. A store that
// needs one agreed configuration commits it through its replication in
// Options.Verify, or replicates the configuration itself behind a Keeper.
//
// Memberlist calls delegates with its locks held; the agent's only queue
// the event and return, and nothing but the agent's goroutine calls the
// Keeper. Shutdown (or Close, which leaves gracefully first) stops every
// goroutine the agent started.
package memberlist
