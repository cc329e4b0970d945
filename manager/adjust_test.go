package manager

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func steps(adj Adjustment) string {
	var s []string
	for _, e := range adj.Steps {
		j := ""
		if e.Joint {
			j = "(joint)"
		}
		s = append(s, fmt.Sprintf("%d %s %s%s", e.Epoch, e.Op, e.Step, j))
	}
	return strings.Join(s, "; ")
}

// swap is a proposal replacing voter e with standby s: old and new
// majorities might not intersect, so it needs a joint phase.
var swap = Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}

func TestAdjust(t *testing.T) {
	weights := Proposal{Rule: Rule{Weighted: true}, Voters: []Vote{{ID: "a", Weight: 1200}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}
	boom := errors.New("the new quorum did not answer")
	tests := []struct {
		name     string
		proposal Proposal
		failAt   int // fail the n-th verification (1-based), 0 never
		status   Status
		steps    string
		joint    bool // the configuration ends in a joint phase
		voters   string
	}{
		{"direct", weights, 0, OK,
			"1 reconfigure validated; 2 reconfigure applied; 2 reconfigure verified", false, "a b c d e"},
		{"through a joint phase", swap, 0, OK,
			"1 reconfigure validated; 2 reconfigure applied(joint); 2 reconfigure verified(joint); 3 leave-joint applied; 3 reconfigure verified", false, "a b c d s"},
		{"direct, verification fails: rolled back", weights, 1, RolledBack,
			"1 reconfigure validated; 2 reconfigure applied; 2 reconfigure verify-failed; 3 rollback applied", false, "a b c d e"},
		{"joint, fails in the joint phase: straight back", swap, 1, RolledBack,
			"1 reconfigure validated; 2 reconfigure applied(joint); 2 reconfigure verify-failed(joint); 3 rollback applied", false, "a b c d e"},
		{"joint, fails after it: back through a joint phase", swap, 2, RolledBack,
			"1 reconfigure validated; 2 reconfigure applied(joint); 2 reconfigure verified(joint); 3 leave-joint applied; 3 reconfigure verify-failed; 4 rollback applied(joint)", true, "a b c d e"},
		{"refused", Proposal{Voters: []Vote{{ID: "a"}}}, 0, Refused, "1 reconfigure refused", false, "a b c d e"},
		{"unknown members", Proposal{Voters: []Vote{{ID: "a"}, {ID: "q"}}}, 0, UnknownMembers, "1 reconfigure refused", false, "a b c d e"},
		{"already in force", Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}, 0, AlreadyApplied, "", false, "a b c d e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Rule{}, "a b c d e s*")
			before := m.Config().Quorum()
			calls := 0
			var seen []uint64
			adj := m.Adjust(2, tt.proposal, func(cfg Config) error {
				calls++
				seen = append(seen, cfg.Epoch)
				if calls == tt.failAt {
					return boom
				}
				return nil
			})
			if adj.Answer.Status != tt.status || steps(adj) != tt.steps {
				t.Fatalf("answer %+v, steps %q; want %v, %q", adj.Answer, steps(adj), tt.status, tt.steps)
			}
			cfg := m.Config()
			if cfg.Joint() != tt.joint || adj.Answer.Joint != tt.joint || joinIDs(cfg.Quorum().IDs()) != tt.voters {
				t.Fatalf("ends at %s", cfg.Describe())
			}
			if joinIDs(adj.After.IDs()) != tt.voters || !adj.Before.Equal(before) {
				t.Fatalf("before %v after %v", adj.Before.IDs(), adj.After.IDs())
			}
			if tt.status == RolledBack {
				if !strings.Contains(adj.Answer.Reason, boom.Error()) {
					t.Fatalf("reason %q", adj.Answer.Reason)
				}
				if !cfg.Quorum().Equal(before) {
					t.Fatalf("rollback left %+v, want %+v", cfg.Quorum(), before)
				}
			}
			// Every step is in the history too, and the verifier saw each
			// applied epoch of the adjustment.
			var hist []Event
			for _, e := range m.History() {
				if e.Adjustment == adj.ID && adj.ID != 0 {
					hist = append(hist, e)
				}
			}
			if !slices.Equal(hist, adj.Steps) {
				t.Fatalf("history %+v, steps %+v", hist, adj.Steps)
			}
			if tt.status == OK && len(seen) != strings.Count(tt.steps, "verified") {
				t.Fatalf("verifier saw epochs %v", seen)
			}
			met := m.Metrics()
			if met.Adjustments != uint64(b2u(tt.status == OK)) || met.Rollbacks != uint64(b2u(tt.status == RolledBack)) ||
				met.Refusals != uint64(b2u(tt.status == Refused || tt.status == UnknownMembers)) {
				t.Fatalf("metrics %+v", met)
			}
		})
	}
}

func b2u(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestAdjustEpochs(t *testing.T) {
	m := newManager(t, Rule{}, "a b c d e s*")
	if adj := m.Adjust(5, swap, nil); adj.Answer.Status != EpochNotNext {
		t.Fatalf("future epoch: %+v", adj.Answer)
	}
	adj := m.Adjust(2, swap, nil)
	if adj.Answer.Status != OK || adj.Answer.Epoch != 3 || !adj.Joint {
		t.Fatalf("%+v", adj.Answer)
	}
	// A retry of the same adjustment is recognised.
	if again := m.Adjust(2, swap, nil); again.Answer.Status != AlreadyApplied {
		t.Fatalf("retry: %+v", again.Answer)
	}
	if other := m.Adjust(2, Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}}}, nil); other.Answer.Status != Conflict {
		t.Fatalf("another change at a taken epoch: %+v", other.Answer)
	}
	// Adjusting during a joint phase someone else entered is a conflict.
	m2 := newManager(t, Rule{}, "a b c d e s*")
	if a := m2.Apply(Change{Op: OpReconfigure, Proposal: swap}); a.Status != OK || !a.Joint {
		t.Fatal(a)
	}
	if adj := m2.Adjust(0, Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}, nil); adj.Answer.Status != Conflict {
		t.Fatalf("adjust in a joint phase: %+v", adj.Answer)
	}
}

// While an adjustment waits for its verifier, other voter changes are
// refused as conflicts, health changes go on, and reads answer; both for
// a direct adjustment and one in its joint phase.
func TestAdjustConcurrent(t *testing.T) {
	direct := Proposal{Rule: Rule{Weighted: true}, Voters: []Vote{{ID: "a", Weight: 1200}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}
	for _, tt := range []struct {
		name     string
		proposal Proposal
		voters   string
	}{{"direct", direct, "a b c d e"}, {"joint", swap, "a b c d s"}} {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(t, Rule{}, "a b c d e s* t*")
			entered, release := make(chan struct{}), make(chan struct{})
			done := make(chan Adjustment)
			first := true
			go func() {
				done <- m.Adjust(0, tt.proposal, func(cfg Config) error {
					if first {
						first = false
						entered <- struct{}{}
						<-release
					}
					return nil
				})
			}()
			<-entered
			var wg sync.WaitGroup
			answers := make([]Answer, 5)
			wg.Add(5)
			go func() { defer wg.Done(); answers[0] = m.Apply(Change{Op: OpAdd, Node: Node{ID: "f"}}) }()
			go func() { defer wg.Done(); answers[1] = m.Apply(Change{Op: OpLeaveJoint}) }()
			go func() { defer wg.Done(); answers[2] = m.Apply(Change{Op: OpReconfigure, Proposal: swap}) }()
			go func() { defer wg.Done(); answers[3] = m.Apply(Change{Op: OpFail, ID: "b"}) }()
			go func() { defer wg.Done(); answers[4] = m.Apply(Change{Op: OpRemove, ID: "t"}) }() // a standby
			for range 4 {
				wg.Add(1)
				go func() { defer wg.Done(); _ = m.Metrics(); _ = m.Config().Describe(); _ = m.Config() }()
			}
			wg.Wait()
			if other := m.Adjust(0, swap, nil); other.Answer.Status != Conflict || !strings.Contains(other.Answer.Reason, "in progress") {
				t.Errorf("second adjustment: %+v", other.Answer)
			}
			close(release)
			adj := <-done
			want := []Status{Conflict, Conflict, Conflict, OK, OK}
			for i, a := range answers {
				if a.Status != want[i] || (i < 3 && !strings.Contains(a.Reason, "in progress")) {
					t.Errorf("request %d during the adjustment: %+v, want %v (in progress)", i, a, want[i])
				}
			}
			if adj.Answer.Status != OK {
				t.Fatalf("adjustment: %+v", adj.Answer)
			}
			cfg := m.Config()
			if n, _ := cfg.Node("b"); n.State != Failed || cfg.Joint() || joinIDs(cfg.Quorum().IDs()) != tt.voters {
				t.Fatalf("after: %s", cfg.Describe())
			}
			if _, ok := cfg.Node("t"); ok {
				t.Fatal("standby t was not removed")
			}
		})
	}
}

// The built-in verification reads the store back: a damaged file fails it
// and the adjustment rolls back.
func TestAdjustVerifiesStore(t *testing.T) {
	s, _ := NewStore(filepath.Join(t.TempDir(), "q.json"))
	m, err := New(s, config(t, Rule{}, "a b c d e s*").Nodes, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	adj := m.Adjust(0, swap, func(cfg Config) error {
		if !cfg.Joint() {
			os.WriteFile(s.Path(), []byte("{"), 0o644) // damaged under the new voters
		}
		return nil
	})
	if adj.Answer.Status != RolledBack || !strings.Contains(adj.Answer.Reason, "reading back the store") ||
		steps(adj) != "1 reconfigure validated; 2 reconfigure applied(joint); 2 reconfigure verified(joint); 3 leave-joint applied; 3 reconfigure verify-failed; 4 rollback applied(joint)" {
		t.Fatalf("%+v: %s", adj.Answer, steps(adj))
	}
	snap, err := s.Load()
	if err != nil || !snap.Config.Quorum().Equal(m.Config().Quorum()) || snap.Config.Epoch != m.Config().Epoch || !snap.Config.Joint() {
		t.Fatalf("store after the rollback: %v", err)
	}
	if a := m.Apply(Change{Op: OpLeaveJoint}); a.Status != Conflict || !strings.Contains(a.Reason, "not committed") {
		t.Fatalf("leaving the rollback's joint phase before it is committed: %+v", a)
	}
	if err := m.Committed(m.Config().Epoch); err != nil {
		t.Fatal(err)
	}
	if a := m.Apply(Change{Op: OpLeaveJoint}); a.Status != OK || !m.Config().Quorum().Equal(adj.Before) {
		t.Fatalf("leaving the rollback's joint phase: %+v", a)
	}
}
