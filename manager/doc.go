// Package manager is the thin layer above the kernel that turns "the longest
// chain has Length replicas" into decisions a replicated store can act on.
//
// The layers, bottom up:
//
//   - Package kernel measures, for every object, the longest chain of
//     replica states (kernel.Calculate) and each replica's place in it
//     (kernel.Roles: Current, Lagging or Outside). It never judges whether
//     the chain is long enough.
//   - Quorum and Rule judge it: whether a set of voters is a quorum under
//     the crash rule (a majority), the Byzantine rule (more than two-thirds),
//     by head count or by weight (Weight, in exact integer milli-votes), and
//     optionally also a majority of weight in a majority of failure domains.
//     Threshold is the same rule as a plain number; Intersect says whether
//     two quorum systems are sure to overlap.
//   - Config is the membership at one epoch: nodes with failure domain,
//     capabilities, health and weight, the rule, and, during a joint phase,
//     the outgoing quorum system whose quorums decisions also need.
//     Config.Decide runs kernel.Roles on one object's replica vectors and
//     turns the answer into a Verdict (quorate, split-brain, no quorum), the
//     leader and a repair list ordered so the quorum never goes backwards;
//     Config.Tolerance says how many failures, and which failure domains,
//     the configuration survives.
//   - Manager holds the current Config: every change (add, remove, fail,
//     recover, reconfigure, leave a joint phase) is a Change, applied with
//     Apply as the next epoch with a typed Answer (the shape a replicated
//     log carries: Snapshot and Restore move the whole state); changes whose old and new quorums might not intersect go
//     through a joint phase, as in Raft's joint consensus. Adjust validates,
//     applies, verifies and rolls back a proposal, recording each step in
//     the history. A Store persists the configuration and history as JSON
//     with atomic replace. Metrics and Config.Describe report it.
//
// The package has no network of its own and no clock: callers feed it
// requests, so everything it answers is deterministic. Advice on what to
// propose (network views, strategies, capability weights) is package
// manager/advice, which only produces proposals for Adjust to judge.
package manager
