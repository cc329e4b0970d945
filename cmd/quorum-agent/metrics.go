package main

import (
	"expvar"
	"fmt"
	"sync"

	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/manager"
)

// source is where the metrics and status come from: the agent's local
// manager, or the consensus Node (node non-nil) with raft's numbers too.
type source struct {
	agent *qml.Agent
	node  *consensus.Node
}

func newSource(a *qml.Agent, n *consensus.Node) source { return source{agent: a, node: n} }

// managerMetrics are the metrics of the manager this member applies.
func (s source) managerMetrics() manager.Metrics {
	if s.node != nil {
		return s.node.ManagerMetrics()
	}
	return s.agent.Manager().Metrics()
}

// raftState is raft's state, nil without --raft.
func (s source) raftState() *consensus.State {
	if s.node == nil {
		return nil
	}
	st := s.node.State()
	return &st
}

// published holds the members whose metrics are served, by member name:
// expvar has one namespace per process, and tests run several agents in
// one.
var published = struct {
	sync.Mutex
	once    sync.Once
	sources map[string]source
}{sources: map[string]source{}}

// publish exports the manager's Metrics through expvar, inside the
// lockstep_quorum_manager variable under name, and raft's (if any)
// inside lockstep_quorum_raft.
func publish(name string, s source) error {
	published.once.Do(func() {
		expvar.Publish("lockstep_quorum_manager", expvar.Func(func() any {
			out := map[string]manager.Metrics{}
			for n, s := range snapshotSources() {
				out[n] = s.managerMetrics()
			}
			return out
		}))
		expvar.Publish("lockstep_quorum_raft", expvar.Func(func() any {
			out := map[string]consensus.Metrics{}
			for n, s := range snapshotSources() {
				if s.node != nil {
					out[n] = s.node.Metrics()
				}
			}
			return out
		}))
	})
	published.Lock()
	defer published.Unlock()
	if _, taken := published.sources[name]; taken {
		return fmt.Errorf("a member named %q is already published", name)
	}
	published.sources[name] = s
	return nil
}

// snapshotSources copies the map, so that raft is not read under the
// lock.
func snapshotSources() map[string]source {
	published.Lock()
	defer published.Unlock()
	out := make(map[string]source, len(published.sources))
	for n, s := range published.sources {
		out[n] = s
	}
	return out
}

func unpublish(name string) {
	published.Lock()
	delete(published.sources, name)
	published.Unlock()
}
