//go:build unix

package replica

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// openFile opens a replica or the journal without following a final symlink
// when noFollow, and without blocking on a FIFO (which is then refused by
// the caller's file type check). O_NONBLOCK is cleared once the file is
// open: it means nothing for regular files and block devices.
func openFile(path string, flag int, perm os.FileMode, noFollow bool) (*os.File, error) {
	flag |= unix.O_NONBLOCK | unix.O_CLOEXEC
	if noFollow {
		flag |= unix.O_NOFOLLOW
	}
	fd, err := unix.Open(path, flag, uint32(perm))
	if err != nil {
		if noFollow && errors.Is(err, unix.ELOOP) {
			return nil, fmt.Errorf("%s is a symbolic link: refused (give the real path)", path)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFL, 0); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "fcntl", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}

// lock takes an advisory lock on f without waiting: exclusive for a writer,
// shared for a reader. It is released when f is closed or the process dies.
func lock(f *os.File, exclusive bool) error {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return ErrLocked
		}
		return err
	}
	return nil
}

// fileKey identifies the file behind a descriptor whatever path reached it
// (symlinks, hard links and bind mounts give the same key).
func fileKey(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFBLK {
		// A device node's inode changes with its file system (devtmpfs is
		// made at boot, and two nodes can name one device): the device
		// number is what stays.
		return fileID{dev: uint64(st.Rdev), ino: ^uint64(0)}, nil
	}
	return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)}, nil
}

// syncDir makes a directory's entries durable (a created journal).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, unix.EINVAL) {
		return err
	}
	return nil
}
