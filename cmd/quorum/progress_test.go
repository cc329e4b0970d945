package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// The progress bar is drawn only on a terminal: never on a buffer, a file
// or a pipe (the end-to-end tests also check that stderr stays empty).
func TestProgressSilent(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, out := range []io.Writer{&bytes.Buffer{}, f, w} {
		if _, ok := newProgress(out, "scan", 1<<20).(silent); !ok {
			t.Errorf("%T: a progress bar", out)
		}
	}
}
