package about

import "time"

// Clock measures the core's clock in GHz by timing a chain of dependent
// integer adds, one cycle each on every x86-64 and arm64 core: what the
// core runs at under load, turbo included, which the brand string does not
// say. It returns 0 where it cannot measure (other architectures). Under an
// emulator it measures the emulator.
func Clock() float64 {
	if !haveAddChain {
		return 0
	}
	const adds = 10 // per iteration of addChain
	best := 0.0
	for range 5 { // the fastest of a few runs: the others met interruptions
		iterations := 10_000_000
		start := time.Now()
		addChain(iterations)
		if ghz := float64(iterations*adds) / float64(time.Since(start).Nanoseconds()); ghz > best {
			best = ghz
		}
	}
	return best
}
