package consensus

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"runtime/debug"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// boltStore is raft's log and stable store in one bbolt file. It stands in
// for raft-boltdb/v2, which cannot be built beside raft v1.8.0: it imports
// go-metrics/compat, a package go-metrics v0.7.0 (which raft v1.8.0 and
// memberlist v0.7.0 require) no longer has. Every write is one bbolt
// transaction, fsynced on commit. bbolt checksums only its meta pages, so
// every value carries its own CRC-32C (a damaged entry that still decodes
// would otherwise be replayed as committed), and opening checks the file
// against the size its meta page records and walks its pages.
type boltStore struct {
	db *bolt.DB
}

var (
	bucketLogs   = []byte("logs")
	bucketStable = []byte("stable")
)

// errKeyNotFound is what raft expects from a StableStore for a missing
// key: it compares the message, "not found".
var errKeyNotFound = errors.New("not found")

// openBoltStore opens (creating if need be) the store at path.
func openBoltStore(path string) (*boltStore, error) {
	if err := preflightBolt(path); err != nil {
		return nil, fmt.Errorf("consensus: raft store %s is damaged: %w", path, err)
	}
	db, err := openBolt(path)
	if err != nil {
		return nil, fmt.Errorf("consensus: opening raft store %s: %w", path, err)
	}
	if err := checkBolt(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("consensus: raft store %s is damaged: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketLogs, bucketStable} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("consensus: preparing raft store %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

// openBolt is bolt.Open, with bbolt's panics on a damaged file (its
// freelist page, say) returned as errors.
func openBolt(path string) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, fmt.Errorf("damaged: %v", p)
		}
	}()
	return bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
}

// preflightBolt refuses a file shorter than either of its meta pages says
// it is, before bbolt maps it: reading the missing pages through the map
// would kill the process (SIGBUS), not return an error. A meta page is
// bbolt's page header (16 bytes), then magic, version, page size and
// flags (4 bytes each), the root bucket (16), the freelist page (8) and
// the high-water page number (8), in the machine's byte order.
func preflightBolt(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // a new store
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	const magic = 0xED0CDAED
	buf := make([]byte, 64)
	for _, off := range []int64{0, -1} {
		if off < 0 { // the second meta page, one page in
			off = int64(os.Getpagesize())
			if binary.NativeEndian.Uint32(buf[16:20]) == magic {
				off = int64(binary.NativeEndian.Uint32(buf[24:28]))
			}
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			return nil // too short for a meta page: bbolt says so itself
		}
		if binary.NativeEndian.Uint32(buf[16:20]) != magic {
			continue
		}
		pageSize := int64(binary.NativeEndian.Uint32(buf[24:28]))
		pages := int64(binary.NativeEndian.Uint64(buf[56:64]))
		if pageSize > 0 && pages > 0 && pages <= fi.Size() && pages*pageSize > fi.Size() {
			return fmt.Errorf("%d bytes, but a meta page records %d pages of %d", fi.Size(), pages, pageSize)
		}
	}
	return nil
}

// checkBolt refuses a file shorter than its meta page says and one whose
// pages or values do not check out: it reads every key and value of both
// buckets (every log entry must decode, at its own index), then writes
// each back in a transaction it rolls back, so that bbolt decodes every
// branch and leaf page as a later write would. All on this goroutine,
// with bbolt's panics on damaged pages, and memory faults, turned into
// errors (bbolt's own Tx.Check runs on a goroutine of its own, where a
// panic could not be caught).
func checkBolt(db *bolt.DB) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%v", p)
		}
	}()
	fi, err := os.Stat(db.Path())
	if err != nil {
		return err
	}
	if err := db.View(func(tx *bolt.Tx) error { return checkValues(tx, fi.Size()) }); err != nil {
		return err
	}
	tx, err := db.Begin(true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, name := range [][]byte{bucketLogs, bucketStable} {
		if b := tx.Bucket(name); b != nil {
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if err := b.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkValues is checkBolt's read pass.
func checkValues(tx *bolt.Tx, fileSize int64) error {
	if tx.Size() > fileSize {
		return fmt.Errorf("%d bytes, but its meta page records %d", fileSize, tx.Size())
	}
	for _, name := range [][]byte{bucketLogs, bucketStable} {
		b := tx.Bucket(name)
		if b == nil {
			continue // a new store: created below
		}
		err := b.ForEach(func(k, v []byte) error {
			body, err := unseal(v)
			if err != nil {
				return fmt.Errorf("%s %x: %w", name, k, err)
			}
			if !bytes.Equal(name, bucketLogs) {
				return nil
			}
			var l raft.Log
			if len(k) != 8 || json.Unmarshal(body, &l) != nil || l.Index != binary.BigEndian.Uint64(k) {
				return fmt.Errorf("raft log entry %x does not decode at its index", k)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// crcTable is CRC-32C, which most CPUs compute in hardware.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// seal prefixes a value with its CRC-32C.
func seal(body []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, crcTable)), body...)
}

// unseal returns a sealed value's body, or an error if it is damaged.
func unseal(v []byte) ([]byte, error) {
	if len(v) < 4 || binary.BigEndian.Uint32(v) != crc32.Checksum(v[4:], crcTable) {
		return nil, errors.New("checksum mismatch")
	}
	return v[4:], nil
}

// Close closes the file.
func (s *boltStore) Close() error { return s.db.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// FirstIndex returns the first index written, 0 for none.
func (s *boltStore) FirstIndex() (uint64, error) {
	var first uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().First(); k != nil {
			first = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return first, err
}

// LastIndex returns the last index written, 0 for none.
func (s *boltStore) LastIndex() (uint64, error) {
	var last uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().Last(); k != nil {
			last = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return last, err
}

// GetLog reads the entry at index into log.
func (s *boltStore) GetLog(index uint64, log *raft.Log) error {
	return s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLogs).Get(indexKey(index))
		if v == nil {
			return raft.ErrLogNotFound
		}
		body, err := unseal(v)
		if err == nil {
			err = json.Unmarshal(body, log)
		}
		if err == nil && log.Index != index {
			err = fmt.Errorf("it holds index %d", log.Index)
		}
		if err != nil {
			return fmt.Errorf("consensus: raft log entry %d is corrupt: %w", index, err)
		}
		return nil
	})
}

// StoreLog writes one entry.
func (s *boltStore) StoreLog(log *raft.Log) error { return s.StoreLogs([]*raft.Log{log}) }

// StoreLogs writes entries in one transaction.
func (s *boltStore) StoreLogs(logs []*raft.Log) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLogs)
		for _, l := range logs {
			v, err := json.Marshal(l)
			if err != nil {
				return fmt.Errorf("consensus: encoding raft log entry %d: %w", l.Index, err)
			}
			if err := b.Put(indexKey(l.Index), seal(v)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRange deletes the entries from min to max, both included.
func (s *boltStore) DeleteRange(min, max uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		maxKey := indexKey(max)
		for k, _ := c.Seek(indexKey(min)); k != nil && bytes.Compare(k, maxKey) <= 0; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Set stores a stable value.
func (s *boltStore) Set(key, val []byte) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStable).Put(key, seal(val)) })
}

// Get reads a stable value; a missing key is errKeyNotFound.
func (s *boltStore) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStable).Get(key)
		if v == nil {
			return errKeyNotFound
		}
		body, err := unseal(v)
		if err != nil {
			return fmt.Errorf("consensus: stable value %q is corrupt: %w", key, err)
		}
		val = bytes.Clone(body)
		return nil
	})
	return val, err
}

// SetUint64 stores a stable number.
func (s *boltStore) SetUint64(key []byte, val uint64) error { return s.Set(key, indexKey(val)) }

// GetUint64 reads a stable number.
func (s *boltStore) GetUint64(key []byte) (uint64, error) {
	v, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("consensus: stable value %q is corrupt: %d bytes, want 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
