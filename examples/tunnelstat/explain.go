package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// filesFlag is a flag that may be given more than once: the files of one
// reading (a /proc/net/dev copy and its xfrm_stat).
type filesFlag []string

func (f *filesFlag) String() string { return strings.Join(*f, ",") }
func (f *filesFlag) Set(v string) error {
	if v == "" {
		return fmt.Errorf("empty file name")
	}
	*f = append(*f, v)
	return nil
}

const explainAbout = `Explains which kernel code path counted each tunnel and IPsec error, how
many events that is and how sure the count is, with the commands that
confirm it (the tunnel's addresses, keys and SPIs filled in).

  tunnelstat explain                     this namespace, counters since boot
  tunnelstat explain --since FILE        what moved between FILE and now
  tunnelstat explain --before A --after B   what moved between two readings
  tunnelstat explain FILE...             one reading, counters since boot

` + monitor.LoadHelp + `

--before, --after and --since may be repeated for the files of one reading:
  tunnelstat explain --before b/dev --before b/xfrm_stat --after a/dev --after a/xfrm_stat

Findings that share a "group" explain the same events: the counters cannot
tell those causes apart, and the checks say what would.`

func (a *app) explain(ctx context.Context, args []string) error {
	fs := a.flagSet("explain", "explain [flags] [FILE...]", explainAbout)
	var since, before, after filesFlag
	fs.Var(&since, "since", "explain what moved between the reading in `FILE` and now (live)")
	fs.Var(&before, "before", "the earlier reading: a snapshot `FILE`, a copy of /proc/net/dev or xfrm_stat, or a directory")
	fs.Var(&after, "after", "the later reading (`FILE`), as --before")
	kernel := fs.String("kernel", "", "the kernel `RELEASE` (uname -r) raw captures were taken on, when they do not say")
	netns := netnsFlag(fs)
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	failOn := fs.Bool("fail-on-findings", false, "exit with status 3 when there is any finding")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}

	var before1, after1 *monitor.Snapshot
	var what string
	switch {
	case len(before) > 0 || len(after) > 0:
		if len(before) == 0 || len(after) == 0 {
			return usagef("--before and --after go together (for one reading explained since boot, give its files without a flag)")
		}
		if len(since) > 0 || len(pos) > 0 || *netns != "" {
			return usagef("--before/--after explain two saved readings: --since, --netns and more files do not apply")
		}
		if before1, err = a.loadFiles(before, *kernel); err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		if after1, err = a.loadFiles(after, *kernel); err != nil {
			return fmt.Errorf("--after: %w", err)
		}
		what = fmt.Sprintf("What moved between %s and %s", describeFiles(before, before1), describeFiles(after, after1))
	case len(pos) > 0:
		if len(since) > 0 || *netns != "" {
			return usagef("files explain a saved reading: --since and --netns do not apply (to compare a file with now, use --since FILE)")
		}
		if after1, err = a.loadFiles(pos, *kernel); err != nil {
			return err
		}
		what = "Counters of " + describeFiles(pos, after1) + " since boot (or since each interface was created)"
	case len(since) > 0:
		if before1, err = a.loadFiles(since, *kernel); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		if after1, err = a.readLive(ctx, *netns); err != nil {
			return err
		}
		what = fmt.Sprintf("What moved between %s and now (%s)", describeFiles(since, before1), nsWords(*netns))
	default:
		if *kernel != "" {
			return usagef("--kernel is for saved readings; a live reading knows its kernel")
		}
		if after1, err = a.readLive(ctx, *netns); err != nil {
			return err
		}
		what = "Counters of " + nsWords(*netns) + " since boot (or since each interface was created)"
	}

	var rep explain.Report
	if before1 == nil {
		rep = explain.Explain(nil, after1.Reading())
	} else {
		rep = explain.Explain(before1.Reading(), after1.Reading())
	}
	if *jsonOut {
		if err := writeJSON(a.stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "%s:\n\n", what)
		if err := rep.Format(a.stdout); err != nil {
			return err
		}
	}
	if *failOn && len(rep.Findings) > 0 {
		return errFindings
	}
	return nil
}

func describeFiles(paths []string, s *monitor.Snapshot) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = shown(p)
	}
	d := strings.Join(names, " + ")
	if !s.Time.IsZero() {
		d += " (" + s.Time.Format("2006-01-02 15:04:05Z07:00") + ")"
	}
	return d
}

func nsWords(netns string) string {
	if netns == "" {
		return "this network namespace"
	}
	return "network namespace " + shown(netns)
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}
