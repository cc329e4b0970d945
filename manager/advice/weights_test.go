package advice

import (
	"github.com/lockstep/quorum/manager"

	"testing"
	"time"
)

func TestCapabilityScore(t *testing.T) {
	tests := []struct {
		c    manager.Capabilities
		want int
	}{
		{manager.Capabilities{}, 50}, // unknown: neutral
		{manager.Capabilities{CPU: RefCPU, MemoryMB: RefMemoryMB, BandwidthMbps: RefBandwidthMbps}, 100},
		{manager.Capabilities{CPU: 1000, MemoryMB: 1 << 30, BandwidthMbps: 1 << 30}, 100}, // capped
		{manager.Capabilities{CPU: 4}, 20},
		{manager.Capabilities{CPU: 1, MemoryMB: 1}, 5},
		{manager.Capabilities{MemoryMB: RefMemoryMB / 2, BandwidthMbps: RefBandwidthMbps / 2}, 30},
		{manager.Capabilities{CPU: -5, BandwidthMbps: 1000}, 3},
	}
	for _, tt := range tests {
		if got := CapabilityScore(tt.c); got != tt.want {
			t.Errorf("CapabilityScore(%+v) = %d, want %d", tt.c, got, tt.want)
		}
	}
}

func TestWeightFor(t *testing.T) {
	full := manager.Capabilities{CPU: RefCPU, MemoryMB: RefMemoryMB, BandwidthMbps: RefBandwidthMbps}
	tests := []struct {
		c       manager.Capabilities
		latency time.Duration
		known   bool
		want    manager.Weight
	}{
		{manager.Capabilities{}, 0, false, manager.One}, // nothing known: one vote
		{manager.Capabilities{}, 0, true, manager.One},
		{full, 0, true, manager.MaxWeight},
		{full, 400 * time.Millisecond, true, 1200}, // 60% of 2.0
		{manager.Capabilities{}, 400 * time.Millisecond, true, 600},
		{manager.Capabilities{CPU: 1}, 0, true, 550},                                    // score 5
		{manager.Capabilities{CPU: 1}, 950 * time.Millisecond, true, manager.MinWeight}, // clamped up
		{full, time.Hour, true, 200},                                                    // factor floors at 0.1
		{manager.Capabilities{}, -time.Second, true, manager.One},
	}
	for _, tt := range tests {
		if got := WeightFor(tt.c, tt.latency, tt.known); got != tt.want {
			t.Errorf("WeightFor(%+v, %v, %v) = %v, want %v", tt.c, tt.latency, tt.known, got, tt.want)
		}
	}
	// Always within bounds; never heavier when slower or when scoring less.
	for score := 0; score <= 100; score++ {
		prev := manager.MaxWeight + 1
		for ms := 0; ms <= 1100; ms += 25 {
			w := weightFrom(score, time.Duration(ms)*time.Millisecond, true)
			if w < manager.MinWeight || w > manager.MaxWeight || w > prev {
				t.Fatalf("score %d latency %dms: weight %v (previous %v)", score, ms, w, prev)
			}
			if score > 0 && weightFrom(score-1, time.Duration(ms)*time.Millisecond, true) > w {
				t.Fatalf("score %d latency %dms: a lower score weighs more", score, ms)
			}
			prev = w
		}
	}
}
