// Package examples holds tunnelstat's runnable programs (the tunnelstat CLI and
// a Prometheus exporter). It is its own module so that their dependencies never
// reach users who only embed the library.
package examples
