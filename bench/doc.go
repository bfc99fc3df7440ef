// Package bench compares tunnelstat with its peers on the same input, in a
// module of its own so that the peers never become dependencies of the
// library. It holds only tests and benchmarks; see README.md.
package bench
