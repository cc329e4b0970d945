// Command bench prints the original @ronomon/quorum benchmark table: ns per
// object for REPLICAS = 1, 2, 4, ... 128 and 255, on the original's FAST and
// SLOW workloads (1000 objects of 32 bytes), for the implementation
// Calculate runs on this machine. Every number is the median of several
// timed repetitions after a warm-up.
//
//	go run ./cmd/bench                          # the original's table
//	go run ./cmd/bench -kernel all              # every implementation, with speed-ups over generic
//	go run ./cmd/bench -object-size 4096        # 4 KiB objects, vector at offset 0: the copy dominates
//	go run ./cmd/bench -workload fast,fastcopies  # what aliased FAST buffers hide
//	go run ./cmd/bench -parallel 2 -objects 2097152 -replicas 3 -workload fastcopies
//	go run ./cmd/bench -kernel all -json -svg docs/bench.svg
//
// Usage errors exit with status 2, a failing Calculate with status 1.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
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
}

// series is one column group: an implementation run by CalculateWith, or
// (workers > 0) the active one run by CalculateParallel.
type series struct {
	kernel  string
	workers int
}

func (s series) String() string {
	if s.workers > 0 {
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
	Workload    string  `json:"workload"`
	NsPerObject float64 `json:"ns_per_object"`
}

// Report is the -json output.
type Report struct {
	CPU             string   `json:"cpu"`
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
	kernels := fs.String("kernel", kernel.Implementation(), "implementations to time: all, or a comma list of "+strings.Join(kernel.Implementations(), ", "))
	replicas := fs.String("replicas", "1,2,4,8,16,32,64,128,255", "comma list of replica counts, 1 to 255")
	objects := fs.Int("objects", 1000, "objects per replica")
	objectSize := fs.Int("object-size", 32, "bytes per object, at least 32; the vector is at offset 0")
	wls := fs.String("workload", "fast,slow", "comma list of fast, slow, fastcopies (fast with a buffer per replica instead of two shared ones), agree (every replica the same, each in its own buffer)")
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
		cfg.series = append(cfg.series, series{kernel.Implementation(), *parallel})
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

// bench times every series on every workload at every replica count. Each
// workload's sources are built once per replica count (from a fixed seed)
// and shared by all series, so columns compare the same bytes.
func bench(cfg config) ([]Row, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	results := make([]kernel.Result, cfg.objects)
	target := make([]byte, cfg.objects*cfg.objectSize)
	var rows []Row
	for _, n := range cfg.replicas {
		row := Row{Replicas: n}
		for _, w := range cfg.workloads {
			sources := workloads[w](rng, n, cfg.objects, cfg.objectSize)
			calls := make([]func() error, len(cfg.series))
			for i, s := range cfg.series {
				calls[i] = func() error {
					if s.workers > 0 {
						return kernel.CalculateParallel(sources, 0, cfg.objectSize, results, target, s.workers)
					}
					return kernel.CalculateWith(s.kernel, sources, 0, cfg.objectSize, results, target)
				}
			}
			ns, err := measure(calls, cfg.objects, cfg.reps, cfg.runTime)
			if err != nil {
				return nil, fmt.Errorf("%s, %d replicas: %w", w, n, err)
			}
			for i, s := range cfg.series {
				row.Results = append(row.Results, Result{s.kernel, s.workers, w, ns[i]})
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// measure returns, for each call, the median ns per object of reps timed
// repetitions, each repeating the call for about d. A warm-up of at least
// d/4 per call first finds how many calls take d. The calls take turns in
// every repetition, so a noisy neighbour slows them alike and their ratios
// stay put.
func measure(calls []func() error, objects, reps int, d time.Duration) ([]float64, error) {
	timed := func(call func() error, times int) (time.Duration, error) {
		start := time.Now()
		for range times {
			if err := call(); err != nil {
				return 0, err
			}
		}
		return time.Since(start), nil
	}
	counts := make([]int, len(calls))
	for i, call := range calls {
		for counts[i] = 1; ; counts[i] *= 2 {
			t, err := timed(call, counts[i])
			if err != nil {
				return nil, err
			}
			if t >= d/4 {
				counts[i] = max(1, int(float64(counts[i])*float64(d)/float64(t)))
				break
			}
		}
	}
	samples := make([][]float64, len(calls))
	for range reps {
		for i, call := range calls {
			t, err := timed(call, counts[i])
			if err != nil {
				return nil, err
			}
			samples[i] = append(samples[i], float64(t.Nanoseconds())/float64(counts[i]*objects))
		}
	}
	medians := make([]float64, len(calls))
	for i, s := range samples {
		slices.Sort(s)
		medians[i] = s[reps/2]
	}
	return medians, nil
}

// writeTable prints the original's table: one FAST=/SLOW= column per
// workload, grouped by series side by side when there are several, each
// with its speed-up over generic (parallel: over its kernel on one goroutine).
func writeTable(w io.Writer, cfg config, rows []Row) error {
	fmt.Fprintf(w, "\n  %s, %s/%s, implementation %s\n", cpuName(), runtime.GOOS, runtime.GOARCH, kernel.Implementation())
	fmt.Fprintf(w, "  %d objects of %d bytes, vector at offset 0, median of %d runs\n\n", cfg.objects, cfg.objectSize, cfg.reps)
	fmt.Fprintf(w, "                NS PER OBJECT\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	if len(cfg.series) > 1 || cfg.series[0] != (series{kernel: kernel.Implementation()}) {
		header := " "
		for _, s := range cfg.series {
			header += "\t" + s.String() + strings.Repeat("\t", len(cfg.workloads)-1)
		}
		fmt.Fprintln(tw, strings.TrimRight(header, "\t"))
	}
	speedups, parallel := false, false
	for _, row := range rows {
		fmt.Fprintf(tw, "  REPLICAS=%d", row.Replicas)
		for _, s := range cfg.series {
			for _, wl := range cfg.workloads {
				ns := lookup(row, s, wl)
				fmt.Fprintf(tw, "\t%s=%s", strings.ToUpper(wl), fmtNs(ns))
				if base, ok := baseline(cfg, s); ok {
					fmt.Fprintf(tw, " (%.1fx)", lookup(row, base, wl)/ns)
					speedups, parallel = true, parallel || s.workers > 0
				}
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if speedups {
		fmt.Fprint(w, "\n  (N.Nx): speed-up over generic")
		if parallel {
			fmt.Fprint(w, "; parallel: over the same kernel on one goroutine")
		}
		fmt.Fprintln(w)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// baseline is the series s is compared with in the table, if measured.
func baseline(cfg config, s series) (series, bool) {
	base := series{kernel: "generic"}
	if s.workers > 0 {
		base = series{kernel: s.kernel}
	}
	return base, s != base && slices.Contains(cfg.series, base)
}

func lookup(row Row, s series, wl string) float64 {
	for _, r := range row.Results {
		if r.Kernel == s.kernel && r.Workers == s.workers && r.Workload == wl {
			return r.NsPerObject
		}
	}
	return 0
}

func fmtNs(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1fns", v)
	}
	return fmt.Sprintf("%.0fns", v)
}

func writeJSON(w io.Writer, cfg config, rows []Row) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Report{
		CPU:             cpuName(),
		GOOS:            runtime.GOOS,
		GOARCH:          runtime.GOARCH,
		Implementation:  kernel.Implementation(),
		Implementations: kernel.Implementations(),
		Objects:         cfg.objects,
		ObjectSize:      cfg.objectSize,
		Repetitions:     cfg.reps,
		Rows:            rows,
	})
}

// cpuName describes the CPU, as the original's table heads it: brand,
// vendor, family, model and microarchitecture.
func cpuName() string { return about.CPU() }
