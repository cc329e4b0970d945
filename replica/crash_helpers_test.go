package replica

// Shared by the crash, power-loss and fault tests (crash_test.go,
// power_test.go, fault_test.go): seeds, deterministic object contents,
// crafted sets whose objects lag, stand outside their chain or have no
// quorum, snapshots of a set's files, and the checks every test runs after
// a crash: every object is its old or its new bytes, every acknowledged
// write is there, and no quorum goes backwards.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

const (
	// crashSeedEnv changes the base seed of every random crash test
	// (default 1); each round's seed is printed in its subtest's name.
	crashSeedEnv = "QUORUM_CRASH_SEED"
	// crashRoundsEnv sets how many rounds every random crash test runs.
	crashRoundsEnv = "QUORUM_CRASH_ROUNDS"
)

func crashBaseSeed(t testing.TB) int64 {
	s := os.Getenv(crashSeedEnv)
	if s == "" {
		return 1
	}
	v, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", crashSeedEnv, s, err)
	}
	return v
}

// crashRounds is normal rounds, short with -short, or QUORUM_CRASH_ROUNDS.
func crashRounds(t testing.TB, normal, short int) int {
	if s := os.Getenv(crashRoundsEnv); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			t.Fatalf("%s=%q: want a positive count", crashRoundsEnv, s)
		}
		return v
	}
	if testing.Short() {
		return short
	}
	return normal
}

// crashMix is splitmix64.
func crashMix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// crashFill fills b with a stream determined by the two keys.
func crashFill(b []byte, k1, k2 uint64) {
	x := crashMix(k1) ^ crashMix(k2+0x1234567)
	var w [8]byte
	for i := 0; i < len(b); i += 8 {
		x = crashMix(x)
		binary.LittleEndian.PutUint64(w[:], x)
		copy(b[i:], w[:])
	}
}

// crashNewID is a random non-zero ID from rng.
func crashNewID(rng *rand.Rand) ID {
	var id ID
	for allZero(id[:]) {
		rng.Read(id[:])
	}
	return id
}

// crashVector is ID0 then ID1.
type crashVector struct{ id0, id1 ID }

func (v crashVector) bytes() []byte { return append(append([]byte(nil), v.id0[:]...), v.id1[:]...) }

// crashObject is object i's bytes at state v: content determined by the
// object and its state, so that replicas at one state hold the same bytes.
func crashObject(geo Geometry, i int64, v crashVector) []byte {
	b := make([]byte, geo.ObjectSize)
	crashFill(b, uint64(i), binary.LittleEndian.Uint64(v.id0[:8]))
	copy(b[geo.VectorOffset:], v.bytes())
	return b
}

// crashSnap is the bytes of every regular file of a directory, by name.
type crashSnap map[string][]byte

func crashSnapshot(t testing.TB, dir string) crashSnap {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	snap := crashSnap{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		snap[e.Name()] = b
	}
	return snap
}

// crashRestore makes dir hold exactly the files of snap, rewriting files
// in place (a raw set's identity is its files' inodes).
func crashRestore(t testing.TB, dir string, snap crashSnap) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, keep := snap[e.Name()]; e.Type().IsRegular() && !keep {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, b := range snap {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// crashLayout is where a test set lives. Its directory keeps its path for
// the whole test (superblocks record the journal's absolute path), and is
// restored from snapshots between rounds.
type crashLayout struct {
	dir   string
	paths []string // as the operation opens them
	geo   Geometry
	batch int    // Scan's or Rebuild's BatchBytes
	raw   string // for a raw set (OpenRaw), its journal
}

// open opens the set at paths (Open, or OpenRaw for a raw set).
func (l *crashLayout) open(paths []string, o *Options) (*Set, error) {
	if l.raw != "" {
		c := Options{}
		if o != nil {
			c = *o
		}
		c.Journal = l.raw
		return OpenRaw(paths, l.geo, &c)
	}
	return Open(paths, o)
}

func (l *crashLayout) objectAt(snap crashSnap, r int, i int64) []byte {
	b := snap[filepath.Base(l.paths[r])]
	off := DataOffset + i*int64(l.geo.ObjectSize)
	if l.raw != "" {
		off = i * int64(l.geo.ObjectSize)
	}
	if int64(len(b)) < off+int64(l.geo.ObjectSize) {
		return nil
	}
	return b[off : off+int64(l.geo.ObjectSize)]
}

// crashWriteObjects writes objects straight into a replica file, behind the
// set's back, to craft states the library would reach only through many
// partial writes.
func crashWriteObjects(t testing.TB, path string, objs map[int64][]byte, osz int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i, b := range objs {
		if _, err := f.WriteAt(b, DataOffset+i*int64(osz)); err != nil {
			t.Fatal(err)
		}
	}
}

// crashDiskQuorum decides object i from the vectors in the snapshot's
// replica files, as the kernel would with every replica voting and no
// journal: the leader's vector and the chain's length.
func (l *crashLayout) crashDiskQuorum(snap crashSnap, i int64) ([]byte, int, error) {
	vo := l.geo.VectorOffset
	vecs := make([][]byte, len(l.paths))
	for r := range l.paths {
		vecs[r] = l.objectAt(snap, r, i)[vo : vo+kernel.VectorSize]
	}
	res, err := kernel.Quorum(vecs)
	if err != nil {
		return nil, 0, err
	}
	if res.Forked {
		return nil, 0, ErrSplitBrain
	}
	return vecs[res.Leader], int(res.Length), nil
}

// crashExpect is what Read must return for every object: its bytes, or
// for an object without quorum the error.
type crashExpect struct {
	want    [][]byte
	wantErr []error
}

func (e *crashExpect) add(b []byte, err error) {
	e.want = append(e.want, b)
	e.wantErr = append(e.wantErr, err)
}

// check reads every object with Read and with ReadRange.
func (e *crashExpect) check(t testing.TB, s *Set, stage string) {
	t.Helper()
	geo := s.Geometry()
	buf := make([]byte, geo.ObjectSize)
	bad := 0
	for i := range geo.Objects {
		_, err := s.Read(i, buf)
		switch {
		case e.want[i] != nil && err != nil:
			t.Errorf("%s: object %d: Read: %v, want its bytes", stage, i, err)
		case e.want[i] != nil && !bytes.Equal(buf, e.want[i]):
			t.Errorf("%s: object %d: Read returned other bytes than the quorum's (vector %x, want %x)", stage, i,
				buf[geo.VectorOffset:geo.VectorOffset+kernel.VectorSize], e.want[i][geo.VectorOffset:geo.VectorOffset+kernel.VectorSize])
		case e.want[i] == nil && !errors.Is(err, e.wantErr[i]):
			t.Errorf("%s: object %d: Read: %v, want an error wrapping %v", stage, i, err, e.wantErr[i])
		default:
			continue
		}
		if bad++; bad > 10 {
			t.Fatalf("%s: too many bad objects", stage)
		}
	}
	all := make([]byte, int(geo.Objects)*geo.ObjectSize)
	res := make([]kernel.Result, geo.Objects)
	err := s.ReadRange(0, int(geo.Objects), all, res)
	anyBad := false
	for i := range geo.Objects {
		got := all[i*int64(geo.ObjectSize) : (i+1)*int64(geo.ObjectSize)]
		if e.want[i] == nil {
			anyBad = true
			if !allZero(got) {
				t.Errorf("%s: ReadRange: object %d has no quorum but is not zero-filled", stage, i)
			}
		} else if !bytes.Equal(got, e.want[i]) {
			t.Errorf("%s: ReadRange: object %d differs from the quorum's bytes", stage, i)
		}
	}
	if anyBad != (err != nil) {
		t.Errorf("%s: ReadRange: error %v, objects without quorum: %v", stage, err, anyBad)
	}
}

// checkReadOnly opens the set read-only, before anything replays the
// journal, and checks that every object's quorum is still at its state:
// the vector Read returns is the quorum's (a copy torn by the crash may
// have the new vector and old bytes elsewhere; a read-only open does not
// replay, so only the vector is compared here), and no object lost its
// quorum.
func (e *crashExpect) checkReadOnly(t testing.TB, l *crashLayout, stage string) {
	t.Helper()
	s, err := l.open(l.paths, &Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("%s: read-only open: %v", stage, err)
	}
	defer s.Close()
	geo := s.Geometry()
	vo := geo.VectorOffset
	buf := make([]byte, geo.ObjectSize)
	for i := range geo.Objects {
		_, err := s.Read(i, buf)
		switch {
		case e.want[i] == nil && !errors.Is(err, e.wantErr[i]):
			t.Fatalf("%s: read-only, before the replay: object %d: Read: %v, want an error wrapping %v", stage, i, err, e.wantErr[i])
		case e.want[i] == nil:
		case err != nil:
			t.Fatalf("%s: read-only, before the replay: object %d lost its quorum: %v", stage, i, err)
		case !bytes.Equal(buf[vo:vo+kernel.VectorSize], e.want[i][vo:vo+kernel.VectorSize]):
			t.Fatalf("%s: read-only, before the replay: object %d reads at vector %x, its quorum's is %x: the quorum moved", stage, i,
				buf[vo:vo+kernel.VectorSize], e.want[i][vo:vo+kernel.VectorSize])
		}
	}
}

// crashRepairModel is a set of many objects that lag, stand outside their
// chain, or cannot be repaired, and what a Scan with Repair must make of
// it.
type crashRepairModel struct {
	crashLayout
	tmpl, ref    crashSnap // the files before and after an uninterrupted repair
	crashExpect            // Read's answers, before, during and after the repair
	unrepairable int64     // objects Repair must leave alone
	points       int       // crash points an uninterrupted repair passes
	ops          int       // device writes and syncs it makes
	// prefix: crashes keep a prefix of the writes (kill -9, not a power
	// failure), so the files alone, journal aside, must hold every
	// object's quorum at its state (Repair's order: farthest behind first).
	prefix bool
}

// crashBuildRepair formats n replicas in dir and crafts every object into
// a random state: agreed, lagging by one or two writes, with replicas
// outside the chain, split-brain, without quorum, or cyclic.
func crashBuildRepair(t testing.TB, dir string, seed int64, n int, objects int64) *crashRepairModel {
	t.Helper()
	m := &crashRepairModel{crashLayout: crashLayout{dir: dir, geo: Geometry{ObjectSize: 1024, VectorOffset: 64, Objects: objects}, batch: 24 << 10}}
	for r := range n {
		m.paths = append(m.paths, filepath.Join(dir, fmt.Sprintf("r%d", r)))
	}
	s, err := Create(m.paths, m.geo, &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	objs := make([]map[int64][]byte, n)
	for r := range objs {
		objs[r] = map[int64][]byte{}
	}
	need := majority(n)
	for i := range objects {
		ids := [4]ID{crashNewID(rng), crashNewID(rng), crashNewID(rng), crashNewID(rng)}
		v := [4]crashVector{{ids[0], crashNewID(rng)}, {ids[1], ids[0]}, {ids[2], ids[1]}, {ids[3], ids[2]}}
		fresh := func() crashVector { return crashVector{crashNewID(rng), crashNewID(rng)} }
		st := make([]crashVector, n)
		perm := rng.Perm(n)
		head, expErr := -1, error(nil)
		switch k := rng.Intn(20); {
		case k < 4: // agreed
			for r := range st {
				st[r] = v[1]
			}
			head = 1
		case k < 8: // one replica or two lag one write
			for j, r := range perm {
				st[r] = v[2]
				if j <= rng.Intn(2) {
					st[r] = v[1]
				}
			}
			head = 2
		case k < 12: // lagging one and two writes (a replica at the middle state links the chain)
			for j, r := range perm {
				switch j {
				case 0, 1, 2:
					st[r] = v[3-j]
				default:
					st[r] = v[1+rng.Intn(3)]
				}
			}
			head = 3
		case k < 16: // outside the chain (each its own state), the rest lag or not
			out := 1 + rng.Intn(n-need)
			for j, r := range perm {
				switch {
				case j < out:
					st[r] = fresh()
				case j == out:
					st[r] = v[2]
				default:
					st[r] = v[1+rng.Intn(2)]
				}
			}
			head = 2
		case k < 18: // split-brain: two forks of one state, as long
			half := n / 2
			for j, r := range perm {
				switch {
				case j < half:
					st[r] = v[1]
				case j < 2*half:
					st[r] = crashVector{ids[3], ids[0]}
				default:
					st[r] = fresh()
				}
			}
			expErr = ErrSplitBrain
		case k == 18: // no quorum: the longest chain is one short
			for j, r := range perm {
				st[r] = fresh()
				if j < need-1 {
					st[r] = v[1]
				}
			}
			expErr = ErrNoQuorum
			if need-1 <= 1 && n-need+1 > 1 {
				// Chains of one everywhere tie.
				expErr = ErrSplitBrain
			}
		default: // cyclic
			for _, r := range perm {
				st[r] = v[1]
			}
			st[perm[0]] = crashVector{ids[2], ids[2]}
			expErr = ErrCorrupt
		}
		for r := range st {
			objs[r][i] = crashObject(m.geo, i, st[r])
		}
		if head >= 0 {
			m.add(crashObject(m.geo, i, v[head]), nil)
		} else {
			m.add(nil, expErr)
			m.unrepairable++
		}
	}
	for r, p := range m.paths {
		crashWriteObjects(t, p, objs[r], m.geo.ObjectSize)
	}
	m.tmpl = crashSnapshot(t, dir)
	return m
}

// crashRepair opens the set and repairs it.
func crashRepair(l *crashLayout) error {
	s, err := Open(l.paths, nil)
	if err != nil {
		return err
	}
	_, err = s.Scan(context.Background(), ScanOptions{Repair: true, BatchBytes: l.batch})
	return errors.Join(err, s.Close())
}

// reference runs an uninterrupted repair of the template: the files it
// leaves, the crash points it passes and the device operations it makes.
func (m *crashRepairModel) reference(t testing.TB) {
	t.Helper()
	crashRestore(t, m.dir, m.tmpl)
	m.points = crashCountPoints(t, func() error { return crashRepair(&m.crashLayout) })
	m.ref = crashSnapshot(t, m.dir)
	crashRestore(t, m.dir, m.tmpl)
	m.ops = powerCountOps(t, func() error { return crashRepair(&m.crashLayout) })
	if got := crashSnapshot(t, m.dir); !crashSameReplicas(&m.crashLayout, got, m.ref) {
		t.Fatal("two uninterrupted repairs of one template left different replicas")
	}
	for r := range m.paths {
		for i := range m.geo.Objects {
			if m.want[i] == nil && !bytes.Equal(m.objectAt(m.tmpl, r, i), m.objectAt(m.ref, r, i)) {
				t.Fatalf("uninterrupted repair wrote object %d of replica %d, which has no quorum", i, r)
			}
			if m.want[i] != nil && !bytes.Equal(m.objectAt(m.ref, r, i), m.want[i]) {
				t.Fatalf("uninterrupted repair left object %d of replica %d off its quorum's bytes", i, r)
			}
		}
	}
	if m.points == 0 || m.ops == 0 {
		t.Fatalf("the repair passed %d crash points and made %d device operations", m.points, m.ops)
	}
}

// check opens the set after a crash (Open replays the journal) and checks
// that every replica's every object is its old or its new bytes and that
// every object reads as its quorum's, as before the repair.
func (m *crashRepairModel) check(t testing.TB, stage string) {
	t.Helper()
	if m.prefix {
		snap := crashSnapshot(t, m.dir)
		vo := m.geo.VectorOffset
		for i := range m.geo.Objects {
			if m.want[i] == nil {
				continue
			}
			vec, length, err := m.crashDiskQuorum(snap, i)
			if err != nil || length < majority(len(m.paths)) || !bytes.Equal(vec, m.want[i][vo:vo+kernel.VectorSize]) {
				t.Fatalf("%s: in the files, before any replay: object %d decides as %x with a chain of %d (%v), its quorum's state is %x: the repair's order let the quorum move",
					stage, i, vec, length, err, m.want[i][vo:vo+kernel.VectorSize])
			}
		}
	}
	m.checkReadOnly(t, &m.crashLayout, stage)
	s, err := Open(m.paths, nil)
	if err != nil {
		t.Fatalf("%s: reopening: %v", stage, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", stage, err)
		}
	}()
	now := crashSnapshot(t, m.dir)
	for r := range m.paths {
		for i := range m.geo.Objects {
			got := m.objectAt(now, r, i)
			if !bytes.Equal(got, m.objectAt(m.tmpl, r, i)) && !bytes.Equal(got, m.objectAt(m.ref, r, i)) {
				t.Fatalf("%s: replica %d object %d is neither its old nor its new bytes (vector %x)", stage, r, i,
					got[m.geo.VectorOffset:m.geo.VectorOffset+kernel.VectorSize])
			}
		}
	}
	m.crashExpect.check(t, s, stage)
	rep, err := s.Scan(context.Background(), ScanOptions{VerifyData: true})
	if err != nil {
		t.Fatalf("%s: Scan: %v", stage, err)
	}
	if rep.Unrepairable() != m.unrepairable || rep.Counts[Pending] != 0 {
		t.Errorf("%s: Scan counts %v: want %d unrepairable and nothing pending", stage, rep.Counts, m.unrepairable)
	}
}

// crashSameReplicas compares the replica files of two snapshots.
func crashSameReplicas(l *crashLayout, a, b crashSnap) bool {
	for _, p := range l.paths {
		if !bytes.Equal(a[filepath.Base(p)], b[filepath.Base(p)]) {
			return false
		}
	}
	return true
}

// finish checks that a repair continued to completion left the replicas
// byte for byte as an uninterrupted one.
func (m *crashRepairModel) finish(t testing.TB, stage string) {
	t.Helper()
	now := crashSnapshot(t, m.dir)
	for r, p := range m.paths {
		if bytes.Equal(now[filepath.Base(p)], m.ref[filepath.Base(p)]) {
			continue
		}
		for i := range m.geo.Objects {
			if !bytes.Equal(m.objectAt(now, r, i), m.objectAt(m.ref, r, i)) {
				t.Errorf("%s: replica %d object %d differs from an uninterrupted repair's", stage, r, i)
			}
		}
		t.Fatalf("%s: replica %d differs from an uninterrupted repair's", stage, r)
	}
}

// crashRebuildModel is a set whose replica 1 was replaced by a blank file,
// to be rebuilt from replicas 0 and 2; some objects have no quorum there.
type crashRebuildModel struct {
	crashLayout
	tmpl, ref crashSnap
	crashExpect
	unquorate []bool
	points    int
	ops       int
}

func crashBuildRebuild(t testing.TB, dir string, seed int64, objects int64) *crashRebuildModel {
	t.Helper()
	geo := Geometry{ObjectSize: 1024, VectorOffset: 0, Objects: objects}
	m := &crashRebuildModel{crashLayout: crashLayout{dir: dir, geo: geo, batch: 8 << 10}}
	old := []string{filepath.Join(dir, "r0"), filepath.Join(dir, "r1"), filepath.Join(dir, "r2")}
	m.paths = []string{old[0], filepath.Join(dir, "r1new"), old[2]}
	s, err := Create(old, geo, &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(seed))
	objs := []map[int64][]byte{{}, nil, {}}
	for i := range objects {
		a, b, c := crashNewID(rng), crashNewID(rng), crashNewID(rng)
		v1, v2 := crashVector{b, a}, crashVector{c, b}
		var s0, s2 crashVector
		var head *crashVector
		var expErr error
		switch k := rng.Intn(10); {
		case k < 5:
			s0, s2, head = v1, v1, &v1
		case k < 8:
			s0, s2, head = v2, v1, &v2
			if k == 7 {
				s0, s2 = v1, v2
			}
		case k == 8:
			s0, s2, expErr = v1, crashVector{c, a}, ErrSplitBrain
		default:
			s0, s2, expErr = crashVector{a, a}, v1, ErrCorrupt
		}
		objs[0][i], objs[2][i] = crashObject(geo, i, s0), crashObject(geo, i, s2)
		if head != nil {
			m.add(crashObject(geo, i, *head), nil)
		} else {
			m.add(nil, expErr)
		}
		m.unquorate = append(m.unquorate, head == nil)
	}
	for _, r := range []int{0, 2} {
		crashWriteObjects(t, old[r], objs[r], geo.ObjectSize)
	}
	s, err = Open([]string{old[0], "", old[2]}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Replace(1, m.paths[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(old[1]); err != nil {
		t.Fatal(err)
	}
	m.tmpl = crashSnapshot(t, dir)
	return m
}

// crashRebuild opens the set and rebuilds its new replica.
func crashRebuild(l *crashLayout) error {
	s, err := Open(l.paths, nil)
	if err != nil {
		return err
	}
	_, err = s.Rebuild(context.Background(), RebuildOptions{BatchBytes: l.batch})
	return errors.Join(err, s.Close())
}

func (m *crashRebuildModel) reference(t testing.TB) {
	t.Helper()
	crashRestore(t, m.dir, m.tmpl)
	m.points = crashCountPoints(t, func() error { return crashRebuild(&m.crashLayout) })
	m.ref = crashSnapshot(t, m.dir)
	crashRestore(t, m.dir, m.tmpl)
	m.ops = powerCountOps(t, func() error { return crashRebuild(&m.crashLayout) })
	m.compareNew(t, "a second uninterrupted rebuild", crashSnapshot(t, m.dir), m.geo.Objects, true)
	sb, err := Examine(m.paths[1])
	if err != nil || sb.State != Active {
		t.Fatalf("after an uninterrupted rebuild the new replica is %v (%v)", sb, err)
	}
}

// compareNew compares the new replica's first upto objects in snap with the
// reference rebuild's (and its superblocks too when whole): byte for byte,
// except the vectors of objects without quorum, which must be fresh.
func (m *crashRebuildModel) compareNew(t testing.TB, stage string, snap crashSnap, upto int64, whole bool) {
	t.Helper()
	got, want := snap[filepath.Base(m.paths[1])], m.ref[filepath.Base(m.paths[1])]
	if whole && (len(got) != len(want) || !bytes.Equal(got[:DataOffset], want[:DataOffset])) {
		t.Fatalf("%s: the new replica's superblocks differ from an uninterrupted rebuild's", stage)
	}
	vo := m.geo.VectorOffset
	for i := range upto {
		g, w := m.objectAt(snap, 1, i), m.objectAt(m.ref, 1, i)
		if !m.unquorate[i] {
			if !bytes.Equal(g, w) {
				t.Fatalf("%s: new replica object %d differs from an uninterrupted rebuild's", stage, i)
			}
			continue
		}
		vec := append([]byte(nil), g[vo:vo+kernel.VectorSize]...)
		clear(g[vo : vo+kernel.VectorSize])
		zero := allZero(g)
		copy(g[vo:], vec)
		if !zero {
			t.Fatalf("%s: new replica object %d has no quorum but holds bytes besides its vector", stage, i)
		}
		id0, id1 := vec[:kernel.IDSize], vec[kernel.IDSize:]
		if allZero(id0) || allZero(id1) || bytes.Equal(id0, id1) {
			t.Fatalf("%s: new replica object %d has no quorum and vector %x", stage, i, vec)
		}
		for _, r := range []int{0, 2} {
			o := m.objectAt(m.tmpl, r, i)[vo:]
			for _, id := range [][]byte{o[:kernel.IDSize], o[kernel.IDSize:kernel.VectorSize]} {
				if bytes.Equal(id0, id) || bytes.Equal(id1, id) {
					t.Fatalf("%s: new replica object %d has no quorum but its vector %x shares an ID with replica %d's", stage, i, vec, r)
				}
			}
		}
	}
}

// check opens the set after a crash: replicas 0 and 2 are untouched, the
// new replica's copied objects are the reference's, and every object reads
// as before.
func (m *crashRebuildModel) check(t testing.TB, stage string) {
	t.Helper()
	m.checkReadOnly(t, &m.crashLayout, stage)
	s, err := Open(m.paths, nil)
	if err != nil {
		t.Fatalf("%s: reopening: %v", stage, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", stage, err)
		}
	}()
	st, rebuilt, ok := s.State(1)
	if !ok {
		t.Fatalf("%s: replica 1 missing", stage)
	}
	upto := rebuilt
	if st == Active {
		upto = m.geo.Objects
	}
	now := crashSnapshot(t, m.dir)
	for _, r := range []int{0, 2} {
		if !bytes.Equal(now[filepath.Base(m.paths[r])], m.tmpl[filepath.Base(m.paths[r])]) {
			t.Fatalf("%s: replica %d, a source of the rebuild, changed", stage, r)
		}
	}
	m.compareNew(t, stage, now, upto, false)
	m.crashExpect.check(t, s, stage)
}

func (m *crashRebuildModel) finish(t testing.TB, stage string) {
	t.Helper()
	now := crashSnapshot(t, m.dir)
	for _, r := range []int{0, 2} {
		if !bytes.Equal(now[filepath.Base(m.paths[r])], m.ref[filepath.Base(m.paths[r])]) {
			t.Fatalf("%s: replica %d differs from an uninterrupted rebuild's", stage, r)
		}
	}
	m.compareNew(t, stage, now, m.geo.Objects, true)
	sb, err := Examine(m.paths[1])
	if err != nil || sb.State != Active || sb.Rebuilt != m.geo.Objects {
		t.Fatalf("%s: the new replica's superblock: %+v (%v)", stage, sb, err)
	}
}

// crashCountPoints runs f with a hook counting the crash points it passes.
func crashCountPoints(t testing.TB, f func() error) int {
	t.Helper()
	var n atomic.Int64
	SetTestHook(func(string) { n.Add(1) })
	defer SetTestHook(nil)
	if err := f(); err != nil {
		t.Fatal(err)
	}
	return int(n.Load())
}

// Write streams: version v of object o is a payload naming both (v 0 is the
// zero bytes a new set holds), so that a read tells which write it sees and
// whether it is torn.

const crashKeyAt = kernel.VectorSize // with VectorOffset 0: right after the vector

func crashPayload(geo Geometry, o int64, v uint64) []byte {
	b := make([]byte, geo.ObjectSize)
	if v == 0 {
		return b
	}
	crashFill(b, uint64(o)^0xabcdef, v)
	clear(b[geo.VectorOffset : geo.VectorOffset+kernel.VectorSize])
	binary.LittleEndian.PutUint64(b[crashKeyAt:], uint64(o))
	binary.LittleEndian.PutUint64(b[crashKeyAt+8:], v)
	return b
}

// crashVersion tells which version of object o the bytes b are, or an
// error when they are none (torn, or another object's).
func crashVersion(geo Geometry, o int64, b []byte) (uint64, error) {
	v := binary.LittleEndian.Uint64(b[crashKeyAt+8:])
	want := crashPayload(geo, o, v)
	vo := geo.VectorOffset
	if !bytes.Equal(b[:vo], want[:vo]) || !bytes.Equal(b[vo+kernel.VectorSize:], want[vo+kernel.VectorSize:]) {
		return 0, fmt.Errorf("the bytes are no version of object %d (they name object %d version %d): torn or misplaced",
			o, binary.LittleEndian.Uint64(b[crashKeyAt:]), v)
	}
	return v, nil
}

// crashWriteModel is a set taking a stream of writes, and what each object
// must read as: at least the last version known durable (acknowledged, or
// read after a crash), or a write started since.
type crashWriteModel struct {
	crashLayout
	floor  []uint64
	lagged bool // a replica missed writes since the last repair
	// older: the vectors each object was read at before its floor (the
	// floor's own is last), which it must never read at again.
	older map[int64][][]byte
	// prefix: crashes keep a prefix of the writes (kill -9), so the files
	// alone, journal aside, must decide every object at its floor's state
	// or a newer one (Write's order: lagging replicas first).
	prefix bool
	mu     sync.Mutex
	// Since the last check: versions started and acknowledged per object.
	started, acked map[int64][]uint64
}

func crashBuildWrites(t testing.TB, dir string, n int, objects int64) *crashWriteModel {
	t.Helper()
	m := &crashWriteModel{crashLayout: crashLayout{dir: dir, geo: Geometry{ObjectSize: 4096, VectorOffset: 0, Objects: objects}}}
	for r := range n {
		m.paths = append(m.paths, filepath.Join(dir, fmt.Sprintf("r%d", r)))
	}
	s, err := Create(m.paths, m.geo, &Options{Journal: filepath.Join(dir, "journal"), JournalCapacity: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.floor = make([]uint64, objects)
	m.reset()
	return m
}

// restart forgets everything but floor: the set was restored from a
// snapshot taken when every object was at its floor.
// crashBuildRawWrites makes n raw replicas of objects (no superblocks):
// every object at one random vector and zero bytes elsewhere, as Create
// would leave them, then opens them once so that the journal exists.
func crashBuildRawWrites(t testing.TB, dir string, n int, objects int64) *crashWriteModel {
	t.Helper()
	m := &crashWriteModel{crashLayout: crashLayout{dir: dir, geo: Geometry{ObjectSize: 4096, VectorOffset: 0, Objects: objects}, raw: filepath.Join(dir, "journal")}}
	v := kernel.NewVector()
	b := make([]byte, m.geo.bytes())
	for i := range objects {
		copy(b[i*int64(m.geo.ObjectSize):], v[:])
	}
	for r := range n {
		p := filepath.Join(dir, fmt.Sprintf("raw%d", r))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		m.paths = append(m.paths, p)
	}
	s, err := m.open(m.paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m.floor = make([]uint64, objects)
	m.reset()
	return m
}

func (m *crashWriteModel) restart(floor []uint64) {
	copy(m.floor, floor)
	m.older = nil
	m.lagged = false
	m.reset()
}

func (m *crashWriteModel) reset() {
	m.started, m.acked = map[int64][]uint64{}, map[int64][]uint64{}
}

func (m *crashWriteModel) start(o int64, v uint64) {
	m.mu.Lock()
	m.started[o] = append(m.started[o], v)
	m.mu.Unlock()
}

func (m *crashWriteModel) ack(o int64, v uint64) {
	m.mu.Lock()
	m.acked[o] = append(m.acked[o], v)
	m.mu.Unlock()
}

// check reopens the set after a crash and checks every object against what
// was started and acknowledged since the last check, then makes what it
// read the new floor. With repair it also catches up lagging replicas.
func (m *crashWriteModel) check(t testing.TB, stage string, repair bool) {
	t.Helper()
	m.checkReadOnly(t, stage)
	s, err := m.open(m.paths, nil)
	if err != nil {
		t.Fatalf("%s: reopening: %v", stage, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", stage, err)
		}
	}()
	buf := make([]byte, m.geo.ObjectSize)
	for o := range m.geo.Objects {
		floor := m.floor[o]
		for _, v := range m.acked[o] {
			floor = max(floor, v)
		}
		ok := []uint64{floor}
		for _, v := range m.started[o] {
			if v > floor {
				ok = append(ok, v)
			}
		}
		if _, err := s.Read(o, buf); err != nil {
			t.Fatalf("%s: object %d: Read: %v (versions allowed %v)", stage, o, err, ok)
		}
		v, err := crashVersion(m.geo, o, buf)
		if err != nil {
			t.Fatalf("%s: object %d: %v (versions allowed %v)", stage, o, err, ok)
		}
		found := false
		for _, w := range ok {
			found = found || v == w
		}
		if !found {
			what := "a write acknowledged or read earlier was lost"
			if v > floor {
				what = "a version never written"
			}
			t.Fatalf("%s: object %d reads as version %d, allowed %v: %s", stage, o, v, ok, what)
		}
		m.floor[o] = v
		vec := append([]byte(nil), buf[m.geo.VectorOffset:m.geo.VectorOffset+kernel.VectorSize]...)
		if h := m.older[o]; len(h) == 0 || !bytes.Equal(h[len(h)-1], vec) {
			if m.older == nil {
				m.older = map[int64][][]byte{}
			}
			m.older[o] = append(h, vec)
		}
	}
	m.reset()
	rep, err := s.Scan(context.Background(), ScanOptions{VerifyData: true, Repair: repair})
	if err != nil {
		t.Fatalf("%s: Scan: %v", stage, err)
	}
	if rep.Unrepairable() != 0 || rep.Counts[Pending] != 0 || (!m.lagged && !rep.Clean()) {
		t.Fatalf("%s: Scan counts %v (a replica lagged: %v)", stage, rep.Counts, m.lagged)
	}
	if repair {
		m.lagged = false
	}
}

// checkReadOnly opens the set read-only, before anything replays the
// journal: every object must have a quorum, at its floor's state or a
// newer one, never at one it was read at before (a copy torn by the crash
// may read with torn bytes here, as a read-only open does not replay).
func (m *crashWriteModel) checkReadOnly(t testing.TB, stage string) {
	t.Helper()
	s, err := m.open(m.paths, &Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("%s: read-only open: %v", stage, err)
	}
	defer s.Close()
	vo := m.geo.VectorOffset
	buf := make([]byte, m.geo.ObjectSize)
	var snap crashSnap
	if m.prefix {
		snap = crashSnapshot(t, m.dir)
	}
	for o := range m.geo.Objects {
		if _, err := s.Read(o, buf); err != nil {
			t.Fatalf("%s: read-only, before the replay: object %d lost its quorum: %v", stage, o, err)
		}
		h := m.older[o]
		if m.prefix {
			vec, length, err := m.crashDiskQuorum(snap, o)
			if err != nil || length < majority(len(m.paths)) {
				t.Fatalf("%s: in the files, before any replay: object %d has no quorum (chain of %d, %v)", stage, o, length, err)
			}
			for k := 0; k+1 < len(h); k++ {
				if bytes.Equal(vec, h[k]) {
					t.Fatalf("%s: in the files, before any replay: object %d decides at %x, a state older than the one it was read at (%x): the write's order let the quorum go back",
						stage, o, h[k], h[len(h)-1])
				}
			}
		}
		for k := 0; k+1 < len(h); k++ {
			if bytes.Equal(buf[vo:vo+kernel.VectorSize], h[k]) {
				t.Fatalf("%s: read-only, before the replay: object %d reads at vector %x, a state older than the one it was read at (%x): its quorum went back",
					stage, o, h[k], h[len(h)-1])
			}
		}
	}
}

// crashMissing drops some of the last replicas (a minority) from paths at
// random, marking the model lagged. The first majority(n) replicas are
// never dropped, so that they stay current and every object keeps a
// quorum whatever the others missed: a replica that misses one write of an
// object lags in its chain, one that misses two stands outside it (a
// majority always holds an acknowledged write, so the others can never
// outvote it).
func (m *crashWriteModel) crashMissing(rng *rand.Rand, paths []string) (dropped []int) {
	n := len(paths)
	for len(dropped) == 0 {
		for r := majority(n); r < n; r++ {
			if rng.Intn(2) == 0 {
				paths[r] = ""
				dropped = append(dropped, r)
			}
		}
	}
	m.lagged = true
	return dropped
}

// crashWriteStream runs writers goroutines, each writing count random
// objects of its own (o%writers == its index), versions from next, until
// one fails. It returns the first error.
func crashWriteStream(s *Set, m *crashWriteModel, seed int64, writers, count int, next *atomic.Uint64, before, after func(o int64, v uint64)) error {
	writer := func(w int) error {
		rng := rand.New(rand.NewSource(seed*31 + int64(w)))
		mine := (m.geo.Objects - int64(w) + int64(writers) - 1) / int64(writers)
		for range count {
			o := int64(w) + int64(writers)*rng.Int63n(mine)
			v := next.Add(1)
			before(o, v)
			if err := s.Write(o, crashPayload(m.geo, o, v)); err != nil {
				return fmt.Errorf("writer %d: object %d version %d: %w", w, o, v, err)
			}
			after(o, v)
		}
		return nil
	}
	if writers == 1 {
		return writer(0) // in the caller's goroutine
	}
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[w] = writer(w)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
