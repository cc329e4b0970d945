package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Raw mode: files without superblocks, objects from byte 0, geometry from
// the flags. The vectors are made by hand (IDs as letters), so every status
// the kernel can find is here.

const (
	rawSize   = 64
	rawOffset = 16
)

var wxyz = []string{"w.img", "x.img", "y.img", "z.img"}

// vec is the vector "ID0/ID1" with IDs as 16 repeated letters.
func vec(s string) []byte {
	id0, id1, _ := strings.Cut(s, "/")
	return append(bytes.Repeat([]byte(id0), 16), bytes.Repeat([]byte(id1), 16)...)
}

// rawFixture writes the four replicas: objects[i][r] is object i's vector
// on replica r; every other byte says which replica and object it is.
func rawFixture(t *testing.T, dir string, objects [][]string) {
	t.Helper()
	for r, name := range wxyz {
		var b []byte
		for _, o := range objects {
			obj := bytes.Repeat([]byte{byte('0' + r)}, rawSize)
			copy(obj[rawOffset:], vec(o[r]))
			b = append(b, obj...)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var rawObjects = [][]string{
	{"B/A", "B/A", "B/A", "B/A"}, // agreed
	{"C/B", "B/A", "B/A", "B/A"}, // w one write ahead: x, y, z lag
	{"B/A", "B/A", "C/A", "C/A"}, // two forks of A, two replicas each
	{"B/A", "B/A", "X/Y", "P/Q"}, // a chain of two: no quorum (3 of 4 needed)
	{"A/A", "B/A", "B/A", "B/A"}, // a cycle
	{"B/A", "B/C", "B/A", "B/A"}, // B on two dependencies: a conflict
	{"D/C", "C/B", "B/A", "X/Y"}, // a chain of three, x and y behind, z outside
	{"B/A", "B/A", "B/A", "B/A"},
}

func rawArgs(cmd ...string) []string {
	return append(append(cmd, "--raw", "--object-size", "64", "--vector-offset", "16"), wxyz...)
}

func TestRaw(t *testing.T) {
	dir := t.TempDir()
	rawFixture(t, dir, rawObjects)
	rep := parseReport(t, must(t, runIn(t, dir, rawArgs("scan", "--json")...), 2))
	want := "0-0 agreed 0 4 [] 0\n" +
		"1-1 lagging 0 4 [1 2 3] 3\n" +
		"2-2 split-brain -1 0 [] 0\n" +
		"3-3 no-quorum -1 2 [] 0\n" +
		"4-4 cyclic -1 0 [] 0\n" +
		"5-5 conflict -1 0 [] 0\n" +
		"6-6 lagging 0 3 [2 1 3] 2\n" +
		"7-7 agreed 0 4 [] 0\n"
	if got := rangesString(rep.Ranges); got != want {
		t.Errorf("raw ranges:\n%s\nwant\n%s", got, want)
	}
	if !rep.Raw || rep.Journal.State != "unnamed" || rep.ObjectSize != rawSize || rep.VectorOffset != rawOffset || rep.Objects != 8 {
		t.Errorf("raw head %+v", rep.scanHead)
	}
	text := must(t, runIn(t, dir, rawArgs("scan")...), 2)
	contains(t, "raw text", text.stdout, "raw set (no superblocks; geometry as given, nothing checks that the files are one set or in order) of 4 replicas",
		"journal: none named", "SPLIT-BRAIN", "NO QUORUM", "CYCLIC", "CONFLICT",
		"4 objects need an operator", "quorum repair --apply --raw --object-size 64 --vector-offset 16 w.img x.img y.img z.img repairs the rest")
	if got := tableRow(t, text.stdout, "6"); strings.Join(got, " ") != "6 1 LAGGING w.img 3/4 y.img,x.img z.img" {
		t.Errorf("row 6: %q", got)
	}

	before := readAll(t, dir, wxyz...)
	must(t, runIn(t, dir, rawArgs("repair", "--apply")...), 4) // a raw write names its journal
	journal := filepath.Join(dir, "raw.journal")
	applied := parseReport(t, must(t, runIn(t, dir, rawArgs("repair", "--apply", "--json", "--journal", journal)...), 2))
	if applied.Repaired.Objects != 2 || applied.Repaired.Copies != 6 {
		t.Errorf("repaired %+v", applied.Repaired)
	}
	after := readAll(t, dir, wxyz...)
	for r := range wxyz {
		for i := range rawObjects {
			got, old, lead := after[r][i*rawSize:(i+1)*rawSize], before[r][i*rawSize:(i+1)*rawSize], before[0][i*rawSize:(i+1)*rawSize]
			want := old
			if i == 1 || i == 6 {
				want = lead
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s object %d: %q, want %q", wxyz[r], i, got, want)
			}
		}
	}
	if _, err := os.Stat(journal); err != nil {
		t.Errorf("raw journal: %v", err)
	}
	rep = parseReport(t, must(t, runIn(t, dir, rawArgs("scan", "--json", "--journal", journal)...), 2))
	if rep.Journal.State != "clean" || rep.Ranges[0].Last != 1 || rep.Summary.Lagging != 0 {
		t.Errorf("after the repair: journal %+v ranges\n%s", rep.Journal, rangesString(rep.Ranges))
	}
}

// A raw write through a journal named by --journal, then read back.
func TestRawWrite(t *testing.T) {
	dir := t.TempDir()
	agreed := make([][]string, 8)
	for i := range agreed {
		agreed[i] = []string{"B/A", "B/A", "B/A", "B/A"}
	}
	rawFixture(t, dir, agreed)
	if err := os.Mkdir(filepath.Join(dir, "j.dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	journal := filepath.Join(dir, "j.dir", "raw.journal")
	r := must(t, runIn(t, dir, rawArgs("write", "--journal", journal, "--missing", "7")...), 4)
	contains(t, "raw write with a missing index past the end", r.stderr, "--missing 7: index 7 is past the 5 replicas")
	r = must(t, runIn(t, dir, append(rawArgs("write", "--journal", journal, "--objects", "2-3"), "--count", "2")...), 0)
	contains(t, "raw write", r.stdout, "wrote 2 transactions to each of 2 objects (2-3)")
	if _, err := os.Stat(journal); err != nil {
		t.Fatalf("no journal at --journal: %v", err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "y.img"))
	if k := writeOf(b[2*rawSize:3*rawSize], rawOffset, 2); k != 2 {
		t.Errorf("object 2 of y.img holds write %d: %q", k, b[2*rawSize:3*rawSize])
	}
	must(t, runIn(t, dir, rawArgs("scan", "--journal", journal)...), 0)
}
