//go:build !linux

// Command guestinit is /init inside a vmtest VM; it only runs on Linux.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "guestinit: runs only as /init of a Linux vmtest VM")
	os.Exit(1)
}
