package consensus

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestBoundStream: raft's connections leave from the listening address
// (127.0.0.2 here), not the one the kernel's route picks (127.0.0.1); an
// unspecified address with nothing to advertise is refused.
func TestBoundStream(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s, err := listenBound("127.0.0.2:0", nil)
	if err != nil {
		t.Skipf("127.0.0.2 not usable here: %v", err)
	}
	defer s.Close()
	accepted := make(chan net.Addr, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			accepted <- nil
			return
		}
		accepted <- c.RemoteAddr()
		c.Close()
	}()
	c, err := s.Dial(raft.ServerAddress(ln.Addr().String()), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if from := <-accepted; from == nil || from.(*net.TCPAddr).IP.String() != "127.0.0.2" {
		t.Fatalf("connection came from %v, want 127.0.0.2", from)
	}
	if s, err := listenBound("0.0.0.0:0", nil); err == nil {
		s.Close()
		t.Fatal("listenBound(0.0.0.0:0) with nothing to advertise: nil error")
	}
}
