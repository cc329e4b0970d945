package main

import (
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/lockstep/quorum/cmd/internal/about"
	"github.com/lockstep/quorum/kernel"
)

// noisy is the spread of a cell's repetitions past which the table warns
// that the machine was too noisy for its numbers to be quoted.
const noisy = 0.10

// writeTable prints the original's table: one FAST=/SLOW=... column per
// workload, grouped by series side by side when there are several, each
// cell the median with the spread of its repetitions and, beside generic,
// its speed-up over generic (parallel: over its kernel on one goroutine;
// one object per call: its cost as a multiple of the batch's).
func writeTable(w io.Writer, cfg config, rows []Row) error {
	fmt.Fprintf(w, "\n  %s, %s, %s/%s, implementation %s\n", cpuName(), clock(cfg.clockGHz), runtime.GOOS, runtime.GOARCH, kernel.Implementation())
	fmt.Fprintf(w, "  %d objects of %d bytes, vector at offset 0, median of %d runs (±: their spread)\n\n", cfg.objects, cfg.objectSize, cfg.reps)
	fmt.Fprintf(w, "                NS PER OBJECT\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	if len(cfg.series) > 1 || cfg.series[0] != (series{kernel: kernel.Implementation()}) {
		header := " "
		for _, s := range cfg.series {
			header += "\t" + s.String() + strings.Repeat("\t", len(cfg.workloads)-1)
		}
		fmt.Fprintln(tw, strings.TrimRight(header, "\t"))
	}
	var notes []string
	note := func(n string) {
		if !slices.Contains(notes, n) {
			notes = append(notes, n)
		}
	}
	widest := 0.0
	for _, row := range rows {
		fmt.Fprintf(tw, "  REPLICAS=%d", row.Replicas)
		for _, s := range cfg.series {
			for _, wl := range cfg.workloads {
				r := lookup(row, s, wl)
				widest = max(widest, r.Spread)
				fmt.Fprintf(tw, "\t%s=%s±%.0f%%", strings.ToUpper(wl), fmtNs(r.NsPerObject), 100*r.Spread)
				base, ok := baseline(cfg, s)
				switch {
				case !ok:
				case s.one != "":
					fmt.Fprintf(tw, " (%.1fx)", r.NsPerObject/lookup(row, base, wl).NsPerObject)
					note("one object per call: its cost as a multiple of the batch's")
				default:
					fmt.Fprintf(tw, " (%.1fx)", lookup(row, base, wl).NsPerObject/r.NsPerObject)
					if s.workers > 0 {
						note("parallel: speed-up over the same kernel on one goroutine")
					} else {
						note("speed-up over generic")
					}
				}
			}
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n  (N.Nx): %s\n", strings.Join(notes, "; "))
	}
	if widest > noisy {
		fmt.Fprintf(w, "\n  warning: the repetitions of a cell spread by up to %.0f%%: this machine was noisy.\n"+
			"  Compare columns of this run only, and rerun before quoting a number.\n", 100*widest)
	}
	_, err := fmt.Fprintln(w)
	return err
}

// clock is the header's word on the measured clock.
func clock(ghz float64) string {
	if ghz == 0 {
		return "clock not measured"
	}
	return fmt.Sprintf("%.2f GHz measured", ghz)
}

// baseline is the series s is compared with in the table, if measured.
func baseline(cfg config, s series) (series, bool) {
	base := series{kernel: "generic"}
	if s.workers > 0 || s.one != "" {
		base = series{kernel: s.kernel}
	}
	return base, s != base && slices.Contains(cfg.series, base)
}

func lookup(row Row, s series, wl string) Result {
	for _, r := range row.Results {
		if r.Kernel == s.kernel && r.Workers == s.workers && r.One == s.one && r.Workload == wl {
			return r
		}
	}
	return Result{}
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
		ClockGHz:        cfg.clockGHz,
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

// cpuName describes the CPU: brand, vendor, family, model and
// microarchitecture.
func cpuName() string { return about.CPU() }
