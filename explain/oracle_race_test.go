//go:build race

package explain_test

// oRaceWorlds: under the race detector TestSoundnessOracle explains fewer
// worlds, so that it stays within about 20 s on two cores.
const oRaceWorlds = 10000
