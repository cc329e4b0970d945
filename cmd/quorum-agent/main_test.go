package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lockstep/quorum/cmd/internal/promtext"
)

// lockedBuffer is an io.Writer the agent writes and the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type agentProc struct {
	out, errs *lockedBuffer
	cancel    context.CancelFunc
	done      chan error
	once      sync.Once
}

func start(t *testing.T, args ...string) *agentProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &agentProc{out: &lockedBuffer{}, errs: &lockedBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { p.done <- run(ctx, args, p.out, p.errs) }()
	t.Cleanup(func() { p.stop(t) })
	return p
}

func (p *agentProc) stop(t *testing.T) {
	p.once.Do(func() {
		p.cancel()
		select {
		case err := <-p.done:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("the agent did not stop")
		}
	})
}

// mark is where the agent's output stands, for wait.
func (p *agentProc) mark() int { return len(p.out.String()) }

// wait polls the agent's output after from for re.
func (p *agentProc) wait(t *testing.T, from int, re string) []string {
	t.Helper()
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if m := r.FindStringSubmatch(p.out.String()[from:]); m != nil {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no %q in the output:\n%s\nstderr:\n%s", re, p.out.String()[from:], p.errs.String())
	return nil
}

// TestThreeAgents runs three agents on loopback: two join the first, all
// report three voters with a recommended quorum of 2, the metrics and
// status are served over HTTP, and cancelling one leaves gracefully: the
// others remove it once the window passes.
func TestThreeAgents(t *testing.T) {
	common := []string{"--bind", "127.0.0.1:0", "--profile", "local", "--window", "300ms"}
	a := start(t, append([]string{"--name", "a1", "--domain", "rack-a"}, common...)...)
	addr := a.wait(t, 0, `member a1 at (127\.0\.0\.1:\d+)`)[1]
	httpAddr := a.wait(t, 0, `metrics at http://(127\.0\.0\.1:\d+)/metrics`)[1]
	b := start(t, append([]string{"--name", "b1", "--domain", "rack-b", "--join", addr}, common...)...)
	c := start(t, append([]string{"--name", "c1", "--domain", "rack-c", "--join", addr}, common...)...)
	for _, p := range []*agentProc{a, b, c} {
		p.wait(t, 0, `recommended quorum: 2 of 3 voters: \w+ \w+ \(`)
		p.wait(t, 0, `quorum 2 of 3 voters; tolerates 1 failure`)
	}
	b.wait(t, 0, `joined through 1 of`)

	resp, err := http.Get("http://" + httpAddr + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Managers map[string]struct {
			Voters int `json:"voters"`
			Quorum int `json:"quorum"`
		} `json:"lockstep_quorum_manager"`
	}
	err = json.NewDecoder(resp.Body).Decode(&vars)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m := vars.Managers["a1"]; m.Voters != 3 || m.Quorum != 2 {
		t.Errorf("a1's metrics: %+v, want 3 voters, quorum 2 (all: %+v)", m, vars.Managers)
	}
	checkPrometheus(t, "http://"+httpAddr+"/metrics", "a1")
	resp, err = http.Get("http://" + httpAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"self": "a1"`) || !strings.Contains(string(body), `"reasoning"`) {
		t.Errorf("/status:\n%s", body)
	}

	// c leaves: a sees it leave, then removes it once the window passes.
	from := a.mark()
	c.stop(t)
	if !strings.HasSuffix(c.out.String(), "left\n") {
		t.Errorf("c's output does not end with left:\n%s", c.out.String())
	}
	a.wait(t, from, `c1 127\.0\.0\.1:\d+ left since`)
	a.wait(t, from, `quorum 2 of 2 voters`)
	if out := a.out.String()[from:]; strings.Contains(out, "c1  failed") && strings.Contains(out, "refus") {
		t.Errorf("c's departure was treated as a failure:\n%s", out)
	}
}

// checkPrometheus reads url as Prometheus text: every line a HELP or TYPE
// comment or a sample, every metric with both (promtext.Parse), and the
// member's three voters, quorum of two and the other manager metrics
// there.
func checkPrometheus(t *testing.T, url, member string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("/metrics Content-Type %q", ct)
	}
	metrics, err := promtext.Parse(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range metrics {
		for _, s := range m.Samples {
			if len(s.Labels) == 0 || s.Labels[0] != (promtext.Label{Name: "member", Value: member}) {
				t.Errorf("%s: labels %v, want member=%q first", m.Name, s.Labels, member)
			}
		}
		got[m.Name] = m.Samples[0].Value
	}
	for name, want := range map[string]float64{"voters": 3, "quorum": 2, "healthy_voters": 3, "tolerance": 1} {
		if v, ok := got["lockstep_quorum_"+name]; !ok || v != want {
			t.Errorf("lockstep_quorum_%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	for _, name := range []string{"epoch", "decisions_total", "adjustments_total", "rollbacks_total", "refusals_total"} {
		if _, ok := got["lockstep_quorum_"+name]; !ok {
			t.Errorf("no lockstep_quorum_%s", name)
		}
	}
}

func TestBadFlags(t *testing.T) {
	short := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(short, []byte(base64.StdEncoding.EncodeToString([]byte("too short"))), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--key-file", short, "--bind", "127.0.0.1:0", "--http", ""},
		{"--key-file", filepath.Join(t.TempDir(), "missing"), "--bind", "127.0.0.1:0", "--http", ""},
		{"--bind", "nope"},
		{"--bind", "127.0.0.1:70000"},
		{"--profile", "moon"},
		{"--rule", "plurality"},
		{"extra"},
		{"--name", "a b", "--bind", "127.0.0.1:0", "--http", ""},
		{"--raft", "127.0.0.1:0", "--data-dir", t.TempDir(), "--state", "x.json"},
		{"--raft", "127.0.0.1:0"},
		{"--raft", "nope", "--data-dir", t.TempDir()},
		{"--raft", "127.0.0.1:0", "--data-dir", t.TempDir(), "--bootstrap-expect", "-1"},
		{"--bootstrap-expect", "3"},
		{"--data-dir", t.TempDir()},
	} {
		var out, errs bytes.Buffer
		if err := run(context.Background(), args, &out, &errs); err == nil {
			t.Errorf("run(%q) = nil error", args)
		}
	}
}

// Started bare, the agent prints its usage instead of starting a daemon;
// --version prints one line.
func TestNoArgumentsAndVersion(t *testing.T) {
	var out, errs bytes.Buffer
	if err := run(context.Background(), nil, &out, &errs); !errors.Is(err, errNoArguments) || !strings.Contains(errs.String(), "usage: quorum-agent") {
		t.Errorf("no arguments: err %v, stderr %q", err, errs.String())
	}
	out.Reset()
	if err := run(context.Background(), []string{"--version"}, &out, &errs); !errors.Is(err, flag.ErrHelp) || !strings.HasPrefix(out.String(), "quorum-agent ") {
		t.Errorf("--version: err %v, stdout %q", err, out.String())
	}
}

// TestEncrypted: two agents with the same key file form a cluster.
func TestEncrypted(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--bind", "127.0.0.1:0", "--profile", "local", "--window", "200ms", "--http", "", "--key-file", key}
	a := start(t, append([]string{"--name", "a2"}, common...)...)
	addr := a.wait(t, 0, `member a2 at (127\.0\.0\.1:\d+)`)[1]
	b := start(t, append([]string{"--name", "b2", "--join", addr}, common...)...)
	for _, p := range []*agentProc{a, b} {
		p.wait(t, 0, `quorum 2 of 2 voters`)
	}
}
