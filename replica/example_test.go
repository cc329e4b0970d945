package replica_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/lockstep/quorum/replica"
)

// A three-drive set: format it, write, read, miss a drive for a while,
// scan and repair, then replace a dead drive and rebuild it.
func Example() {
	dir, err := os.MkdirTemp("", "replica-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	paths := []string{filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img"), filepath.Join(dir, "c.img")}
	geo := replica.Geometry{ObjectSize: 4096, VectorOffset: 0, Objects: 1024}

	// Format: every replica gets a superblock, every object one vector.
	set, err := replica.Create(paths, geo, nil)
	if err != nil {
		log.Fatal(err)
	}
	data := bytes.Repeat([]byte("v1"), 2048)
	if err := set.Write(7, data); err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, geo.ObjectSize)
	r, err := set.Read(7, buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read object 7: %q..., a chain of %d\n", buf[32:36], r.Length)
	set.Close()

	// Drive c is away: a write reaches a and b, which are still a quorum.
	set, err = replica.Open([]string{paths[0], paths[1], ""}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := set.Write(7, bytes.Repeat([]byte("v2"), 2048)); err != nil {
		log.Fatal(err)
	}
	set.Close()

	// c is back, one write behind: scan sees it, repair catches it up.
	set, err = replica.Open(paths, nil)
	if err != nil {
		log.Fatal(err)
	}
	show := func(rg *replica.Range) error {
		fmt.Printf("  objects %d-%d: %v, repair order %v\n", rg.First, rg.First+rg.Count-1, rg.Status, rg.Order)
		return nil
	}
	rep, err := set.Scan(context.Background(), replica.ScanOptions{Range: show})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("scan: %d lagging\n", rep.Counts[replica.Lagging])
	rep, err = set.Scan(context.Background(), replica.ScanOptions{Repair: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("repair: %d objects, %d copies written\n", rep.Repaired, rep.Copies)
	set.Close()

	// Drive b dies and a blank one takes its place.
	if err := os.WriteFile(paths[1], nil, 0o644); err != nil {
		log.Fatal(err)
	}
	if _, err := replica.Open(paths, nil); err != nil {
		fmt.Println("open:", filepath.Base(paths[1]), "is not formatted")
	}
	set, err = replica.Open([]string{paths[0], "", paths[2]}, nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := set.Replace(1, paths[1]); err != nil {
		log.Fatal(err)
	}
	done, err := set.Rebuild(context.Background(), replica.RebuildOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("rebuilt replica %d: %d objects copied\n", done[0].Replica, done[0].Copied)
	rep, err = set.Scan(context.Background(), replica.ScanOptions{VerifyData: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("scan: %d of %d objects agreed\n", rep.Counts[replica.Agreed], rep.Objects)
	set.Read(7, buf)
	fmt.Printf("read object 7: %q...\n", buf[32:36])
	set.Close()
	// Output:
	// read object 7: "v1v1"..., a chain of 3
	//   objects 0-6: agreed, repair order []
	//   objects 7-7: lagging, repair order [2]
	//   objects 8-1023: agreed, repair order []
	// scan: 1 lagging
	// repair: 1 objects, 1 copies written
	// open: b.img is not formatted
	// rebuilt replica 1: 1024 objects copied
	// scan: 1024 of 1024 objects agreed
	// read object 7: "v2v2"...
}
