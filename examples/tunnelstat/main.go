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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := newApp(os.Stdout, os.Stderr).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}
