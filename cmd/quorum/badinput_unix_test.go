//go:build linux || darwin

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestNotRegular(t *testing.T) {
	dir := t.TempDir()
	must(t, runIn(t, dir, "init", "--objects", "4", "a.img"), 0)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.img"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	for _, cmd := range []string{"scan", "repair", "write"} {
		r := runIn(t, dir, cmd, "a.img", "fifo.img")
		if r.code != exitError || !strings.Contains(r.stderr, "fifo.img is not a regular file") {
			t.Errorf("%s: %s", cmd, r)
		}
	}
	r := runIn(t, dir, "init", "--force", "fifo.img")
	if r.code != exitError || !strings.Contains(r.stderr, "fifo.img is not a regular file") {
		t.Errorf("init: %s", r)
	}
	sameSnapshot(t, "fifo", before, snapshot(t, dir))
}

func TestUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		// root reads a file whatever its mode: the open cannot fail here,
		// so this is a directory standing in for an unreadable replica
		// (EISDIR), which TestBadInput already checks.
		t.Log("running as root: mode 000 does not stop reads")
	}
	dir := t.TempDir()
	must(t, runIn(t, dir, "init", "--objects", "4", "a.img", "b.img"), 0)
	if err := os.Chmod(filepath.Join(dir, "b.img"), 0); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, dir, "scan", "a.img", "b.img")
	if os.Geteuid() != 0 && (r.code != exitError || !strings.Contains(r.stderr, "b.img: permission denied")) {
		t.Errorf("want exit 3 and permission denied, got %s", r)
	}
	if os.Geteuid() == 0 && r.code != exitClean {
		t.Errorf("root: %s", r)
	}
}
