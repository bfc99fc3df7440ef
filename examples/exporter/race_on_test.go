//go:build race

package main

// raceEnabled: the race detector slows everything down several times, so
// load tests expect less of the machine.
const raceEnabled = true
