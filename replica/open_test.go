package replica_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lockstep/quorum/replica"
)

func TestCreateOpenRoundTrip(t *testing.T) {
	paths, s := testSet(t, 3, 64, 512, 100)
	mustWrite(t, s, 5, "hello")
	s.Close()
	s = open(t, paths, nil)
	if g := s.Geometry(); g != (replica.Geometry{ObjectSize: 512, VectorOffset: 100, Objects: 64}) {
		t.Fatalf("geometry %v", g)
	}
	readTag(t, s, 5, "hello")
	for i, p := range paths {
		sb, err := replica.Examine(p)
		if err != nil {
			t.Fatal(err)
		}
		if sb.Index != i || sb.Count != 3 || sb.Set != s.ID() || sb.State != replica.Active || sb.Journal != replica.JournalPath(s) {
			t.Fatalf("%s: %+v", p, sb)
		}
	}
}

func TestCreateRefuses(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	geo := replica.Geometry{ObjectSize: 4096, Objects: 8}
	os.WriteFile(p("data"), []byte("precious"), 0o644)
	cases := []struct {
		name  string
		paths []string
		geo   replica.Geometry
		want  string
	}{
		{"no paths", nil, geo, "paths"},
		{"object size", []string{p("a")}, replica.Geometry{ObjectSize: 16, Objects: 1}, "object size 16"},
		{"vector offset", []string{p("a")}, replica.Geometry{ObjectSize: 64, VectorOffset: 40, Objects: 1}, "vector offset 40"},
		{"objects", []string{p("a")}, replica.Geometry{ObjectSize: 64}, "0 objects"},
		{"too big", []string{p("a"), p("b"), p("c"), p("d"), p("e")}, replica.Geometry{ObjectSize: 16 << 20, Objects: 1}, "must fit in 64 MiB"},
		{"not empty", []string{p("data")}, geo, "not empty"},
		{"directory", []string{dir}, geo, "directory"},
		{"twice", []string{p("a"), p("a")}, geo, "same replica"},
	}
	for _, c := range cases {
		_, err := replica.Create(c.paths, c.geo, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
	if b, _ := os.ReadFile(p("data")); string(b) != "precious" {
		t.Fatalf("a refused Create wrote %q", b)
	}
	// A refusal on a later file leaves no earlier file created or resized.
	os.WriteFile(p("empty"), nil, 0o644)
	if _, err := replica.Create([]string{p("new"), p("empty"), p("data")}, geo, nil); !errors.Is(err, replica.ErrUnusable) {
		t.Fatalf("Create over a file with data: %v", err)
	}
	if _, err := os.Stat(p("new")); !os.IsNotExist(err) {
		t.Fatalf("a refused Create left %s behind: %v", p("new"), err)
	}
	if fi, _ := os.Stat(p("empty")); fi.Size() != 0 {
		t.Fatalf("a refused Create resized %s to %d bytes", p("empty"), fi.Size())
	}
	// A blank or short file says so, not "EOF".
	os.WriteFile(p("short"), []byte("xyz"), 0o644)
	if _, err := replica.Examine(p("short")); !errors.Is(err, replica.ErrNotFormatted) || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("Examine of a 3-byte file: %v", err)
	}
	if _, err := replica.Examine(p("empty")); !errors.Is(err, replica.ErrNotFormatted) || !strings.Contains(err.Error(), "blank") {
		t.Fatalf("Examine of an empty file: %v", err)
	}
	if _, err := replica.Open([]string{dir}, nil); !errors.Is(err, replica.ErrUnusable) || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("Open of a directory: %v", err)
	}
}

func TestOpenRefusesWrongReplicas(t *testing.T) {
	paths, s := testSet(t, 3, 16, 4096, 0)
	s.Close()
	other, o := testSet(t, 3, 16, 4096, 0)
	o.Close()
	diffGeo, g := testSet(t, 3, 32, 4096, 0)
	g.Close()
	dir := filepath.Dir(paths[0])
	link := filepath.Join(dir, "link.img")
	if err := os.Symlink(paths[1], link); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(t.TempDir(), "hard.img")
	if err := os.Link(paths[2], hard); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(dir, "blank.img")
	os.WriteFile(blank, make([]byte, 1<<16), 0o644)
	fifo := filepath.Join(dir, "fifo")
	mkfifo(t, fifo)
	cases := []struct {
		name  string
		paths []string
		want  error
		text  string
	}{
		{"another set", []string{paths[0], other[1], paths[2]}, replica.ErrForeign, other[1]},
		{"wrong index", []string{paths[1], paths[0], paths[2]}, replica.ErrForeign, "listed as replica 0"},
		{"geometry", []string{paths[0], paths[1], diffGeo[2]}, replica.ErrForeign, "set"},
		{"count", []string{paths[0], paths[1]}, replica.ErrForeign, "a set of 3 replicas, 2 listed"},
		{"symlink twice", []string{paths[0], paths[1], link}, replica.ErrDuplicate, link},
		{"hard link twice", []string{paths[0], hard, paths[2]}, replica.ErrDuplicate, hard},
		{"blank", []string{paths[0], paths[1], blank}, replica.ErrNotFormatted, "Replace"},
		{"fifo", []string{paths[0], paths[1], fifo}, replica.ErrUnusable, "FIFO"},
		{"missing file", []string{paths[0], paths[1], filepath.Join(dir, "nope")}, os.ErrNotExist, "nope: file does not exist"},
		{"all missing", []string{"", "", ""}, replica.ErrInvalid, "every replica is missing"},
	}
	for _, c := range cases {
		for _, ro := range []bool{false, true} {
			_, err := replica.Open(c.paths, &replica.Options{ReadOnly: ro})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) {
				t.Errorf("%s (read-only %v): got %v, want %v naming %q", c.name, ro, err, c.want, c.text)
			}
		}
	}
	// Nothing was written by the refusals: the set opens and is clean.
	s = open(t, paths, nil)
	if rep, _ := scan(t, s, replica.ScanOptions{}); !rep.Clean() {
		t.Fatalf("not clean after refusals: %+v", rep)
	}
}

func TestOpenQuorumOption(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	s.Close()
	for _, q := range []int{-1, 4} {
		if _, err := replica.Open(paths, &replica.Options{Quorum: q}); !errors.Is(err, replica.ErrInvalid) {
			t.Errorf("Quorum %d: %v", q, err)
		}
	}
	s = open(t, paths, &replica.Options{Quorum: 3})
	if s.Quorum() != 3 {
		t.Fatal(s.Quorum())
	}
}

// A writer excludes other writers and readers; readers share.
func TestLocks(t *testing.T) {
	paths, s := testSet(t, 2, 4, 64, 0)
	_, err := replica.Open(paths, nil)
	wantErr(t, err, replica.ErrLocked, "second writer")
	_, err = replica.Open(paths, &replica.Options{ReadOnly: true})
	wantErr(t, err, replica.ErrLocked, "reader while writing")
	// Create --force must not truncate a replica a writer holds.
	before, _ := os.Stat(paths[0])
	_, err = replica.Create(paths, replica.Geometry{ObjectSize: 64, Objects: 1}, &replica.Options{Force: true})
	wantErr(t, err, replica.ErrLocked, "Create over an open set")
	if after, _ := os.Stat(paths[0]); after.Size() != before.Size() {
		t.Fatalf("Create --force truncated a locked replica: %d -> %d bytes", before.Size(), after.Size())
	}
	s.Close()
	r1 := open(t, paths, &replica.Options{ReadOnly: true})
	r2 := open(t, paths, &replica.Options{ReadOnly: true})
	_, err = replica.Open(paths, nil)
	wantErr(t, err, replica.ErrLocked, "writer while reading")
	readTag(t, r1, 0, "\x00")
	readTag(t, r2, 0, "\x00")
	wantErr(t, r1.Write(0, make([]byte, 64)), replica.ErrReadOnly, "write to a read-only set")
}

func TestRawMode(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n)
		paths = append(paths, p)
	}
	// Three raw files that agree: one vector per 64-byte object at 8.
	const osz, vo, objects = 64, 8, 100
	img := make([]byte, osz*objects)
	for i := range objects {
		img[i*osz+vo], img[i*osz+vo+16] = 1, 2
	}
	for _, p := range paths {
		os.WriteFile(p, img, 0o644)
	}
	if _, err := replica.OpenRaw(paths, replica.Geometry{ObjectSize: 48}, nil); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Fatalf("raw with a wrong object size: %v", err)
	}
	geo := replica.Geometry{ObjectSize: osz, VectorOffset: vo}
	if _, err := replica.OpenRaw(paths, geo, nil); !errors.Is(err, replica.ErrInvalid) || !strings.Contains(err.Error(), "Options.Journal") {
		t.Fatalf("writable raw open without a journal: %v", err)
	}
	journal := filepath.Join(t.TempDir(), "raw.journal")
	if _, err := replica.OpenRaw([]string{paths[0], "", paths[2]}, geo, &replica.Options{Journal: journal}); !errors.Is(err, replica.ErrInvalid) {
		t.Fatalf("a raw journal created with a replica missing: %v", err)
	}
	s, err := replica.OpenRaw(paths, geo, &replica.Options{Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Raw() || s.Geometry().Objects != objects {
		t.Fatalf("raw %v, %v", s.Raw(), s.Geometry())
	}
	mustWrite(t, s, 3, "raw!")
	readTag(t, s, 3, "raw!")
	if err := s.Replace(0, filepath.Join(dir, "d")); !errors.Is(err, replica.ErrInvalid) {
		t.Fatalf("Replace in raw mode: %v", err)
	}
	// A write cut short with a replica missing is found again through a
	// symlink, in another directory, and with every replica back.
	s.Close()
	s, err = replica.OpenRaw([]string{paths[0], paths[1], ""}, geo, &replica.Options{Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	crashAt(t, s, "replica write", 1, func() { s.Write(5, payload(osz, "torn")) })
	link := filepath.Join(t.TempDir(), "a-link")
	os.Symlink(paths[0], link)
	s, err = replica.OpenRaw([]string{link, paths[1], paths[2]}, geo, &replica.Options{Journal: journal})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if rec := s.Recovery(); rec.Replayed == 0 {
		t.Fatalf("raw recovery %+v", rec)
	}
	readTag(t, s, 3, "raw!")
	readTag(t, s, 5, "torn")
	// The journal names its files: another set's files are refused.
	other := filepath.Join(t.TempDir(), "o")
	os.WriteFile(other, img, 0o644)
	s.Close()
	if _, err := replica.OpenRaw([]string{paths[0], paths[1], other}, geo, &replica.Options{Journal: journal}); !errors.Is(err, replica.ErrJournal) {
		t.Fatalf("raw journal over other files: %v", err)
	}
}

// Objects larger than the default journal area: the journal is sized for
// one object of every replica, and writes and reads work.
func TestLargeObjects(t *testing.T) {
	const osz = 8 << 20
	_, s := testSet(t, 4, 2, osz, osz-32)
	mustWrite(t, s, 1, "big")
	readTag(t, s, 1, "big")
	if rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true}); !rep.Clean() {
		t.Fatalf("%+v", rep.Counts)
	}
}
