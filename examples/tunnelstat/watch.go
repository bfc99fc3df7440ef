package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

const watchAbout = `Reads the namespace every interval and explains what moved in between,
until interrupted (Ctrl-C) or --count intervals have passed. Intervals in
which nothing moved print nothing, unless --json: then every interval
prints one report, one JSON document per line.

--netns NAME follows the name: deleted, nothing is read until a namespace
of that name exists again; deleted and added again, the new namespace is
watched from its first reading (stderr says so each time).`

func (a *app) watch(ctx context.Context, args []string) error {
	fs := a.flagSet("watch", "watch [--interval 10s] [--count N] [--netns NS] [--json]", watchAbout)
	interval := fs.Duration("interval", 10*time.Second, "time between readings (at least 100ms)")
	count := fs.Int("count", 0, "stop after `N` intervals (0: until interrupted)")
	netns := netnsFlag(fs)
	jsonOut := fs.Bool("json", false, "print one JSON report per interval, one per line")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usagef("unexpected argument %q", pos[0])
	case *interval < 100*time.Millisecond:
		return usagef("--interval %v is too short: at least 100ms", *interval)
	case *count < 0:
		return usagef("--count %d: want 0 (until interrupted) or more", *count)
	}

	ns, err := parseNetNS(*netns)
	if err != nil {
		return err
	}
	// The monitor reads the namespace in full once, then polls its
	// counters every interval and reads it in full again only when
	// something moved.
	m, err := monitor.New(&monitor.Config{Interval: *interval, Open: a.open}, ns)
	if err != nil {
		return err
	}
	defer m.Close()
	enc := json.NewEncoder(a.stdout)
	intervals, baselines, gone := 0, 0, false
	err = m.Run(ctx, func(u monitor.Update) error {
		switch {
		case errors.Is(u.Err, monitor.ErrNetNSGone):
			// The name was deleted: nothing is read (the monitor never
			// reads the namespace its sockets kept alive) until a
			// namespace of that name exists again.
			if !gone {
				fmt.Fprintf(a.stderr, "tunnelstat: %v; watching for a namespace of that name (Ctrl-C stops)\n", u.Err)
			}
			gone = true
			return nil
		case u.Err != nil:
			return u.Err
		case u.Baseline && baselines > 0:
			// The name now refers to another namespace: what follows is
			// explained from its first reading.
			baselines++
			gone = false
			fmt.Fprintf(a.stderr, "tunnelstat: %s was replaced (deleted and added again): watching the new one (%d tunnels) from its first reading\n", nsWords(*netns), len(u.Snapshot.Tunnels()))
			return nil
		case u.Baseline:
			baselines++
			a.warnUnread(u.Unread)
			if !*jsonOut {
				fmt.Fprintf(a.stderr, "tunnelstat: watching %s (%d tunnels) every %v; Ctrl-C stops\n", nsWords(*netns), len(u.Snapshot.Tunnels()), *interval)
			}
			return nil
		}
		rep := u.Report
		if *jsonOut {
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else if len(rep.Findings) > 0 || len(rep.Notes) > 0 {
			fmt.Fprintf(a.stdout, "== %s – %s\n", rep.Since.Local().Format(time.TimeOnly), rep.Until.Local().Format(time.TimeOnly))
			if err := rep.Format(a.stdout); err != nil {
				return err
			}
		}
		if intervals++; *count > 0 && intervals == *count {
			return monitor.ErrStop
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil // interrupted
	}
	return err
}
