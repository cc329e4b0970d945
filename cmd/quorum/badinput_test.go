package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// snapshot is every file in a directory, by name.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		} else {
			out[e.Name()] = nil
		}
	}
	return out
}

func sameSnapshot(t *testing.T, what string, a, b map[string][]byte) {
	t.Helper()
	if len(a) != len(b) {
		t.Fatalf("%s: files before %v, after %v", what, keys(a), keys(b))
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			t.Fatalf("%s: %s changed", what, k)
		}
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	slices.Sort(k)
	return k
}

// TestBadInput: every bad command line or replica set gets a clear error
// and exit 3 (the files) or 4 (the command line), with nothing written, by
// scan, repair and repair --apply alike. In-process, so it runs on the
// architecture under test; a few go through the binary too.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "init", "--objects", "8", "a.img", "b.img", "c.img"), 0)
	must(t, runIn(t, dir, "write", "--objects", "1", "a.img"), 0) // something to repair
	must(t, runIn(t, dir, "init", "--objects", "7", "short.img"), 0)
	for _, n := range []string{"x.img", "y.img"} {
		if err := os.WriteFile(filepath.Join(dir, n), make([]byte, 10000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "dir.img"), 0o755); err != nil {
		t.Fatal(err)
	}
	linked := os.Symlink(filepath.Join(dir, "gone"), filepath.Join(dir, "dangling.img")) == nil
	many := make([]string, 256)
	for i := range many {
		many[i] = "r" + strconv.Itoa(i) + ".img"
	}

	type tc struct {
		name string
		args []string
		code int
		msg  string
	}
	replicaCases := []tc{
		{"no replicas", nil, 4, "no replica files given: name 1 to 255"},
		{"256 replicas", many, 4, "256 replica files given, at most 255"},
		{"missing", []string{"a.img", "missing.img"}, 3, "missing.img: no such file"},
		{"unreachable", []string{"a.img", "b.img/sub.img"}, 3, "b.img/sub.img: not a directory"},
		{"directory", []string{"a.img", "dir.img", "b.img"}, 3, "dir.img is a directory, not a replica file"},
		{"sizes differ", []string{"a.img", "b.img", "short.img"}, 3, "replicas differ in size: a.img has 32768 bytes, short.img has 28672"},
		{"not whole objects", []string{"x.img", "y.img"}, 3, "replica size 10000 (x.img) is not a whole number of 4096-byte objects"},
		{"same file twice", []string{"a.img", "b.img", "a.img"}, 3, "a.img and a.img are the same file"},
		{"vector offset past the end", []string{"--vector-offset", "4065", "a.img", "b.img"}, 4, "--vector-offset must be from 0 to 4064"},
		{"vector offset negative", []string{"--vector-offset=-1", "a.img", "b.img"}, 4, "--vector-offset must be from 0 to 4064"},
		{"object size too small", []string{"--object-size", "16", "a.img"}, 4, "--object-size must be from 32"},
		{"object size not a size", []string{"--object-size", "4x", "a.img"}, 4, `"4x" is not a size`},
		{"object size not dividing", []string{"--object-size", "3000", "a.img", "b.img"}, 3, "not a whole number of 3000-byte objects"},
		{"unknown flag", []string{"--frob", "a.img"}, 4, "flag provided but not defined: -frob"},
		{"negative ranges", []string{"--ranges", "-1", "a.img"}, 4, "--ranges must be 0"},
	}
	if linked {
		replicaCases = append(replicaCases, tc{"dangling link", []string{"a.img", "dangling.img"}, 3, "dangling.img: no such file"})
	}
	for _, cmd := range [][]string{{"scan"}, {"repair"}, {"repair", "--apply"}, {"scan", "--json"}} {
		for _, c := range replicaCases {
			before := snapshot(t, dir)
			r := runIn(t, dir, append(slices.Clone(cmd), c.args...)...)
			what := strings.Join(cmd, " ") + ": " + c.name
			if r.code != c.code || !strings.Contains(r.stderr, c.msg) || (c.code == 4) != strings.Contains(r.stderr, "quorum help") {
				t.Errorf("%s: want exit %d and %q, got %s", what, c.code, c.msg, r)
			}
			if r.stdout != "" {
				t.Errorf("%s: printed a report: %s", what, r.stdout)
			}
			sameSnapshot(t, what, before, snapshot(t, dir))
		}
	}

	otherCases := []tc{
		{"no command", nil, 4, "usage: quorum <command>"},
		{"unknown command", []string{"frob"}, 4, `unknown command "frob"`},
		{"write count 0", []string{"write", "--count", "0", "a.img"}, 4, "--count must be at least 1"},
		{"write past the end", []string{"write", "--objects", "5-8", "a.img"}, 3, `--objects: "5-8" is past the last object, 7`},
		{"write bad list", []string{"write", "--objects", "3-1", "a.img"}, 4, `"3-1" is not an object or a range`},
		{"write a directory", []string{"write", "dir.img"}, 3, "dir.img is a directory"},
		{"write disagreeing", []string{"write", "a.img", "b.img"}, 3, "object 1: a.img"},
		{"init existing", []string{"init", "--objects", "8", "new.img", "a.img"}, 3, "a.img exists (--force overwrites it)"},
		{"init a directory", []string{"init", "--force", "dir.img"}, 3, "dir.img is a directory"},
		{"init size and objects", []string{"init", "--size", "8KiB", "--objects", "2", "new.img"}, 4, "give --size or --objects, not both"},
		{"init partial object", []string{"init", "--size", "5000", "new.img"}, 4, "--size 5000 is not a whole number of 4096-byte objects"},
		{"init twice the same", []string{"init", "new.img", "./new.img"}, 3, "are the same file"},
		{"init no replicas", []string{"init"}, 4, "no replica files given"},
		{"init 256", append([]string{"init"}, many...), 4, "256 replica files given"},
	}
	for _, c := range otherCases {
		before := snapshot(t, dir)
		r := runIn(t, dir, c.args...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("%s: want exit %d and %q, got %s", c.name, c.code, c.msg, r)
		}
		sameSnapshot(t, c.name, before, snapshot(t, dir))
	}

	// The same through the binary, which also proves the real exit status.
	for _, c := range replicaCases[2:8] {
		before := snapshot(t, dir)
		r := quorum(t, dir, append([]string{"repair", "--apply"}, c.args...)...)
		if r.code != c.code || !strings.Contains(r.stderr, c.msg) {
			t.Errorf("binary: %s: want exit %d and %q, got %s", c.name, c.code, c.msg, r)
		}
		sameSnapshot(t, "binary: "+c.name, before, snapshot(t, dir))
	}
	if r := quorum(t, dir); r.code != exitUsage || !strings.Contains(r.stderr, "usage: quorum") {
		t.Errorf("no arguments: %s", r)
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
	for _, a := range [][]string{{"help"}, {"--help"}, {"scan", "-h"}, {"repair", "--help"}} {
		r := runIn(t, t.TempDir(), a...)
		if r.code != 0 || !strings.Contains(r.stdout, "Exit status: 0 clean, 1 repairable, 2 unrepairable") {
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
	if err != nil || !slices.Equal(l, objectList{{0, 5}, {7, 7}, {9, 9}}) || l.len() != 8 {
		t.Fatalf("got %v, %v", l, err)
	}
	var got []int64
	l.each(3, 5, func(i int64) error { got = append(got, i); return nil })
	if !slices.Equal(got, []int64{3, 4, 5, 7}) {
		t.Errorf("each: %v", got)
	}
}
