package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/lockstep/quorum/cmd/internal/timing"
	"github.com/lockstep/quorum/kernel"
)

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
				calls[i] = call(s, sources, cfg.objectSize, results, target)
			}
			samples, err := timing.Measure(calls, cfg.objects, cfg.reps, cfg.runTime)
			if err != nil {
				return nil, fmt.Errorf("%s, %d replicas: %w", w, n, err)
			}
			for i, s := range cfg.series {
				row.Results = append(row.Results, Result{s.kernel, s.workers, s.one, w, samples[i].Median, samples[i].Spread()})
			}
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// call is one timed call of series s: the whole batch, or every object of
// it one call at a time.
func call(s series, sources [][]byte, objectSize int, results []kernel.Result, target []byte) func() error {
	switch {
	case s.workers > 0:
		return func() error { return kernel.CalculateParallel(sources, 0, objectSize, results, target, s.workers) }
	case s.one == oneQuorum:
		objects := perObject(sources, objectSize, 0, kernel.VectorSize)
		return func() error {
			for o, vectors := range objects {
				r, err := kernel.Quorum(vectors)
				if err != nil {
					return err
				}
				results[o] = r
			}
			return nil
		}
	case s.one == oneRoles:
		objects := perObject(sources, objectSize, 0, kernel.VectorSize)
		roles := make([]kernel.Role, len(sources))
		return func() error {
			for o, vectors := range objects {
				r, err := kernel.Roles(vectors, roles)
				if err != nil {
					return err
				}
				results[o] = r
			}
			return nil
		}
	case s.one == oneCalculate:
		objects := perObject(sources, objectSize, 0, objectSize)
		return func() error {
			for o, object := range objects {
				if err := kernel.Calculate(object, 0, objectSize, results[o:o+1], target[o*objectSize:(o+1)*objectSize]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return func() error { return kernel.CalculateWith(s.kernel, sources, 0, objectSize, results, target) }
}

// perObject slices every object out of the sources: for each object, each
// replica's bytes [from, to) of it, as a read path holds them.
func perObject(sources [][]byte, objectSize, from, to int) [][][]byte {
	objects := make([][][]byte, len(sources[0])/objectSize)
	for o := range objects {
		objects[o] = make([][]byte, len(sources))
		for r, s := range sources {
			objects[o][r] = s[o*objectSize+from : o*objectSize+to]
		}
	}
	return objects
}
