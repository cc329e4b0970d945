package memberlist

import (
	"time"

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
	// Keeper holds the configuration the agent keeps in step: a
	// replicated one, say, where only the leader proposes. Nil: a
	// LocalKeeper of Manager (or of the manager Store or Rule make) and
	// Verify. Each call is bounded by the longer of Window and
	// LeaveTimeout, and cancelled by Shutdown.
	Keeper Keeper
	// Manager, when Keeper is nil, is the manager to keep in step. Nil: a
	// new in-memory manager whose first configuration has this member as
	// its only voter, under Rule. A manager opened from a Store keeps its
	// members: those memberlist has not reported alive within Window of
	// the start are marked failed.
	Manager *manager.Manager
	// Store, when Keeper and Manager are nil, persists the manager: the
	// configuration it holds is opened (a restarted member comes back
	// with the configuration it had), or a new one is saved there.
	Store *manager.Store
	Rule  manager.Rule // for a new manager
	// Window debounces flapping: how long a change must hold before it
	// changes the voters. A failed voter is replaced, a departed member
	// removed, a joined member promoted only once that has held for the
	// whole window; a member that fails and returns within it produces
	// no adjustment. Health (Suspect, Fail, Recover) is reported at once:
	// it does not change the quorum. 0 means 10s.
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
	// Strategies are asked for a recommendation after every round; one
	// that changes the voters is adopted once the window allows it. Nil
	// means HybridStrategy.
	Strategies []advice.Strategy
	Targets    advice.Targets // for the strategies
	// Verify, for the local keeper (Keeper nil), is passed to
	// Manager.Adjust for every adjustment and run before leaving a joint
	// phase: where a store commits the configuration through its
	// replication. It runs on the agent's goroutine; nil accepts.
	Verify func(manager.Config) error
	// OnChange is called on the agent's goroutine with the new Status
	// whenever the configuration's epoch, whether this member leads, the
	// recommended quorum (its size, threshold and proposal, and whether
	// one is reachable; not which members it prefers, which follows every
	// latency sample) or the last error changes. It must not block for
	// long nor call Shutdown or Close.
	OnChange func(Status)
	// OnMember, if set, is called on the agent's goroutine with a
	// member's metadata when it is first seen and whenever it changes,
	// this member's own included: where a replicated keeper learns its
	// peers' raft addresses (consensus.Node.Discovered(id, meta.Raft)).
	// It must not block for long nor call Shutdown or Close.
	OnMember func(id manager.NodeID, meta Meta)
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
