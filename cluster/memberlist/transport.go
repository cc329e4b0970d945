package memberlist

import (
	"fmt"
	"log"
	"net"
	"time"

	"github.com/hashicorp/memberlist"
)

// BoundTransport is memberlist's NetTransport whose TCP connections
// (push-pull, fallback probes, reliable messages) leave from the address
// it is bound to. Otherwise the kernel picks their source address by
// route: on a host with several addresses (several loopback addresses
// on one machine, or a multi-homed host) a member's connections appear
// to come from another address than its UDP probes, and firewall rules
// by source address cut one and not the other.
type BoundTransport struct {
	*memberlist.NetTransport
	dialer net.Dialer
}

// NewBoundTransport binds a BoundTransport to conf.BindAddr and
// conf.BindPort (0: any free port, which is then written back to both
// conf.BindPort and conf.AdvertisePort, as memberlist does) and makes it
// conf.Transport. An unspecified BindAddr (0.0.0.0, ::) leaves the source
// address to the kernel.
func NewBoundTransport(conf *memberlist.Config) (*BoundTransport, error) {
	if conf == nil {
		return nil, fmt.Errorf("memberlist: NewBoundTransport needs a memberlist config")
	}
	ip := net.ParseIP(conf.BindAddr)
	if ip == nil {
		return nil, fmt.Errorf("memberlist: conf.BindAddr: want an IP address, got %q", conf.BindAddr)
	}
	logger := conf.Logger
	if logger == nil {
		logger = log.Default()
	}
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{conf.BindAddr}, BindPort: conf.BindPort, Logger: logger, MetricLabels: conf.MetricLabels,
	})
	if err != nil {
		return nil, fmt.Errorf("memberlist: transport on %s:%d: %w", conf.BindAddr, conf.BindPort, err)
	}
	t := &BoundTransport{NetTransport: nt}
	if !ip.IsUnspecified() {
		t.dialer.LocalAddr = &net.TCPAddr{IP: ip}
	}
	if conf.BindPort == 0 {
		conf.BindPort = nt.GetAutoBindPort()
		conf.AdvertisePort = conf.BindPort
	}
	conf.Transport = t
	return t, nil
}

// DialTimeout implements memberlist.Transport.
func (t *BoundTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *BoundTransport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	d := t.dialer
	d.Timeout = timeout
	return d.Dial("tcp", a.Addr)
}
