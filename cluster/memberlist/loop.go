package memberlist

import (
	"math"
	"slices"
	"time"

	"github.com/hashicorp/memberlist"
)

// run is the agent's goroutine.
func (a *Agent) run() {
	defer a.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var req syncReq
		select {
		case <-a.ctx.Done():
			return
		case <-a.wake:
		case <-timer.C:
		case req = <-a.syncCh:
		}
		if req.fn != nil {
			req.fn()
		}
		a.mu.Lock()
		evs := a.shared.inbox
		a.shared.inbox = nil
		a.mu.Unlock()
		timer.Reset(a.obs.round(evs))
		if req.done != nil {
			close(req.done)
		}
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
	case <-a.ctx.Done():
		return false
	}
	select {
	case <-req.done:
		return true
	case <-a.ctx.Done():
		return false
	}
}

// reconnectLoop tries, every ReconnectInterval, to rejoin one member seen
// as failed (in turn), and the Join addresses while no other member is
// alive.
func (a *Agent) reconnectLoop() {
	defer a.wg.Done()
	t := time.NewTicker(a.opts.ReconnectInterval)
	defer t.Stop()
	next := 0
	for {
		select {
		case <-a.ctx.Done():
			return
		case <-t.C:
		}
		if a.leaving.Load() {
			continue
		}
		a.mu.Lock()
		list, targets := a.shared.list, slices.Clone(a.shared.targets)
		if a.shared.alone {
			targets = append(targets, a.shared.seeds...)
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
