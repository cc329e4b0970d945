package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The text report streams: a million ranges (objects alternately agreed
// and lagging) with --ranges 0 are a million rows, printed while the scan
// runs, and the process's peak RSS (VmHWM) stays that of a small program: it holds
// no range once it is printed. (Kept in memory, the rows alone would be
// about 50 MiB of text.)
func TestStreamingReport(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 3 x 32 MiB")
	}
	const objects = 1 << 20
	dir := t.TempDir()
	agreed, lagging := vec("B/A"), vec("C/B")
	for r, name := range abc {
		b := make([]byte, 0, objects*32)
		for i := range objects {
			if i%2 == 1 && r < 2 {
				b = append(b, lagging...) // a and b ahead, c one behind
			} else {
				b = append(b, agreed...)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, asJSON := range []bool{false, true} {
		args := []string{"scan", "--raw", "--object-size", "32", "--ranges", "0", "a.img", "b.img", "c.img"}
		if asJSON {
			args = append(args, "--json")
		}
		cmd := exec.Command(quorumBin(t), args...)
		cmd.Dir = dir
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		rows, last, hwm := 0, "", int64(0)
		sc := bufio.NewScanner(out)
		for n := 0; sc.Scan(); n++ {
			if n%4096 == 0 {
				hwm = max(hwm, peakRSS(cmd.Process.Pid))
			}
			line := sc.Text()
			if (asJSON && strings.HasPrefix(line, `  {"first":`)) || (!asJSON && line != "" && line[0] >= '0' && line[0] <= '9' && !strings.Contains(line, "objects:")) {
				rows++
			}
			last = line
		}
		err = cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitRepairable {
			t.Fatalf("json %v: %v\n%s", asJSON, err, stderr.String())
		}
		if rows != objects {
			t.Errorf("json %v: %d rows, want %d (last line %q)", asJSON, rows, objects, last)
		}
		// The child's ru_maxrss counts the parent's pages at the fork, so
		// the peak is read from /proc while the report streams.
		rss := hwm
		t.Logf("json %v: %d rows, peak RSS %d MiB", asJSON, rows, rss>>20)
		if rss == 0 || rss > 48<<20 {
			t.Errorf("json %v: peak RSS %d MiB for %d rows: the report is held in memory", asJSON, rss>>20, rows)
		}
	}
	// The default lists 50 rows and counts the others.
	r := must(t, quorum(t, dir, "scan", "--raw", "--object-size", "32", "a.img", "b.img", "c.img"), 1)
	contains(t, "scan", r.stdout, "... and 1048526 more ranges (--ranges 0 lists them all; --json too)",
		"1048576 objects: 524288 agreed, 524288 lagging")
}

// peakRSS is a process's VmHWM, or 0.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
