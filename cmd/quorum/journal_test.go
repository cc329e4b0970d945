package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestJournalRecord(t *testing.T) {
	paths := []string{"/x/a.img", "/y/b.img"}
	runs := []journalRun{{replica: 1, off: 4096, data: bytes.Repeat([]byte{1}, 8192)}, {replica: 0, off: 40960, data: bytes.Repeat([]byte{2}, 4096)}}
	rec := encodeJournal(nil, 9, 65536, 4096, paths, runs)
	got, err := decodeJournal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got.seq != 9 || got.objectSize != 4096 || got.replicaSize != 65536 || len(got.runs) != 2 || got.objects() != 3 ||
		len(got.paths) != 2 || got.paths[0] != paths[0] || got.paths[1] != paths[1] {
		t.Fatalf("decoded %+v", got)
	}
	for i, r := range got.runs {
		if r.replica != runs[i].replica || r.off != runs[i].off || !bytes.Equal(r.data, runs[i].data) {
			t.Fatalf("run %d: %d bytes at %d of %d", i, len(r.data), r.off, r.replica)
		}
	}
	// Every prefix (a crash while writing the first record) is torn.
	for n := range len(rec) {
		if _, err := decodeJournal(rec[:n]); !errors.Is(err, errTorn) {
			t.Fatalf("prefix of %d bytes: %v", n, err)
		}
	}
	// A new record half written over an old one is torn.
	newer := encodeJournal(nil, 10, 65536, 4096, paths, runs[1:])
	mixed := append(append([]byte(nil), newer[:len(newer)/2]...), rec[len(newer)/2:]...)
	if _, err := decodeJournal(mixed); !errors.Is(err, errTorn) {
		t.Fatalf("mixed record: %v", err)
	}
	// Trailing bytes of a longer old record are ignored.
	tail := append(append([]byte(nil), newer...), rec[len(newer):]...)
	if got, err := decodeJournal(tail); err != nil || got.seq != 10 {
		t.Fatalf("record over a longer one: %+v, %v", got, err)
	}
	// Any flipped byte is caught.
	for _, at := range []int{0, 9, 20, 30, 33, 45, 60, 80, len(rec) / 2, len(rec) - 1} {
		bad := bytes.Clone(rec)
		bad[at] ^= 0x40
		if _, err := decodeJournal(bad); err == nil {
			t.Errorf("flipped byte %d accepted", at)
		}
	}
	// Complete records that make no sense are refused, not replayed.
	for name, r := range map[string][]byte{
		"run past the end":   encodeJournal(nil, 1, 65536, 4096, paths, []journalRun{{off: 65536, data: make([]byte, 4096)}}),
		"partial object":     encodeJournal(nil, 1, 65536, 4096, paths, []journalRun{{off: 0, data: make([]byte, 100)}}),
		"no such replica":    encodeJournal(nil, 1, 65536, 4096, paths, []journalRun{{replica: 2, data: make([]byte, 4096)}}),
		"no replicas at all": encodeJournal(nil, 1, 65536, 4096, nil, nil),
	} {
		if _, err := decodeJournal(r); err == nil || errors.Is(err, errTorn) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := decodeJournal([]byte("something else entirely, long enough to read")); err == nil || errors.Is(err, errTorn) {
		t.Errorf("foreign file: %v", err)
	}
}

// TestJournalReplay: scan reports a pending journal (exit 1 even on clean
// replicas), write refuses to run, repair --apply replays it into the
// replicas it names and removes it; a torn journal is discarded; a journal
// naming a replica not listed, or a foreign file, stops the repair.
func TestJournalReplay(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "init", "--objects", "8", "a.img", "b.img"), 0)
	a := readAll(t, dir, "a.img")[0]
	abs := func(n string) string { return filepath.Join(dir, n) }
	// A record that overwrites b's objects 2-3 with 0xAB bytes.
	payload := bytes.Repeat([]byte{0xab}, 8192)
	rec := encodeJournal(nil, 1, int64(len(a)), 4096, []string{abs("a.img"), abs("b.img")}, []journalRun{{replica: 1, off: 8192, data: payload}})
	jpath := abs("a.img" + journalSuffix)
	if err := os.WriteFile(jpath, rec, 0o644); err != nil {
		t.Fatal(err)
	}
	r := must(t, runIn(t, dir, "scan", "a.img", "b.img"), 1)
	if !strings.Contains(r.stdout, "journal a.img.quorum-journal of an interrupted repair: holds 2 objects") {
		t.Errorf("scan:\n%s", r.stdout)
	}
	// Listed the other way round, the journal is found all the same.
	must(t, runIn(t, dir, "repair", "b.img", "a.img"), 1) // a dry run: reports, keeps it
	if _, err := os.Stat(jpath); err != nil {
		t.Fatal("dry run removed the journal")
	}
	if r := runIn(t, dir, "write", "a.img", "b.img"); r.code != exitError || !strings.Contains(r.stderr, "an interrupted repair") {
		t.Errorf("write with a pending journal: %s", r)
	}
	// Without b listed, a replay is impossible: refused, nothing written.
	must(t, runIn(t, dir, "init", "--objects", "8", "c.img"), 0)
	if r := runIn(t, dir, "repair", "--apply", "a.img", "c.img"); r.code != exitError || !strings.Contains(r.stderr, "also wrote b.img: list the same replicas") {
		t.Errorf("journal naming an unlisted replica: %s", r)
	}
	r = must(t, runIn(t, dir, "scan", "a.img", "c.img"), 2) // strangers; scan only notes the journal
	if !strings.Contains(r.stdout, "(the interrupted repair also wrote b.img: list the same replicas to finish it)") {
		t.Errorf("scan of other replicas:\n%s", r.stdout)
	}
	rep := parseReport(t, must(t, runIn(t, dir, "repair", "--apply", "--json", "b.img", "a.img"), 2))
	if len(rep.Journals) != 1 || rep.Journals[0].Action != "replayed" || rep.Journals[0].Objects != 2 {
		t.Errorf("journals %+v", rep.Journals)
	}
	b := readAll(t, dir, "b.img")[0]
	if !bytes.Equal(b[8192:16384], payload) || !bytes.Equal(b[:8192], a[:8192]) || !bytes.Equal(b[16384:], a[16384:]) {
		t.Fatal("replay did not write exactly the journal's runs")
	}
	noJournals(t, dir)

	// A torn journal is discarded, the replicas untouched.
	if err := os.WriteFile(jpath, rec[:len(rec)-3], 0o644); err != nil {
		t.Fatal(err)
	}
	rep = parseReport(t, must(t, runIn(t, dir, "repair", "--apply", "--json", "a.img", "b.img"), 2))
	if len(rep.Journals) != 1 || rep.Journals[0].Action != "discarded" || rep.Journals[0].Complete {
		t.Errorf("journals %+v", rep.Journals)
	}
	if !bytes.Equal(readAll(t, dir, "b.img")[0], b) {
		t.Fatal("a torn journal was replayed")
	}
	noJournals(t, dir)

	// Two journals, or a file that is not one: refused, nothing written.
	os.WriteFile(jpath, rec, 0o644)
	os.WriteFile(abs("b.img"+journalSuffix), rec, 0o644)
	if r := runIn(t, dir, "repair", "--apply", "a.img", "b.img"); r.code != exitError || !strings.Contains(r.stderr, "two journals") {
		t.Errorf("two journals: %s", r)
	}
	os.Remove(abs("b.img" + journalSuffix))
	if err := os.WriteFile(jpath, []byte("not a journal at all, just some text here"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runIn(t, dir, "repair", "--apply", "a.img", "b.img"); r.code != exitError || !strings.Contains(r.stderr, "not a quorum journal") {
		t.Errorf("foreign journal: %s", r)
	}
	if !bytes.Equal(readAll(t, dir, "b.img")[0], b) {
		t.Fatal("b changed")
	}
}
