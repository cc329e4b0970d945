// Command bench prints the original @ronomon/quorum benchmark table: ns per
// object for REPLICAS = 1, 2, 3, 4, 5, 8, ... 128 and 255 on the original's
// workloads (1000 objects of 32 bytes: FAST, AGREE, FASTCOPIES, SLOW), for
// the implementation Calculate runs on this machine with generic beside it.
// The header names the CPU (vendor, family, model, microarchitecture) and
// its measured clock. Every cell is the median of several timed
// repetitions after a warm-up, with their spread; a wide spread is
// reported as a noisy machine.
//
//	go run ./cmd/bench                          # the table
//	go run ./cmd/bench -kernel all              # every implementation, with speed-ups over generic
//	go run ./cmd/bench -one                     # one object per call: Quorum, Roles and Calculate beside the batch
//	go run ./cmd/bench -object-size 4096        # 4 KiB objects, vector at offset 0: the copy dominates
//	go run ./cmd/bench -parallel 2 -objects 2097152 -replicas 3 -workload fastcopies
//	go run ./cmd/bench -json -svg docs/bench.svg
//
// Usage errors exit with status 2, a failing Calculate with status 1.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lockstep/quorum/cmd/internal/about"
	"github.com/lockstep/quorum/internal/workload"
	"github.com/lockstep/quorum/kernel"
)

// maxMemory bounds the sources and target one measurement may allocate.
const maxMemory = 8 << 30

// errReported is a usage error the flag package has already printed.
var errReported = errors.New("usage error")

// workloads builds each workload's sources, by flag name.
var workloads = map[string]func(rng *rand.Rand, n, objects, objectSize int) [][]byte{
	"fast":       workload.Fast,
	"fastcopies": workload.FastCopies,
	"agree":      workload.Agree,
	"slow":       workload.Slow,
	"lagging":    workload.Lagging,
}

// config is the parsed command line.
type config struct {
	series     []series // what to time, in column order
	replicas   []int
	objects    int
	objectSize int
	workloads  []string
	reps       int           // timed repetitions; the median is kept
	runTime    time.Duration // target duration of one repetition
	json       bool
	svg, png   string
	clockGHz   float64 // measured once, before timing; 0 if it cannot be
}

// series is one column group: an implementation run by CalculateWith on
// the whole batch; (workers > 0) the active one run by CalculateParallel;
// or (one) an entry called once per object.
type series struct {
	kernel  string
	workers int
	one     string // "": the batch; oneQuorum, oneRoles or oneCalculate
}

// The -one series: kernel.Quorum on each object's vectors, and Calculate on
// a batch of one object.
const (
	oneQuorum    = "Quorum"
	oneRoles     = "Roles"
	oneCalculate = "Calculate, 1 object"
)

func (s series) String() string {
	switch {
	case s.one != "":
		return s.one
	case s.workers > 0:
		return fmt.Sprintf("%s parallel=%d", s.kernel, s.workers)
	}
	return s.kernel
}

// Row is one REPLICAS line: every series on every workload.
type Row struct {
	Replicas int      `json:"replicas"`
	Results  []Result `json:"results"`
}

// Result is the median ns per object of one series on one workload.
type Result struct {
	Kernel      string  `json:"kernel"`
	Workers     int     `json:"workers,omitempty"` // CalculateParallel's workers; absent for Calculate
	One         string  `json:"one,omitempty"`     // the -one entry; absent for a batch
	Workload    string  `json:"workload"`
	NsPerObject float64 `json:"ns_per_object"`
	Spread      float64 `json:"spread"` // (slowest - fastest repetition) / median
}

// Report is the -json output.
type Report struct {
	CPU             string   `json:"cpu"`
	ClockGHz        float64  `json:"clock_ghz,omitempty"` // measured; absent where it cannot be
	GOOS            string   `json:"goos"`
	GOARCH          string   `json:"goarch"`
	Implementation  string   `json:"implementation"`  // what Calculate runs
	Implementations []string `json:"implementations"` // what this machine can run
	Objects         int      `json:"objects"`
	ObjectSize      int      `json:"object_size"`
	VectorOffset    int      `json:"vector_offset"`
	Repetitions     int      `json:"repetitions"`
	Rows            []Row    `json:"rows"`
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run is the whole command, returning its exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if slices.Contains(args, "-version") || slices.Contains(args, "--version") {
		fmt.Fprintln(stdout, about.Version("bench"))
		return 0
	}
	cfg, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		if err != errReported {
			fmt.Fprintln(stderr, "bench:", err)
		}
		return 2
	}
	cfg.clockGHz = about.Clock()
	rows, err := bench(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	if cfg.json {
		err = writeJSON(stdout, cfg, rows)
	} else {
		err = writeTable(stdout, cfg, rows)
	}
	for _, c := range []struct{ file, format string }{{cfg.svg, "svg"}, {cfg.png, "png"}} {
		if err == nil && c.file != "" {
			err = writeChart(c.file, c.format, cfg, rows)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return 1
	}
	return 0
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	kernels := fs.String("kernel", defaultKernels(), "implementations to time: all, or a comma list of "+strings.Join(kernel.Implementations(), ", "))
	replicas := fs.String("replicas", "1,2,3,4,5,8,16,32,64,128,255", "comma list of replica counts, 1 to 255")
	objects := fs.Int("objects", 1000, "objects per replica")
	objectSize := fs.Int("object-size", 32, "bytes per object, at least 32; the vector is at offset 0")
	wls := fs.String("workload", "fast,agree,fastcopies,slow", "comma list of fast (two unrelated vectors, two shared buffers), agree (every replica the same, each in its own buffer), fastcopies (fast with a buffer per replica), slow (every replica a stranger), lagging (the last replica one write behind, a buffer per replica)")
	one := fs.Bool("one", false, "one object per call: Quorum and Roles on its vectors and Calculate on a one-object batch, beside "+kernel.Implementation()+" on the whole batch")
	parallel := fs.Int("parallel", 0, "also time CalculateParallel with this many workers (on "+kernel.Implementation()+"; batches under 1024 objects per worker run on one goroutine)")
	cfg := config{}
	fs.IntVar(&cfg.reps, "count", 7, "timed repetitions; the median is printed")
	fs.DurationVar(&cfg.runTime, "time", 20*time.Millisecond, "target duration of one repetition")
	fs.BoolVar(&cfg.json, "json", false, "print JSON instead of the table")
	fs.StringVar(&cfg.svg, "svg", "", "write a chart of ns/object against replicas to this SVG file")
	fs.StringVar(&cfg.png, "png", "", "write the chart to this PNG file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errReported // fs printed it, with the usage
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	names, err := parseKernels(*kernels)
	if err != nil {
		return cfg, err
	}
	if *parallel < 0 {
		return cfg, fmt.Errorf("-parallel must be 0 (off) or a number of workers, got %d", *parallel)
	}
	if *parallel > 0 && !slices.Contains(names, kernel.Implementation()) {
		names = append(names, kernel.Implementation()) // the baseline of the parallel speed-up
	}
	for _, name := range names {
		cfg.series = append(cfg.series, series{kernel: name})
	}
	if *parallel > 0 {
		cfg.series = append(cfg.series, series{kernel: kernel.Implementation(), workers: *parallel})
	}
	if *one {
		conflict := ""
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "kernel" || f.Name == "parallel" {
				conflict = f.Name
			}
		})
		if conflict != "" {
			return cfg, fmt.Errorf("-one times %s on the batch against one object per call; it takes no -%s", kernel.Implementation(), conflict)
		}
		cfg.series = []series{{kernel: kernel.Implementation()}, {kernel: kernel.Implementation(), one: oneQuorum}, {kernel: kernel.Implementation(), one: oneRoles}, {kernel: kernel.Implementation(), one: oneCalculate}}
	}

	if cfg.replicas, err = parseInts(*replicas); err != nil {
		return cfg, fmt.Errorf("-replicas: %v", err)
	}
	for _, n := range cfg.replicas {
		if n < kernel.SourcesMin || n > kernel.SourcesMax {
			return cfg, fmt.Errorf("-replicas: %d is outside %d..%d", n, kernel.SourcesMin, kernel.SourcesMax)
		}
	}
	cfg.objects, cfg.objectSize = *objects, *objectSize
	if cfg.objects < 1 {
		return cfg, fmt.Errorf("-objects must be at least 1, got %d", cfg.objects)
	}
	if cfg.objectSize < kernel.VectorSize {
		return cfg, fmt.Errorf("-object-size must be at least %d (one vector), got %d", kernel.VectorSize, cfg.objectSize)
	}
	for _, w := range strings.Split(*wls, ",") {
		w = strings.TrimSpace(w)
		if workloads[w] == nil {
			return cfg, fmt.Errorf("-workload: unknown workload %q (want fast, slow, fastcopies or agree)", w)
		}
		if !slices.Contains(cfg.workloads, w) {
			cfg.workloads = append(cfg.workloads, w)
		}
	}
	if cfg.reps < 1 || cfg.runTime <= 0 {
		return cfg, fmt.Errorf("-count and -time must be positive")
	}
	if need := memory(cfg); need > maxMemory {
		return cfg, fmt.Errorf("that needs %.1f GiB of sources and target, more than the %d GiB allowed; lower -objects, -object-size or -replicas",
			need/(1<<30), maxMemory>>30)
	}
	return cfg, nil
}

// defaultKernels is what Calculate runs here, with generic beside it.
func defaultKernels() string {
	if kernel.Implementation() == "generic" {
		return "generic"
	}
	return kernel.Implementation() + ",generic"
}

// parseKernels resolves -kernel to implementations this machine can run.
func parseKernels(s string) ([]string, error) {
	have := kernel.Implementations()
	if s == "all" {
		return have, nil
	}
	var names []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if !slices.Contains(have, name) {
			return nil, fmt.Errorf("-kernel: unknown or unavailable implementation %q (this machine has: all, %s)", name, strings.Join(have, ", "))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names, nil
}

func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", f)
		}
		ns = append(ns, n)
	}
	return ns, nil
}

// memory is the most bytes one measurement allocates: its sources
// (fast shares two buffers among all replicas) and the target.
func memory(cfg config) float64 {
	buffers := 0
	for _, w := range cfg.workloads {
		for _, n := range cfg.replicas {
			if w == "fast" {
				n = min(n, 2)
			}
			buffers = max(buffers, n+1)
		}
	}
	return float64(buffers) * float64(cfg.objects) * float64(cfg.objectSize)
}
