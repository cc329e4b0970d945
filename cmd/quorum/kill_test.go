package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lockstep/quorum/kernel"
)

// killFixture: four replicas that need every kind of repair. On the
// first quarter of the objects a leads, b is one state behind and c two
// (c must be caught up before b, or the chain breaks); on the second
// quarter c is one behind; d is outside everywhere.
type killFixture struct {
	src      string
	names    []string
	n        int
	old      [][]byte        // the replicas before the repair
	leader   []byte          // what every replica holds after it (a's bytes)
	pre      []kernel.Result // each object's quorum before
	preHeads [][]byte        // each object's head state (the leader's ID0)
}

func newKillFixture(t *testing.T) *killFixture {
	f := &killFixture{src: t.TempDir(), n: testObjects(), names: []string{"a.img", "b.img", "c.img", "d.img"}}
	initReplicas(t, f.src, f.n, f.names...)
	must(t, quorum(t, f.src, "write", "--count", "2", "a.img", "b.img", "c.img"), 0)
	must(t, quorum(t, f.src, "write", "--objects", fmt.Sprintf("0-%d", f.n/2-1), "a.img", "b.img"), 0)
	must(t, quorum(t, f.src, "write", "--objects", fmt.Sprintf("0-%d", f.n/4-1), "a.img"), 0)
	f.old = readAll(t, f.src, f.names...)
	f.leader = f.old[0]
	f.pre = quorumOf(t, f.old, 4096, 0)
	for i, r := range f.pre {
		f.preHeads = append(f.preHeads, slices.Clone(vectorAt(f.old[r.Leader], i, 4096, 0)[:16]))
	}
	return f
}

func (f *killFixture) args(pre ...string) []string {
	return append(pre, append([]string{batchFlag}, f.names...)...)
}

// check verifies the replicas in dir after a crash: every object of every
// replica is its old bytes or the leader's (at most one torn object when
// the crash tore a write), the quorum has not gone backwards, scan flags
// the unfinished repair, and a second repair completes it.
func (f *killFixture) check(t *testing.T, dir string, torn bool, what string) {
	t.Helper()
	cur := readAll(t, dir, f.names...)
	bad := 0
	for i := range f.names {
		for obj := range f.n {
			lo, hi := obj*4096, (obj+1)*4096
			got := cur[i][lo:hi]
			if !bytes.Equal(got, f.old[i][lo:hi]) && !bytes.Equal(got, f.leader[lo:hi]) {
				bad++
				if !torn || bad > 1 {
					t.Fatalf("%s: %s object %d is neither its old bytes nor the leader's", what, f.names[i], obj)
				}
			}
		}
	}
	if bad == 0 {
		// Never backwards: same head state, a chain at least as long.
		for i, r := range quorumOf(t, cur, 4096, 0) {
			head := vectorAt(cur[r.Leader], i, 4096, 0)[:16]
			if r.Forked || !bytes.Equal(head, f.preHeads[i]) || r.Length < f.pre[i].Length {
				t.Fatalf("%s: object %d went backwards: %+v (head %x), was %+v (head %x)", what, i, r, head[:4], f.pre[i], f.preHeads[i][:4])
			}
		}
		r := quorum(t, dir, f.args("scan", "--json")...)
		if r.code != exitClean && r.code != exitRepairable {
			t.Fatalf("%s: scan after the crash: %s", what, r)
		}
		parseReport(t, r)
	} else {
		// A torn copy may even look current; the journal must say the
		// repair is unfinished.
		r := quorum(t, dir, f.args("scan", "--json")...)
		rep := parseReport(t, r)
		complete := false
		for _, j := range rep.Journals {
			complete = complete || (j.Complete && j.Action == "pending")
		}
		if !complete || r.code == exitClean {
			t.Fatalf("%s: a torn object, yet scan reports no pending journal: %s", what, r)
		}
	}
	must(t, quorum(t, dir, f.args("repair", "--apply")...), 0)
	equalFiles(t, dir, f.leader, f.names...)
	noJournals(t, dir)
	must(t, quorum(t, dir, f.args("scan")...), 0)
}

var crashPoints = regexp.MustCompile(`quorum: test: (\d+) crash points`)

// TestKillMidRepair kills repair --apply at crash points spread over the
// whole repair (journal writes and syncs, object writes, replica syncs,
// journal removal), with and without tearing the write in progress, then
// re-scans and repairs again.
func TestKillMidRepair(t *testing.T) {
	f := newKillFixture(t)
	dir := t.TempDir()
	copyFiles(t, f.src, dir, f.names...)
	r := must(t, quorumEnv(t, dir, []string{"QUORUM_TEST_CRASH=1000000000"}, f.args("repair", "--apply")...), 0)
	m := crashPoints.FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no crash point count: %s", r)
	}
	total, _ := strconv.Atoi(m[1])
	equalFiles(t, dir, f.leader, f.names...)
	// Journal points, objects and syncs of a batch: at least 1+2 per batch.
	if total < f.n {
		t.Fatalf("only %d crash points", total)
	}

	// Every other point of the first batch, where every object takes all
	// three rounds (c, then b, then d: a crash between c and b is where a
	// wrong order would break the chain), then points spread over the
	// rest, and the last ones (the final syncs, the journal's removal).
	first := 2 + 3*batchObjects + 3 // journal write and sync, 3 rounds of objects, 3 syncs
	spread := 12
	if testing.Short() {
		spread = 4
	}
	var points []int
	for k := 1; k <= first+1; k += 2 {
		points = append(points, k)
	}
	for k := 1; k < spread; k++ {
		points = append(points, first+k*(total-first)/spread)
	}
	points = append(points, total-2, total-1, total)
	slices.Sort(points)
	points = slices.Compact(points)
	for i, k := range points {
		// Tear the write at every third point: objects, journal records.
		tear := i%3 == 1
		t.Run(fmt.Sprintf("point %d tear %v", k, tear), func(t *testing.T) {
			t.Parallel()
			what := fmt.Sprintf("crash at point %d of %d (tear %v)", k, total, tear)
			dir := t.TempDir()
			copyFiles(t, f.src, dir, f.names...)
			env := []string{"QUORUM_TEST_CRASH=" + strconv.Itoa(k)}
			if tear {
				env = append(env, "QUORUM_TEST_CRASH_TEAR=1")
			}
			r := quorumEnv(t, dir, env, f.args("repair", "--apply")...)
			if r.code == 0 || crashPoints.MatchString(r.stderr) {
				t.Fatalf("%s: the repair was not killed: %s", what, r)
			}
			f.check(t, dir, tear, what)
		})
	}
}

// TestKillMidRepairSignal sends SIGKILL from outside after a random delay,
// as an operator or the OOM killer would, with each batch slowed down so
// the kill lands while the repair runs.
func TestKillMidRepairSignal(t *testing.T) {
	f := newKillFixture(t)
	runs := 4
	if testing.Short() {
		runs = 2
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 7))
	batches := f.n / batchObjects
	for i := range runs {
		dir := t.TempDir()
		copyFiles(t, f.src, dir, f.names...)
		delay := time.Duration(rng.IntN(batches*2)+5) * time.Millisecond
		what := fmt.Sprintf("kill after %v (seed %d)", delay, seed)
		cmd := exec.Command(quorumBin(t), f.args("repair", "--apply")...)
		cmd.Dir = dir
		cmd.Env = append(cleanEnv(), "QUORUM_TEST_BATCH_DELAY=2ms")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Kill()
		err := cmd.Wait()
		t.Logf("run %d: %s: %v", i, what, err)
		f.check(t, dir, false, what)
	}
}
