package main

import (
	"errors"
	"expvar"
	"fmt"
	"sync"

	"github.com/lockstep/quorum/manager"
)

// published holds the managers whose metrics are served, by member name:
// expvar has one namespace per process, and tests run several agents in
// one.
var published = struct {
	sync.Mutex
	once     sync.Once
	managers map[string]*manager.Manager
}{managers: map[string]*manager.Manager{}}

// publish exports m's Metrics through expvar, inside the
// lockstep_quorum_manager variable under name.
func publish(name string, m *manager.Manager) error {
	if m == nil {
		return errors.New("no local manager to publish")
	}
	published.once.Do(func() {
		expvar.Publish("lockstep_quorum_manager", expvar.Func(func() any {
			published.Lock()
			defer published.Unlock()
			out := map[string]manager.Metrics{}
			for n, m := range published.managers {
				out[n] = m.Metrics()
			}
			return out
		}))
	})
	published.Lock()
	defer published.Unlock()
	if _, taken := published.managers[name]; taken {
		return fmt.Errorf("a manager named %q is already published", name)
	}
	published.managers[name] = m
	return nil
}

func unpublish(name string) {
	published.Lock()
	delete(published.managers, name)
	published.Unlock()
}
