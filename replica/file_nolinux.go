//go:build !linux

package replica

import "os"

// datasync is fsync(2) where there is no fdatasync (on darwin, F_FULLFSYNC
// is what os.File.Sync issues).
func datasync(f *os.File) error { return f.Sync() }
