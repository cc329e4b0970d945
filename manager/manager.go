package manager

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"sync/atomic"
)

// Manager holds the configuration in force and serves requests against
// it. It is safe for concurrent use.
type Manager struct {
	mu          sync.Mutex
	store       *Store // nil: in memory only
	cfg         Config
	history     []Event
	adjustments uint64   // last adjustment number given out
	adjusting   uint64   // the adjustment in progress, 0 if none
	restore     Proposal // while adjusting: the quorum system a rollback returns to
	uncertain   error    // a Save failed after its rename: no more changes until reopened
	committed   uint64   // the last epoch declared committed (Committed, or a verified adjustment)
	changed     uint64   // the last epoch that changed the quorum system
	counters    counters
	// published is a copy of cfg and its quorum systems for Decide, the
	// read path, which reads it without the lock: every commit stores a
	// fresh one.
	published atomic.Pointer[decideView]
	decided   [4]atomic.Uint64 // decisions by Verdict
}

// counters are the metrics that count events (decisions are counted in
// Manager.decided, without the lock).
type counters struct {
	adjustments, rollbacks, refused uint64
}

// New bootstraps a manager with the nodes (weight 0 means One) under the
// rule as epoch 1, saved to store unless store is nil. It refuses a store
// that already holds a file, valid or not: use Open.
func New(store *Store, nodes []Node, rule Rule) (*Manager, error) {
	cfg := Config{Epoch: 1, Rule: rule, Waiting: rule.WaitForAll || rule.TwoNode}
	for i, n := range nodes {
		if n.Weight == 0 {
			n.Weight = One
		}
		if n.State == Left {
			return nil, fmt.Errorf("manager: nodes[%d] %q: a new configuration has no Left members", i, n.ID)
		}
		cfg.Nodes = append(cfg.Nodes, n)
	}
	slices.SortFunc(cfg.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Manager{store: store, committed: 1} // every member starts from epoch 1
	if store != nil {
		if _, err := store.Load(); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("manager: %s already holds a configuration (use Open): %v", store.Path(), err)
		}
	}
	ev := Event{Epoch: 1, Op: OpBootstrap, Step: StepApplied, Detail: fmt.Sprintf("%d members, %s", len(cfg.Nodes), rule)}
	if err := m.commit(cfg, ev); err != nil {
		return nil, err
	}
	return m, nil
}

// Open returns a manager with the configuration and history in store.
func Open(store *Store) (*Manager, error) {
	if store == nil {
		return nil, errors.New("manager: Open needs a store")
	}
	snap, err := store.Load()
	if err != nil {
		return nil, err
	}
	return restore(store, snap), nil
}

// Restore returns a manager holding snap, saved to store first unless
// store is nil: how a replica of a replicated configuration starts from a
// snapshot of another's (Manager.Snapshot).
func Restore(store *Store, snap Snapshot) (*Manager, error) {
	if err := snap.validate(); err != nil {
		return nil, fmt.Errorf("manager: Restore: %w", err)
	}
	snap.Config = snap.Config.Clone()
	snap.History = slices.Clone(snap.History)
	if store != nil {
		if err := store.Save(snap); err != nil {
			return nil, err
		}
	}
	return restore(store, snap), nil
}

func restore(store *Store, snap Snapshot) *Manager {
	m := &Manager{store: store, cfg: snap.Config, history: snap.History, adjustments: snap.Adjustments,
		committed: snap.Committed, changed: snap.Changed}
	m.publishConfig()
	return m
}

// Snapshot returns a copy of everything the manager keeps: what its store
// holds after every change.
func (m *Manager) Snapshot() Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Snapshot{Config: m.cfg.Clone(), History: slices.Clone(m.history), Adjustments: m.adjustments,
		Committed: m.committed, Changed: m.changed}
}

// Config returns a copy of the configuration in force.
func (m *Manager) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Clone()
}

// History returns a copy of the kept history (the last 1000 events), oldest
// first.
func (m *Manager) History() []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.history)
}

// commit makes next the configuration in force with the events appended,
// persisting both first; on an error nothing changes in memory.
func (m *Manager) commit(next Config, events ...Event) error {
	hist := append(slices.Clone(m.history), events...)
	if len(hist) > historyLimit {
		hist = slices.Clone(hist[len(hist)-historyLimit:])
	}
	changed := m.changed
	if !m.cfg.Quorum().Equal(next.Quorum()) || m.cfg.Joint() != next.Joint() {
		m.changed = next.Epoch
	}
	if err := m.save(next, hist); err != nil {
		m.changed = changed
		return err
	}
	m.cfg, m.history = next, hist
	m.publishConfig()
	return nil
}

// decideView is what Decide reads: a configuration and its quorum systems.
type decideView struct {
	cfg     Config
	systems []Quorum
}

// publishConfig makes the configuration in force the one Decide reads.
func (m *Manager) publishConfig() {
	c := m.cfg.Clone()
	m.published.Store(&decideView{cfg: c, systems: c.systems()})
}

// save persists a snapshot, unless the store's state is uncertain.
func (m *Manager) save(cfg Config, hist []Event) error {
	if m.store == nil {
		return nil
	}
	if m.uncertain != nil {
		return fmt.Errorf("%w: an earlier save failed after its rename; reopen the manager from its store (%v)", ErrUncertain, m.uncertain)
	}
	err := m.store.Save(Snapshot{Config: cfg, History: hist, Adjustments: m.adjustments, Committed: m.committed, Changed: m.changed})
	if errors.Is(err, ErrUncertain) {
		m.uncertain = err
	}
	return err
}

// Committed declares that epoch (and every one before it) is committed:
// a quorum of the cluster has it, so no later decision can be made under an
// older quorum system. Until the last epoch that changed the quorum system
// is committed, another such change is refused (Conflict), as etcd raft
// allows one pending configuration change: two changes that are each safe
// could otherwise add up to an unsafe one. Adjust declares each epoch it
// verified; a caller that applies voter changes directly declares them
// once its replication has them (with no replication, once it has acted
// on the answer). It returns an error for an epoch not yet reached or a
// failed save (the declaration then holds in memory only).
func (m *Manager) Committed(epoch uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if epoch > m.cfg.Epoch {
		return fmt.Errorf("manager: epoch %d cannot be committed: the configuration is at epoch %d", epoch, m.cfg.Epoch)
	}
	if epoch <= m.committed {
		return nil
	}
	m.committed = epoch
	return m.save(m.cfg, m.history)
}

// Uncommitted is the epoch whose change of the quorum system waits to be
// declared committed before the next such change, or 0 if none does.
func (m *Manager) Uncommitted() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.changed > m.committed {
		return m.changed
	}
	return 0
}

// note records events that change no configuration and persists them at
// once (with the adjustment counter), so a restart never gives out an
// adjustment number again. If that save fails they are persisted with the
// next change.
func (m *Manager) note(events ...Event) {
	m.history = append(m.history, events...)
	if len(m.history) > historyLimit {
		m.history = slices.Clone(m.history[len(m.history)-historyLimit:])
	}
	_ = m.save(m.cfg, m.history) // best effort, see above
}

// inForce reports whether change c, applied at some past epoch, is still
// in force: a retry of it changes nothing now.
func (m *Manager) inForce(c Change, adj uint64) bool {
	switch c.Op {
	case OpLeaveJoint:
		return true // a joint phase, once left, stays left (a later one is another change)
	case OpAdd:
		n, ok := m.cfg.Node(c.Node.ID) // still a member, whatever its health since
		return ok && n.State != Left
	case OpRemove:
		n, ok := m.cfg.Node(c.ID)
		return !ok || n.State == Left
	case OpReconfigure:
		// In force when its voters decide now, in or out of a joint phase.
		p, err := m.cfg.WithProposal(c.Proposal)
		return err == nil && m.cfg.Quorum().Equal(p.Quorum())
	}
	c.Epoch = 0
	_, _, ans, ok := m.plan(c, adj)
	return !ok && ans.Status == AlreadyApplied
}

// uncertainAnswer is the answer to every change while the store's state is
// uncertain (see ErrUncertain).
func (m *Manager) uncertainAnswer() (Answer, bool) {
	if m.uncertain == nil {
		return Answer{}, false
	}
	return Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Cause: m.uncertain,
		Reason: "an earlier save may not have reached the disk: reopen the manager from its store"}, true
}

// Apply answers a change request, applying it as the next epoch if it is
// valid and safe. A change of the voters whose old and new quorums might
// not intersect (see Intersect) enters a joint phase: the answer has Joint
// set, and the caller applies OpLeaveJoint once that epoch is committed.
func (m *Manager) Apply(c Change) Answer {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ans, stuck := m.uncertainAnswer(); stuck {
		return ans
	}
	next, ev, ans, ok := m.plan(c, 0)
	if !ok {
		return ans
	}
	if err := m.commit(next, ev); err != nil {
		return Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Reason: "not persisted", Cause: err}
	}
	return ans
}

// fingerprint identifies a request's content (not its epoch).
func fingerprint(c Change) string {
	c.Epoch = 0
	b, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// guard applies the safety rules to a change of the voters from cur to
// next: it refuses (a reason) removing more than (voters-1)/2 voters at
// once (half, when the tie-breaker stays), too few voters, or a quorum the
// healthy voters could not reach,
// and turns a change whose quorums might not intersect cur's into a joint
// phase (voters removed stay members, Left, until it ends).
func (m *Manager) guard(cur, next Config) (Config, string) {
	old, nq := cur.Quorum(), next.Quorum()
	if err := nq.Validate(); err != nil {
		return next, err.Error()
	}
	removed := 0
	for _, v := range old.Voters {
		if !nq.Has(v.ID) {
			removed++
		}
	}
	limit, rule := (len(old.Voters)-1)/2, "(voters-1)/2"
	if tb := old.tieBreaker(); tb != "" && nq.Has(tb) {
		// The half removed lacks the tie-breaker: no quorum of the old
		// system (last_man_standing's last step from two voters to one).
		limit, rule = len(old.Voters)/2, "half, the tie-breaker staying"
	}
	if removed > limit {
		return next, fmt.Sprintf("removes %d of %d voters at once; at most %s = %d", removed, len(old.Voters), rule, limit)
	}
	if !safeTransition(cur, next) {
		o := old
		o.waiting = false // a wait for all holds for the incoming voters only
		next.Outgoing = &o
		for _, v := range old.Voters {
			if _, ok := next.Node(v.ID); !ok {
				n, _ := cur.Node(v.ID)
				n.State = Left
				next.Nodes = append(next.Nodes, n)
			}
		}
		slices.SortFunc(next.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	}
	if h := next.Healthy(); !next.IsQuorum(h) {
		return next, fmt.Sprintf("the healthy voters (%s) would hold no quorum of the new configuration", joinIDs(h))
	}
	return next, ""
}

// Decide judges one object's replica vectors under the configuration in
// force (see Config.Decide) and counts the verdict in the metrics.
func (m *Manager) Decide(vectors [][]byte, replicas []NodeID) (Decision, error) {
	p := m.published.Load()
	d, err := p.cfg.decide(p.systems, vectors, replicas)
	if err == nil {
		m.decided[d.Verdict].Add(1)
	}
	return d, err
}
