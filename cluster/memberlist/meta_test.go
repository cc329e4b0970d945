package memberlist

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/manager"
)

func TestMetaRoundTrip(t *testing.T) {
	for _, m := range []Meta{
		{},
		{Domain: "rack-a"},
		{Domain: "rack-a", Raft: "10.0.0.1:8300"},
		{Raft: "[fd00::1]:8300"},
		{Domain: "eu-west-1a", Capabilities: manager.Capabilities{CPU: 16, MemoryMB: 65536, BandwidthMbps: 25000}, Standby: true, Leaving: true},
	} {
		b, err := m.Encode()
		if err != nil {
			t.Fatalf("Encode(%+v): %v", m, err)
		}
		if len(b) > memberlist.MetaMaxSize {
			t.Fatalf("Encode(%+v) is %d bytes", m, len(b))
		}
		got, err := DecodeMeta(b)
		if err != nil || got != m {
			t.Fatalf("DecodeMeta(Encode(%+v)) = %+v, %v", m, got, err)
		}
	}
	if m, err := DecodeMeta(nil); err != nil || m != (Meta{}) {
		t.Fatalf("DecodeMeta(nil) = %+v, %v; want the zero Meta", m, err)
	}
}

func TestMetaRefused(t *testing.T) {
	for _, m := range []Meta{
		{Domain: "has space"},
		{Domain: strings.Repeat("d", 65)},
		{Capabilities: manager.Capabilities{CPU: -1}},
		{Raft: "10.0.0.1"},
		{Raft: ":8300"},
		{Raft: "10.0.0.1:0"},
		{Raft: "10.0.0.1:http"},
		{Raft: "10.0.0.1:65536"},
	} {
		if _, err := m.Encode(); err == nil {
			t.Errorf("Encode(%+v) = nil error", m)
		}
	}
	for _, b := range []string{"x", "q", "q{", `q{"domain":1}`, `q{"unknown":1}`, `q{} {}`, `q{"domain":"a b"}`, `q{"raft":"nohost"}`} {
		if _, err := DecodeMeta([]byte(b)); err == nil {
			t.Errorf("DecodeMeta(%q) = nil error", b)
		}
	}
}

func TestPayload(t *testing.T) {
	reports := []linkReport{
		{name: "n1", reachable: true, rtt: 1500 * time.Microsecond},
		{name: "n2"},
		{name: "n3", reachable: true, rtt: 0},
	}
	b, n := encodePayload(reports, 1)
	if n != 3 {
		t.Fatalf("encoded %d reports, want 3", n)
	}
	got := decodePayload(b)
	want := []linkReport{reports[1], reports[2], reports[0]}
	if len(got) != 3 {
		t.Fatalf("decoded %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}

	// Too many to fit: a prefix, within payloadMax; the next start takes
	// the rest in turn.
	var many []linkReport
	for i := range 100 {
		many = append(many, linkReport{name: strings.Repeat("x", 20) + string(rune('a'+i%26)) + string(rune('a'+i/26)), reachable: true, rtt: time.Duration(i) * time.Millisecond})
	}
	b, n = encodePayload(many, 0)
	if len(b) > payloadMax || n == 0 || n >= len(many) {
		t.Fatalf("payload of %d bytes holds %d reports", len(b), n)
	}
	if got := decodePayload(b); len(got) != n || got[0] != many[0] {
		t.Fatalf("decoded %d reports, want %d starting with %+v", len(got), n, many[0])
	}
	if got := decodePayload(b[:len(b)-1]); len(got) != n-1 {
		t.Fatalf("truncated payload: %d reports, want %d", len(got), n-1)
	}
	for _, bad := range [][]byte{nil, {}, {2, 1, 'a', 0, 0, 0, 0}, {payloadVersion, 0}} {
		if got := decodePayload(bad); len(got) != 0 {
			t.Errorf("decodePayload(%v) = %+v, want nothing", bad, got)
		}
	}
}

func TestFailureDetectionTime(t *testing.T) {
	conf := memberlist.DefaultLANConfig()
	// 5 members: 6 probe intervals of 1s, then 6 × (4 × max(1, log10(5))
	// × 1s) of suspicion, then 4 gossip intervals of 200ms.
	if got, want := FailureDetectionTime(conf, 5), 6*time.Second+24*time.Second+800*time.Millisecond; got != want {
		t.Errorf("FailureDetectionTime(LAN, 5) = %v, want %v", got, want)
	}
	// 100 members: log10(100) = 2.
	if got, want := FailureDetectionTime(conf, 100), 101*time.Second+48*time.Second+800*time.Millisecond; got != want {
		t.Errorf("FailureDetectionTime(LAN, 100) = %v, want %v", got, want)
	}
}

func TestNewRefuses(t *testing.T) {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = "bad name"
	if _, err := New(conf, Options{}); err == nil {
		t.Error("New accepted a name with a space")
	}
	conf = memberlist.DefaultLocalConfig()
	conf.Name = "a"
	conf.Ping = &delegates{}
	if _, err := New(conf, Options{}); err == nil {
		t.Error("New accepted a config whose Ping delegate is taken")
	}
	conf = memberlist.DefaultLocalConfig()
	conf.Name = "a"
	if _, err := New(conf, Options{Meta: Meta{Domain: "a b"}}); err == nil {
		t.Error("New accepted a bad domain")
	}
	if _, err := New(nil, Options{}); err == nil {
		t.Error("New accepted a nil config")
	}
}
