package replica

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/lockstep/quorum/kernel"
)

// The superblock: the first 8 KiB of every formatted replica hold two
// copies of it, at 0 and at 4096, each a 4 KiB block checked by its own
// CRC-32C. A change writes the copy not holding the latest sequence and
// syncs it, so a write torn by a power failure spoils at most one copy and
// the other still names the replica (the newest valid copy wins). Objects
// start at DataOffset, 8192.
//
//	0    8  magic "QRMREPL1"
//	8    4  format version (2)
//	12   4  state: 0 active, 1 rebuilding
//	16   8  sequence: one more for every superblock write
//	24  16  set ID
//	40  16  replica ID: new whenever the replica is formatted or replaced
//	56   4  index of this replica in the set
//	60   4  replicas in the set
//	64   4  object size
//	68   4  vector offset in each object
//	72   8  objects
//	80   8  data offset (8192)
//	88   8  generation: one more for every replica replaced
//	96   8  zero
//	104  8  rebuilt: while rebuilding, objects below this are copied
//	112  8  created, Unix nanoseconds
//	120  2  journal path length
//	122     the journal's absolute path (at most 1024 bytes)
//	1152    per replica index, 8 bytes each: the generation at which that
//	        index was last replaced (0: never), so that a replica coming
//	        back is stale exactly when its own index was replaced since it
//	        last saw the set
//	4092 4  CRC-32C of bytes 0-4091
//
// Integers are little-endian.
const (
	superSize   = 4096
	DataOffset  = 2 * superSize
	maxJournal  = 1024
	replacedAt  = 1152
	formatMagic = "QRMREPL1"
	version     = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// State is a replica's part in its set.
type State uint32

const (
	// Active: the replica votes on every object.
	Active State = iota
	// Rebuilding: a new or replaced replica being filled from the quorum. It
	// votes on nothing until Rebuild finishes; writes reach the objects it
	// has already copied.
	Rebuilding
)

func (s State) String() string {
	switch s {
	case Active:
		return "active"
	case Rebuilding:
		return "rebuilding"
	}
	return fmt.Sprintf("state(%d)", uint32(s))
}

// ID is a random 16-byte identity: of a set, or of one replica.
type ID [16]byte

func (id ID) String() string { return hex.EncodeToString(id[:]) }

// Short is the first 8 hex digits, for reports.
func (id ID) Short() string { return hex.EncodeToString(id[:4]) }

func newID() ID { return ID(kernel.NewID()) }

// Superblock is what a formatted replica says about itself and its set.
type Superblock struct {
	Version    uint32
	State      State
	Sequence   uint64 // superblock writes so far
	Set        ID
	Replica    ID // this replica's identity, new at format and at replace
	Index      int
	Count      int // replicas in the set
	Geometry   Geometry
	Generation uint64 // replicas replaced so far
	// ReplacedAt[i] is the generation at which replica i was last replaced
	// (0: never).
	ReplacedAt []uint64
	Rebuilt    int64 // while Rebuilding: objects [0, Rebuilt) are copied
	Created    time.Time
	Journal    string // the set's journal, an absolute path
}

func (sb *Superblock) encode() []byte {
	b := make([]byte, superSize)
	le := binary.LittleEndian
	copy(b, formatMagic)
	le.PutUint32(b[8:], version)
	le.PutUint32(b[12:], uint32(sb.State))
	le.PutUint64(b[16:], sb.Sequence)
	copy(b[24:], sb.Set[:])
	copy(b[40:], sb.Replica[:])
	le.PutUint32(b[56:], uint32(sb.Index))
	le.PutUint32(b[60:], uint32(sb.Count))
	le.PutUint32(b[64:], uint32(sb.Geometry.ObjectSize))
	le.PutUint32(b[68:], uint32(sb.Geometry.VectorOffset))
	le.PutUint64(b[72:], uint64(sb.Geometry.Objects))
	le.PutUint64(b[80:], DataOffset)
	le.PutUint64(b[88:], sb.Generation)
	for i, g := range sb.ReplacedAt {
		le.PutUint64(b[replacedAt+8*i:], g)
	}
	le.PutUint64(b[104:], uint64(sb.Rebuilt))
	le.PutUint64(b[112:], uint64(sb.Created.UnixNano()))
	le.PutUint16(b[120:], uint16(len(sb.Journal)))
	copy(b[122:], sb.Journal)
	le.PutUint32(b[superSize-4:], crc32.Checksum(b[:superSize-4], castagnoli))
	return b
}

// errBlank: both copies are zero: never formatted (or wiped).
var errBlank = errors.New("blank")

func decodeSuper(b []byte) (*Superblock, error) {
	if len(b) != superSize {
		return nil, fmt.Errorf("superblock copy of %d bytes", len(b))
	}
	if allZero(b) {
		return nil, errBlank
	}
	le := binary.LittleEndian
	if string(b[:8]) != formatMagic {
		return nil, errors.New("no replica superblock (bad magic)")
	}
	if le.Uint32(b[superSize-4:]) != crc32.Checksum(b[:superSize-4], castagnoli) {
		return nil, errors.New("superblock checksum mismatch")
	}
	sb := &Superblock{
		Version:  le.Uint32(b[8:]),
		State:    State(le.Uint32(b[12:])),
		Sequence: le.Uint64(b[16:]),
		Index:    int(le.Uint32(b[56:])),
		Count:    int(le.Uint32(b[60:])),
		Geometry: Geometry{
			ObjectSize:   int(le.Uint32(b[64:])),
			VectorOffset: int(le.Uint32(b[68:])),
			Objects:      int64(le.Uint64(b[72:])),
		},
		Generation: le.Uint64(b[88:]),
		Rebuilt:    int64(le.Uint64(b[104:])),
		Created:    time.Unix(0, int64(le.Uint64(b[112:]))).UTC(),
	}
	copy(sb.Set[:], b[24:])
	copy(sb.Replica[:], b[40:])
	n := int(le.Uint16(b[120:]))
	switch {
	case sb.Version != version:
		return nil, fmt.Errorf("format version %d (this library reads %d)", sb.Version, version)
	case le.Uint64(b[80:]) != DataOffset:
		return nil, fmt.Errorf("data offset %d (expected %d)", le.Uint64(b[80:]), DataOffset)
	case n > maxJournal:
		return nil, fmt.Errorf("journal path of %d bytes", n)
	case sb.State > Rebuilding:
		return nil, fmt.Errorf("unknown state %d", sb.State)
	case sb.Count < 1 || sb.Count > kernel.SourcesMax || sb.Index >= sb.Count:
		return nil, fmt.Errorf("replica %d of %d", sb.Index, sb.Count)
	case sb.Rebuilt < 0 || sb.Rebuilt > sb.Geometry.Objects:
		return nil, fmt.Errorf("rebuilt %d of %d objects", sb.Rebuilt, sb.Geometry.Objects)
	}
	if err := sb.Geometry.Check(sb.Count); err != nil {
		return nil, err
	}
	sb.Journal = string(b[122 : 122+n])
	sb.ReplacedAt = make([]uint64, sb.Count)
	for i := range sb.ReplacedAt {
		if sb.ReplacedAt[i] = le.Uint64(b[replacedAt+8*i:]); sb.ReplacedAt[i] > sb.Generation {
			return nil, fmt.Errorf("replica %d replaced at generation %d, after the superblock's %d", i, sb.ReplacedAt[i], sb.Generation)
		}
	}
	return sb, nil
}

// readSuper reads both copies and returns the newest valid one and the slot
// it came from. A blank replica is errBlank; one valid copy is enough.
func readSuper(f device) (*Superblock, int, error) {
	buf := make([]byte, 2*superSize)
	if n, err := f.ReadAt(buf, 0); n < len(buf) {
		switch {
		case err != nil && !errors.Is(err, io.EOF):
			return nil, 0, err
		case allZero(buf[:n]):
			return nil, 0, errBlank
		}
		return nil, 0, fmt.Errorf("%d bytes: too short to hold a superblock", n)
	}
	var best *Superblock
	slot := 0
	var errs [2]error
	for i := range 2 {
		sb, err := decodeSuper(buf[i*superSize : (i+1)*superSize])
		errs[i] = err
		if err == nil && (best == nil || sb.Sequence > best.Sequence) {
			best, slot = sb, i
		}
	}
	if best != nil {
		return best, slot, nil
	}
	if errors.Is(errs[0], errBlank) && errors.Is(errs[1], errBlank) {
		return nil, 0, errBlank
	}
	if errors.Is(errs[0], errBlank) {
		return nil, 0, errs[1]
	}
	return nil, 0, errs[0]
}

// writeSuper writes sb (its Sequence one more than the copy on disk) into
// the other slot and syncs it.
func writeSuper(f device, sb *Superblock) error {
	if _, err := f.WriteAt(sb.encode(), int64(sb.Sequence%2)*superSize); err != nil {
		return err
	}
	return f.Sync()
}

// sameSet reports whether two superblocks describe replicas of one set at
// the same geometry.
func (sb *Superblock) sameSet(o *Superblock) bool {
	return sb.Set == o.Set && sb.Count == o.Count && sb.Geometry == o.Geometry
}

func allZero(b []byte) bool {
	return len(b) == 0 || (b[0] == 0 && bytes.Equal(b[1:], b[:len(b)-1]))
}

// Examine reads the superblock of one replica, without opening its set or
// locking anything: what `mdadm --examine` shows. A blank file is an error
// wrapping ErrNotFormatted.
func Examine(path string) (*Superblock, error) {
	f, _, err := openReplica(path, false, false)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sb, _, err := readSuper(osFile{f})
	switch {
	case errors.Is(err, errBlank):
		return nil, fmt.Errorf("%s: %w: blank, no superblock", path, ErrNotFormatted)
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotFormatted, err)
	}
	return sb, nil
}
