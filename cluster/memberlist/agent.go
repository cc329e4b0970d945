package memberlist

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// Options configure an Agent. Memberlist's own settings (bind address,
// probe and suspicion timings, encryption, transport) stay in the
// *memberlist.Config given to Create or New.
type Options struct {
	// Meta is this member's failure domain and capabilities, gossiped as
	// its node metadata.
	Meta Meta
	// Manager is the manager to keep in step. Nil: a new in-memory manager
	// whose first configuration has this member as its only voter, under
	// Rule. A manager opened from a Store keeps its members: those
	// memberlist has not reported alive within Window of the start are
	// marked failed.
	Manager *manager.Manager
	// Store, when Manager is nil, persists the manager: the configuration
	// it holds is opened (a restarted member comes back with the
	// configuration it had), or a new one is saved there.
	Store *manager.Store
	Rule  manager.Rule // for a new manager
	// Window debounces flapping: how long a change must hold before it
	// produces an adjustment (a change of the voters through
	// Manager.Adjust). A failed voter is replaced, a departed member
	// removed, a joined member promoted only once that has held for the
	// whole window; a member that fails and returns within it produces
	// no adjustment. Health (Suspect, Fail, Recover) is reported to the
	// manager at once: it does not change the quorum. 0 means 10s.
	Window time.Duration
	// SuspectAfter marks a live member Suspect when none of this member's
	// direct probes of it has been answered for that long: memberlist's
	// own suspect state is not reported to delegates, so the agent
	// watches the ping delegate's acknowledgements. 0 means two probe
	// rounds of the members alive (2 × members × ProbeInterval) plus
	// ProbeTimeout, at least 3 × ProbeInterval.
	SuspectAfter time.Duration
	// MaxVoters caps the voters the agent promotes joined members to; 0
	// means no cap. Members beyond it stay standbys, ready to replace a
	// failed voter.
	MaxVoters int
	// Strategies are asked for a recommendation after every change; a
	// recommendation that changes the voters is adopted through
	// Manager.Adjust once the window allows it. Nil means HybridStrategy.
	Strategies []advice.Strategy
	Targets    advice.Targets // for the strategies
	// Verify is passed to Manager.Adjust for every adjustment (and run
	// before leaving a joint phase left behind by a rollback): where a
	// store commits the configuration through its replication. It runs
	// on the agent's goroutine; nil accepts.
	Verify func(manager.Config) error
	// OnChange is called on the agent's goroutine with the new Status
	// whenever the configuration's epoch, the recommended quorum (its
	// size, threshold and proposal, and whether one is reachable; not
	// which members it prefers, which follows every latency sample) or
	// the last error changes. It must not block for long nor call
	// Shutdown or Close.
	OnChange func(Status)
	// ReconnectInterval is how often the agent tries to rejoin members it
	// sees as failed (one per round, as serf does; memberlist alone never
	// merges again after a partition outlasting its suspicion) and, while
	// it is alone, the addresses given to Join. 0 means 10 ×
	// ProbeInterval (at least 1s); negative never.
	ReconnectInterval time.Duration
	// LeaveTimeout bounds each of Close's two broadcasts (metadata, then
	// memberlist's leave): Close takes at most about twice as long, when
	// peers stop answering meanwhile. 0 means 5s.
	LeaveTimeout time.Duration
	// Logf, if not nil, receives one line per refused request or ignored
	// peer, for diagnostics.
	Logf func(format string, args ...any)
	// Now is the clock; nil means time.Now. For tests.
	Now func() time.Time
}

// Defaults.
const (
	DefaultWindow       = 10 * time.Second
	DefaultLeaveTimeout = 5 * time.Second
)

// maxInbox bounds the queued ping events (membership events are never
// dropped): enough for minutes of probes while a slow Verify holds the
// agent's goroutine.
const maxInbox = 4096

// Agent keeps a manager.Manager in step with a memberlist: joins become
// members (standbys, promoted to voters once stable), failures and
// departures become Fail and removal, silence becomes Suspect, round trips
// feed the manager's network monitor, and recommendations that change the
// voters are adopted through Manager.Adjust, debounced by the window.
//
// Memberlist calls the agent's delegates from its own goroutines, some
// with its node lock held: they only queue the event and return. One
// goroutine of the agent applies the events and is the only one that
// changes the manager, so the manager sees them in order. Another retries
// joins (ReconnectInterval). Shutdown stops both.
type Agent struct {
	self  manager.NodeID
	mgr   *manager.Manager
	adv   *advice.Advisor // what memberlist's round trips say, for recommendations
	opts  Options
	strat []advice.Strategy

	window, suspectAfter, reconnect, leaveTimeout time.Duration
	probeInterval, probeTimeout                   time.Duration

	meta    atomic.Pointer[[]byte] // this member's encoded Meta, for NodeMeta
	payload atomic.Pointer[[]byte] // this member's link reports, for AckPayload
	leaving atomic.Bool

	userEvents   memberlist.EventDelegate
	userAlive    memberlist.AliveDelegate
	userDelegate memberlist.Delegate

	mu      sync.Mutex // guards the fields below
	inbox   []event
	dropped uint64
	closed  bool
	list    *memberlist.Memberlist
	owned   bool // Shutdown shuts list down
	seeds   []string
	status  Status
	targets []string // addresses of failed members, for reconnecting
	alone   bool

	wake      chan struct{}
	syncCh    chan syncReq
	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once

	w worker // the agent goroutine's own state
}

// Create installs the agent's delegates in conf (see New), creates the
// memberlist from conf and starts keeping the manager in step with it.
// The agent owns the memberlist: Shutdown shuts it down. Call Join next.
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
	a.attach(list, true)
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
	a := &Agent{
		self:          manager.NodeID(conf.Name),
		opts:          opts,
		window:        cmpOr(opts.Window, DefaultWindow),
		suspectAfter:  opts.SuspectAfter,
		leaveTimeout:  cmpOr(opts.LeaveTimeout, DefaultLeaveTimeout),
		probeInterval: conf.ProbeInterval,
		probeTimeout:  conf.ProbeTimeout,
		reconnect:     opts.ReconnectInterval,
		userEvents:    conf.Events,
		userAlive:     conf.Alive,
		userDelegate:  conf.Delegate,
		wake:          make(chan struct{}, 1),
		syncCh:        make(chan syncReq),
		done:          make(chan struct{}),
	}
	if a.reconnect == 0 {
		a.reconnect = max(10*conf.ProbeInterval, time.Second)
	}
	a.strat = opts.Strategies
	if len(a.strat) == 0 {
		a.strat = []advice.Strategy{advice.HybridStrategy{}}
	}
	a.meta.Store(&meta)
	a.mgr = opts.Manager
	if a.mgr == nil && opts.Store != nil {
		a.mgr, err = manager.Open(opts.Store)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	if a.mgr == nil {
		self := opts.Meta.node(a.self)
		self.Standby = false // a configuration needs a voter
		a.mgr, err = manager.New(opts.Store, []manager.Node{self}, opts.Rule)
		if err != nil {
			return nil, err
		}
	}
	a.adv = advice.New(a.mgr)
	a.w = worker{peers: map[string]*peer{}, started: a.now(), tried: map[string]time.Time{}}

	d := &delegates{a}
	conf.Delegate = d
	conf.Events = d
	conf.Ping = d
	conf.Alive = d

	a.wg.Add(1)
	go a.run()
	if a.reconnect > 0 {
		a.wg.Add(1)
		go a.reconnectLoop()
	}
	return a, nil
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
	if a.list != nil {
		return errors.New("memberlist: the agent is already attached")
	}
	a.list = list
	return nil
}

func (a *Agent) attach(list *memberlist.Memberlist, owned bool) {
	a.mu.Lock()
	a.list, a.owned = list, owned
	a.mu.Unlock()
}

// Name returns this member's name, its manager.NodeID.
func (a *Agent) Name() manager.NodeID { return a.self }

// Manager returns the manager the agent keeps in step. It is safe for
// concurrent use; changes made to it directly may be undone by the agent
// when they contradict what memberlist reports.
func (a *Agent) Manager() *manager.Manager { return a.mgr }

// Advisor returns the advisor fed with what memberlist observes of the
// links, which the agent asks for recommendations.
func (a *Agent) Advisor() *advice.Advisor { return a.adv }

// Memberlist returns the memberlist, nil before Attach.
func (a *Agent) Memberlist() *memberlist.Memberlist {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.list
}

// Status returns what the agent last published.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.status.clone()
}

// Join contacts the given memberlist addresses (host:port) as
// memberlist.Join does, and remembers them: while this member sees no
// other member alive, the agent retries them every ReconnectInterval. It
// returns how many were reached.
func (a *Agent) Join(addrs []string) (int, error) {
	a.mu.Lock()
	list := a.list
	a.seeds = append(a.seeds, addrs...)
	slices.Sort(a.seeds)
	a.seeds = slices.Compact(a.seeds)
	a.mu.Unlock()
	if list == nil {
		return 0, errors.New("memberlist: Join before Attach")
	}
	return list.Join(addrs)
}

// Leave announces a graceful departure, so peers remove this member
// rather than count it failed: it tells every member directly (a reliable
// user message, memberlist.SendReliable), gossips its metadata with
// Leaving set, then calls memberlist's Leave. The agent stops adjusting
// and reconnecting; call Shutdown after.
func (a *Agent) Leave(timeout time.Duration) error {
	a.mu.Lock()
	list := a.list
	a.mu.Unlock()
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
	notice := append(slices.Clone(leaveNotice), a.self...)
	for _, n := range list.Members() {
		if n.Name != string(a.self) {
			wg.Go(func() { list.SendReliable(n, notice) })
		}
	}
	wg.Wait()
	err := list.UpdateNode(timeout)
	if lerr := list.Leave(timeout); lerr != nil {
		return lerr
	}
	return err
}

// Shutdown stops the agent without announcing anything (peers will find
// this member failed): it shuts down the memberlist if the agent created
// it, then stops the agent's goroutines and waits for them, including an
// adjustment's Verify or a reconnection attempt in progress (at most
// memberlist's TCPTimeout). Safe to call more than once.
func (a *Agent) Shutdown() error {
	var err error
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		list, owned := a.list, a.owned
		a.inbox = nil
		a.mu.Unlock()
		close(a.done)
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
		err = a.Leave(a.leaveTimeout)
	}
	return errors.Join(err, a.Shutdown())
}

func (a *Agent) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

func (a *Agent) logf(format string, args ...any) {
	if a.opts.Logf != nil {
		a.opts.Logf(format, args...)
	}
}

// eventKind is what memberlist reported.
type eventKind uint8

const (
	evJoin eventKind = iota
	evUpdate
	evLeave
	evPing
	evLeaving // a member said it is leaving
)

// event is one report from memberlist, copied out of its callback.
type event struct {
	kind    eventKind
	at      time.Time
	name    string
	addr    string
	meta    []byte
	rtt     time.Duration
	payload []byte
}

// push queues an event for the agent's goroutine; it never blocks.
func (a *Agent) push(ev event) {
	a.mu.Lock()
	switch {
	case a.closed:
	case ev.kind == evPing && len(a.inbox) >= maxInbox:
		a.dropped++
	default:
		a.inbox = append(a.inbox, ev)
	}
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func nodeEvent(kind eventKind, at time.Time, n *memberlist.Node) event {
	return event{kind: kind, at: at, name: n.Name, addr: n.Address(), meta: slices.Clone(n.Meta)}
}

// delegates are the memberlist delegates, kept off Agent's method set.
type delegates struct{ a *Agent }

// NodeMeta implements memberlist.Delegate.
func (d *delegates) NodeMeta(limit int) []byte {
	b := *d.a.meta.Load()
	if len(b) > limit {
		return nil
	}
	return b
}

// leaveNotice starts the user message a leaving agent sends every member,
// followed by its name. User messages that start with it are the agent's
// and are not passed on to a Delegate given in the config.
var leaveNotice = []byte("\x00lockstep-quorum/leaving\x00")

// NotifyMsg implements memberlist.Delegate.
func (d *delegates) NotifyMsg(b []byte) {
	if name, ok := bytes.CutPrefix(b, leaveNotice); ok {
		d.a.push(event{kind: evLeaving, at: d.a.now(), name: string(name)})
		return
	}
	if u := d.a.userDelegate; u != nil {
		u.NotifyMsg(b)
	}
}

// GetBroadcasts implements memberlist.Delegate.
func (d *delegates) GetBroadcasts(overhead, limit int) [][]byte {
	if u := d.a.userDelegate; u != nil {
		return u.GetBroadcasts(overhead, limit)
	}
	return nil
}

// LocalState implements memberlist.Delegate.
func (d *delegates) LocalState(join bool) []byte {
	if u := d.a.userDelegate; u != nil {
		return u.LocalState(join)
	}
	return nil
}

// MergeRemoteState implements memberlist.Delegate.
func (d *delegates) MergeRemoteState(buf []byte, join bool) {
	if u := d.a.userDelegate; u != nil {
		u.MergeRemoteState(buf, join)
	}
}

// NotifyJoin implements memberlist.EventDelegate.
func (d *delegates) NotifyJoin(n *memberlist.Node) {
	d.a.push(nodeEvent(evJoin, d.a.now(), n))
	if u := d.a.userEvents; u != nil {
		u.NotifyJoin(n)
	}
}

// NotifyLeave implements memberlist.EventDelegate.
func (d *delegates) NotifyLeave(n *memberlist.Node) {
	d.a.push(nodeEvent(evLeave, d.a.now(), n))
	if u := d.a.userEvents; u != nil {
		u.NotifyLeave(n)
	}
}

// NotifyUpdate implements memberlist.EventDelegate.
func (d *delegates) NotifyUpdate(n *memberlist.Node) {
	d.a.push(nodeEvent(evUpdate, d.a.now(), n))
	if u := d.a.userEvents; u != nil {
		u.NotifyUpdate(n)
	}
}

// AckPayload implements memberlist.PingDelegate.
func (d *delegates) AckPayload() []byte {
	if p := d.a.payload.Load(); p != nil {
		return *p
	}
	return nil
}

// NotifyPingComplete implements memberlist.PingDelegate.
func (d *delegates) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	d.a.push(event{kind: evPing, at: d.a.now(), name: other.Name, rtt: rtt, payload: slices.Clone(payload)})
}

// NotifyAlive implements memberlist.AliveDelegate: a peer whose name the
// manager would refuse, or whose metadata does not decode, is not let in.
func (d *delegates) NotifyAlive(n *memberlist.Node) error {
	if err := validMember(n.Name, ""); err != nil {
		return fmt.Errorf("name %q: %w", n.Name, err)
	}
	if _, err := DecodeMeta(n.Meta); err != nil {
		return err
	}
	if u := d.a.userAlive; u != nil {
		return u.NotifyAlive(n)
	}
	return nil
}

// FailureDetectionTime estimates the longest memberlist configured by
// conf takes to declare a silent member of a cluster of the given size
// dead, which is when the agent marks it Failed: a probe round to reach
// it (one probe interval per member, plus the failed probe's own), the
// longest suspicion timeout (SuspicionMaxTimeoutMult times SuspicionMult
// × max(1, log10(members)) probe intervals: the timeout before peers
// confirm the suspicion), and a few gossip intervals to spread the news.
// It ignores memberlist's awareness back-off, which stretches probe
// intervals on an overloaded member.
func FailureDetectionTime(conf *memberlist.Config, members int) time.Duration {
	n := max(members, 1)
	scale := max(1, math.Log10(float64(n)))
	suspicion := time.Duration(float64(conf.SuspicionMult) * scale * float64(conf.ProbeInterval))
	return time.Duration(n+1)*conf.ProbeInterval +
		time.Duration(max(conf.SuspicionMaxTimeoutMult, 1))*suspicion +
		4*conf.GossipInterval
}
