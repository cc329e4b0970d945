package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// tiny keeps every run in the tests short.
var tiny = []string{"-replicas", "1,3", "-objects", "10", "-count", "3", "-time", "100us"}

func runTiny(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(append(slices.Clone(tiny), args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestTable(t *testing.T) {
	out, errOut, code := runTiny(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	wants := []string{"NS PER OBJECT", "implementation " + kernel.Implementation(), "measured", "REPLICAS=1 ", "REPLICAS=3 ", "FAST=", "AGREE=", "FASTCOPIES=", "SLOW=", "±", "generic"}
	if runtime.GOARCH == "amd64" {
		wants = append(wants, "family") // CPUID names vendor, family and model
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestTableAll(t *testing.T) {
	out, errOut, code := runTiny(t, "-kernel", "all", "-workload", "fast,fastcopies", "-parallel", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range kernel.Implementations() {
		if !strings.Contains(out, name) {
			t.Errorf("table lacks a column for %s:\n%s", name, out)
		}
	}
	for _, want := range []string{"FASTCOPIES=", "parallel=2", "x)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// -one times Quorum and one-object batches beside the batch, with their
// cost as a multiple of the batch's.
func TestOne(t *testing.T) {
	out, errOut, code := runTiny(t, "-one", "-workload", "agree,slow")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{oneQuorum, oneRoles, oneCalculate, "AGREE=", "SLOW=", "a multiple of the batch"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestJSON(t *testing.T) {
	out, errOut, code := runTiny(t, "-kernel", "all", "-json", "-workload", "fast,slow")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	if r.CPU == "" || r.GOOS == "" || r.GOARCH == "" || r.Implementation != kernel.Implementation() || r.Objects != 10 || r.ObjectSize != 32 {
		t.Errorf("bad header: %+v", r)
	}
	if measurable := r.GOARCH == "amd64" || r.GOARCH == "arm64"; measurable != (r.ClockGHz > 0) {
		t.Errorf("clock_ghz %v on %s", r.ClockGHz, r.GOARCH)
	}
	if len(r.Rows) != 2 || r.Rows[0].Replicas != 1 || r.Rows[1].Replicas != 3 {
		t.Fatalf("rows: %+v", r.Rows)
	}
	for _, row := range r.Rows {
		if want := 2 * len(kernel.Implementations()); len(row.Results) != want {
			t.Errorf("replicas %d: %d results, want %d", row.Replicas, len(row.Results), want)
		}
		for _, res := range row.Results {
			if !slices.Contains(kernel.Implementations(), res.Kernel) || (res.Workload != "fast" && res.Workload != "slow") || !(res.NsPerObject > 0) || res.Spread < 0 {
				t.Errorf("replicas %d: bad result %+v", row.Replicas, res)
			}
		}
	}
}

func TestChart(t *testing.T) {
	dir := t.TempDir()
	svg, png := filepath.Join(dir, "b.svg"), filepath.Join(dir, "b.png")
	if _, errOut, code := runTiny(t, "-svg", svg, "-png", png); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(svg)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("<?xml")) && !bytes.HasPrefix(b, []byte("<svg")) {
		t.Errorf("%s starts with %q", svg, b[:min(len(b), 20)])
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("%s: not a PNG (%v)", png, err)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-kernel", "nosuch"},
		{"-kernel", "avx2,"},
		{"-replicas", "0"},
		{"-replicas", "256"},
		{"-replicas", "1,two"},
		{"-objects", "0"},
		{"-objects", "many"},
		{"-object-size", "31"},
		{"-workload", "medium"},
		{"-parallel", "-1"},
		{"-one", "-parallel", "2"},
		{"-one", "-kernel", "generic"},
		{"-objects", "1000000000", "-object-size", "4096"},
		{"stray"},
	} {
		_, errOut, code := runTiny(t, args...)
		if code != 2 || !strings.Contains(errOut, "bench:") && !strings.Contains(errOut, "invalid value") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and an error", args, code, errOut)
		}
	}
}
