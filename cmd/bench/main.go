// Command bench prints the original @ronomon/quorum benchmark table: ns per
// object for REPLICAS = 1, 2, 4, ... 128 and 255, on the original's FAST
// and SLOW workloads (1000 objects of 32 bytes), for the implementation
// Calculate runs on this machine.
package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/cpuid/v2"
	"github.com/lockstep/quorum/internal/workload"
	"github.com/lockstep/quorum/kernel"
)

const (
	objects    = 1000
	objectSize = 32
	reps       = 7 // timed repetitions; the median is printed
)

func main() {
	fmt.Printf("\n  %s, %s/%s, implementation %s\n\n", cpuName(), runtime.GOOS, runtime.GOARCH, kernel.Implementation())
	fmt.Printf("                NS PER OBJECT\n\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 4, 8, 16, 32, 64, 128, 255} {
		fast := measure(workload.Fast(rng, n, objects, objectSize), 100)
		slow := measure(workload.Slow(rng, n, objects, objectSize), 10)
		fmt.Printf("  REPLICAS=%-4d FAST=%-8s SLOW=%s\n", n, ns(fast), ns(slow))
	}
	fmt.Println()
}

// measure returns the median ns per object of reps timed runs of `calls`
// Calculate calls each, after one untimed warm-up run.
func measure(sources [][]byte, calls int) float64 {
	results := make([]kernel.Result, objects)
	target := make([]byte, objects*objectSize)
	run := func() time.Duration {
		start := time.Now()
		for range calls {
			if err := kernel.Calculate(sources, 0, objectSize, results, target); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
				os.Exit(1)
			}
		}
		return time.Since(start)
	}
	run()
	times := make([]float64, reps)
	for i := range times {
		times[i] = float64(run().Nanoseconds()) / float64(calls*objects)
	}
	slices.Sort(times)
	return times[reps/2]
}

func ns(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.1fns", v)
	}
	return fmt.Sprintf("%.0fns", v)
}

// cpuName is the CPU's brand string, as the original's table heads it.
func cpuName() string {
	if name := cpuid.CPU.BrandName; name != "" {
		return name
	}
	return "unknown CPU"
}
