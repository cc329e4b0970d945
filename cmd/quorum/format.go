package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// cmdFormat is format (and its alias init): replica.Create.
func cmdFormat(_ context.Context, args []string, stdout, _ io.Writer) (int, error) {
	flags := newFlagSet("format")
	var geo geometryFlags
	geo.register(flags)
	sz := size(64 << 20)
	flags.Var(&sz, "size", "bytes of objects per replica")
	objects := flags.Int64("objects", 0, "objects per replica (instead of --size)")
	journal := flags.String("journal", "", "the journal's path (default: beside the first replica)")
	force := flags.Bool("force", false, "overwrite files that are not empty or already replicas")
	asJSON := flags.Bool("json", false, "print a JSON document")
	paths, err := parse(flags, args)
	if err != nil {
		return 0, err
	}
	set := given(flags)
	switch {
	case len(paths) == 0:
		return 0, usagef("no replica files given: name 1 to %d", kernel.SourcesMax)
	case len(paths) > kernel.SourcesMax:
		return 0, usagef("%d replica files given, at most %d", len(paths), kernel.SourcesMax)
	}
	g, err := geo.geometry(len(paths))
	if err != nil {
		return 0, err
	}
	switch {
	case set["size"] && set["objects"]:
		return 0, usagef("give --size or --objects, not both")
	case set["objects"] && *objects < 1:
		return 0, usagef("--objects must be at least 1, got %d", *objects)
	case set["objects"]:
		g.Objects = *objects
	case sz < size(g.ObjectSize) || int64(sz)%int64(g.ObjectSize) != 0:
		return 0, usagef("--size %d is not a whole number (at least 1) of %d-byte objects", sz, g.ObjectSize)
	default:
		g.Objects = int64(sz) / int64(g.ObjectSize)
	}
	if g.Objects > (1<<62)/int64(g.ObjectSize) {
		return 0, usagef("%d objects of %d bytes do not fit in a file", g.Objects, g.ObjectSize)
	}
	s, err := replica.Create(paths, g, &replica.Options{Journal: *journal, Force: *force})
	if err != nil {
		return 0, err
	}
	info := describeSet(s, "majority")
	if err := s.Close(); err != nil {
		return 0, err
	}
	if *asJSON {
		b, err := json.Marshal(struct {
			Command string `json:"command"`
			setInfo
			Exit int `json:"exit"`
		}{"format", info, exitClean})
		if err != nil {
			return 0, err
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return exitClean, nil
	}
	fmt.Fprintf(stdout, "formatted set %s: %d replicas (%s) of %d objects of %d bytes, vectors at offset %d: %s each, all objects at one state\njournal %s\n",
		info.Set, len(paths), strings.Join(paths, ", "), g.Objects, g.ObjectSize, g.VectorOffset,
		bytesString(g.Objects*int64(g.ObjectSize)), info.Journal.Path)
	return exitClean, nil
}
