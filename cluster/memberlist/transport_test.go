package memberlist

import (
	"errors"
	"log"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// partition decides which memberlist addresses are cut off from the rest.
type partition struct {
	mu       sync.Mutex
	isolated map[string]bool
}

func newPartition() *partition { return &partition{isolated: map[string]bool{}} }

func (p *partition) isolate(addr string, cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cut {
		p.isolated[addr] = true
	} else {
		delete(p.isolated, addr)
	}
}

// blocked: nothing passes between a and b while either is isolated.
func (p *partition) blocked(a, b string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.isolated[a] || p.isolated[b]
}

var errPartitioned = errors.New("partitioned (test)")

// dropTransport wraps memberlist's NetTransport on loopback and drops
// every packet, and refuses every connection, that the partition blocks:
// outgoing ones by their destination, incoming packets by their source
// (the sender's memberlist address, since NetTransport sends from its
// listening socket). Incoming streams come from ephemeral ports, so they
// are not filtered: the dialling side's wrapper refuses them first.
type dropTransport struct {
	inner   *memberlist.NetTransport
	part    *partition
	self    string
	packets chan *memberlist.Packet
	streams chan net.Conn
	stop    chan struct{}
	wg      sync.WaitGroup
	once    sync.Once
}

// newDropTransport listens on 127.0.0.1 at port (0: any free one, the
// same for UDP and TCP).
func newDropTransport(part *partition, port int, logger *log.Logger) (*dropTransport, error) {
	var inner *memberlist.NetTransport
	var err error
	for range 10 { // binding UDP and TCP to one free port can race
		inner, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{"127.0.0.1"}, BindPort: port, Logger: logger})
		if err == nil || port != 0 {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	t := &dropTransport{
		inner:   inner,
		part:    part,
		self:    net.JoinHostPort("127.0.0.1", strconv.Itoa(inner.GetAutoBindPort())),
		packets: make(chan *memberlist.Packet),
		streams: make(chan net.Conn),
		stop:    make(chan struct{}),
	}
	t.wg.Add(2)
	go func() {
		defer t.wg.Done()
		for {
			select {
			case p := <-inner.PacketCh():
				if t.part.blocked(p.From.String(), t.self) {
					continue
				}
				select {
				case t.packets <- p:
				case <-t.stop:
					return
				}
			case <-t.stop:
				return
			}
		}
	}()
	go func() {
		defer t.wg.Done()
		for {
			select {
			case c := <-inner.StreamCh():
				if t.part.blocked(t.self, t.self) {
					c.Close()
					continue
				}
				select {
				case t.streams <- c:
				case <-t.stop:
					c.Close()
					return
				}
			case <-t.stop:
				return
			}
		}
	}()
	return t, nil
}

func (t *dropTransport) port() int { return t.inner.GetAutoBindPort() }

func (t *dropTransport) FinalAdvertiseAddr(ip string, port int) (net.IP, int, error) {
	return t.inner.FinalAdvertiseAddr(ip, port)
}

func (t *dropTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	if t.part.blocked(t.self, addr) {
		return time.Now(), nil // sent, as far as UDP can tell
	}
	return t.inner.WriteTo(b, addr)
}

func (t *dropTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *dropTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	if t.part.blocked(t.self, addr) {
		return nil, errPartitioned
	}
	return t.inner.DialTimeout(addr, timeout)
}

func (t *dropTransport) StreamCh() <-chan net.Conn { return t.streams }

func (t *dropTransport) Shutdown() error {
	err := t.inner.Shutdown()
	t.once.Do(func() { close(t.stop) })
	t.wg.Wait()
	return err
}
