// Package consensus replicates a quorum configuration (a manager.Manager)
// through hashicorp/raft, so that every member of a cluster holds the same
// configuration at every epoch and epochs from different members can be
// compared.
//
// # The log
//
// The manager is raft's state machine. Every change is a log entry, a
// small versioned JSON command: the bootstrap (manager.New), one
// manager.Change (add, remove, suspect, fail, recover, reconfigure, leave
// a joint phase), or an adjustment's rollback. Each member applies the
// entries in log order to a manager without a store and, since an applied
// entry is committed, declares its epoch committed at once: the manager's
// rule of one pending change of the quorum system holds across the
// cluster. Applying reads nothing but the entry and the manager, so every
// member applying one log holds a byte-identical manager.Snapshot. An
// entry this version cannot read is answered with an error and changes
// nothing.
//
// # Durability
//
// Raft's log and stable store are one bbolt file in the data directory,
// its snapshots (the manager's store format, Snapshot.MarshalBinary) a
// raft.FileSnapshotStore beside it. raft-boltdb/v2 would be the usual
// store, but v2.3.1 imports go-metrics/compat, which go-metrics v0.7.0
// (required by raft v1.8.0 and memberlist v0.7.0) no longer has, so it
// cannot be built in this module; the store here is the same design on
// go.etcd.io/bbolt, with what bbolt lacks: every value carries a CRC-32C
// (bbolt checksums only its meta pages), and Open refuses a damaged file
// (truncated, a value that fails its checksum or does not decode at its
// index, a page bbolt cannot decode) with an error instead of panicking
// or replaying an entry that was never committed. A member restarted on
// its directory restores its last snapshot at once, replays the rest of
// its log once a leader tells it what is committed, and never bootstraps
// again. A member whose directory is refused is wiped and rejoined.
//
// # Bootstrap-expect
//
// As Consul and Nomad do it: nothing is bootstrapped, and no member is
// quorate (Config has epoch 0 and no voters, Decide refuses), until
// exactly BootstrapExpect members (this one included) are known through
// Discovered. Then each calls raft.BootstrapCluster with the same list,
// every known member a voter, sorted by ID. Identical bootstraps are harmless: raft
// refuses a second one on a member with state, and members that bootstrap
// the same list elect one leader among them. The first leader proposes the
// manager's bootstrap entry (raft's voters as the configuration's, under
// the Rule); the FSM ignores any later one.
//
// Lists that differ are the danger: two members that bootstrap different
// lists hold different first configurations, and were one to lead both,
// it would overwrite the other's log. So:
//
//   - a member bootstraps only when the count is exactly right, and never
//     once it has seen more members than expected: with N expected and
//     N+1 starting, whoever saw all N+1 refuses for good (an operator
//     decides);
//   - two disjoint clusters would each need N members that see no one
//     outside them, a partition of the discovery layer itself at first
//     start. Of two lists that overlap, once the first has a leader that
//     wrote an entry, the second cannot win: the shared members refuse
//     its candidates (their logs are longer, and they hear from their
//     leader; see TestBootstrapDifferentListLater). Two lists bootstrapped
//     at the same instant are not protected by raft, which has no cluster
//     identity: this is why a member with a view of more than N members
//     refuses, and why the layer above should report only members its
//     membership agrees on;
//   - the list is derived only from what the layer above discovered,
//     sorted: members that see the same membership bootstrap the same
//     list;
//   - a member with raft state never bootstraps, and raft.BootstrapCluster
//     refuses one that a leader has already reached.
//
// A member joining a running cluster must start with BootstrapExpect 0;
// BootstrapExpect 1 makes a cluster of one at once.
//
// # Raft's voters follow the configuration
//
// The configuration's voters (both halves during a joint phase) are
// raft's voters, its standbys raft's non-voters, and a member removed from
// it is removed from raft. Adjust changes the quorum system one log entry
// per phase, with raft's voter changes (one at a time, each waited on) in
// between, and rolls back on failure. Reconcile repairs whatever a leader
// change or crash between the two steps left, on every leadership gain
// and every ReconcileInterval.
//
// # Reads
//
// Config and Decide are local and lock-free: on a follower they may be
// behind the leader (Decision.Epoch says which configuration judged).
// ReadConfig is linearizable: on the leader only, after confirming
// leadership and applying everything committed before it. Changes are
// proposed by the leader only; elsewhere they fail with an error wrapping
// ErrNotLeader that names the leader.
package consensus
