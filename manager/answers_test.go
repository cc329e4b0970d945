package manager

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// Regression tests for answers that did not describe what is in force.

// A Remove during an adjustment's verification of a node the rollback
// needs is refused, so a failed verification can still roll back.
func TestRemoveDuringVerifyIsRefused(t *testing.T) {
	m := newManager(t, Rule{}, "a b c d e")
	before := m.Config().Quorum()
	var removed Answer
	adj := m.Adjust(0, Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}}, func(Config) error {
		removed = m.Apply(Change{Op: OpRemove, ID: "e"}) // e is now a standby; the rollback makes it a voter again
		return errors.New("the new quorum did not answer")
	})
	if removed.Status != Conflict || !strings.Contains(removed.Reason, "roll back") {
		t.Errorf("Remove(e) during verification: %+v, want a Conflict naming the rollback", removed)
	}
	if adj.Answer.Status != RolledBack || !m.Config().Quorum().Equal(before) || !adj.After.Equal(before) {
		t.Fatalf("adjustment: %+v, in force %v, want rolled back to %v", adj.Answer, m.Config().Quorum(), before)
	}
	if _, ok := m.Config().Node("e"); !ok {
		t.Fatal("e was removed")
	}
}

// A retried change is judged against what is in force: an adjustment that
// was rolled back, or a Fail a later epoch undid, is not "already applied".
func TestRetryOfUndoneChange(t *testing.T) {
	m := newManager(t, Rule{}, "a b c d e s*")
	p := Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "s"}}}
	if adj := m.Adjust(2, p, func(Config) error { return errors.New("no") }); adj.Answer.Status != RolledBack {
		t.Fatalf("first try: %+v", adj.Answer)
	}
	retry := m.Adjust(2, p, nil)
	if retry.Answer.Status == AlreadyApplied || retry.Answer.Status == OK {
		t.Fatalf("retry of the rolled-back adjustment at its epoch: %+v, but it is not in force (%v)", retry.Answer, m.Config().Quorum())
	}
	if !strings.Contains(retry.Answer.Reason, "not in force") {
		t.Errorf("retry's reason %q does not say the change is not in force", retry.Answer.Reason)
	}

	fail := m.Apply(Change{Op: OpFail, ID: "c"})
	if fail.Status != OK || m.Apply(Change{Op: OpRecover, ID: "c"}).Status != OK {
		t.Fatal("Fail/Recover")
	}
	if a := m.Apply(Change{Epoch: fail.Epoch, Op: OpFail, ID: "c"}); a.Status == AlreadyApplied {
		t.Fatalf("retry of Fail(c) at epoch %d after Recover(c): %+v, but c is active", fail.Epoch, a)
	}
	// A retry of a change still in force is already applied.
	fail = m.Apply(Change{Op: OpFail, ID: "d"})
	if a := m.Apply(Change{Epoch: fail.Epoch, Op: OpFail, ID: "d"}); a.Status != AlreadyApplied {
		t.Fatalf("retry of Fail(d), in force: %+v", a)
	}
}

// failSaves makes every save of the main file fail from now on, as if the
// disk were gone (step "created": nothing written).
func failSaves() {
	crashAt = func(step, tmp string) bool { return step == "created" && strings.HasSuffix(tmp, "quorum.json.tmp") }
}

// A store error while leaving the joint phase, or while committing a
// rollback, answers with the configuration that is in force.
func TestAdjustStoreFailureSaysWhatIsInForce(t *testing.T) {
	defer func() { crashAt = nil }()
	for _, c := range []struct {
		name   string
		verify error // what the first verification answers
		joint  bool  // what stays in force is a joint phase
	}{
		{"leaving the joint phase", nil, true},
		{"committing the rollback", errors.New("no"), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := NewStore(filepath.Join(t.TempDir(), "quorum.json"))
			if err != nil {
				t.Fatal(err)
			}
			m, err := New(s, config(t, Rule{}, "a b c d e s*").Nodes, Rule{})
			if err != nil {
				t.Fatal(err)
			}
			// The joint phase is committed; then the disk goes.
			adj := m.Adjust(0, swap, func(Config) error { failSaves(); return c.verify })
			crashAt = nil
			inForce := m.Config()
			if adj.Answer.Status != StoreFailed || !adj.After.Equal(inForce.Quorum()) || adj.Answer.Epoch != inForce.Epoch || adj.Answer.Joint != inForce.Joint() {
				t.Fatalf("%+v, After %v; in force: epoch %d joint %v %v", adj.Answer, adj.After, inForce.Epoch, inForce.Joint(), inForce.Quorum())
			}
			if inForce.Joint() != c.joint || !strings.Contains(adj.Answer.Reason, "in force") {
				t.Fatalf("reason %q, joint %v", adj.Answer.Reason, inForce.Joint())
			}
			if snap, err := s.Load(); err != nil || snap.Config.Epoch != inForce.Epoch {
				t.Fatalf("the store holds epoch %d (%v), memory %d", snap.Config.Epoch, err, inForce.Epoch)
			}
		})
	}
}

// A Save that fails after its rename (the directory sync) may or may not
// have made the new epoch durable: the manager refuses every change until
// it is reopened, so one epoch number never names two configurations.
func TestSaveFailureAfterRename(t *testing.T) {
	s, m := storeWith(t) // epoch 4
	syncErr := errors.New("EIO on the directory")
	defer func() { syncDirHook = nil }()
	syncDirHook = func(path string) error {
		if strings.HasSuffix(path, ".prev") {
			return nil
		}
		return syncErr
	}
	a := m.Apply(Change{Op: OpFail, ID: "c"})
	syncDirHook = nil
	if a.Status != StoreFailed || !errors.Is(a.Cause, ErrUncertain) || !errors.Is(a.Cause, syncErr) {
		t.Fatalf("Fail(c) with a failing directory sync: %+v", a)
	}
	if b := m.Apply(Change{Op: OpFail, ID: "d"}); b.Status != StoreFailed || !errors.Is(b.Cause, ErrUncertain) {
		t.Fatalf("the next change: %+v, want StoreFailed until the manager is reopened", b)
	}
	snap, err := s.Load()
	if err != nil || snap.Config.Epoch != 5 {
		t.Fatalf("store: epoch %d, %v", snap.Config.Epoch, err)
	}
	if n, _ := snap.Config.Node("c"); n.State != Failed {
		t.Fatalf("epoch 5 on disk is not Fail(c): %+v", n)
	}
	reopened, err := Open(s)
	if err != nil || reopened.Config().Epoch != 5 {
		t.Fatalf("reopened: %v", err)
	}
	if b := reopened.Apply(Change{Op: OpFail, ID: "d"}); b.Status != OK || b.Epoch != 6 {
		t.Fatalf("after reopening: %+v", b)
	}
}

// An adjustment number is durable before any event uses it, so a restart
// after a refused adjustment (which writes no configuration) never gives
// the number out again.
func TestAdjustmentNumbersSurviveRestart(t *testing.T) {
	s, m := storeWith(t)
	refused := m.Adjust(0, Proposal{Voters: []Vote{{ID: "q"}}}, nil)
	if refused.ID == 0 || refused.Answer.Status == OK {
		t.Fatalf("refused adjustment: %+v", refused)
	}
	reopened, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	next := reopened.Adjust(0, Proposal{Voters: []Vote{{ID: "q"}}}, nil)
	if next.ID <= refused.ID {
		t.Fatalf("adjustment %d given out again after a restart (now %d)", refused.ID, next.ID)
	}
	found := false
	for _, e := range reopened.History() {
		found = found || e.Adjustment == refused.ID && e.Step == StepRefused
	}
	if !found {
		t.Fatal("the refusal was not persisted")
	}
}

// Two direct changes that are each safe must not add up to an unsafe one:
// Remove(c) then Add(d) on a, b, c would leave epoch 1's quorum {a, c}
// disjoint from epoch 3's {b, d}. The second waits for the first to be
// committed.
func TestOnePendingChange(t *testing.T) {
	m := newManager(t, Rule{}, "a b c")
	if a := m.Apply(Change{Op: OpRemove, ID: "c"}); a.Status != OK {
		t.Fatalf("Remove(c): %+v", a)
	}
	a := m.Apply(Change{Op: OpAdd, Node: Node{ID: "d"}})
	if a.Status != Conflict || !strings.Contains(a.Reason, "Committed(2)") {
		t.Fatalf("Add(d) before epoch 2 is committed: %+v", a)
	}
	// Changes that leave the quorum system alone are not held back.
	if a := m.Apply(Change{Op: OpFail, ID: "b"}); a.Status != OK {
		t.Fatalf("Fail(b): %+v", a)
	}
	if a := m.Apply(Change{Op: OpAdd, Node: Node{ID: "s", Standby: true}}); a.Status != OK {
		t.Fatalf("adding a standby: %+v", a)
	}
	if err := m.Committed(m.Config().Epoch + 1); err == nil {
		t.Fatal("Committed accepted an epoch not yet reached")
	}
	if err := m.Committed(2); err != nil {
		t.Fatal(err)
	}
	if a := m.Apply(Change{Op: OpAdd, Node: Node{ID: "d"}}); a.Status != OK {
		t.Fatalf("Add(d) once epoch 2 is committed: %+v", a)
	}
}

// Random voter changes, health changes and commits on up to six nodes:
// every configuration that may be in use at once (the last committed one
// and every later one) pairwise intersect, checked over every subset.
func TestPendingChangesIntersect(t *testing.T) {
	rng, seed := newRand(t)
	ids := universe(6)
	for round := range 200 {
		m := newManager(t, Rule{}, "u0 u1 u2")
		live := map[uint64]Config{1: m.Config()} // epochs since the last commit
		for step := range 40 {
			id := ids[rng.IntN(len(ids))]
			switch rng.IntN(7) {
			case 0:
				m.Apply(Change{Op: OpAdd, Node: Node{ID: id, Standby: rng.IntN(3) == 0}})
			case 1:
				m.Apply(Change{Op: OpRemove, ID: id})
			case 2:
				m.Apply(Change{Op: OpFail, ID: id})
			case 3:
				m.Apply(Change{Op: OpRecover, ID: id})
			case 4:
				m.Apply(Change{Op: OpLeaveJoint})
			case 5:
				var p Proposal
				for _, n := range m.Config().Nodes {
					if rng.IntN(3) > 0 {
						p.Voters = append(p.Voters, Vote{ID: n.ID})
					}
				}
				m.Apply(Change{Op: OpReconfigure, Proposal: p})
			case 6:
				e := m.Config().Epoch - uint64(rng.IntN(2))
				if m.Committed(e) == nil {
					for old := range live {
						if old < e {
							delete(live, old)
						}
					}
				}
			}
			cfg := m.Config()
			live[cfg.Epoch] = cfg
			for e1, c1 := range live {
				for e2, c2 := range live {
					if e1 >= e2 {
						continue
					}
					qa, qb := quorumMasks(ids, c1.IsQuorum), quorumMasks(ids, c2.IsQuorum)
					if a, b, found := disjoint(ids, qa, qb); found {
						t.Fatalf("seed %d round %d step %d: epoch %d's quorum %v and epoch %d's %v are disjoint, both in use\n%s\n%s",
							seed, round, step, e1, a, e2, b, c1.Describe(), c2.Describe())
					}
				}
			}
		}
	}
}

// A retry of a change still in force is AlreadyApplied whatever happened
// since: a Reconfigure in its joint phase or under verification, an Add
// whose member failed since, a LeaveJoint before a later joint phase.
func TestRetryOfChangeInForce(t *testing.T) {
	m := newManager(t, Rule{}, "a b c d e s*")
	if a := m.Apply(Change{Epoch: 2, Op: OpReconfigure, Proposal: swap}); a.Status != OK || !a.Joint {
		t.Fatalf("reconfigure: %+v", a)
	}
	if a := m.Apply(Change{Epoch: 2, Op: OpReconfigure, Proposal: swap}); a.Status != AlreadyApplied || !a.Joint {
		t.Fatalf("retry in the joint phase: %+v", a)
	}
	if m.Committed(2) != nil || m.Apply(Change{Op: OpLeaveJoint}).Status != OK || m.Committed(3) != nil {
		t.Fatal("leaving the joint phase")
	}
	back := Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}  // e stayed a standby
	if a := m.Apply(Change{Op: OpReconfigure, Proposal: back}); a.Status != OK || !a.Joint { // a new joint phase
		t.Fatalf("back: %+v", a)
	}
	if a := m.Apply(Change{Epoch: 3, Op: OpLeaveJoint}); a.Status != AlreadyApplied {
		t.Fatalf("retry of epoch 3's LeaveJoint during a later joint phase: %+v", a)
	}

	m = newManager(t, Rule{}, "a b c")
	add := m.Apply(Change{Op: OpAdd, Node: Node{ID: "s", Standby: true}})
	if add.Status != OK || m.Apply(Change{Op: OpFail, ID: "s"}).Status != OK {
		t.Fatal("setup")
	}
	if a := m.Apply(Change{Epoch: add.Epoch, Op: OpAdd, Node: Node{ID: "s", Standby: true}}); a.Status != AlreadyApplied {
		t.Fatalf("retry of Add(s) after Fail(s): %+v", a)
	}

	m = newManager(t, Rule{}, "a b c d e")
	p := Proposal{Rule: Rule{Weighted: true}, Voters: []Vote{{ID: "a", Weight: 1200}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}
	var retry Answer
	if adj := m.Adjust(2, p, func(Config) error { retry = m.Apply(Change{Epoch: 2, Op: OpReconfigure, Proposal: p}); return nil }); adj.Answer.Status != OK {
		t.Fatalf("adjust: %+v", adj.Answer)
	}
	if retry.Status != AlreadyApplied {
		t.Fatalf("retry during verification: %+v", retry)
	}
}

// While the store's state is uncertain every change is refused, even one
// that would change nothing, and an adjustment whose history save made it
// uncertain says so in its answer.
func TestUncertainRefusesEverything(t *testing.T) {
	defer func() { syncDirHook = nil }()
	failMain := func(path string) error {
		if strings.HasSuffix(path, ".prev") {
			return nil
		}
		return errors.New("EIO")
	}
	s, m := storeWith(t) // epoch 4, a failed
	syncDirHook = failMain
	m.Apply(Change{Op: OpRecover, ID: "a"})
	syncDirHook = nil
	if a := m.Apply(Change{Op: OpFail, ID: "a"}); a.Status != StoreFailed || !errors.Is(a.Cause, ErrUncertain) {
		t.Fatalf("Fail(a), which the manager's memory holds already: %+v", a)
	}
	if adj := m.Adjust(0, swap, nil); adj.Answer.Status != StoreFailed || !errors.Is(adj.Answer.Cause, ErrUncertain) || adj.ID != 0 {
		t.Fatalf("Adjust while uncertain: %+v", adj)
	}
	if re, err := Open(s); err != nil || re.Config().Epoch != 5 {
		t.Fatalf("reopened: %v; the file holds Recover(a) as epoch 5", err)
	}

	s, m = storeWith(t)
	if err := m.Committed(m.Config().Epoch); err != nil {
		t.Fatal(err)
	}
	calls := 0
	syncDirHook = func(path string) error {
		if calls++; calls == 4 { // the save of the "verified" note (each save syncs .prev, then the file)
			return failMain(path)
		}
		return nil
	}
	adj := m.Adjust(0, Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}, {ID: "e"}}}, nil)
	syncDirHook = nil
	if adj.Answer.Status != OK || !errors.Is(adj.Answer.Cause, ErrUncertain) || !strings.Contains(adj.Answer.Reason, "reopened") {
		t.Fatalf("adjustment whose history save failed after its rename: %+v", adj.Answer)
	}
	if _, err := Open(s); err != nil {
		t.Fatal(err)
	}
}

// An adjustment that starts nothing (already in force) takes no number.
func TestAlreadyAppliedAdjustmentTakesNoNumber(t *testing.T) {
	s, m := storeWith(t)
	if adj := m.Adjust(0, m.Config().Proposal(), nil); adj.Answer.Status != AlreadyApplied || adj.ID != 0 {
		t.Fatalf("%+v", adj)
	}
	refused := m.Adjust(0, Proposal{Voters: []Vote{{ID: "q"}}}, nil)
	reopened, err := Open(s)
	if err != nil {
		t.Fatal(err)
	}
	if next := reopened.Adjust(0, Proposal{Voters: []Vote{{ID: "q"}}}, nil); next.ID <= refused.ID {
		t.Fatalf("adjustment %d given out again (refused was %d)", next.ID, refused.ID)
	}
}
