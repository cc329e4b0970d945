package consensus

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// boltStore is raft's log and stable store in one bbolt file. It stands in
// for raft-boltdb/v2, which cannot be built beside raft v1.8.0: it imports
// go-metrics/compat, a package go-metrics v0.7.0 (which raft v1.8.0 and
// memberlist v0.7.0 require) no longer has. Every write is one bbolt
// transaction, fsynced on commit.
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
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("consensus: opening raft store %s: %w", path, err)
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
		if err := json.Unmarshal(v, log); err != nil {
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
			if err := b.Put(indexKey(l.Index), v); err != nil {
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
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStable).Put(key, val) })
}

// Get reads a stable value; a missing key is errKeyNotFound.
func (s *boltStore) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStable).Get(key)
		if v == nil {
			return errKeyNotFound
		}
		val = bytes.Clone(v)
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
