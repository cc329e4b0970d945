package memberlist

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstep/quorum/manager"
)

// followerKeeper is a replicated keeper's follower: it holds a
// configuration, never leads, and records every call made to it.
type followerKeeper struct {
	mu    sync.Mutex
	cfg   manager.Config
	leads bool
	calls []string
}

func (k *followerKeeper) Config() manager.Config {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg.Clone()
}

func (k *followerKeeper) Leads() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.leads
}

func (k *followerKeeper) Apply(_ context.Context, c manager.Change) (manager.Answer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, string(c.Op)+" "+string(c.ID)+string(c.Node.ID))
	return manager.Answer{}, errors.New("not the leader")
}

func (k *followerKeeper) Adjust(context.Context, manager.Proposal) (manager.Answer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, "adjust")
	return manager.Answer{}, errors.New("not the leader")
}

func (k *followerKeeper) called() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.calls...)
}

// TestFollowerProposesNothing: an agent whose keeper does not lead still
// observes and reports the members, the configuration and a
// recommendation, but proposes nothing; once it leads, it proposes.
func TestFollowerProposesNothing(t *testing.T) {
	m, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, manager.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	k := &followerKeeper{cfg: m.Config()}
	f := newFakeList(t, Options{Keeper: k, Window: time.Second})
	if f.a.Manager() != nil || f.a.Keeper() != k {
		t.Fatal("an agent with a Keeper has a local manager, or another keeper")
	}
	f.join("b", Meta{})
	f.join("d", Meta{})
	f.walk(3*time.Second, "b", "d")
	if calls := k.called(); len(calls) != 0 {
		t.Fatalf("a follower called its keeper: %q", calls)
	}
	st := f.a.Status()
	if st.Leads || len(st.Members) != 3 || st.Config.Epoch != 1 || st.Recommendation.Quorum != 2 || len(st.Held) != 0 {
		t.Fatalf("follower's status: leads %v, %d members, epoch %d, recommended quorum %d, held %q",
			st.Leads, len(st.Members), st.Config.Epoch, st.Recommendation.Quorum, st.Held)
	}
	k.mu.Lock()
	k.leads = true
	k.mu.Unlock()
	f.step(0, "b", "d")
	// c was never seen (failed), d is new (added); each refused by this
	// keeper, and reported.
	if calls := strings.Join(k.called(), ","); !strings.Contains(calls, "fail c") || !strings.Contains(calls, "add d") {
		t.Fatalf("leading, the agent called %q; want fail c and add d", calls)
	}
	if st := f.a.Status(); !st.Leads || !strings.Contains(st.LastError, "not the leader") {
		t.Fatalf("leads %v, last error %q", st.Leads, st.LastError)
	}
}

// TestLocalKeeper: a local keeper commits what it applies, verifies a
// joint configuration before leaving it and an epoch a rollback left
// before the next voter change, and refuses both when verification fails.
func TestLocalKeeper(t *testing.T) {
	m, err := manager.New(nil, []manager.Node{{ID: "a"}, {ID: "b", Standby: true}, {ID: "c", Standby: true}}, manager.Rule{})
	if err != nil {
		t.Fatal(err)
	}
	var verifyErr error
	verified := 0
	k := LocalKeeper(m, func(manager.Config) error { verified++; return verifyErr })
	ctx := context.Background()
	if !k.Leads() {
		t.Fatal("a local keeper does not lead")
	}
	// {a} to {a b c}: a joint phase, left by the keeper's caller.
	ans, err := k.Apply(ctx, manager.Change{Op: manager.OpReconfigure, Proposal: manager.Proposal{Voters: []manager.Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}}}})
	if err != nil || ans.Status != manager.OK || !ans.Joint || m.Uncommitted() != 0 {
		t.Fatalf("reconfigure: %+v, %v, uncommitted %d; want ok, joint, committed", ans, err, m.Uncommitted())
	}
	verifyErr = errVerify
	if _, err := k.Apply(ctx, manager.Change{Op: manager.OpLeaveJoint}); err == nil || !k.Config().Joint() {
		t.Fatalf("leave joint with verification failing: %v, joint %v; want an error, still joint", err, k.Config().Joint())
	}
	verifyErr = nil
	if ans, err := k.Apply(ctx, manager.Change{Op: manager.OpLeaveJoint}); err != nil || ans.Status != manager.OK || k.Config().Joint() {
		t.Fatalf("leave joint: %+v, %v", ans, err)
	}
	// An adjustment that fails verification is rolled back: an answer,
	// not an error.
	verifyErr = errVerify
	ans, err = k.Adjust(ctx, manager.Proposal{Voters: []manager.Vote{{ID: "a"}, {ID: "b"}}})
	if err != nil || ans.Status != manager.RolledBack {
		t.Fatalf("adjust failing verification: %+v, %v; want rolled back", ans, err)
	}
	verifyErr = nil
	before := verified
	ans, err = k.Adjust(ctx, manager.Proposal{Voters: []manager.Vote{{ID: "a"}, {ID: "b"}}})
	if err != nil || ans.Status != manager.OK || verified <= before {
		t.Fatalf("adjust: %+v, %v after %d verifications", ans, err, verified-before)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := k.Apply(cancelled, manager.Change{Op: manager.OpSuspect, ID: "c"}); err == nil {
		t.Error("Apply with a cancelled context: no error")
	}
	if _, err := LocalKeeper(nil, nil).Adjust(ctx, manager.Proposal{}); err == nil {
		t.Error("a keeper without a manager: no error")
	}
}
