package main

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// The end-to-end tests break replicas the ways the README names (a replica
// offline, an interrupted transaction, a partition whose two sides both
// advance, strangers) with the binary's own init and write, then check
// scan's text and JSON, repair's writes and the exit codes.

var abc = []string{"a.img", "b.img", "c.img"}

func args(pre []string, names ...string) []string { return append(slices.Clone(pre), names...) }

// initReplicas creates agreeing replicas of n objects in dir.
func initReplicas(t *testing.T, dir string, n int, names ...string) {
	t.Helper()
	must(t, quorum(t, dir, args([]string{"init", "--objects", strconv.Itoa(n)}, names...)...), 0)
}

func scanJSON(t *testing.T, dir string, code int, names ...string) *jsonReport {
	t.Helper()
	return parseReport(t, must(t, quorum(t, dir, args([]string{"scan", "--json", batchFlag}, names...)...), code))
}

// repairApply repairs and checks that the replicas end byte-for-byte equal
// to want, the leader's bytes, and clean.
func repairApply(t *testing.T, dir string, want []byte, names ...string) *jsonReport {
	t.Helper()
	rep := parseReport(t, must(t, quorum(t, dir, args([]string{"repair", "--apply", "--json", batchFlag}, names...)...), 0))
	equalFiles(t, dir, want, names...)
	noJournals(t, dir)
	n := int64(len(want) / 4096)
	after := scanJSON(t, dir, 0, names...)
	checkRanges(t, after, []wantRange{{0, n - 1, "agreed", 0, len(names), nil, nil, nil}})
	return rep
}

// tableRow returns the fields of the text report's row for objects.
func tableRow(t *testing.T, out, objects string) []string {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == objects {
			return f
		}
	}
	t.Fatalf("no row for objects %s in:\n%s", objects, out)
	return nil
}

func TestOfflineReplica(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	// Drive c is down: two writes reach only a and b, so c is two states
	// behind, outside the chain a and b form.
	must(t, quorum(t, dir, "write", "--count", "2", "a.img", "b.img"), 0)

	text := must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abc...)...), 1)
	if text.stderr != "" {
		t.Errorf("stderr is not a terminal, yet scan wrote to it: %q", text.stderr)
	}
	last := strconv.Itoa(n - 1)
	if got, want := tableRow(t, text.stdout, "0-"+last), []string{"0-" + last, strconv.Itoa(n), "REPAIR", "a.img", "2/3", "-", "c.img"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	for _, want := range []string{"rule: majority (more than half: a chain of at least 2 of 3)", "status: repairable (exit 1): run quorum repair --apply a.img b.img c.img",
		fmt.Sprintf("c.img %d (0 lagging, %d outside)", n, n)} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, text.stdout)
		}
	}

	rep := scanJSON(t, dir, 1, abc...)
	checkRanges(t, rep, []wantRange{{0, int64(n - 1), "repair", 0, 2, nil, []int{2}, []int{2}}})
	s := rep.Summary
	if s.Objects != int64(n) || s.Repair != int64(n) || s.OutsideCopies != int64(n) || s.LaggingCopies != 0 || s.Replicas[2].Outside != int64(n) || rep.Status != "repairable" {
		t.Errorf("summary %+v status %s", s, rep.Status)
	}

	// A dry run writes nothing.
	before := readAll(t, dir, abc...)
	dry := must(t, quorum(t, dir, args([]string{"repair", batchFlag}, abc...)...), 1)
	if !strings.Contains(dry.stdout, "dry run: nothing written") {
		t.Errorf("dry run says:\n%s", dry.stdout)
	}
	for i, b := range readAll(t, dir, abc...) {
		if !bytes.Equal(b, before[i]) {
			t.Fatalf("dry run changed %s", abc[i])
		}
	}
	noJournals(t, dir)

	applied := repairApply(t, dir, before[0], abc...)
	if w := applied.Written; w == nil || w.Copies != int64(n) || w.Bytes != int64(n)*4096 || !slices.Equal(w.Replicas, []int64{0, 0, int64(n)}) {
		t.Errorf("written %+v", applied.Written)
	}
}

func TestByzantineRule(t *testing.T) {
	// Under --rule byzantine a chain of 2 of 3 is no quorum, though it is
	// a majority: nothing to repair, nothing written.
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "--count", "2", "a.img", "b.img"), 0)
	rep := parseReport(t, must(t, quorum(t, dir, args([]string{"scan", "--json", "--rule", "byzantine", batchFlag}, abc...)...), 2))
	checkRanges(t, rep, []wantRange{{0, int64(n - 1), "no-quorum", 0, 2, nil, []int{2}, nil}})
	if rep.Rule != "byzantine" || rep.Quorum != 3 {
		t.Errorf("rule %s quorum %d", rep.Rule, rep.Quorum)
	}
	text := must(t, quorum(t, dir, args([]string{"scan", "--rule", "byzantine", batchFlag}, abc...)...), 2)
	if !strings.Contains(text.stdout, "rule: byzantine (more than two-thirds: a chain of at least 3 of 3)") {
		t.Errorf("report:\n%s", text.stdout)
	}
	before := readAll(t, dir, abc...)
	must(t, quorum(t, dir, args([]string{"repair", "--apply", "--rule", "byzantine", batchFlag}, abc...)...), 2)
	for i, b := range readAll(t, dir, abc...) {
		if !bytes.Equal(b, before[i]) {
			t.Fatalf("repair without a quorum changed %s", abc[i])
		}
	}
	must(t, quorum(t, dir, args([]string{"scan", "--rule", "two-thirds"}, abc...)...), 4)
	// Under the default rule the same replicas are repairable.
	must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abc...)...), 1)
}

func TestOfflineOneWrite(t *testing.T) {
	// c missed a single write: its state is still the dependency of a's
	// and b's, so it lags inside a chain of three.
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "a.img", "b.img"), 0)
	rep := scanJSON(t, dir, 1, abc...)
	checkRanges(t, rep, []wantRange{{0, int64(n - 1), "repair", 0, 3, []int{2}, nil, []int{2}}})
	repairApply(t, dir, readAll(t, dir, "a.img")[0], abc...)
}

func TestInterruptedTransaction(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	// A write reached only a on objects 10-19, and only b on object 40.
	must(t, quorum(t, dir, "write", "--objects", "10-19", "a.img"), 0)
	must(t, quorum(t, dir, "write", "--objects", "40", "b.img"), 0)
	rep := scanJSON(t, dir, 1, abc...)
	last := int64(n - 1)
	checkRanges(t, rep, []wantRange{
		{0, 9, "agreed", 0, 3, nil, nil, nil},
		{10, 19, "repair", 0, 3, []int{1, 2}, nil, []int{1, 2}},
		{20, 39, "agreed", 0, 3, nil, nil, nil},
		{40, 40, "repair", 1, 3, []int{0, 2}, nil, []int{0, 2}},
		{41, last, "agreed", 0, 3, nil, nil, nil},
	})
	if s := rep.Summary; s.Agreed != int64(n-11) || s.Repair != 11 || s.LaggingCopies != 22 || s.OutsideCopies != 0 {
		t.Errorf("summary %+v", s)
	}
	// The leader's bytes: a's for objects 10-19, b's for object 40.
	reps := readAll(t, dir, abc...)
	want := slices.Clone(reps[0])
	copy(want[40*4096:41*4096], reps[1][40*4096:])
	rp := repairApply(t, dir, want, abc...)
	if !slices.Equal(rp.Written.Replicas, []int64{1, 10, 11}) {
		t.Errorf("written per replica %v", rp.Written.Replicas)
	}
}

// TestREADMEScenario is the README's walk-through: a 3-drive mirror, one
// drive down, then a write cut short on the others. Strict lockstep would
// find three different states and no majority; relaxed lockstep finds a
// chain of two and repairs the lagging drive before the stranger.
func TestREADMEScenario(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	q := n / 4
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "--count", "2", "a.img", "b.img"), 0)
	must(t, quorum(t, dir, "write", "--objects", fmt.Sprintf("0-%d", q-1), "a.img"), 0)

	text := must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abc...)...), 1)
	r1 := fmt.Sprintf("0-%d", q-1)
	r2 := fmt.Sprintf("%d-%d", q, n-1)
	if got, want := tableRow(t, text.stdout, r1), []string{r1, strconv.Itoa(q), "REPAIR", "a.img", "2/3", "b.img", "c.img"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	if got, want := tableRow(t, text.stdout, r2), []string{r2, strconv.Itoa(n - q), "REPAIR", "a.img", "2/3", "-", "c.img"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	rep := scanJSON(t, dir, 1, abc...)
	checkRanges(t, rep, []wantRange{
		{0, int64(q - 1), "repair", 0, 2, []int{1}, []int{2}, []int{1, 2}},
		{int64(q), int64(n - 1), "repair", 0, 2, nil, []int{2}, []int{2}},
	})

	// Listed in another order, the stranger c comes first and the lagging
	// b last: the repair order is still lagging first.
	rep = scanJSON(t, dir, 1, "c.img", "a.img", "b.img")
	checkRanges(t, rep, []wantRange{
		{0, int64(q - 1), "repair", 1, 2, []int{2}, []int{0}, []int{2, 0}},
		{int64(q), int64(n - 1), "repair", 1, 2, nil, []int{0}, []int{0}},
	})

	leader := readAll(t, dir, "a.img")[0]
	applied := must(t, quorum(t, dir, args([]string{"repair", "--apply", batchFlag}, abc...)...), 0)
	for _, want := range []string{"as found, before the repair:", "repaired: wrote", "status: clean (exit 0): every replica now agrees on every object"} {
		if !strings.Contains(applied.stdout, want) {
			t.Errorf("repair --apply report lacks %q:\n%s", want, applied.stdout)
		}
	}
	equalFiles(t, dir, leader, abc...)
	must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abc...)...), 0)
}

// TestDeepLag: replicas two states behind are caught up before those one
// behind, since they may hold the only link down the chain.
func TestDeepLag(t *testing.T) {
	f := newKillFixture(t)
	q, last := int64(f.n/4), int64(f.n-1)
	rep := parseReport(t, must(t, quorum(t, f.src, f.args("scan", "--json")...), 1))
	checkRanges(t, rep, []wantRange{
		{0, q - 1, "repair", 0, 3, []int{1, 2}, []int{3}, []int{2, 1, 3}},
		{q, 2*q - 1, "repair", 0, 3, []int{2}, []int{3}, []int{2, 3}},
		{2 * q, last, "repair", 0, 3, nil, []int{3}, []int{3}},
	})
	dir := t.TempDir()
	copyFiles(t, f.src, dir, f.names...)
	must(t, quorum(t, dir, f.args("repair", "--apply")...), 0)
	equalFiles(t, dir, f.leader, f.names...)
}

func TestPartitionSplitBrainUntouched(t *testing.T) {
	// Four replicas split two and two, and both sides took a write: every
	// object is split-brain. Repair must write nothing at all.
	dir, n := t.TempDir(), testObjects()
	abcd := []string{"a.img", "b.img", "c.img", "d.img"}
	initReplicas(t, dir, n, abcd...)
	must(t, quorum(t, dir, "write", "a.img", "b.img"), 0)
	must(t, quorum(t, dir, "write", "c.img", "d.img"), 0)
	text := must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abcd...)...), 2)
	last := strconv.Itoa(n - 1)
	if got, want := tableRow(t, text.stdout, "0-"+last), []string{"0-" + last, strconv.Itoa(n), "SPLIT-BRAIN", "-", "-", "-", "-"}; !slices.Equal(got, want) {
		t.Errorf("row %q, want %q", got, want)
	}
	if !strings.Contains(text.stdout, "status: unrepairable (exit 2)") {
		t.Errorf("report:\n%s", text.stdout)
	}
	rep := scanJSON(t, dir, 2, abcd...)
	checkRanges(t, rep, []wantRange{{0, int64(n - 1), "split-brain", -1, 0, nil, nil, nil}})

	before := readAll(t, dir, abcd...)
	r := parseReport(t, must(t, quorum(t, dir, args([]string{"repair", "--apply", "--json", batchFlag}, abcd...)...), 2))
	if r.Written == nil || r.Written.Copies != 0 || r.Status != "unrepairable" {
		t.Errorf("written %+v, status %s", r.Written, r.Status)
	}
	for i, b := range readAll(t, dir, abcd...) {
		if !bytes.Equal(b, before[i]) {
			t.Fatalf("repair of split-brain objects changed %s at byte %d", abcd[i], firstDiff(b, before[i]))
		}
	}
	noJournals(t, dir)
}

func TestPartitionMixed(t *testing.T) {
	// Objects 0-9 split two against two; on objects 20-29 d missed a
	// write. Repair fixes 20-29 and leaves 0-9 exactly as they were.
	dir, n := t.TempDir(), testObjects()
	abcd := []string{"a.img", "b.img", "c.img", "d.img"}
	initReplicas(t, dir, n, abcd...)
	must(t, quorum(t, dir, "write", "--objects", "0-9", "a.img", "b.img"), 0)
	must(t, quorum(t, dir, "write", "--objects", "0-9", "c.img", "d.img"), 0)
	must(t, quorum(t, dir, "write", "--objects", "20-29", "a.img", "b.img", "c.img"), 0)
	last := int64(n - 1)
	rep := scanJSON(t, dir, 2, abcd...)
	checkRanges(t, rep, []wantRange{
		{0, 9, "split-brain", -1, 0, nil, nil, nil},
		{10, 19, "agreed", 0, 4, nil, nil, nil},
		{20, 29, "repair", 0, 4, []int{3}, nil, []int{3}},
		{30, last, "agreed", 0, 4, nil, nil, nil},
	})
	before := readAll(t, dir, abcd...)
	r := parseReport(t, must(t, quorum(t, dir, args([]string{"repair", "--apply", "--json", batchFlag}, abcd...)...), 2))
	if r.Written.Copies != 10 || !slices.Equal(r.Written.Replicas, []int64{0, 0, 0, 10}) {
		t.Errorf("written %+v", r.Written)
	}
	after := readAll(t, dir, abcd...)
	for i := range abcd {
		if !bytes.Equal(after[i][:10*4096], before[i][:10*4096]) {
			t.Fatalf("split-brain objects of %s changed", abcd[i])
		}
		if !bytes.Equal(after[i][10*4096:], before[0][10*4096:]) {
			t.Fatalf("%s: objects 10-%d are not the leader's", abcd[i], last)
		}
	}
	rep = scanJSON(t, dir, 2, abcd...)
	checkRanges(t, rep, []wantRange{
		{0, 9, "split-brain", -1, 0, nil, nil, nil},
		{10, last, "agreed", 0, 4, nil, nil, nil},
	})
}

func TestPartitionThreeWays(t *testing.T) {
	// a and b on one side, c alone on the other, both advanced: the side
	// of two is the majority; c is outside it and is overwritten.
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "a.img", "b.img"), 0)
	must(t, quorum(t, dir, "write", "c.img"), 0)
	rep := scanJSON(t, dir, 1, abc...)
	checkRanges(t, rep, []wantRange{{0, int64(n - 1), "repair", 0, 2, nil, []int{2}, []int{2}}})
	repairApply(t, dir, readAll(t, dir, "a.img")[0], abc...)
}

func TestStrangers(t *testing.T) {
	n := testObjects()
	last := int64(n - 1)
	t.Run("one stranger of three", func(t *testing.T) {
		dir := t.TempDir()
		initReplicas(t, dir, n, "a.img", "b.img")
		initReplicas(t, dir, n, "c.img") // a drive formatted on its own
		rep := scanJSON(t, dir, 1, abc...)
		checkRanges(t, rep, []wantRange{{0, last, "repair", 0, 2, nil, []int{2}, []int{2}}})
		repairApply(t, dir, readAll(t, dir, "a.img")[0], abc...)
	})
	t.Run("two strangers", func(t *testing.T) {
		dir := t.TempDir()
		initReplicas(t, dir, n, "a.img")
		initReplicas(t, dir, n, "b.img")
		rep := scanJSON(t, dir, 2, "a.img", "b.img")
		checkRanges(t, rep, []wantRange{{0, last, "split-brain", -1, 0, nil, nil, nil}})
	})
	t.Run("no majority", func(t *testing.T) {
		// Two agree, three strangers: a chain of 2 of 5 is no majority.
		dir := t.TempDir()
		five := []string{"a.img", "b.img", "c.img", "d.img", "e.img"}
		initReplicas(t, dir, n, "a.img", "b.img")
		for _, s := range five[2:] {
			initReplicas(t, dir, n, s)
		}
		text := must(t, quorum(t, dir, args([]string{"scan", batchFlag}, five...)...), 2)
		row := tableRow(t, text.stdout, fmt.Sprintf("0-%d", last))
		if want := []string{fmt.Sprintf("0-%d", last), strconv.Itoa(n), "NO", "QUORUM", "a.img", "2/5", "-", "c.img,d.img,e.img"}; !slices.Equal(row, want) {
			t.Errorf("row %q, want %q", row, want)
		}
		rep := scanJSON(t, dir, 2, five...)
		checkRanges(t, rep, []wantRange{{0, last, "no-quorum", 0, 2, nil, []int{2, 3, 4}, nil}})
		before := readAll(t, dir, five...)
		must(t, quorum(t, dir, args([]string{"repair", "--apply", batchFlag}, five...)...), 2)
		for i, b := range readAll(t, dir, five...) {
			if !bytes.Equal(b, before[i]) {
				t.Fatalf("repair without a majority changed %s", five[i])
			}
		}
	})
}

// TestBadVectors: cyclic and conflicting objects anywhere in a batch (first,
// middle, last, first of the next, last of all) are each reported, and the
// objects after them still are: a bad object hides nothing.
func TestBadVectors(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "--objects", "8", "a.img"), 0)
	reps := readAll(t, dir, abc...)
	path := func(i int) string { return filepath.Join(dir, abc[i]) }
	b := batchObjects
	cyclic := func(replica, obj int) {
		v := make([]byte, 32)
		rand.Read(v[:16])
		copy(v[16:], v[:16]) // a fresh ID0 that is its own ID1
		setVector(t, path(replica), obj, 4096, 0, v)
	}
	conflict := func(replica, obj int) {
		v := slices.Clone(vectorAt(reps[0], obj, 4096, 0))
		rand.Read(v[16:]) // a's ID0 with another ID1
		setVector(t, path(replica), obj, 4096, 0, v)
	}
	cyclic(1, 0)
	conflict(2, 7)
	setVector(t, path(0), b-1, 4096, 0, make([]byte, 32)) // all zeros: cyclic
	conflict(1, b)
	conflict(2, b+1)
	cyclic(0, n-1)
	before := readAll(t, dir, abc...)

	last := int64(n - 1)
	B := int64(b)
	want := []wantRange{
		{0, 0, "cyclic", -1, 0, nil, nil, nil},
		{1, 6, "agreed", 0, 3, nil, nil, nil},
		{7, 7, "conflict", -1, 0, nil, nil, nil},
		{8, 8, "repair", 0, 3, []int{1, 2}, nil, []int{1, 2}},
		{9, B - 2, "agreed", 0, 3, nil, nil, nil},
		{B - 1, B - 1, "cyclic", -1, 0, nil, nil, nil},
		{B, B + 1, "conflict", -1, 0, nil, nil, nil},
		{B + 2, last - 1, "agreed", 0, 3, nil, nil, nil},
		{last, last, "cyclic", -1, 0, nil, nil, nil},
	}
	rep := scanJSON(t, dir, 2, abc...)
	checkRanges(t, rep, want)
	if s := rep.Summary; s.Cyclic != 3 || s.Conflict != 3 || s.Repair != 1 || s.Agreed != int64(n-7) {
		t.Errorf("summary %+v", s)
	}
	text := must(t, quorum(t, dir, args([]string{"scan", batchFlag}, abc...)...), 2)
	for _, row := range [][]string{{"0", "1", "CYCLIC", "-", "-", "-", "-"}, {"7", "1", "CONFLICT", "-", "-", "-", "-"}} {
		if got := tableRow(t, text.stdout, row[0]); !slices.Equal(got, row) {
			t.Errorf("row %q, want %q", got, row)
		}
	}

	// Repair fixes object 8 only; every bad object keeps its bytes.
	r := parseReport(t, must(t, quorum(t, dir, args([]string{"repair", "--apply", "--json", batchFlag}, abc...)...), 2))
	if r.Written.Copies != 2 {
		t.Errorf("written %+v", r.Written)
	}
	after := readAll(t, dir, abc...)
	for i := range abc {
		for obj := range n {
			got, old := after[i][obj*4096:(obj+1)*4096], before[i][obj*4096:(obj+1)*4096]
			if obj == 8 {
				old = before[0][obj*4096 : (obj+1)*4096]
			}
			if !bytes.Equal(got, old) {
				t.Fatalf("%s object %d changed", abc[i], obj)
			}
		}
	}
	checkRanges(t, scanJSON(t, dir, 2, abc...), []wantRange{
		{0, 0, "cyclic", -1, 0, nil, nil, nil},
		{1, 6, "agreed", 0, 3, nil, nil, nil},
		{7, 7, "conflict", -1, 0, nil, nil, nil},
		{8, B - 2, "agreed", 0, 3, nil, nil, nil},
		{B - 1, B - 1, "cyclic", -1, 0, nil, nil, nil},
		{B, B + 1, "conflict", -1, 0, nil, nil, nil},
		{B + 2, last - 1, "agreed", 0, 3, nil, nil, nil},
		{last, last, "cyclic", -1, 0, nil, nil, nil},
	})
}

func TestGeometry(t *testing.T) {
	// Objects of 512 bytes with the vector at 100, flags after the files.
	dir, n := t.TempDir(), testObjects()
	geo := []string{"--object-size", "512", "--vector-offset", "100"}
	must(t, quorum(t, dir, args(append([]string{"init", "--objects", strconv.Itoa(n)}, geo...), abc...)...), 0)
	must(t, quorum(t, dir, args(append([]string{"write", "--objects", "3-5"}, geo...), "a.img", "b.img")...), 0)
	rep := parseReport(t, must(t, quorum(t, dir, args([]string{"scan", "--json", "a.img", "b.img", "c.img"}, geo...)...), 1))
	checkRanges(t, rep, []wantRange{
		{0, 2, "agreed", 0, 3, nil, nil, nil},
		{3, 5, "repair", 0, 3, []int{2}, nil, []int{2}},
		{6, int64(n - 1), "agreed", 0, 3, nil, nil, nil},
	})
	reps := readAll(t, dir, abc...)
	if v := vectorAt(reps[0], 4, 512, 100); !bytes.Equal(v[16:], vectorAt(reps[2], 4, 512, 100)[:16]) {
		t.Fatalf("a's object 4 is not built on c's")
	}
	// The wrong geometry is refused or finds nonsense, never a repair.
	must(t, quorum(t, dir, args([]string{"scan", "--object-size", "1000"}, abc...)...), 3)
	text := must(t, quorum(t, dir, args([]string{"repair", "--apply", "a.img", "b.img", "c.img"}, geo...)...), 0)
	if !strings.Contains(text.stdout, "copies written from the leaders: 3 (1.5 KiB)") {
		t.Errorf("report:\n%s", text.stdout)
	}
	equalFiles(t, dir, reps[0], abc...)
}

func TestWriteRefusesDisagreement(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	must(t, quorum(t, dir, "write", "--objects", "5", "a.img"), 0)
	before := readAll(t, dir, abc...)
	r := must(t, quorum(t, dir, "write", "a.img", "b.img"), 3)
	if !strings.Contains(r.stderr, "object 5: a.img") || !strings.Contains(r.stderr, "different states") {
		t.Errorf("stderr: %s", r.stderr)
	}
	for i, b := range readAll(t, dir, abc...) {
		if !bytes.Equal(b, before[i]) {
			t.Fatalf("a refused write changed %s", abc[i])
		}
	}
	// init never overwrites without --force.
	r = must(t, quorum(t, dir, "init", "--objects", "4", "a.img"), 3)
	if !strings.Contains(r.stderr, "a.img exists") {
		t.Errorf("stderr: %s", r.stderr)
	}
	must(t, quorum(t, dir, "init", "--force", "--objects", "4", "a.img"), 0)
}

func TestManyRanges(t *testing.T) {
	// Every other object needs a repair: the text report lists --ranges
	// of them, the JSON all.
	dir, n := t.TempDir(), testObjects()
	initReplicas(t, dir, n, abc...)
	var odd []string
	for i := 1; i < n; i += 2 {
		odd = append(odd, strconv.Itoa(i))
	}
	must(t, quorum(t, dir, "write", "--objects", strings.Join(odd, ","), "a.img", "b.img"), 0)
	text := must(t, quorum(t, dir, args([]string{"scan", "--ranges", "5", batchFlag}, abc...)...), 1)
	if want := fmt.Sprintf("... and %d more ranges", n-5); !strings.Contains(text.stdout, want) {
		t.Errorf("report lacks %q:\n%s", want, text.stdout)
	}
	rep := scanJSON(t, dir, 1, abc...)
	if len(rep.Ranges) != n {
		t.Fatalf("%d ranges, want %d", len(rep.Ranges), n)
	}
	for i, r := range rep.Ranges {
		if r.First != int64(i) || (r.Status == "repair") != (i%2 == 1) {
			t.Fatalf("range %d: %+v", i, r)
		}
	}
}

// TestInProcess runs the README scenario through run, in this process: the
// architecture under test even under qemu, and the race detector over the
// reader goroutine.
func TestInProcess(t *testing.T) {
	dir, n := t.TempDir(), testObjects()
	q := n / 4
	must(t, runIn(t, dir, "init", "--objects", strconv.Itoa(n), "a.img", "b.img", "c.img"), 0)
	must(t, runIn(t, dir, "write", "--count", "2", "a.img", "b.img"), 0)
	must(t, runIn(t, dir, "write", "--objects", fmt.Sprintf("0-%d", q-1), "a.img"), 0)
	rep := parseReport(t, must(t, runIn(t, dir, "scan", "--json", batchFlag, "a.img", "b.img", "c.img"), 1))
	checkRanges(t, rep, []wantRange{
		{0, int64(q - 1), "repair", 0, 2, []int{1}, []int{2}, []int{1, 2}},
		{int64(q), int64(n - 1), "repair", 0, 2, nil, []int{2}, []int{2}},
	})
	leader := readAll(t, dir, "a.img")[0]
	must(t, runIn(t, dir, "repair", batchFlag, "a.img", "b.img", "c.img", "--apply"), 0)
	equalFiles(t, dir, leader, abc...)
	must(t, runIn(t, dir, "scan", "a.img", "b.img", "c.img"), 0)
	noJournals(t, dir)

	// The kernel's own view agrees.
	for i, r := range quorumOf(t, readAll(t, dir, abc...), 4096, 0) {
		if r != (kernel.Result{Leader: 0, Length: 3}) {
			t.Fatalf("object %d: %+v", i, r)
		}
	}
}
