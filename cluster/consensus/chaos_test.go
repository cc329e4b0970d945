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
// proposer goroutine, and the faults in force.
type chaos struct {
	mu           sync.Mutex
	c            *tcpCluster
	stopped, cut []manager.NodeID
}

// fault makes one random step of the schedule: kill, restart, partition a
// minority, heal, or change the delay. At most two members are down or
// cut at once.
func (h *chaos) fault(r *rand.Rand) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.c
	switch a := r.IntN(6); {
	case a == 0 && len(h.stopped)+len(h.cut) < 2: // kill
		id := c.names[r.IntN(len(c.names))]
		if c.nodes[id] != nil && !slices.Contains(h.cut, id) {
			c.stop(id)
			h.stopped = append(h.stopped, id)
		}
	case a == 1 && len(h.stopped) > 0: // restart
		i := r.IntN(len(h.stopped))
		c.start(h.stopped[i], 0)
		h.stopped = slices.Delete(h.stopped, i, i+1)
	case a == 2 && len(h.cut) == 0 && len(h.stopped) < 2: // partition a minority
		for len(h.cut) < 1+r.IntN(2-len(h.stopped)) {
			if id := c.names[r.IntN(len(c.names))]; !slices.Contains(h.cut, id) && !slices.Contains(h.stopped, id) {
				h.cut = append(h.cut, id)
			}
		}
		c.net.partition(serverIDs(h.cut), c.all())
	case a == 3: // heal
		c.net.heal()
		h.cut = nil
	case a == 4: // delays
		c.net.setDelay(time.Duration(r.IntN(3)*5) * time.Millisecond)
	}
}

// quiet ends every fault: the network healed, every member running.
func (h *chaos) quiet() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.net.heal()
	h.c.net.setDelay(0)
	for _, id := range h.stopped {
		h.c.start(id, 0)
	}
	h.stopped, h.cut = nil, nil
}

// proposer proposes random changes through whoever leads until stop,
// and counts them.
func (h *chaos) proposer(seed uint64, stop <-chan struct{}) (proposed, accepted int) {
	r := rand.New(rand.NewPCG(seed, 0x9f09))
	for {
		select {
		case <-stop:
			return proposed, accepted
		case <-time.After(time.Duration(20+r.IntN(60)) * time.Millisecond):
		}
		l := leaderOf(h.live())
		if l == nil {
			continue
		}
		ch, adjust := randomChange(r, l.Config())
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
	func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		for _, id := range c.names[:5] {
			c.start(id, 5)
		}
		c.start("s1", 0)
	}()
	waitLeader(t, h.live())
	waitFor(t, 10*time.Second, "s1 joins", func() error {
		if l := leaderOf(h.live()); l != nil {
			_, err := l.Join(context.Background(), "s1", c.nodes["s1"].Addr())
			return err
		}
		return fmt.Errorf("no leader")
	})

	stop := make(chan struct{})
	var proposed, accepted int
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		proposed, accepted = h.proposer(seed, stop)
	}()
	for step := 0; step < steps; step++ {
		h.fault(r)
		time.Sleep(time.Duration(200+r.IntN(400)) * time.Millisecond)
		rec.check(t)
	}
	close(stop)
	wg.Wait()
	h.quiet()
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
