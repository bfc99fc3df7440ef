// Command tunnelstat says why tunnel and IPsec (XFRM) error counters moved.
//
//	tunnelstat demo                        explain real captures: no root, no tunnels needed
//	tunnelstat show                        tunnels, parameters, error counters, SAs
//	tunnelstat snapshot [-o FILE]          everything readable, as one JSON document
//	tunnelstat explain                     explain the counters since boot
//	tunnelstat explain --since FILE        explain what moved since a saved reading
//	tunnelstat explain --before A --after B
//	tunnelstat explain FILE...             explain saved readings offline
//	tunnelstat watch [--interval 10s]      explain continuously
//
// Run "tunnelstat help" for the flags, the exit status and what needs which
// privilege.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// graceAfterSignal is how long a command may take to end once
// interrupted: enough to remove a temporary file, not to finish its work.
const graceAfterSignal = 2 * time.Second

func main() {
	// A fatal runtime error (out of memory) aborts with SIGABRT rather
	// than exiting with status 2, which means a mistake on the command
	// line.
	debug.SetTraceback("crash")

	ctx, cancel := context.WithCancelCause(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdout, os.Stderr)
	a.stdoutFile, a.stdinFile = os.Stdout, os.Stdin
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, os.Args[1:]) }()
	select {
	case code := <-done:
		os.Exit(code)
	case sig := <-sigs:
		cancel(&interruption{sig})
	}
	// The first signal ends the command: every step returns once the
	// context is done. It may take the grace period to clean up; a second
	// signal, or the end of the grace period, ends the process at once.
	select {
	case code := <-done:
		os.Exit(code)
	case <-sigs:
	case <-time.After(graceAfterSignal):
	}
	os.Exit(a.interrupted(context.Cause(ctx)))
}
