package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The end-to-end tests run the real binary, built once per test process
// with go build for the host (under qemu-user emulation the host kernel
// cannot exec a binary of the emulated architecture, so the in-process
// tests, which call run, cover that one).

var (
	buildOnce sync.Once
	buildDir  string
	buildPath string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	for _, d := range benchDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// quorumBin returns the path of the quorum command, building it on first use.
func quorumBin(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("no go tool on PATH to build the binary: %v", err)
			return
		}
		env := func(name string) string {
			out, err := exec.Command(goTool, "env", name).Output()
			if err != nil {
				buildErr = fmt.Errorf("go env %s: %v", name, err)
			}
			return strings.TrimSpace(string(out))
		}
		hostOS, hostArch := env("GOHOSTOS"), env("GOHOSTARCH")
		if buildErr != nil {
			return
		}
		if buildDir, buildErr = os.MkdirTemp("", "quorum-test-bin-"); buildErr != nil {
			return
		}
		buildPath = filepath.Join(buildDir, "quorum")
		if hostOS == "windows" {
			buildPath += ".exe"
		}
		cmd := exec.Command(goTool, "build", "-o", buildPath, ".")
		cmd.Env = append(os.Environ(), "GOOS="+hostOS, "GOARCH="+hostArch, "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// res is one run of the command.
type res struct {
	stdout, stderr string
	code           int // -1: killed by a signal
}

func (r res) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// quorum runs the binary in dir with args.
func quorum(t testing.TB, dir string, args ...string) res {
	t.Helper()
	cmd := exec.Command(quorumBin(t), args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	r := res{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("quorum %v: %v", args, err)
	}
	return r
}

// runIn runs the command in-process (the architecture under test, even
// under emulation) in dir: relative paths are dir's, and dir is taken out
// of the output.
func runIn(t testing.TB, dir string, args ...string) res {
	t.Helper()
	args = append([]string(nil), args...)
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && (strings.HasSuffix(a, ".img") || strings.HasSuffix(a, ".dir")) {
			args[i] = filepath.Join(dir, a)
		}
	}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	strip := func(s string) string { return strings.ReplaceAll(s, dir+string(filepath.Separator), "") }
	return res{stdout: strip(out.String()), stderr: strip(errOut.String()), code: code}
}

// must checks an exit code.
func must(t testing.TB, r res, code int) res {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

// contains fails unless s holds every one of want.
func contains(t testing.TB, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, s)
		}
	}
}

// report is the document scan --json and repair --json print.
type report struct {
	scanHead
	Ranges []rangeJSON `json:"ranges"`
	tail
}

func parseReport(t testing.TB, r res) *report {
	t.Helper()
	var rep report
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, r)
	}
	if rep.Exit != r.code {
		t.Fatalf("JSON says exit %d, the process exited %d", rep.Exit, r.code)
	}
	return &rep
}

// rangesString is a compact form of the ranges for comparisons:
// "first-last status leader chain order lagging".
func rangesString(rs []rangeJSON) string {
	var b strings.Builder
	for _, r := range rs {
		leader := -1
		if r.Leader != nil {
			leader = *r.Leader
		}
		fmt.Fprintf(&b, "%d-%d %s %d %d %v %d\n", r.First, r.Last, r.Status, leader, r.Chain, r.Order, len(r.Lagging))
	}
	return b.String()
}

// tableRow returns the fields of the text report's row for objects.
func tableRow(t *testing.T, out, objects string) []string {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == objects {
			return f
		}
	}
	t.Fatalf("no row for objects %s in:\n%s", objects, out)
	return nil
}

// objectBytes returns object i of a formatted replica file.
func objectBytes(t testing.TB, path string, i int64, objectSize int) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, objectSize)
	if _, err := f.ReadAt(b, 8192+i*int64(objectSize)); err != nil {
		t.Fatal(err)
	}
	return b
}

// writes returns the K of "object I write K" of every object of a
// formatted replica of 4 KiB objects, vectors at 0.
func writes(t testing.TB, path string, objects int) []int {
	t.Helper()
	out := make([]int, objects)
	for i := range objects {
		out[i] = writeOf(objectBytes(t, path, int64(i), 4096), 0, int64(i))
	}
	return out
}

// journalOf finds the set's journal in dir.
func journalOf(t testing.TB, dir string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".quorum-*.journal"))
	if len(m) != 1 {
		t.Fatalf("journals in %s: %v", dir, m)
	}
	return m[0]
}

// journalHeader reads the newest header copy of a journal (the layout
// replica's doc gives): its committed record and whether it is applied.
func journalHeader(path string) (committed uint64, applied bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 1024 {
		return 0, false
	}
	var seq uint64
	for c := range 2 {
		h := b[c*512 : (c+1)*512]
		if string(h[:8]) != "QRMJHDR1" || crc32.Checksum(h[:508], crc32.MakeTable(crc32.Castagnoli)) != binary.LittleEndian.Uint32(h[508:]) {
			continue // not written yet, or caught mid-write
		}
		if s := binary.LittleEndian.Uint64(h[8:]); s > seq {
			seq, committed, applied = s, binary.LittleEndian.Uint64(h[40:]), binary.LittleEndian.Uint32(h[52:]) == 1
		}
	}
	return committed, applied
}

// killAfterCommit starts the binary with args in dir and kills it with
// SIGKILL once the journal holds a committed record it has not applied
// (the run is in the middle of its transactions), or after limit.
func killAfterCommit(t *testing.T, dir, journal string, limit time.Duration, args ...string) {
	t.Helper()
	before, _ := journalHeader(journal)
	cmd := exec.Command(quorumBin(t), args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if c, applied := journalHeader(journal); c > before+1 && !applied {
			break
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
}

// killInsideCommit runs the binary with args in dir until a SIGKILL lands
// inside a transaction, between its record's commit point and its mark of
// applied, leaving the record pending (a kill between two transactions
// leaves nothing pending: then the set's files are put back and it is tried
// again).
func killInsideCommit(t *testing.T, dir, journal string, args ...string) {
	t.Helper()
	saved := t.TempDir()
	names := []string{filepath.Base(journal)}
	ms, _ := filepath.Glob(filepath.Join(dir, "*.img"))
	for _, m := range ms {
		names = append(names, filepath.Base(m))
	}
	copyFiles(t, dir, saved, names...)
	for try := 0; ; try++ {
		killAfterCommit(t, dir, journal, 10*time.Second, args...)
		if committed, applied := journalHeader(journal); committed > 0 && !applied {
			return
		}
		if try == 50 {
			t.Fatal("50 kills, none inside a transaction's commit window")
		}
		copyFiles(t, saved, dir, names...)
	}
}

// copyFiles copies the named files from src to dst.
func copyFiles(t testing.TB, src, dst string, names ...string) {
	t.Helper()
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readAll reads the named files in dir.
func readAll(t testing.TB, dir string, names ...string) [][]byte {
	t.Helper()
	out := make([][]byte, len(names))
	for i, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// newCmd is the binary with args, to run in dir.
func newCmd(bin, dir string, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	c.Dir = dir
	return c
}
