package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	qagent "github.com/lockstep/quorum/cluster/agent"
	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/manager/advice"
)

// printer writes a report whenever the agent's status changes, and a line
// whenever raft's does.
type printer struct {
	mu          sync.Mutex
	w           io.Writer
	agent       *qml.Agent
	node        *consensus.Node // nil without --raft
	pending     *qml.Status     // a change before the agent was known
	pendingRaft []string        // raft's lines meanwhile
}

func (p *printer) setAgent(a *qml.Agent, n *consensus.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.agent, p.node = a, n
	if p.pending != nil {
		p.print(*p.pending)
		p.pending = nil
	}
	for _, line := range p.pendingRaft {
		io.WriteString(p.w, line)
	}
	p.pendingRaft = nil
}

// raft prints one change of raft's state (qagent.Options.OnRaft).
func (p *printer) raft(ev qagent.Event) {
	line := fmt.Sprintf("%s: %s\n", stamp(ev.Time), ev)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.agent == nil {
		p.pendingRaft = append(p.pendingRaft, line)
		return
	}
	io.WriteString(p.w, line)
}

func (p *printer) change(st qml.Status) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.agent == nil {
		p.pending = &st
		return
	}
	p.print(st)
}

func (p *printer) print(st qml.Status) {
	var b bytes.Buffer
	report(&b, st, p.agent.View(), raftState(p.node))
	p.w.Write(b.Bytes())
}

func raftState(n *consensus.Node) *consensus.State {
	if n == nil {
		return nil
	}
	s := n.State()
	return &s
}

// report writes the membership, raft's state (rs, nil without --raft),
// the configuration (with each member's latency and centrality in view)
// and the recommendation.
func report(w io.Writer, st qml.Status, view advice.NetworkView, rs *consensus.State) {
	fmt.Fprintf(w, "\n%s: %s, epoch %d\n", stamp(st.Time), st.Self, st.Config.Epoch)
	var members []string
	for _, mb := range st.Members {
		s := fmt.Sprintf("%s %s %s", mb.ID, mb.Addr, mb.State)
		switch {
		case mb.Self:
			s += " (self)"
		case mb.State == qml.Alive && mb.RTT > 0:
			s += " rtt " + mb.RTT.Round(10*time.Microsecond).String()
		case mb.State != qml.Alive:
			s += " since " + stamp(mb.Since)
		}
		members = append(members, s)
	}
	fmt.Fprintf(w, "memberlist: %s\n", strings.Join(members, "; "))
	if rs != nil {
		fmt.Fprintf(w, "raft: %s\n", rs)
	}
	fmt.Fprint(w, st.Config.DescribeColumns([]string{"LATENCY", "CENTRALITY"}, func(id manager.NodeID) []string {
		lat := "-"
		if d, ok := view.Latency[id]; ok {
			lat = d.Round(10 * time.Microsecond).String()
		}
		return []string{lat, fmt.Sprintf("%.2f", view.Centrality[id])}
	}))
	if !st.Leads {
		fmt.Fprintln(w, "following: the raft leader proposes the changes")
	}
	rec := st.Recommendation
	if st.RecommendError != "" {
		fmt.Fprintf(w, "recommendation: none: %s\n", st.RecommendError)
	} else {
		nodes := "none reachable"
		if len(rec.Nodes) > 0 {
			nodes = joinIDs(rec.Nodes)
		}
		change := ""
		if rec.Changed {
			change = ", proposes a change"
		}
		fmt.Fprintf(w, "recommended quorum: %d of %d voters: %s (%s, confidence %.2f%s)\n",
			rec.Quorum, len(rec.Proposal.Voters), nodes, rec.Strategy, rec.Confidence, change)
		for _, r := range rec.Reasoning {
			fmt.Fprintf(w, "  - %s\n", r)
		}
		fmt.Fprintf(w, "  impact: %s\n", rec.Impact.Summary)
	}
	for _, h := range st.Held {
		fmt.Fprintf(w, "held: %s\n", h)
	}
	if st.LastError != "" {
		fmt.Fprintf(w, "last refusal: %s\n", st.LastError)
	}
}

func joinIDs(ids []manager.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = string(id)
	}
	return strings.Join(s, " ")
}
