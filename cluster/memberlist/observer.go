package memberlist

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/cluster/policy"
	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// forgetAfter is how many windows the agent remembers a departed member
// that is no longer a configuration member.
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
	// since is when state began; for peerAlive, when it last became alive
	// (joined, or answered again after going suspect).
	since time.Time
	// lastAck is the last direct probe answered (or the join); acked
	// whether there was one, rtt its round trip.
	lastAck time.Time
	acked   bool
	rtt     time.Duration
	// silent: the network monitor was told the link is down.
	silent bool
	// leaving: it said it is leaving (Agent.Leave's notice).
	leaving bool
	// metaSeen: meta was decoded at least once (and OnMember told).
	metaSeen bool
}

// observer is the state only the agent's goroutine touches: the members
// as observed, and what it carried out.
type observer struct {
	a                           *Agent
	probeInterval, probeTimeout time.Duration
	peers                       map[string]*peer
	started                     time.Time
	attempts                    []policy.Attempt // voter changes of the last window
	again                       bool             // another round is due at once
	rec                         advice.Recommendation
	recErr                      string
	lastAdj                     *manager.Answer
	lastErr                     string
	reported                    string // what OnChange last reported
	rotate                      int    // where the next ack payload starts
}

func newObserver(a *Agent, conf *memberlist.Config) observer {
	return observer{
		a:             a,
		probeInterval: conf.ProbeInterval,
		probeTimeout:  conf.ProbeTimeout,
		peers:         map[string]*peer{},
		started:       a.opts.Now(),
	}
}

// round folds the events into the members, carries out the plan when this
// member leads, publishes the status, and returns how long to wait for
// the next round at most.
func (o *observer) round(evs []event) time.Duration {
	for _, ev := range evs {
		o.apply(ev)
	}
	now := o.a.opts.Now()
	o.again = false
	members, seen := o.members(now)
	cfg := o.a.keeper.Config()
	o.recommend(cfg)
	leads := o.a.keeper.Leads()
	var res policy.Result
	if leads {
		o.attempts = slices.DeleteFunc(o.attempts, func(at policy.Attempt) bool { return !now.Before(at.At.Add(o.a.opts.Window)) })
		opts := policy.Options{
			Self: o.a.self, Window: o.a.opts.Window, MaxVoters: o.a.opts.MaxVoters,
			Started: o.started, Leaving: o.a.leaving.Load(), Attempts: o.attempts,
		}
		if o.recErr == "" && o.rec.Changed {
			opts.Advice = &policy.Advice{Strategy: o.rec.Strategy, Proposal: o.rec.Proposal}
		}
		res = policy.Plan(cfg, members, now, opts)
		if o.carryOut(res.Actions, now) {
			cfg = o.a.keeper.Config()
			o.recommend(cfg)
		}
	}
	o.publish(now, cfg, seen, res.Held, leads)
	o.forget(cfg, now) // after publish, which reads the peers seen
	return o.nextWake(now, res.Next)
}

// apply folds one memberlist event into the peers.
func (o *observer) apply(ev event) {
	p := o.peers[ev.name]
	if p == nil {
		if ev.kind == evPing || ev.kind == evLeaving {
			return
		}
		p = &peer{name: ev.name, self: ev.name == string(o.a.self)}
		o.peers[ev.name] = p
	}
	if ev.addr != "" {
		p.addr = ev.addr
	}
	if ev.kind == evJoin || ev.kind == evUpdate || ev.kind == evLeave {
		m, err := DecodeMeta(ev.meta)
		if err != nil {
			o.a.logf("%s: %v", ev.name, err)
		} else {
			if ev.kind == evUpdate && p.state == peerAlive && (m.Domain != p.meta.Domain || m.Capabilities != p.meta.Capabilities) {
				o.a.logf("%s changed its domain or capabilities; the configuration keeps those it was added with", ev.name)
			}
			changed := !p.metaSeen || m != p.meta
			p.meta, p.metaSeen = m, true
			if changed && o.a.opts.OnMember != nil {
				o.a.opts.OnMember(manager.NodeID(ev.name), m)
			}
		}
	}
	switch ev.kind {
	case evJoin:
		if p.state != peerAlive && p.acked {
			// Back: the link is up again, at the round trip last measured,
			// until the next probe measures it.
			o.observe(p, true, p.rtt)
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
		o.observe(p, false, 0)
	case evPing:
		if p.state != peerAlive || p.self {
			return
		}
		if ev.at.Sub(p.lastAck) > o.suspectAfter() {
			p.since = ev.at // it was suspect: alive again only from now
		}
		p.lastAck, p.acked, p.rtt = ev.at, true, ev.rtt
		o.observe(p, true, ev.rtt)
		for _, r := range decodePayload(ev.payload) {
			if r.name != p.name {
				o.a.net.Observe(advice.Observation{From: manager.NodeID(p.name), To: manager.NodeID(r.name), Reachable: r.reachable, RTT: r.rtt})
			}
		}
	}
}

// observe tells the network monitor what this member measured of p.
func (o *observer) observe(p *peer, reachable bool, rtt time.Duration) {
	p.silent = !reachable
	o.a.net.Observe(advice.Observation{From: o.a.self, To: manager.NodeID(p.name), Reachable: reachable, RTT: rtt})
}

// suspectAfter is SuspectAfter, or its default for the members alive.
func (o *observer) suspectAfter() time.Duration {
	if sa := o.a.opts.SuspectAfter; sa > 0 {
		return sa
	}
	alive := 0
	for _, p := range o.peers {
		if p.state == peerAlive {
			alive++
		}
	}
	return max(time.Duration(2*alive)*o.probeInterval+o.probeTimeout, 3*o.probeInterval)
}

func (o *observer) sortedPeers() []*peer {
	ps := make([]*peer, 0, len(o.peers))
	for _, p := range o.peers {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(x, y *peer) int { return cmp.Compare(x.name, y.name) })
	return ps
}

// members returns the members as the policy reads them (this member
// always alive since the agent started) and as Status reports them.
func (o *observer) members(now time.Time) ([]policy.Member, []Member) {
	sa := o.suspectAfter()
	ms := []policy.Member{o.a.opts.Meta.member(o.a.self, o.started)}
	var seen []Member
	for _, p := range o.sortedPeers() {
		m := Member{ID: manager.NodeID(p.name), Addr: p.addr, Since: p.since, Meta: p.meta, RTT: p.rtt, Self: p.self}
		switch p.state {
		case peerAlive:
			m.State = Alive
			if !p.self && now.Sub(p.lastAck) > sa {
				m.State, m.Since = Suspect, p.lastAck
				if !p.silent {
					o.observe(p, false, 0)
				}
			}
		case peerDead:
			m.State = Dead
		case peerLeft:
			m.State = Left
		}
		seen = append(seen, m)
		if !p.self {
			pm := p.meta.member(m.ID, m.Since)
			pm.State = policyState[m.State]
			ms = append(ms, pm)
		}
	}
	return ms, seen
}

// policyState is a MemberState as the policy reads it.
var policyState = [...]policy.State{Alive: policy.Alive, Suspect: policy.Suspect, Dead: policy.Dead, Left: policy.Left}

// carryOut makes the plan's changes through the keeper, in order; it
// reports whether any was made.
func (o *observer) carryOut(actions []policy.Action, now time.Time) bool {
	changed := false
	for _, act := range actions {
		ctx, cancel := context.WithTimeout(o.a.ctx, max(o.a.opts.Window, o.a.opts.LeaveTimeout))
		var ans manager.Answer
		var err error
		if act.Proposal != nil {
			ans, err = o.a.keeper.Adjust(ctx, *act.Proposal)
			o.lastAdj = &ans
		} else {
			ans, err = o.a.keeper.Apply(ctx, act.Change)
		}
		cancel()
		ok := err == nil && (ans.Status == manager.OK || ans.Status == manager.AlreadyApplied)
		if act.VoterChange() {
			o.attempts = append(o.attempts, policy.Attempt{Key: act.Key, At: now, Failed: !ok})
		}
		switch {
		case err != nil:
			o.refused(fmt.Sprintf("%v: %v", act, err))
		case !ok:
			o.refused(fmt.Sprintf("%v: %v: %s", act, ans.Status, ans.Reason))
		case ans.Status == manager.OK:
			changed, o.again = true, true
		}
		if o.a.ctx.Err() != nil {
			break
		}
	}
	return changed
}

// refused notes a change not made; one refused every round is logged
// once.
func (o *observer) refused(msg string) {
	if msg != o.lastErr {
		o.a.logf("%s", msg)
	}
	o.lastErr = msg
}

// recommend asks the strategies about cfg.
func (o *observer) recommend(cfg manager.Config) {
	in := advice.Input{Config: cfg, Network: o.a.net.View(memberIDs(cfg)), Targets: o.a.opts.Targets}
	var recs []advice.Recommendation
	o.recErr = ""
	for _, s := range o.a.opts.Strategies {
		r, err := s.Recommend(in)
		if err != nil {
			if o.recErr == "" {
				o.recErr = fmt.Sprintf("strategy %s: %v", s.Name(), err)
			}
			continue
		}
		recs = append(recs, r)
	}
	var ok bool
	if o.rec, ok = advice.Best(recs); ok {
		o.recErr = ""
	}
}

// forget drops the departed peers that are no longer configured and have
// been gone for forgetAfter windows.
func (o *observer) forget(cfg manager.Config, now time.Time) {
	for name, p := range o.peers {
		if _, member := cfg.Node(manager.NodeID(name)); !member && p.state != peerAlive && now.Sub(p.since) > forgetAfter*o.a.opts.Window {
			delete(o.peers, name)
		}
	}
}

// publish makes the status, the ack payload and the reconnect targets
// visible, and calls OnChange when what it reports changed.
func (o *observer) publish(now time.Time, cfg manager.Config, seen []Member, held []policy.Hold, leads bool) {
	st := Status{
		Time: now, Self: o.a.self, Config: cfg, Members: seen, Leads: leads,
		Recommendation: o.rec, RecommendError: o.recErr,
		LastAdjustment: o.lastAdj, LastError: o.lastErr,
	}
	for _, h := range held {
		st.Held = append(st.Held, h.String())
	}
	var reports []linkReport
	var targets []string
	alone := true
	for _, m := range seen {
		if m.Self {
			continue
		}
		p := o.peers[string(m.ID)]
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
	payload, n := encodePayload(reports, o.rotate)
	o.rotate += n
	if o.rotate >= len(reports) {
		o.rotate = 0
	}
	o.a.payload.Store(&payload)

	o.a.mu.Lock()
	st.DroppedPings = o.a.shared.dropped
	o.a.shared.status = st
	o.a.shared.targets = targets
	o.a.shared.alone = alone
	o.a.mu.Unlock()

	key := fmt.Sprintf("%d|%v|%s|%s", cfg.Epoch, leads, recommendationKey(o.rec, o.recErr), o.lastErr)
	if key != o.reported {
		o.reported = key
		if o.a.opts.OnChange != nil {
			o.a.opts.OnChange(st.clone())
		}
	}
}

// nextWake is how long the agent's goroutine may sleep: until the next
// deadline (a silence turning suspect, a window ending, the plan's next),
// at most one probe interval (50ms to 1s), none when another round is
// due.
func (o *observer) nextWake(now, planNext time.Time) time.Duration {
	if o.again {
		return 0
	}
	d := min(max(o.probeInterval, 50*time.Millisecond), time.Second)
	at := func(t time.Time) {
		if left := t.Sub(now); left > 0 && left < d {
			d = left
		}
	}
	at(planNext)
	sa := o.suspectAfter()
	for _, p := range o.peers {
		if !p.self && p.state == peerAlive {
			at(p.lastAck.Add(sa + time.Millisecond))
		}
	}
	return max(d, time.Millisecond)
}
