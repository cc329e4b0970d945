package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lockstep/quorum/replica"
)

// scanFlags are the flags of scan and repair.
type scanFlags struct {
	set    setFlags
	ranges int
	verify bool
	batch  size
	apply  bool
}

func parseScan(name string, args []string, repair bool) (*scanFlags, []string, error) {
	fs := newFlagSet(name)
	f := &scanFlags{batch: 1 << 20}
	f.set.register(fs, true)
	fs.IntVar(&f.ranges, "ranges", 50, "object ranges listed in the text report (0: all)")
	fs.BoolVar(&f.verify, "verify-data", false, "compare the bytes of the replicas at the leader's state")
	fs.Var(&f.batch, "batch-size", "bytes read per replica per batch")
	if repair {
		fs.BoolVar(&f.apply, "apply", false, "write the repairs")
	}
	listed, err := parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	f.set.explicit = given(fs)
	switch {
	case f.ranges < 0:
		return nil, nil, usagef("--ranges must be 0 (all) or more, got %d", f.ranges)
	case f.batch < 1 || f.batch > 1<<30:
		return nil, nil, usagef("--batch-size must be from 1 byte (rounded up to one object) to 1GiB, got %d", f.batch)
	}
	return f, listed, nil
}

// cmdScan is scan, and repair (a dry run unless --apply).
func cmdScan(ctx context.Context, args []string, stdout, stderr io.Writer, repair bool) (int, error) {
	name := "scan"
	if repair {
		name = "repair"
	}
	f, listed, err := parseScan(name, args, repair)
	if err != nil {
		return 0, err
	}
	s, err := f.set.openSet(listed, !f.apply)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	head := &scanHead{Command: name, setInfo: describeSet(s, f.set.rule), Apply: f.apply, VerifyData: f.verify}
	out := newReporter(stdout, f.set.json, f.ranges)
	if err := out.begin(head); err != nil {
		return 0, err
	}
	t := &tail{}
	t.Summary.Replicas = make([]replicaSummary, s.Replicas())
	for i := range t.Summary.Replicas {
		t.Summary.Replicas[i].Index = i
	}
	bar := newProgress(stderr, name, s.Geometry().Objects)
	rep, err := s.Scan(ctx, replica.ScanOptions{
		Repair: f.apply, VerifyData: f.verify, BatchBytes: int(f.batch),
		Range: func(r *replica.Range) error {
			t.Summary.tally(r)
			return out.row(r)
		},
		Progress: func(done, _ int64) { bar.set(done) },
	})
	bar.finish()
	if rep != nil {
		t.Summary.setCounts(rep)
		if f.apply {
			t.Repaired = &repaired{Objects: rep.Repaired, Copies: rep.Copies, Bytes: rep.Copies * int64(s.Geometry().ObjectSize)}
		}
	}
	if err == nil {
		err = s.Close()
	}
	hint := repairHint(f, listed)
	if err != nil {
		t.Status, t.Exit, t.Error = "error", exitError, operatorWords(err.Error())
		if !f.set.json {
			fmt.Fprintf(stderr, "quorum %s: %s\n", name, t.Error)
		}
	} else {
		t.Status, t.Exit, hint = verdict(head, &t.Summary, rep, hint)
	}
	if err := out.end(t, hint); err != nil {
		return 0, err
	}
	if f.set.json || err != nil {
		return 0, &reported{t.Exit}
	}
	return t.Exit, nil
}

// verdict is the status of the set as the scan or repair leaves it, its
// exit code, and the command that would take it further.
func verdict(h *scanHead, s *summary, rep *replica.Report, hint string) (string, int, string) {
	lagging, pending := s.Lagging, s.Pending
	if h.Apply {
		lagging -= rep.Repaired
	}
	switch {
	case s.unrepairable() > 0 || h.Journal.State == "problem":
		return "unrepairable", exitUnrepairable, hint
	case lagging > 0 || pending > 0:
		return "repairable", exitRepairable, hint
	case h.degraded():
		var what []string
		for _, r := range h.Replicas {
			switch r.State {
			case "missing":
				what = append(what, fmt.Sprintf("replica %d is missing (bring it back and run quorum repair --apply, or replace it: quorum rebuild --replace %d)", r.Index, r.Index))
			case "rebuilding":
				what = append(what, fmt.Sprintf("replica %d (%s) is being rebuilt: quorum rebuild resumes it", r.Index, r.Path))
			}
		}
		return "degraded", exitRepairable, strings.Join(what, "; ")
	}
	return "clean", exitClean, hint
}

// repairHint is the repair command for the same set.
func repairHint(f *scanFlags, listed []string) string {
	parts := []string{"quorum repair --apply"}
	if f.set.raw {
		parts = append(parts, fmt.Sprintf("--raw --object-size %d --vector-offset %d", f.set.geo.objectSize, f.set.geo.vectorOffset))
	}
	if f.set.missing != "" {
		parts = append(parts, "--missing "+f.set.missing)
	}
	if f.set.rule != "majority" {
		parts = append(parts, "--rule "+f.set.rule)
	}
	if f.set.journal != "" {
		parts = append(parts, "--journal "+f.set.journal)
	}
	return strings.Join(append(parts, listed...), " ")
}
