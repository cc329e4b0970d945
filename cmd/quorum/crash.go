package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

// Test-only hooks, read from the environment, undocumented in the usage:
//
//	QUORUM_TEST_CRASH=k        repair --apply kills itself (SIGKILL, no
//	                           cleanup) at its k-th crash point: before each
//	                           journal write, journal sync, object written in
//	                           place, replica sync and journal removal. With
//	                           the hook set, runs are written object by object
//	                           so that every object is a crash point, and the
//	                           number of crash points is printed to stderr at
//	                           the end ("quorum: test: N crash points").
//	QUORUM_TEST_CRASH_TEAR=1   at that point, if it is a write, first write
//	                           half of the object or journal record (a torn
//	                           write, as a power failure can leave).
//	QUORUM_TEST_BATCH_DELAY=d  sleep d after each batch a repair writes, so a
//	                           kill after a random delay lands mid-repair.
type crasher struct {
	at    int64 // 0: never
	n     int64
	tear  bool
	delay time.Duration
}

func crasherFromEnv() *crasher {
	c := &crasher{}
	if v := os.Getenv("QUORUM_TEST_CRASH"); v != "" {
		c.at, _ = strconv.ParseInt(v, 10, 64)
		c.tear = os.Getenv("QUORUM_TEST_CRASH_TEAR") == "1"
	}
	if v := os.Getenv("QUORUM_TEST_BATCH_DELAY"); v != "" {
		c.delay, _ = time.ParseDuration(v)
	}
	return c
}

func (c *crasher) armed() bool { return c != nil && c.at > 0 }

// point counts a crash point and dies at the chosen one.
func (c *crasher) point() {
	if c.hit() {
		die()
	}
}

// hit counts a crash point and reports whether it is the chosen one.
func (c *crasher) hit() bool {
	if !c.armed() {
		return false
	}
	c.n++
	return c.n == c.at
}

func (c *crasher) report(w io.Writer) {
	if c.armed() {
		fmt.Fprintf(w, "quorum: test: %d crash points\n", c.n)
	}
}

// die ends the process as a crash would: SIGKILL, no deferred functions,
// no buffers flushed, no file synced.
func die() {
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Kill()
	}
	time.Sleep(time.Minute)
	os.Exit(137)
}
