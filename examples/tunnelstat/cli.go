package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

// Exit statuses.
const (
	exitOK       = 0
	exitError    = 1 // the command ran and failed: nothing readable, a bad file
	exitUsage    = 2 // the command line is wrong
	exitFindings = 3 // explain --fail-on-findings found something
)

const usageText = `tunnelstat explains why tunnel and IPsec (XFRM) error counters moved.

Usage:
  tunnelstat demo                       explain real captures (no root, no tunnels needed)
  tunnelstat show                       tunnels, their parameters and error counters, SAs
  tunnelstat snapshot [-o FILE]         save everything readable as one JSON document
  tunnelstat explain                    explain this namespace's counters since boot
  tunnelstat explain --since FILE       explain what moved since a saved reading
  tunnelstat explain --before A --after B
                                        explain two saved readings, offline
  tunnelstat explain FILE...            explain one saved reading since boot, offline
  tunnelstat watch [--interval 10s]     explain what moves, continuously
  tunnelstat help [COMMAND]             a command's flags

Live commands (show, snapshot, explain, watch) take --netns NAME|PATH: a
namespace from "ip netns list", or a path such as /proc/PID/ns/net.
Every command takes --json.

Exit status: 0 success, whether or not anything moved; 1 the command
failed (nothing readable, a bad file); 2 the command line is wrong;
3 explain --fail-on-findings found something; 130 and 143 interrupted by
SIGINT (Ctrl-C) and SIGTERM (watch ends with 0: that is how it stops).

Saved readings are read from regular files only (or "-", standard input),
at most 64 MiB for one reading unless --max-input says otherwise.

Privileges: links, their counters and /proc/net/xfrm_stat are readable by
any user. SAs, policies and SPD/SAD info are read over XFRM netlink, which
needs CAP_NET_ADMIN; --netns needs CAP_SYS_ADMIN. Without them tunnelstat
shows what it could read and says what is missing.
`

// app is the command line program with its surroundings, replaceable in
// tests.
type app struct {
	stdout, stderr io.Writer
	// stdoutFile and stdinFile are the process's standard output and
	// input (nil in tests): snapshot -o writes straight to standard output
	// when FILE is it (/dev/stdout), and "-" reads standard input.
	stdoutFile, stdinFile *os.File
	// open, when set, replaces reading namespaces live (monitor.Open, and
	// the monitor's own live reading for watch): tests set it.
	open func(ctx context.Context, ns monitor.NetNS) (monitor.Source, error)

	cmd       atomic.Pointer[string] // the command running, for the interruption line
	stage     atomic.Pointer[string] // what it is doing: "reading FILE", "explaining" …
	interrupt sync.Once              // the interruption line is printed once
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// errFindings asks for exit status 3.
var errFindings = errors.New("findings")

type command struct {
	name    string
	summary string
	run     func(a *app, ctx context.Context, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "explain real captures embedded in the program", (*app).demo},
		{"show", "tunnels, their parameters and error counters, SAs", (*app).show},
		{"snapshot", "save everything readable as one JSON document", (*app).snapshot},
		{"explain", "explain why counters moved", (*app).explain},
		{"watch", "explain what moves, continuously", (*app).watch},
	}
}

func (a *app) run(ctx context.Context, args []string) (code int) {
	a.cmd.Store(new(string))
	a.setStage("starting")
	defer func() {
		// A bug is a failure of the command (1), never 2, which is for
		// mistakes on the command line.
		if r := recover(); r != nil {
			fmt.Fprintf(a.stderr, "tunnelstat: internal error: %v\n%s", r, debug.Stack())
			code = exitError
		}
	}()
	if len(args) == 0 {
		fmt.Fprint(a.stderr, usageText)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return a.run(ctx, []string{rest[0], "-h"})
		}
		fmt.Fprint(a.stdout, usageText)
		return exitOK
	}
	for _, c := range commands() {
		if c.name == name {
			a.cmd.Store(&c.name)
			return a.exit(ctx, name, c.run(a, ctx, rest))
		}
	}
	fmt.Fprintf(a.stderr, "tunnelstat: unknown command %q\n\n%s", name, usageText)
	return exitUsage
}

// interruption is the cause of the command's context when a signal ended
// it.
type interruption struct{ sig os.Signal }

func (i *interruption) Error() string { return "interrupted by " + signalName(i.sig) }

func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return sig.String()
}

// setStage says what the command is doing, for the line an interruption
// prints.
func (a *app) setStage(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	a.stage.Store(&s)
}

// interrupted prints, once, what a signal interrupted, and returns the
// exit status: 128 + the signal's number (130 for SIGINT, 143 for
// SIGTERM).
func (a *app) interrupted(cause error) int {
	var in *interruption
	if !errors.As(cause, &in) {
		return exitError
	}
	a.interrupt.Do(func() {
		cmd := ""
		if c := a.cmd.Load(); c != nil && *c != "" {
			cmd = " " + *c
		}
		stage := "starting"
		if s := a.stage.Load(); s != nil {
			stage = *s
		}
		fmt.Fprintf(a.stderr, "tunnelstat%s: %s while %s\n", cmd, in, stage)
	})
	if sig, ok := in.sig.(syscall.Signal); ok {
		return 128 + int(sig)
	}
	return 128 + int(syscall.SIGINT)
}

// background runs a step that cannot watch the context itself (a read
// that may block in the kernel, explain's engine) and returns its error,
// or the context's as soon as it is done: the step is then left to end on
// its own, which the process does not wait for.
func (a *app) background(ctx context.Context, step func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
			}
		}()
		done <- step()
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// exit prints err for a person and maps it to an exit status. The message
// can echo names read from the kernel or a file: it prints on one line,
// control characters escaped.
func (a *app) exit(ctx context.Context, cmd string, err error) int {
	var ue *usageError
	if err != nil && ctx.Err() != nil {
		if code := a.interrupted(context.Cause(ctx)); code != exitError {
			return code
		}
	}
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errFindings):
		return exitFindings
	case errors.As(err, &ue):
		fmt.Fprintf(a.stderr, "tunnelstat %s: %s\nRun \"tunnelstat help %s\" for usage.\n", cmd, safetext.Text(ue.msg), cmd)
		return exitUsage
	}
	fmt.Fprintf(a.stderr, "tunnelstat %s: %s\n", cmd, safetext.Text(err.Error()))
	return exitError
}

// flagSet makes a command's flag set, with a usage text that a person can
// act on and errors that come back to run rather than exiting.
func (a *app) flagSet(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	// flag prints its errors and the usage to the output on every mistake;
	// parse prints a short error instead, and the usage only on -h.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: tunnelstat %s\n\n%s\n\nFlags:\n", synopsis, strings.TrimSpace(about))
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags and positional arguments in any order ("explain A.json
// --json"); "--" ends the flags.
func (a *app) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos, tail []string
	for i, arg := range args {
		if arg == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(a.stdout)
				fs.Usage()
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, tail...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// netnsFlag adds --netns to a live command.
func netnsFlag(fs *flag.FlagSet) *string {
	return fs.String("netns", "", "read the network namespace `NAME` (from \"ip netns list\") or at PATH (/proc/PID/ns/net); needs CAP_SYS_ADMIN")
}

// parseNetNS reads a --netns value.
func parseNetNS(netns string) (monitor.NetNS, error) {
	ns, err := monitor.ParseNetNS(netns)
	if err != nil {
		return ns, &usageError{err.Error()}
	}
	return ns, nil
}

// readLive takes one live reading and warns about the parts it could not
// read.
func (a *app) readLive(ctx context.Context, netns string) (*monitor.Snapshot, error) {
	ns, err := parseNetNS(netns)
	if err != nil {
		return nil, err
	}
	a.setStage("reading %s", nsWords(netns))
	var snap *monitor.Snapshot
	err = a.background(ctx, func() error {
		var src monitor.Source
		var err error
		if a.open != nil {
			src, err = a.open(ctx, ns)
		} else {
			src, err = monitor.Open(ctx, ns)
		}
		if err != nil {
			return err
		}
		defer src.Close()
		snap, err = src.Read(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	a.warnUnread(snap.Unread)
	return snap, nil
}

// warnUnread tells on stderr what could not be read and what would make it
// readable, once per reason.
func (a *app) warnUnread(unread []monitor.Unread) {
	type reason struct{ needs, err string }
	var order []reason
	parts := map[reason][]string{}
	for _, u := range unread {
		r := reason{u.Needs, u.Error}
		if u.Needs != "" {
			r.err = "" // one line per missing privilege, whatever each part said
		}
		if _, ok := parts[r]; !ok {
			order = append(order, r)
		}
		parts[r] = append(parts[r], safetext.Text(u.Part))
	}
	for _, r := range order {
		switch r.needs {
		case "CAP_NET_ADMIN":
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: %s CAP_NET_ADMIN (run as root, e.g. with sudo); the explanation works without them, with fewer causes settled\n", strings.Join(parts[r], ", "), netAdminWords(parts[r]))
		case "":
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: %s\n", strings.Join(parts[r], ", "), safetext.Text(r.err))
		default:
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: needs %s\n", strings.Join(parts[r], ", "), safetext.Text(r.needs))
		}
	}
}

// netAdminWords says what needs CAP_NET_ADMIN for parts: XFRM netlink,
// the wireguard generic netlink family (part "wireguard"), or both.
func netAdminWords(parts []string) string {
	wg := slices.Contains(parts, "wireguard")
	switch {
	case wg && len(parts) == 1:
		return "the wireguard family needs"
	case wg:
		return "XFRM netlink and the wireguard family need"
	}
	return "XFRM netlink needs"
}

// loadFiles reads an offline reading from files ("-" is standard input)
// through at most maxInput bytes; kernel, if not "", is the kernel release
// they were taken on.
func (a *app) loadFiles(ctx context.Context, paths []string, kernel string, maxInput int64) (*explain.Reading, error) {
	l := &monitor.Loader{MaxBytes: maxInput}
	if a.stdinFile != nil {
		l.Stdin = a.stdinFile
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = p
		if p == "-" {
			names[i] = "standard input"
		}
	}
	a.setStage("reading %s", strings.Join(names, " + "))
	var snap *explain.Reading
	err := a.background(ctx, func() (err error) {
		snap, err = l.LoadReading(ctx, paths...)
		return err
	})
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, fmt.Errorf("%w (a reading is a snapshot file, copies of /proc/net/dev and xfrm_stat, or a directory of them: see \"tunnelstat help explain\")", err)
		case errors.Is(err, monitor.ErrTooLarge):
			return nil, fmt.Errorf("%w (raise the limit with --max-input SIZE)", err)
		}
		return nil, err
	}
	if kernel != "" {
		snap.KernelRelease = kernel
	}
	return snap, nil
}
