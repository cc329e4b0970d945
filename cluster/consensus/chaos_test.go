package consensus

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lockstep/quorum/manager"
)

// chaosSeed is the schedule's seed: 1, or QUORUM_SEED.
func chaosSeed(t *testing.T) uint64 {
	seed := uint64(1)
	if s := os.Getenv("QUORUM_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("QUORUM_SEED=%q: %v", s, err)
		}
		seed = v
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("fault schedule seed %d (QUORUM_SEED=%d replays the schedule)", seed, seed)
		}
	})
	return seed
}

// chaos is the randomized test's cluster: a tcpCluster shared with a
// proposer goroutine.
type chaos struct {
	mu sync.Mutex
	c  *tcpCluster
}

func (h *chaos) live() []*Node {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c.live()
}

// randomChange is a random proposal against cfg: a health change, or a
// new quorum system (a voter swapped for a standby, a standby promoted, a
// voter demoted).
func randomChange(r *rand.Rand, cfg manager.Config) (c manager.Change, adjust bool) {
	if len(cfg.Nodes) == 0 {
		return manager.Change{Op: manager.OpRecover, ID: "n1"}, false
	}
	node := cfg.Nodes[r.IntN(len(cfg.Nodes))].ID
	switch r.IntN(5) {
	case 0:
		return manager.Change{Op: manager.OpSuspect, ID: node}, false
	case 1:
		return manager.Change{Op: manager.OpFail, ID: node}, false
	case 2:
		return manager.Change{Op: manager.OpRecover, ID: node}, false
	}
	voters := cfg.Quorum().IDs()
	var standbys []manager.NodeID
	for _, n := range cfg.Nodes {
		if n.Standby && n.State != manager.Left {
			standbys = append(standbys, n.ID)
		}
	}
	switch {
	case len(standbys) > 0 && r.IntN(2) == 0: // swap
		voters[r.IntN(len(voters))] = standbys[r.IntN(len(standbys))]
	case len(standbys) > 0 && len(voters) < 5:
		voters = append(voters, standbys[r.IntN(len(standbys))])
	case len(voters) > 3:
		i := r.IntN(len(voters))
		voters = slices.Delete(voters, i, i+1)
	default:
		return manager.Change{Op: manager.OpRecover, ID: node}, false
	}
	slices.Sort(voters)
	return manager.Change{Op: manager.OpReconfigure, Proposal: proposal(voters...)}, true
}

// Random kills, restarts, partitions and delays, with random changes
// proposed throughout. After every step: every epoch names one
// configuration on every member that has it, and epochs only grow on
// each; once quiet, everyone holds the same configuration and raft's voters
// are the configuration's.
func TestChaos(t *testing.T) {
	seed := chaosSeed(t)
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	steps := 24 // about 10 s under -race; QUORUM_CHAOS_STEPS=100 runs longer
	if testing.Short() {
		steps = 4
	}
	if s := os.Getenv("QUORUM_CHAOS_STEPS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("QUORUM_CHAOS_STEPS=%q: want a positive number", s)
		}
		steps = v
	}
	rec := newRecorder()
	h := &chaos{c: newTCPCluster(t, rec, "n1", "n2", "n3", "n4", "n5", "s1")}
	c := h.c
	h.mu.Lock()
	for _, id := range c.names[:5] {
		c.start(id, 5)
	}
	c.start("s1", 0)
	h.mu.Unlock()
	l := waitLeader(t, h.live())
	waitFor(t, 10*time.Second, "s1 joins", func() error {
		if l := leaderOf(h.live()); l != nil {
			_, err := l.Join(context.Background(), "s1", c.nodes["s1"].Addr())
			return err
		}
		return fmt.Errorf("no leader")
	})
	_ = l

	stopProposer := make(chan struct{})
	var proposed, accepted int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // proposals throughout, through whoever leads
		defer wg.Done()
		pr := rand.New(rand.NewPCG(seed, 0x9f09))
		for {
			select {
			case <-stopProposer:
				return
			case <-time.After(time.Duration(20+pr.IntN(60)) * time.Millisecond):
			}
			l := leaderOf(h.live())
			if l == nil {
				continue
			}
			ch, adjust := randomChange(pr, l.Config())
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			var ans manager.Answer
			var err error
			if adjust {
				ans, err = l.Adjust(ctx, ch.Proposal)
			} else {
				ans, err = l.Apply(ctx, ch)
			}
			cancel()
			proposed++
			if err == nil && ans.Status == manager.OK {
				accepted++
			}
		}
	}()

	var stopped, cut []manager.NodeID
	for step := 0; step < steps; step++ {
		h.mu.Lock()
		switch a := r.IntN(6); {
		case a == 0 && len(stopped)+len(cut) < 2: // kill
			id := c.names[r.IntN(len(c.names))]
			if c.nodes[id] != nil && !slices.Contains(cut, id) {
				c.stop(id)
				stopped = append(stopped, id)
			}
		case a == 1 && len(stopped) > 0: // restart
			i := r.IntN(len(stopped))
			c.start(stopped[i], 0)
			stopped = slices.Delete(stopped, i, i+1)
		case a == 2 && len(cut) == 0 && len(stopped) < 2: // partition a minority
			for len(cut) < 1+r.IntN(2-len(stopped)) {
				if id := c.names[r.IntN(len(c.names))]; !slices.Contains(cut, id) && !slices.Contains(stopped, id) {
					cut = append(cut, id)
				}
			}
			c.net.partition(serverIDs(cut), c.all())
		case a == 3: // heal
			c.net.heal()
			cut = nil
		case a == 4: // delays
			c.net.setDelay(time.Duration(r.IntN(3)*5) * time.Millisecond)
		}
		h.mu.Unlock()
		time.Sleep(time.Duration(200+r.IntN(400)) * time.Millisecond)
		rec.check(t)
	}
	close(stopProposer)
	wg.Wait()

	// Quiet: everyone back, no faults.
	h.mu.Lock()
	c.net.heal()
	c.net.setDelay(0)
	for _, id := range stopped {
		c.start(id, 0)
	}
	h.mu.Unlock()
	t.Cleanup(func() {
		if t.Failed() {
			for _, n := range h.live() {
				t.Logf("%s", n.State())
			}
		}
	})
	waitFor(t, 30*time.Second, "everyone converged once quiet", func() error { return converged(h.live()) })
	rec.check(t)
	if accepted == 0 {
		t.Fatalf("no change of %d proposed was accepted", proposed)
	}
	t.Logf("seed %d: %d steps, %d changes proposed, %d accepted, final epoch %d", seed, steps, proposed, accepted, h.live()[0].Config().Epoch)
}
