//go:build !unix

package replica

import (
	"os"
	"sync/atomic"
)

// Without unix there is no O_NOFOLLOW, no advisory lock and no device
// identity: the set still works, but two processes must not open it for
// writing at once, and a replica listed twice through two paths is only
// caught by its superblock's replica ID.
func openFile(path string, flag int, perm os.FileMode, noFollow bool) (*os.File, error) {
	if noFollow {
		if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrInvalid}
		}
	}
	return os.OpenFile(path, flag, perm)
}

func lock(*os.File, bool) error { return nil }

var opened atomic.Uint64

// fileKey has no inode to read: every open file is its own key.
func fileKey(*os.File) (fileID, error) { return fileID{ino: opened.Add(1)}, nil }

func syncDir(string) error { return nil }
