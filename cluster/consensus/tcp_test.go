package consensus

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// tcpCluster runs members over raft's TCP transport on loopback, each
// wrapped by faultNet and each in its own data directory. A member keeps
// its address across restarts (its port is bound again), as a host would.
type tcpCluster struct {
	t     testing.TB
	net   *faultNet
	rec   *recorder
	names []manager.NodeID
	nodes map[manager.NodeID]*Node
	dirs  map[manager.NodeID]string
	addrs map[manager.NodeID]string
	lives map[manager.NodeID]int // incarnations started
	opts  func(*Options)         // adjusts each member's options
}

func newTCPCluster(t testing.TB, rec *recorder, names ...string) *tcpCluster {
	c := &tcpCluster{t: t, net: newFaultNet(), rec: rec, nodes: map[manager.NodeID]*Node{},
		dirs: map[manager.NodeID]string{}, addrs: map[manager.NodeID]string{}, lives: map[manager.NodeID]int{}}
	for _, n := range names {
		c.names = append(c.names, manager.NodeID(n))
		c.dirs[manager.NodeID(n)] = t.TempDir()
	}
	t.Cleanup(func() {
		for id := range c.nodes {
			c.stop(id)
		}
	})
	return c
}

// start opens a member on its data directory; its first start picks a
// port, later ones bind the same.
func (c *tcpCluster) start(id manager.NodeID, expect int) *Node {
	c.t.Helper()
	bind := c.addrs[id]
	if bind == "" {
		bind = "127.0.0.1:0"
	}
	var tr *raft.NetworkTransport
	var err error
	for try := 0; try < 50; try++ { // the port may take a moment to be free again
		tr, err = raft.NewTCPTransportWithConfig(bind, nil, &raft.NetworkTransportConfig{
			MaxPool: 3, Timeout: time.Second, Logger: hclog.NewNullLogger()})
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("%s: transport on %s: %v", id, bind, err)
	}
	c.addrs[id] = string(tr.LocalAddr())
	c.lives[id]++
	opts := fastOptions(id)
	opts.Transport = &faultTransport{Transport: tr, net: c.net, self: raft.ServerID(id)}
	opts.DataDir, opts.BootstrapExpect = c.dirs[id], expect
	opts.OnApply = c.rec.hook(fmt.Sprintf("%s#%d", id, c.lives[id]))
	if c.opts != nil {
		c.opts(&opts)
	}
	n, err := Open(opts)
	if err != nil {
		_ = tr.Close()
		c.t.Fatalf("%s: %v", id, err)
	}
	c.nodes[id] = n
	c.discover()
	return n
}

// discover tells every running member of every started one, as the layer
// above's membership would.
func (c *tcpCluster) discover() {
	for _, n := range c.nodes {
		for id, addr := range c.addrs {
			if err := n.Discovered(id, addr); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// stop shuts a member down (its data stays).
func (c *tcpCluster) stop(id manager.NodeID) {
	if n := c.nodes[id]; n != nil {
		if err := n.Shutdown(); err != nil {
			c.t.Logf("%s: shutdown: %v", id, err)
		}
		delete(c.nodes, id)
	}
}

// wipe deletes a stopped member's data directory.
func (c *tcpCluster) wipe(id manager.NodeID) {
	if err := os.RemoveAll(c.dirs[id]); err != nil {
		c.t.Fatal(err)
	}
}

// live returns the running members, in name order.
func (c *tcpCluster) live(names ...manager.NodeID) []*Node {
	if len(names) == 0 {
		names = c.names
	}
	var out []*Node
	for _, id := range names {
		if n := c.nodes[id]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

func (c *tcpCluster) all() []raft.ServerID { return serverIDs(c.names) }
