package consensus

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// fastOptions are a member's options for loopback tests: short raft
// timeouts, frequent reconciles.
func fastOptions(id manager.NodeID) Options {
	return Options{ID: id, HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
		LeaderLeaseTimeout: 50 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
		ApplyTimeout: 2 * time.Second, ReconcileInterval: 150 * time.Millisecond}
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t testing.TB, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, limit, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// recorder keeps every configuration each member incarnation applied, by
// epoch, and checks the safety properties as they arrive and on demand.
type recorder struct {
	mu       sync.Mutex
	byEpoch  map[uint64][]byte // the one configuration each epoch names
	last     map[string]uint64 // per incarnation: the last epoch applied
	seen     map[string]map[uint64]bool
	problems []string
}

func newRecorder() *recorder {
	return &recorder{byEpoch: map[uint64][]byte{}, last: map[string]uint64{}, seen: map[string]map[uint64]bool{}}
}

// hook returns the OnApply of one member incarnation.
func (r *recorder) hook(incarnation string) func(uint64, manager.Config) {
	return func(_ uint64, cfg manager.Config) {
		b, err := json.Marshal(cfg)
		r.mu.Lock()
		defer r.mu.Unlock()
		if err != nil {
			r.problems = append(r.problems, fmt.Sprintf("%s: encoding epoch %d: %v", incarnation, cfg.Epoch, err))
			return
		}
		if cfg.Epoch < r.last[incarnation] {
			r.problems = append(r.problems, fmt.Sprintf("%s: epoch went back from %d to %d", incarnation, r.last[incarnation], cfg.Epoch))
		}
		r.last[incarnation] = cfg.Epoch
		if r.seen[incarnation] == nil {
			r.seen[incarnation] = map[uint64]bool{}
		}
		r.seen[incarnation][cfg.Epoch] = true
		if prev, ok := r.byEpoch[cfg.Epoch]; !ok {
			r.byEpoch[cfg.Epoch] = b
		} else if string(prev) != string(b) {
			r.problems = append(r.problems, fmt.Sprintf("%s: epoch %d names two configurations:\n%s\n%s", incarnation, cfg.Epoch, prev, b))
		}
	}
}

// check fails the test with every violation seen so far.
func (r *recorder) check(t testing.TB) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) > 0 {
		t.Fatalf("%d safety violations, first: %s", len(r.problems), r.problems[0])
	}
}

// epochs returns the epochs an incarnation applied.
func (r *recorder) epochs(incarnation string) []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var es []uint64
	for e := range r.seen[incarnation] {
		es = append(es, e)
	}
	slices.Sort(es)
	return es
}

// leaderOf returns the one member that leads, nil if none or several.
func leaderOf(nodes []*Node) *Node {
	var l *Node
	for _, n := range nodes {
		if n != nil && n.Leads() {
			if l != nil {
				return nil
			}
			l = n
		}
	}
	return l
}

// waitLeader waits for exactly one leader among nodes with a bootstrapped
// configuration applied.
func waitLeader(t testing.TB, nodes []*Node) *Node {
	t.Helper()
	var l *Node
	waitFor(t, 15*time.Second, "a leader", func() error {
		l = leaderOf(nodes)
		if l == nil {
			return fmt.Errorf("no single leader")
		}
		if l.Config().Epoch == 0 {
			return fmt.Errorf("%s leads but has no configuration yet", l.ID())
		}
		return nil
	})
	return l
}

// raftVoters returns n's raft voters and non-voters, sorted.
func raftVoters(n *Node) (voters, nonvoters []manager.NodeID) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil {
		return nil, nil
	}
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters = append(voters, manager.NodeID(s.ID))
		} else {
			nonvoters = append(nonvoters, manager.NodeID(s.ID))
		}
	}
	slices.Sort(voters)
	slices.Sort(nonvoters)
	return voters, nonvoters
}

// managerVoters returns the configuration's voters of either half and its
// standbys, sorted.
func managerVoters(cfg manager.Config) (voters, standbys []manager.NodeID) {
	for id, role := range wantedRoles(cfg) {
		if role == roleVoter {
			voters = append(voters, id)
		} else {
			standbys = append(standbys, id)
		}
	}
	slices.Sort(voters)
	slices.Sort(standbys)
	return voters, standbys
}

// consistent reports whether n's raft voters and non-voters are its
// configuration's voters and standbys.
func consistent(n *Node) error {
	cfg := n.Config()
	mv, ms := managerVoters(cfg)
	rv, rn := raftVoters(n)
	if !slices.Equal(mv, rv) || !slices.Equal(ms, rn) {
		return fmt.Errorf("%s at epoch %d: manager voters %v standbys %v, raft voters %v non-voters %v", n.ID(), cfg.Epoch, mv, ms, rv, rn)
	}
	return nil
}

// converged reports whether every node has the same epoch as the first
// and raft follows the configuration on each.
func converged(nodes []*Node) error {
	var epoch uint64
	for i, n := range nodes {
		e := n.Config().Epoch
		if i == 0 {
			epoch = e
		} else if e != epoch {
			return fmt.Errorf("%s at epoch %d, %s at %d", nodes[0].ID(), epoch, n.ID(), e)
		}
		if err := consistent(n); err != nil {
			return err
		}
	}
	return nil
}

// applyOK applies c through the leader among nodes, retrying through
// leader changes, and returns the answer.
func applyOK(t testing.TB, nodes []*Node, c manager.Change) manager.Answer {
	t.Helper()
	var ans manager.Answer
	waitFor(t, 15*time.Second, fmt.Sprintf("apply %s %s", c.Op, c.ID+c.Node.ID), func() error {
		l := leaderOf(nodes)
		if l == nil {
			return fmt.Errorf("no leader")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		ans, err = l.Apply(ctx, c)
		if err != nil {
			return err
		}
		return ans.Err()
	})
	return ans
}

func ids(names ...string) []manager.NodeID {
	out := make([]manager.NodeID, len(names))
	for i, s := range names {
		out[i] = manager.NodeID(s)
	}
	return out
}

func serverIDs(ns []manager.NodeID) []raft.ServerID {
	out := make([]raft.ServerID, len(ns))
	for i, n := range ns {
		out[i] = raft.ServerID(n)
	}
	return out
}

func proposal(voters ...manager.NodeID) manager.Proposal {
	p := manager.Proposal{}
	for _, v := range voters {
		p.Voters = append(p.Voters, manager.Vote{ID: v})
	}
	return p
}
