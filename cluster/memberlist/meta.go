package memberlist

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/lockstep/quorum/cluster/policy"
	"github.com/lockstep/quorum/manager"
)

// Meta is what a member gossips about itself in memberlist's node metadata
// (Delegate.NodeMeta): its failure domain and capabilities, from which the
// manager computes its weight, and whether it wants a vote.
type Meta struct {
	// Domain is the failure domain (rack, zone) the member shares fate with.
	Domain       string               `json:"domain,omitempty"`
	Capabilities manager.Capabilities `json:"capabilities,omitzero"` // for weights and replacements
	// Standby: the member keeps a replica but is never made a voter except
	// to replace a failed voter (the strategies' choice).
	Standby bool `json:"standby,omitempty"`
	// Raft is the member's raft address (host:port) when its
	// configuration is replicated (package cluster/consensus): what
	// Options.OnMember hands to consensus.Node.Discovered. Empty: none.
	Raft string `json:"raft,omitempty"`
	// Leaving is set by Agent.Leave just before memberlist's Leave, so
	// peers tell a graceful departure (the member is removed) from a
	// failure (the member stays, failed, until replaced). Ignored in
	// Options.
	Leaving bool `json:"leaving,omitempty"`
}

// metaVersion is the first byte of every encoded Meta.
const metaVersion = 'q'

// Encode returns the metadata as memberlist carries it: a version byte and
// JSON, at most memberlist.MetaMaxSize bytes.
func (m Meta) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	b = append([]byte{metaVersion}, b...)
	if len(b) > memberlist.MetaMaxSize {
		return nil, fmt.Errorf("memberlist: metadata is %d bytes, at most %d allowed", len(b), memberlist.MetaMaxSize)
	}
	return b, nil
}

// DecodeMeta reads metadata written by Encode. Empty metadata (a member
// that runs memberlist without this package) is the zero Meta: unknown
// domain and capabilities.
func DecodeMeta(b []byte) (Meta, error) {
	var m Meta
	if len(b) == 0 {
		return m, nil
	}
	if b[0] != metaVersion {
		return m, fmt.Errorf("memberlist: metadata does not start with version byte %q", metaVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(b[1:]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Meta{}, fmt.Errorf("memberlist: metadata: %w", err)
	}
	if dec.More() {
		return Meta{}, errors.New("memberlist: metadata: trailing data")
	}
	if err := m.Validate(); err != nil {
		return Meta{}, err
	}
	return m, nil
}

// Validate reports a domain the manager would refuse, negative
// capabilities or a raft address that is not host:port.
func (m Meta) Validate() error {
	if err := validMember("x", m.Domain); err != nil {
		return err
	}
	if c := m.Capabilities; c.CPU < 0 || c.MemoryMB < 0 || c.BandwidthMbps < 0 {
		return fmt.Errorf("memberlist: capabilities must not be negative, got %+v", c)
	}
	if m.Raft != "" {
		// Peers dial it: a missing host or port 0 would be accepted by
		// net.SplitHostPort and fail only at the first connection.
		host, port, err := net.SplitHostPort(m.Raft)
		if err != nil {
			return fmt.Errorf("memberlist: Meta.Raft: %w", err)
		}
		if p, err := strconv.Atoi(port); host == "" || err != nil || p < 1 || p > 65535 {
			return fmt.Errorf("memberlist: Meta.Raft: want host:port with a port from 1 to 65535, got %q", m.Raft)
		}
	}
	return nil
}

// validMember reports a node name or domain the manager would refuse,
// with the manager's own rules.
func validMember(id, domain string) error {
	_, err := manager.NewQuorum(manager.Rule{}, []manager.Voter{{ID: manager.NodeID(id), Weight: manager.One, Domain: domain}})
	return err
}

// member is a peer with this metadata as the policy reads it: alive since
// then.
func (m Meta) member(id manager.NodeID, since time.Time) policy.Member {
	return policy.Member{ID: id, State: policy.Alive, Since: since, Domain: m.Domain, Capabilities: m.Capabilities, Standby: m.Standby}
}
