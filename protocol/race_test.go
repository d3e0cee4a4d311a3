//go:build race

package protocol

// raceEnabled is true when the tests run with the race detector, which
// makes long state tests about ten times slower.
const raceEnabled = true
