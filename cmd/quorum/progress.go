package main

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// progress shows how far a long command is.
type progress interface {
	set(done int64)
	finish()
}

// newProgress returns a progress bar of total objects on w when w is a
// terminal, and one that prints nothing otherwise (a pipe, a file, a
// test's buffer).
func newProgress(w io.Writer, desc string, total int64) progress {
	f, ok := w.(*os.File)
	if !ok || total <= 0 || !term.IsTerminal(int(f.Fd())) {
		return silent{}
	}
	return &bar{b: progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSetItsString("objects"),
		progressbar.OptionShowIts(),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

type silent struct{}

func (silent) set(int64) {}
func (silent) finish()   {}

type bar struct {
	b    *progressbar.ProgressBar
	done bool
}

func (p *bar) set(n int64) { p.b.Set64(n) }

func (p *bar) finish() {
	if !p.done {
		p.done = true
		p.b.Finish()
		p.b.Clear()
	}
}
