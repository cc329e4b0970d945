package main

import (
	"encoding/json"
	"expvar"
	"net/http"

	"github.com/lockstep/quorum/cluster/consensus"
	qml "github.com/lockstep/quorum/cluster/memberlist"
	"github.com/lockstep/quorum/cmd/internal/promtext"
)

// status is what /status serves: the agent's Status, and raft's state
// with --raft.
type status struct {
	qml.Status
	Raft *consensus.State `json:"raft,omitempty"`
}

// handler serves /metrics (Prometheus text: the manager's metrics, and
// raft's with --raft), /debug/vars (expvar), /status (the agent's Status
// and raft's State as JSON) and / (the text report).
func handler(a *qml.Agent, src source) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		name := string(a.Name())
		metrics := promtext.Quorum(name, src.managerMetrics())
		if src.node != nil {
			metrics = append(metrics, promtext.Raft(name, src.node.Metrics())...)
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		promtext.Write(w, metrics)
	})
	mux.Handle("/debug/vars", expvar.Handler())
	mux.HandleFunc("/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(status{Status: a.Status(), Raft: src.raftState()})
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		report(w, a.Status(), a.View(), src.raftState())
	})
	return mux
}
