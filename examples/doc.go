// Package examples holds tunnelstat's runnable programs. It is its own
// module so that their dependencies (the Prometheus client) never reach
// users who only embed the library.
//
//   - tunnelstat (./tunnelstat): the command line tool. "tunnelstat demo"
//     explains real captures on any machine; show, snapshot, explain and
//     watch read a live network namespace or saved readings.
//   - exporter (./exporter): a Prometheus exporter, run as an agent that
//     polls one namespace or all of them (--netns all) in the background:
//     every tunnel counter apart, per-tunnel health, the XFRM MIB and
//     events, SA and policy metrics, and the causes explain finds between
//     polls.
//
// Run them from the repository root:
//
//	go run ./examples/tunnelstat demo
//	go run ./examples/exporter --listen 127.0.0.1:9469
//
// The repository's README.md is their user's guide.
package examples
