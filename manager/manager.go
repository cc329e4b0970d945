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

// Op is a kind of configuration change.
type Op string

// Configuration changes. Every one that changes something makes the next
// epoch.
const (
	OpBootstrap   Op = "bootstrap"   // the first configuration (New)
	OpAdd         Op = "add"         // a new member, voter or standby
	OpRemove      Op = "remove"      // a member leaves
	OpSuspect     Op = "suspect"     // a member missed heartbeats
	OpFail        Op = "fail"        // a member is down
	OpRecover     Op = "recover"     // a member is healthy again
	OpReconfigure Op = "reconfigure" // a new quorum system (a Proposal)
	OpLeaveJoint  Op = "leave-joint" // end a joint phase: the incoming voters alone decide
	OpRollback    Op = "rollback"    // an adjustment undone
)

// Step is what an Event records.
type Step string

// Steps of the history. Applied events change the configuration; the
// others record an adjustment's progress.
const (
	StepApplied      Step = "applied"       // the change took effect as Event.Epoch
	StepValidated    Step = "validated"     // an adjustment passed validation
	StepRefused      Step = "refused"       // an adjustment was refused (see Detail)
	StepVerified     Step = "verified"      // an applied adjustment step passed verification
	StepVerifyFailed Step = "verify-failed" // it did not (see Detail); a rollback follows
)

// Event is one entry of the history.
type Event struct {
	// Epoch is the epoch in force after the step.
	Epoch uint64 `json:"epoch"`
	Op    Op     `json:"op"`   // the change
	Step  Step   `json:"step"` // what happened to it
	// Node is the member an Add, Remove, Suspect, Fail or Recover names.
	Node NodeID `json:"node,omitempty"`
	// Adjustment numbers the adjustment the step belongs to (0: none).
	Adjustment uint64 `json:"adjustment,omitempty"`
	// Joint: the epoch is a joint phase.
	Joint  bool   `json:"joint,omitempty"`
	Detail string `json:"detail,omitempty"` // for people
	// Fingerprint identifies the request that made an applied epoch, so a
	// retry is answered AlreadyApplied rather than applied twice.
	Fingerprint string `json:"fingerprint,omitempty"`
}

// historyLimit is how many events the history keeps; older ones are dropped.
const historyLimit = 1000

// Change is a request for the next epoch.
type Change struct {
	// Epoch is the epoch the change would make: the current epoch + 1. A
	// retry of a change already applied at that epoch is AlreadyApplied; a
	// different change there is a Conflict. 0 means whatever epoch is
	// next, without that retry check.
	Epoch uint64 `json:"epoch"`
	Op    Op     `json:"op"` // what to do
	// Node is the member to add (OpAdd). Weight 0 means One.
	Node Node `json:"node,omitzero"`
	// ID names the member (OpRemove, OpSuspect, OpFail, OpRecover).
	ID NodeID `json:"id,omitempty"`
	// Proposal is the new quorum system (OpReconfigure).
	Proposal Proposal `json:"proposal,omitzero"`
}

// Status is the kind of answer a request gets.
type Status uint8

const (
	// Unanswered is the zero Status: no request was carried out.
	Unanswered Status = iota
	// OK: the change was applied as the next epoch.
	OK
	// AlreadyApplied: the change is already in force (a retry, or a change
	// that would change nothing); nothing was done.
	AlreadyApplied
	// Conflict: a different change holds that epoch, or the change
	// contradicts the configuration (adding a member twice, changing the
	// voters during a joint phase or another adjustment).
	Conflict
	// EpochNotNext: the request names an epoch that is not the next one
	// and whose change is no longer known.
	EpochNotNext
	// UnknownMembers: the request names nodes that are not members.
	UnknownMembers
	// Refused: the change is malformed or breaks a safety rule (removing
	// more than (voters-1)/2 voters at once, fewer voters than the rule's
	// minimum, a quorum the healthy voters could not reach).
	Refused
	// RolledBack: an adjustment was applied, failed verification and was
	// undone.
	RolledBack
	// StoreFailed: the change could not be persisted, and the configuration
	// in force is the one the answer's Epoch and Joint name (an adjustment
	// that fails part-way says in its Reason which epoch stays in force).
	// When Cause wraps ErrUncertain the file may hold the change: the
	// manager refuses every change until it is reopened from its store.
	StoreFailed
)

var statusNames = [...]string{"unanswered", "ok", "already applied", "conflict", "epoch not next", "unknown members", "refused", "rolled back", "store failed"}

// String returns the status's name, e.g. "ok" or "epoch not next".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// MarshalText writes the status's name, for JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Answer is the typed reply to a configuration request.
type Answer struct {
	Status Status `json:"status"` // what kind of answer
	// Epoch is the epoch in force after the request.
	Epoch uint64 `json:"epoch"`
	// Joint: the configuration is now in a joint phase; call LeaveJoint
	// once the joint configuration is committed.
	Joint  bool   `json:"joint,omitempty"`
	Reason string `json:"reason,omitempty"` // why, for people
	// Cause is the underlying error of StoreFailed.
	Cause error `json:"-"`
}

// Err returns nil for OK and AlreadyApplied, else an error describing the
// answer (wrapping Cause).
func (a Answer) Err() error {
	switch a.Status {
	case OK, AlreadyApplied:
		return nil
	}
	if a.Cause != nil {
		return fmt.Errorf("manager: %v: %s: %w", a.Status, a.Reason, a.Cause)
	}
	return fmt.Errorf("manager: %v: %s", a.Status, a.Reason)
}

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
	decided   [3]atomic.Uint64 // decisions by Verdict
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
	cfg := Config{Epoch: 1, Rule: rule}
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
	m := &Manager{store: store, cfg: snap.Config, history: snap.History, adjustments: snap.Adjustments,
		committed: snap.Committed, changed: snap.Changed}
	m.publishConfig()
	return m, nil
}

// Config returns a copy of the configuration in force.
func (m *Manager) Config() Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Clone()
}

// Epoch returns the epoch in force.
func (m *Manager) Epoch() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg.Epoch
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
// set, and the caller calls LeaveJoint once that epoch is committed.
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

// Add asks to add a member as the next epoch (Apply with OpAdd).
func (m *Manager) Add(n Node) Answer { return m.Apply(Change{Op: OpAdd, Node: n}) }

// Remove asks to remove a member as the next epoch.
func (m *Manager) Remove(id NodeID) Answer { return m.Apply(Change{Op: OpRemove, ID: id}) }

// Suspect marks a member Suspect as the next epoch.
func (m *Manager) Suspect(id NodeID) Answer { return m.Apply(Change{Op: OpSuspect, ID: id}) }

// Fail marks a member Failed as the next epoch. Its vote still counts: a
// failure never shrinks the quorum.
func (m *Manager) Fail(id NodeID) Answer { return m.Apply(Change{Op: OpFail, ID: id}) }

// Recover marks a member Active as the next epoch.
func (m *Manager) Recover(id NodeID) Answer { return m.Apply(Change{Op: OpRecover, ID: id}) }

// Reconfigure asks for a new quorum system as the next epoch, without the
// verification and rollback of Adjust.
func (m *Manager) Reconfigure(p Proposal) Answer {
	return m.Apply(Change{Op: OpReconfigure, Proposal: p})
}

// LeaveJoint ends a joint phase: the incoming voters alone decide from the
// next epoch. Call it only once the joint configuration is committed (a
// quorum of both halves has it).
func (m *Manager) LeaveJoint() Answer { return m.Apply(Change{Op: OpLeaveJoint}) }

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

// plan validates c against the configuration in force and returns the next
// configuration, its event and the answer; ok is false when there is
// nothing to commit (ans says why). adj is the adjustment making the
// request, 0 for none.
func (m *Manager) plan(c Change, adj uint64) (next Config, ev Event, ans Answer, ok bool) {
	cur := m.cfg
	answer := func(s Status, format string, args ...any) (Config, Event, Answer, bool) {
		return Config{}, Event{}, Answer{Status: s, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: fmt.Sprintf(format, args...)}, false
	}
	if c.Op == OpAdd && c.Node.Weight == 0 {
		c.Node.Weight = One
	}
	fp := fingerprint(c)
	switch {
	case c.Epoch == 0:
		c.Epoch = cur.Epoch + 1
	case c.Epoch <= cur.Epoch:
		for _, e := range m.history {
			if e.Epoch == c.Epoch && e.Step == StepApplied {
				if e.Fingerprint == fp && m.inForce(c, adj) {
					return answer(AlreadyApplied, "epoch %d already applied this change, and it is in force", c.Epoch)
				}
				if e.Fingerprint == fp {
					return answer(Conflict, "epoch %d applied this change, but a later epoch undid it: it is not in force (submit it again for epoch %d)", c.Epoch, cur.Epoch+1)
				}
				return answer(Conflict, "epoch %d was made by a different change (%s %s)", c.Epoch, e.Op, e.Node)
			}
		}
		return answer(EpochNotNext, "epoch %d is past (now %d) and no longer in the history", c.Epoch, cur.Epoch)
	case c.Epoch > cur.Epoch+1:
		return answer(EpochNotNext, "epoch %d is not next: the configuration is at epoch %d", c.Epoch, cur.Epoch)
	}
	busy := func() (string, bool) {
		if m.adjusting != 0 && m.adjusting != adj {
			return fmt.Sprintf("adjustment %d is in progress", m.adjusting), true
		}
		if cur.Joint() && c.Op != OpLeaveJoint && adj == 0 {
			return fmt.Sprintf("epoch %d is a joint phase: leave it first", cur.Epoch), true
		}
		return "", false
	}

	// One pending change of the quorum system at a time (see Committed).
	uncommitted := func() (string, bool) {
		if m.changed > m.committed {
			return fmt.Sprintf("epoch %d changed the quorum system and is not committed yet: call Committed(%d) once a quorum has it", m.changed, m.changed), true
		}
		return "", false
	}

	next = cur.Clone()
	next.Epoch = c.Epoch
	ev = Event{Epoch: c.Epoch, Op: c.Op, Step: StepApplied, Adjustment: adj, Fingerprint: fp}
	changesVoters := false
	switch c.Op {
	case OpAdd:
		n := c.Node
		ev.Node = n.ID
		if err := n.validate(); err != nil {
			return answer(Refused, "%v", err)
		}
		if old, ok := cur.Node(n.ID); ok {
			if old == n {
				return answer(AlreadyApplied, "%s is already a member as given", n.ID)
			}
			return answer(Conflict, "%s is already a member (%s)", n.ID, old.State)
		}
		if n.State == Left {
			return answer(Refused, "a new member cannot have left")
		}
		if len(cur.Nodes) >= maxMembers {
			return answer(Refused, "the configuration already has %d members, the most allowed", maxMembers)
		}
		next.Nodes = append(next.Nodes, n)
		slices.SortFunc(next.Nodes, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
		changesVoters = n.Voting()
		ev.Detail = fmt.Sprintf("added %s as a %s", n.ID, map[bool]string{true: "voter", false: "standby"}[n.Voting()])
	case OpRemove:
		ev.Node = c.ID
		old, ok := cur.Node(c.ID)
		if !ok || old.State == Left {
			return answer(UnknownMembers, "%q is not a member", c.ID)
		}
		if m.adjusting != 0 && adj != m.adjusting && slices.ContainsFunc(m.restore.Voters, func(v Vote) bool { return v.ID == c.ID }) {
			return answer(Conflict, "adjustment %d is verifying and may roll back to a quorum system with %s as a voter: remove it after the adjustment", m.adjusting, c.ID)
		}
		next.Nodes = slices.DeleteFunc(next.Nodes, func(n Node) bool { return n.ID == c.ID })
		changesVoters = old.Voting()
		ev.Detail = fmt.Sprintf("removed %s", c.ID)
	case OpSuspect, OpFail, OpRecover:
		ev.Node = c.ID
		old, ok := cur.Node(c.ID)
		if !ok {
			return answer(UnknownMembers, "%q is not a member", c.ID)
		}
		if old.State == Left {
			return answer(Conflict, "%s has left", c.ID)
		}
		state := map[Op]NodeState{OpSuspect: Suspect, OpFail: Failed, OpRecover: Active}[c.Op]
		if old.State == state {
			return answer(AlreadyApplied, "%s is already %s", c.ID, state)
		}
		i, _ := slices.BinarySearchFunc(next.Nodes, c.ID, func(n Node, id NodeID) int { return cmp.Compare(n.ID, id) })
		next.Nodes[i].State = state
		ev.Detail = fmt.Sprintf("%s: %s -> %s", c.ID, old.State, state)
	case OpReconfigure:
		if why, b := busy(); b {
			return answer(Conflict, "%s", why)
		}
		p, err := cur.WithProposal(c.Proposal)
		var unknown *errUnknown
		if errors.As(err, &unknown) {
			return answer(UnknownMembers, "proposal names %s", joinIDs(unknown.ids))
		}
		if err != nil {
			return answer(Refused, "%v", err)
		}
		if cur.SameQuorums(p) {
			return answer(AlreadyApplied, "the proposed quorum system is already in force")
		}
		p.Epoch = c.Epoch
		next = p
		changesVoters = true
		ev.Detail = fmt.Sprintf("%d voters, %s", len(next.Quorum().Voters), next.Rule)
	case OpLeaveJoint:
		if m.adjusting != 0 && m.adjusting != adj {
			return answer(Conflict, "adjustment %d is in progress", m.adjusting)
		}
		if !cur.Joint() {
			return answer(Conflict, "epoch %d is not a joint phase", cur.Epoch)
		}
		if why, b := uncommitted(); b {
			return answer(Conflict, "%s", why)
		}
		next.Outgoing = nil
		next.Nodes = slices.DeleteFunc(next.Nodes, func(n Node) bool { return n.State == Left })
		ev.Detail = "the incoming voters alone decide"
	default:
		return answer(Refused, "unknown op %q", c.Op)
	}

	if changesVoters {
		if why, b := busy(); b {
			return answer(Conflict, "%s", why)
		}
		if why, b := uncommitted(); b {
			return answer(Conflict, "%s", why)
		}
		var why string
		next, why = m.guard(cur, next)
		if why != "" {
			return answer(Refused, "%s", why)
		}
	}
	if err := next.Validate(); err != nil {
		return answer(Refused, "%v", err)
	}
	ev.Joint = next.Joint()
	ans = Answer{Status: OK, Epoch: next.Epoch, Joint: next.Joint()}
	if next.Joint() && !cur.Joint() {
		ev.Detail += "; old and new quorums might not intersect: joint phase"
		ans.Reason = fmt.Sprintf("joint phase: decisions need a quorum of the old and the new voters; call LeaveJoint once epoch %d is committed", next.Epoch)
	}
	return next, ev, ans, true
}

// guard applies the safety rules to a change of the voters from cur to
// next: it refuses (a reason) removing more than (voters-1)/2 voters at
// once, too few voters, or a quorum the healthy voters could not reach,
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
	if limit := (len(old.Voters) - 1) / 2; removed > limit {
		return next, fmt.Sprintf("removes %d of %d voters at once; at most (voters-1)/2 = %d", removed, len(old.Voters), limit)
	}
	if !safeTransition(cur, next) {
		o := old
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

// Adjustment is the outcome of Adjust.
type Adjustment struct {
	// ID numbers the adjustment (Event.Adjustment); 0 if none was started.
	ID     uint64 `json:"id"`
	Answer Answer `json:"answer"` // the outcome: OK, RolledBack, a refusal...
	// Joint: the change went through a joint phase.
	Joint bool `json:"joint"`
	// Before and After are the quorum systems before and after (equal when
	// refused or rolled back).
	Before Quorum `json:"before"`
	After  Quorum `json:"after"` // the quorum system in force at the end
	// Steps are the adjustment's history events.
	Steps []Event `json:"steps"`
}

// Adjust changes the quorum system to p with validation and rollback:
//
//  1. validate: the same checks as Reconfigure, at epoch (0: the next);
//  2. apply it as the next epoch, through a joint phase when old and new
//     quorums might not intersect;
//  3. verify each applied epoch: verify (if not nil) returns nil, the
//     store reads it back and the healthy voters hold a quorum. verify is
//     where the caller commits the configuration through its replication
//     and checks the new quorum is operational; it runs without the
//     Manager's lock, and meanwhile other voter changes are refused;
//  4. after a joint phase, leave it and verify again;
//  5. on a failed verification, roll back to the previous quorum system
//     (through a joint phase if need be) and answer RolledBack.
//
// Each step is recorded in the history with the adjustment's number.
func (m *Manager) Adjust(epoch uint64, p Proposal, verify func(Config) error) (res Adjustment) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cur := m.cfg
	res = Adjustment{Before: cur.Quorum()}
	defer func() {
		res.After = m.cfg.Quorum() // whatever the outcome: what is in force
		if m.uncertain != nil && res.Answer.Cause == nil {
			res.Answer.Cause = m.uncertain
			res.Answer.Reason += "; a save of its history may not have reached the disk: the manager refuses changes until it is reopened from its store"
		}
	}()
	if ans, stuck := m.uncertainAnswer(); stuck {
		res.Answer = ans
		return res
	}
	if m.adjusting != 0 {
		res.Answer = Answer{Status: Conflict, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: fmt.Sprintf("adjustment %d is in progress", m.adjusting)}
		return res
	}
	m.adjustments++
	res.ID = m.adjustments
	step := func(e Event) { res.Steps = append(res.Steps, e) }

	next, ev, ans, ok := m.plan(Change{Epoch: epoch, Op: OpReconfigure, Proposal: p}, 0)
	if !ok {
		res.Answer = ans
		if ans.Status == AlreadyApplied { // nothing started: the number is not given out
			m.adjustments--
			res.ID = 0
			return res
		}
		m.counters.refused++
		e := Event{Epoch: cur.Epoch, Op: OpReconfigure, Step: StepRefused, Adjustment: res.ID, Detail: ans.Status.String() + ": " + ans.Reason}
		m.note(e)
		step(e)
		return res
	}
	ev.Adjustment = res.ID
	m.adjusting, m.restore = res.ID, cur.Proposal()
	defer func() { m.adjusting, m.restore = 0, Proposal{} }()
	validated := Event{Epoch: cur.Epoch, Op: OpReconfigure, Step: StepValidated, Adjustment: res.ID, Detail: ev.Detail}
	if err := m.commit(next, validated, ev); err != nil { // nothing started, nothing persisted
		m.adjustments--
		res.ID = 0
		res.Answer = Answer{Status: StoreFailed, Epoch: cur.Epoch, Joint: cur.Joint(), Reason: "not persisted", Cause: err}
		return res
	}
	step(validated)
	step(ev)
	res.Joint = next.Joint()

	for {
		if err := m.verify(verify); err != nil {
			e := Event{Epoch: m.cfg.Epoch, Op: OpReconfigure, Step: StepVerifyFailed, Adjustment: res.ID, Joint: m.cfg.Joint(), Detail: err.Error()}
			m.note(e)
			step(e)
			return m.rollback(res, cur, err)
		}
		e := Event{Epoch: m.cfg.Epoch, Op: OpReconfigure, Step: StepVerified, Adjustment: res.ID, Joint: m.cfg.Joint()}
		m.committed = max(m.committed, m.cfg.Epoch) // verify is where the caller commits it
		m.note(e)
		step(e)
		if !m.cfg.Joint() {
			break
		}
		next, ev, ans, ok := m.plan(Change{Op: OpLeaveJoint}, res.ID)
		if !ok {
			res.Answer = ans
			return res
		}
		if err := m.commit(next, ev); err != nil {
			res.Answer = Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Cause: err,
				Reason: fmt.Sprintf("leaving the joint phase was not persisted: epoch %d, the joint phase, is in force (LeaveJoint retries)", m.cfg.Epoch)}
			return res
		}
		step(ev)
	}
	m.counters.adjustments++
	res.Answer = Answer{Status: OK, Epoch: m.cfg.Epoch, Reason: fmt.Sprintf("adjustment %d applied and verified", res.ID)}
	return res
}

// verify checks the configuration in force: check (run without the lock)
// agrees, then the store reads back the configuration now in force (other
// health changes may have moved the epoch meanwhile) and its healthy voters
// hold a quorum. Called and returns with m.mu held.
func (m *Manager) verify(check func(Config) error) error {
	if check != nil {
		cfg := m.cfg.Clone()
		m.mu.Unlock()
		err := func() error {
			defer m.mu.Lock()
			return check(cfg)
		}()
		if err != nil {
			return err
		}
	}
	if m.store != nil {
		snap, err := m.store.Load()
		if err != nil {
			return fmt.Errorf("reading back the store: %w", err)
		}
		if snap.Config.Epoch != m.cfg.Epoch {
			return fmt.Errorf("the store holds epoch %d, not %d", snap.Config.Epoch, m.cfg.Epoch)
		}
	}
	if h := m.cfg.Healthy(); !m.cfg.IsQuorum(h) {
		return fmt.Errorf("the healthy voters (%s) hold no quorum", joinIDs(h))
	}
	return nil
}

// rollback restores the quorum system of before (keeping members' current
// health) as the next epoch and answers RolledBack. When that direct
// change might not be safe it enters a joint phase instead, and the answer
// says so: the caller leaves it (LeaveJoint) once it is committed, as for
// any joint phase. Called with m.mu held.
func (m *Manager) rollback(res Adjustment, before Config, cause error) Adjustment {
	fail := func(reason string, err error) Adjustment {
		res.Answer = Answer{Status: StoreFailed, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Cause: err,
			Reason: fmt.Sprintf("%s: epoch %d, the adjusted quorum system that failed verification, is in force", reason, m.cfg.Epoch)}
		return res
	}
	target, err := m.cfg.WithProposal(before.Proposal())
	if err != nil {
		return fail("rollback impossible", err)
	}
	reason := cause.Error()
	if !m.cfg.SameQuorums(target) {
		target.Epoch = m.cfg.Epoch + 1
		detail := "restored the previous quorum system"
		if !safeTransition(m.cfg, target) {
			o := m.cfg.Quorum()
			target.Outgoing = &o
			detail = "joint phase back to the previous quorum system"
			reason += fmt.Sprintf("; rolled back into a joint phase: call LeaveJoint once epoch %d is committed", target.Epoch)
		}
		ev := Event{Epoch: target.Epoch, Op: OpRollback, Step: StepApplied, Adjustment: res.ID, Joint: target.Joint(), Detail: detail}
		if err := m.commit(target, ev); err != nil {
			return fail("rollback not persisted", err)
		}
		res.Steps = append(res.Steps, ev)
	}
	m.counters.rollbacks++
	res.After = m.cfg.Quorum()
	res.Answer = Answer{Status: RolledBack, Epoch: m.cfg.Epoch, Joint: m.cfg.Joint(), Reason: reason}
	return res
}
