package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
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

"-" reads a file of a reading from standard input (cat snap.json |
tunnelstat explain -). Only regular files are read (a named pipe, a device
or a socket is refused at once, never waited on), at most 64 MiB for one
reading's files: --max-input raises it. That is some 500 000 interfaces of
/proc/net/dev, or a snapshot of some 15 000 tunnels with their SAs and
policies.

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
	maxInput := sizeFlag(monitor.DefaultMaxBytes)
	fs.Var(&maxInput, "max-input", "read at most `SIZE` of one saved reading's files (64MiB, 1GiB, bytes)")
	pos, err := a.parse(fs, args)
	if err != nil {
		return err
	}

	stdins := 0
	for _, f := range slices.Concat(since, before, after, pos) {
		if f == "-" {
			stdins++
		}
	}
	if stdins > 1 {
		return usagef("standard input (-) can be read once: give one file as -")
	}

	// The readings: explain's input, the only thing kept of what was read.
	var before1, after1 *explain.Reading
	var what string
	switch {
	case len(before) > 0 || len(after) > 0:
		if len(before) == 0 || len(after) == 0 {
			return usagef("--before and --after go together (for one reading explained since boot, give its files without a flag)")
		}
		if len(since) > 0 || len(pos) > 0 || *netns != "" {
			return usagef("--before/--after explain two saved readings: --since, --netns and more files do not apply")
		}
		if before1, err = a.loadFiles(ctx, before, *kernel, int64(maxInput)); err != nil {
			return fmt.Errorf("--before: %w", err)
		}
		if after1, err = a.loadFiles(ctx, after, *kernel, int64(maxInput)); err != nil {
			return fmt.Errorf("--after: %w", err)
		}
		what = fmt.Sprintf("What moved between %s and %s", describeFiles(before, before1), describeFiles(after, after1))
	case len(pos) > 0:
		if len(since) > 0 || *netns != "" {
			return usagef("files explain a saved reading: --since and --netns do not apply (to compare a file with now, use --since FILE)")
		}
		if after1, err = a.loadFiles(ctx, pos, *kernel, int64(maxInput)); err != nil {
			return err
		}
		what = "Counters of " + describeFiles(pos, after1) + " since boot (or since each interface was created)"
	case len(since) > 0:
		if before1, err = a.loadFiles(ctx, since, *kernel, int64(maxInput)); err != nil {
			return fmt.Errorf("--since: %w", err)
		}
		if after1, err = a.readLiveReading(ctx, *netns); err != nil {
			return err
		}
		what = fmt.Sprintf("What moved between %s and now (%s)", describeFiles(since, before1), nsWords(*netns))
	default:
		if *kernel != "" {
			return usagef("--kernel is for saved readings; a live reading knows its kernel")
		}
		if after1, err = a.readLiveReading(ctx, *netns); err != nil {
			return err
		}
		what = "Counters of " + nsWords(*netns) + " since boot (or since each interface was created)"
	}

	// explain's engine does not watch a context: it runs in the
	// background, and an interruption ends the command at once.
	var rep explain.Report
	a.setStage("explaining")
	err = a.background(ctx, func() error {
		rep = explain.Explain(before1, after1)
		a.setStage("writing the report")
		w := &ctxWriter{ctx: ctx, w: a.stdout}
		if *jsonOut {
			return writeReportJSON(w, rep)
		}
		fmt.Fprintf(w, "%s:\n\n", what)
		return rep.Format(w)
	})
	if err != nil {
		return err
	}
	if *failOn && len(rep.Findings) > 0 {
		return errFindings
	}
	return nil
}

func describeFiles(paths []string, r *explain.Reading) string {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = shown(p)
	}
	d := strings.Join(names, " + ")
	if !r.Time.IsZero() {
		d += " (" + r.Time.Format("2006-01-02 15:04:05Z07:00") + ")"
	}
	return d
}

// readLiveReading takes one live reading for explain.
func (a *app) readLiveReading(ctx context.Context, netns string) (*explain.Reading, error) {
	snap, err := a.readLive(ctx, netns)
	if err != nil {
		return nil, err
	}
	return snap.Reading(), nil
}

func nsWords(netns string) string {
	if netns == "" {
		return "this network namespace"
	}
	return "network namespace " + shown(netns)
}

// writeReportJSON writes rep as writeJSON would, a finding at a time: a
// report of many findings is not held a second time (and a third, indented)
// as one buffer of JSON.
func writeReportJSON(w io.Writer, rep explain.Report) error {
	findings := rep.Findings
	rep.Findings = nil // encodes as []
	head, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	const empty = "\n  \"findings\": []"
	i := bytes.Index(head, []byte(empty))
	if i < 0 || len(findings) == 0 {
		rep.Findings = findings
		return writeJSON(w, rep)
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head[:i+len(empty)-1]) // up to "["
	for k := range findings {
		f, err := json.MarshalIndent(&findings[k], "    ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString("\n    ")
		bw.Write(f)
		if k < len(findings)-1 {
			bw.WriteByte(',')
		}
	}
	bw.WriteString("\n  ]")
	bw.Write(head[i+len(empty):])
	bw.WriteByte('\n')
	return bw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(v)
}

// ctxWriter stops writing once the context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// sizeFlag is a size in bytes, given as 64MiB, 64M, 1GiB, 512K or a
// number of bytes.
type sizeFlag int64

func (s *sizeFlag) String() string {
	switch n := int64(*s); {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (s *sizeFlag) Set(v string) error {
	num, unit := v, ""
	if i := strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		num, unit = v[:i], v[i:]
	}
	var shift uint
	switch strings.ToLower(unit) {
	case "", "b":
	case "k", "kb", "kib":
		shift = 10
	case "m", "mb", "mib":
		shift = 20
	case "g", "gb", "gib":
		shift = 30
	case "t", "tb", "tib":
		shift = 40
	default:
		return fmt.Errorf("unknown unit %q (use KiB, MiB, GiB or bytes)", unit)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)>>shift {
		return fmt.Errorf("want a size such as 64MiB, 1GiB or a number of bytes")
	}
	*s = sizeFlag(n << shift)
	return nil
}
