//go:build race

package sigma

// raceDetector reports whether the tests run with -race.
const raceDetector = true
