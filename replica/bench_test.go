package replica_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lockstep/quorum/replica"
)

// The scan benchmarks read 3 page-cached replicas of 64 MiB of objects;
// BenchmarkReadFiles reads the same files the plainest way (1 MiB preads,
// one file after the other, as cat does) for the ratio the README gives.
// Compare MB/s in one run: go test -run '^$' -bench 'Scan|ReadFiles' ./replica/

const benchBytes = 64 << 20

var benchSets = map[string][]string{}

// benchSet formats (once per process) 3 replicas of osz-byte objects; with
// lagging, replica 2 is one write behind on every object (all-repair).
func benchSet(b *testing.B, osz int, lagging bool) []string {
	key := fmt.Sprint(osz, lagging)
	if p, ok := benchSets[key]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "replica-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		os.RemoveAll(dir)
		delete(benchSets, key)
	})
	var paths []string
	for i := range 3 {
		paths = append(paths, filepath.Join(dir, "r"+strconv.Itoa(i)))
	}
	objects := int64(benchBytes / osz)
	s, err := replica.Create(paths, replica.Geometry{ObjectSize: osz, Objects: objects}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if lagging {
		// One write reaching replicas 0 and 1, copied to every object: each
		// object then has the same two vectors, as after a long outage.
		if err := s.Close(); err != nil {
			b.Fatal(err)
		}
		s, err = replica.Open([]string{paths[0], paths[1], ""}, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Write(0, make([]byte, osz)); err != nil {
			b.Fatal(err)
		}
		s.Close()
		obj := make([]byte, osz)
		for _, p := range paths[:2] {
			f, _ := os.OpenFile(p, os.O_RDWR, 0)
			f.ReadAt(obj, replica.DataOffset)
			chunk := slices.Repeat(obj, (1<<20)/osz)
			for off := int64(0); off < benchBytes; off += int64(len(chunk)) {
				f.WriteAt(chunk, replica.DataOffset+off)
			}
			f.Close()
		}
	} else {
		s.Close()
	}
	benchSets[key] = paths
	return paths
}

// eachScanSet runs f as a sub-benchmark on each of the four sets, open
// read-only: 4096- and 32-byte objects, all agreed or all to repair.
func eachScanSet(b *testing.B, f func(b *testing.B, s *replica.Set, paths []string, lagging bool)) {
	for _, osz := range []int{4096, 32} {
		for _, lag := range []bool{false, true} {
			name := fmt.Sprintf("%d/agreed", osz)
			if lag {
				name = fmt.Sprintf("%d/repair", osz)
			}
			paths := benchSet(b, osz, lag)
			b.Run(name, func(b *testing.B) {
				s, err := replica.Open(paths, &replica.Options{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				f(b, s, paths, lag)
			})
		}
	}
}

func BenchmarkScan(b *testing.B) {
	eachScanSet(b, func(b *testing.B, s *replica.Set, _ []string, lag bool) {
		b.SetBytes(3 * benchBytes)
		for b.Loop() {
			rep, err := s.Scan(context.Background(), replica.ScanOptions{})
			if err != nil || (lag && rep.Counts[replica.Lagging] != rep.Objects) || (!lag && !rep.Clean()) {
				b.Fatalf("%+v %v", rep, err)
			}
		}
	})
}

func BenchmarkReadFiles(b *testing.B) {
	paths := benchSet(b, 4096, false)
	buf := make([]byte, 1<<20)
	b.SetBytes(3 * benchBytes)
	for b.Loop() {
		readFiles(b, paths, buf)
	}
}

// readFiles reads the files the plainest way: 1 MiB preads, one file after
// the other, as cat does.
func readFiles(b *testing.B, paths []string, buf []byte) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(replica.DataOffset); ; off += int64(len(buf)) {
			n, _ := f.ReadAt(buf, off)
			if n < len(buf) {
				break
			}
		}
		f.Close()
	}
}

// BenchmarkScanVsRead times a scan and a plain read of the same files in
// turn, iteration by iteration, and reports the scan's speed as a share of
// the read's (the median of the iterations' ratios): on a noisy machine
// both see the same noise. This is the figure the README gives.
func BenchmarkScanVsRead(b *testing.B) {
	eachScanSet(b, func(b *testing.B, s *replica.Set, paths []string, _ bool) {
		buf := make([]byte, 1<<20)
		var ratios []float64
		for b.Loop() {
			t0 := time.Now()
			readFiles(b, paths, buf)
			t1 := time.Now()
			if _, err := s.Scan(context.Background(), replica.ScanOptions{}); err != nil {
				b.Fatal(err)
			}
			ratios = append(ratios, float64(t1.Sub(t0))/float64(time.Since(t1)))
		}
		slices.Sort(ratios)
		b.ReportMetric(ratios[len(ratios)/2], "x-read-speed")
	})
}

// BenchmarkRead is one Read of a 4096-byte object at N=3 from page-cached
// files, at random objects; p50 and p99 are of single calls.
func BenchmarkRead(b *testing.B) {
	paths := benchSet(b, 4096, false)
	s, err := replica.Open(paths, &replica.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]byte, 4096)
	objects := s.Geometry().Objects
	lat := make([]time.Duration, 0, 1<<16)
	i := int64(1)
	for b.Loop() {
		i = (i*7919 + 13) % objects
		t0 := time.Now()
		if _, err := s.Read(i, buf); err != nil {
			b.Fatal(err)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportLatency(b, lat)
}

// BenchmarkPread3 is the floor BenchmarkRead is measured against: the same
// three 4096-byte preads and nothing else.
func BenchmarkPread3(b *testing.B) {
	paths := benchSet(b, 4096, false)
	var files []*os.File
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	buf := make([]byte, 4096)
	objects := int64(benchBytes / 4096)
	lat := make([]time.Duration, 0, 1<<16)
	i := int64(1)
	for b.Loop() {
		i = (i*7919 + 13) % objects
		t0 := time.Now()
		for _, f := range files {
			f.ReadAt(buf, replica.DataOffset+i*4096)
		}
		if len(lat) < cap(lat) {
			lat = append(lat, time.Since(t0))
		}
	}
	reportLatency(b, lat)
}

func reportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
