package main

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Throughput of scan on page-cached replicas against plain reading of the
// same files, 3 x 256 MiB of 4 KiB objects (go test -run XXX -bench .
// -benchtime=3x ./cmd/quorum/). The files are made once per process, read
// once to be cached, and removed at the end.
//
//	BenchmarkScan          every object agreed (the healthy array)
//	BenchmarkScanRepair    every object lagging on one replica (its repair
//	                       order computed for each object)
//	BenchmarkRead          reading the three files with the same batch size

const (
	benchSize  = 256 << 20
	benchBatch = 1 << 20 // scan's default batch
)

var (
	benchOnce  = map[string]*sync.Once{"agreed": {}, "repair": {}}
	benchPaths = map[string][]string{}
	benchDirs  []string
	benchMu    sync.Mutex
)

func benchReplicas(b *testing.B, kind string) []string {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	benchOnce[kind].Do(func() {
		dir, err := os.MkdirTemp("", "quorum-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDirs = append(benchDirs, dir)
		paths := []string{filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img"), filepath.Join(dir, "c.img")}
		if code := run(append([]string{"format", "--size", "256MiB"}, paths...), io.Discard, os.Stderr); code != 0 {
			b.Fatalf("format: exit %d", code)
		}
		if kind == "repair" {
			if code := run([]string{"write", "--missing", "2", paths[0], paths[1]}, io.Discard, os.Stderr); code != 0 {
				b.Fatalf("write: exit %d", code)
			}
		}
		readFiles(b, paths, make([]byte, benchBatch)) // into the page cache
		benchPaths[kind] = paths
	})
	if benchPaths[kind] == nil {
		b.Fatal("no replicas")
	}
	return benchPaths[kind]
}

func readFiles(b *testing.B, paths []string, buf []byte) {
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			b.Fatal(err)
		}
		for off := int64(0); ; off += int64(len(buf)) {
			n, err := f.ReadAt(buf, off)
			if err == io.EOF && n == 0 {
				break
			}
			if err != nil && err != io.EOF {
				b.Fatal(err)
			}
		}
		f.Close()
	}
}

func benchScan(b *testing.B, kind string, want int) {
	paths := benchReplicas(b, kind)
	b.SetBytes(3 * benchSize)
	b.ResetTimer()
	for b.Loop() {
		if code := run(append([]string{"scan"}, paths...), io.Discard, io.Discard); code != want {
			b.Fatalf("scan: exit %d, want %d", code, want)
		}
	}
}

func BenchmarkScan(b *testing.B)       { benchScan(b, "agreed", exitClean) }
func BenchmarkScanRepair(b *testing.B) { benchScan(b, "repair", exitRepairable) }

func BenchmarkRead(b *testing.B) {
	paths := benchReplicas(b, "agreed")
	buf := make([]byte, benchBatch)
	b.SetBytes(3 * benchSize)
	b.ResetTimer()
	for b.Loop() {
		readFiles(b, paths, buf)
	}
}
