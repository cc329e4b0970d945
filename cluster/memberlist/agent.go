package memberlist

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// Agent keeps a configuration in step with a memberlist: memberlist's
// delegates queue what they report, and one goroutine folds it into the
// members as observed, asks policy.Plan what to propose, and carries the
// plan out through the Keeper (when it leads). Another goroutine retries
// joins (ReconnectInterval). Shutdown stops both.
type Agent struct {
	self   manager.NodeID
	opts   Options // defaults filled in
	keeper Keeper
	mgr    *manager.Manager // behind the local keeper; nil for another
	net    *advice.Network  // what memberlist's round trips say

	meta    atomic.Pointer[[]byte] // this member's encoded Meta, for NodeMeta
	payload atomic.Pointer[[]byte] // this member's link reports, for AckPayload
	leaving atomic.Bool

	mu     sync.Mutex // guards shared
	shared shared

	wake      chan struct{}
	syncCh    chan syncReq
	ctx       context.Context // cancelled by Shutdown
	stop      context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once

	obs observer // the agent goroutine's own state
}

// shared is what the delegates, the goroutines and callers exchange.
type shared struct {
	inbox   []event
	dropped uint64
	closed  bool
	list    *memberlist.Memberlist
	owned   bool // Shutdown shuts list down
	seeds   []string
	status  Status
	targets []string // addresses of failed members, for reconnecting
	alone   bool
}

// Create installs the agent's delegates in conf (see New), creates the
// memberlist from conf and starts keeping the configuration in step with
// it. The agent owns the memberlist: Shutdown shuts it down. Call Join
// next.
func Create(conf *memberlist.Config, opts Options) (*Agent, error) {
	a, err := New(conf, opts)
	if err != nil {
		return nil, err
	}
	list, err := memberlist.Create(conf)
	if err != nil {
		a.Shutdown()
		return nil, err
	}
	a.mu.Lock()
	a.shared.list, a.shared.owned = list, true
	a.mu.Unlock()
	return a, nil
}

// New prepares an agent for a memberlist the caller creates: it installs
// the agent's delegates in conf and starts the agent's goroutines. Create
// the memberlist from conf, then call Attach; events memberlist reports
// meanwhile are kept.
//
// conf.Name names this member (it must be a valid manager.NodeID). The
// agent takes conf.Ping (which must be nil) and the node metadata of
// conf.Delegate (Meta); a Delegate's other methods, an Events and an Alive
// delegate already set are still called, after the agent's (user messages
// that start with the agent's leave notice excepted).
func New(conf *memberlist.Config, opts Options) (*Agent, error) {
	if conf == nil {
		return nil, errors.New("memberlist: New needs a memberlist config")
	}
	if err := validMember(conf.Name, ""); err != nil {
		return nil, fmt.Errorf("memberlist: conf.Name: %w", err)
	}
	if conf.Ping != nil {
		return nil, errors.New("memberlist: conf.Ping is already set; the agent needs the ping delegate")
	}
	if conf.ProbeInterval <= 0 {
		return nil, errors.New("memberlist: conf.ProbeInterval must be positive")
	}
	opts.Meta.Leaving = false
	meta, err := opts.Meta.Encode()
	if err != nil {
		return nil, err
	}
	if opts.Window < 0 || opts.SuspectAfter < 0 || opts.MaxVoters < 0 || opts.LeaveTimeout < 0 {
		return nil, errors.New("memberlist: Window, SuspectAfter, MaxVoters and LeaveTimeout must not be negative")
	}
	opts.Window = cmpOr(opts.Window, DefaultWindow)
	opts.LeaveTimeout = cmpOr(opts.LeaveTimeout, DefaultLeaveTimeout)
	if opts.ReconnectInterval == 0 {
		opts.ReconnectInterval = max(10*conf.ProbeInterval, time.Second)
	}
	if len(opts.Strategies) == 0 {
		opts.Strategies = []advice.Strategy{advice.HybridStrategy{}}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Agent{
		self:   manager.NodeID(conf.Name),
		opts:   opts,
		keeper: opts.Keeper,
		net:    advice.NewNetwork(),
		wake:   make(chan struct{}, 1),
		syncCh: make(chan syncReq),
	}
	if a.keeper == nil {
		if a.mgr, err = localManager(a.self, opts); err != nil {
			return nil, err
		}
		a.keeper = LocalKeeper(a.mgr, opts.Verify)
	}
	a.ctx, a.stop = context.WithCancel(context.Background())
	a.meta.Store(&meta)
	a.obs = newObserver(a, conf)
	installDelegates(a, conf)

	a.wg.Add(1)
	go a.run()
	if opts.ReconnectInterval > 0 {
		a.wg.Add(1)
		go a.reconnectLoop()
	}
	return a, nil
}

// localManager is Options.Manager, or the manager opened from or saved
// to Options.Store, or a new in-memory one.
func localManager(self manager.NodeID, opts Options) (*manager.Manager, error) {
	if opts.Manager != nil {
		return opts.Manager, nil
	}
	if opts.Store != nil {
		m, err := manager.Open(opts.Store)
		if err == nil {
			return m, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	n := opts.Meta.member(self, time.Time{}).Node()
	n.Standby = false // a configuration needs a voter
	return manager.New(opts.Store, []manager.Node{n}, opts.Rule)
}

func cmpOr(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Attach starts using list, the memberlist created from the config given
// to New: for leaving, joining and reconnecting. Shutdown does not shut
// list down: the caller does, after the agent's Shutdown.
func (a *Agent) Attach(list *memberlist.Memberlist) error {
	if list == nil {
		return errors.New("memberlist: Attach needs a memberlist")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.shared.list != nil {
		return errors.New("memberlist: the agent is already attached")
	}
	a.shared.list = list
	return nil
}

// Name returns this member's name, its manager.NodeID.
func (a *Agent) Name() manager.NodeID { return a.self }

// Keeper returns the keeper of the configuration: Options.Keeper, or the
// local keeper of Manager.
func (a *Agent) Keeper() Keeper { return a.keeper }

// Manager returns the manager behind the local keeper, or nil when
// Options.Keeper was given. It is safe for concurrent use; changes made
// to it directly may be undone by the agent when they contradict what
// memberlist reports.
func (a *Agent) Manager() *manager.Manager { return a.mgr }

// View returns the network among the members of the configuration in
// force, from what memberlist measured (this member's probes and the
// measurements its peers' acknowledgements carry).
func (a *Agent) View() advice.NetworkView { return a.net.View(memberIDs(a.keeper.Config())) }

func memberIDs(cfg manager.Config) []manager.NodeID {
	ids := make([]manager.NodeID, len(cfg.Nodes))
	for i, n := range cfg.Nodes {
		ids[i] = n.ID
	}
	return ids
}

// Memberlist returns the memberlist, nil before Attach.
func (a *Agent) Memberlist() *memberlist.Memberlist {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shared.list
}

// Status returns what the agent last published.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.shared.status.clone()
}

// Join contacts the given memberlist addresses (host:port) as
// memberlist.Join does, and remembers them: while this member sees no
// other member alive, the agent retries them every ReconnectInterval. It
// returns how many were reached.
func (a *Agent) Join(addrs []string) (int, error) {
	a.mu.Lock()
	list := a.shared.list
	a.shared.seeds = slices.Compact(slices.Sorted(slices.Values(append(a.shared.seeds, addrs...))))
	a.mu.Unlock()
	if list == nil {
		return 0, errors.New("memberlist: Join before Attach")
	}
	return list.Join(addrs)
}

// Leave announces a graceful departure, so peers remove this member
// rather than count it failed: it tells every member directly (a reliable
// user message, memberlist.SendReliable), gossips its metadata with
// Leaving set, then calls memberlist's Leave. The agent stops changing
// the voters and reconnecting; call Shutdown after. The gossip's timeout
// is an error only when some member could not be told directly.
func (a *Agent) Leave(timeout time.Duration) error {
	list := a.Memberlist()
	if list == nil {
		return errors.New("memberlist: Leave before Attach")
	}
	if a.leaving.Swap(true) {
		return nil
	}
	m := a.opts.Meta
	m.Leaving = true
	if b, err := m.Encode(); err == nil {
		a.meta.Store(&b)
	}
	// Gossip alone may deliver memberlist's leave before the metadata
	// saying so; tell every member directly first (TCP, in parallel,
	// each bounded by conf.TCPTimeout).
	var wg sync.WaitGroup
	var untold atomic.Int32 // members the direct notice did not reach
	notice := append(slices.Clone(leaveNotice), a.self...)
	for _, n := range list.Members() {
		if n.Name != string(a.self) {
			wg.Go(func() {
				if list.SendReliable(n, notice) != nil {
					untold.Add(1)
				}
			})
		}
	}
	wg.Wait()
	err := list.UpdateNode(timeout)
	if err != nil && untold.Load() == 0 {
		// Every member was told directly; the gossip only repeats it, so
		// its timeout (a loaded machine) is no failure to leave.
		err = nil
	}
	if lerr := list.Leave(timeout); lerr != nil {
		return lerr
	}
	return err
}

// Shutdown stops the agent without announcing anything (peers will find
// this member failed): it shuts down the memberlist if the agent created
// it, then stops the agent's goroutines and waits for them, including a
// Keeper call (cancelled) or a reconnection attempt in progress (at most
// memberlist's TCPTimeout). Safe to call more than once.
func (a *Agent) Shutdown() error {
	var err error
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.shared.closed = true
		list, owned := a.shared.list, a.shared.owned
		a.shared.inbox = nil
		a.mu.Unlock()
		a.stop()
		if owned && list != nil {
			err = list.Shutdown()
		}
		a.wg.Wait()
	})
	return err
}

// Close leaves gracefully (Leave with Options.LeaveTimeout) and shuts
// down.
func (a *Agent) Close() error {
	var err error
	if a.Memberlist() != nil {
		err = a.Leave(a.opts.LeaveTimeout)
	}
	return errors.Join(err, a.Shutdown())
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}
