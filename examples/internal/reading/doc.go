// Package reading is what the tunnelstat CLI and the exporter share: one
// reading of a network namespace (links with their tunnel parameters and
// stats64, the XFRM MIB, SAs without keys, policies, SPD/SAD info, the kernel
// release), how to take it live, how to save it as a JSON document and load
// it back, how to load raw captures of /proc/net/dev and /proc/net/xfrm_stat
// instead, and how to turn any of them into an explain.Reading.
//
// The live path and the offline path meet in one type, Snapshot: a live read
// fills a Snapshot, a saved file decodes into one, and Snapshot.Reading is the
// only conversion to explain's input. So "explain --since FILE" compares like
// with like, and a saved snapshot explains exactly as the live read did.
//
// Everything that depends on the library's reading packages is in one file
// each (vtistat.go, xfrm.go), so that their API can move without touching the
// rest.
package reading
