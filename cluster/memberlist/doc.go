// Package memberlist keeps a manager.Manager in step with a
// hashicorp/memberlist cluster (SWIM gossip failure detection), so the
// membership and network health the manager decides on come from a proven
// engine rather than a home-made one. Package manager itself stays free of
// the dependency: this package only calls its public API.
//
// Create (or New and Attach, for a memberlist the caller creates) installs
// memberlist delegates and runs one goroutine that applies what they
// report, in order:
//
//   - a member memberlist reports alive becomes a manager member: a
//     standby at first, with the failure domain and capabilities from its
//     node metadata (Meta) and the weight advice.WeightFor gives them;
//     once it has stayed alive for the window it is promoted to voter
//     through Manager.Adjust (unless its Meta asks to stay a standby or
//     Options.MaxVoters is reached);
//   - a member whose direct probes go unanswered for SuspectAfter becomes
//     Suspect (memberlist does not report its own suspect state to
//     delegates; the ping delegate's acknowledgements show the silence);
//     one memberlist declares dead becomes Failed, at once; either becomes
//     Active again (Recover) when it answers or rejoins. A failed voter
//     still votes: the quorum does not shrink;
//   - a member that left gracefully (Agent.Leave tells every member
//     directly and gossips Meta.Leaving before memberlist's leave, so peers
//     can tell) is Failed at once and removed once it has stayed away for
//     the window: first from the voters through Manager.Adjust, then from
//     the members;
//   - round trips from the ping delegate feed Manager.Observe, and each
//     acknowledgement carries the acking member's own measurements, so
//     every member's network monitor sees the whole mesh;
//   - after every change the strategies are asked for a recommendation;
//     one that changes the voters (replacing a failed voter with a healthy
//     standby, say) is adopted through Manager.Adjust, with its
//     validation, joint phase, Options.Verify and rollback, but only once
//     every voter it drops has been down for the whole window.
//
// So a member that fails and returns within the window produces no
// adjustment: the manager records Fail and Recover, and the voters stay
// as they were.
//
// Each agent keeps its own manager from its own view of the cluster: two
// agents may be at different epochs. A store that needs one agreed
// configuration commits it through its replication in Options.Verify.
//
// Memberlist calls delegates with its locks held; the agent's only queue
// the event and return, and nothing else touches the manager but the
// agent's goroutine. Shutdown (or Close, which leaves gracefully first)
// stops every goroutine the agent started.
package memberlist
