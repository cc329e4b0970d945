package consensus

import (
	"fmt"
	"net"
	"time"

	"github.com/hashicorp/raft"
)

// boundStream is raft's TCP stream layer, except that connections leave
// from the address it listens on when that is a specific IP. Otherwise the
// kernel picks their source by route: with several members on one host's
// loopback addresses (or on a multi-homed host) every connection would
// appear to come from one address, and firewall rules by source address
// (a partition made with iptables) would not cut what they say.
type boundStream struct {
	ln        *net.TCPListener
	advertise net.Addr
	dialer    net.Dialer
}

// listenBound listens on bindAddr; advertise, if not nil, is the address
// peers reach it at. Like raft's own TCP transport, it refuses an address
// peers could not dial.
func listenBound(bindAddr string, advertise net.Addr) (*boundStream, error) {
	ln, err := net.Listen("tcp", bindAddr)
	if err != nil {
		return nil, err
	}
	s := &boundStream{ln: ln.(*net.TCPListener), advertise: advertise}
	local := s.ln.Addr().(*net.TCPAddr)
	if !local.IP.IsUnspecified() {
		s.dialer.LocalAddr = &net.TCPAddr{IP: local.IP}
	}
	addr, ok := s.Addr().(*net.TCPAddr)
	if !ok || addr.IP == nil || addr.IP.IsUnspecified() {
		ln.Close()
		return nil, fmt.Errorf("%v is not an address peers can dial: set Options.Advertise", s.Addr())
	}
	return s, nil
}

// Dial implements raft.StreamLayer.
func (s *boundStream) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	d := s.dialer
	d.Timeout = timeout
	return d.Dial("tcp", string(address))
}

// Accept implements net.Listener.
func (s *boundStream) Accept() (net.Conn, error) { return s.ln.Accept() }

// Close implements net.Listener.
func (s *boundStream) Close() error { return s.ln.Close() }

// Addr implements net.Listener: the advertised address if there is one.
func (s *boundStream) Addr() net.Addr {
	if s.advertise != nil {
		return s.advertise
	}
	return s.ln.Addr()
}

var _ raft.StreamLayer = (*boundStream)(nil)
