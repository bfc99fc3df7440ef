// Command vmtest runs chosen Go tests of this module inside real Debian
// kernels (5.10, 6.1, 6.12, 7.3) under qemu, and reports pass, fail or skip per
// kernel and per test.
//
//	bash internal/vmtest/setup.sh   # host packages, once
//	go run ./internal/vmtest/cmd/vmtest [flags] [packages]
//
// Packages default to ./internal/vmtest/. The exit status is 0 when every
// test passed or skipped in every kernel, 1 when something failed, 2 on
// usage errors. See internal/vmtest/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/runner"
)

func main() {
	var o runner.Options
	var kernels, modules, preload, testArgs string
	var knownNames []string
	for _, k := range runner.Matrix {
		knownNames = append(knownNames, k.Name)
	}
	flag.StringVar(&kernels, "kernels", strings.Join(knownNames, ","), "comma-separated kernels to run (matrix names or Debian suites)")
	flag.StringVar(&o.Run, "run", "", "run only tests matching this regexp (passed as -test.run)")
	flag.StringVar(&testArgs, "args", "", "more test binary flags, space separated (e.g. \"-test.count=2\")")
	flag.DurationVar(&o.Timeout, "timeout", 0, "per kernel: boot, all packages and power-off (default 10m)")
	flag.IntVar(&o.Parallel, "parallel", 0, "VMs at once (default 2)")
	flag.StringVar(&o.CacheDir, "cache", "", "cache directory (default $"+runner.EnvCache+", else $XDG_CACHE_HOME/tunnelstat-vmtest, else ~/.cache/tunnelstat-vmtest)")
	flag.StringVar(&o.ResultsDir, "results", "", "results directory for console logs and artifacts (default <cache>/results/<time>)")
	flag.StringVar(&o.CapturesDir, "captures", "", "copy artifacts saved by tests in passing kernels to <dir>/<kernel>/ (e.g. internal/vmtest/testdata/captures)")
	flag.BoolVar(&o.Refresh, "refresh", false, "ask apt for each suite's newest kernel now, not only once a week")
	flag.StringVar(&o.Mirror, "mirror", "", "Debian archive URI (default: the one in /etc/apt/sources.list{,.d})")
	flag.IntVar(&o.MemoryMiB, "memory", 0, "VM memory in MiB (default 1024)")
	flag.IntVar(&o.CPUs, "smp", 0, "VM CPUs (default 1)")
	flag.StringVar(&modules, "modules", "", "comma-separated kernel modules to add to the initramfs (with their dependencies)")
	flag.StringVar(&preload, "preload", "", "comma-separated kernel modules to load before the tests start")
	flag.BoolVar(&o.Verbose, "v", false, "print every test's output")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: go run ./internal/vmtest/cmd/vmtest [flags] [packages]\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()

	o.Kernels = splitList(kernels)
	o.ExtraModules = splitList(modules)
	o.Preload = splitList(preload)
	o.TestArgs = strings.Fields(testArgs)
	o.Packages = flag.Args()
	for _, k := range o.Kernels {
		if _, err := runner.LookupKernel(k); err != nil {
			fmt.Fprintln(os.Stderr, "vmtest:", err)
			os.Exit(2)
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := runner.Run(ctx, o)
	switch {
	case err == nil:
	case errors.Is(err, runner.ErrTestsFailed):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "vmtest:", err)
		os.Exit(1)
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
