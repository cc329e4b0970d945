package memberlist

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
)

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

// maxInbox bounds the queued ping events (membership events are never
// dropped): enough for minutes of probes while a slow Keeper call holds
// the agent's goroutine.
const maxInbox = 4096

// push queues an event for the agent's goroutine; it never blocks.
func (a *Agent) push(ev event) {
	a.mu.Lock()
	switch sh := &a.shared; {
	case sh.closed:
	case ev.kind == evPing && len(sh.inbox) >= maxInbox:
		sh.dropped++
	default:
		sh.inbox = append(sh.inbox, ev)
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

// delegates are the memberlist delegates, kept off Agent's method set,
// and the ones the caller's config had, called after them.
type delegates struct {
	a      *Agent
	events memberlist.EventDelegate
	alive  memberlist.AliveDelegate
	user   memberlist.Delegate
}

// installDelegates makes the agent's delegates conf's.
func installDelegates(a *Agent, conf *memberlist.Config) {
	d := &delegates{a: a, events: conf.Events, alive: conf.Alive, user: conf.Delegate}
	conf.Delegate = d
	conf.Events = d
	conf.Ping = d
	conf.Alive = d
}

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
		d.a.push(event{kind: evLeaving, at: d.a.opts.Now(), name: string(name)})
		return
	}
	if u := d.user; u != nil {
		u.NotifyMsg(b)
	}
}

// GetBroadcasts implements memberlist.Delegate.
func (d *delegates) GetBroadcasts(overhead, limit int) [][]byte {
	if u := d.user; u != nil {
		return u.GetBroadcasts(overhead, limit)
	}
	return nil
}

// LocalState implements memberlist.Delegate.
func (d *delegates) LocalState(join bool) []byte {
	if u := d.user; u != nil {
		return u.LocalState(join)
	}
	return nil
}

// MergeRemoteState implements memberlist.Delegate.
func (d *delegates) MergeRemoteState(buf []byte, join bool) {
	if u := d.user; u != nil {
		u.MergeRemoteState(buf, join)
	}
}

// NotifyJoin implements memberlist.EventDelegate.
func (d *delegates) NotifyJoin(n *memberlist.Node) {
	d.a.push(nodeEvent(evJoin, d.a.opts.Now(), n))
	if u := d.events; u != nil {
		u.NotifyJoin(n)
	}
}

// NotifyLeave implements memberlist.EventDelegate.
func (d *delegates) NotifyLeave(n *memberlist.Node) {
	d.a.push(nodeEvent(evLeave, d.a.opts.Now(), n))
	if u := d.events; u != nil {
		u.NotifyLeave(n)
	}
}

// NotifyUpdate implements memberlist.EventDelegate.
func (d *delegates) NotifyUpdate(n *memberlist.Node) {
	d.a.push(nodeEvent(evUpdate, d.a.opts.Now(), n))
	if u := d.events; u != nil {
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
	d.a.push(event{kind: evPing, at: d.a.opts.Now(), name: other.Name, rtt: rtt, payload: slices.Clone(payload)})
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
	if u := d.alive; u != nil {
		return u.NotifyAlive(n)
	}
	return nil
}
