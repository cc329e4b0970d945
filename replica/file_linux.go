package replica

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's written data durable, and the metadata needed to read
// it back (fdatasync(2)): enough for files whose size never changes after
// they are created, as replicas and the journal are.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			if err != nil {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
			}
			return nil
		}
	}
}
