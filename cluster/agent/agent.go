// Package agent runs one member of a cluster whose quorum configuration is
// replicated through raft: a memberlist agent (package cluster/memberlist)
// whose Keeper is a consensus Node (package cluster/consensus). The
// memberlist metadata carries each member's raft address (Meta.Raft),
// which the agent hands to the Node (Discovered) as members are seen: that
// is how bootstrap-expect counts members and how raft finds a member
// restarted on another address. Only raft's leader turns what memberlist
// reports into proposals; the other members observe and report.
//
// It is the glue cmd/quorum-agent runs with --raft; each of the two
// packages keeps its own job.
package agent

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/manager"
)

// Options configure a Member.
type Options struct {
	// Memberlist is memberlist's config: name (also the raft ID), bind
	// address, timings, encryption. Unless it has a Transport, the member
	// binds a memberlist.BoundTransport to conf.BindAddr.
	Memberlist *memberlist.Config
	// Agent configures the memberlist agent. Keeper, Manager and Store
	// must be unset (the Node keeps the configuration); Meta.Raft is set
	// to the Node's address; OnMember, if set, is called after the Node
	// has been told.
	Agent qml.Options
	// Raft configures the Node; its ID must be empty or the memberlist
	// name.
	Raft consensus.Options
	// OnRaft, if set, is called on the member's watch goroutine when the
	// raft leader, the epoch applied here or raft's voters change. It
	// must not block for long nor call Close or Shutdown.
	OnRaft func(Event)
	// WatchInterval is how often raft's state is read for OnRaft (default
	// 100ms). Raft tells only the leader of its changes; reading the state
	// tells every member.
	WatchInterval time.Duration
}

// Member is one running member: its Node and its memberlist agent.
type Member struct {
	Node  *consensus.Node
	Agent *qml.Agent

	stop     chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once

	mu      sync.Mutex
	applied []applied // epochs applied since the watch last looked
}

// applied is one epoch the FSM applied, and at which log index.
type applied struct{ epoch, index uint64 }

// Start opens the Node (raft on its data directory), then creates the
// memberlist agent around it and starts watching raft for OnRaft. Call
// Agent.Join next.
func Start(opts Options) (*Member, error) {
	conf := opts.Memberlist
	if conf == nil {
		return nil, errors.New("agent: Options.Memberlist is required")
	}
	if opts.Agent.Keeper != nil || opts.Agent.Manager != nil || opts.Agent.Store != nil {
		return nil, errors.New("agent: Options.Agent: Keeper, Manager and Store must be unset: the consensus Node keeps the configuration")
	}
	id := manager.NodeID(conf.Name)
	if opts.Raft.ID != "" && opts.Raft.ID != id {
		return nil, fmt.Errorf("agent: Options.Raft.ID %q differs from the memberlist name %q", opts.Raft.ID, conf.Name)
	}
	opts.Raft.ID = id
	m := &Member{stop: make(chan struct{})}
	// The FSM reports every entry; the watch goroutine, reading raft's
	// state at intervals, would miss epochs applied in between.
	onApply := opts.Raft.OnApply
	opts.Raft.OnApply = func(index uint64, cfg manager.Config) {
		m.noteApplied(index, cfg.Epoch)
		if onApply != nil {
			onApply(index, cfg)
		}
	}
	if opts.WatchInterval < 0 {
		return nil, fmt.Errorf("agent: Options.WatchInterval must not be negative, got %v", opts.WatchInterval)
	}
	if opts.WatchInterval == 0 {
		opts.WatchInterval = 100 * time.Millisecond
	}
	if conf.Transport == nil {
		if _, err := qml.NewBoundTransport(conf); err != nil {
			return nil, err
		}
	}
	node, err := consensus.Open(opts.Raft)
	if err != nil {
		shutdownTransport(conf)
		return nil, err
	}
	ao := opts.Agent
	ao.Keeper = node
	ao.Meta.Raft = node.Addr()
	onMember := ao.OnMember
	ao.OnMember = func(id manager.NodeID, meta qml.Meta) {
		if meta.Raft != "" {
			if err := node.Discovered(id, meta.Raft); err != nil && ao.Logf != nil {
				ao.Logf("%v", err)
			}
		}
		if onMember != nil {
			onMember(id, meta)
		}
	}
	a, err := qml.Create(conf, ao)
	if err != nil {
		node.Shutdown()
		shutdownTransport(conf)
		return nil, err
	}
	m.Node, m.Agent = node, a
	m.wg.Add(1)
	go m.watch(opts.OnRaft, opts.WatchInterval)
	return m, nil
}

// shutdownTransport closes the transport Start bound when memberlist was
// not created on it.
func shutdownTransport(conf *memberlist.Config) {
	if t, ok := conf.Transport.(*qml.BoundTransport); ok {
		t.Shutdown()
	}
}

// Close leaves gracefully: memberlist's peers see this member leave (the
// leader removes it from the configuration once the window has passed),
// then raft stops. The data directory keeps raft's state.
func (m *Member) Close() error {
	m.stopWatch()
	err := m.Agent.Close()
	return errors.Join(err, m.Node.Shutdown())
}

// Shutdown stops without announcing anything: peers find this member
// failed.
func (m *Member) Shutdown() error {
	m.stopWatch()
	err := m.Agent.Shutdown()
	return errors.Join(err, m.Node.Shutdown())
}

func (m *Member) stopWatch() {
	m.stopOnce.Do(func() { close(m.stop) })
	m.wg.Wait()
}
