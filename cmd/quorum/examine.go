package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lockstep/quorum/replica"
)

// superJSON is a superblock in examine --json.
type superJSON struct {
	Set          string `json:"set"`
	Replica      string `json:"replica"`
	Index        int    `json:"index"`
	Count        int    `json:"count"`
	State        string `json:"state"`
	Rebuilt      int64  `json:"rebuilt,omitempty"`
	ObjectSize   int    `json:"object_size"`
	VectorOffset int    `json:"vector_offset"`
	Objects      int64  `json:"objects"`
	DataOffset   int    `json:"data_offset"`
	Generation   uint64 `json:"generation"`
	// ReplacedAt[i]: the generation at which replica i was last replaced
	// (0: never).
	ReplacedAt []uint64 `json:"replaced_at"`
	Created    string   `json:"created"`
	Journal    string   `json:"journal"`
	Sequence   uint64   `json:"sequence"`
	Version    uint32   `json:"version"`
}

type examined struct {
	Path       string     `json:"path"`
	Superblock *superJSON `json:"superblock,omitempty"`
	Error      string     `json:"error,omitempty"`
}

func toJSON(sb *replica.Superblock) *superJSON {
	j := &superJSON{Set: sb.Set.String(), Replica: sb.Replica.String(), Index: sb.Index, Count: sb.Count, State: sb.State.String(),
		ObjectSize: sb.Geometry.ObjectSize, VectorOffset: sb.Geometry.VectorOffset, Objects: sb.Geometry.Objects,
		DataOffset: replica.DataOffset, Generation: sb.Generation, Created: sb.Created.Format(time.RFC3339),
		Journal: sb.Journal, Sequence: sb.Sequence, Version: sb.Version, ReplacedAt: sb.ReplacedAt}
	if sb.State == replica.Rebuilding {
		j.Rebuilt = sb.Rebuilt
	}
	return j
}

// cmdExamine prints each replica's superblock, like mdadm --examine, and
// what the superblocks say together.
func cmdExamine(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
	fs := newFlagSet("examine")
	asJSON := fs.Bool("json", false, "print a JSON document")
	paths, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	if len(paths) == 0 {
		return 0, usagef("no replica files given")
	}
	code := exitClean
	var out []examined
	for _, p := range paths {
		sb, err := replica.Examine(p)
		e := examined{Path: p}
		if err != nil {
			e.Error, code = operatorWords(err.Error()), exitError
		} else {
			e.Superblock = toJSON(sb)
		}
		out = append(out, e)
	}
	notes := together(out)
	if *asJSON {
		b, err := json.Marshal(struct {
			Command  string     `json:"command"`
			Replicas []examined `json:"replicas"`
			Notes    []string   `json:"notes,omitempty"`
			Exit     int        `json:"exit"`
		}{"examine", out, notes, code})
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return code, nil
	}
	var b strings.Builder
	for i, e := range out {
		if i > 0 {
			b.WriteString("\n")
		}
		writeSuper(&b, e)
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "%s\n", n)
		}
	}
	io.WriteString(stdout, b.String())
	return code, nil
}

func writeSuper(b *strings.Builder, e examined) {
	sb := e.Superblock
	if sb == nil {
		fmt.Fprintf(b, "%s: %s\n", e.Path, e.Error)
		return
	}
	fmt.Fprintf(b, "%s: replica %d of %d of set %s\n", e.Path, sb.Index, sb.Count, sb.Set)
	state := sb.State
	if sb.State == "rebuilding" {
		state = fmt.Sprintf("rebuilding: %d of %d objects copied (it votes once quorum rebuild finishes)", sb.Rebuilt, sb.Objects)
	}
	generation := fmt.Sprintf("%d (no replica replaced yet)", sb.Generation)
	var replaced []string
	for i, g := range sb.ReplacedAt {
		if g > 0 {
			replaced = append(replaced, fmt.Sprintf("replica %d at %d", i, g))
		}
	}
	if len(replaced) > 0 {
		generation = fmt.Sprintf("%d (replaced: %s)", sb.Generation, strings.Join(replaced, ", "))
	}
	rows := [][2]string{
		{"state", state},
		{"replica id", sb.Replica},
		{"geometry", fmt.Sprintf("%d objects of %d bytes, vectors at offset %d (%s from byte %d)", sb.Objects, sb.ObjectSize, sb.VectorOffset,
			bytesString(sb.Objects*int64(sb.ObjectSize)), sb.DataOffset)},
		{"generation", generation},
		{"journal", sb.Journal},
		{"created", sb.Created},
		{"sequence", fmt.Sprintf("%d (superblock writes), format version %d", sb.Sequence, sb.Version)},
	}
	for _, r := range rows {
		fmt.Fprintf(b, "  %-11s %s\n", r[0], r[1])
	}
}

// together says what the superblocks say as a set: whether they are one
// set, listed in index order, all present, at one generation.
func together(out []examined) []string {
	var sbs []examined
	for _, e := range out {
		if e.Superblock != nil {
			sbs = append(sbs, e)
		}
	}
	if len(sbs) == 0 || len(out) < 2 {
		return nil
	}
	var notes []string
	newest := sbs[0].Superblock
	seen := map[int]string{}
	inOrder, dup := true, false
	for k, e := range sbs {
		sb := e.Superblock
		if sb.Set != newest.Set {
			return append(notes, fmt.Sprintf("note: replicas of more than one set (%s is of %s, %s of %s)",
				sbs[0].Path, sbs[0].Superblock.Set, e.Path, sb.Set))
		}
		if sb.Generation > newest.Generation {
			newest = sb
		}
		if p, twice := seen[sb.Index]; twice {
			dup = true
			notes = append(notes, fmt.Sprintf("note: %s and %s both say they are replica %d: one replica listed twice, or a stale copy", p, e.Path, sb.Index))
		}
		seen[sb.Index] = e.Path
		if k > 0 && sb.Index <= sbs[k-1].Superblock.Index {
			inOrder = false
		}
	}
	for _, e := range sbs {
		sb := e.Superblock
		switch {
		case sb.Generation >= newest.Generation:
		case sb.Index < len(newest.ReplacedAt) && newest.ReplacedAt[sb.Index] > sb.Generation:
			notes = append(notes, fmt.Sprintf("note: %s is at generation %d, and replica %d was replaced at generation %d while it was away (stale)",
				e.Path, sb.Generation, sb.Index, newest.ReplacedAt[sb.Index]))
		default:
			notes = append(notes, fmt.Sprintf("note: %s is at generation %d, the set at %d: it missed other replicas' replacement (a writable open brings it up to date)",
				e.Path, sb.Generation, newest.Generation))
		}
	}
	var absent []string
	for i := range newest.Count {
		if _, ok := seen[i]; !ok {
			absent = append(absent, fmt.Sprint(i))
		}
	}
	short := newest.Set[:8]
	switch {
	case len(absent) > 0:
		notes = append(notes, fmt.Sprintf("set %s: %d replicas, these are %d of them (absent: %s; other commands take --missing %s)",
			short, newest.Count, len(seen), strings.Join(absent, ","), strings.Join(absent, ",")))
	case dup:
	case !inOrder:
		notes = append(notes, fmt.Sprintf("set %s: all %d replicas, but not in index order: other commands need them in order", short, newest.Count))
	default:
		notes = append(notes, fmt.Sprintf("set %s: all %d replicas, in index order, generation %d", short, newest.Count, newest.Generation))
	}
	return notes
}
