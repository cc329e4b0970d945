package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lockstep/quorum/kernel"
)

// Range is a run of consecutive objects with the same verdict and the same
// role for every replica. Replicas are named by index into Report.Replicas.
type Range struct {
	First   int64  `json:"first"` // object index; the byte offset is First*object_size
	Last    int64  `json:"last"`  // inclusive
	Objects int64  `json:"objects"`
	Status  string `json:"status"` // agreed, repair, split-brain, no-quorum, cyclic, conflict
	// Leader holds the head of the longest chain (agreed, repair, no-quorum).
	Leader *int `json:"leader,omitempty"`
	// Chain is how many replicas are in the longest chain.
	Chain   int   `json:"chain,omitempty"`
	Lagging []int `json:"lagging,omitempty"` // in the chain, behind the leader
	Outside []int `json:"outside,omitempty"` // not in the chain (outvoted, strangers)
	// Repair is the replicas a repair overwrites from the leader, in write
	// order (repair ranges only).
	Repair []int `json:"repair,omitempty"`
}

// Summary counts objects by status, and the copies a repair writes.
type Summary struct {
	Objects    int64 `json:"objects"`
	Agreed     int64 `json:"agreed"`
	Repair     int64 `json:"repair"`
	SplitBrain int64 `json:"split_brain"`
	NoQuorum   int64 `json:"no_quorum"`
	Cyclic     int64 `json:"cyclic"`
	Conflict   int64 `json:"conflict"`
	// LaggingCopies and OutsideCopies count the (object, replica) copies
	// of repair objects that lag the leader or are outside its chain.
	LaggingCopies int64            `json:"lagging_copies"`
	OutsideCopies int64            `json:"outside_copies"`
	Replicas      []ReplicaSummary `json:"replicas"`
}

// ReplicaSummary counts one replica's repair objects by its role.
type ReplicaSummary struct {
	Path    string `json:"path"`
	Lagging int64  `json:"lagging"`
	Outside int64  `json:"outside"`
}

func (s *Summary) unrepairable() int64 { return s.SplitBrain + s.NoQuorum + s.Cyclic + s.Conflict }

// Written is what repair --apply wrote.
type Written struct {
	Copies   int64   `json:"copies"` // objects written, all replicas together
	Bytes    int64   `json:"bytes"`
	Replicas []int64 `json:"replicas"` // objects written per replica
}

// JournalInfo is a redo journal an interrupted repair left.
type JournalInfo struct {
	Replica int    `json:"replica"`
	Path    string `json:"path"`
	// Complete: its batch may have been partly written; replaying it
	// finishes the batch. Otherwise the crash came before its batch wrote
	// anything, and it is discarded.
	Complete bool  `json:"complete"`
	Objects  int64 `json:"objects"`
	// Action: pending (scan, dry run), replayed or discarded.
	Action string `json:"action"`
	Error  string `json:"error,omitempty"`
}

// header is the start of a report.
type header struct {
	Command      string        `json:"command"`
	Replicas     []string      `json:"replicas"`
	ObjectSize   int           `json:"object_size"`
	VectorOffset int           `json:"vector_offset"`
	Objects      int64         `json:"objects"`
	ReplicaBytes int64         `json:"replica_bytes"`
	Rule         string        `json:"rule"`   // majority or byzantine
	Quorum       int           `json:"quorum"` // replicas a chain needs to be quorate
	Apply        bool          `json:"apply,omitempty"`
	Journals     []JournalInfo `json:"journals,omitempty"`
}

// tail is the end of a report.
type tail struct {
	Summary Summary  `json:"summary"`
	Written *Written `json:"written,omitempty"` // repair --apply
	// Status: clean, repairable or unrepairable, of the replicas as the
	// command leaves them; or error.
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// reporter prints a report as its ranges come.
type reporter interface {
	begin(h *header) error
	addRange(r *Range) error
	end(t *tail) error
}

// collector turns decided batches into ranges and counts.
type collector struct {
	n   int
	out reporter
	sum Summary

	open  bool
	st    status
	r     kernel.Result
	roles []kernel.Role
	dec   *decision
	first int64
	last  int64
}

func newCollector(set *replicaSet, out reporter) *collector {
	c := &collector{n: len(set.paths), out: out}
	c.sum.Replicas = make([]ReplicaSummary, len(set.paths))
	for i, p := range set.paths {
		c.sum.Replicas[i].Path = p
	}
	return c
}

func (c *collector) batch(b *batch) error {
	s := &c.sum
	for i := range b.count {
		o := &b.objs[i]
		idx := b.first + int64(i)
		s.Objects++
		switch o.status {
		case stAgreed:
			s.Agreed++
		case stRepair:
			s.Repair++
			s.LaggingCopies += int64(o.result.Repair)
			s.OutsideCopies += int64(c.n - int(o.result.Length))
			for j, role := range o.roles {
				switch role {
				case kernel.Lagging:
					s.Replicas[j].Lagging++
				case kernel.Outside:
					s.Replicas[j].Outside++
				}
			}
		case stSplitBrain:
			s.SplitBrain++
		case stNoQuorum:
			s.NoQuorum++
		case stCyclic:
			s.Cyclic++
		case stConflict:
			s.Conflict++
		}
		if c.open && idx == c.last+1 && o.status == c.st && o.result == c.r && slices.Equal(o.roles, c.roles) {
			c.last = idx
			continue
		}
		if err := c.flush(); err != nil {
			return err
		}
		c.open, c.st, c.r, c.dec, c.first, c.last = true, o.status, o.result, o.dec, idx, idx
		c.roles = append(c.roles[:0], o.roles...)
	}
	return nil
}

// flush reports the open range.
func (c *collector) flush() error {
	if !c.open {
		return nil
	}
	c.open = false
	r := &Range{First: c.first, Last: c.last, Objects: c.last - c.first + 1, Status: c.st.String()}
	switch c.st {
	case stAgreed, stRepair, stNoQuorum:
		leader := c.dec.leader
		r.Leader = &leader
		r.Chain = int(c.r.Length)
		for j, role := range c.roles {
			switch role {
			case kernel.Lagging:
				r.Lagging = append(r.Lagging, j)
			case kernel.Outside:
				r.Outside = append(r.Outside, j)
			}
		}
		if c.st == stRepair {
			r.Repair = slices.Clone(c.dec.repair)
		}
	}
	return c.out.addRange(r)
}

// jsonReporter streams one JSON document: the header's fields, the ranges
// one per line as they come (a report may hold millions), then the tail.
type jsonReporter struct {
	w      *bufio.Writer
	ranges int
}

func newJSONReporter(w io.Writer) *jsonReporter {
	return &jsonReporter{w: bufio.NewWriterSize(w, 64<<10)}
}

func (j *jsonReporter) begin(h *header) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	j.w.Write(b[:len(b)-1]) // without the closing brace
	j.w.WriteString(",\n\"ranges\": [")
	return nil
}

func (j *jsonReporter) addRange(r *Range) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if j.ranges > 0 {
		j.w.WriteByte(',')
	}
	j.ranges++
	j.w.WriteString("\n  ")
	_, err = j.w.Write(b)
	return err
}

func (j *jsonReporter) end(t *tail) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	j.w.WriteString("\n],\n")
	j.w.Write(b[1:]) // without the opening brace
	j.w.WriteByte('\n')
	return j.w.Flush()
}

// textReporter prints a human report when the command ends (so it never
// interleaves with the progress bar), listing at most limit ranges.
type textReporter struct {
	w       io.Writer
	limit   int // 0: all
	h       *header
	ranges  []*Range
	omitted int64
	hint    string // the command that fixes what the report shows
	rule    string // the rule, described
}

func (t *textReporter) begin(h *header) error {
	t.h = h
	return nil
}

func (t *textReporter) addRange(r *Range) error {
	if t.limit > 0 && len(t.ranges) >= t.limit {
		t.omitted++
		return nil
	}
	t.ranges = append(t.ranges, r)
	return nil
}

func (t *textReporter) end(tl *tail) error {
	h, s := t.h, &tl.Summary
	var b strings.Builder
	n := len(h.Replicas)
	fmt.Fprintf(&b, "%d replicas of %s: %d objects of %d bytes, vectors at offset %d; rule: %s\n",
		n, bytesString(h.ReplicaBytes), h.Objects, h.ObjectSize, h.VectorOffset, t.rule)
	for _, j := range h.Journals {
		what := "incomplete (its batch wrote nothing): "
		if j.Complete {
			what = fmt.Sprintf("holds %d objects of a batch that may be half written: ", j.Objects)
		}
		switch j.Action {
		case "pending":
			if j.Complete {
				what += "quorum repair --apply replays it first"
			} else {
				what += "quorum repair --apply discards it"
			}
		case "replayed":
			what += "replayed"
		case "discarded":
			what += "discarded"
		}
		fmt.Fprintf(&b, "journal %s of an interrupted repair: %s\n", j.Path, what)
		if j.Error != "" {
			fmt.Fprintf(&b, "  (%s)\n", j.Error)
		}
	}
	b.WriteString("\n")
	if tl.Written != nil {
		b.WriteString("as found, before the repair:\n")
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OBJECTS\tCOUNT\tSTATUS\tLEADER\tCHAIN\tLAGGING\tOUTSIDE")
	for _, r := range t.ranges {
		objs := fmt.Sprint(r.First)
		if r.Last != r.First {
			objs = fmt.Sprintf("%d-%d", r.First, r.Last)
		}
		leader, chain := "-", "-"
		if r.Leader != nil {
			leader = h.Replicas[*r.Leader]
			chain = fmt.Sprintf("%d/%d", r.Chain, n)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\n", objs, r.Objects, statusLabel(r.Status), leader, chain,
			names(h.Replicas, r.Lagging), names(h.Replicas, r.Outside))
	}
	tw.Flush()
	if t.omitted > 0 {
		fmt.Fprintf(&b, "... and %d more ranges (--ranges 0 lists them all; --json too)\n", t.omitted)
	}
	fmt.Fprintf(&b, "\n%d objects: %d agreed, %d to repair, %d split-brain, %d without a quorum, %d cyclic, %d conflicting\n",
		s.Objects, s.Agreed, s.Repair, s.SplitBrain, s.NoQuorum, s.Cyclic, s.Conflict)
	copies := s.LaggingCopies + s.OutsideCopies
	if copies > 0 {
		var per []string
		for _, r := range s.Replicas {
			if r.Lagging+r.Outside > 0 {
				per = append(per, fmt.Sprintf("%s %d (%d lagging, %d outside)", r.Path, r.Lagging+r.Outside, r.Lagging, r.Outside))
			}
		}
		verb := "to write"
		if tl.Written != nil {
			verb = "written"
		}
		fmt.Fprintf(&b, "copies %s from the leaders: %d (%s): %s\n", verb, copies, bytesString(copies*int64(h.ObjectSize)), strings.Join(per, ", "))
	}
	if w := tl.Written; w != nil {
		fmt.Fprintf(&b, "repaired: wrote %d objects (%s) through the journal, and fsynced every replica written\n", w.Copies, bytesString(w.Bytes))
	} else if h.Command == "repair" && copies > 0 {
		b.WriteString("dry run: nothing written; --apply writes the copies above\n")
	} else if h.Command == "repair" && len(h.Journals) > 0 {
		b.WriteString("dry run: nothing written; --apply finishes the interrupted repair\n")
	}
	fmt.Fprintf(&b, "status: %s (exit %d)", tl.Status, tl.ExitCode)
	switch {
	case tl.Status == "clean" && tl.Written != nil:
		b.WriteString(": every replica now agrees on every object")
	case tl.Status == "clean":
		b.WriteString(": every replica agrees on every object")
	case tl.Status == "repairable":
		fmt.Fprintf(&b, ": run %s", t.hint)
	case tl.Status == "unrepairable" && tl.Written != nil:
		fmt.Fprintf(&b, ": %d objects need an operator (split-brain, no quorum, or bad vectors); nothing else is left to repair", s.unrepairable())
	case tl.Status == "unrepairable":
		fmt.Fprintf(&b, ": %d objects need an operator (split-brain, no quorum, or bad vectors)", s.unrepairable())
		if s.Repair > 0 || len(h.Journals) > 0 {
			fmt.Fprintf(&b, "; %s repairs the rest", t.hint)
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(t.w, b.String())
	return err
}

func statusLabel(s string) string {
	switch s {
	case "agreed":
		return s
	case "no-quorum":
		return "NO QUORUM"
	}
	return strings.ToUpper(s)
}

// names lists replicas by path, at most 6.
func names(paths []string, idx []int) string {
	if len(idx) == 0 {
		return "-"
	}
	var s []string
	for k, i := range idx {
		if k == 6 {
			s = append(s, fmt.Sprintf("(+%d)", len(idx)-k))
			break
		}
		s = append(s, paths[i])
	}
	return strings.Join(s, ",")
}

func bytesString(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), units[u])
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}
