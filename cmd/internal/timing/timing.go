// Package timing times calls against each other for the benchmark tools:
// the calls take turns in every repetition, so a noisy neighbour slows
// them alike and their ratios stay put, and each result keeps its spread
// so a report can say when the machine was too noisy to quote.
package timing

import (
	"slices"
	"time"
)

// Sample is one call's cost per object over the timed repetitions.
type Sample struct {
	Median, Min, Max float64 // ns per object
}

// Spread is the range of the repetitions as a fraction of the median.
func (s Sample) Spread() float64 {
	if s.Median == 0 {
		return 0
	}
	return (s.Max - s.Min) / s.Median
}

// Measure times each call reps times, each repetition repeating the call
// for about d, and returns its cost per object (each call covers objects
// objects). A warm-up of at least d/4 per call first finds how many calls
// take d. A call's error ends the measurement.
func Measure(calls []func() error, objects, reps int, d time.Duration) ([]Sample, error) {
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
	runs := make([][]float64, len(calls))
	for range reps {
		for i, call := range calls {
			t, err := timed(call, counts[i])
			if err != nil {
				return nil, err
			}
			runs[i] = append(runs[i], float64(t.Nanoseconds())/float64(counts[i]*objects))
		}
	}
	samples := make([]Sample, len(calls))
	for i, r := range runs {
		slices.Sort(r)
		samples[i] = Sample{Median: r[len(r)/2], Min: r[0], Max: r[len(r)-1]}
	}
	return samples, nil
}

func timed(call func() error, times int) (time.Duration, error) {
	start := time.Now()
	for range times {
		if err := call(); err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
