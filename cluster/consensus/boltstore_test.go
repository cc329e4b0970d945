package consensus

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

// keeper is the agent's Keeper (package cluster/memberlist), repeated
// here so the build proves Node implements it without importing it.
type keeper interface {
	Config() manager.Config
	Leads() bool
	Apply(ctx context.Context, c manager.Change) (manager.Answer, error)
	Adjust(ctx context.Context, p manager.Proposal) (manager.Answer, error)
}

var _ keeper = (*Node)(nil)

// The log store keeps entries and stable values across a reopen, deletes
// ranges, and answers raft's "not found".
func TestBoltStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raft.db")
	s, err := openBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstIndex(); first != 0 {
		t.Fatalf("empty store: first index %d", first)
	}
	var logs []*raft.Log
	for i := uint64(1); i <= 10; i++ {
		logs = append(logs, &raft.Log{Index: i, Term: 1 + i/5, Type: raft.LogCommand, Data: []byte{byte(i)}})
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("term"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("vote"), []byte("n2")); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRange(1, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = openBoltStore(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first != 4 || last != 10 {
		t.Fatalf("after reopening: first %d last %d, want 4 10", first, last)
	}
	var l raft.Log
	if err := s.GetLog(7, &l); err != nil || l.Term != 2 || !bytes.Equal(l.Data, []byte{7}) {
		t.Fatalf("entry 7: %+v %v", l, err)
	}
	if err := s.GetLog(2, &l); !errors.Is(err, raft.ErrLogNotFound) {
		t.Fatalf("a deleted entry: %v", err)
	}
	if v, err := s.GetUint64([]byte("term")); err != nil || v != 7 {
		t.Fatalf("term %d %v", v, err)
	}
	if v, err := s.Get([]byte("vote")); err != nil || string(v) != "n2" {
		t.Fatalf("vote %q %v", v, err)
	}
	if _, err := s.Get([]byte("nothing")); err == nil || err.Error() != "not found" {
		t.Fatalf("a missing key: %v, want raft's \"not found\"", err)
	}
	if _, err := s.GetUint64([]byte("vote")); err == nil {
		t.Fatal("a 2-byte value read as a number")
	}
}
