//go:build race

package node

// raceEnabled: the race detector multiplies CPU cost several times; timing
// bounds that stand for the product's behaviour are scaled by raceSlowdown.
const raceEnabled = true

// raceSlowdown scales timing bounds under the race detector.
const raceSlowdown = 3
