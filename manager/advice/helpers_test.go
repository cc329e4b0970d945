package advice

import (
	"math/rand/v2"

	"fmt"
	"github.com/lockstep/quorum/internal/suite"
	"strings"
	"testing"

	"github.com/lockstep/quorum/manager"
)

// cluster is a manager with its advisor, for tests that observe, recommend
// and apply.
type cluster struct {
	*manager.Manager
	adv *Advisor
}

func (c *cluster) Observe(o Observation) error { return c.adv.Observe(o) }
func (c *cluster) Input(t Targets) Input       { return c.adv.Input(t) }
func (c *cluster) Recommend(t Targets, s ...Strategy) (Recommendation, error) {
	return c.adv.Recommend(t, s...)
}

// newManager starts a cluster from a spec: node after node, each an ID,
// then optionally :weight, @domain, ! (failed) and * (standby), e.g.
// "a:1500@r1 s*".
func newManager(t *testing.T, rule manager.Rule, spec string) *cluster {
	t.Helper()
	var nodes []manager.Node
	for _, w := range strings.Fields(spec) {
		n := manager.Node{Weight: manager.One}
		if strings.HasSuffix(w, "*") {
			n.Standby, w = true, strings.TrimSuffix(w, "*")
		}
		if strings.HasSuffix(w, "!") {
			n.State, w = manager.Failed, strings.TrimSuffix(w, "!")
		}
		if i := strings.IndexByte(w, '@'); i >= 0 {
			n.Domain, w = w[i+1:], w[:i]
		}
		if i := strings.IndexByte(w, ':'); i >= 0 {
			var weight int
			fmt.Sscan(w[i+1:], &weight)
			n.Weight, w = manager.Weight(weight), w[:i]
		}
		n.ID = manager.NodeID(w)
		nodes = append(nodes, n)
	}
	m, err := manager.New(nil, nodes, rule)
	if err != nil {
		t.Fatal(err)
	}
	return &cluster{Manager: m, adv: New(m)}
}

func ids(s string) []manager.NodeID {
	var out []manager.NodeID
	for _, f := range strings.Fields(s) {
		out = append(out, manager.NodeID(f))
	}
	return out
}

// newRand returns the test's generator and its seed (fixed unless
// QUORUM_SEED is set); failures print the seed.
func newRand(t *testing.T) (*rand.Rand, uint64) {
	s := suite.Seed(t)
	return rand.New(rand.NewPCG(s, s^0x5eed)), s
}

// suiteRounds trims random rounds under -short.
func suiteRounds(full int) int {
	if testing.Short() {
		return max(1, full/8)
	}
	return full
}
