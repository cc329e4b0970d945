package policy

import (
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lockstep/quorum/manager"
)

// seed is the random tests' seed: QUORUM_SEED, or a fixed one.
func seed(t *testing.T) uint64 {
	if s := os.Getenv("QUORUM_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("QUORUM_SEED: %v", err)
		}
		return n
	}
	return 16
}

// TestPlanProperties runs random member histories (joins, failures,
// departures, silences, returns, advice, refused verifications, time
// passing) through Plan and a manager, and checks every plan: at most one
// voter change; never a proposal without voters nor the removal of a
// voter; every voter a proposal adds alive for the whole window (the
// observing member aside), every voter it drops down for it; every
// removal of a member gone for the window; and the same plan for the same
// inputs in any order.
func TestPlanProperties(t *testing.T) {
	s := seed(t)
	rng := rand.New(rand.NewPCG(s, 0))
	histories, steps := 300, 80
	if testing.Short() {
		histories = 60
	}
	ids := []string{"b", "c", "d", "e", "f"}
	for hist := range histories {
		h := &harness{}
		args := map[string]string{"window": "10s"}
		if rng.IntN(2) == 0 {
			args["max-voters"] = strconv.Itoa(1 + rng.IntN(5))
		}
		if err := h.init(args); err != nil {
			t.Fatal(err)
		}
		var log []string
		fail := func(format string, a ...any) {
			t.Helper()
			t.Fatalf("seed %d (QUORUM_SEED=%d), history %d: %s\nhistory:\n%s\n%s", s, s, hist, fmt.Sprintf(format, a...), strings.Join(log, "\n"), describe(h.m.Config()))
		}
		for range steps {
			id := ids[rng.IntN(len(ids))]
			_, joined := h.members[manager.NodeID(id)]
			var cmd string
			switch r := rng.IntN(100); {
			case r < 20 && !joined:
				cmd = "join " + id + " domain=r" + strconv.Itoa(rng.IntN(3))
				if rng.IntN(5) == 0 {
					cmd += " standby"
				}
			case r < 30 && joined:
				cmd = "fail " + id
			case r < 36 && joined:
				cmd = "leave " + id
			case r < 44 && joined:
				cmd = "suspect " + id
			case r < 56 && joined:
				cmd = "alive " + id
			case r < 62:
				var vs []string
				for _, n := range h.m.Config().Nodes {
					if rng.IntN(3) > 0 {
						vs = append(vs, string(n.ID))
					}
				}
				cmd = "advise voters=" + strings.Join(vs, ",")
			case r < 66:
				cmd = "advise none"
			case r < 70:
				cmd = "verify " + []string{"ok", "fail"}[rng.IntN(2)]
			default:
				cmd = "advance " + (time.Duration(rng.IntN(15000)) * time.Millisecond).String()
			}
			if _, err := h.run(cmd); err != nil {
				fail("%s: %v", cmd, err)
			}
			log = append(log, cmd)
			checkPlan(h, rng, fail)
			log = append(log, "plan: "+h.plan(false))
		}
	}
}

// checkPlan checks the plan h would make now.
func checkPlan(h *harness, rng *rand.Rand, fail func(string, ...any)) {
	cfg := h.m.Config()
	var members []Member
	for _, m := range h.members {
		members = append(members, m)
	}
	h.opts.Attempts = slices.DeleteFunc(h.opts.Attempts, func(a Attempt) bool { return !h.now.Before(a.At.Add(h.opts.Window)) })
	res := Plan(cfg, members, h.now, h.opts)
	rng.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	if again := Plan(cfg, members, h.now, h.opts); !reflect.DeepEqual(res, again) {
		fail("the same inputs planned\n%v\nthen\n%v", res, again)
	}
	window := h.opts.Window
	// downFor reports whether a voter has been down (dead, left, or never
	// seen) for the window.
	downFor := func(id manager.NodeID) bool {
		m, ok := h.members[id]
		if !ok {
			return !h.now.Before(h.opts.Started.Add(window))
		}
		return (m.State == Dead || m.State == Left) && !h.now.Before(m.Since.Add(window))
	}
	voterChanges := 0
	for _, a := range res.Actions {
		if a.VoterChange() {
			voterChanges++
		}
		if a.Change.Op == manager.OpRemove {
			if cfg.Quorum().Has(a.Change.ID) {
				fail("%v removes a voter", a)
			}
			if m := h.members[a.Change.ID]; m.State != Left || h.now.Before(m.Since.Add(window)) {
				fail("%v removes a member that has not been gone for the window", a)
			}
		}
		if a.Proposal == nil {
			continue
		}
		if len(a.Proposal.Voters) == 0 {
			fail("%v proposes no voter", a)
		}
		next := map[manager.NodeID]bool{}
		for _, v := range a.Proposal.Voters {
			next[v.ID] = true
			if cfg.Quorum().Has(v.ID) || v.ID == h.opts.Self {
				continue
			}
			m, ok := h.members[v.ID]
			if !ok || m.State != Alive || h.now.Before(m.Since.Add(window)) {
				fail("%v promotes %s, not alive for the whole window (%+v)", a, v.ID, m)
			}
		}
		for _, id := range cfg.Quorum().IDs() {
			if !next[id] && !downFor(id) {
				fail("%v drops voter %s, not down for the window (%+v)", a, id, h.members[id])
			}
		}
	}
	if voterChanges > 1 {
		fail("%d voter changes in one plan: %v", voterChanges, res.Actions)
	}
}
