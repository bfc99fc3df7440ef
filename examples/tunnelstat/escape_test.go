package main

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// Names and values read from the kernel or a file print escaped in every
// text output (issue 16, point 7).

// forged is a link name that, printed raw, clears the screen and forges a
// line of its own.
const forged = "vti0\n\x1b[2J\x1b[Hvti9: tx-no-sa 999 (exact)\x1b[8m"

// requireTerminalSafe fails when out holds anything a terminal would act
// on or could not show: a control character other than '\n', DEL, C1,
// another unprintable rune, invalid UTF-8.
func requireTerminalSafe(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		_, n := utf8.DecodeRuneInString(out[i:])
		if r == utf8.RuneError && n == 1 || r != '\n' && r != ' ' && !strconv.IsPrint(r) {
			t.Errorf("%s holds %q at byte %d:\n%s", what, out[i:i+n], i, out)
			return
		}
	}
}

func noForgedLine(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "vti9") {
			t.Errorf("%s prints a forged line %q:\n%s", what, l, out)
		}
	}
}

func renamed(s *monitor.Snapshot, from, to string) *monitor.Snapshot {
	c := *s
	c.Links = append([]monitor.Link(nil), s.Links...)
	for i := range c.Links {
		if c.Links[i].Name == from {
			c.Links[i].Name = to
		}
	}
	return &c
}

func TestShowCraftedNames(t *testing.T) {
	run := func(snap *monitor.Snapshot, args ...string) (string, string) {
		a := newApp(nil, nil)
		a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
			return &fakeSource{[]*monitor.Snapshot{snap}}, nil
		}
		code, out, errOut := runApp(t, a, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	plain := showSnapshot(t)
	plain.SAs = nil
	plain.Unread = []monitor.Unread{{Part: "sas", Error: "permission denied"}}
	plainOut, plainErr := run(plain, "show")

	snap := renamed(plain, "vti0", forged)
	for i := range snap.Links {
		if snap.Links[i].Name == "ip_vti0" {
			snap.Links[i].OperState = "down\x1b[8m"
		}
	}
	snap.Unread = []monitor.Unread{{Part: "sas", Error: "denied\x1b[2J\nvti9: tx-no-sa 999 (exact)"}}
	out, errOut := run(snap, "show")
	t.Logf("show:\n%s%s", out, errOut)
	requireTerminalSafe(t, "show", out)
	requireTerminalSafe(t, "show's warnings", errOut)
	noForgedLine(t, "show", out+errOut)
	if got, want := strings.Count(out, "\n"), strings.Count(plainOut, "\n"); got != want {
		t.Errorf("show prints %d lines, %d with plain names", got, want)
	}
	if got, want := strings.Count(errOut, "\n"), strings.Count(plainErr, "\n"); got != want {
		t.Errorf("show warns in %d lines, %d with plain words", got, want)
	}
	for _, want := range []string{strconv.Quote(forged) + "  vti", `"down\x1b[8m"`,
		`SAs: not read (denied\x1b[2J\nvti9: tx-no-sa 999 (exact))`} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %s", want)
		}
	}

	// JSON keeps the exact bytes. (Read as plain JSON: monitor.Decode
	// refuses such a name, which no kernel gives an interface.)
	out, _ = run(snap, "show", "--json")
	var back struct {
		Links []struct {
			Name string `json:"name"`
		} `json:"links"`
		Unread []monitor.Unread `json:"unread"`
	}
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatal(err)
	}
	kept := false
	for _, l := range back.Links {
		kept = kept || l.Name == forged
	}
	if !kept || len(back.Unread) == 0 || back.Unread[0].Error != snap.Unread[0].Error {
		t.Errorf("show --json does not keep the names: %s", out)
	}
}

// The demo's VM capture (5 packets without an SA) with vti0 renamed: the
// text of explain and watch, and explain's JSON.
func TestExplainWatchCraftedNames(t *testing.T) {
	d := "demodata/vm-6.12/"
	before := loadDemo(t, d+"before", d+"KERNEL")
	after := loadDemo(t, d+"after", d+"KERNEL")
	before.Time = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	after.Time = before.Time.Add(10 * time.Second)
	run := func(name string, args ...string) (string, string) {
		snaps := []*monitor.Snapshot{renamed(before, "vti0", name), renamed(after, "vti0", name), renamed(after, "vti0", name)}
		if args[0] == "explain" {
			snaps = snaps[1:]
		}
		a := newApp(nil, nil)
		a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
			return &fakeSource{snaps}, nil
		}
		code, out, errOut := runApp(t, a, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	word := `$'vti0\n\033[2J\033[Hvti9: tx-no-sa 999 (exact)\033[8m'`
	for _, args := range [][]string{{"explain"}, {"watch", "--count", "2", "--interval", "100ms"}} {
		plain, _ := run("vti0", args...)
		out, errOut := run(forged, args...)
		t.Logf("%s:\n%s", args[0], out)
		requireTerminalSafe(t, args[0], out+errOut)
		noForgedLine(t, args[0], out)
		if got, want := strings.Count(out, "\n"), strings.Count(plain, "\n"); got != want {
			t.Errorf("%s prints %d lines, %d with a plain name", args[0], got, want)
		}
		if !strings.Contains(out, strconv.Quote(forged)+": tx-no-sa 5") || !strings.Contains(out, "check: ip -s -s link show dev "+word+"\n") {
			t.Errorf("%s lacks the quoted name or its shell word:\n%s", args[0], out)
		}
	}
	out, _ := run(forged, "explain", "--json")
	var rep explain.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) == 0 || rep.Findings[0].Interface != forged {
		t.Errorf("explain --json does not keep the name: %s", out)
	}
}

// An error that echoes a name read from the kernel or a file prints on one
// line, escaped.
func TestErrorEchoesNameEscaped(t *testing.T) {
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return nil, errors.New("read link " + forged + ": gone")
	}
	code, _, errOut := runApp(t, a, "show")
	if code != exitError {
		t.Fatalf("exit %d", code)
	}
	want := `tunnelstat show: read link vti0\n\x1b[2J\x1b[Hvti9: tx-no-sa 999 (exact)\x1b[8m: gone` + "\n"
	if errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
	// A namespace name from the command line (or "ip netns list"), as
	// the path an error names raw.
	a.open = func(_ context.Context, ns monitor.NetNS) (monitor.Source, error) {
		return nil, errors.New("open /run/netns/" + ns.Name + ": no such file or directory")
	}
	code, _, errOut = runApp(t, a, "show", "--netns", "a\x1b[2J\nb")
	t.Logf("%s", errOut)
	if code == exitOK {
		t.Fatalf("exit %d", code)
	}
	requireTerminalSafe(t, "stderr", errOut)
	if strings.Count(errOut, "\n") != 1 {
		t.Errorf("stderr: %q", errOut)
	}
}

// linkNamed returns the snapshot's link of that name, or nil.
func linkNamed(s *monitor.Snapshot, name string) *monitor.Link {
	for i := range s.Links {
		if s.Links[i].Name == name {
			return &s.Links[i]
		}
	}
	return nil
}
