package memberlist

import (
	"net"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
)

// TestBoundTransportDialsFromBindAddr: a connection to 127.0.0.1 from a
// transport bound to 127.0.0.2 comes from 127.0.0.2, not from the
// address the kernel's route would pick (127.0.0.1).
func TestBoundTransportDialsFromBindAddr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conf := memberlist.DefaultLocalConfig()
	conf.BindAddr, conf.BindPort = "127.0.0.2", 0
	tr, err := NewBoundTransport(conf)
	if err != nil {
		t.Skipf("127.0.0.2 not usable here: %v", err)
	}
	defer tr.Shutdown()
	if conf.Transport != tr || conf.BindPort == 0 || conf.AdvertisePort != conf.BindPort {
		t.Fatalf("conf: transport %v, port %d, advertise %d; want the transport and its port", conf.Transport, conf.BindPort, conf.AdvertisePort)
	}
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
	c, err := tr.DialTimeout(ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if from := <-accepted; from == nil || from.(*net.TCPAddr).IP.String() != "127.0.0.2" {
		t.Fatalf("connection came from %v, want 127.0.0.2", from)
	}
	if _, err := NewBoundTransport(&memberlist.Config{BindAddr: "localhost"}); err == nil {
		t.Fatal("NewBoundTransport accepted BindAddr localhost (not an IP)")
	}
}
