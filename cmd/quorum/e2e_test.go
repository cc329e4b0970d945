package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The README's walk-through, on a smaller set: a 3-drive mirror formatted,
// drive c down for two writes, the next write cut short by a kill, scan,
// repair --apply, examine, then drive b replaced by a blank one and
// rebuilt.

const walkObjects = 512

var abc = []string{"a.img", "b.img", "c.img"}

func TestWalkthrough(t *testing.T) {
	dir := t.TempDir()
	r := must(t, quorum(t, dir, "format", "--objects", strconv.Itoa(walkObjects), "a.img", "b.img", "c.img"), 0)
	contains(t, "format", r.stdout, "formatted set ", "3 replicas (a.img, b.img, c.img) of 512 objects of 4096 bytes", "journal "+dir)
	journal := journalOf(t, dir)

	// Drive c is down: two writes reach a and b only.
	r = must(t, quorum(t, dir, "write", "--missing", "2", "--count", "2", "a.img", "b.img"), 0)
	contains(t, "write", r.stdout, "wrote 2 transactions to each of 512 objects (0-511) of a.img, b.img: 1024 writes", "replica 2 missing")
	if w := writes(t, filepath.Join(dir, "a.img"), walkObjects); slices.Min(w) != 2 || slices.Max(w) != 2 {
		t.Fatalf("a.img holds writes %d-%d, want 2", slices.Min(w), slices.Max(w))
	}
	if w := writes(t, filepath.Join(dir, "c.img"), walkObjects); slices.Max(w) != 0 {
		t.Fatalf("c.img was written: %v", w[:4])
	}
	text := must(t, quorum(t, dir, "scan", "a.img", "b.img", "c.img"), 1)
	if got, want := tableRow(t, text.stdout, "0-511"), []string{"0-511", "512", "LAGGING", "a.img", "2/3", "-", "c.img"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	contains(t, "scan", text.stdout, "rule: majority (more than half: a chain of at least 2 of 3)", "journal "+journal+": clean",
		"c.img 512 (0 lagging, 512 outside)", "status: repairable (exit 1): run quorum repair --apply a.img b.img c.img")

	// The next write is cut short: killed while its transactions run.
	killInsideCommit(t, dir, journal, "write", "--missing", "2", "--count", "1000", "a.img", "b.img")
	cut := must(t, quorum(t, dir, "scan", "--ranges", "0", "a.img", "b.img", "c.img"), 1)
	contains(t, "scan after the kill", cut.stdout, "pending: an interrupted write or repair left it", "quorum repair --apply finishes it", "PENDING")
	rep := parseReport(t, must(t, quorum(t, dir, "scan", "--json", "a.img", "b.img", "c.img"), 1))
	if rep.Journal.State != "pending" || rep.Summary.Pending == 0 || rep.Summary.Pending+rep.Summary.Lagging != walkObjects {
		t.Fatalf("after the kill: journal %+v, summary %+v", rep.Journal, rep.Summary)
	}
	for _, rg := range rep.Ranges {
		if rg.Status == "pending" && (rg.Leader != nil || rg.Order != nil) {
			t.Errorf("a pending range with a leader or an order: %+v", rg)
		}
		if rg.Status == "lagging" && !slices.Equal(rg.Order, []int{2}) {
			t.Errorf("lagging range %+v: want order [2]", rg)
		}
	}

	// A dry run writes nothing; --apply replays the record, then repairs.
	before := readAll(t, dir, append(slices.Clone(abc), filepath.Base(journal))...)
	dry := must(t, quorum(t, dir, "repair", "a.img", "b.img", "c.img"), 1)
	contains(t, "dry run", dry.stdout, "dry run: nothing written; --apply first finishes the pending journal record")
	if after := readAll(t, dir, append(slices.Clone(abc), filepath.Base(journal))...); !slices.EqualFunc(before, after, func(a, b []byte) bool { return string(a) == string(b) }) {
		t.Fatal("the dry run changed a file")
	}
	applied := parseReport(t, must(t, quorum(t, dir, "repair", "--apply", "--json", "a.img", "b.img", "c.img"), 0))
	if applied.Journal.State != "replayed" || applied.Journal.Record == 0 || applied.Journal.Objects == 0 {
		t.Errorf("repair --apply journal %+v", applied.Journal)
	}
	if s := applied.Summary; s.Pending != 0 || s.Lagging != walkObjects || applied.Repaired.Objects != walkObjects || applied.Repaired.Copies != walkObjects {
		t.Errorf("repair --apply summary %+v, repaired %+v", s, applied.Repaired)
	}
	w := writes(t, filepath.Join(dir, "a.img"), walkObjects)
	if lo, hi := slices.Min(w), slices.Max(w); lo < 2 || hi > lo+1 {
		t.Fatalf("after the repair objects hold writes %d to %d: want one round apart", lo, hi)
	}
	for _, n := range abc {
		if got := writes(t, filepath.Join(dir, n), walkObjects); !slices.Equal(got, w) {
			t.Fatalf("%s differs from a.img after the repair", n)
		}
	}
	clean := must(t, quorum(t, dir, "scan", "--verify-data", "a.img", "b.img", "c.img"), 0)
	contains(t, "scan after the repair", clean.stdout, "status: clean (exit 0): every replica agrees on every object")

	walkReplace(t, dir, w)
}

// walkReplace: drive b dies; a blank drive takes its place and is rebuilt.
func walkReplace(t *testing.T, dir string, want []int) {
	r := must(t, quorum(t, dir, "examine", "a.img", "b.img", "c.img"), 0)
	contains(t, "examine", r.stdout, "a.img: replica 0 of 3 of set", "c.img: replica 2 of 3", "generation  0 (no replica replaced yet)", "all 3 replicas, in index order, generation 0")
	if err := os.Rename(filepath.Join(dir, "b.img"), filepath.Join(dir, "b-failed.img")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.img"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r = must(t, quorum(t, dir, "scan", "a.img", "b.img", "c.img"), 3)
	contains(t, "scan of a blank drive", r.stderr, "b.img: not a formatted replica: blank, no superblock", "quorum rebuild --replace 1 a.img b.img c.img")
	r = must(t, quorum(t, dir, "rebuild", "a.img", "b.img", "c.img"), 3)
	contains(t, "rebuild without --replace", r.stderr, "quorum rebuild --replace 1 a.img b.img c.img")

	r = must(t, quorum(t, dir, "rebuild", "--replace", "1", "a.img", "b.img", "c.img"), 0)
	contains(t, "rebuild", r.stdout, "replica 1: b.img formatted into the set", "rebuilt replica 1 (b.img): 512 objects copied from the quorum", "status: rebuilt (exit 0)")
	if got := writes(t, filepath.Join(dir, "b.img"), walkObjects); !slices.Equal(got, want) {
		t.Fatal("the rebuilt b.img differs from a.img")
	}
	must(t, quorum(t, dir, "scan", "--verify-data", "a.img", "b.img", "c.img"), 0)
	r = must(t, quorum(t, dir, "rebuild", "a.img", "b.img", "c.img"), 0)
	contains(t, "rebuild of an active set", r.stdout, "nothing to rebuild")

	// The failed drive comes back: stale, refused.
	r = must(t, quorum(t, dir, "scan", "a.img", "b-failed.img", "c.img"), 3)
	contains(t, "scan with the stale drive", r.stderr, "b-failed.img: replica was replaced", "quorum rebuild --replace 1 a.img b-failed.img c.img")
	var ex struct {
		Replicas []examined `json:"replicas"`
		Notes    []string   `json:"notes"`
		Exit     int        `json:"exit"`
	}
	r = must(t, quorum(t, dir, "examine", "--json", "a.img", "b.img", "c.img", "b-failed.img"), 0)
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatal(err)
	}
	if sb := ex.Replicas[1].Superblock; sb == nil || sb.Generation != 1 || len(sb.ReplacedAt) != 3 || sb.ReplacedAt[1] != 1 || sb.State != "active" {
		t.Errorf("examine b.img: %+v", sb)
	}
	if !strings.Contains(strings.Join(ex.Notes, "\n"), "b-failed.img is at generation 0, and replica 1 was replaced at generation 1 while it was away (stale)") {
		t.Errorf("examine notes: %q", ex.Notes)
	}
}

// A writer holds the set: a scan is refused as locked, which is told apart
// from the writer's kill, after which the scan reports the pending record.
func TestLockedVersusInterrupted(t *testing.T) {
	dir := t.TempDir()
	must(t, quorum(t, dir, "format", "--objects", "256", "a.img", "b.img", "c.img"), 0)
	journal := journalOf(t, dir)
	bin := quorumBin(t)
	cmd := newCmd(bin, dir, "write", "--count", "100000", "a.img", "b.img", "c.img")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(10 * time.Second)
	for c, _ := journalHeader(journal); c < 2 && time.Now().Before(deadline); c, _ = journalHeader(journal) {
		time.Sleep(time.Millisecond)
	}
	r := must(t, quorum(t, dir, "scan", "a.img", "b.img", "c.img"), 3)
	contains(t, "scan while a write runs", r.stderr, "in use by another process (locked)", "another quorum process (a repair, write or rebuild) has the set open for writing")
	r = must(t, quorum(t, dir, "scan", "--json", "a.img", "b.img", "c.img"), 3)
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || doc["exit"] != 3.0 || !strings.Contains(fmt.Sprint(doc["error"]), "locked") {
		t.Errorf("--json while locked: %v %s", err, r)
	}
	cmd.Process.Kill()
	cmd.Wait()
	killInsideCommit(t, dir, journal, "write", "--count", "100000", "a.img", "b.img", "c.img")
	r = must(t, quorum(t, dir, "scan", "a.img", "b.img", "c.img"), 1)
	contains(t, "scan after the kill", r.stdout, "pending: an interrupted write or repair left it")
	must(t, quorum(t, dir, "repair", "--apply", "a.img", "b.img", "c.img"), 0)
}

func TestWriteWithoutQuorum(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "format", "--objects", "8", "a.img", "b.img", "c.img"), 0)
	r := must(t, runIn(t, dir, "write", "--missing", "1,2", "--objects", "5", "a.img"), 2)
	contains(t, "write to one of three", r.stderr, "object 5: no quorum: the longest chain holds 1 replicas, the quorum needs 2", "0 writes done")
	r = must(t, runIn(t, dir, "write", "--json", "--missing", "1,2", "a.img"), 2)
	contains(t, "write --json", r.stdout, `"exit":2`, `"error":"refused: object `)
	// Byzantine: 2 of 3 is no quorum, though it is a majority.
	must(t, runIn(t, dir, "write", "--missing", "2", "--count", "2", "a.img", "b.img"), 0)
	r = must(t, runIn(t, dir, "scan", "--json", "--rule", "byzantine", "a.img", "b.img", "c.img"), 2)
	rep := parseReport(t, r)
	if rep.Quorum != 3 || rep.Rule != "byzantine" || rangesString(rep.Ranges) != "0-7 no-quorum -1 2 [] 0\n" {
		t.Errorf("byzantine: quorum %d rule %s ranges\n%s", rep.Quorum, rep.Rule, rangesString(rep.Ranges))
	}
	r = must(t, runIn(t, dir, "scan", "--rule", "byzantine", "a.img", "b.img", "c.img"), 2)
	contains(t, "byzantine text", r.stdout, "rule: byzantine (more than two-thirds: a chain of at least 3 of 3)", "NO QUORUM")
	must(t, runIn(t, dir, "write", "--rule", "byzantine", "a.img", "b.img", "c.img"), 2)
	must(t, runIn(t, dir, "repair", "--apply", "a.img", "b.img", "c.img"), 0)
}

// Bytes that differ at one vector: only --verify-data sees them, and
// repair leaves them alone.
func TestVerifyData(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "format", "--objects", "16", "a.img", "b.img", "c.img"), 0)
	must(t, runIn(t, dir, "write", "a.img", "b.img", "c.img"), 0)
	f, err := os.OpenFile(filepath.Join(dir, "b.img"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("rot"), 8192+3*4096+100)
	f.Close()
	must(t, runIn(t, dir, "scan", "a.img", "b.img", "c.img"), 0)
	r := must(t, runIn(t, dir, "scan", "--verify-data", "a.img", "b.img", "c.img"), 2)
	if got := tableRow(t, r.stdout, "3"); !slices.Equal(got, []string{"3", "1", "DIFFER", "a.img", "3/3", "-", "-", "b.img"}) {
		t.Errorf("row %q", got)
	}
	contains(t, "verify", r.stdout, "bytes differing from the leader's at the same vector (no copy can be told right; left alone): b.img 1")
	must(t, runIn(t, dir, "repair", "--apply", "--verify-data", "a.img", "b.img", "c.img"), 2)
}

// A degraded set: a replica missing is exit 1 with what to do.
func TestDegraded(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "format", "--objects", "8", "a.img", "b.img", "c.img"), 0)
	r := must(t, runIn(t, dir, "scan", "--missing", "1", "a.img", "c.img"), 1)
	contains(t, "degraded", r.stdout, "replicas: 0 a.img, 1 missing, 2 c.img", "status: degraded (exit 1): replica 1 is missing")
	r = must(t, runIn(t, dir, "scan", "a.img", "c.img"), 3)
	contains(t, "a replica left out", r.stderr, "a set of 3 replicas, 2 listed: list every replica in index order, with --missing INDEX")
}
