package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/lockstep/quorum/kernel"
)

// quorum init and quorum write make replicas to practise on. Every object
// holds its vector at --vector-offset and, everywhere else, its state's ID0
// repeated, so the bytes of a copy say which state it holds.

// fillObject writes a whole object of the state whose vector is vec.
func fillObject(obj []byte, vectorOffset int, vec []byte) {
	id := vec[:kernel.IDSize]
	for k := 0; k < len(obj); k += kernel.IDSize {
		copy(obj[k:], id)
	}
	copy(obj[vectorOffset:], vec)
}

// newID returns a random ID that is not zero and differs from avoid.
func newID(avoid ...[]byte) []byte {
	id := make([]byte, kernel.IDSize)
	for {
		rand.Read(id)
		ok := !allZero(id)
		for _, a := range avoid {
			ok = ok && !bytes.Equal(id, a)
		}
		if ok {
			return id
		}
	}
}

func cmdInit(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("init")
	var gf geometryFlags
	gf.register(fs, false)
	sz := size(64 << 20)
	fs.Var(&sz, "size", "bytes per replica")
	objects := fs.Int64("objects", 0, "objects per replica (instead of --size)")
	force := fs.Bool("force", false, "overwrite existing files")
	paths, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	if err := checkCount(paths); err != nil {
		return 0, err
	}
	geo, err := gf.geometry(len(paths))
	if err != nil {
		return 0, err
	}
	osz := int64(geo.objectSize)
	total := *objects
	if flagSet(fs, "size") && flagSet(fs, "objects") {
		return 0, usagef("give --size or --objects, not both")
	}
	if total == 0 && !flagSet(fs, "objects") {
		if int64(sz)%osz != 0 {
			return 0, usagef("--size %d is not a whole number of %d-byte objects", sz, osz)
		}
		total = int64(sz) / osz
	}
	if total < 1 || total > (1<<62)/osz {
		return 0, usagef("a replica must hold at least one object, got --objects %d / --size %d", total, sz)
	}
	seen := map[string]string{}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return exitError, err
		}
		if q, ok := seen[abs]; ok {
			return exitError, fmt.Errorf("%s and %s are the same file: a replica must be counted once", q, p)
		}
		seen[abs] = p
		fi, err := os.Stat(p)
		switch {
		case err == nil && fi.IsDir():
			return exitError, fmt.Errorf("%s is a directory, not a replica file", p)
		case err == nil && !fi.Mode().IsRegular():
			return exitError, fmt.Errorf("%s is not a regular file (%v)", p, fi.Mode().Type())
		case err == nil && !*force:
			return exitError, fmt.Errorf("%s exists (--force overwrites it)", p)
		case err != nil && !os.IsNotExist(err):
			return exitError, fileError(p, err)
		}
	}
	if err := refuseJournals(paths); err != nil {
		return exitError, err
	}
	mode := os.O_RDWR | os.O_CREATE | os.O_EXCL
	if *force {
		mode = os.O_RDWR | os.O_CREATE | os.O_TRUNC
	}
	files := make([]*os.File, 0, len(paths))
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range paths {
		f, err := os.OpenFile(p, mode, 0o644)
		if err != nil {
			return exitError, fileError(p, err)
		}
		files = append(files, f)
		unlock, err := lockFile(f)
		if err != nil {
			return exitError, fmt.Errorf("%s: %v", p, err)
		}
		defer unlock()
	}
	per := int64(geo.batchBytes) / osz
	buf := make([]byte, per*osz)
	vec := make([]byte, kernel.VectorSize)
	prog := newProgress(stderr, "init", total*osz*int64(len(paths)))
	for first := int64(0); first < total; first += per {
		count := min(per, total-first)
		for i := range count {
			id0 := newID()
			copy(vec, id0)
			copy(vec[kernel.IDSize:], newID(id0))
			fillObject(buf[i*osz:(i+1)*osz], geo.vectorOffset, vec)
		}
		for k, f := range files {
			if _, err := f.WriteAt(buf[:count*osz], first*osz); err != nil {
				return exitError, fmt.Errorf("%s: %v", paths[k], err)
			}
		}
		prog.add(count * osz * int64(len(paths)))
	}
	for k, f := range files {
		if err := f.Sync(); err != nil {
			return exitError, fmt.Errorf("%s: %v", paths[k], err)
		}
	}
	prog.finish()
	fmt.Fprintf(stdout, "created %d replicas of %s: %d objects of %d bytes, vectors at offset %d, all at one state\n",
		len(paths), bytesString(total*osz), total, osz, geo.vectorOffset)
	return exitClean, nil
}

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// objectList is a sorted list of disjoint inclusive object ranges.
type objectList [][2]int64

// parseObjects reads "all" or a list like 0-4095,9,100-199.
func parseObjects(s string, objects int64) (objectList, error) {
	if s == "" || s == "all" {
		return objectList{{0, objects - 1}}, nil
	}
	var l objectList
	for _, part := range strings.Split(s, ",") {
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
			return nil, fmt.Errorf("--objects: %q is past the last object, %d", part, objects-1)
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

// each calls f for every listed object in [first, first+count), in order.
func (l objectList) each(first, count int64, f func(i int64) error) error {
	for _, r := range l {
		for i := max(r[0], first); i <= min(r[1], first+count-1); i++ {
			if err := f(i); err != nil {
				return err
			}
		}
	}
	return nil
}

func (l objectList) len() int64 {
	var n int64
	for _, r := range l {
		n += r[1] - r[0] + 1
	}
	return n
}

func cmdWrite(args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlagSet("write")
	var gf geometryFlags
	gf.register(fs, true)
	list := fs.String("objects", "all", "objects to write: all, or a list like 0-4095,9")
	count := fs.Int("count", 1, "transactions to apply, one after the other")
	paths, err := parse(fs, args)
	if err != nil {
		return 0, err
	}
	if err := checkCount(paths); err != nil {
		return 0, err
	}
	if *count < 1 {
		return 0, usagef("--count must be at least 1, got %d", *count)
	}
	geo, err := gf.geometry(len(paths))
	if err != nil {
		return 0, err
	}
	if err := refuseJournals(paths); err != nil {
		return exitError, err
	}
	set, err := openReplicas(paths, geo, true)
	if err != nil {
		return exitError, err
	}
	defer set.close()
	objs, err := parseObjects(*list, set.objects)
	if err != nil {
		return exitError, err
	}
	osz := geo.objectSize
	vo := geo.vectorOffset
	per := int64(geo.batchBytes / osz)
	bufs := make([][]byte, len(paths))
	for i := range bufs {
		bufs[i] = make([]byte, per*int64(osz))
	}
	prog := newProgress(stderr, "write", 2*objs.len()*int64(osz)*int64(len(paths)))
	defer prog.finish()

	// First make sure every listed replica can take the write: all at
	// one valid state on every listed object. Nothing is written if not.
	probe := make([]byte, kernel.VectorSize)
	for first := int64(0); first < set.objects; first += per {
		n := min(per, set.objects-first)
		if err := set.readBatch(bufs, first, int(n)); err != nil {
			return exitError, err
		}
		err := objs.each(first, n, func(i int64) error {
			at := int(i-first)*osz + vo
			v0 := bufs[0][at : at+kernel.VectorSize]
			for k := 1; k < len(bufs); k++ {
				if v := bufs[k][at : at+kernel.VectorSize]; !bytes.Equal(v, v0) {
					return fmt.Errorf("object %d: %s (%x) and %s (%x) are at different states: a write needs its replicas at one state; repair them first, or write them one at a time",
						i, paths[0], v0[:4], paths[k], v[:4])
				}
			}
			copy(probe, v0)
			if err := kernel.Update(probe, newID(v0[:kernel.IDSize], v0[kernel.IDSize:])); err != nil {
				return fmt.Errorf("object %d: %v", i, err)
			}
			prog.add(int64(osz) * int64(len(paths)))
			return nil
		})
		if err != nil {
			return exitError, err
		}
	}

	// Then apply the transactions, writing whole objects.
	for first := int64(0); first < set.objects; first += per {
		n := min(per, set.objects-first)
		if _, err := set.files[0].ReadAt(bufs[0][:n*int64(osz)], first*int64(osz)); err != nil {
			return exitError, fmt.Errorf("%s: %v", paths[0], err)
		}
		runStart, runEnd := int64(-1), int64(-1)
		flush := func() error {
			if runStart < 0 {
				return nil
			}
			data := bufs[0][(runStart-first)*int64(osz) : (runEnd-first)*int64(osz)]
			for k, f := range set.files {
				if _, err := f.WriteAt(data, runStart*int64(osz)); err != nil {
					return fmt.Errorf("%s: %v", paths[k], err)
				}
			}
			prog.add(int64(len(data)) * int64(len(paths)))
			runStart = -1
			return nil
		}
		err := objs.each(first, n, func(i int64) error {
			obj := bufs[0][int(i-first)*osz : int(i-first+1)*osz]
			vec := obj[vo : vo+kernel.VectorSize]
			for range *count {
				if err := kernel.Update(vec, newID(vec[:kernel.IDSize], vec[kernel.IDSize:])); err != nil {
					return fmt.Errorf("object %d: %v", i, err)
				}
			}
			fillObject(obj, vo, slices.Clone(vec))
			if i != runEnd {
				if err := flush(); err != nil {
					return err
				}
				runStart = i
			}
			runEnd = i + 1
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return exitError, err
		}
	}
	for k, f := range set.files {
		if err := f.Sync(); err != nil {
			return exitError, fmt.Errorf("%s: %v", paths[k], err)
		}
	}
	prog.finish()
	what := "1 transaction"
	if *count > 1 {
		what = fmt.Sprintf("%d transactions", *count)
	}
	fmt.Fprintf(stdout, "wrote %s to %d objects (%s) of %s\n", what, objs.len(), bytesString(objs.len()*int64(osz)), strings.Join(paths, ", "))
	return exitClean, nil
}
