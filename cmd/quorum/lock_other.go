//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import "os"

// lockFile does nothing here: run one quorum process at a time.
func lockFile(*os.File) (unlock func(), err error) { return func() {}, nil }
