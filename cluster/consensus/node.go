package consensus

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// Options configure a Node. ID and one of BindAddr or Transport are
// required; zero durations take the defaults named.
type Options struct {
	// ID names this member, in raft and in the configuration.
	ID manager.NodeID
	// BindAddr is the TCP address raft listens on, e.g. "127.0.0.1:0";
	// Advertise, if set, the address peers reach it at (default: the
	// listener's). Ignored when Transport is set.
	BindAddr  string
	Advertise net.Addr
	// Transport replaces the TCP transport (tests: raft.NewInmemTransport
	// or a wrapper that drops messages). Raft closes it on Shutdown if it
	// has a Close method.
	Transport raft.Transport
	// DataDir holds raft's log, stable store and snapshots. Empty keeps
	// everything in memory: for tests only, a restart loses it.
	DataDir string
	// BootstrapExpect is how many members form the first configuration:
	// nothing is bootstrapped until exactly that many are known (see
	// Discovered). 0 never bootstraps: a member joining a running cluster,
	// or one restarted with data, which never bootstraps anyway.
	BootstrapExpect int
	// Rule is the quorum rule of the first configuration (the first
	// leader's, if members disagree).
	Rule manager.Rule
	// Logger gets raft's and this package's logs (default: none).
	Logger hclog.Logger
	// Raft's timing (defaults: raft.DefaultConfig's). Tests on loopback use
	// 50 to 200 ms.
	HeartbeatTimeout, ElectionTimeout, LeaderLeaseTimeout, CommitTimeout time.Duration
	// ApplyTimeout bounds every proposal and raft membership change when
	// the context has no earlier deadline (default 10 s).
	ApplyTimeout time.Duration
	// ReconcileInterval is how often the leader repairs drift between
	// raft's voters and the configuration's (default 5 s).
	ReconcileInterval time.Duration
	// SnapshotThreshold and SnapshotInterval: raft snapshots after that
	// many entries, checked at that interval (defaults: raft's).
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	// OnApply, if set, sees the configuration after every applied entry
	// and snapshot restore (index 0), on raft's FSM goroutine: it must
	// not block nor call the Node.
	OnApply func(index uint64, cfg manager.Config)
}

// Node is one member of a cluster whose configuration (a manager.Manager)
// is replicated through raft. It implements the agent's Keeper (package
// cluster/memberlist) structurally. Reads (Config, Decide) are local and
// may be stale on a follower; ReadConfig is linearizable. Changes are
// proposed by the leader only.
type Node struct {
	opts    Options
	log     hclog.Logger
	raft    *raft.Raft
	fsm     *fsm
	trans   raft.Transport
	closers []io.Closer

	mu         sync.Mutex
	addrs      map[manager.NodeID]raft.ServerAddress // the address book: Discovered, Join
	existing   bool                                  // raft had state when opened: never bootstrap
	bootstrap  bool                                  // BootstrapCluster was called (or refused for good)
	overExpect bool                                  // more members than expected were known: never bootstrap

	// adjusting serializes Adjust and Reconcile, the two that change
	// raft's voters.
	adjusting sync.Mutex
	wake      chan struct{} // Discovered: maybe bootstrap now
	done      chan struct{}
	wg        sync.WaitGroup
	shutOnce  sync.Once
	shutErr   error
}

// Open starts a member: raft on its stores and transport. A member with
// existing raft state in DataDir comes back with its configuration (once
// it has replayed its log) and never bootstraps again.
func Open(opts Options) (*Node, error) {
	if err := validID(opts.ID); err != nil {
		return nil, fmt.Errorf("consensus: Options.ID: %w", err)
	}
	if opts.BootstrapExpect < 0 {
		return nil, fmt.Errorf("consensus: Options.BootstrapExpect must be >= 0, got %d", opts.BootstrapExpect)
	}
	if err := opts.Rule.Validate(); err != nil {
		return nil, fmt.Errorf("consensus: Options.Rule: %w", err)
	}
	if opts.Transport == nil && opts.BindAddr == "" {
		return nil, errors.New("consensus: Options: BindAddr or Transport is required")
	}
	if opts.ApplyTimeout <= 0 {
		opts.ApplyTimeout = 10 * time.Second
	}
	if opts.ReconcileInterval <= 0 {
		opts.ReconcileInterval = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = hclog.NewNullLogger()
	}
	n := &Node{opts: opts, log: opts.Logger.Named("consensus"), fsm: &fsm{onApply: opts.OnApply},
		addrs: map[manager.NodeID]raft.ServerAddress{}, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if err := n.start(); err != nil {
		n.closeAll()
		return nil, err
	}
	n.wg.Add(1)
	go n.run()
	n.poke()
	return n, nil
}

// start builds the stores, transport and raft.
func (n *Node) start() error {
	opts := n.opts
	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	if opts.DataDir == "" {
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	} else {
		if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
			return fmt.Errorf("consensus: Options.DataDir: %w", err)
		}
		store, err := openBoltStore(filepath.Join(opts.DataDir, "raft.db"))
		if err != nil {
			return err
		}
		n.closers = append(n.closers, store)
		fs, err := raft.NewFileSnapshotStoreWithLogger(opts.DataDir, 2, opts.Logger.Named("snapshots"))
		if err != nil {
			return fmt.Errorf("consensus: snapshots in Options.DataDir: %w", err)
		}
		logs, stable, snaps = store, store, fs
	}
	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return fmt.Errorf("consensus: reading raft state: %w", err)
	}
	n.existing = existing

	n.trans = opts.Transport
	if n.trans == nil {
		stream, err := listenBound(opts.BindAddr, opts.Advertise)
		if err != nil {
			return fmt.Errorf("consensus: raft transport on %s: %w", opts.BindAddr, err)
		}
		t := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
			ServerAddressProvider: addressBook{n}, MaxPool: 3, Timeout: 10 * time.Second,
			Logger: opts.Logger.Named("transport"), Stream: stream})
		n.trans = t
		n.closers = append(n.closers, t)
	}
	n.addrs[opts.ID] = n.trans.LocalAddr()

	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(opts.ID)
	conf.Logger = opts.Logger.Named("raft")
	// A leader the configuration makes a standby is demoted in raft and
	// stays a member (a non-voter); raft's default would shut it down.
	conf.ShutdownOnRemove = false
	setDuration(&conf.HeartbeatTimeout, opts.HeartbeatTimeout)
	setDuration(&conf.ElectionTimeout, opts.ElectionTimeout)
	setDuration(&conf.LeaderLeaseTimeout, opts.LeaderLeaseTimeout)
	setDuration(&conf.CommitTimeout, opts.CommitTimeout)
	setDuration(&conf.SnapshotInterval, opts.SnapshotInterval)
	if opts.SnapshotThreshold > 0 {
		conf.SnapshotThreshold = opts.SnapshotThreshold
	}
	r, err := raft.NewRaft(conf, n.fsm, logs, stable, snaps, n.trans)
	if err != nil {
		return fmt.Errorf("consensus: starting raft: %w", err)
	}
	n.raft = r
	return nil
}

func setDuration(dst *time.Duration, v time.Duration) {
	if v > 0 {
		*dst = v
	}
}

// validID checks a member ID by the configuration's rule (manager.NodeID:
// 1 to 64 bytes of printable UTF-8 without spaces), so that raft never
// holds a server the configuration would refuse. The manager exports no
// check of its own.
func validID(id manager.NodeID) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("member ID must be 1 to 64 bytes, got %d", len(id))
	}
	if !utf8.ValidString(string(id)) {
		return fmt.Errorf("member ID %q is not valid UTF-8", id)
	}
	for _, r := range string(id) {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("member ID %q holds a space or control character", id)
		}
	}
	return nil
}

// Shutdown stops raft and closes the stores and transport. The data
// directory keeps everything: Open on it again restarts the member.
func (n *Node) Shutdown() error {
	n.shutOnce.Do(func() {
		close(n.done)
		n.wg.Wait()
		if n.raft != nil {
			n.shutErr = n.raft.Shutdown().Error()
		}
		n.closeAll()
	})
	return n.shutErr
}

func (n *Node) closeAll() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		_ = n.closers[i].Close()
	}
	n.closers = nil
}

// ID returns this member's ID.
func (n *Node) ID() manager.NodeID { return n.opts.ID }

// Addr returns this member's raft address.
func (n *Node) Addr() string { return string(n.trans.LocalAddr()) }

// Config returns the configuration this member has applied (a copy): the
// zero Config (epoch 0, no voters) before bootstrap. On a follower it may
// be behind the leader's; ReadConfig is not.
func (n *Node) Config() manager.Config {
	if m := n.fsm.manager(); m != nil {
		return m.Config()
	}
	return manager.Config{}
}

// Decide judges one object under the configuration this member has
// applied (lock-free; Decision.Epoch says which). Before bootstrap it is
// ErrNotBootstrapped: no member is quorate then.
func (n *Node) Decide(vectors [][]byte, replicas []manager.NodeID) (manager.Decision, error) {
	m := n.fsm.manager()
	if m == nil {
		return manager.Decision{}, ErrNotBootstrapped
	}
	return m.Decide(vectors, replicas)
}

// Leads reports whether this member is raft's leader, the one member that
// turns what it observes into proposals.
func (n *Node) Leads() bool { return n.raft.State() == raft.Leader }

// Leader returns the leader's raft address and ID, empty when none is
// known.
func (n *Node) Leader() (addr string, id manager.NodeID) {
	a, i := n.raft.LeaderWithID()
	return string(a), manager.NodeID(i)
}

// addressBook resolves raft server IDs to the latest addresses the
// Node has been told (a member restarted on another port), for the TCP
// transport.
type addressBook struct{ n *Node }

func (b addressBook) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	b.n.mu.Lock()
	defer b.n.mu.Unlock()
	if a, ok := b.n.addrs[manager.NodeID(id)]; ok {
		return a, nil
	}
	return "", fmt.Errorf("consensus: no address known for %q", id)
}
