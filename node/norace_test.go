//go:build !race

package node

const raceEnabled = false

// raceSlowdown scales timing bounds under the race detector.
const raceSlowdown = 3
