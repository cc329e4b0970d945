package replica_test

import (
	"bytes"
	"fmt"
	"sync"
	"testing"

	"github.com/lockstep/quorum/kernel"
	"github.com/lockstep/quorum/replica"
)

// vec is a vector with every byte of ID0 a and of ID1 b.
func vec(a, b byte) []byte {
	return append(bytes.Repeat([]byte{a}, 16), bytes.Repeat([]byte{b}, 16)...)
}

// setVectors gives object i of each replica the vector vs[k] and bytes of
// the letter of its state elsewhere, behind the set's back.
func setVectors(t *testing.T, paths []string, g replica.Geometry, i int64, vs ...[]byte) {
	t.Helper()
	for k, v := range vs {
		obj := bytes.Repeat(v[:1], g.ObjectSize)
		copy(obj[g.VectorOffset:], v)
		putObject(t, paths[k], g, i, obj)
	}
}

func TestReadDecides(t *testing.T) {
	paths, s := testSet(t, 3, 8, 64, 16)
	g := s.Geometry()
	setVectors(t, paths, g, 1, vec('B', 'A'), vec('C', 'B'), vec('B', 'A')) // one ran one more
	setVectors(t, paths, g, 2, vec('B', 'A'), vec('C', 'D'), vec('E', 'F')) // three forks
	setVectors(t, paths, g, 3, vec('A', 'A'), vec('B', 'A'), vec('B', 'A')) // cyclic
	setVectors(t, paths, g, 4, vec('B', 'A'), vec('B', 'C'), vec('B', 'A')) // conflict
	buf := make([]byte, 64)
	r, err := s.Read(1, buf)
	if err != nil || r.Leader != 1 || r.Length != 3 || r.Repair != 2 || buf[0] != 'C' {
		t.Fatalf("read 1: %+v %v %q", r, err, buf[:1])
	}
	prev := bytes.Clone(buf)
	_, err = s.Read(2, buf)
	wantErr(t, err, replica.ErrSplitBrain, "read of three strangers")
	if !bytes.Equal(buf, prev) {
		t.Fatal("a refused read wrote buf")
	}
	_, err = s.Read(3, buf)
	wantErr(t, err, replica.ErrCorrupt, "read of a cyclic object")
	wantErr(t, err, kernel.ErrCyclic, "read of a cyclic object")
	_, err = s.Read(4, buf)
	wantErr(t, err, kernel.ErrConflict, "read of a conflicting object")
	for _, c := range []struct {
		i   int64
		buf int
	}{{-1, 64}, {8, 64}, {0, 63}, {0, 65}} {
		_, err := s.Read(c.i, make([]byte, c.buf))
		wantErr(t, err, replica.ErrInvalid, fmt.Sprintf("Read(%d, [%d]byte)", c.i, c.buf))
	}
	// Two chains of one each out of two present: split-brain.
	s.Close()
	setVectors(t, paths, g, 5, vec('B', 'A'), vec('C', 'A'), vec('C', 'A'))
	setVectors(t, paths, g, 6, vec('B', 'A'), vec('B', 'A'), vec('X', 'Y'))
	s = open(t, paths, &replica.Options{Quorum: 3})
	_, err = s.Read(6, buf)
	wantErr(t, err, replica.ErrNoQuorum, "a chain of 2 where the quorum is 3")
	s.Close()
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	_, err = s.Read(5, buf)
	wantErr(t, err, replica.ErrSplitBrain, "read of a fork")
	// Degraded: two of three agree, still a quorum.
	if r, err := s.Read(0, buf); err != nil || r.Length != 2 {
		t.Fatalf("degraded read: %+v %v", r, err)
	}
}

func TestReadRange(t *testing.T) {
	paths, s := testSet(t, 3, 10, 64, 0)
	g := s.Geometry()
	for i := range int64(10) {
		mustWrite(t, s, i, fmt.Sprint(i))
	}
	setVectors(t, paths, g, 6, vec('B', 'A'), vec('C', 'D'), vec('E', 'F'))
	buf := make([]byte, 10*64)
	res := make([]kernel.Result, 10)
	err := s.ReadRange(0, 10, buf, res)
	wantErr(t, err, replica.ErrSplitBrain, "range with a forked object")
	for i := range 10 {
		obj := buf[i*64 : (i+1)*64]
		switch {
		case i == 6 && !bytes.Equal(obj, make([]byte, 64)):
			t.Fatalf("object 6 without quorum: %q", obj)
		case i != 6 && (obj[32] != fmt.Sprint(i)[0] || res[i].Length != 3):
			t.Fatalf("object %d: %q %+v", i, obj, res[i])
		}
	}
	wantErr(t, s.ReadRange(5, 6, make([]byte, 6*64), res), replica.ErrInvalid, "range past the end")
	wantErr(t, s.ReadRange(0, 10, buf, res[:9]), replica.ErrInvalid, "results too short")
}

func TestReadAllocs(t *testing.T) {
	_, s := testSet(t, 3, 8, 4096, 0)
	buf := make([]byte, 4096)
	s.Read(0, buf)
	if n := testing.AllocsPerRun(100, func() { s.Read(1, buf) }); n != 0 {
		t.Fatalf("Read allocates %.1f times", n)
	}
}

func TestReadRepair(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	s.Close()
	s = open(t, []string{paths[0], paths[1], ""}, nil)
	mustWrite(t, s, 2, "v")
	s.Close()
	s = open(t, paths, &replica.Options{ReadRepair: true})
	readTag(t, s, 2, "v")
	if r := readTag(t, s, 2, "v"); r.Repair != 0 || r.Length != 3 {
		t.Fatalf("after read repair: %+v", r)
	}
}

func TestWriteRefusedWithoutQuorum(t *testing.T) {
	paths, s := testSet(t, 3, 4, 64, 0)
	g := s.Geometry()
	s.Close()
	before := objectAt(t, paths[0], g, 1)
	s = open(t, []string{paths[0], "", ""}, nil)
	wantErr(t, s.Write(1, payload(64, "x")), replica.ErrNoQuorum, "write with one of three")
	wantErr(t, s.Write(1, payload(63, "x")), replica.ErrInvalid, "short data")
	wantErr(t, s.Write(4, payload(64, "x")), replica.ErrInvalid, "object past the end")
	if !bytes.Equal(objectAt(t, paths[0], g, 1), before) {
		t.Fatal("a refused write wrote")
	}
}

// A write over D/C C/B B/A B/A (the chain of four whose only link from D
// to B is the C/B replica) must write the B/A replicas first and the
// leader last: a crash after any prefix of its writes leaves a chain of
// four whose head is the old or the new state, never a fork.
func TestWriteOrderKeepsTheChain(t *testing.T) {
	for k := range 4 {
		paths, s := testSet(t, 4, 2, 64, 0)
		g := s.Geometry()
		s.Close()
		setVectors(t, paths, g, 1, vec('D', 'C'), vec('C', 'B'), vec('B', 'A'), vec('B', 'A'))
		s = open(t, paths, &replica.Options{NoGroupCommit: true})
		crashAt(t, s, "replica write", k+1, func() { s.Write(1, payload(64, "new")) })
		vs := make([][]byte, 4)
		for j, p := range paths {
			vs[j] = objectAt(t, p, g, 1)[:32]
		}
		r, err := kernel.Quorum(vs)
		if err != nil || r.Forked || r.Length != 4 {
			t.Fatalf("crash after %d of 4 writes: %+v %v", k, r, err)
		}
	}
}

func TestGroupCommitConcurrentWriters(t *testing.T) {
	paths, s := testSet(t, 3, 16, 512, 0)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for k := range 8 {
				obj := int64((w*8 + k) % 16) // writers collide on objects
				if err := s.Write(obj, payload(512, fmt.Sprintf("w%dk%d", w, k))); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	rep, _ := scan(t, s, replica.ScanOptions{VerifyData: true})
	if !rep.Clean() {
		t.Fatalf("after concurrent writes: %+v", rep.Counts)
	}
	s.Close()
	// Every replica holds the same bytes.
	g := s.Geometry()
	for i := range int64(16) {
		a := objectAt(t, paths[0], g, i)
		for _, p := range paths[1:] {
			if !bytes.Equal(a, objectAt(t, p, g, i)) {
				t.Fatalf("object %d differs", i)
			}
		}
	}
}
