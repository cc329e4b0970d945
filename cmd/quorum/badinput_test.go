package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// snapshot is every file in a directory, by name: the bytes of small
// files, and the size and modification time of large ones (the 16 MiB
// journals).
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case !fi.Mode().IsRegular():
			out[e.Name()] = nil
		case fi.Size() > 1<<20:
			out[e.Name()] = []byte(fmt.Sprint(fi.Size(), fi.ModTime().UnixNano()))
		default:
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		}
	}
	return out
}

func sameSnapshot(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: files before %d, after %d", what, len(a), len(b))
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			t.Fatalf("%s: %s changed", what, k)
		}
	}
}

type badCase struct {
	name string
	args []string
	code int
	msg  string
}

// badFixture: a set a, b, c of 8 objects; another set p, q, r; a file
// that is not a replica; a directory.
func badFixture(t *testing.T) string {
	dir := t.TempDir()
	must(t, runIn(t, dir, "format", "--objects", "8", "a.img", "b.img", "c.img"), 0)
	must(t, runIn(t, dir, "format", "--objects", "8", "p.img", "q.img", "r.img"), 0)
	must(t, runIn(t, dir, "write", "--missing", "2", "--objects", "1", "a.img", "b.img"), 0) // something to repair
	for name, n := range map[string]int{"x.img": 10000, "y.img": 4096, "empty.img": 0} {
		if err := os.WriteFile(filepath.Join(dir, name), make([]byte, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "d.dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The set's files: every bad replica list gets a clear error naming the
// file or the flag, the right exit status and nothing written, from scan,
// repair and repair --apply alike.
var setCases = []badCase{
	{"no replicas", nil, 4, "no replica files given: name 1 to 255"},
	{"missing", []string{"a.img", "missing.img", "c.img"}, 3, "missing.img: no such file"},
	{"unreachable", []string{"a.img", "b.img/sub.img", "c.img"}, 3, "b.img/sub.img: not a directory"},
	{"directory", []string{"a.img", "d.dir", "c.img"}, 3, "d.dir: "},
	{"another set", []string{"a.img", "q.img", "c.img"}, 3, "q.img: not a replica of this set: set "},
	{"listed twice", []string{"a.img", "b.img", "a.img"}, 3, "replica listed twice: a.img and a.img are the same replica"},
	{"wrong order", []string{"b.img", "a.img", "c.img"}, 3, "b.img: not a replica of this set: it is replica 1 of set"},
	{"too few", []string{"a.img", "b.img"}, 3, "a set of 3 replicas, 2 listed: list every replica in index order, with --missing INDEX"},
	{"not formatted", []string{"a.img", "x.img", "c.img"}, 3, "x.img: not a formatted replica: blank, no superblock. If it is a new drive for replica 1: quorum rebuild --replace 1 a.img x.img c.img"},
	{"empty", []string{"a.img", "empty.img", "c.img"}, 3, "empty.img: not a formatted replica: blank, no superblock"},
	{"unknown flag", []string{"--frob", "a.img"}, 4, "flag provided but not defined: -frob"},
	{"negative ranges", []string{"--ranges", "-1", "a.img"}, 4, "--ranges must be 0 (all) or more"},
	{"bad rule", []string{"--rule", "two-thirds", "a.img", "b.img", "c.img"}, 4, `--rule must be majority or byzantine, got "two-thirds"`},
	{"batch 0", []string{"--batch-size", "0", "a.img"}, 4, "--batch-size must be from 1 byte"},
	{"batch not a size", []string{"--batch-size", "4x", "a.img"}, 4, `"4x" is not a size`},
	{"geometry of a formatted set", []string{"--object-size", "512", "a.img", "b.img", "c.img"}, 4, "--object-size is for --raw replicas"},
	{"missing not an index", []string{"--missing", "x", "a.img"}, 4, `--missing: "x" is not a replica index`},
	{"missing twice", []string{"--missing", "1,1", "a.img"}, 4, "--missing: index 1 given twice"},
	{"missing past the end", []string{"--missing", "5", "a.img", "b.img"}, 4, "--missing 5: index 5 is past the 3 replicas"},
	{"missing one too many", []string{"--missing", "2", "a.img", "b.img", "c.img"}, 3, "a set of 3 replicas, 4 listed (--missing adds absent replicas to those listed)"},
	{"raw object size too small", []string{"--raw", "--journal", "raw.journal", "--object-size", "16", "x.img"}, 4, "--object-size must be from 32 to 16777216 bytes"},
	{"raw object size huge", []string{"--raw", "--journal", "raw.journal", "--object-size", "1GiB", "x.img"}, 4, "--object-size must be from 32 to 16777216 bytes"},
	{"raw object too big for the replicas", []string{"--raw", "--journal", "raw.journal", "--object-size", "16MiB", "x.img", "y.img", "a.img", "b.img", "c.img"}, 4, "one object of each of the 5 replicas must fit in 64 MiB"},
	{"raw vector offset past the end", []string{"--raw", "--journal", "raw.journal", "--vector-offset", "4065", "x.img"}, 4, "--vector-offset must be from 0 to 4064"},
	{"raw vector offset negative", []string{"--raw", "--journal", "raw.journal", "--vector-offset=-1", "x.img"}, 4, "--vector-offset must be from 0 to 4064"},
	{"raw not whole objects", []string{"--raw", "--journal", "raw.journal", "x.img"}, 3, "replica size 10000 (x.img) is not a whole number of 4096-byte objects"},
	{"raw sizes differ", []string{"--raw", "--journal", "raw.journal", "y.img", "x.img"}, 3, "replicas differ in size: y.img has 4096 bytes, x.img has 10000"},
	{"raw directory", []string{"--raw", "--journal", "raw.journal", "y.img", "d.dir"}, 3, "d.dir: "},
}

func TestBadInput(t *testing.T) {
	dir := badFixture(t)
	many := make([]string, 256)
	for i := range many {
		many[i] = "r" + strconv.Itoa(i) + ".img"
	}
	cases := append(slices.Clone(setCases), badCase{"256 replicas", many, 4, "256 replicas given, at most 255"})
	for _, cmd := range [][]string{{"scan"}, {"repair"}, {"repair", "--apply"}, {"write"}} {
		for _, c := range cases {
			if cmd[0] == "write" && (strings.Contains(c.name, "ranges") || strings.Contains(c.name, "batch")) {
				continue
			}
			what := strings.Join(cmd, " ") + ": " + c.name
			before := snapshot(t, dir)
			r := runIn(t, dir, append(slices.Clone(cmd), c.args...)...)
			if r.code != c.code || !strings.Contains(r.stderr, c.msg) || (c.code == 4) != strings.Contains(r.stderr, "quorum help") || r.stdout != "" {
				t.Errorf("%s: want exit %d and %q, got %s", what, c.code, c.msg, r)
			}
			// With --json the error is a JSON document on stdout.
			r = runIn(t, dir, append(append(slices.Clone(cmd), "--json"), c.args...)...)
			checkJSONError(t, what+" --json", r, c)
			sameSnapshot(t, what, before, snapshot(t, dir))
		}
	}
	// Through the binary too, for the real exit status.
	for _, c := range cases[1:8] {
		r := quorum(t, dir, append([]string{"repair", "--apply"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("binary: %s: want exit %d and %q, got %s", c.name, c.code, c.msg, r)
		}
	}
	if r := quorum(t, dir); r.code != exitUsage || !strings.Contains(r.stderr, "usage: quorum") {
		t.Errorf("no arguments: %s", r)
	}
}

func checkJSONError(t *testing.T, what string, r res, c badCase) {
	t.Helper()
	var doc struct {
		Command string `json:"command"`
		Error   string `json:"error"`
		Exit    int    `json:"exit"`
	}
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil || r.code != c.code || doc.Exit != c.code || !strings.Contains(doc.Error, c.msg) || r.stderr != "" {
		t.Errorf("%s: want a JSON error with exit %d and %q, got %v: %s", what, c.code, c.msg, err, r)
	}
}

// The other commands' bad input.
func TestBadInputCommands(t *testing.T) {
	dir := badFixture(t)
	cases := []badCase{
		{"no command", nil, 4, "usage: quorum <command>"},
		{"unknown command", []string{"frob"}, 4, `unknown command "frob"`},
		{"format over a replica", []string{"format", "--objects", "8", "new.img", "a.img"}, 3, "a.img: unusable replica file: already replica 0 of set"},
		{"format over a file", []string{"format", "--objects", "8", "x.img"}, 3, "x.img: unusable replica file: not empty (10000 bytes): --force overwrites it"},
		{"format a directory", []string{"format", "--force", "d.dir"}, 3, "d.dir: unusable replica file: a replica must be a regular file or a block device, not a directory"},
		{"format size and objects", []string{"format", "--size", "8KiB", "--objects", "2", "new.img"}, 4, "give --size or --objects, not both"},
		{"format partial object", []string{"format", "--size", "5000", "new.img"}, 4, "--size 5000 is not a whole number (at least 1) of 4096-byte objects"},
		{"format no objects", []string{"format", "--objects", "0", "new.img"}, 4, "--objects must be at least 1"},
		{"format too many objects", []string{"format", "--objects", "9223372036854775807", "new.img"}, 4, "do not fit in a file"},
		{"format vector offset", []string{"format", "--vector-offset", "4090", "new.img"}, 4, "--vector-offset must be from 0 to 4064"},
		{"format objects too big", []string{"format", "--object-size", "16MiB", "--objects", "1", "n1.img", "n2.img", "n3.img", "n4.img", "n5.img"}, 4, "must fit in 64 MiB"},
		{"format twice the same", []string{"format", "--objects", "2", "new.img", "./new.img"}, 3, "replica listed twice"},
		{"format no replicas", []string{"format"}, 4, "no replica files given"},
		{"write count 0", []string{"write", "--count", "0", "a.img", "b.img", "c.img"}, 4, "--count must be at least 1"},
		{"write past the end", []string{"write", "--objects", "5-8", "a.img", "b.img", "c.img"}, 4, `--objects: "5-8" is past the last object, 7`},
		{"write bad list", []string{"write", "--objects", "3-1", "a.img", "b.img", "c.img"}, 4, `"3-1" is not an object or a range`},
		{"rebuild replace past the end", []string{"rebuild", "--replace", "5", "a.img", "b.img", "c.img"}, 4, "--replace 5: must be the index of a listed replica (0 to 2)"},
		{"rebuild replace a missing one", []string{"rebuild", "--replace", "1", "--missing", "1", "a.img", "c.img"}, 4, "--replace 1: must be the index of a listed replica"},
		{"rebuild force alone", []string{"rebuild", "--force", "a.img", "b.img", "c.img"}, 4, "--force is for --replace"},
		{"rebuild raw", []string{"rebuild", "--raw", "a.img"}, 4, "flag provided but not defined: -raw"},
		{"rebuild over another set", []string{"rebuild", "--replace", "1", "a.img", "q.img", "c.img"}, 3, "q.img: unusable replica file: replica 1 of another set"},
		{"examine nothing", []string{"examine"}, 4, "no replica files given"},
	}
	for _, c := range cases {
		before := snapshot(t, dir)
		r := runIn(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: want exit %d and %q, got %s", c.name, c.code, c.msg, r)
		}
		sameSnapshot(t, c.name, before, snapshot(t, dir))
		if len(c.args) > 0 && c.name != "unknown command" {
			checkJSONError(t, c.name+" --json", runIn(t, dir, append(slices.Clone(c.args), "--json")...), c)
		}
	}
	r := must(t, runIn(t, dir, "examine", "a.img", "missing.img", "x.img"), 3)
	contains(t, "examine", r.stdout, "a.img: replica 0 of 3 of set", "missing.img: no such file", "x.img: not a formatted replica: blank, no superblock")
	// A directory is named as one, whether it is opened to read or to write.
	for _, args := range [][]string{{"scan", "a.img", "d.dir", "c.img"}, {"repair", "--apply", "a.img", "d.dir", "c.img"}} {
		r := must(t, runIn(t, dir, args...), 3)
		contains(t, strings.Join(args, " "), r.stderr, "d.dir: ", "directory")
	}
}

// quorum version, and --version with any command, print one line naming
// the command and the Go toolchain, and exit 0.
func TestVersion(t *testing.T) {
	for _, a := range [][]string{{"version"}, {"--version"}, {"scan", "--version"}, {"repair", "-version", "x"}} {
		r := runIn(t, t.TempDir(), a...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "quorum ") || !strings.Contains(r.stdout, "go1.") {
			t.Errorf("%v: %s", a, r)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, a := range [][]string{{"help"}, {"--help"}, {"scan", "-h"}, {"repair", "--help"}, {"format", "-h"}, {"rebuild", "--help"}} {
		r := runIn(t, t.TempDir(), a...)
		if r.code != 0 || !strings.Contains(r.stdout, "Exit status: 0 clean, 1 repairable or degraded, 2 unrepairable") {
			t.Errorf("%v: %s", a, r)
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4096": 4096, "4KiB": 4096, "4k": 4096, "64MiB": 64 << 20, "1G": 1 << 30, "512b": 512, " 2 MiB": 2 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "-1", "4KiBs", "1.5M", "99999999999999T"} {
		if _, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) accepted", in)
		}
	}
}

func TestParseObjects(t *testing.T) {
	l, err := parseObjects("9,0-3,2-5,7", 10)
	if err != nil || !slices.Equal(l, objectList{{0, 5}, {7, 7}, {9, 9}}) || l.len() != 8 || l.String() != "0-5,7,9" {
		t.Fatalf("got %v, %v", l, err)
	}
}

func TestPayload(t *testing.T) {
	for _, g := range [][2]int{{4096, 0}, {4096, 4064}, {64, 16}, {100, 50}} {
		obj := make([]byte, g[0])
		payload(obj, g[1], 123, 45)
		copy(obj[g[1]:], bytes.Repeat([]byte{'\n'}, 32)) // the vector: any bytes
		if k := writeOf(obj, g[1], 123); k != 45 {
			t.Errorf("geometry %v: write %d, want 45: %q", g, k, obj)
		}
		if k := writeOf(obj, g[1], 12); k != 0 {
			t.Errorf("geometry %v: object 12 read as write %d", g, k)
		}
	}
	if k := writeOf(make([]byte, 4096), 0, 1); k != 0 {
		t.Errorf("zero bytes read as write %d", k)
	}
}
