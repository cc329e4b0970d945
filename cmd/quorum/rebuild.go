package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/lockstep/quorum/replica"
)

// rebuiltJSON is one rebuilt replica in rebuild --json.
type rebuiltJSON struct {
	Index     int    `json:"index"`
	Path      string `json:"path"`
	Copied    int64  `json:"copied"`    // objects copied from their quorum
	Unquorate int64  `json:"unquorate"` // objects without a quorum: a fresh vector of its own, zero bytes
}

// cmdRebuild formats a new drive into the set in place of replica INDEX
// (--replace) and fills it from the quorum, or resumes every replica left
// rebuilding.
func cmdRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("rebuild")
	var f setFlags
	f.register(fs, false)
	replace := fs.Int("replace", -1, "the index of the replica whose path is a new drive")
	force := fs.Bool("force", false, "overwrite a --replace drive that holds something else")
	listed, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	f.explicit = given(fs)
	paths, err := f.paths(listed)
	if err != nil {
		return 0, err
	}
	if f.explicit["replace"] && (*replace < 0 || *replace >= len(paths) || paths[*replace] == "") {
		return 0, usagef("--replace %d: must be the index of a listed replica (0 to %d)", *replace, len(paths)-1)
	}
	if *force && !f.explicit["replace"] {
		return 0, usagef("--force is for --replace: it lets the new drive's contents be overwritten")
	}
	open := paths
	if *replace >= 0 {
		open = append([]string(nil), paths...)
		open[*replace] = ""
	}
	q, err := f.quorum(len(paths))
	if err != nil {
		return 0, err
	}
	s, err := replica.Open(open, &replica.Options{Quorum: q, Journal: f.journal, Force: *force})
	if err != nil {
		return 0, explainOpen(err, paths, f.missing != "")
	}
	defer s.Close()
	var replaced string
	if *replace >= 0 {
		if err := s.Replace(*replace, paths[*replace]); err != nil {
			return 0, err
		}
		replaced = fmt.Sprintf("replica %d: %s formatted into the set (a new replica ID; the drive it replaces is refused as stale if it comes back)\n",
			*replace, paths[*replace])
	}
	var bar progress = silent{}
	done, err := s.Rebuild(ctx, replica.RebuildOptions{BatchBytes: 4 << 20, Progress: func(i int, done, total int64) {
		if _, ok := bar.(silent); ok && done < total {
			bar = newProgress(stderr, fmt.Sprintf("rebuild %s", paths[i]), total)
		}
		bar.set(done)
	}})
	bar.finish()
	head := describeSet(s, f.rule)
	if err == nil {
		err = s.Close()
	}
	var out []rebuiltJSON
	unquorate := int64(0)
	for _, r := range done {
		out = append(out, rebuiltJSON{Index: r.Replica, Path: paths[r.Replica], Copied: r.Copied, Unquorate: r.Unquorate})
		unquorate += r.Unquorate
	}
	code := exitClean
	if unquorate > 0 {
		code = exitUnrepairable
	}
	if err != nil {
		code = exitError
		if errors.Is(err, context.Canceled) {
			err = fmt.Errorf("interrupted: %w; what is copied is durable, and quorum rebuild resumes it", err)
		}
	}
	return rebuildReport(stdout, stderr, f.json, head, replaced, out, code, err)
}

func rebuildReport(stdout, stderr io.Writer, asJSON bool, head setInfo, replaced string, out []rebuiltJSON, code int, err error) (int, error) {
	msg := ""
	if err != nil {
		msg = operatorWords(err.Error())
	}
	if asJSON {
		b, jerr := json.Marshal(struct {
			Command string `json:"command"`
			setInfo
			Rebuilt []rebuiltJSON `json:"rebuilt"`
			Exit    int           `json:"exit"`
			Error   string        `json:"error,omitempty"`
		}{"rebuild", head, out, code, msg})
		if jerr != nil {
			return 0, jerr
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return 0, &reported{code}
	}
	var b strings.Builder
	head.writeText(&b)
	b.WriteString(replaced)
	if len(out) == 0 && err == nil {
		b.WriteString("nothing to rebuild: no replica is being rebuilt (a new drive: --replace INDEX)\n")
	}
	for _, r := range out {
		fmt.Fprintf(&b, "rebuilt replica %d (%s): %d objects copied from the quorum", r.Index, r.Path, r.Copied)
		if r.Unquorate > 0 {
			fmt.Fprintf(&b, ", %d without a quorum (given a fresh vector of their own and zero bytes: they join no chain; quorum scan lists them)", r.Unquorate)
		}
		b.WriteString("\n")
	}
	io.WriteString(stdout, b.String())
	if err != nil {
		fmt.Fprintf(stderr, "quorum rebuild: %s\n", msg)
		return 0, &reported{code}
	}
	switch code {
	case exitClean:
		fmt.Fprintf(stdout, "status: rebuilt (exit 0)")
		if len(out) > 0 {
			fmt.Fprintf(stdout, ": every listed replica is active and votes")
		}
		fmt.Fprintln(stdout)
	default:
		fmt.Fprintf(stdout, "status: rebuilt, with objects that need an operator (exit %d)\n", code)
	}
	return code, nil
}
