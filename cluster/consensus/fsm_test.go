package consensus

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/hashicorp/raft"
	"github.com/lockstep/quorum/manager"
)

func entry(t testing.TB, c command) []byte {
	t.Helper()
	b, err := c.encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func change(c manager.Change) command { return command{Kind: kindChange, Change: &c} }

// testLog is a log exercising every kind of entry: bootstrap, members,
// health, a joint adjustment and its rollback, refusals and bad entries.
func testLog(t testing.TB) [][]byte {
	rule := manager.Rule{}
	abc := proposal(ids("a", "b", "c")...)
	abd := proposal(ids("a", "b", "d")...)
	return [][]byte{
		entry(t, command{Kind: kindBootstrap, Nodes: []manager.Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, Rule: &rule}),
		entry(t, command{Kind: kindBootstrap, Nodes: []manager.Node{{ID: "x"}}, Rule: &rule}), // a second: ignored
		entry(t, change(manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: "d", Standby: true}})),
		entry(t, change(manager.Change{Op: manager.OpSuspect, ID: "c"})),
		entry(t, change(manager.Change{Op: manager.OpFail, ID: "c"})),
		[]byte("not json"),
		entry(t, change(manager.Change{Op: manager.OpReconfigure, Proposal: abd})), // joint
		entry(t, change(manager.Change{Op: manager.OpReconfigure, Proposal: abc})), // refused: joint
		entry(t, command{Kind: kindRollback, Proposal: &abc}),                      // out of it, into a joint phase back
		entry(t, change(manager.Change{Op: manager.OpLeaveJoint})),
		entry(t, change(manager.Change{Op: manager.OpRecover, ID: "c"})),
		entry(t, change(manager.Change{Op: manager.OpReconfigure, Proposal: abd})),
		entry(t, change(manager.Change{Op: manager.OpLeaveJoint})),
		entry(t, command{Kind: kindRollback, Proposal: &abc}), // out of no joint phase: a reconfigure
		entry(t, change(manager.Change{Op: manager.OpLeaveJoint})),
		entry(t, change(manager.Change{Op: manager.OpRemove, ID: "d"})),
		entry(t, change(manager.Change{Op: manager.OpRemove, ID: "zz"})), // unknown member
		entry(t, change(manager.Change{Epoch: 99, Op: manager.OpFail, ID: "a"})),
	}
}

func snapshotBytes(t testing.TB, f *fsm) []byte {
	t.Helper()
	s, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return []byte(s.(snapshot))
}

// wantStatus is the answer to each entry of testLog (Unanswered: an error).
var wantStatus = []manager.Status{manager.OK, manager.AlreadyApplied, manager.OK, manager.OK, manager.OK,
	manager.Unanswered, manager.OK, manager.Conflict, manager.OK, manager.OK, manager.OK, manager.OK, manager.OK,
	manager.OK, manager.OK, manager.OK, manager.UnknownMembers, manager.EpochNotNext}

// Two FSMs applying one log hold byte-identical snapshots after every
// entry, and a third restored from a snapshot half-way joins them.
func TestFSMDeterminism(t *testing.T) {
	log := testLog(t)
	a, b := &fsm{}, &fsm{}
	var restored *fsm
	for i, data := range log {
		ra := a.Apply(&raft.Log{Index: uint64(i + 1), Data: data}).(result)
		rb := b.Apply(&raft.Log{Index: uint64(i + 1), Data: data}).(result)
		if ra.Answer != rb.Answer || (ra.Err == nil) != (rb.Err == nil) {
			t.Fatalf("entry %d: answers differ: %+v / %+v", i, ra, rb)
		}
		if want := wantStatus[i]; ra.Answer.Status != want || (ra.Err != nil) != (want == manager.Unanswered) {
			t.Fatalf("entry %d: %+v, want %s", i, ra, want)
		}
		if restored != nil {
			restored.Apply(&raft.Log{Index: uint64(i + 1), Data: data})
		}
		sa, sb := snapshotBytes(t, a), snapshotBytes(t, b)
		if !bytes.Equal(sa, sb) {
			t.Fatalf("entry %d: snapshots differ", i)
		}
		if restored != nil && !bytes.Equal(sa, snapshotBytes(t, restored)) {
			t.Fatalf("entry %d: the restored FSM's snapshot differs", i)
		}
		if i == 4 {
			restored = &fsm{}
			if err := restored.Restore(io.NopCloser(bytes.NewReader(sa))); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := a.manager().Config()
	if v := cfg.Quorum().IDs(); len(v) != 3 || v[2] != "c" || cfg.Joint() {
		t.Fatalf("final configuration: %s", cfg.Describe())
	}
	if _, ok := cfg.Node("d"); ok {
		t.Fatalf("d was removed: %s", cfg.Describe())
	}
}

// The rollback entry goes back to the quorum system before, out of a
// joint phase at once.
func TestFSMRollbackOutOfJoint(t *testing.T) {
	f := &fsm{}
	log := testLog(t)
	for i, data := range log[:7] {
		f.Apply(&raft.Log{Index: uint64(i + 1), Data: data})
	}
	if !f.manager().Config().Joint() {
		t.Fatal("entry 7 should enter a joint phase")
	}
	res := f.Apply(&raft.Log{Index: 8, Data: log[8]}).(result)
	cfg := f.manager().Config()
	// A joint phase from the adjusted voters back: both halves still decide.
	if res.Err != nil || res.Answer.Err() != nil || !cfg.Joint() || !cfg.Quorum().Has("c") || cfg.Quorum().Has("d") ||
		!cfg.Outgoing.Has("d") || !cfg.Outgoing.Has("a") {
		t.Fatalf("rollback: %+v\n%s", res, cfg.Describe())
	}
	res = f.Apply(&raft.Log{Index: 9, Data: entry(t, change(manager.Change{Op: manager.OpLeaveJoint}))}).(result)
	if cfg = f.manager().Config(); res.Answer.Status != manager.OK || cfg.Joint() || !cfg.Quorum().Has("c") {
		t.Fatalf("leaving the rollback's joint phase: %+v\n%s", res, cfg.Describe())
	}
}

// Bad entries are answered with an error, never a panic, and change
// nothing.
func TestFSMBadEntries(t *testing.T) {
	f := &fsm{}
	if res := f.Apply(&raft.Log{Data: entry(t, change(manager.Change{Op: manager.OpFail, ID: "a"}))}).(result); !errors.Is(res.Err, ErrNotBootstrapped) {
		t.Fatalf("a change before bootstrap: %+v", res)
	}
	f.Apply(&raft.Log{Data: testLog(t)[0]})
	before := snapshotBytes(t, f)
	rule := manager.Rule{}
	bad := map[string][]byte{
		"garbage":          []byte{0xff, 0x00},
		"empty":            nil,
		"json array":       []byte(`[1,2]`),
		"future version":   []byte(`{"v":2,"kind":"change","change":{"op":"fail","id":"a"}}`),
		"no version":       []byte(`{"kind":"change","change":{"op":"fail","id":"a"}}`),
		"unknown kind":     []byte(`{"v":1,"kind":"explode"}`),
		"change no op":     []byte(`{"v":1,"kind":"change","change":{}}`),
		"bootstrap op":     []byte(`{"v":1,"kind":"change","change":{"op":"bootstrap"}}`),
		"rollback op":      []byte(`{"v":1,"kind":"change","change":{"op":"rollback"}}`),
		"rollback no prop": []byte(`{"v":1,"kind":"rollback"}`),
		"bootstrap empty":  entry(t, command{Kind: kindBootstrap, Rule: &rule}),
		"bad node state":   []byte(`{"v":1,"kind":"change","change":{"op":"add","node":{"id":"q","state":"sleepy"}}}`),
	}
	for name, data := range bad {
		res := f.Apply(&raft.Log{Data: data}).(result)
		if !errors.Is(res.Err, errBadEntry) {
			t.Errorf("%s: %+v, want an error wrapping errBadEntry", name, res)
		}
	}
	// A well-formed entry the manager refuses is an answer, not an error.
	res := f.Apply(&raft.Log{Data: entry(t, change(manager.Change{Op: manager.OpAdd, Node: manager.Node{ID: "has space"}}))}).(result)
	if res.Err != nil || res.Answer.Status != manager.Refused {
		t.Errorf("an invalid member: %+v, want Refused", res)
	}
	if !bytes.Equal(before, snapshotBytes(t, f)) {
		t.Error("bad entries changed the state")
	}
	// A corrupt snapshot is refused on restore, leaving the state.
	if err := f.Restore(io.NopCloser(bytes.NewReader([]byte("junk")))); err == nil {
		t.Error("a corrupt snapshot restored")
	}
	if !bytes.Equal(before, snapshotBytes(t, f)) {
		t.Error("a refused restore changed the state")
	}
}
