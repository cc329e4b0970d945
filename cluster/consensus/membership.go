package consensus

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// Discovered tells the Node of a member and its raft address (from the
// layer above's membership, or tests). Before bootstrap it counts toward
// BootstrapExpect; afterwards it keeps the address book the TCP transport
// and Reconcile use (a member restarted on another address).
func (n *Node) Discovered(id manager.NodeID, raftAddr string) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("consensus: Discovered: id: %w", err)
	}
	if raftAddr == "" {
		return fmt.Errorf("consensus: Discovered: %s: empty raft address", id)
	}
	n.mu.Lock()
	n.addrs[id] = raft.ServerAddress(raftAddr)
	n.mu.Unlock()
	n.poke()
	return nil
}

// poke wakes the background loop.
func (n *Node) poke() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// maybeBootstrap bootstraps raft once exactly BootstrapExpect members are
// known, never on a member with state or after seeing too many (see the
// package doc, Bootstrap-expect).
func (n *Node) maybeBootstrap() {
	n.mu.Lock()
	defer n.mu.Unlock()
	expect := n.opts.BootstrapExpect
	if n.existing || n.bootstrap || n.overExpect || expect == 0 {
		return
	}
	if len(n.addrs) > expect {
		n.overExpect = true
		n.log.Error("more members known than BootstrapExpect: not bootstrapping; an operator must decide",
			"expect", expect, "known", len(n.addrs))
		return
	}
	if len(n.addrs) < expect {
		return
	}
	var servers []raft.Server
	for id, a := range n.addrs {
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(id), Address: a})
	}
	slices.SortFunc(servers, func(a, b raft.Server) int { return cmp.Compare(a.ID, b.ID) })
	n.bootstrap = true
	err := n.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error()
	switch {
	case errors.Is(err, raft.ErrCantBootstrap):
		n.log.Info("raft already has state: not bootstrapping")
	case err != nil:
		n.bootstrap = false // retried on the next wake
		n.log.Error("bootstrap failed", "error", err)
	default:
		n.log.Info("bootstrapped raft", "servers", len(servers))
	}
}

// run bootstraps when asked, and on the leader proposes the bootstrap
// entry and reconciles on leadership and every ReconcileInterval.
func (n *Node) run() {
	defer n.wg.Done()
	tick := time.NewTicker(n.opts.ReconcileInterval)
	defer tick.Stop()
	leaderCh := n.raft.LeaderCh()
	for {
		select {
		case <-n.done:
			return
		case <-n.wake:
			n.maybeBootstrap()
			continue
		case <-leaderCh:
		case <-tick.C:
		}
		if !n.Leads() {
			continue
		}
		// Shutdown does not wait for a slow raft step: wait returns on done.
		ctx, cancel := context.WithTimeout(context.Background(), n.opts.ApplyTimeout)
		if err := n.Reconcile(ctx); err != nil && !errors.Is(err, ErrNotLeader) && !errors.Is(err, ErrShutdown) {
			n.log.Warn("reconcile", "error", err)
		}
		cancel()
	}
}

// Join makes a member known to the cluster: its address is recorded, it
// is added to the configuration as a standby if it is not a member, and
// to raft as a non-voter (Reconcile). Adjust then makes it a voter. Only
// the leader joins members (ErrNotLeader elsewhere).
func (n *Node) Join(ctx context.Context, id manager.NodeID, raftAddr string) (manager.Answer, error) {
	if err := n.Discovered(id, raftAddr); err != nil {
		return manager.Answer{}, err
	}
	if !n.Leads() {
		return manager.Answer{}, n.notLeader()
	}
	if node, ok := n.Config().Node(id); ok && node.State != manager.Left {
		return manager.Answer{Status: manager.AlreadyApplied, Epoch: n.Config().Epoch, Reason: fmt.Sprintf("%s is a member", id)},
			n.Reconcile(ctx)
	}
	return n.Apply(ctx, manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: id, Standby: true}})
}

// Leave removes a member from the configuration (and so from raft). A
// voter must first be made a standby by Adjust: the manager refuses to
// remove voters in ways that are unsafe.
func (n *Node) Leave(ctx context.Context, id manager.NodeID) (manager.Answer, error) {
	return n.Apply(ctx, manager.Change{Op: manager.OpRemove, ID: id})
}

// Reconcile, on the leader, repairs drift between raft's configuration and
// the manager's, which a leader change or crash between an entry and
// raft's voter changes leaves: the bootstrap entry if none was applied,
// raft's voters and non-voters made the configuration's, and a pending
// joint phase (committed, as every applied entry is) left. It runs on
// every leadership gain and ReconcileInterval; the agent may call it too.
func (n *Node) Reconcile(ctx context.Context) error {
	if !n.Leads() {
		return n.notLeader()
	}
	n.adjusting.Lock()
	defer n.adjusting.Unlock()
	// Let the FSM catch up with what earlier leaders committed.
	if err := n.wait(ctx, n.raft.Barrier(n.timeout(ctx))); err != nil {
		return err
	}
	if n.fsm.manager() == nil {
		if err := n.proposeBootstrap(ctx); err != nil {
			return err
		}
	}
	return n.followConfig(ctx, false)
}

// proposeBootstrap proposes the first configuration: raft's voters,
// sorted, under the Rule.
func (n *Node) proposeBootstrap(ctx context.Context) error {
	f := n.raft.GetConfiguration()
	if err := n.wait(ctx, f); err != nil {
		return err
	}
	var nodes []manager.Node
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			nodes = append(nodes, manager.Node{ID: manager.NodeID(s.ID)})
		}
	}
	slices.SortFunc(nodes, func(a, b manager.Node) int { return cmp.Compare(a.ID, b.ID) })
	rule := n.opts.Rule
	ans, err := n.propose(ctx, command{Kind: kindBootstrap, Nodes: nodes, Rule: &rule})
	if err != nil {
		return fmt.Errorf("consensus: proposing the bootstrap entry: %w", err)
	}
	n.log.Info("bootstrap entry", "status", ans.Status, "members", len(nodes))
	return nil
}

// raftRole is what a member should be in raft.
type raftRole uint8

const (
	roleNone raftRole = iota
	roleNonvoter
	roleVoter
)

// wantedRoles maps every member of cfg to its raft role: voters of either
// half (a joint phase's Left members included) vote, standbys do not.
func wantedRoles(cfg manager.Config) map[manager.NodeID]raftRole {
	want := map[manager.NodeID]raftRole{}
	for _, nd := range cfg.Nodes {
		if nd.State != manager.Left {
			want[nd.ID] = roleNonvoter
		}
	}
	for _, id := range cfg.Quorum().IDs() {
		want[id] = roleVoter
	}
	if cfg.Outgoing != nil {
		for _, id := range cfg.Outgoing.IDs() {
			want[id] = roleVoter
		}
	}
	return want
}

// syncRaft makes raft's configuration follow the manager's, one raft
// change at a time, each waited on: additions and promotions first, then
// demotions, then removals, so raft never has fewer voters than either
// end needs; a change of this member (the leader) comes last, since
// demoting or removing itself ends its leadership. A voter whose address
// is unknown is an error once the rest is done; a standby without one
// waits for it (raft needs no non-voter).
func (n *Node) syncRaft(ctx context.Context) error {
	cfg := n.Config()
	if cfg.Epoch == 0 {
		return ErrNotBootstrapped
	}
	f := n.raft.GetConfiguration()
	if err := n.wait(ctx, f); err != nil {
		return err
	}
	have := map[manager.NodeID]raft.Server{}
	for _, s := range f.Configuration().Servers {
		have[manager.NodeID(s.ID)] = s
	}
	ops, missing := n.raftChanges(cfg, have)
	for _, op := range ops {
		if err := n.wait(ctx, op.run(n.raft, n.timeout(ctx))); err != nil {
			return fmt.Errorf("raft %s %s: %w", op.what, op.id, err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("consensus: no raft address known for %s (Discovered or Join gives it)", strings.Join(missing, ", "))
	}
	return nil
}

// raftChange is one raft membership change.
type raftChange struct {
	what string
	id   manager.NodeID
	run  func(r *raft.Raft, timeout time.Duration) raft.Future
}

// raftChanges lists, in order, the raft changes that make have (raft's
// servers) follow cfg, and the voters whose address is unknown.
func (n *Node) raftChanges(cfg manager.Config, have map[manager.NodeID]raft.Server) (ops []raftChange, missing []string) {
	want := wantedRoles(cfg)
	ids := make([]manager.NodeID, 0, len(want)+len(have))
	for id := range want {
		ids = append(ids, id)
	}
	for id := range have {
		if want[id] == roleNone {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var adds, demotions, removals, self []raftChange
	for _, id := range ids {
		s, in := have[id]
		addr, known := n.address(id)
		if !known {
			addr = s.Address
		}
		sid := raft.ServerID(id)
		var op raftChange
		switch role := want[id]; {
		case role == roleNone:
			op = raftChange{"RemoveServer", id, func(r *raft.Raft, to time.Duration) raft.Future { return r.RemoveServer(sid, 0, to) }}
		case addr == "" && role == roleVoter:
			missing = append(missing, string(id))
		case addr == "": // a standby raft does not need yet: the next reconcile adds it
		case role == roleVoter && (!in || s.Suffrage != raft.Voter || s.Address != addr):
			op = raftChange{"AddVoter", id, func(r *raft.Raft, to time.Duration) raft.Future { return r.AddVoter(sid, addr, 0, to) }}
		case role == roleNonvoter && (!in || s.Suffrage == raft.Nonvoter && s.Address != addr):
			op = raftChange{"AddNonvoter", id, func(r *raft.Raft, to time.Duration) raft.Future { return r.AddNonvoter(sid, addr, 0, to) }}
		case role == roleNonvoter && s.Suffrage == raft.Voter:
			op = raftChange{"DemoteVoter", id, func(r *raft.Raft, to time.Duration) raft.Future { return r.DemoteVoter(sid, 0, to) }}
		}
		switch {
		case op.run == nil:
		case id == n.opts.ID:
			self = append(self, op)
		case op.what == "RemoveServer":
			removals = append(removals, op)
		case op.what == "DemoteVoter":
			demotions = append(demotions, op)
		default:
			adds = append(adds, op)
		}
	}
	return slices.Concat(adds, demotions, removals, self), missing
}

// address returns the address book's entry for id.
func (n *Node) address(id manager.NodeID) (raft.ServerAddress, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	a, ok := n.addrs[id]
	return a, ok
}
