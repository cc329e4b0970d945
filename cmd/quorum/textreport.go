package main

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lockstep/quorum/replica"
)

// textReporter prints the head, then each of the first limit ranges as a
// row of fixed-width columns as it comes, then the summary.
type textReporter struct {
	w          *bufio.Writer
	limit      int64 // 0: all
	names      []string
	objects    int64
	verify     bool
	apply      bool
	journal    journalInfo
	widths     [7]int // objects, count, status, leader, chain, lagging, outside
	objectSize int
	command    string
	rows       int64
	omitted    int64
}

const statusWidth = len("SPLIT-BRAIN")

func (t *textReporter) begin(h *scanHead) error {
	var b strings.Builder
	h.writeText(&b)
	t.journal = h.Journal
	t.objects, t.verify, t.apply, t.objectSize, t.command = h.Objects, h.VerifyData, h.Apply, h.ObjectSize, h.Command
	for _, r := range h.Replicas {
		name := r.Path
		if name == "" {
			name = fmt.Sprintf("(%d)", r.Index)
		}
		t.names = append(t.names, name)
	}
	n := len(t.names)
	last := strconv.FormatInt(h.Objects-1, 10)
	list := longest(t.names, min(n-1, 6))
	if n > 7 {
		list += len(",(+255)")
	}
	t.widths = [7]int{max(len("OBJECTS"), 2*len(last)+1), max(len("COUNT"), len(last)), statusWidth,
		max(len("LEADER"), longest(t.names, 1)), max(len("CHAIN"), len(fmt.Sprintf("%d/%d", n, n))), max(len("LAGGING"), list), max(len("OUTSIDE"), list)}
	b.WriteString("\n")
	if h.Apply {
		b.WriteString("as found, before the repair:\n")
	}
	cols := []string{"OBJECTS", "COUNT", "STATUS", "LEADER", "CHAIN", "LAGGING", "OUTSIDE"}
	if h.VerifyData {
		cols = append(cols, "DIFFER")
	}
	t.writeRow(&b, cols)
	_, err := t.w.WriteString(b.String())
	return err
}

// longest is the width of the k longest names joined by commas.
func longest(names []string, k int) int {
	ls := make([]int, len(names))
	for i, n := range names {
		ls[i] = len(n)
	}
	slices.Sort(ls)
	w := 0
	for i := 0; i < k && i < len(ls); i++ {
		w += ls[len(ls)-1-i] + 1
	}
	return max(w-1, 0)
}

func (t *textReporter) writeRow(b *strings.Builder, cols []string) {
	var line strings.Builder
	for i, c := range cols {
		if i > 0 {
			line.WriteString("  ")
		}
		if i < len(cols)-1 && i < len(t.widths) {
			fmt.Fprintf(&line, "%-*s", t.widths[i], c)
		} else {
			line.WriteString(c)
		}
	}
	b.WriteString(strings.TrimRight(line.String(), " "))
	b.WriteByte('\n')
}

func (t *textReporter) row(r *replica.Range) error {
	if t.limit > 0 && t.rows >= t.limit {
		t.omitted++
		return nil
	}
	t.rows++
	objs := strconv.FormatInt(r.First, 10)
	if r.Count > 1 {
		objs += "-" + strconv.FormatInt(r.First+r.Count-1, 10)
	}
	leader, chain := "-", "-"
	if r.Status.Quorate() {
		leader = t.names[r.Leader]
	}
	if r.Status.Quorate() || r.Status == replica.NoQuorum {
		chain = fmt.Sprintf("%d/%d", r.Length, len(t.names))
	}
	cols := []string{objs, strconv.FormatInt(r.Count, 10), statusLabel(r.Status), leader, chain,
		t.list(r.Order[:r.Lagging]), t.list(r.Order[r.Lagging:])}
	if t.verify {
		cols = append(cols, t.list(r.Differ))
	}
	var b strings.Builder
	t.writeRow(&b, cols)
	_, err := t.w.WriteString(b.String())
	return err
}

func statusLabel(s replica.Status) string {
	switch s {
	case replica.Agreed:
		return "agreed"
	case replica.NoQuorum:
		return "NO QUORUM"
	}
	return strings.ToUpper(s.String())
}

// list names replicas, at most 6.
func (t *textReporter) list(idx []int) string {
	if len(idx) == 0 {
		return "-"
	}
	var s []string
	for k, i := range idx {
		if k == 6 {
			s = append(s, fmt.Sprintf("(+%d)", len(idx)-k))
			break
		}
		s = append(s, t.names[i])
	}
	return strings.Join(s, ",")
}

func (t *textReporter) end(tl *tail, hint string) error {
	var b strings.Builder
	s := &tl.Summary
	if t.omitted > 0 {
		fmt.Fprintf(&b, "... and %d more ranges (--ranges 0 lists them all; --json too)\n", t.omitted)
	}
	if tl.Error != "" {
		fmt.Fprintf(&b, "\nstopped: %s\n", tl.Error)
	}
	fmt.Fprintf(&b, "\n%d objects: %d agreed, %d lagging, %d pending, %d differ, %d split-brain, %d without a quorum, %d cyclic, %d conflicting\n",
		s.Objects, s.Agreed, s.Lagging, s.Pending, s.Differ, s.SplitBrain, s.NoQuorum, s.Cyclic, s.Conflict)
	if s.Copies > 0 {
		var per []string
		for _, r := range s.Replicas {
			if r.Lagging+r.Outside > 0 {
				per = append(per, fmt.Sprintf("%s %d (%d lagging, %d outside)", t.names[r.Index], r.Lagging+r.Outside, r.Lagging, r.Outside))
			}
		}
		verb := "to write"
		if tl.Repaired != nil {
			verb = "written"
		}
		fmt.Fprintf(&b, "copies %s from the leaders: %d (%s): %s\n", verb, s.Copies, bytesString(s.Copies*int64(t.objectSize)), strings.Join(per, ", "))
	}
	if s.Differ > 0 {
		var per []string
		for _, r := range s.Replicas {
			if r.Differ > 0 {
				per = append(per, fmt.Sprintf("%s %d", t.names[r.Index], r.Differ))
			}
		}
		fmt.Fprintf(&b, "bytes differing from the leader's at the same vector (no copy can be told right; left alone): %s\n", strings.Join(per, ", "))
	}
	t.writeOutcome(&b, tl, hint)
	if _, err := t.w.WriteString(b.String()); err != nil {
		return err
	}
	return t.w.Flush()
}

// writeOutcome is what was or would be written, and the status line.
func (t *textReporter) writeOutcome(b *strings.Builder, tl *tail, hint string) {
	s := &tl.Summary
	switch {
	case tl.Repaired != nil:
		w := tl.Repaired
		fmt.Fprintf(b, "repaired: %d objects, %d copies (%s) written through the journal and synced\n", w.Objects, w.Copies, bytesString(w.Bytes))
	case t.command == "repair" && (s.Copies > 0 || t.journal.State == "pending"):
		b.WriteString("dry run: nothing written")
		if t.journal.State == "pending" {
			b.WriteString("; --apply first finishes the pending journal record, then repairs what it finds")
		} else {
			b.WriteString("; --apply writes the copies above")
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "status: %s (exit %d)", tl.Status, tl.Exit)
	switch tl.Status {
	case "clean":
		if tl.Repaired != nil {
			b.WriteString(": every replica now agrees on every object")
		} else {
			b.WriteString(": every replica agrees on every object")
		}
	case "repairable":
		fmt.Fprintf(b, ": run %s", hint)
	case "degraded":
		fmt.Fprintf(b, ": %s", hint)
	case "unrepairable":
		if t.journal.State == "problem" {
			b.WriteString(": the journal cannot be read (see above)")
		}
		if n := s.unrepairable(); n > 0 {
			fmt.Fprintf(b, ": %d objects need an operator (split-brain, no quorum, bad vectors or differing bytes)", n)
		}
		if hint != "" && tl.Repaired == nil && (s.Lagging > 0 || s.Pending > 0) {
			fmt.Fprintf(b, "; %s repairs the rest", hint)
		}
	}
	b.WriteString("\n")
}
