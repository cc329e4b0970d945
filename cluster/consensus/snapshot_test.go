package consensus

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// A single member snapshots (forced), changes on, and restarts from its
// data directory: the snapshot is restored at once, the rest of the log
// replayed, and the state is byte-identical to before.
func TestSnapshotRestart(t *testing.T) {
	dir := t.TempDir()
	var restored atomic.Bool
	open := func() *Node {
		_, tr := raft.NewInmemTransport("solo")
		opts := fastOptions("solo")
		opts.Transport, opts.DataDir, opts.BootstrapExpect = tr, dir, 1
		opts.OnApply = func(index uint64, _ manager.Config) {
			if index == 0 {
				restored.Store(true)
			}
		}
		n, err := Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	n := open()
	waitLeader(t, []*Node{n})
	for _, c := range []manager.Change{
		{Op: manager.OpAdd, Node: manager.Node{ID: "x", Standby: true}},
		{Op: manager.OpSuspect, ID: "x"},
		{Op: manager.OpFail, ID: "x"},
	} {
		applyOK(t, []*Node{n}, c)
	}
	if err := n.raft.Snapshot().Error(); err != nil {
		t.Fatalf("forcing a snapshot: %v", err)
	}
	atSnapshot := n.Config().Epoch
	applyOK(t, []*Node{n}, manager.Change{Op: manager.OpRecover, ID: "x"})
	want := snapshotBytes(t, n.fsm)
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	store, err := raft.NewFileSnapshotStore(dir, 2, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if metas, err := store.List(); err != nil || len(metas) == 0 {
		t.Fatalf("no snapshot in the data directory: %v %v", metas, err)
	}

	n = open()
	defer n.Shutdown()
	if !restored.Load() || n.Config().Epoch < atSnapshot {
		t.Fatalf("restarted without the snapshot: restored %v, epoch %d, snapshot at %d", restored.Load(), n.Config().Epoch, atSnapshot)
	}
	waitLeader(t, []*Node{n})
	cfg, err := n.ReadConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := snapshotBytes(t, n.fsm); !bytes.Equal(got, want) {
		t.Fatalf("after the restart (epoch %d) the state differs from before", cfg.Epoch)
	}
	if n.bootstrap || !n.Restarted() {
		t.Fatalf("bootstrapped again %v, restarted %v; want false, true", n.bootstrap, n.Restarted())
	}
}

// State, Metrics and their Prometheus text name the leader and voters.
func TestStateAndMetrics(t *testing.T) {
	nodes, _ := inmemCluster(t, 3, "a", "b", "c")
	discoverAll(t, nodes)
	l := waitLeader(t, nodes)
	waitFor(t, 5*time.Second, "converged", func() error { return converged(nodes) })
	s := l.State()
	if s.Raft != "Leader" || s.LeaderID != string(l.ID()) || len(s.Voters) != 3 || s.Epoch != 1 || s.Term == 0 ||
		s.AppliedIndex == 0 || s.CommitIndex < s.AppliedIndex {
		t.Fatalf("leader state: %s", s)
	}
	m := l.Metrics()
	if !m.Leader || m.Voters != 3 || m.LastContactSeconds != 0 || m.Epoch != 1 {
		t.Fatalf("leader metrics: %+v", m)
	}
	if mm := l.ManagerMetrics(); mm.Epoch != 1 || mm.Voters != 3 || l.Restarted() {
		t.Fatalf("leader's manager metrics %+v, restarted %v; want epoch 1, 3 voters, not restarted", mm, l.Restarted())
	}
	var b strings.Builder
	if err := m.WritePrometheus(&b); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"lockstep_quorum_raft_leader 1\n", "lockstep_quorum_raft_voters 3\n", "# TYPE lockstep_quorum_raft_term counter\n"} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("Prometheus text lacks %q:\n%s", line, b.String())
		}
	}
	for _, n := range nodes {
		if n != l {
			if m := n.Metrics(); m.Leader || m.Voters != 3 {
				t.Errorf("follower %s metrics: %+v", n.ID(), m)
			}
		}
	}
}
