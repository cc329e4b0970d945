// Package advice recommends quorum systems for a manager.Manager to judge:
// it keeps what the caller observes of the links between members (smoothed
// round trips, reachability), derives partitions, centrality and partition
// risk from them (Network), and runs strategies (network, performance,
// fault tolerance, and a hybrid of the three) that read a configuration and
// that view and return a Recommendation with its reasoning. It is advice
// only: nothing changes until the Proposal goes through Manager.Adjust,
// whose rules keep every quorum intersecting whatever the advice says.
// WeightFor turns a node's capabilities and latency into a vote weight.
package advice
