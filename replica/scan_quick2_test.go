package replica_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lockstep/quorum/replica"
)

func norm(g replica.Range) replica.Range {
	if len(g.Order) == 0 {
		g.Order = nil
	}
	if len(g.Differ) == 0 {
		g.Differ = nil
	}
	return g
}

func normAll(rs []replica.Range) []replica.Range {
	out := make([]replica.Range, len(rs))
	for i, g := range rs {
		out[i] = norm(g)
	}
	return out
}

// quickSeeds is 6, or QUICK_SEEDS for a longer run.
func quickSeeds() uint64 {
	var n uint64 = 6
	fmt.Sscan(os.Getenv("QUICK_SEEDS"), &n)
	return n
}

func writeQuick(t *testing.T, data [][]byte) []string {
	dir := t.TempDir()
	paths := make([]string, len(data))
	for k := range data {
		paths[k] = filepath.Join(dir, fmt.Sprint(k))
		if err := os.WriteFile(paths[k], data[k], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return paths
}

// Scan's ranges (both fast paths, every batch size, missing replicas, any
// quorum, with and without VerifyData) are exactly the naive ones.
func TestQuickScanMatchesDepths(t *testing.T) {
	const objects = 400
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 66} {
		for seed := range quickSeeds() {
			r := rand.New(rand.NewPCG(seed, uint64(n)))
			osz := []int{32, 64, 96}[r.IntN(3)]
			vo := r.IntN(osz/16-1) * 16
			data := quickObjects(r, n, objects, osz, vo)
			paths := writeQuick(t, data)
			var voters []int
			for k := range n {
				if n > 1 && k != n-1 && r.IntN(5) == 0 {
					paths[k] = "" // missing
				} else {
					voters = append(voters, k)
				}
			}
			q := []int{0, 1, n, 1 + r.IntN(n)}[r.IntN(4)]
			need := q
			if q == 0 {
				need = n/2 + 1
			}
			verify := r.IntN(3) == 0
			s, err := replica.OpenRaw(paths, replica.Geometry{ObjectSize: osz, VectorOffset: vo}, &replica.Options{ReadOnly: true, Quorum: q})
			if err != nil {
				t.Fatal(err)
			}
			_, got := scan(t, s, replica.ScanOptions{VerifyData: verify, BatchBytes: osz * (1 + r.IntN(60))})
			s.Close()
			want := normAll(naiveRanges(data, voters, objects, osz, vo, need, verify))
			got = normAll(got)
			for i := range max(len(got), len(want)) {
				if i >= len(got) || i >= len(want) || !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("n=%d seed=%d q=%d verify=%v voters=%v: range %d:\nscan  %+v\nnaive %+v",
						n, seed, q, verify, voters, i, got[min(i, len(got)-1)], want[min(i, len(want)-1)])
				}
			}
		}
	}
}

// A repairing Scan reports the naive ranges as found before it wrote, and
// repairs exactly the Lagging objects, which are Agreed afterwards.
func TestQuickRepairMatchesDepths(t *testing.T) {
	const objects, osz, vo = 300, 64, 16
	for _, n := range []int{2, 3, 5, 8} {
		for seed := range quickSeeds() {
			r := rand.New(rand.NewPCG(seed, 100+uint64(n)))
			data := quickObjects(r, n, objects, osz, vo)
			paths := writeQuick(t, data)
			voters := make([]int, n)
			for k := range voters {
				voters[k] = k
			}
			s, err := replica.OpenRaw(paths, replica.Geometry{ObjectSize: osz, VectorOffset: vo}, &replica.Options{Journal: filepath.Join(t.TempDir(), "j")})
			if err != nil {
				t.Fatal(err)
			}
			rep, got := scan(t, s, replica.ScanOptions{Repair: true, BatchBytes: osz * (1 + r.IntN(60))})
			if want := naiveRanges(data, voters, objects, osz, vo, n/2+1, false); !reflect.DeepEqual(normAll(got), normAll(want)) {
				t.Fatalf("n=%d seed=%d: repairing scan's ranges differ from the naive ones", n, seed)
			}
			if rep.Repaired != rep.Counts[replica.Lagging] {
				t.Fatalf("n=%d seed=%d: repaired %d of %d lagging", n, seed, rep.Repaired, rep.Counts[replica.Lagging])
			}
			after, _ := scan(t, s, replica.ScanOptions{})
			if after.Counts[replica.Lagging] != 0 || after.Counts[replica.Agreed] != rep.Counts[replica.Agreed]+rep.Counts[replica.Lagging] {
				t.Fatalf("n=%d seed=%d: before %v, after repair %v", n, seed, rep.Counts, after.Counts)
			}
			s.Close()
		}
	}
}
