package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
)

// The redo journal of a repair: <first replica>.quorum-journal, next to
// the first replica listed, while a repair runs. It holds one record: every
// object one batch is about to write, into which replica and at which
// offset, in the order the batch writes them. One record, one CRC: the
// batch's writes are committed all together or not at all. (A journal per
// replica would not do: a crash between two of them would replay some
// replicas' writes and not others', which can break the chain decide's
// write order protects; see decide.)
//
//	0   8  magic "QRMJRNL2"
//	8   8  sequence (batch number)
//	16  8  replica size in bytes
//	24  4  object size
//	28  4  replicas K
//	32  4  runs R
//	36  4  zero
//	40     K x (length uint32, absolute path): the replicas of the repair
//	..     R x (replica uint32, zero uint32, offset uint64, length uint64):
//	       whole objects, replica an index into the paths
//	..     the runs' bytes, concatenated
//	..  4  CRC-32C of everything before it
//
// All integers little-endian. A record whose CRC does not match was cut
// short by a crash while being written: its batch had written nothing in
// place yet (and the batch before was written and synced), so it is
// discarded.
const journalSuffix = ".quorum-journal"

var journalMagic = [8]byte{'Q', 'R', 'M', 'J', 'R', 'N', 'L', '2'}

const (
	journalHeader = 40
	journalRunLen = 24
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalRun is one contiguous run of whole objects to write into a replica.
type journalRun struct {
	replica int
	off     int64
	data    []byte
}

// journalRecord is a parsed record.
type journalRecord struct {
	seq         uint64
	replicaSize int64
	objectSize  int
	paths       []string
	runs        []journalRun
}

func (r *journalRecord) objects() int64 {
	var b int64
	for _, run := range r.runs {
		b += int64(len(run.data))
	}
	return b / int64(max(r.objectSize, 1))
}

// encodeJournal appends the record to buf[:0].
func encodeJournal(buf []byte, seq uint64, replicaSize int64, objectSize int, paths []string, runs []journalRun) []byte {
	le := binary.LittleEndian
	buf = append(buf[:0], journalMagic[:]...)
	buf = le.AppendUint64(buf, seq)
	buf = le.AppendUint64(buf, uint64(replicaSize))
	buf = le.AppendUint32(buf, uint32(objectSize))
	buf = le.AppendUint32(buf, uint32(len(paths)))
	buf = le.AppendUint32(buf, uint32(len(runs)))
	buf = le.AppendUint32(buf, 0)
	for _, p := range paths {
		buf = le.AppendUint32(buf, uint32(len(p)))
		buf = append(buf, p...)
	}
	for _, r := range runs {
		buf = le.AppendUint32(buf, uint32(r.replica))
		buf = le.AppendUint32(buf, 0)
		buf = le.AppendUint64(buf, uint64(r.off))
		buf = le.AppendUint64(buf, uint64(len(r.data)))
	}
	for _, r := range runs {
		buf = append(buf, r.data...)
	}
	return le.AppendUint32(buf, crc32.Checksum(buf, castagnoli))
}

// errTorn: the record is incomplete or damaged.
var errTorn = errors.New("incomplete record")

// decodeJournal parses a record; data slices alias b. errTorn means a crash
// cut it short (or it is empty); any other error means it is not a journal
// quorum can replay.
func decodeJournal(b []byte) (*journalRecord, error) {
	if len(b) >= 8 && [8]byte(b[:8]) != journalMagic && !allZero(b[:8]) {
		return nil, errors.New("not a quorum journal (bad magic)")
	}
	if len(b) < journalHeader+4 || [8]byte(b[:8]) != journalMagic {
		return nil, errTorn
	}
	// The CRC first: nothing else of a torn record can be trusted. The
	// record's end is found by parsing, with every length bounded by b.
	le := binary.LittleEndian
	rec := &journalRecord{seq: le.Uint64(b[8:]), replicaSize: int64(le.Uint64(b[16:])), objectSize: int(le.Uint32(b[24:]))}
	k, runs := int(le.Uint32(b[28:])), int(le.Uint32(b[32:]))
	pos := journalHeader
	if k > len(b) || runs > len(b)/journalRunLen {
		return nil, errTorn
	}
	for range k {
		if pos+4 > len(b) {
			return nil, errTorn
		}
		n := int(le.Uint32(b[pos:]))
		if n > len(b)-pos-4 {
			return nil, errTorn
		}
		rec.paths = append(rec.paths, string(b[pos+4:pos+4+n]))
		pos += 4 + n
	}
	if runs > (len(b)-pos)/journalRunLen {
		return nil, errTorn
	}
	table := pos
	pos += runs * journalRunLen
	data := pos
	for i := range runs {
		n := le.Uint64(b[table+journalRunLen*i+16:])
		if n > uint64(len(b)-pos) {
			return nil, errTorn
		}
		pos += int(n)
	}
	if pos+4 > len(b) || le.Uint32(b[pos:]) != crc32.Checksum(b[:pos], castagnoli) {
		return nil, errTorn
	}
	// A complete record: now it must make sense.
	if rec.objectSize < 1 || rec.replicaSize < 0 || k < 1 {
		return nil, fmt.Errorf("object size %d, replica size %d, %d replicas", rec.objectSize, rec.replicaSize, k)
	}
	for i := range runs {
		e := b[table+journalRunLen*i:]
		r := journalRun{replica: int(le.Uint32(e)), off: int64(le.Uint64(e[8:]))}
		n := int(le.Uint64(e[16:]))
		if r.replica >= k || r.off < 0 || r.off%int64(rec.objectSize) != 0 || n%rec.objectSize != 0 || r.off+int64(n) > rec.replicaSize {
			return nil, fmt.Errorf("run %d (%d bytes at %d of replica %d) is not whole objects inside a replica", i, n, r.off, r.replica)
		}
		r.data = b[data : data+n]
		data += n
		rec.runs = append(rec.runs, r)
	}
	return rec, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// journal writes a repair's records.
type journal struct {
	path  string
	paths []string // absolute paths of the replicas
	f     *os.File
	buf   []byte
}

// createJournal creates the journal next to the first replica and makes
// its directory entry durable, so that a record synced later is found
// after a power failure.
func createJournal(paths []string) (*journal, error) {
	j := &journal{path: paths[0] + journalSuffix}
	for _, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		j.paths = append(j.paths, abs)
	}
	f, err := os.OpenFile(j.path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syncDir(j.path); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %v", j.path, err)
	}
	j.f = f
	return j, nil
}

// write replaces the journal's record with one for runs and syncs it: when
// it returns, the runs can be written in place. The old record is for a
// batch already written and synced. A crash while this writes can leave a
// mix of the two records, which the CRC refuses.
func (j *journal) write(seq uint64, replicaSize int64, objectSize int, runs []journalRun, crash *crasher) error {
	j.buf = encodeJournal(j.buf, seq, replicaSize, objectSize, j.paths, runs)
	if crash.hit() {
		if crash.tear {
			j.f.WriteAt(j.buf[:len(j.buf)/2], 0)
		}
		die()
	}
	if _, err := j.f.WriteAt(j.buf, 0); err != nil {
		return fmt.Errorf("%s: %v", j.path, err)
	}
	crash.point()
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("%s: %v", j.path, err)
	}
	return nil
}

// remove deletes the journal once every batch is written and synced.
func (j *journal) remove(crash *crasher) error {
	j.f.Close()
	crash.point()
	if err := os.Remove(j.path); err != nil {
		return err
	}
	return syncDir(j.path)
}

// checkJournals finds the journal an interrupted repair left next to one
// of the replicas. With apply (the replicas open for writing and locked),
// it replays a complete record into the replicas it names, in its order,
// syncs them, and removes the journal; a torn record is removed. Without
// apply it only reports. A journal naming a replica that is not listed is
// an error for apply (the repair must be finished over the same replicas),
// and noted in the report otherwise.
func checkJournals(set *replicaSet, apply bool) ([]JournalInfo, error) {
	var infos []JournalInfo
	for i, p := range set.paths {
		path := p + journalSuffix
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("journal %s: %v", path, err)
		}
		if len(infos) > 0 {
			return nil, fmt.Errorf("two journals of interrupted repairs, %s and %s: quorum cannot tell which came last", infos[0].Path, path)
		}
		info := JournalInfo{Replica: i, Path: path, Action: "pending"}
		rec, err := decodeJournal(b)
		var targets []int // the replicas' indices in set, by the record's index
		switch {
		case errors.Is(err, errTorn):
		case err != nil:
			return nil, fmt.Errorf("journal %s: %v: refusing to guess; move it away only if you know its repair is void", path, err)
		default:
			info.Complete, info.Objects = true, rec.objects()
			if rec.replicaSize != set.size {
				return nil, fmt.Errorf("journal %s was written for replicas of %d bytes, these have %d", path, rec.replicaSize, set.size)
			}
			for _, rp := range rec.paths {
				k := set.index(rp)
				if k < 0 {
					msg := fmt.Sprintf("the interrupted repair also wrote %s: list the same replicas to finish it", rp)
					if apply {
						return nil, fmt.Errorf("journal %s: %s", path, msg)
					}
					info.Error = msg
				}
				targets = append(targets, k)
			}
		}
		if apply {
			if info.Complete {
				if err := replay(set, rec, targets); err != nil {
					return nil, fmt.Errorf("replaying %s: %v", path, err)
				}
				info.Action = "replayed"
			} else {
				info.Action = "discarded"
			}
			if err := os.Remove(path); err != nil {
				return nil, err
			}
			if err := syncDir(path); err != nil {
				return nil, err
			}
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// replay writes a record's runs in order and syncs the replicas written.
// It is idempotent: a crash during it leaves the journal for the next run.
func replay(set *replicaSet, rec *journalRecord, targets []int) error {
	written := make([]bool, len(set.files))
	for _, run := range rec.runs {
		t := targets[run.replica]
		if _, err := set.files[t].WriteAt(run.data, run.off); err != nil {
			return fmt.Errorf("%s: %v", set.paths[t], err)
		}
		written[t] = true
	}
	for t, w := range written {
		if w {
			if err := set.files[t].Sync(); err != nil {
				return fmt.Errorf("%s: %v", set.paths[t], err)
			}
		}
	}
	return nil
}

// refuseJournals is for init and write: a pending journal must be replayed
// by repair --apply before anything else writes the replicas.
func refuseJournals(paths []string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p + journalSuffix); err == nil {
			return fmt.Errorf("%s%s exists: an interrupted repair; run quorum repair --apply on the replicas first", p, journalSuffix)
		}
	}
	return nil
}
