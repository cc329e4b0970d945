package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/lockstep/quorum/replica"
)

// openSet opens the set the flags and the listed paths name: formatted, or
// raw with --raw. Errors name the file and say what to do.
func (f *setFlags) openSet(listed []string, readOnly bool) (*replica.Set, error) {
	if err := f.checkRawFlags(); err != nil {
		return nil, err
	}
	paths, err := f.paths(listed)
	if err != nil {
		return nil, err
	}
	q, err := f.quorum(len(paths))
	if err != nil {
		return nil, err
	}
	opts := &replica.Options{ReadOnly: readOnly, Quorum: q, Journal: f.journal}
	var s *replica.Set
	if f.raw {
		if !readOnly && f.journal == "" {
			return nil, usagef("--raw writes need --journal PATH: nothing on raw files records where their journal is, so every command that writes them names it (the same path each time)")
		}
		geo, gerr := f.geo.geometry(len(paths))
		if gerr != nil {
			return nil, gerr
		}
		s, err = replica.OpenRaw(paths, geo, opts)
	} else {
		s, err = replica.Open(paths, opts)
	}
	if err != nil {
		return nil, explainOpen(err, paths, f.missing != "")
	}
	return s, nil
}

// explainOpen adds to an Open error what the operator can do about it.
func explainOpen(err error, paths []string, missingGiven bool) error {
	idx := -1
	for i, p := range paths {
		if p != "" && strings.HasPrefix(err.Error(), p+":") {
			idx = i
			break
		}
	}
	list := strings.Join(nonEmpty(paths), " ")
	switch {
	case errors.Is(err, replica.ErrLocked):
		return fmt.Errorf("%w: another quorum process (a repair, write or rebuild) has the set open for writing; wait for it to finish "+
			"(one that was interrupted leaves no lock but a journal record, which scan reports and repair --apply finishes)", err)
	case errors.Is(err, replica.ErrNotFormatted) && idx >= 0:
		return fmt.Errorf("%w. If it is a new drive for replica %d: quorum rebuild --replace %d %s (files that were never formatted: --raw)", err, idx, idx, list)
	case errors.Is(err, replica.ErrStale) && idx >= 0:
		return fmt.Errorf("%w: quorum rebuild --replace %d %s", err, idx, list)
	case errors.Is(err, replica.ErrForeign) && strings.Contains(err.Error(), " listed") && !strings.Contains(err.Error(), "listed as"):
		if missingGiven {
			return fmt.Errorf("%w (--missing adds absent replicas to those listed)", err)
		}
		return fmt.Errorf("%w: list every replica in index order, with --missing INDEX for absent ones", err)
	}
	return err
}

func nonEmpty(paths []string) []string {
	var out []string
	for _, p := range paths {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setInfo is the head of every report on an open set.
type setInfo struct {
	Set          string        `json:"set"`
	Raw          bool          `json:"raw,omitempty"`
	Replicas     []replicaInfo `json:"replicas"`
	ObjectSize   int           `json:"object_size"`
	VectorOffset int           `json:"vector_offset"`
	Objects      int64         `json:"objects"`
	Rule         string        `json:"rule"`
	Quorum       int           `json:"quorum"` // replicas a chain needs
	Journal      journalInfo   `json:"journal"`
}

type replicaInfo struct {
	Index   int    `json:"index"`
	Path    string `json:"path,omitempty"`
	State   string `json:"state"`             // active, rebuilding or missing
	Rebuilt int64  `json:"rebuilt,omitempty"` // rebuilding: objects copied
}

// journalInfo is what Open found in the journal.
type journalInfo struct {
	Path string `json:"path"`
	// State: clean; pending (a committed record not replayed: a
	// read-only open, or a replica it writes is missing); replayed (when
	// the set was opened); none (raw: no write went through it yet);
	// unnamed (raw, no --journal: a pending record cannot be seen);
	// problem (unreadable, missing or foreign: see Problem).
	State   string `json:"state"`
	Record  uint64 `json:"record,omitempty"`  // the pending or replayed record
	Objects int    `json:"objects,omitempty"` // objects the replayed record wrote
	Torn    uint64 `json:"torn,omitempty"`    // a record cut short before its commit point, ignored
	Problem string `json:"problem,omitempty"`
}

func describeSet(s *replica.Set, rule string) setInfo {
	g := s.Geometry()
	info := setInfo{Set: s.ID().String(), Raw: s.Raw(), ObjectSize: g.ObjectSize, VectorOffset: g.VectorOffset, Objects: g.Objects,
		Rule: rule, Quorum: s.Quorum()}
	for i, p := range s.Paths() {
		r := replicaInfo{Index: i, Path: p, State: "missing"}
		if st, rebuilt, ok := s.State(i); ok {
			r.State = st.String()
			if st == replica.Rebuilding {
				r.Rebuilt = rebuilt
			}
		}
		info.Replicas = append(info.Replicas, r)
	}
	rec := s.Recovery()
	j := journalInfo{Path: rec.Journal, State: "clean", Torn: rec.Torn}
	switch {
	case s.Raw() && rec.Journal == "":
		// Recovery.Problem says no journal was named: not a problem of
		// the files, and the report's journal line says what it means.
		j.State = "unnamed"
	case rec.Problem != nil:
		j.State, j.Problem = "problem", operatorWords(rec.Problem.Error())
	case rec.Pending != 0:
		j.State, j.Record = "pending", rec.Pending
	case rec.Replayed != 0:
		j.State, j.Record, j.Objects = "replayed", rec.Replayed, rec.Objects
	case s.Raw():
		if _, err := os.Stat(rec.Journal); errors.Is(err, fs.ErrNotExist) {
			j.State = "none"
		}
	}
	info.Journal = j
	return info
}

// degraded reports whether a replica is missing or rebuilding.
func (info *setInfo) degraded() bool {
	for _, r := range info.Replicas {
		if r.State != "active" {
			return true
		}
	}
	return false
}

// writeText prints the head of a text report.
func (info *setInfo) writeText(b *strings.Builder) {
	n := len(info.Replicas)
	perReplica := info.Objects * int64(info.ObjectSize)
	if info.Raw {
		fmt.Fprintf(b, "raw set (no superblocks; geometry as given, nothing checks that the files are one set or in order) of %d replicas: ", n)
	} else {
		fmt.Fprintf(b, "set %s (%d replicas): ", info.Set, n)
	}
	fmt.Fprintf(b, "%d objects of %d bytes, vectors at offset %d, %s per replica\n", info.Objects, info.ObjectSize, info.VectorOffset, bytesString(perReplica))
	var rs []string
	for _, r := range info.Replicas {
		switch r.State {
		case "missing":
			rs = append(rs, fmt.Sprintf("%d missing", r.Index))
		case "rebuilding":
			rs = append(rs, fmt.Sprintf("%d %s (rebuilding, %d of %d objects copied: it does not vote; quorum rebuild resumes it)", r.Index, r.Path, r.Rebuilt, info.Objects))
		default:
			rs = append(rs, fmt.Sprintf("%d %s", r.Index, r.Path))
		}
	}
	fmt.Fprintf(b, "replicas: %s\n", strings.Join(rs, ", "))
	fmt.Fprintf(b, "rule: %s\n", describeRule(info.Rule, info.Quorum, n))
	b.WriteString(info.Journal.text())
}

func (j journalInfo) text() string {
	var s string
	switch j.State {
	case "clean":
		s = fmt.Sprintf("journal %s: clean\n", j.Path)
	case "none":
		s = fmt.Sprintf("journal %s: none yet (no write has gone through it)\n", j.Path)
	case "unnamed":
		s = "journal: none named (raw files do not record theirs: give --journal to see a write an interruption left pending)\n"
	case "pending":
		s = fmt.Sprintf("journal %s: record %d pending: an interrupted write or repair left it; its objects are reported PENDING "+
			"(their copies may be torn) and quorum repair --apply finishes it\n", j.Path, j.Record)
	case "replayed":
		s = fmt.Sprintf("journal %s: record %d, left by an interrupted write or repair, was replayed when the set was opened "+
			"(%s); what follows is the set after it\n", j.Path, j.Record, plural(int64(j.Objects), "object"))
	case "problem":
		s = fmt.Sprintf("journal PROBLEM: %s\n  objects an interrupted write may have torn cannot be told from agreed ones, "+
			"and the set cannot be written until the journal is back (--journal PATH if it moved)\n", j.Problem)
	}
	if j.Torn != 0 {
		s += fmt.Sprintf("  (record %d was cut short before its commit point and ignored: its write or repair wrote nothing)\n", j.Torn)
	}
	return s
}

func bytesString(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"}
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

// plural is "1 object", "2 objects".
func plural(n int64, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
