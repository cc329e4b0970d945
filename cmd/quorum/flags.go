package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/lockstep/quorum/kernel"
)

// Defaults.
const (
	defaultObjectSize = 4096
	defaultBatchBytes = 2 << 20  // per replica per batch: a few MiB, small enough to stay in cache
	maxBatchTotal     = 64 << 20 // per batch, all replicas together (many replicas: smaller batches)
	maxObjectSize     = 1 << 30
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

// geometry is where the objects and vectors are in every replica.
type geometry struct {
	objectSize   int
	vectorOffset int
	batchBytes   int // bytes per replica per batch: a whole number of objects
}

// geometryFlags registers --object-size, --vector-offset and --batch-size.
type geometryFlags struct {
	objectSize   size
	vectorOffset int
	batchSize    size
}

func (g *geometryFlags) register(fs *flag.FlagSet, batch bool) {
	g.objectSize = defaultObjectSize
	g.batchSize = defaultBatchBytes
	fs.Var(&g.objectSize, "object-size", "bytes per object (at least 32)")
	fs.IntVar(&g.vectorOffset, "vector-offset", 0, "offset of each object's 32-byte vector")
	if batch {
		fs.Var(&g.batchSize, "batch-size", "bytes read per replica per batch")
	}
}

// geometry checks the flags for n replicas.
func (g *geometryFlags) geometry(n int) (geometry, error) {
	os := int64(g.objectSize)
	if os < kernel.VectorSize || os > maxObjectSize {
		return geometry{}, usagef("--object-size must be from %d to %d bytes, got %d", kernel.VectorSize, maxObjectSize, os)
	}
	if g.vectorOffset < 0 || int64(g.vectorOffset) > os-kernel.VectorSize {
		return geometry{}, usagef("--vector-offset must be from 0 to %d (object size %d less the %d-byte vector), got %d",
			os-kernel.VectorSize, os, kernel.VectorSize, g.vectorOffset)
	}
	if g.batchSize < 1 {
		return geometry{}, usagef("--batch-size must be at least 1 byte (rounded up to one object)")
	}
	per := min(int64(g.batchSize), max(maxBatchTotal/int64(max(n, 1)), os))
	per = max(per/os, 1) * os
	return geometry{objectSize: int(os), vectorOffset: g.vectorOffset, batchBytes: int(per)}, nil
}

// checkCount refuses replica counts the kernel cannot take.
func checkCount(paths []string) error {
	switch {
	case len(paths) < kernel.SourcesMin:
		return usagef("no replica files given: name 1 to %d", kernel.SourcesMax)
	case len(paths) > kernel.SourcesMax:
		return usagef("%d replica files given, at most %d", len(paths), kernel.SourcesMax)
	}
	return nil
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
