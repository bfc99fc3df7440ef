package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

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
3 explain --fail-on-findings found something.

Privileges: links, their counters and /proc/net/xfrm_stat are readable by
any user. SAs, policies and SPD/SAD info are read over XFRM netlink, which
needs CAP_NET_ADMIN; --netns needs CAP_SYS_ADMIN. Without them tunnelstat
shows what it could read and says what is missing.
`

// app is the command line program with its surroundings, replaceable in
// tests.
type app struct {
	stdout, stderr io.Writer
	// open, when set, replaces reading namespaces live (monitor.Open, and
	// the monitor's own live reading for watch): tests set it.
	open func(ctx context.Context, ns monitor.NetNS) (monitor.Source, error)
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

func (a *app) run(ctx context.Context, args []string) int {
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
			return a.exit(name, c.run(a, ctx, rest))
		}
	}
	fmt.Fprintf(a.stderr, "tunnelstat: unknown command %q\n\n%s", name, usageText)
	return exitUsage
}

// exit prints err for a person and maps it to an exit status. The message
// can echo names read from the kernel or a file: it prints on one line,
// control characters escaped.
func (a *app) exit(cmd string, err error) int {
	var ue *usageError
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
	var src monitor.Source
	if a.open != nil {
		src, err = a.open(ctx, ns)
	} else {
		src, err = monitor.Open(ctx, ns)
	}
	if err != nil {
		return nil, err
	}
	defer src.Close()
	snap, err := src.Read(ctx)
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
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: XFRM netlink needs CAP_NET_ADMIN (run as root, e.g. with sudo); the explanation works without them, with fewer causes settled\n", strings.Join(parts[r], ", "))
		case "":
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: %s\n", strings.Join(parts[r], ", "), safetext.Text(r.err))
		default:
			fmt.Fprintf(a.stderr, "tunnelstat: not read: %s: needs %s\n", strings.Join(parts[r], ", "), safetext.Text(r.needs))
		}
	}
}

// loadFiles reads an offline reading from files; kernel, if not "", is the
// kernel release they were taken on.
func (a *app) loadFiles(paths []string, kernel string) (*monitor.Snapshot, error) {
	snap, err := monitor.Load(nil, paths...)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w (a reading is a snapshot file, copies of /proc/net/dev and xfrm_stat, or a directory of them: see \"tunnelstat help explain\")", err)
		}
		return nil, err
	}
	if kernel != "" {
		snap.KernelRelease = kernel
	}
	return snap, nil
}
