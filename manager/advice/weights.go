package advice

import (
	"time"

	"github.com/lockstep/quorum/manager"
)

// Reference capabilities: a node with at least these scores full marks in
// that capability.
const (
	RefCPU           = 8     // cores
	RefMemoryMB      = 16384 // megabytes
	RefBandwidthMbps = 10000 // megabits per second
)

// CapabilityScore rates a node's capabilities 0 to 100: 40 points for CPU,
// 30 for memory and 30 for bandwidth, each in proportion to its reference
// value and capped there. Unknown capabilities (all zero) score a neutral
// 50, so a node nothing is known about is not penalised.
func CapabilityScore(c manager.Capabilities) int {
	if c == (manager.Capabilities{}) {
		return 50
	}
	part := func(v, ref, points int) int { return min(max(v, 0), ref) * points / ref }
	return part(c.CPU, RefCPU, 40) + part(c.MemoryMB, RefMemoryMB, 30) + part(c.BandwidthMbps, RefBandwidthMbps, 30)
}

// WeightFor is the voting weight the design gives a node for its
// capabilities and its smoothed latency, in MinWeight..MaxWeight.
//
// The score sets a base weight, linear from 0.5 (score 0) through One
// (score 50) to 2.0 (score 100); latency scales it by 1 - latency/1s,
// floored at 0.1, so a node 400ms away keeps 60% of its weight. An unknown
// latency (known false) scales by 1. The result is clamped to the bounds.
func WeightFor(c manager.Capabilities, latency time.Duration, known bool) manager.Weight {
	return weightFrom(CapabilityScore(c), latency, known)
}

// weightFrom applies the latency factor to a 0..100 score.
func weightFrom(score int, latency time.Duration, known bool) manager.Weight {
	score = min(max(score, 0), 100)
	var base int64 // milli-votes
	if score <= 50 {
		base = 500 + 10*int64(score)
	} else {
		base = 1000 + 20*int64(score-50)
	}
	factor := int64(1000) // per mille
	if known {
		ms := min(max(latency.Milliseconds(), 0), 1000)
		factor = max(100, 1000-ms)
	}
	w := base * factor / 1000
	return manager.Weight(min(max(w, int64(manager.MinWeight)), int64(manager.MaxWeight)))
}
