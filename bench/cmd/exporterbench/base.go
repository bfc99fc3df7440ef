//go:build linux

package main

import (
	"context"
	"fmt"
	"syscall"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// loopBase is the poll loop's CPU per pass measured on a scenario's own
// namespaces: a monitor.Monitor without health (each interval: every
// link's counters, the XFRM MIB, explain on the two readings; a full
// reading only when something moved), which is what BENCHMARKS.md's Poll
// loop measures. It runs in this process, at the exporters' interval, over
// a window of -idle in which the harness does nothing else.
//
// Why measured again: since Linux 6.9 the kernel folds the SAs' offload
// counters into /proc/net/xfrm_stat (xfrm_statistics_seq_show calls
// xfrm_state_update_stats, which walks every SA under the state lock on
// each read), so reading the MIB of a namespace costs in proportion to
// its SAs. The Poll loop figure was taken with no SAs; the
// exporter, on the same namespace, pays for 20 000 of them as any reader
// of the MIB does.
type loopBase struct {
	perPass time.Duration
	cpu     time.Duration
	passes  float64
	window  time.Duration
	err     error
}

// measureLoop runs the poll loop over namespaces (by name) and returns its
// CPU per pass over a window, after warm passes (the baseline's full
// readings).
func measureLoop(ctx context.Context, names []string, interval, window time.Duration) loopBase {
	nss := make([]monitor.NetNS, len(names))
	for i, n := range names {
		nss[i] = monitor.NetNS{Name: n}
	}
	m, err := monitor.New(&monitor.Config{Interval: interval}, nss...)
	if err != nil {
		return loopBase{err: err}
	}
	defer m.Close()
	const warm = 3
	var (
		updates       int
		c0            time.Duration
		t0            time.Time
		failed        error
		measured, end bool
	)
	b := loopBase{}
	err = m.Run(ctx, func(u monitor.Update) error {
		if u.Err != nil && failed == nil {
			failed = u.Err
		}
		updates++
		pass := float64(updates) / float64(len(names))
		switch {
		case !measured && pass >= warm:
			measured, c0, t0, updates = true, processCPU(), time.Now(), 0
		case measured && !end && time.Since(t0) >= window && updates%len(names) == 0:
			end = true
			b.cpu, b.window, b.passes = processCPU()-c0, time.Since(t0), float64(updates)/float64(len(names))
			return monitor.ErrStop
		}
		return nil
	})
	switch {
	case err != nil:
		b.err = err
	case failed != nil:
		b.err = fmt.Errorf("a reading failed: %w", failed)
	case b.passes == 0:
		b.err = fmt.Errorf("no pass measured")
	default:
		b.perPass = time.Duration(float64(b.cpu) / b.passes)
	}
	return b
}

// processCPU is this process's user and system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
