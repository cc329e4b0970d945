// Package consensus replicates a quorum configuration (a manager.Manager)
// through hashicorp/raft, so every member of a cluster holds the same
// configuration at every epoch.
//
// The manager is raft's state machine: every change (bootstrap, add,
// remove, health, a new quorum system, an adjustment's phases) is a log
// entry, applied in log order on every member to a manager without a store:
// raft's log and snapshots (the manager's store format) are the
// durability. Raft's voters follow the manager's (both halves during a
// joint phase); standbys are raft non-voters.
//
// Reads: Config and Decide are local and lock-free, and may be stale on a
// follower (Decision.Epoch says which configuration judged); ReadConfig is
// linearizable, on the leader only. Changes: only the leader proposes (an
// error wrapping ErrNotLeader elsewhere).
package consensus
