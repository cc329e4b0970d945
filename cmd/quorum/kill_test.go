package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestKillMidRepair kills repair --apply with SIGKILL after random delays
// (a fixed seed), as an operator or the OOM killer would, then checks that
// every object of every replica is its old bytes or the repaired ones, that
// a scan reports the interrupted repair's journal record, and
// that a second repair --apply ends byte for byte where an uninterrupted
// one does. The command has no crash hooks: the kills are real.
func TestKillMidRepair(t *testing.T) {
	const objects = 1024
	src := t.TempDir()
	must(t, quorum(t, src, "format", "--objects", strconv.Itoa(objects), "a.img", "b.img", "c.img"), 0)
	// On the first half c misses one write (it lags in the chain); on the
	// second b misses two (it is outside it).
	must(t, quorum(t, src, "write", "--missing", "2", "--objects", fmt.Sprintf("0-%d", objects/2-1), "a.img", "b.img"), 0)
	must(t, quorum(t, src, "write", "--missing", "1", "--count", "2", "--objects", fmt.Sprintf("%d-%d", objects/2, objects-1), "a.img", "c.img"), 0)
	names := append(abc, filepath.Base(journalOf(t, src)))
	old := readAll(t, src, names...)

	// One object per batch: a transaction per object, so a kill lands
	// between, and inside, many of them.
	repair := func(dir string) []string {
		return []string{"repair", "--apply", "--batch-size", "4KiB", "--journal", filepath.Join(dir, names[3]), "a.img", "b.img", "c.img"}
	}
	ref := t.TempDir()
	copyFiles(t, src, ref, names...)
	start := time.Now()
	rep := parseReport(t, must(t, quorum(t, ref, append(repair(ref), "--json")...), 0))
	took := time.Since(start)
	if rep.Repaired.Objects != objects || rep.Repaired.Copies != objects || len(rep.Ranges) != 2 {
		t.Fatalf("reference repair: %+v", rep.Repaired)
	}
	want := readAll(t, ref, abc...)

	rng := rand.New(rand.NewPCG(1, 2))
	runs := 8
	if testing.Short() {
		runs = 3
	}
	for run := range runs {
		dir := t.TempDir()
		copyFiles(t, src, dir, names...)
		delay := time.Duration(rng.Int64N(int64(took)))
		cmd := newCmd(quorumBin(t), dir, repair(dir)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		err := cmd.Wait()
		what := fmt.Sprintf("run %d, killed after %v of %v (%v)", run, delay, took, err)
		cur := readAll(t, dir, abc...)
		changed := oldOrNew(t, what, cur, old[:3], want, objects)
		scan := parseReport(t, quorum(t, dir, "scan", "--json", "--journal", filepath.Join(dir, names[3]), "a.img", "b.img", "c.img"))
		// Killed inside a transaction, its record is pending; between two,
		// nothing is (each is marked applied once in place).
		if changed < objects && scan.Exit != exitRepairable || scan.Journal.State == "pending" && scan.Summary.Pending == 0 {
			t.Fatalf("%s: %d of %d copies repaired, and the scan says exit %d, journal %+v, %+v", what, changed, objects, scan.Exit, scan.Journal, scan.Summary)
		}
		r := must(t, quorum(t, dir, repair(dir)...), 0)
		for i, b := range readAll(t, dir, abc...) {
			if !bytes.Equal(b, want[i]) {
				t.Fatalf("%s: after the second repair %s differs from the uninterrupted repair's\n%s", what, abc[i], r.stdout)
			}
		}
		must(t, quorum(t, dir, "scan", "--journal", filepath.Join(dir, names[3]), "a.img", "b.img", "c.img"), 0)
		t.Logf("%s: checked", what)
	}
}

// oldOrNew fails unless every object (and the superblocks) of every
// replica is its old bytes or its new ones.
func oldOrNew(t *testing.T, what string, cur, old, want [][]byte, objects int) int {
	t.Helper()
	changed := 0
	for r := range cur {
		if !bytes.Equal(cur[r][:8192], old[r][:8192]) {
			t.Fatalf("%s: %s: the superblocks changed", what, abc[r])
		}
		for i := range objects {
			lo, hi := 8192+i*4096, 8192+(i+1)*4096
			switch got := cur[r][lo:hi]; {
			case bytes.Equal(got, old[r][lo:hi]):
			case bytes.Equal(got, want[r][lo:hi]):
				changed++
			default:
				t.Fatalf("%s: %s object %d is neither its old bytes nor the repaired ones", what, abc[r], i)
			}
		}
	}
	t.Logf("%s: %d object copies already repaired", what, changed)
	return changed
}
