package main

import (
	"fmt"
	"io"
	"strings"
)

// cmdScan runs quorum scan, and quorum repair (repair true).
func cmdScan(args []string, stdout, stderr io.Writer, repair bool) (int, error) {
	name := "scan"
	if repair {
		name = "repair"
	}
	fs := newFlagSet(name)
	var gf geometryFlags
	gf.register(fs, true)
	jsonOut := fs.Bool("json", false, "print one JSON document")
	limit := fs.Int("ranges", 50, "ranges listed in the text report (0: all)")
	ruleName := fs.String("rule", "majority", "majority or byzantine")
	apply := new(bool)
	if repair {
		fs.BoolVar(apply, "apply", false, "write the repairs")
	}
	paths, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	if err := checkCount(paths); err != nil {
		return 0, err
	}
	if *limit < 0 {
		return 0, usagef("--ranges must be 0 (all) or more, got %d", *limit)
	}
	geo, err := gf.geometry(len(paths))
	if err != nil {
		return 0, err
	}
	dec, err := newDecider(*ruleName, len(paths))
	if err != nil {
		return 0, err
	}
	set, err := openReplicas(paths, geo, *apply)
	if err != nil {
		return exitError, err
	}
	defer set.close()
	crash := crasherFromEnv()

	// An interrupted repair's journal first: replayed (--apply) before
	// anything is decided, else reported.
	journals, err := checkJournals(set, *apply)
	if err != nil {
		return exitError, err
	}
	pending := false
	for _, j := range journals {
		pending = pending || j.Action == "pending"
	}

	var out reporter
	if *jsonOut {
		out = newJSONReporter(stdout)
	} else {
		out = &textReporter{w: stdout, limit: *limit, hint: repairHint(gf, *ruleName, paths), rule: dec.describe(len(paths))}
	}
	h := &header{Command: name, Replicas: paths, ObjectSize: geo.objectSize, VectorOffset: geo.vectorOffset,
		Objects: set.objects, ReplicaBytes: set.size, Rule: dec.rule, Quorum: dec.need, Apply: *apply, Journals: journals}
	if err := out.begin(h); err != nil {
		return exitError, err
	}
	prog := newProgress(stderr, name, set.size*int64(len(paths)))
	eng, err := newEngine(set, dec, prog)
	if err != nil {
		return exitError, err
	}
	col := newCollector(set, out)
	eng.visit = append(eng.visit, col.batch)
	var rp *repairer
	if *apply {
		rp = newRepairer(set, crash)
		eng.visit = append(eng.visit, rp.batch)
	}
	runErr := eng.run()
	if runErr == nil {
		runErr = col.flush()
	}
	if runErr == nil && rp != nil {
		runErr = rp.finish()
	}
	prog.finish()

	t := &tail{Summary: col.sum}
	if rp != nil {
		t.Written = &rp.written
	}
	s := &t.Summary
	switch {
	case s.unrepairable() > 0:
		t.Status, t.ExitCode = "unrepairable", exitUnrepairable
	case !*apply && (s.Repair > 0 || pending):
		t.Status, t.ExitCode = "repairable", exitRepairable
	default:
		t.Status, t.ExitCode = "clean", exitClean
	}
	if runErr != nil {
		if *apply {
			runErr = fmt.Errorf("%v\nthe replicas may be partly repaired; rerun quorum repair --apply: it finishes the interrupted batch from the journal first", runErr)
		}
		t.Status, t.ExitCode, t.Error = "error", exitError, runErr.Error()
		if *jsonOut {
			out.end(t)
		}
		crash.report(stderr)
		return exitError, runErr
	}
	if err := out.end(t); err != nil {
		return exitError, err
	}
	crash.report(stderr)
	return t.ExitCode, nil
}

// repairHint is the command line that repairs these replicas.
func repairHint(gf geometryFlags, rule string, paths []string) string {
	parts := []string{"quorum repair --apply"}
	if rule != "majority" {
		parts = append(parts, "--rule "+rule)
	}
	if gf.objectSize != defaultObjectSize {
		parts = append(parts, fmt.Sprintf("--object-size %d", gf.objectSize))
	}
	if gf.vectorOffset != 0 {
		parts = append(parts, fmt.Sprintf("--vector-offset %d", gf.vectorOffset))
	}
	for _, p := range paths {
		if strings.ContainsAny(p, " \t\n'\"$`\\;&|<>*?()[]{}") {
			p = "'" + strings.ReplaceAll(p, "'", `'\''`) + "'"
		}
		parts = append(parts, p)
	}
	if len(paths) > 8 {
		parts = append(parts[:len(parts)-len(paths)+3], "...")
	}
	return strings.Join(parts, " ")
}
