package consensus

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// tcpCluster runs members over raft's TCP transport on loopback, each
// wrapped by faultNet and each in its own data directory. A member binds
// its port again on a restart, as a host would, or another if the port was
// taken meanwhile (by an outgoing connection): the transports resolve
// member IDs through the cluster's addresses, and the leader's Reconcile
// moves raft's configuration to the new one.
type tcpCluster struct {
	t     testing.TB
	net   *faultNet
	rec   *recorder
	names []manager.NodeID
	nodes map[manager.NodeID]*Node
	dirs  map[manager.NodeID]string
	addrs map[manager.NodeID]string // guarded by addrMu
	lives map[manager.NodeID]int    // incarnations started
	opts  func(*Options)            // adjusts each member's options

	// native members open their own TCP transport (Options.BindAddr) on a
	// new port at every start, without faultNet: the leader learns the
	// new address from Discovered and moves raft's configuration to it.
	native bool

	addrMu sync.Mutex
}

// ServerAddr resolves a member's current address for the transports.
func (c *tcpCluster) ServerAddr(id raft.ServerID) (raft.ServerAddress, error) {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
	if a, ok := c.addrs[manager.NodeID(id)]; ok {
		return raft.ServerAddress(a), nil
	}
	return "", fmt.Errorf("no address for %s", id)
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
	if c.native {
		return c.startNative(id, expect)
	}
	c.addrMu.Lock()
	bind := c.addrs[id]
	c.addrMu.Unlock()
	var tr *raft.NetworkTransport
	var err error
	for try := 0; try < 10; try++ {
		if bind == "" || try == 9 {
			bind = "127.0.0.1:0"
		}
		tr, err = raft.NewTCPTransportWithConfig(bind, nil, &raft.NetworkTransportConfig{
			ServerAddressProvider: c, MaxPool: 3, Timeout: time.Second, Logger: hclog.NewNullLogger()})
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		c.t.Fatalf("%s: transport on %s: %v", id, bind, err)
	}
	c.addrMu.Lock()
	c.addrs[id] = string(tr.LocalAddr())
	c.addrMu.Unlock()
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

func (c *tcpCluster) startNative(id manager.NodeID, expect int) *Node {
	c.t.Helper()
	c.lives[id]++
	opts := fastOptions(id)
	opts.BindAddr, opts.DataDir, opts.BootstrapExpect = "127.0.0.1:0", c.dirs[id], expect
	opts.OnApply = c.rec.hook(fmt.Sprintf("%s#%d", id, c.lives[id]))
	n, err := Open(opts)
	if err != nil {
		c.t.Fatalf("%s: %v", id, err)
	}
	c.addrMu.Lock()
	c.addrs[id] = n.Addr()
	c.addrMu.Unlock()
	c.nodes[id] = n
	c.discover()
	return n
}

// discover tells every running member of every started one, as the layer
// above's membership would.
func (c *tcpCluster) discover() {
	c.addrMu.Lock()
	defer c.addrMu.Unlock()
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
