package consensus

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// faultNet cuts and delays raft RPCs between members. Every member's
// transport is wrapped (faultTransport) and refuses to send to a member it
// is cut from; since both ends are wrapped, a cut is symmetric and covers
// everything raft sends (heartbeats and votes included). TCP transports
// are wrapped this way, so the partition tests run over real sockets.
type faultNet struct {
	mu    sync.Mutex
	cut   map[[2]raft.ServerID]bool
	delay time.Duration
}

var errCut = errors.New("faultnet: partitioned")

func newFaultNet() *faultNet { return &faultNet{cut: map[[2]raft.ServerID]bool{}} }

// partition cuts every member of side from every member not in it (of
// all).
func (f *faultNet) partition(side []raft.ServerID, all []raft.ServerID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := map[raft.ServerID]bool{}
	for _, id := range side {
		in[id] = true
	}
	for _, a := range all {
		for _, b := range all {
			if in[a] != in[b] {
				f.cut[[2]raft.ServerID{a, b}] = true
			}
		}
	}
}

// heal removes every cut.
func (f *faultNet) heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
}

// setDelay delays every RPC by d.
func (f *faultNet) setDelay(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay = d
}

func (f *faultNet) check(from, to raft.ServerID) error {
	f.mu.Lock()
	cut, d := f.cut[[2]raft.ServerID{from, to}], f.delay
	f.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	if cut {
		return errCut
	}
	return nil
}

// faultTransport is one member's transport through faultNet.
type faultTransport struct {
	raft.Transport
	net  *faultNet
	self raft.ServerID
}

func (t *faultTransport) AppendEntriesPipeline(raft.ServerID, raft.ServerAddress) (raft.AppendPipeline, error) {
	return nil, raft.ErrPipelineReplicationNotSupported // every append goes through AppendEntries, which can be cut
}

func (t *faultTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if err := t.net.check(t.self, id); err != nil {
		return err
	}
	return t.Transport.AppendEntries(id, target, args, resp)
}

func (t *faultTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if err := t.net.check(t.self, id); err != nil {
		return err
	}
	return t.Transport.RequestVote(id, target, args, resp)
}

func (t *faultTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if err := t.net.check(t.self, id); err != nil {
		return err
	}
	pv, ok := t.Transport.(raft.WithPreVote)
	if !ok {
		return errors.New("faultnet: the transport has no pre-vote")
	}
	return pv.RequestPreVote(id, target, args, resp)
}

func (t *faultTransport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	if err := t.net.check(t.self, id); err != nil {
		return err
	}
	return t.Transport.InstallSnapshot(id, target, args, resp, data)
}

func (t *faultTransport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	if err := t.net.check(t.self, id); err != nil {
		return err
	}
	return t.Transport.TimeoutNow(id, target, args, resp)
}

func (t *faultTransport) Close() error {
	if c, ok := t.Transport.(raft.WithClose); ok {
		return c.Close()
	}
	return nil
}
