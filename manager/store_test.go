package manager

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// storeWith returns a store in a fresh directory and a manager that has
// made a few changes through it (epochs 1..4).
func storeWith(t *testing.T) (*Store, *Manager) {
	t.Helper()
	s, err := NewStore(filepath.Join(t.TempDir(), "quorum.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(s, config(t, Rule{}, "a@r1 b@r2 c@r3").Nodes, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []Answer{m.Apply(Change{Op: OpAdd, Node: Node{ID: "d", Domain: "r1"}}), m.Apply(Change{Op: OpFail, ID: "a"}), m.Apply(Change{Op: OpAdd, Node: Node{ID: "e", Standby: true}})} {
		if a.Status != OK {
			t.Fatal(a)
		}
	}
	return s, m
}

func TestStoreRoundTrip(t *testing.T) {
	s, m := storeWith(t)
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(snap.Config, m.Config()) || !reflect.DeepEqual(snap.History, m.History()) || snap.Config.Epoch != 4 {
		t.Fatalf("loaded %+v, manager has %+v", snap.Config, m.Config())
	}
	prev, err := s.LoadPrevious()
	if err != nil || prev.Config.Epoch != 3 {
		t.Fatalf("previous: epoch %d, %v", prev.Config.Epoch, err)
	}
	m2, err := Open(s)
	if err != nil || !reflect.DeepEqual(m2.Config(), m.Config()) {
		t.Fatalf("Open: %v", err)
	}
	// The reopened manager carries on from the same epoch and history.
	if a := m2.Apply(Change{Epoch: 3, Op: OpFail, ID: "a"}); a.Status != AlreadyApplied {
		t.Fatalf("retry after reopening: %+v", a)
	}
	if a := m2.Apply(Change{Op: OpRecover, ID: "a"}); a.Status != OK || a.Epoch != 5 {
		t.Fatalf("change after reopening: %+v", a)
	}
	// The file is for people too: indented, named fields.
	data, _ := os.ReadFile(s.Path())
	for _, want := range []string{`"format": "lockstep-quorum-manager/1"`, `"checksum"`, `"model": "crash"`, `"state": "active"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("file lacks %s", want)
		}
	}
}

func TestStoreMissing(t *testing.T) {
	s, _ := NewStore(filepath.Join(t.TempDir(), "none.json"))
	_, err := s.Load()
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "no configuration file") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Open(s); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open of a missing file: %v", err)
	}
	if _, err := NewStore(""); err == nil {
		t.Fatal("empty path accepted")
	}
}

// Kill at any point while the file is written in place (a file system
// without atomic rename, or a torn sector): every truncation is a clear
// ErrCorrupt, and the previous configuration is still there.
func TestStoreTruncatedAtEveryOffset(t *testing.T) {
	s, _ := storeWith(t)
	data, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(data) - 1 { // the last byte is the newline
		if err := os.WriteFile(s.Path(), data[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load()
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), s.Path()) {
			t.Fatalf("truncated to %d of %d bytes: %v", n, len(data), err)
		}
		if n%64 != 0 {
			continue
		}
		if _, err := Open(s); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open of a file truncated to %d bytes: %v", n, err)
		}
		if prev, err := s.LoadPrevious(); err != nil || prev.Config.Epoch != 3 {
			t.Fatalf("truncated to %d: previous epoch %d, %v", n, prev.Config.Epoch, err)
		}
	}
	os.WriteFile(s.Path(), data[:len(data)-1], 0o644)
	if snap, err := s.Load(); err != nil || snap.Config.Epoch != 4 {
		t.Fatalf("without the final newline: %v", err)
	}
}

// Garbage: every single-bit flip, random bytes, and valid JSON that is
// not a snapshot.
func TestStoreGarbage(t *testing.T) {
	s, _ := storeWith(t)
	data, _ := os.ReadFile(s.Path())
	for i := range len(data) - 1 {
		bad := []byte(string(data))
		bad[i] ^= 1
		os.WriteFile(s.Path(), bad, 0o644)
		if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("flipping bit 0 of byte %d (%q): %v", i, data[i], err)
		}
	}
	rng, seed := newRand(t)
	garbage := [][]byte{nil, []byte("{}"), []byte("null"), []byte(`{"format":"lockstep-quorum-manager/2"}`), []byte("\x00\x01\x02")}
	for range 50 {
		b := make([]byte, rng.IntN(300))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		garbage = append(garbage, b)
	}
	// A well-formed file whose checksum matches but whose configuration is
	// invalid (written by a buggy version) is corrupt too.
	invalid, err := encode(Snapshot{Config: config(t, Rule{}, "a")})
	if err != nil {
		t.Fatal(err)
	}
	garbage = append(garbage, []byte(strings.Replace(string(invalid), `"epoch": 1`, `"epoch": 0`, 1)))
	for i, g := range garbage {
		os.WriteFile(s.Path(), g, 0o644)
		if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("seed %d: garbage %d (%q): %v", seed, i, g, err)
		}
	}
	// Extra data after the object.
	os.WriteFile(s.Path(), append(append([]byte{}, data...), "{}"...), 0o644)
	if _, err := s.Load(); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("trailing data: %v", err)
	}
}

// Kill at any point during Save: the temporary file holds any prefix of
// the new snapshot and the rename never happened. The committed file is
// untouched, Load ignores the stale temporary file, and the next Save
// replaces it.
func TestStoreStaleTemp(t *testing.T) {
	s, m := storeWith(t)
	committed, _ := os.ReadFile(s.Path())
	next := m.Config()
	next.Epoch++
	next.Nodes[0].State = Active
	data, err := encode(Snapshot{Config: next, History: m.History()})
	if err != nil {
		t.Fatal(err)
	}
	tmp := s.Path() + ".tmp"
	for n := 0; n <= len(data); n += 1 + n/16 {
		os.WriteFile(tmp, data[:n], 0o644)
		snap, err := s.Load()
		if err != nil || snap.Config.Epoch != 4 {
			t.Fatalf("with %d bytes of the next snapshot in the temporary file: epoch %d, %v", n, snap.Config.Epoch, err)
		}
		m2, err := Open(s)
		if err != nil || m2.Config().Epoch != 4 {
			t.Fatalf("Open with a stale temporary file: %v", err)
		}
	}
	if after, _ := os.ReadFile(s.Path()); string(after) != string(committed) {
		t.Fatal("the committed file changed")
	}
	if a := m.Apply(Change{Op: OpRecover, ID: "a"}); a.Status != OK {
		t.Fatal(a)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the temporary file survived a Save: %v", err)
	}
	if snap, err := s.Load(); err != nil || snap.Config.Epoch != 5 {
		t.Fatalf("after Save: %v", err)
	}
}

// A damaged file is not copied over the previous one: after damage, a
// Save keeps the last good snapshot as the previous one.
func TestStoreKeepsLastGoodPrevious(t *testing.T) {
	s, m := storeWith(t)
	os.WriteFile(s.Path(), []byte("garbage"), 0o644)
	if a := m.Apply(Change{Op: OpRecover, ID: "a"}); a.Status != OK {
		t.Fatal(a)
	}
	prev, err := s.LoadPrevious()
	if err != nil || prev.Config.Epoch != 3 {
		t.Fatalf("previous after saving over garbage: epoch %d, %v", prev.Config.Epoch, err)
	}
	if snap, err := s.Load(); err != nil || snap.Config.Epoch != 5 {
		t.Fatalf("current: %v", err)
	}
}

// A change that cannot be persisted is not applied.
func TestStoreFailureChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s, _ := NewStore(filepath.Join(dir, "sub", "quorum.json"))
	if _, err := New(s, []Node{{ID: "a"}}, Rule{}); err == nil {
		t.Fatal("New saved into a missing directory")
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	m, err := New(s, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	before := m.Config()
	os.RemoveAll(filepath.Join(dir, "sub"))
	a := m.Apply(Change{Op: OpFail, ID: "a"})
	if a.Status != StoreFailed || a.Cause == nil || a.Err() == nil || !errors.Is(a.Err(), a.Cause) {
		t.Fatalf("answer %+v", a)
	}
	if !reflect.DeepEqual(m.Config(), before) || len(m.History()) != 1 {
		t.Fatal("a change that was not persisted was applied")
	}
	adj := m.Adjust(0, Proposal{Voters: []Vote{{ID: "a"}, {ID: "b"}, {ID: "c"}}, Rule: Rule{Weighted: true}}, nil)
	if adj.Answer.Status != StoreFailed || !reflect.DeepEqual(m.Config(), before) {
		t.Fatalf("adjust without a store: %+v", adj.Answer)
	}
}

// New refuses to overwrite a store that holds anything.
func TestNewRefusesExistingStore(t *testing.T) {
	s, _ := storeWith(t)
	if _, err := New(s, []Node{{ID: "x"}}, Rule{}); err == nil || !strings.Contains(err.Error(), "use Open") {
		t.Fatalf("New over a valid store: %v", err)
	}
	os.WriteFile(s.Path(), []byte("garbage"), 0o644)
	if _, err := New(s, []Node{{ID: "x"}}, Rule{}); err == nil {
		t.Fatal("New over a corrupt store succeeded")
	}
	if err := s.Save(Snapshot{}); err == nil || !strings.Contains(err.Error(), "refusing to save") {
		t.Fatalf("saving an invalid snapshot: %v", err)
	}
}

// Kill at any point of Save itself: crash at every step of both atomic
// writes (the previous copy, then the file), tearing the temporary file
// at a random length where it was being written. Whatever the point, the
// file loads as the old epoch or (once renamed) the new one, never an
// error, and a restarted manager carries on.
func TestStoreCrashAtEveryStep(t *testing.T) {
	rng, seed := newRand(t)
	defer func() { crashAt = nil }()
	for k := 1; ; k++ {
		s, m := storeWith(t)
		calls, crashed, renamed := 0, "", false
		crashAt = func(step, tmp string) bool {
			calls++
			if step == "renamed" && strings.HasSuffix(tmp, "quorum.json.tmp") {
				renamed = true
			}
			if calls != k {
				return false
			}
			crashed = step + " " + filepath.Base(tmp)
			if step == "written" { // a torn write
				if fi, err := os.Stat(tmp); err == nil && fi.Size() > 0 {
					os.Truncate(tmp, rng.Int64N(fi.Size()))
				}
			}
			return true
		}
		a := m.Apply(Change{Op: OpRecover, ID: "a"}) // epoch 4 -> 5
		crashAt = nil
		if crashed == "" {
			if a.Status != OK || k < 5 {
				t.Fatalf("seed %d: no crash at call %d, answer %+v", seed, k, a)
			}
			break
		}
		if a.Status != StoreFailed {
			t.Fatalf("seed %d: crash at %s answered %+v", seed, crashed, a)
		}
		want := uint64(4)
		if renamed {
			want = 5 // durable, though never acknowledged
		}
		snap, err := s.Load()
		if err != nil || snap.Config.Epoch != want {
			t.Fatalf("seed %d: crash at %s: loaded epoch %d, %v; want %d", seed, crashed, snap.Config.Epoch, err, want)
		}
		if prev, err := s.LoadPrevious(); err != nil || prev.Config.Epoch < 3 {
			t.Fatalf("seed %d: crash at %s: previous %d, %v", seed, crashed, prev.Config.Epoch, err)
		}
		restarted, err := Open(s)
		if err != nil || restarted.Config().Epoch != want {
			t.Fatalf("seed %d: restart after a crash at %s: %v", seed, crashed, err)
		}
		if a := restarted.Apply(Change{Op: OpFail, ID: "b"}); a.Status != OK || a.Epoch != want+1 {
			t.Fatalf("seed %d: after a crash at %s: %+v", seed, crashed, a)
		}
		for _, tmp := range []string{s.Path() + ".tmp", s.previousPath() + ".tmp"} {
			if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("seed %d: a stale temporary file survived the next Save: %v", seed, err)
			}
		}
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	m, err := New(nil, []Node{{ID: "a"}, {ID: "b"}, {ID: "c"}}, Rule{})
	if err != nil {
		t.Fatal(err)
	}
	if ans := m.Apply(Change{Op: OpFail, ID: "c"}); ans.Err() != nil {
		t.Fatal(ans.Err())
	}
	snap := m.Snapshot()
	data, err := snap.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back Snapshot
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(nil, back)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Config().Describe(), m.Config().Describe(); got != want {
		t.Fatalf("restored:\n%s\nwant:\n%s", got, want)
	}
	again, _ := r.Snapshot().MarshalBinary()
	if !bytes.Equal(again, data) {
		t.Fatal("a restored manager's snapshot encodes differently")
	}
	data[len(data)/2] ^= 1
	if err := back.UnmarshalBinary(data); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("flipped bit: %v, want ErrCorrupt", err)
	}
	bad := m.Snapshot()
	bad.Config.Nodes = append(bad.Config.Nodes, bad.Config.Nodes[0])
	if _, err := Restore(nil, bad); err == nil {
		t.Fatal("Restore took a configuration with a member twice")
	}
}
