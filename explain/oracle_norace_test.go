//go:build !race

package explain_test

// oRaceWorlds is 0 without the race detector: TestSoundnessOracle explains
// its full 20 000 worlds.
const oRaceWorlds = 0
