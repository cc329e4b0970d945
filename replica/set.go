package replica

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/lockstep/quorum/kernel"
)

// Options tune Create, Open and OpenRaw. The zero value (or nil) is a
// writable set with a majority quorum, group commit and the journal the
// superblocks name.
type Options struct {
	// ReadOnly opens the set without writing anything, not even a pending
	// journal record (objects it covers are reported as Pending).
	ReadOnly bool
	// Quorum is how many replicas a chain must hold to be the quorum's; 0
	// means a majority of the set's replicas (more than half). Missing
	// replicas count against it. manager.Threshold gives other rules. Below
	// a majority two writes can each find a quorum on disjoint replicas, so
	// a write that returned nil can later be outvoted (or tie): use it only
	// where the replicas are never written apart (one writer, all present).
	Quorum int
	// Journal is the journal's path. At Create the default is a file beside
	// the first replica, named after the set; it is recorded in every
	// superblock, and Open finds it there (give Journal to Open only if the
	// file moved: it must hold this set's journal). A set on block devices
	// must name a journal on a file system that survives a reboot. OpenRaw
	// needs it to write.
	Journal string
	// JournalCapacity is each record area's size at Create (default
	// DefaultJournalCapacity, or one object of every replica if larger); it
	// must hold one object of every replica.
	JournalCapacity int64
	// NoGroupCommit makes every Write its own transaction; by default (see
	// Write) concurrent Writes share one.
	NoGroupCommit bool
	// ReadRepair makes Read catch up lagging and outside replicas of a
	// quorate object it reads, through the journal, before it returns.
	ReadRepair bool
	// Force lets Create overwrite files that are already replicas.
	Force bool
}

func (o *Options) orDefault() *Options {
	if o == nil {
		return &Options{}
	}
	return o
}

// Set is an open replica set. Its methods are safe for concurrent use:
// reads run in parallel; writes, repairs and rebuilds are serialised.
type Set struct {
	paths    []string
	members  []*member // by index; nil for a missing replica
	geo      Geometry
	count    int
	need     int
	raw      bool
	readOnly bool
	opts     Options
	set      ID
	gen      uint64
	journal  *journal // nil for a read-only raw set without one
	recovery Recovery
	// pending: the entries of a committed record not replayed (a read-only
	// open, or a transaction that failed past its commit point), by object;
	// reads see them as replayed (see overlay), scans report them.
	pending atomic.Pointer[map[int64]*entry]

	data   sync.RWMutex // readers against in-place writes
	commit sync.Mutex   // one transaction at a time
	// repairing: one repairing Scan at a time.
	repairing sync.Mutex
	group     groupCommit
	writes    atomic.Uint64 // bumped by every change but a repairing Scan's
	broken    error         // set when a transaction failed past its commit point
	closed    atomic.Bool
	reads     sync.Pool // *readScratch
	// views is what readers use without the commit lock (see view).
	views atomic.Pointer[view]
}

// view is the members and the voters at one moment, for readers that take
// no commit lock: published whole (see publish) when a replica joins,
// leaves or finishes rebuilding, never changed.
type view struct {
	members []*member
	voters  []int // indices of the replicas that vote: present and active
}

// publish makes s.members the readers' view. The caller holds s.commit; a
// caller that closes a replica the old view names holds s.data too, so that
// no read is in flight on it. A new view counts as a write (s.writes): a
// repairing scan re-reads what it read before.
func (s *Set) publish() {
	defer s.writes.Add(1)
	v := &view{members: slices.Clone(s.members)}
	for i, m := range v.members {
		if m.voting() {
			v.voters = append(v.voters, i)
		}
	}
	s.views.Store(v)
}

// member is one open replica.
type member struct {
	path  string
	file  *os.File // what f wraps: for locks, truncation and stat
	block bool     // a block device
	f     device
	key   fileID
	super *Superblock // nil in raw mode
	id    ID          // super.Replica, or derived from the file in raw mode
	state State
	// rebuilt: while rebuilding, objects below it are copied and kept
	// current by writes.
	rebuilt int64
}

// Recovery is what Open found in the journal.
type Recovery struct {
	Journal  string // its path
	Replayed uint64 // the committed record replayed (0: none was pending)
	Objects  int    // objects that record wrote
	// Pending: a committed record is not replayed (the set is read-only, a
	// replica it writes is missing, or a transaction failed past its commit
	// point); its PendingObjects scan as Pending, and reads see them as the
	// record writes them.
	Pending        uint64
	PendingObjects int
	// Waiting: the missing replicas the pending record must still write.
	Waiting []int
	// Kind of the replayed or pending record: "write" or "repair".
	Kind string
	// Torn: a record cut short before its commit point, ignored (its
	// transaction wrote nothing in place).
	Torn uint64
	// Problem: a read-only open went on without the journal (missing,
	// damaged or foreign, as the error says): objects it may cover cannot be
	// told from agreed ones. A writable open fails instead.
	Problem error
}

// Paths are the replicas' paths by index ("" for a missing one).
func (s *Set) Paths() []string {
	s.commit.Lock()
	defer s.commit.Unlock()
	return append([]string(nil), s.paths...)
}

// Geometry is the set's.
func (s *Set) Geometry() Geometry { return s.geo }

// Replicas is the set's replica count, missing ones included.
func (s *Set) Replicas() int { return s.count }

// Quorum is how many replicas a chain needs.
func (s *Set) Quorum() int { return s.need }

// ID is the set's identity: from the superblocks, or for a raw set from its
// journal (zero when none was named).
func (s *Set) ID() ID { return s.set }

// Raw reports whether the set was opened without superblocks.
func (s *Set) Raw() bool { return s.raw }

// Recovery is what Open found and did in the journal, and what is pending
// since.
func (s *Set) Recovery() Recovery {
	s.commit.Lock()
	defer s.commit.Unlock()
	r := s.recovery
	r.Waiting = slices.Clone(r.Waiting)
	return r
}

// State is replica i's state, with ok false when it is missing.
func (s *Set) State(i int) (st State, rebuilt int64, ok bool) {
	if i < 0 || i >= s.count {
		return 0, 0, false
	}
	s.commit.Lock()
	defer s.commit.Unlock()
	m := s.members[i]
	if m == nil {
		return 0, 0, false
	}
	return m.state, m.rebuilt, true
}

// Close syncs and closes every file, marking the journal's last record
// applied so the next Open has nothing to replay.
func (s *Set) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	s.commit.Lock()
	defer s.commit.Unlock()
	var errs []error
	errs = append(errs, s.markApplied())
	for _, m := range s.members {
		if m != nil {
			errs = append(errs, m.f.Close())
		}
	}
	if s.journal != nil {
		errs = append(errs, s.journal.f.Close())
	}
	return errors.Join(errs...)
}

func (s *Set) usable(write bool) error {
	switch {
	case s.closed.Load():
		return ErrClosed
	case write && s.readOnly:
		return ErrReadOnly
	case write && s.journal == nil:
		return fmt.Errorf("%w: no journal: give Options.Journal to write a raw set", ErrReadOnly)
	}
	return nil
}

// osFile makes Sync an fdatasync.
type osFile struct{ *os.File }

func (f osFile) Sync() error { return datasync(f.File) }

// testDevice, when a test sets it, wraps every file the package opens (to
// lose unsynced writes as a power failure would). Release builds never set
// it.
var testDevice func(path string, d device) device

func newDevice(path string, f *os.File) device {
	if testDevice != nil {
		return testDevice(path, osFile{f})
	}
	return osFile{f}
}

// openReplica opens one replica and returns its size: from the device for
// a block device, from the file otherwise. A FIFO, directory or character
// device is refused without blocking.
func openReplica(path string, write, create bool) (*os.File, int64, error) {
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	if create {
		flag |= os.O_CREATE
	}
	f, err := openFile(path, flag, 0o644, false)
	if err != nil {
		return nil, 0, fileError(path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fileError(path, err)
	}
	mode := fi.Mode()
	size := fi.Size()
	switch {
	case mode.IsRegular():
	case mode&fs.ModeDevice != 0 && mode&fs.ModeCharDevice == 0:
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			f.Close()
			return nil, 0, fileError(path, err)
		}
	default:
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w: a replica must be a regular file or a block device, not %v", path, ErrUnusable, describeMode(mode))
	}
	return f, size, nil
}

func describeMode(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// fileError words an open error for an operator, naming the file.
func fileError(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: %w", p, fs.ErrPermission)
	case errors.Is(err, syscall.EISDIR):
		return fmt.Errorf("%s: %w: a replica must be a regular file or a block device, not a directory", p, ErrUnusable)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", p, pe.Err)
	}
	return err
}

// closeAll closes every open member; for error paths.
func closeAll(ms []*member, j *journal) {
	for _, m := range ms {
		if m != nil {
			m.f.Close()
		}
	}
	if j != nil {
		j.f.Close()
	}
}

// majority is more than half of n.
func majority(n int) int { return n/2 + 1 }

func checkQuorum(q, n int) (int, error) {
	if q == 0 {
		return majority(n), nil
	}
	if q < 1 || q > n {
		return 0, fmt.Errorf("%w: Options.Quorum %d: must be from 1 to the %d replicas (0: a majority)", ErrInvalid, q, n)
	}
	return q, nil
}

// rawID derives a raw replica's identity from its file's.
func rawID(k fileID) ID {
	var b [16]byte
	for i := range 8 {
		b[i] = byte(k.dev >> (8 * i))
		b[8+i] = byte(k.ino >> (8 * i))
	}
	sum := sha256.Sum256(b[:])
	return ID(sum[:16])
}

// replicaIDs is every member's ID by index (zero for a missing one).
func (s *Set) replicaIDs() []ID {
	ids := make([]ID, s.count)
	for i, m := range s.members {
		if m != nil {
			ids[i] = m.id
		}
	}
	return ids
}

// objectOffset is where object i starts in a replica.
func (s *Set) objectOffset(i int64) int64 {
	base := int64(DataOffset)
	if s.raw {
		base = 0
	}
	return base + i*int64(s.geo.ObjectSize)
}

// voting reports whether replica m votes on object i: active replicas
// always, rebuilding ones never (writes still reach what they have copied).
func (m *member) voting() bool { return m != nil && m.state == Active }

// writable reports whether writes to object i must reach m.
func (m *member) writable(i int64) bool {
	return m != nil && (m.state == Active || i < m.rebuilt)
}

var _ = kernel.VectorSize
