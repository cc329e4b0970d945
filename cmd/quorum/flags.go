package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/manager"
	"github.com/lockstep/quorum/replica"
)

// size is a byte count flag: 4096, 4KiB, 4K, 64MiB, 1GiB.
type size int64

func (s *size) String() string { return strconv.FormatInt(int64(*s), 10) }

func (s *size) Set(v string) error {
	n, err := parseSize(v)
	if err != nil {
		return err
	}
	*s = size(n)
	return nil
}

func parseSize(v string) (int64, error) {
	t := strings.TrimSpace(v)
	mult := int64(1)
	lower := strings.ToLower(t)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"tb", 1 << 40},
		{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40}, {"b", 1}} {
		if strings.HasSuffix(lower, u.suffix) {
			t, mult = t[:len(t)-len(u.suffix)], u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (examples: 4096, 4KiB, 64MiB)", v)
	}
	return n * mult, nil
}

// geometryFlags are --object-size and --vector-offset: format's, and raw
// mode's (a formatted replica records its own geometry).
type geometryFlags struct {
	objectSize   size
	vectorOffset int
}

func (g *geometryFlags) register(fs *flag.FlagSet) {
	g.objectSize = 4096
	fs.Var(&g.objectSize, "object-size", "bytes per object (at least 32)")
	fs.IntVar(&g.vectorOffset, "vector-offset", 0, "offset of each object's 32-byte vector")
}

// geometry checks the flags' own ranges for n replicas, so that a bad value
// is a usage error naming the flag (the library checks them again).
func (g *geometryFlags) geometry(n int) (replica.Geometry, error) {
	osz := int64(g.objectSize)
	switch {
	case osz < kernel.VectorSize || osz > replica.MaxObjectSize:
		return replica.Geometry{}, usagef("--object-size must be from %d to %d bytes (16 MiB), got %d", kernel.VectorSize, replica.MaxObjectSize, osz)
	case g.vectorOffset < 0 || int64(g.vectorOffset) > osz-kernel.VectorSize:
		return replica.Geometry{}, usagef("--vector-offset must be from 0 to %d (object size %d less the %d-byte vector), got %d",
			osz-kernel.VectorSize, osz, kernel.VectorSize, g.vectorOffset)
	case osz*int64(n) > replica.MaxObjectBytes:
		return replica.Geometry{}, usagef("--object-size %d: one object of each of the %d replicas must fit in %d MiB", osz, n, replica.MaxObjectBytes>>20)
	}
	return replica.Geometry{ObjectSize: int(osz), VectorOffset: g.vectorOffset}, nil
}

// setFlags are the flags of every command that opens a set: scan, repair,
// write and rebuild.
type setFlags struct {
	geo      geometryFlags
	raw      bool
	journal  string
	missing  string
	rule     string
	json     bool
	explicit map[string]bool // flags given on the command line
}

func (f *setFlags) register(fs *flag.FlagSet, raw bool) {
	if raw {
		f.geo.register(fs)
		fs.BoolVar(&f.raw, "raw", false, "replicas without superblocks: geometry from --object-size and --vector-offset")
	}
	fs.StringVar(&f.journal, "journal", "", "the journal's path (raw mode; or a formatted set's journal that moved)")
	fs.StringVar(&f.missing, "missing", "", "indices of absent replicas (e.g. 2 or 0,3): the paths listed are the others, in index order")
	fs.StringVar(&f.rule, "rule", "majority", "quorum rule: majority or byzantine")
	fs.BoolVar(&f.json, "json", false, "print one JSON document")
}

// paths returns the replica list with "" at every missing index.
func (f *setFlags) paths(listed []string) ([]string, error) {
	var miss []int
	if f.missing != "" {
		for part := range strings.SplitSeq(f.missing, ",") {
			i, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || i < 0 {
				return nil, usagef("--missing: %q is not a replica index (0, 1, ...)", part)
			}
			if slices.Contains(miss, i) {
				return nil, usagef("--missing: index %d given twice", i)
			}
			miss = append(miss, i)
		}
	}
	n := len(listed) + len(miss)
	switch {
	case len(listed) == 0:
		return nil, usagef("no replica files given: name 1 to %d", kernel.SourcesMax)
	case n > kernel.SourcesMax:
		return nil, usagef("%d replicas given, at most %d", n, kernel.SourcesMax)
	}
	out := make([]string, 0, n)
	next := 0
	for i := range n {
		if slices.Contains(miss, i) {
			out = append(out, "")
			continue
		}
		if next == len(listed) {
			return nil, usagef("--missing %s: index %d is past the %d replicas (%d listed and %d missing)", f.missing, slices.Max(miss), n, len(listed), len(miss))
		}
		out = append(out, listed[next])
		next++
	}
	for _, p := range listed {
		if p == "" {
			return nil, usagef("an empty replica path: use --missing INDEX for an absent replica")
		}
	}
	return out, nil
}

// quorum is the number of replicas a chain needs among n under --rule.
func (f *setFlags) quorum(n int) (int, error) {
	model := manager.Crash
	switch f.rule {
	case "majority":
	case "byzantine":
		model = manager.Byzantine
	default:
		return 0, usagef("--rule must be majority or byzantine, got %q", f.rule)
	}
	return manager.Threshold(n, model)
}

// describeRule words the rule for a report.
func describeRule(rule string, q, n int) string {
	what := "more than half"
	if rule == "byzantine" {
		what = "more than two-thirds"
	}
	return fmt.Sprintf("%s (%s: a chain of at least %d of %d)", rule, what, q, n)
}

// checkRawFlags refuses --object-size and --vector-offset without --raw:
// a formatted replica records its own geometry.
func (f *setFlags) checkRawFlags() error {
	if f.raw {
		return nil
	}
	for _, name := range []string{"object-size", "vector-offset"} {
		if f.explicit[name] {
			return usagef("--%s is for --raw replicas: a formatted replica records its geometry (quorum examine shows it)", name)
		}
	}
	return nil
}

// objectList is a sorted list of disjoint inclusive ranges.
type objectList [][2]int64

// parseObjects reads "all" or a list like 0-4095,9,100-199.
func parseObjects(s string, objects int64) (objectList, error) {
	if s == "" || s == "all" {
		return objectList{{0, objects - 1}}, nil
	}
	var l objectList
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.ParseInt(hi, 10, 64)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a {
			return nil, usagef("--objects: %q is not an object or a range FIRST-LAST", part)
		}
		if b >= objects {
			return nil, usagef("--objects: %q is past the last object, %d", part, objects-1)
		}
		l = append(l, [2]int64{a, b})
	}
	slices.SortFunc(l, func(x, y [2]int64) int { return int(min(max(x[0]-y[0], -1), 1)) })
	merged := l[:1]
	for _, r := range l[1:] {
		if last := &merged[len(merged)-1]; r[0] <= last[1]+1 {
			last[1] = max(last[1], r[1])
		} else {
			merged = append(merged, r)
		}
	}
	return merged, nil
}

func (l objectList) len() int64 {
	var n int64
	for _, r := range l {
		n += r[1] - r[0] + 1
	}
	return n
}

func (l objectList) String() string {
	var parts []string
	for _, r := range l {
		if r[0] == r[1] {
			parts = append(parts, strconv.FormatInt(r[0], 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]))
		}
	}
	return strings.Join(parts, ",")
}

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parse parses flags anywhere among the arguments (quorum repair a b c
// --apply works) and returns the others in order; after "--" every
// argument is a replica, even one starting with "-".
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, rest []string
	for i, a := range args {
		if a == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// given lists the flags set on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	m := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { m[f.Name] = true })
	return m
}
