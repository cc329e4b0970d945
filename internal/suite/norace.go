//go:build !race

package suite

// RaceEnabled reports a -race build, where sync.Pool drops items at random
// and so allocation counts are meaningless.
const RaceEnabled = false
