package main

import (
	"bufio"
	"encoding/json"
	"io"
	"slices"

	"github.com/lockstep/quorum/replica"
)

// The scan and repair reports. Both stream: a range is printed when Scan
// hands it over and then forgotten, so a report of millions of ranges takes
// no more memory than one of a single range.

// rangeJSON is one range of the JSON report; replicas are indices into
// "replicas".
type rangeJSON struct {
	First  int64  `json:"first"`
	Last   int64  `json:"last"` // inclusive
	Count  int64  `json:"count"`
	Status string `json:"status"` // agreed, lagging, pending, differ, split-brain, no-quorum, cyclic, conflict
	// Leader is the replica whose copy is the quorum's (quorate ranges).
	Leader *int `json:"leader,omitempty"`
	// Chain is how many replicas hold the longest chain (quorate and
	// no-quorum ranges).
	Chain int `json:"chain,omitempty"`
	// Order is the replicas a repair overwrites from the leader, in the
	// order it writes them (the library's); Lagging are those of them in
	// the chain, Outside the others.
	Order   []int `json:"order,omitempty"`
	Lagging []int `json:"lagging,omitempty"`
	Outside []int `json:"outside,omitempty"`
	Differ  []int `json:"differ,omitempty"` // --verify-data: same vector as the leader, other bytes
}

func newRangeJSON(r *replica.Range) rangeJSON {
	j := rangeJSON{First: r.First, Last: r.First + r.Count - 1, Count: r.Count, Status: r.Status.String()}
	if r.Status.Quorate() {
		leader := r.Leader
		j.Leader = &leader
	}
	if r.Status.Quorate() || r.Status == replica.NoQuorum {
		j.Chain = r.Length
	}
	if len(r.Order) > 0 {
		j.Order = slices.Clone(r.Order)
		j.Lagging = slices.Clone(r.Order[:r.Lagging])
		j.Outside = slices.Clone(r.Order[r.Lagging:])
	}
	j.Differ = slices.Clone(r.Differ)
	return j
}

// summary counts objects by status and the copies a repair writes.
type summary struct {
	Objects    int64 `json:"objects"`
	Agreed     int64 `json:"agreed"`
	Lagging    int64 `json:"lagging"`
	Pending    int64 `json:"pending"`
	Differ     int64 `json:"differ"`
	SplitBrain int64 `json:"split_brain"`
	NoQuorum   int64 `json:"no_quorum"`
	Cyclic     int64 `json:"cyclic"`
	Conflict   int64 `json:"conflict"`
	// Copies: object copies a repair writes (or wrote) from the leaders,
	// one per replica of each lagging object's order.
	Copies   int64            `json:"copies"`
	Replicas []replicaSummary `json:"replicas"`
}

// replicaSummary counts, for one replica, the lagging objects it lags
// (in the chain) or stands outside of, and the differing ones.
type replicaSummary struct {
	Index   int   `json:"index"`
	Lagging int64 `json:"lagging"`
	Outside int64 `json:"outside"`
	Differ  int64 `json:"differ"`
}

func (s *summary) unrepairable() int64 {
	return s.Differ + s.SplitBrain + s.NoQuorum + s.Cyclic + s.Conflict
}

// tally adds a range to the per-replica counts.
func (s *summary) tally(r *replica.Range) {
	if r.Status == replica.Lagging {
		s.Copies += r.Count * int64(len(r.Order))
		for k, i := range r.Order {
			if k < r.Lagging {
				s.Replicas[i].Lagging += r.Count
			} else {
				s.Replicas[i].Outside += r.Count
			}
		}
	}
	for _, i := range r.Differ {
		s.Replicas[i].Differ += r.Count
	}
}

// setCounts copies the library's counts.
func (s *summary) setCounts(rep *replica.Report) {
	c := &rep.Counts
	s.Objects, s.Agreed, s.Lagging, s.Pending, s.Differ = rep.Objects, c[replica.Agreed], c[replica.Lagging], c[replica.Pending], c[replica.Differ]
	s.SplitBrain, s.NoQuorum, s.Cyclic, s.Conflict = c[replica.SplitBrain], c[replica.NoQuorum], c[replica.Cyclic], c[replica.Conflict]
}

// repaired is what repair --apply wrote.
type repaired struct {
	Objects int64 `json:"objects"`
	Copies  int64 `json:"copies"` // object copies, all replicas together
	Bytes   int64 `json:"bytes"`
}

// tail ends a report.
type tail struct {
	Summary  summary   `json:"summary"`
	Repaired *repaired `json:"repaired,omitempty"`
	// Status: clean, repairable, degraded or unrepairable, of the set as
	// the command leaves it; or error.
	Status string `json:"status"`
	Exit   int    `json:"exit"`
	Error  string `json:"error,omitempty"`
}

// scanHead is the start of a scan or repair report.
type scanHead struct {
	Command string `json:"command"`
	setInfo
	Apply      bool `json:"apply,omitempty"`
	VerifyData bool `json:"verify_data,omitempty"`
}

// reporter prints a report as its ranges come.
type reporter interface {
	begin(h *scanHead) error
	row(r *replica.Range) error
	end(t *tail, hint string) error
}

// jsonReporter streams one JSON document: the head's fields, the ranges
// one per line, then the tail.
type jsonReporter struct {
	w      *bufio.Writer
	ranges int64
}

func (j *jsonReporter) begin(h *scanHead) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	j.w.Write(b[:len(b)-1]) // without the closing brace
	_, err = j.w.WriteString(",\n\"ranges\": [")
	return err
}

func (j *jsonReporter) row(r *replica.Range) error {
	b, err := json.Marshal(newRangeJSON(r))
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

func (j *jsonReporter) end(t *tail, _ string) error {
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	j.w.WriteString("\n],\n")
	j.w.Write(b[1:]) // without the opening brace
	j.w.WriteByte('\n')
	return j.w.Flush()
}

// newReporter returns the JSON or the text reporter on w.
func newReporter(w io.Writer, asJSON bool, limit int) reporter {
	bw := bufio.NewWriterSize(w, 64<<10)
	if asJSON {
		return &jsonReporter{w: bw}
	}
	return &textReporter{w: bw, limit: int64(limit)}
}
