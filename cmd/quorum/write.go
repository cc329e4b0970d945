package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// quorum write writes objects through the set, to practise on: every byte
// outside the vector is the line "object I write K\n" repeated, from the
// end of the vector on (wrapping round to the object's start), K one more
// than the quorum's copy held (0 for a copy this command did not write),
// so that old bytes are told from new ones at a glance (od -c, grep -c).

// payload fills obj, whose vector is at vectorOffset, with object i's
// bytes at write k.
func payload(obj []byte, vectorOffset int, i int64, k int) {
	line := fmt.Appendf(nil, "object %d write %d\n", i, k)
	start := (vectorOffset + kernel.VectorSize) % len(obj)
	for j := range obj {
		obj[(start+j)%len(obj)] = line[j%len(line)]
	}
}

// writeOf is the K of object i's bytes, or 0 if they are not a payload.
func writeOf(obj []byte, vectorOffset int, i int64) int {
	n := len(obj) - kernel.VectorSize
	start := (vectorOffset + kernel.VectorSize) % len(obj)
	text := make([]byte, n)
	for j := range text {
		text[j] = obj[(start+j)%len(obj)]
	}
	line, _, complete := bytes.Cut(text, []byte("\n"))
	rest, ok := bytes.CutPrefix(line, fmt.Appendf(nil, "object %d write ", i))
	k, err := strconv.Atoi(string(rest))
	if !complete || !ok || err != nil || k < 0 || strconv.Itoa(k) != string(rest) {
		return 0
	}
	return k
}

// cmdWrite applies --count transactions to each listed object, many
// objects at once so that the library commits them in groups.
func cmdWrite(ctx context.Context, args []string, stdout, _ io.Writer) (int, error) {
	fs := newFlagSet("write")
	var f setFlags
	f.register(fs, true)
	objects := fs.String("objects", "all", "objects to write: all, or a list like 0-4095,9")
	count := fs.Int("count", 1, "transactions per object")
	listed, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	f.explicit = given(fs)
	if *count < 1 {
		return 0, usagef("--count must be at least 1, got %d", *count)
	}
	if _, err := f.paths(listed); err != nil {
		return 0, err
	}
	s, err := f.openSet(listed, false)
	if err != nil {
		return 0, err
	}
	defer s.Close()
	list, err := parseObjects(*objects, s.Geometry().Objects)
	if err != nil {
		return 0, err
	}
	var writes atomic.Int64
	for range *count {
		if err = writeRound(ctx, s, list, &writes); err != nil {
			break
		}
	}
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	code := exitClean
	switch {
	case errors.Is(err, replica.ErrNoQuorum), errors.Is(err, replica.ErrSplitBrain), errors.Is(err, replica.ErrCorrupt):
		code = exitUnrepairable
		err = fmt.Errorf("refused: %w (%d writes done before it, each durable)", err, writes.Load())
	case err != nil:
		code = exitError
		err = fmt.Errorf("%w (%d writes done before it, each durable)", err, writes.Load())
	}
	info := describeSet(s, f.rule)
	return writeReport(stdout, f.json, info, list, *count, writes.Load(), code, err)
}

// writeRound writes every listed object once. The first error stops it.
func writeRound(ctx context.Context, s *replica.Set, list objectList, writes *atomic.Int64) error {
	osz, vo := s.Geometry().ObjectSize, s.Geometry().VectorOffset
	workers := max(1, min(64, (16<<20)/osz))
	next := make(chan int64)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
		stop  = make(chan struct{})
	)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, osz)
			for i := range next {
				select {
				case <-stop:
					continue
				default:
				}
				_, err := s.Read(i, buf)
				if err == nil {
					payload(buf, vo, i, writeOf(buf, vo, i)+1)
					err = s.Write(i, buf)
				}
				if err != nil {
					once.Do(func() { first = err; close(stop) })
					continue
				}
				writes.Add(1)
			}
		})
	}
feed:
	for _, r := range list {
		for i := r[0]; i <= r[1]; i++ {
			select {
			case next <- i:
			case <-stop:
				break feed
			case <-ctx.Done():
				once.Do(func() { first = fmt.Errorf("interrupted: %w", ctx.Err()); close(stop) })
				break feed
			}
		}
	}
	close(next)
	wg.Wait()
	return first
}

func writeReport(stdout io.Writer, asJSON bool, info setInfo, list objectList, count int, writes int64, code int, err error) (int, error) {
	msg := ""
	if err != nil {
		msg = operatorWords(err.Error())
	}
	if asJSON {
		b, jerr := json.Marshal(struct {
			Command string `json:"command"`
			setInfo
			Written string `json:"written_objects"`
			Count   int    `json:"count"`
			Writes  int64  `json:"writes"`
			Exit    int    `json:"exit"`
			Error   string `json:"error,omitempty"`
		}{"write", info, list.String(), count, writes, code, msg})
		if jerr != nil {
			return 0, jerr
		}
		fmt.Fprintf(stdout, "%s\n", b)
		return 0, &reported{code}
	}
	if err != nil {
		return 0, &codeError{code, errors.New(msg)}
	}
	var present, missing []string
	for _, r := range info.Replicas {
		if r.State == "missing" {
			missing = append(missing, fmt.Sprint(r.Index))
		} else {
			present = append(present, r.Path)
		}
	}
	tx := "transaction"
	if count > 1 {
		tx += "s"
	}
	fmt.Fprintf(stdout, "wrote %d %s to each of %d objects (%s) of %s: %d writes, %s", count, tx, list.len(), list,
		strings.Join(present, ", "), writes, bytesString(writes*int64(info.ObjectSize)))
	if len(missing) > 0 {
		fmt.Fprintf(stdout, "; replica %s missing: it missed them", strings.Join(missing, ", "))
	}
	fmt.Fprintln(stdout)
	return exitClean, nil
}
