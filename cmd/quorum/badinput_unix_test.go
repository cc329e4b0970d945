//go:build linux || darwin

package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO is refused without blocking, by every command, to read or to
// write.
func TestFIFO(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "format", "--objects", "4", "a.img", "b.img"), 0)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.img"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	for _, args := range [][]string{
		{"scan", "a.img", "fifo.img"}, {"repair", "a.img", "fifo.img"}, {"repair", "--apply", "a.img", "fifo.img"},
		{"write", "a.img", "fifo.img"}, {"rebuild", "--replace", "1", "a.img", "fifo.img"},
		{"scan", "--raw", "fifo.img"}, {"format", "--force", "fifo.img"}, {"examine", "fifo.img"},
	} {
		r := runIn(t, dir, args...)
		out := r.stderr + r.stdout
		if r.code != exitError || !strings.Contains(out, "fifo.img: unusable replica file: a replica must be a regular file or a block device, not a FIFO") {
			t.Errorf("%v: %s", args, r)
		}
	}
	sameSnapshot(t, "fifo", before, snapshot(t, dir))
}
