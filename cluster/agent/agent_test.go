package agent

import (
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/manager"
)

// events collects what OnRaft reports.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// wait polls for an event of kind whose text holds want.
func (e *events) wait(t *testing.T, kind EventKind, want string) Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		e.mu.Lock()
		i := slices.IndexFunc(e.all, func(ev Event) bool { return ev.Kind == kind && strings.Contains(ev.String(), want) })
		var ev Event
		if i >= 0 {
			ev = e.all[i]
		}
		e.mu.Unlock()
		if i >= 0 {
			return ev
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t.Fatalf("no event %d holding %q among %v", kind, want, e.all)
	return Event{}
}

func options(dir string, evs *events) Options {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = "solo"
	conf.BindAddr, conf.BindPort = "127.0.0.1", 0
	conf.LogOutput = io.Discard
	return Options{
		Memberlist: conf,
		Agent:      qml.Options{Window: 200 * time.Millisecond},
		Raft: consensus.Options{BindAddr: "127.0.0.1:0", DataDir: dir, BootstrapExpect: 1,
			HeartbeatTimeout: 100 * time.Millisecond, ElectionTimeout: 100 * time.Millisecond,
			LeaderLeaseTimeout: 50 * time.Millisecond, CommitTimeout: 5 * time.Millisecond},
		OnRaft:        evs.add,
		WatchInterval: 20 * time.Millisecond,
	}
}

// TestMemberBootstrapsAndRestarts: a member of one finds itself through
// its own metadata (Meta.Raft), bootstraps, leads and says so; restarted
// on its data directory it comes back with the configuration and says
// where it came from.
func TestMemberBootstrapsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	evs := &events{}
	m, err := Start(options(dir, evs))
	if err != nil {
		t.Fatal(err)
	}
	evs.wait(t, Configured, "configured by the bootstrap: epoch 1")
	evs.wait(t, Leader, "leader solo (this member)")
	if cfg := m.Node.Config(); !slices.Equal(cfg.Quorum().IDs(), []manager.NodeID{"solo"}) {
		t.Fatalf("voters %v, want [solo]", cfg.Quorum().IDs())
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	evs = &events{}
	m, err = Start(options(dir, evs))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown()
	ev := evs.wait(t, Configured, "configured from its data directory")
	if !ev.Restarted || ev.State.Epoch == 0 {
		t.Fatalf("restart event %+v", ev)
	}
	evs.wait(t, Leader, "leader solo (this member)")
}

func TestStartRefusesBadOptions(t *testing.T) {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = "x"
	for name, opts := range map[string]Options{
		"no memberlist": {},
		"keeper":        {Memberlist: conf, Agent: qml.Options{Store: &manager.Store{}}},
		"raft ID":       {Memberlist: conf, Raft: consensus.Options{ID: "y"}},
		"interval":      {Memberlist: conf, WatchInterval: -1},
	} {
		if m, err := Start(opts); err == nil {
			m.Shutdown()
			t.Errorf("%s: Start accepted %+v", name, opts)
		}
	}
}

// TestApplied: every epoch the FSM applies is reported once, in order,
// however many entries (or polls) leave it unchanged.
func TestApplied(t *testing.T) {
	m := &Member{}
	for _, a := range []applied{{0, 1}, {1, 3}, {1, 4}, {2, 5}, {3, 6}, {3, 7}} {
		m.noteApplied(a.index, a.epoch)
	}
	if got, want := m.takeApplied(0), []applied{{1, 3}, {2, 5}, {3, 6}}; !slices.Equal(got, want) {
		t.Fatalf("takeApplied = %v, want %v", got, want)
	}
	m.noteApplied(8, 3)
	m.noteApplied(9, 4)
	if got, want := m.takeApplied(3), []applied{{4, 9}}; !slices.Equal(got, want) {
		t.Fatalf("takeApplied after more = %v, want %v", got, want)
	}
	ev := Event{Kind: Epoch, Epoch: 4, Index: 9, State: consensus.State{CommitIndex: 9, Voters: []string{"a", "b"}}}
	if got, want := ev.String(), "raft: epoch 4 applied at index 9 (commit 9), raft voters [a b]"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}
