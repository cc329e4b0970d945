package replica

import (
	"errors"
	"fmt"
	"io"

	"github.com/lockstep/quorum/kernel"
)

// Limits that keep memory bounded whatever the geometry: every buffer the
// package allocates is a whole number of objects of every replica, and one
// object of every replica must fit in MaxObjectBytes.
const (
	// MaxObjectSize is the largest object a set may hold.
	MaxObjectSize = 16 << 20
	// MaxObjectBytes bounds one object times the replica count.
	MaxObjectBytes = 64 << 20
)

// Geometry is where the objects and their vectors are.
type Geometry struct {
	ObjectSize   int   // bytes per object, at least 32
	VectorOffset int   // where each object's 32-byte vector starts
	Objects      int64 // objects per replica
}

func (g Geometry) String() string {
	return fmt.Sprintf("%d objects of %d bytes, vector at %d", g.Objects, g.ObjectSize, g.VectorOffset)
}

// Check refuses, with an error wrapping ErrInvalid that names the field, a
// geometry that the kernel cannot take or that would need unbounded memory
// for count replicas.
func (g Geometry) Check(count int) error {
	switch {
	case g.ObjectSize < kernel.VectorSize || g.ObjectSize > MaxObjectSize:
		return fmt.Errorf("%w: object size %d: must be from %d to %d bytes", ErrInvalid, g.ObjectSize, kernel.VectorSize, MaxObjectSize)
	case g.VectorOffset < 0 || g.VectorOffset > g.ObjectSize-kernel.VectorSize:
		return fmt.Errorf("%w: vector offset %d: must be from 0 to %d (object size less the 32-byte vector)",
			ErrInvalid, g.VectorOffset, g.ObjectSize-kernel.VectorSize)
	case g.Objects < 1 || g.Objects > (1<<62)/int64(g.ObjectSize):
		return fmt.Errorf("%w: %d objects: must be at least 1 and fit in a file", ErrInvalid, g.Objects)
	case count < kernel.SourcesMin || count > kernel.SourcesMax:
		return fmt.Errorf("%w: %d replicas: must be from %d to %d", ErrInvalid, count, kernel.SourcesMin, kernel.SourcesMax)
	case int64(g.ObjectSize)*int64(count) > MaxObjectBytes:
		return fmt.Errorf("%w: %d replicas of %d-byte objects: one object of every replica must fit in %d MiB",
			ErrInvalid, count, g.ObjectSize, MaxObjectBytes>>20)
	}
	return nil
}

// bytes is the space objects take in one replica.
func (g Geometry) bytes() int64 { return g.Objects * int64(g.ObjectSize) }

// Errors. Each is wrapped with the file, object or argument it is about;
// test with errors.Is.
var (
	// ErrInvalid: a bad argument (nothing was read or written).
	ErrInvalid = errors.New("invalid argument")
	// ErrUnusable: a file cannot be a replica (a directory, FIFO or
	// character device; too small; not empty where Create or Replace would
	// overwrite it; raw files of unequal sizes).
	ErrUnusable = errors.New("unusable replica file")
	// ErrNotFormatted: a replica holds no superblock (blank, or never
	// formatted): format it into the set with Replace, or open raw.
	ErrNotFormatted = errors.New("not a formatted replica")
	// ErrForeign: a replica belongs to another set, or sits at another
	// place in this one, or has another geometry.
	ErrForeign = errors.New("not a replica of this set")
	// ErrStale: a replica was replaced while this one was away.
	ErrStale = errors.New("replica was replaced")
	// ErrDuplicate: one replica listed twice.
	ErrDuplicate = errors.New("replica listed twice")
	// ErrLocked: another process has the set open for writing.
	ErrLocked = errors.New("in use by another process (locked)")
	// ErrReadOnly: a write to a set opened read-only.
	ErrReadOnly = errors.New("set opened read-only")
	// ErrClosed: the set is closed.
	ErrClosed = errors.New("set closed")
	// ErrNoQuorum: the object's longest chain is shorter than the quorum.
	ErrNoQuorum = errors.New("no quorum")
	// ErrSplitBrain: two chains tie for longest.
	ErrSplitBrain = errors.New("split-brain")
	// ErrCorrupt: cyclic or conflicting vectors (kernel.ErrCyclic or
	// kernel.ErrConflict is wrapped too).
	ErrCorrupt = errors.New("corrupt vectors")
	// ErrJournal: the journal is damaged, stale, missing or cannot be
	// replayed; what to do is in the message.
	ErrJournal = errors.New("journal")
	// ErrJournalPending: a committed journal record is not replayed yet
	// (the set is open read-only, or a replica it writes is missing).
	ErrJournalPending = errors.New("journal record pending")
)

// device is what the package needs of a replica or journal file; tests
// substitute one that loses unsynced writes.
type device interface {
	io.ReaderAt
	io.WriterAt
	Sync() error // durable: fdatasync(2) for *os.File
	Close() error
}

// fileID identifies a file whatever path names it.
type fileID struct{ dev, ino uint64 }
