package replica

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A raw set's journal also names the files it belongs to, since they carry
// no superblock: at 1024 in the journal, a block of the replicas' file
// identities (device and inode, so any path reaching a file matches), one
// per index, written when the journal is created.
//
//	0   8  magic "QRMJRAW1"
//	8   4  replicas N
//	12  4  zero
//	16     N x 8: replica i's identity (the first 8 bytes of its ID)
//	..  4  CRC-32C of the block before it
const (
	rawBlockAt    = 1024
	rawBlockMagic = "QRMJRAW1"
)

func encodeRawBlock(ids []ID) []byte {
	le := binary.LittleEndian
	b := append([]byte(nil), rawBlockMagic...)
	b = le.AppendUint32(b, uint32(len(ids)))
	b = le.AppendUint32(b, 0)
	for _, id := range ids {
		b = append(b, id[:8]...)
	}
	return le.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// checkRawBlock reads the journal's block and checks that every present
// replica is the file it names at its index.
func (s *Set) checkRawBlock(j *journal) error {
	b := make([]byte, 16+8*s.count+4)
	if _, err := j.f.ReadAt(b, rawBlockAt); err != nil {
		return fmt.Errorf("%w: %s: reading the raw identities: %v", ErrJournal, j.path, err)
	}
	le := binary.LittleEndian
	n := int(le.Uint32(b[8:]))
	switch {
	case string(b[:8]) != rawBlockMagic:
		return fmt.Errorf("%w: %s is not the journal of a raw set", ErrJournal, j.path)
	case n != s.count:
		return fmt.Errorf("%w: %s is the journal of a raw set of %d replicas, not %d", ErrJournal, j.path, n, s.count)
	case le.Uint32(b[len(b)-4:]) != crc32.Checksum(b[:len(b)-4], castagnoli):
		return fmt.Errorf("%w: %s: its raw identities fail their checksum", ErrJournal, j.path)
	}
	for i, m := range s.members {
		if m != nil && string(b[16+8*i:24+8*i]) != string(m.id[:8]) {
			return fmt.Errorf("%w: %s is the journal of other files: %s is not the file it names as replica %d (copied or replaced?)",
				ErrJournal, j.path, m.path, i)
		}
	}
	return nil
}

// rawIDs is every replica's ID for a new raw journal, which must name them
// all.
func (s *Set) rawIDs() ([]ID, error) {
	ids := s.replicaIDs()
	for i, m := range s.members {
		if m == nil {
			return nil, fmt.Errorf("%w: replica %d is missing: a raw set's journal is created with every replica present, to record which files they are", ErrInvalid, i)
		}
	}
	return ids, nil
}
