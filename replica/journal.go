package replica

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/lockstep/quorum/kernel"
)

// The journal: one file per set, at the absolute path every superblock
// records (Options.Journal at Create; beside the first replica by
// default), so that whichever path opens the set finds it. It holds at most
// one committed transaction at a time, and the transaction before it:
//
//	0     512  header, copy 0 \ the newer valid copy is the journal's state;
//	512   512  header, copy 1 / writing the older one cannot spoil the newer
//	4096  C    record area 0
//	4096+C C   record area 1
//
// A transaction (a Write, a group of them, or a batch of repairs) takes
// four steps: its record goes to the area the header does not name, synced;
// then the header names it, synced: the commit point; then the record's
// objects are written in place and the replicas synced; then the header
// marks it applied, synced. The next transaction takes the other area, so
// the committed record is never overwritten before its writes are durable.
// After a crash, Open replays the header's record unless it is marked
// applied (writing an object again is harmless), and a record the header
// does not name was never committed: its transaction wrote nothing in place
// and it is ignored. A committed record that fails its checksum was damaged
// after it was written: Open refuses to guess. (Three syncs of the journal
// per transaction, and one of each replica written: group commit shares
// them among concurrent writes.)
//
// Header (512 bytes):
//
//	0   8  magic "QRMJHDR1"
//	8   8  sequence: one more for every header write
//	16 16  set ID
//	32  8  area capacity C
//	40  8  committed record's sequence (0: none yet)
//	48  4  its area (0 or 1)
//	52  4  1 once its writes are in place and synced
//	56  8  its length
//	64  4  its CRC-32C
//	508 4  CRC-32C of bytes 0-507
//
// Record (in an area):
//
//	0   8  magic "QRMJREC1"
//	8   8  record sequence
//	16 16  set ID
//	32  8  generation of the set
//	40  4  replicas N
//	44  4  object size
//	48  4  entries E
//	52  4  kind: 1 a write, 2 a repair
//	56     N x 16: each replica's ID when the record was written
//	..     E x entry: object uint64, targets T uint32, zero uint32,
//	       T x (replica uint32, the vector it held before, 32 bytes),
//	       then the object's new bytes
//	..  4  CRC-32C of the record before it
//
// An entry's targets are in write order. The transaction writes round by
// round: every entry's first target, then every entry's second, and so on,
// so that for every object the replicas written so far are a prefix of its
// order (the order that never lets the quorum go backwards, see Write and
// Repair). Replay writes in the same order, and writes a target only if it
// still holds the vector the record found or already holds the new one: a
// replica at any other state means the record is stale (a journal restored
// from a backup) or the replica was written behind the set's back, and
// replay refuses before writing anything.
const (
	headerSize   = 512
	areaStart    = 4096
	recordHeader = 56
	entryHeader  = 16
	targetSize   = 4 + kernel.VectorSize
	headerMagic  = "QRMJHDR1"
	recordMagic  = "QRMJREC1"
	// DefaultJournalCapacity is each record area's size: a repair batch or a
	// group of writes larger than this is committed as several records.
	DefaultJournalCapacity = 8 << 20
)

// entry is one object a transaction writes.
type entry struct {
	object  int64
	data    []byte   // the object's new bytes, vector included
	targets []target // in write order
}

// target is one replica an entry writes and the vector it held before.
type target struct {
	replica int
	prior   [kernel.VectorSize]byte
}

// header is the journal's state.
type header struct {
	seq       uint64
	set       ID
	capacity  int64
	committed uint64
	area      int
	applied   bool
	length    int64
	crc       uint32
}

func (h *header) encode() []byte {
	b := make([]byte, headerSize)
	le := binary.LittleEndian
	copy(b, headerMagic)
	le.PutUint64(b[8:], h.seq)
	copy(b[16:], h.set[:])
	le.PutUint64(b[32:], uint64(h.capacity))
	le.PutUint64(b[40:], h.committed)
	le.PutUint32(b[48:], uint32(h.area))
	if h.applied {
		le.PutUint32(b[52:], 1)
	}
	le.PutUint64(b[56:], uint64(h.length))
	le.PutUint32(b[64:], h.crc)
	le.PutUint32(b[headerSize-4:], crc32.Checksum(b[:headerSize-4], castagnoli))
	return b
}

func decodeHeader(b []byte) (*header, error) {
	le := binary.LittleEndian
	if string(b[:8]) != headerMagic {
		return nil, errors.New("bad magic")
	}
	if le.Uint32(b[headerSize-4:]) != crc32.Checksum(b[:headerSize-4], castagnoli) {
		return nil, errors.New("checksum mismatch")
	}
	h := &header{
		seq:       le.Uint64(b[8:]),
		capacity:  int64(le.Uint64(b[32:])),
		committed: le.Uint64(b[40:]),
		area:      int(le.Uint32(b[48:])),
		applied:   le.Uint32(b[52:]) == 1,
		length:    int64(le.Uint64(b[56:])),
		crc:       le.Uint32(b[64:]),
	}
	copy(h.set[:], b[16:])
	if h.capacity < recordHeader+4 || h.capacity > 1<<40 || h.area > 1 || h.length < 0 || h.length > h.capacity {
		return nil, fmt.Errorf("capacity %d, area %d, record length %d", h.capacity, h.area, h.length)
	}
	return h, nil
}

// Record kinds, for reports.
const (
	kindWrite  = 1
	kindRepair = 2
)

// record is a decoded record.
type record struct {
	kind       uint32
	seq        uint64
	set        ID
	generation uint64
	replicas   []ID
	objectSize int
	entries    []entry
}

// encodeRecord appends the record of entries to buf[:0].
func encodeRecord(buf []byte, kind uint32, seq uint64, set ID, generation uint64, replicas []ID, objectSize int, entries []entry) []byte {
	le := binary.LittleEndian
	buf = append(buf[:0], recordMagic...)
	buf = le.AppendUint64(buf, seq)
	buf = append(buf, set[:]...)
	buf = le.AppendUint64(buf, generation)
	buf = le.AppendUint32(buf, uint32(len(replicas)))
	buf = le.AppendUint32(buf, uint32(objectSize))
	buf = le.AppendUint32(buf, uint32(len(entries)))
	buf = le.AppendUint32(buf, kind)
	for _, id := range replicas {
		buf = append(buf, id[:]...)
	}
	for _, e := range entries {
		buf = le.AppendUint64(buf, uint64(e.object))
		buf = le.AppendUint32(buf, uint32(len(e.targets)))
		buf = le.AppendUint32(buf, 0)
		for _, t := range e.targets {
			buf = le.AppendUint32(buf, uint32(t.replica))
			buf = append(buf, t.prior[:]...)
		}
		buf = append(buf, e.data...)
	}
	return le.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// recordSize is the encoded size of a record of the entries.
func recordSize(replicas, objectSize int, entries []entry) int64 {
	n := int64(recordHeader + replicas*16 + 4)
	for _, e := range entries {
		n += entrySize(objectSize, len(e.targets))
	}
	return n
}

func entrySize(objectSize, targets int) int64 {
	return int64(entryHeader + targets*targetSize + objectSize)
}

// decodeRecord parses a record whose checksum has been checked; data slices
// alias b. geo bounds every field.
func decodeRecord(b []byte, count int, geo Geometry) (*record, error) {
	le := binary.LittleEndian
	if len(b) < recordHeader+4 || string(b[:8]) != recordMagic {
		return nil, errors.New("not a record (bad magic)")
	}
	if le.Uint32(b[len(b)-4:]) != crc32.Checksum(b[:len(b)-4], castagnoli) {
		return nil, errors.New("record checksum mismatch")
	}
	r := &record{seq: le.Uint64(b[8:]), generation: le.Uint64(b[32:]), objectSize: int(le.Uint32(b[44:])), kind: le.Uint32(b[52:])}
	copy(r.set[:], b[16:])
	n, e := int(le.Uint32(b[40:])), int(le.Uint32(b[48:]))
	if n != count || r.objectSize != geo.ObjectSize {
		return nil, fmt.Errorf("record for %d replicas of %d-byte objects, the set has %d of %d", n, r.objectSize, count, geo.ObjectSize)
	}
	pos := recordHeader
	end := len(b) - 4
	if pos+16*n > end {
		return nil, errors.New("record shorter than its replica list")
	}
	for i := range n {
		r.replicas = append(r.replicas, ID(b[pos+16*i:pos+16*i+16]))
	}
	pos += 16 * n
	for i := range e {
		if pos+entryHeader > end {
			return nil, fmt.Errorf("entry %d of %d past the record's end", i, e)
		}
		en := entry{object: int64(le.Uint64(b[pos:]))}
		t := int(le.Uint32(b[pos+8:]))
		pos += entryHeader
		if en.object < 0 || en.object >= geo.Objects || t > n || int64(pos)+int64(t)*targetSize+int64(r.objectSize) > int64(end) {
			return nil, fmt.Errorf("entry %d: object %d, %d targets: outside the set or past the record's end", i, en.object, t)
		}
		for range t {
			tg := target{replica: int(le.Uint32(b[pos:]))}
			copy(tg.prior[:], b[pos+4:])
			if tg.replica >= n {
				return nil, fmt.Errorf("entry %d: replica %d of %d", i, tg.replica, n)
			}
			en.targets = append(en.targets, tg)
			pos += targetSize
		}
		en.data = b[pos : pos+r.objectSize]
		pos += r.objectSize
		r.entries = append(r.entries, en)
	}
	if pos != end {
		return nil, fmt.Errorf("%d bytes after the last entry", end-pos)
	}
	return r, nil
}

// journal is an open journal file.
type journal struct {
	path string
	file *os.File // what f wraps, for Stat
	f    device
	hdr  header // the newest valid header
	buf  []byte // encoded records
}

// readHeader reads the newest valid header copy. Two blank copies are a
// journal never written (errBlank); two bad ones are damage.
func (j *journal) readHeader() error {
	b := make([]byte, 2*headerSize)
	if _, err := j.f.ReadAt(b, 0); err != nil {
		return fmt.Errorf("%w: %s: reading the header: %v", ErrJournal, j.path, err)
	}
	var best *header
	var errs [2]error
	for i := range 2 {
		c := b[i*headerSize : (i+1)*headerSize]
		if allZero(c) {
			errs[i] = errBlank
			continue
		}
		h, err := decodeHeader(c)
		errs[i] = err
		if err == nil && (best == nil || h.seq > best.seq) {
			best = h
		}
	}
	switch {
	case best != nil:
		j.hdr = *best
		return nil
	case errors.Is(errs[0], errBlank) && errors.Is(errs[1], errBlank):
		return errBlank
	}
	return fmt.Errorf("%w: %w: %s: both header copies are damaged (%v; %v): the journal cannot be trusted", ErrJournal, errNoHeader, j.path, errs[0], errs[1])
}

// errNoHeader: no header copy is valid.
var errNoHeader = errors.New("no valid header")

// writeHeader makes h the journal's state: the older copy is overwritten,
// then synced.
func (j *journal) writeHeader(h header) error {
	h.seq = j.hdr.seq + 1
	if _, err := j.f.WriteAt(h.encode(), int64(h.seq%2)*headerSize); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%s: %w", j.path, err)
	}
	j.hdr = h
	return nil
}

func areaOffset(area int, capacity int64) int64 { return areaStart + int64(area)*capacity }

// committed reads the record the header names, or nil when there is none
// left to replay.
func (j *journal) committed(count int, geo Geometry) (*record, error) {
	h := j.hdr
	if h.committed == 0 || h.applied {
		return nil, nil
	}
	b := make([]byte, h.length)
	_, err := j.f.ReadAt(b, areaOffset(h.area, h.capacity))
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err == nil && crc32.Checksum(b, castagnoli) != h.crc {
		err = errors.New("checksum mismatch")
	}
	var r *record
	if err == nil {
		r, err = decodeRecord(b, count, geo)
	}
	if err == nil && (r.seq != h.committed || r.set != h.set) {
		err = fmt.Errorf("the area holds record %d of set %s", r.seq, r.set.Short())
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: committed record %d is damaged (%v). Its writes may have begun, so replaying nothing could leave torn objects that read as agreed, and a damaged record cannot be replayed. Keep the journal; read the set read-only and restore the objects of the last write from a backup",
			ErrJournal, j.path, h.committed, err)
	}
	return r, nil
}

// torn reports the sequence of an incomplete record in the area the header
// does not name: a transaction cut short before its commit point (it wrote
// nothing in place), or 0.
func (j *journal) torn() uint64 {
	h := j.hdr
	other := 1 - h.area
	if h.committed == 0 {
		other = 0 // the first record goes to area 0
	}
	b := make([]byte, 16)
	if _, err := j.f.ReadAt(b, areaOffset(other, h.capacity)); err != nil || string(b[:8]) != recordMagic {
		return 0
	}
	if seq := binary.LittleEndian.Uint64(b[8:]); seq == h.committed+1 {
		return seq
	}
	return 0
}
