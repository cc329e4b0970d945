package memberlist

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// weightStep is the least weight change (milli-votes) worth an
// adjustment: smaller ones move with every latency sample.
const weightStep = 100

// maxAdjustments is the most adjustments the agent makes in one window.
const maxAdjustments = 8

// forgetAfter is how many windows the agent remembers a departed member
// that is no longer a manager member.
const forgetAfter = 10

// peerState is memberlist's last word on a member.
type peerState uint8

const (
	peerAlive peerState = iota
	peerDead
	peerLeft
)

// peer is what the agent knows of one memberlist member.
type peer struct {
	name  string
	addr  string
	meta  Meta
	self  bool
	state peerState
	since time.Time // when state began
	// lastAck is the last direct probe answered (or the join); acked
	// whether there was one, rtt its round trip.
	lastAck time.Time
	acked   bool
	rtt     time.Duration
	// silent: the network monitor was told the link is down.
	silent bool
	// leaving: it said it is leaving (Agent.Leave's notice).
	leaving bool
}

// worker is the state only the agent's goroutine touches.
type worker struct {
	peers   map[string]*peer
	started time.Time
	// tried holds when adjustments were refused or rolled back, by
	// configuration (epoch aside) and proposal: one is retried only once
	// the configuration changes or a window has passed.
	tried map[string]time.Time
	again bool // another round is due at once
	// jointTried is when leaving a joint phase last failed verification.
	jointTried time.Time
	// recent are the times of the adjustments of the last window.
	recent   []time.Time
	rec      advice.Recommendation
	recErr   string
	recEpoch uint64
	lastAdj  *manager.Adjustment
	lastErr  string
	held     []string
	reported string // what OnChange last reported
	rotate   int    // where the next ack payload starts
}

// run is the agent's goroutine.
func (a *Agent) run() {
	defer a.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var req syncReq
		select {
		case <-a.done:
			return
		case <-a.wake:
		case <-timer.C:
		case req = <-a.syncCh:
		}
		if req.fn != nil {
			req.fn()
		}
		a.round()
		if req.done != nil {
			close(req.done)
		}
		timer.Reset(a.nextWake(a.now()))
	}
}

// syncReq asks the agent's goroutine to run fn, then a round (tests).
type syncReq struct {
	fn   func()
	done chan struct{}
}

// sync runs fn (if not nil) and then a round on the agent's goroutine, and
// waits for both; false if the agent stopped.
func (a *Agent) sync(fn func()) bool {
	req := syncReq{fn: fn, done: make(chan struct{})}
	select {
	case a.syncCh <- req:
	case <-a.done:
		return false
	}
	select {
	case <-req.done:
		return true
	case <-a.done:
		return false
	}
}

// round applies the queued events, brings the manager in step and
// publishes the status.
func (a *Agent) round() {
	a.mu.Lock()
	evs := a.inbox
	a.inbox = nil
	a.mu.Unlock()
	for _, ev := range evs {
		a.apply(ev)
	}
	now := a.now()
	a.w.again = false
	a.w.held = nil
	a.reconcile(now)
	a.publish(now)
}

// apply folds one memberlist event into the peers.
func (a *Agent) apply(ev event) {
	w := &a.w
	p := w.peers[ev.name]
	if p == nil {
		if ev.kind == evPing || ev.kind == evLeaving {
			return
		}
		p = &peer{name: ev.name, self: ev.name == string(a.self)}
		w.peers[ev.name] = p
	}
	if ev.addr != "" {
		p.addr = ev.addr
	}
	if ev.kind == evJoin || ev.kind == evUpdate || ev.kind == evLeave {
		m, err := DecodeMeta(ev.meta)
		if err != nil {
			a.logf("%s: %v", ev.name, err)
		} else {
			if ev.kind == evUpdate && p.state == peerAlive && (m.Domain != p.meta.Domain || m.Capabilities != p.meta.Capabilities) {
				a.logf("%s changed its domain or capabilities; the manager keeps those it was added with", ev.name)
			}
			p.meta = m
		}
	}
	switch ev.kind {
	case evJoin:
		if p.state != peerAlive && p.acked {
			// Back: the link is up again, at the round trip last measured,
			// until the next probe measures it.
			a.observe(p, true, p.rtt)
		}
		p.state, p.since = peerAlive, ev.at
		p.lastAck, p.silent = ev.at, false
		p.leaving = false
	case evLeaving:
		p.leaving = true
		if p.state == peerDead { // the notice came after the leave
			p.state = peerLeft
		}
	case evUpdate:
		if p.state != peerAlive {
			p.state, p.since = peerAlive, ev.at
			p.lastAck = ev.at
		}
	case evLeave:
		if p.self {
			return
		}
		p.state, p.since = peerDead, ev.at
		if p.meta.Leaving || p.leaving {
			p.state = peerLeft
		}
		a.observe(p, false, 0)
	case evPing:
		if p.state != peerAlive || p.self {
			return
		}
		p.lastAck, p.acked, p.rtt = ev.at, true, ev.rtt
		a.observe(p, true, ev.rtt)
		for _, r := range decodePayload(ev.payload) {
			if r.name != p.name {
				a.adv.Observe(advice.Observation{From: manager.NodeID(p.name), To: manager.NodeID(r.name), Reachable: r.reachable, RTT: r.rtt})
			}
		}
	}
}

// observe tells the network monitor what this member measured of p.
func (a *Agent) observe(p *peer, reachable bool, rtt time.Duration) {
	p.silent = !reachable
	a.adv.Observe(advice.Observation{From: a.self, To: manager.NodeID(p.name), Reachable: reachable, RTT: rtt})
}

// suspectAfterNow is SuspectAfter, or its default for the members alive.
func (a *Agent) suspectAfterNow() time.Duration {
	if a.suspectAfter > 0 {
		return a.suspectAfter
	}
	alive := 0
	for _, p := range a.w.peers {
		if p.state == peerAlive {
			alive++
		}
	}
	return max(time.Duration(2*alive)*a.probeInterval+a.probeTimeout, 3*a.probeInterval)
}

// health is the state the manager should hold for a member, and whether
// the agent knows it.
func (a *Agent) health(id manager.NodeID, now time.Time, suspectAfter time.Duration) (manager.NodeState, bool) {
	p := a.w.peers[string(id)]
	if p == nil {
		// A member memberlist never reported (one from a Store):
		// failed once it has had the window to show up.
		return manager.Failed, now.Sub(a.w.started) >= a.window
	}
	switch p.state {
	case peerAlive:
		if !p.self && now.Sub(p.lastAck) > suspectAfter {
			if !p.silent {
				a.observe(p, false, 0)
			}
			return manager.Suspect, true
		}
		return manager.Active, true
	default:
		return manager.Failed, true
	}
}

// answer notes a refused request.
func (a *Agent) answer(what string, ans manager.Answer) bool {
	switch ans.Status {
	case manager.OK, manager.AlreadyApplied:
		return true
	}
	msg := fmt.Sprintf("%s: %v: %s", what, ans.Status, ans.Reason)
	if msg != a.w.lastErr { // a request refused every round is logged once
		a.logf("%s", msg)
	}
	a.w.lastErr = msg
	return false
}

// reconcile brings the manager in step with the peers: self, health,
// new members, then at most one adjustment.
func (a *Agent) reconcile(now time.Time) {
	w := &a.w
	cfg := a.mgr.Config()
	if n, ok := cfg.Node(a.self); !ok {
		a.answer("add "+string(a.self), a.mgr.Apply(manager.Change{Op: manager.OpAdd, Node: a.opts.Meta.node(a.self)}))
	} else if n.State != manager.Active && n.State != manager.Left && !a.leaving.Load() {
		a.answer("recover "+string(a.self), a.mgr.Apply(manager.Change{Op: manager.OpRecover, ID: a.self}))
	}

	sa := a.suspectAfterNow()
	for _, n := range cfg.Nodes {
		if n.ID == a.self || n.State == manager.Left {
			continue
		}
		want, ok := a.health(n.ID, now, sa)
		if !ok || want == n.State {
			continue
		}
		switch want {
		case manager.Active:
			a.answer("recover "+string(n.ID), a.mgr.Apply(manager.Change{Op: manager.OpRecover, ID: n.ID}))
		case manager.Suspect:
			a.answer("suspect "+string(n.ID), a.mgr.Apply(manager.Change{Op: manager.OpSuspect, ID: n.ID}))
		case manager.Failed:
			a.answer("fail "+string(n.ID), a.mgr.Apply(manager.Change{Op: manager.OpFail, ID: n.ID}))
		}
	}

	for _, p := range a.sortedPeers() {
		_, member := cfg.Node(manager.NodeID(p.name))
		switch {
		case p.self || member:
		case p.state == peerAlive:
			a.answer("add "+p.name, a.mgr.Apply(manager.Change{Op: manager.OpAdd, Node: p.meta.node(manager.NodeID(p.name))}))
		case now.Sub(p.since) > forgetAfter*a.window:
			delete(w.peers, p.name) // gone and no longer a member
		}
	}

	cfg = a.mgr.Config()
	if cfg.Joint() {
		// A joint phase left behind (a rollback into one): leave it once
		// verified, trying at most once a window.
		if until := w.jointTried.Add(a.window); !w.jointTried.IsZero() && now.Before(until) {
			a.hold("leaving the joint phase", until)
			return
		}
		if err := a.verify(cfg); err != nil {
			w.jointTried = now
			w.lastErr = "leave joint phase: " + err.Error()
			return
		}
		w.jointTried = time.Time{}
		_ = a.mgr.Committed(cfg.Epoch) // verified above; a failed save is retried with the next change
		a.answer("leave joint phase", a.mgr.Apply(manager.Change{Op: manager.OpLeaveJoint}))
		w.again = true
		return
	}
	if a.leaving.Load() {
		return
	}
	if a.removeDeparted(cfg, now) || a.promote(cfg, now) {
		return
	}
	a.recommend()
	if w.recErr == "" && w.rec.Changed && a.acceptable(cfg, w.rec.Proposal, now) {
		a.adjust(cfg, w.rec.Proposal, "recommended by "+w.rec.Strategy, now)
	}
}

func (a *Agent) verify(cfg manager.Config) error {
	if a.opts.Verify == nil {
		return nil
	}
	return a.opts.Verify(cfg)
}

func (a *Agent) sortedPeers() []*peer {
	ps := make([]*peer, 0, len(a.w.peers))
	for _, p := range a.w.peers {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(x, y *peer) int { return cmp.Compare(x.name, y.name) })
	return ps
}

// hold notes an adjustment the window holds back until t.
func (a *Agent) hold(what string, t time.Time) {
	a.w.held = append(a.w.held, fmt.Sprintf("%s until %s", what, t.Format("15:04:05.000")))
}

// removeDeparted removes a member that left gracefully a window ago: a
// voter first stops voting (an adjustment), then the standby is removed.
// It reports whether it asked the manager for anything.
func (a *Agent) removeDeparted(cfg manager.Config, now time.Time) bool {
	for _, n := range cfg.Nodes {
		p := a.w.peers[string(n.ID)]
		if n.ID == a.self || p == nil || p.state != peerLeft {
			continue
		}
		if until := p.since.Add(a.window); now.Before(until) {
			a.hold("removing "+string(n.ID)+" (left)", until)
			continue
		}
		if !n.Standby {
			prop := cfg.Proposal()
			prop.Voters = slices.DeleteFunc(prop.Voters, func(v manager.Vote) bool { return v.ID == n.ID })
			if a.adjust(cfg, prop, string(n.ID)+" left", now) {
				return true
			}
			continue
		}
		a.answer("remove "+string(n.ID), a.mgr.Apply(manager.Change{Op: manager.OpRemove, ID: n.ID}))
		a.w.again = true
		return true
	}
	return false
}

// promote makes voters of the standbys that want a vote and have been
// alive for the window, up to MaxVoters, in one adjustment.
func (a *Agent) promote(cfg manager.Config, now time.Time) bool {
	voters := len(cfg.Quorum().Voters)
	room := len(cfg.Nodes)
	if a.opts.MaxVoters > 0 {
		room = a.opts.MaxVoters - voters
	}
	prop := cfg.Proposal()
	added := 0
	for _, n := range cfg.Nodes {
		if added >= room {
			break
		}
		p := a.w.peers[string(n.ID)]
		if !n.Standby || n.State != manager.Active || p == nil || p.state != peerAlive || p.meta.Standby {
			continue
		}
		if until := p.since.Add(a.window); !p.self && now.Before(until) {
			a.hold("promoting "+string(n.ID), until)
			continue
		}
		prop.Voters = append(prop.Voters, manager.Vote{ID: n.ID})
		added++
	}
	if added == 0 {
		return false
	}
	return a.adjust(cfg, prop, fmt.Sprintf("promote %d standby(s)", added), now)
}

// acceptable reports whether the window allows an adjustment to p: every
// voter it drops has been down for the window, every voter it adds alive
// and active for it, and it changes the voters or the rule or some weight
// by at least weightStep.
func (a *Agent) acceptable(cfg manager.Config, p manager.Proposal, now time.Time) bool {
	cur := cfg.Quorum()
	next := map[manager.NodeID]manager.Weight{}
	for _, v := range p.Voters {
		next[v.ID] = v.Weight
	}
	ok, significant := true, p.Rule != cur.Rule || len(p.Voters) != len(cur.Voters)
	for _, v := range cur.Voters {
		w, stays := next[v.ID]
		if stays {
			if w != 0 && (w >= v.Weight+weightStep || v.Weight >= w+weightStep) {
				significant = true
			}
			continue
		}
		significant = true
		peer := a.w.peers[string(v.ID)]
		since := a.w.started
		switch {
		case peer == nil:
		case peer.state == peerAlive:
			return false // the strategies never drop a live voter; nor does the agent
		default:
			since = peer.since
		}
		if until := since.Add(a.window); now.Before(until) {
			a.hold("replacing "+string(v.ID), until)
			ok = false
		}
	}
	for _, v := range p.Voters {
		if cur.Has(v.ID) {
			continue
		}
		significant = true
		n, _ := cfg.Node(v.ID)
		peer := a.w.peers[string(v.ID)]
		if n.State != manager.Active || peer == nil || peer.state != peerAlive {
			return false
		}
		if until := peer.since.Add(a.window); !peer.self && now.Before(until) {
			a.hold("promoting "+string(v.ID), until)
			ok = false
		}
	}
	return ok && significant
}

// adjust asks the manager for p through Adjust, unless the same
// adjustment failed from the same configuration less than a window ago.
// It reports whether it asked.
func (a *Agent) adjust(cfg manager.Config, p manager.Proposal, why string, now time.Time) bool {
	w := &a.w
	key := fmt.Sprintf("%v|%v|%v|%v", cfg.Rule, cfg.Nodes, cfg.Outgoing, p)
	if t, ok := w.tried[key]; ok && now.Before(t.Add(a.window)) {
		a.hold("retrying a failed adjustment ("+why+")", t.Add(a.window))
		return false
	}
	w.recent = slices.DeleteFunc(w.recent, func(t time.Time) bool { return !now.Before(t.Add(a.window)) })
	if len(w.recent) >= maxAdjustments {
		// A strategy that never settles must not reconfigure without end.
		a.hold(fmt.Sprintf("adjusting (%s): %d adjustments already this window", why, len(w.recent)), w.recent[0].Add(a.window))
		return false
	}
	w.recent = append(w.recent, now)
	if e := a.mgr.Uncommitted(); e != 0 {
		// A rollback left a change of the voters that nobody verified: this
		// agent's commit is Verify, so verify what is in force first.
		if err := a.verify(cfg); err != nil {
			w.tried[key] = now
			w.lastErr = fmt.Sprintf("adjust (%s): epoch %d is not committed: %v", why, e, err)
			return true
		}
		_ = a.mgr.Committed(e) // as above
	}
	adj := a.mgr.Adjust(0, p, a.opts.Verify)
	w.lastAdj = &adj
	w.again = true
	if adj.Answer.Status != manager.OK {
		for k, t := range w.tried {
			if !now.Before(t.Add(a.window)) {
				delete(w.tried, k)
			}
		}
		w.tried[key] = now
		a.answer("adjust ("+why+")", adj.Answer)
	}
	return true
}

// recommend asks the strategies about the configuration in force.
func (a *Agent) recommend() {
	w := &a.w
	rec, err := a.adv.Recommend(a.opts.Targets, a.strat...)
	w.rec, w.recErr, w.recEpoch = rec, "", a.mgr.Config().Epoch
	if err != nil {
		w.recErr = err.Error()
	}
}

// publish makes the status, the ack payload and the reconnect targets
// visible, and calls OnChange when what it reports changed.
func (a *Agent) publish(now time.Time) {
	w := &a.w
	cfg := a.mgr.Config()
	if w.recEpoch != cfg.Epoch || w.again {
		a.recommend()
	}
	sa := a.suspectAfterNow()
	st := Status{
		Time: now, Self: a.self, Config: cfg,
		Recommendation: w.rec, RecommendError: w.recErr,
		Held: w.held, LastAdjustment: w.lastAdj, LastError: w.lastErr,
	}
	var reports []linkReport
	var targets []string
	alone := true
	for _, p := range a.sortedPeers() {
		m := Member{ID: manager.NodeID(p.name), Addr: p.addr, Since: p.since, Meta: p.meta, RTT: p.rtt, Self: p.self}
		switch p.state {
		case peerAlive:
			m.State = Alive
			if !p.self && now.Sub(p.lastAck) > sa {
				m.State, m.Since = Suspect, p.lastAck
			}
		case peerDead:
			m.State = Dead
		case peerLeft:
			m.State = Left
		}
		st.Members = append(st.Members, m)
		if p.self {
			continue
		}
		if p.state == peerAlive {
			alone = false
		}
		switch {
		case m.State == Alive && p.acked:
			reports = append(reports, linkReport{name: p.name, reachable: true, rtt: p.rtt})
		case m.State == Suspect || m.State == Dead:
			reports = append(reports, linkReport{name: p.name})
		}
		if _, member := cfg.Node(m.ID); member && m.State == Dead && p.addr != "" {
			targets = append(targets, p.addr)
		}
	}
	payload, n := encodePayload(reports, w.rotate)
	w.rotate += n
	if w.rotate >= len(reports) {
		w.rotate = 0
	}
	a.payload.Store(&payload)

	a.mu.Lock()
	st.DroppedPings = a.dropped
	a.status = st
	a.targets = targets
	a.alone = alone
	a.mu.Unlock()

	key := fmt.Sprintf("%d|%s|%s", cfg.Epoch, recommendationKey(w.rec, w.recErr), w.lastErr)
	if key != w.reported {
		w.reported = key
		if a.opts.OnChange != nil {
			a.opts.OnChange(st.clone())
		}
	}
}

// nextWake is how long the agent's goroutine may sleep: until the next
// deadline (a silence turning suspect, a window ending), at most one
// probe interval (50ms to 1s), none when another round is due.
func (a *Agent) nextWake(now time.Time) time.Duration {
	if a.w.again {
		return 0
	}
	d := min(max(a.probeInterval, 50*time.Millisecond), time.Second)
	at := func(t time.Time) {
		if left := t.Sub(now); left > 0 && left < d {
			d = left
		}
	}
	sa := a.suspectAfterNow()
	at(a.w.started.Add(a.window))
	for _, p := range a.w.peers {
		if p.self {
			continue
		}
		if p.state == peerAlive {
			at(p.lastAck.Add(sa + time.Millisecond))
		}
		at(p.since.Add(a.window))
	}
	return max(d, time.Millisecond)
}

// reconnectLoop tries, every ReconnectInterval, to rejoin one member seen
// as failed (in turn), and the Join addresses while no other member is
// alive.
func (a *Agent) reconnectLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.reconnect)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		}
		if a.leaving.Load() {
			continue
		}
		a.mu.Lock()
		list, targets := a.list, slices.Clone(a.targets)
		if a.alone {
			targets = append(targets, a.seeds...)
		}
		a.mu.Unlock()
		if list == nil || len(targets) == 0 {
			continue
		}
		addr := targets[next%len(targets)]
		next++
		list.Join([]string{addr}) // failures are expected: the member may still be down
	}
}
