package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lockstep/quorum/kernel"
)

// The end-to-end tests run the real binary, built once per test process
// with go build. It is built for the host: under qemu-user emulation
// (GOARCH=arm64 go test -exec qemu-aarch64) the test binary runs emulated
// but the host kernel cannot exec an arm64 binary without binfmt_misc, so
// the command runs natively there, and the in-process tests (which call
// run) cover the emulated architecture.

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
		buildDir, buildErr = os.MkdirTemp("", "quorum-test-bin-")
		if buildErr != nil {
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
	return quorumEnv(t, dir, nil, args...)
}

// quorumEnv runs the binary in dir with extra environment variables.
func quorumEnv(t testing.TB, dir string, env []string, args ...string) res {
	t.Helper()
	cmd := exec.Command(quorumBin(t), args...)
	cmd.Dir = dir
	cmd.Env = append(cleanEnv(), env...)
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

// cleanEnv is the environment without the test hooks.
func cleanEnv() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "QUORUM_TEST_") {
			env = append(env, e)
		}
	}
	return env
}

// runIn runs the command in-process (the architecture under test, even
// under emulation), with paths relative to dir.
func runIn(t testing.TB, dir string, args ...string) res {
	t.Helper()
	for i, a := range args {
		if !strings.HasPrefix(a, "-") && strings.HasSuffix(a, ".img") {
			args[i] = filepath.Join(dir, a)
		}
	}
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return res{stdout: strings.ReplaceAll(out.String(), dir+string(filepath.Separator), ""),
		stderr: strings.ReplaceAll(errOut.String(), dir+string(filepath.Separator), ""), code: code}
}

// must checks an exit code.
func must(t testing.TB, r res, code int) res {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r)
	}
	return r
}

// jsonReport is the document --json prints.
type jsonReport struct {
	header
	Ranges []Range `json:"ranges"`
	tail
}

func parseReport(t testing.TB, r res) *jsonReport {
	t.Helper()
	var rep jsonReport
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("bad JSON: %v\n%s", err, r)
	}
	if rep.ExitCode != r.code {
		t.Fatalf("JSON says exit_code %d, the process exited %d", rep.ExitCode, r.code)
	}
	return &rep
}

// wantRange is a range as a test expects it.
type wantRange struct {
	first, last int64
	status      string
	leader      int // -1: none
	chain       int
	lagging     []int
	outside     []int
	repair      []int
}

func checkRanges(t testing.TB, rep *jsonReport, want []wantRange) {
	t.Helper()
	if len(rep.Ranges) != len(want) {
		t.Fatalf("got %d ranges, want %d:\n%s", len(rep.Ranges), len(want), dumpRanges(rep.Ranges))
	}
	for i, w := range want {
		g := rep.Ranges[i]
		leader := -1
		if g.Leader != nil {
			leader = *g.Leader
		}
		if g.First != w.first || g.Last != w.last || g.Objects != w.last-w.first+1 || g.Status != w.status || leader != w.leader ||
			g.Chain != w.chain || !slices.Equal(g.Lagging, w.lagging) || !slices.Equal(g.Outside, w.outside) || !slices.Equal(g.Repair, w.repair) {
			t.Fatalf("range %d: got %s\nwant %+v\nall:\n%s", i, dumpRanges(rep.Ranges[i:i+1]), w, dumpRanges(rep.Ranges))
		}
	}
}

func dumpRanges(rs []Range) string {
	var b strings.Builder
	for _, r := range rs {
		j, _ := json.Marshal(r)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// readAll reads the replicas.
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

// equalFiles fails unless every named replica is byte-for-byte want.
func equalFiles(t testing.TB, dir string, want []byte, names ...string) {
	t.Helper()
	for i, got := range readAll(t, dir, names...) {
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs from the leader's bytes (first difference at byte %d)", names[i], firstDiff(got, want))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// quorumOf computes every object's kernel result, as a test oracle.
func quorumOf(t testing.TB, replicas [][]byte, objectSize, vectorOffset int) []kernel.Result {
	t.Helper()
	res := make([]kernel.Result, len(replicas[0])/objectSize)
	if err := kernel.Calculate(replicas, vectorOffset, objectSize, res, nil); err != nil {
		t.Fatal(err)
	}
	return res
}

// vectorAt returns object i's vector in a replica.
func vectorAt(replica []byte, i, objectSize, vectorOffset int) []byte {
	at := i*objectSize + vectorOffset
	return replica[at : at+kernel.VectorSize]
}

// setVector overwrites object i's vector in a replica file.
func setVector(t testing.TB, path string, i, objectSize, vectorOffset int, vec []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(vec, int64(i*objectSize+vectorOffset)); err != nil {
		t.Fatal(err)
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

// noJournals fails if a journal is left in dir.
func noJournals(t testing.TB, dir string) {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*"+journalSuffix))
	if len(m) > 0 {
		t.Fatalf("journals left behind: %v", m)
	}
}

// testObjects is the objects per replica the tests use: fewer under -short
// (qemu), and many batches of batchObjects either way.
func testObjects() int {
	if testing.Short() {
		return 96
	}
	return 512
}

// Batches of 16 objects of 4 KiB.
const (
	batchFlag    = "--batch-size=64KiB"
	batchObjects = 16
)
