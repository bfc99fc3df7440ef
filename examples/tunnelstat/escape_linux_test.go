//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// Real links with the names an attacker may give them: the kernel refuses
// only '/', ':' and whitespace (dev_valid_name), and at most 15 bytes.
const (
	realOdd   = "v$(id);'\x1b[1m\xff" // ESC and a byte that is not UTF-8: Go-quoted, $'…' in commands
	realPlain = "v`id`;$x'"           // printable: as it is in text, single-quoted in commands
)

// TestLiveCraftedNames names a veth pair in its own namespace realOdd and
// realPlain: show prints them escaped, show --json keeps their bytes, and
// the command a finding on each suggests, run in a real shell in that
// namespace, names exactly that link and runs nothing else.
func TestLiveCraftedNames(t *testing.T) {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", realOdd, "type", "veth", "peer", "name", realPlain)

	code, out, errOut := runApp(t, nil, "show", "--all", "--netns", ns.Name)
	if code != exitOK || errOut != "" {
		t.Fatalf("show: exit %d, stderr %q", code, errOut)
	}
	t.Logf("show --all:\n%s", out)
	requireTerminalSafe(t, "show", out)
	for _, want := range []string{strconv.Quote(realOdd) + " ", realPlain + " "} {
		found := false
		for _, l := range strings.Split(out, "\n") {
			found = found || strings.HasPrefix(l, want) && strings.Contains(l, "  veth  down  ")
		}
		if !found {
			t.Errorf("show has no row for %q", want)
		}
	}
	if got := strings.Count(out, "\n"); got != 8 {
		t.Errorf("show prints %d lines, want 8 (3 links)", got)
	}

	// JSON keeps the bytes, as far as JSON can: its strings are Unicode,
	// so encoding/json writes a byte that is not UTF-8 as U+FFFD.
	_, out, _ = runApp(t, nil, "show", "--json", "--all", "--netns", ns.Name)
	s, err := monitor.Decode(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if linkNamed(s, realPlain) == nil || linkNamed(s, strings.ToValidUTF8(realOdd, "\uFFFD")) == nil {
		t.Errorf("show --json: %s", out)
	}

	// The live reading, its veths taken for VTIs whose carrier errors
	// moved: each finding's check names the link by its shell word.
	src, err := monitor.Open(context.Background(), monitor.NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	snap, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	before, after := snap.Reading(), snap.Reading()
	after.Links = append([]explain.LinkReading(nil), after.Links...)
	for _, r := range []*explain.Reading{before, after} {
		for i := range r.Links {
			l := &r.Links[i]
			if l.Name == realOdd || l.Name == realPlain {
				l.Kind = explain.KindVTI
				if r == after {
					l.Stats.TxCarrierErrors += 3
					l.Stats.TxErrors += 3
				}
			}
		}
	}
	rep := explain.Explain(before, after)
	requireTerminalSafe(t, "the report", rep.String())
	dir := t.TempDir()
	ran := 0
	seen := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Interface != realOdd && f.Interface != realPlain {
			continue
		}
		for _, c := range f.Checks {
			if !strings.HasPrefix(c.Command, "ip -s -s link show dev ") || seen[c.Command] {
				continue
			}
			seen[c.Command] = true
			shells := []string{"bash"}
			if f.Interface == realPlain {
				shells = append(shells, "sh") // single quotes: every POSIX shell
			}
			for _, sh := range shells {
				cmd := exec.Command("ip", "netns", "exec", ns.Name, sh, "-c", c.Command)
				cmd.Dir = dir
				got, err := cmd.CombinedOutput()
				t.Logf("%s -c %s: %q", sh, c.Command, got) // ip prints names raw
				if err != nil {
					t.Errorf("%s -c %q: %v\n%s", sh, c.Command, err, got)
					continue
				}
				if !bytes.HasPrefix(bytes.SplitN(got, []byte(": "), 2)[1], []byte(f.Interface+"@")) {
					t.Errorf("%s -c %q shows another link:\n%s", sh, c.Command, got)
				}
				ran++
			}
		}
	}
	if ran != 3 {
		t.Errorf("%d commands ran, want 3", ran)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the commands created %s", filepath.Join(dir, entries[0].Name()))
	}
}
