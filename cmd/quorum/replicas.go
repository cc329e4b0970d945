package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

// replicaSet is the open replica files of one command: all regular files
// of the same size, a whole number of objects.
type replicaSet struct {
	paths   []string
	infos   []fs.FileInfo
	files   []*os.File
	geo     geometry
	size    int64 // bytes per replica
	objects int64
	unlock  []func()
}

// openReplicas checks and opens the replicas, read-only or for writing
// (then each is locked against other quorum processes). Every check runs
// before anything is written, and an error names the file at fault.
func openReplicas(paths []string, geo geometry, writable bool) (*replicaSet, error) {
	if err := checkCount(paths); err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fileError(p, err)
		}
		switch {
		case fi.IsDir():
			return nil, fmt.Errorf("%s is a directory, not a replica file", p)
		case !fi.Mode().IsRegular():
			return nil, fmt.Errorf("%s is not a regular file (%v)", p, fi.Mode().Type())
		}
		for j := range i {
			if os.SameFile(infos[j], fi) {
				return nil, fmt.Errorf("%s and %s are the same file: a replica must be counted once", paths[j], p)
			}
		}
		infos[i] = fi
	}
	size := infos[0].Size()
	for i, fi := range infos {
		if fi.Size() != size {
			return nil, fmt.Errorf("replicas differ in size: %s has %d bytes, %s has %d", paths[0], size, paths[i], fi.Size())
		}
	}
	if size%int64(geo.objectSize) != 0 {
		return nil, fmt.Errorf("replica size %d (%s) is not a whole number of %d-byte objects (%d objects and %d bytes over): check --object-size",
			size, paths[0], geo.objectSize, size/int64(geo.objectSize), size%int64(geo.objectSize))
	}
	s := &replicaSet{paths: paths, infos: infos, geo: geo, size: size, objects: size / int64(geo.objectSize)}
	flag := os.O_RDONLY
	if writable {
		flag = os.O_RDWR
	}
	for _, p := range paths {
		f, err := os.OpenFile(p, flag, 0)
		if err != nil {
			s.close()
			return nil, fileError(p, err)
		}
		s.files = append(s.files, f)
		if writable {
			unlock, err := lockFile(f)
			if err != nil {
				s.close()
				return nil, fmt.Errorf("%s: %v", p, err)
			}
			s.unlock = append(s.unlock, unlock)
		}
	}
	// The size may have changed between Stat and Open.
	for i, f := range s.files {
		if fi, err := f.Stat(); err != nil || fi.Size() != size {
			s.close()
			return nil, fmt.Errorf("%s changed while being opened: are the replicas in use?", paths[i])
		}
	}
	return s, nil
}

// index returns the index of the replica that is the file at path, or -1.
func (s *replicaSet) index(path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		return -1
	}
	for i, info := range s.infos {
		if os.SameFile(info, fi) {
			return i
		}
	}
	return -1
}

func (s *replicaSet) close() error {
	for _, u := range s.unlock {
		u()
	}
	var errs []error
	for i, f := range s.files {
		if err := f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.paths[i], err))
		}
	}
	s.files, s.unlock = nil, nil
	return errors.Join(errs...)
}

// readBatch reads objects [first, first+count) of every replica into bufs.
func (s *replicaSet) readBatch(bufs [][]byte, first int64, count int) error {
	n := count * s.geo.objectSize
	off := first * int64(s.geo.objectSize)
	for i, f := range s.files {
		got, err := f.ReadAt(bufs[i][:n], off)
		if got == n {
			continue
		}
		if err == nil || errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: short read at offset %d: did the file shrink? Replicas must not be in use", s.paths[i], off+int64(got))
		}
		return fmt.Errorf("%s: %v", s.paths[i], err)
	}
	return nil
}

// fileError words a Stat or Open error for an operator.
func fileError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: no such file", p)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied", p)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %v", p, pe.Err)
	}
	return err
}

// syncDir makes a directory's entries (a created or removed journal)
// durable. Windows cannot sync a directory and needs no such step.
func syncDir(path string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	// Some file systems refuse to sync a directory (EINVAL); they have
	// nothing to sync.
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	return nil
}
