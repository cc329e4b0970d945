package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lockstep/quorum/cluster/consensus"
	"github.com/lockstep/quorum/cmd/internal/promtext"
)

// replicated is one agent run with --raft, and where it serves HTTP.
type replicated struct {
	*agentProc
	name, http string
}

// status reads the agent's /status: its epoch and raft's state.
func (r replicated) status() (consensus.State, error) {
	resp, err := http.Get("http://" + r.http + "/status")
	if err != nil {
		return consensus.State{}, err
	}
	defer resp.Body.Close()
	var st struct {
		Raft *consensus.State `json:"raft"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return consensus.State{}, err
	}
	if st.Raft == nil {
		return consensus.State{}, fmt.Errorf("%s: no raft in /status", r.name)
	}
	return *st.Raft, nil
}

// agreed polls the agents until every one reports the same epoch (at
// least 1), the same raft voters and the same leader, which is one of
// them and the only one to say it leads; it returns that state.
func agreed(t *testing.T, what string, agents ...replicated) consensus.State {
	t.Helper()
	var last string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		states, err := states(agents)
		if err == nil {
			if err = agree(states); err == nil {
				return states[0]
			}
		}
		last = err.Error()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: the agents never agreed: %s", what, last)
	return consensus.State{}
}

func states(agents []replicated) ([]consensus.State, error) {
	var out []consensus.State
	for _, a := range agents {
		s, err := a.status()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func agree(states []consensus.State) error {
	leaders := 0
	for _, s := range states {
		if s.Raft == "Leader" {
			leaders++
		}
		first := states[0]
		if s.Epoch == 0 || s.Epoch != first.Epoch || !slices.Equal(s.Voters, first.Voters) || s.LeaderID == "" || s.LeaderID != first.LeaderID {
			return fmt.Errorf("%s differs from %s", s, first)
		}
	}
	if leaders != 1 {
		return fmt.Errorf("%d leaders among %v", leaders, states)
	}
	return nil
}

// TestReplicatedAgents runs three agents with --raft and
// --bootstrap-expect 3 on loopback: they form one cluster (the same
// epoch and raft voters everywhere, one leader), serve raft's state and
// numbers, and when the leader stops the other two elect another and keep
// one configuration.
func TestReplicatedAgents(t *testing.T) {
	common := []string{"--bind", "127.0.0.1:0", "--raft", "127.0.0.1:0", "--bootstrap-expect", "3", "--profile", "local", "--window", "300ms"}
	var agents []replicated
	var join []string
	for _, name := range []string{"r1", "r2", "r3"} {
		args := append([]string{"--name", name, "--data-dir", t.TempDir()}, common...)
		if join != nil {
			args = append(args, "--join", join[0])
		}
		p := start(t, args...)
		addr := p.wait(t, 0, `member `+name+` at (127\.0\.0\.1:\d+)`)[1]
		p.wait(t, 0, `raft at 127\.0\.0\.1:\d+, data in .*; bootstraps once 3 members are known`)
		join = append(join, addr)
		agents = append(agents, replicated{agentProc: p, name: name, http: p.wait(t, 0, `metrics at http://(127\.0\.0\.1:\d+)/metrics`)[1]})
	}
	st := agreed(t, "after the bootstrap", agents...)
	if !slices.Equal(st.Voters, []string{"r1", "r2", "r3"}) {
		t.Fatalf("raft voters %v, want [r1 r2 r3]", st.Voters)
	}
	for _, a := range agents {
		a.wait(t, 0, `raft: configured by the bootstrap: epoch 1 applied`)
		a.wait(t, 0, `raft: leader `+st.LeaderID)
	}
	var leader replicated
	var rest []replicated
	for _, a := range agents {
		if a.name == st.LeaderID {
			leader = a
		} else {
			rest = append(rest, a)
		}
	}
	checkRaftHTTP(t, leader)

	leader.stop(t)
	after := agreed(t, "after the leader stopped", rest...)
	if after.LeaderID == st.LeaderID || after.Epoch < st.Epoch || after.Term <= st.Term {
		t.Fatalf("after the leader stopped: %s; before: %s", after, st)
	}
	rest[0].wait(t, 0, `raft: leader `+after.LeaderID)
}

// checkRaftHTTP reads a's /metrics (the manager's and raft's numbers,
// all labelled), /debug/vars and / for raft's state.
func checkRaftHTTP(t *testing.T, a replicated) {
	t.Helper()
	checkPrometheus(t, "http://"+a.http+"/metrics", a.name)
	resp, err := http.Get("http://" + a.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, err := promtext.Parse(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, m := range metrics {
		got[m.Name] = m.Samples[0].Value
	}
	for name, want := range map[string]float64{"leader": 1, "voters": 3, "last_contact_seconds": 0} {
		if v, ok := got["lockstep_quorum_raft_"+name]; !ok || v != want {
			t.Errorf("lockstep_quorum_raft_%s = %v (present %v), want %v", name, v, ok, want)
		}
	}
	for _, name := range []string{"term", "commit_index", "applied_index", "epoch"} {
		if got["lockstep_quorum_raft_"+name] < 1 {
			t.Errorf("lockstep_quorum_raft_%s = %v, want at least 1", name, got["lockstep_quorum_raft_"+name])
		}
	}

	resp, err = http.Get("http://" + a.http + "/debug/vars")
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Raft map[string]consensus.Metrics `json:"lockstep_quorum_raft"`
	}
	err = json.NewDecoder(resp.Body).Decode(&vars)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if m := vars.Raft[a.name]; !m.Leader || m.Voters != 3 || m.Epoch == 0 {
		t.Errorf("/debug/vars lockstep_quorum_raft.%s = %+v, want the leader of 3 voters", a.name, m)
	}

	resp, err = http.Get("http://" + a.http + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "raft: " + a.name + ": Leader, leader " + a.name; !strings.Contains(string(body), want) {
		t.Errorf("/ lacks %q:\n%s", want, body)
	}
}
