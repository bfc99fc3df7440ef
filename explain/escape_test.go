package explain_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// Names and values from the kernel or a file are printed escaped, and
// suggested commands quote them for the shell (issue 16, point 7).

// forged is a link name that, printed raw, clears the screen and forges a
// finding line of its own.
const forged = "vti0\n\x1b[2J\x1b[Hvti9: tx-no-sa 999 (exact)\x1b[8m"

// unsafeRune returns the first rune of s a terminal would act on or could
// not show (a control character but '\n' when lines is set, DEL, C1,
// another unprintable rune, invalid UTF-8), or -1.
func unsafeRune(s string, lines bool) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return i
			}
		}
		if r == '\n' && lines || r == ' ' || strconv.IsPrint(r) {
			continue
		}
		return i
	}
	return -1
}

func requireSafe(t *testing.T, what, s string, lines bool) {
	t.Helper()
	if i := unsafeRune(s, lines); i >= 0 {
		t.Errorf("%s holds %q at byte %d: %q", what, s[i:min(len(s), i+4)], i, s[max(0, i-40):min(len(s), i+40)])
	}
}

// vtiReadings is a VTI whose outbound SA is missing: 5 packets dropped,
// counted in tx_carrier_errors and XfrmOutNoStates, with the policy that
// settles the cause. proc reads it as /proc/net/dev instead.
func vtiReadings(name string, proc bool) (*explain.Reading, *explain.Reading) {
	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	mk := func(carrier uint64, t time.Time, nosa int) *explain.Reading {
		s := explain.Stats64{TxPackets: 900, RxPackets: 1000, TxCarrierErrors: carrier, TxErrors: carrier}
		l := explain.LinkReading{Name: name, Index: 5, Kind: explain.KindVTI, Source: explain.SourceStats64, Stats: s,
			Tunnel: &explain.Tunnel{Local: local, Remote: remote, IKey: 0x10, OKey: 0x10, Link: 2}}
		if proc {
			d := procnet.DevStats{Name: name, TxPackets: 900, RxPackets: 1000, TxCarrierSum: procnet.Sum(carrier), TxErrors: carrier}
			l = explain.LinkReading{Name: name, Source: explain.SourceProcNetDev, Dev: &d}
		}
		eth := explain.LinkReading{Name: "eth0", Index: 2, Source: explain.SourceStats64}
		if proc {
			d := procnet.DevStats{Name: "eth0"}
			eth = explain.LinkReading{Name: "eth0", Source: explain.SourceProcNetDev, Dev: &d}
		}
		m, err := procnet.ParseXfrmStat(strings.NewReader(fmt.Sprintf("XfrmOutNoStates\t%d\n", nosa)))
		if err != nil {
			panic(err)
		}
		r := &explain.Reading{Time: t, KernelRelease: "6.1.0-18-amd64", MIB: m, Links: []explain.LinkReading{eth, l}}
		if !proc {
			r.Policies = []explain.Policy{{
				Selector: explain.Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("0.0.0.0/0"), Family: 2},
				Dir:      explain.DirOut, Mark: &explain.Mark{Value: 0x10, Mask: 0xffffffff},
				Templates: []explain.Template{{Src: local, Dst: remote, Proto: 50, Mode: explain.ModeTunnel}},
			}}
			r.SAs = []explain.SA{}
		}
		return r
	}
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	return mk(10, t0, 3), mk(15, t0.Add(10*time.Second), 8)
}

// TestForgedLine: a link whose name holds a newline, a fake finding line
// and ESC sequences prints on the one line of its finding, Go-quoted, and
// the report has exactly the lines it has for a plain name; its commands
// take the name as one shell word; the JSON keeps it exactly.
func TestForgedLine(t *testing.T) {
	for _, proc := range []bool{false, true} {
		t.Run(fmt.Sprintf("proc=%v", proc), func(t *testing.T) {
			rep := explain.Explain(vtiReadings(forged, proc))
			plain := explain.Explain(vtiReadings("vti0", proc))
			out, plainOut := rep.String(), plain.String()
			t.Logf("the report:\n%s", out)
			requireSafe(t, "String()", out, true)
			if len(rep.Findings) == 0 || rep.Findings[0].Interface != forged {
				t.Fatalf("findings %+v", rep.Findings)
			}
			if got, want := strings.Count(out, "\n"), strings.Count(plainOut, "\n"); got != want {
				t.Errorf("%d lines, %d with a plain name", got, want)
			}
			quoted := strconv.Quote(forged)
			lines := strings.Split(out, "\n")
			if !strings.HasPrefix(lines[0], quoted+": ") {
				t.Errorf("first line %q, want it to begin with %s", lines[0], quoted)
			}
			for _, l := range lines {
				if strings.HasPrefix(strings.TrimSpace(l), "vti9") {
					t.Errorf("forged line printed: %q", l)
				}
			}
			// The report for the plain name, with the name replaced by its
			// quoted form (and its shell word in commands), is the report.
			word := `$'vti0\n\033[2J\033[Hvti9: tx-no-sa 999 (exact)\033[8m'`
			want := strings.ReplaceAll(plainOut, "dev vti0", "dev "+word)
			want = strings.ReplaceAll(want, "vti0", quoted)
			want = strings.ReplaceAll(want, "dev "+strings.ReplaceAll(word, "vti0", quoted), "dev "+word)
			if out != want {
				t.Errorf("the report differs from the plain one beyond the name:\n%s\nwant:\n%s", out, want)
			}
			n := 0
			for _, f := range rep.Findings {
				for _, c := range f.Checks {
					requireSafe(t, "Command", c.Command, false)
					if strings.Contains(c.Command, "dev ") && strings.Contains(c.Command, "vti0") {
						n++
						if !strings.Contains(c.Command, "dev "+word) {
							t.Errorf("command %q lacks %s", c.Command, word)
						}
					}
				}
			}
			if n == 0 {
				t.Error("no check names the device")
			}

			var js bytes.Buffer
			if err := json.NewEncoder(&js).Encode(rep); err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsAny(js.Bytes(), "\x1b\r") || bytes.Count(js.Bytes(), []byte("\n")) != 1 {
				t.Errorf("JSON holds raw control bytes: %q", js.Bytes())
			}
			if !bytes.Contains(js.Bytes(), []byte(`"interface":"vti0\n\u001b[2J\u001b[Hvti9: tx-no-sa 999 (exact)\u001b[8m"`)) {
				t.Errorf("JSON does not keep the name exactly: %s", js.Bytes())
			}
			var back explain.Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			if back.Findings[0].Interface != forged || back.String() != out {
				t.Errorf("read back: %q, and prints\n%s", back.Findings[0].Interface, back.String())
			}
		})
	}
}

// crafted are link names the kernel accepts (no '/', ':' or whitespace)
// and ones only a file can carry; each begins as the plain name it
// replaces, so kinds inferred from names stay as they were.
var craftedSuffixes = []string{
	"$(id)", ";rm -rf /", "'\"`id`\\", "\x1b[2J\x1b]0;x\x07", "\u202e\u0085\x7f\xff",
	"\nvti9: tx-no-sa 999 (exact)", " a b\t",
}

// TestCraftedNames explains the soundness oracle's worlds (every view,
// kinds, renames, re-creations, resets, policies and SAs) with every link
// renamed to a crafted name: the findings are those of the plain names,
// every word explain writes (explanations, group explanations, notes,
// checks) holds no control byte, Format prints none, and each command
// names a link by its shell word only.
func TestCraftedNames(t *testing.T) {
	worlds := 1400
	if testing.Short() {
		worlds = 200
	}
	for i := range worlds {
		phase := 1 + i%2
		w := genWorld(oPCG{rand.New(rand.NewPCG(uint64(i), uint64(phase)))}, phase, "crafted")
		before, after := w.reading(false), w.reading(true)
		plain := explain.Explain(before, after)
		suffix := craftedSuffixes[i%len(craftedSuffixes)]
		rename := func(r *explain.Reading) *explain.Reading {
			c := *r
			c.Links = make([]explain.LinkReading, len(r.Links))
			for j, l := range r.Links {
				l.Name += suffix
				if l.Dev != nil {
					d := *l.Dev
					d.Name += suffix
					l.Dev = &d
				}
				c.Links[j] = l
			}
			if r.WireGuard != nil { // the peer lists name the devices too
				c.WireGuard = make([]explain.WireGuardDevice, len(r.WireGuard))
				for j, d := range r.WireGuard {
					d.Name += suffix
					c.WireGuard[j] = d
				}
			}
			return &c
		}
		rep := explain.Explain(rename(before), rename(after))
		label := fmt.Sprintf("world %d (%s), suffix %q", i, w.view, suffix)
		if len(rep.Findings) != len(plain.Findings) || len(rep.Notes) != len(plain.Notes) {
			t.Fatalf("%s: %d findings, %d notes; plain names: %d, %d", label, len(rep.Findings), len(rep.Notes), len(plain.Findings), len(plain.Notes))
		}
		for j, f := range rep.Findings {
			p := plain.Findings[j]
			if p.Interface != "" {
				p.Interface += suffix
			}
			if p.Group != "" {
				p.Group = p.Interface + strings.TrimPrefix(p.Group, plain.Findings[j].Interface)
			}
			if f.Interface != p.Interface || f.Cause != p.Cause || f.Count != p.Count || f.Certainty != p.Certainty || f.Group != p.Group {
				t.Fatalf("%s: finding %d is %s %q %d %s %q, plain %s %q %d %s %q", label, j,
					f.Cause, f.Interface, f.Count, f.Certainty, f.Group, p.Cause, p.Interface, p.Count, p.Certainty, p.Group)
			}
			requireSafe(t, label+" Explanation", f.Explanation, false)
			requireSafe(t, label+" GroupExplanation", f.GroupExplanation, false)
			for _, c := range f.Checks {
				requireSafe(t, label+" Command", c.Command, false)
				requireSafe(t, label+" Why", c.Why, false)
			}
		}
		for _, n := range rep.Notes {
			requireSafe(t, label+" note", n, false)
		}
		out := rep.String()
		requireSafe(t, label+" String()", out, true)
		if got, want := strings.Count(out, "\n"), strings.Count(plain.String(), "\n"); got != want {
			t.Errorf("%s: %d lines, %d with plain names", label, got, want)
		}
		if t.Failed() {
			t.Fatalf("%s:\n%s", label, out)
		}
	}
}

// TestCraftedValues: a kind, a kernel release and a renamed link read from
// a file print escaped in notes too.
func TestCraftedValues(t *testing.T) {
	before, after := vtiReadings("vti0", false)
	before.KernelRelease = "6.1.0\x1b[2J"
	after.KernelRelease = "6.12.0\nnote: forged"
	after.Links[1].Name = "vti$(id)\x1b"
	odd := explain.LinkReading{Name: "x\x1b", Index: 9, Kind: "dummy\x1b[2J", Source: explain.SourceStats64,
		Stats: explain.Stats64{TxErrors: 1}}
	before.Links = append(before.Links, odd)
	odd.Stats.TxErrors = 3
	after.Links = append(after.Links, odd)
	rep := explain.Explain(before, after)
	out := rep.String()
	requireSafe(t, "String()", out, true)
	for _, n := range rep.Notes {
		requireSafe(t, "note", n, false)
	}
	for _, want := range []string{`"6.1.0\x1b[2J" → "6.12.0\nnote: forged"`, `"x\x1b" is not a tunnel (kind "dummy\x1b[2J")`,
		`vti0 was renamed "vti$(id)\x1b"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %s:\n%s", want, out)
		}
	}
}

// TestFormatEscapesAnyReport: a report read from JSON can hold anything;
// Format still prints no control byte.
func TestFormatEscapesAnyReport(t *testing.T) {
	bad := "x\x1b[2J\n\x00\u009b\u202e\xff"
	rep := explain.Report{
		Findings: []explain.Finding{
			{Interface: bad, Cause: explain.CauseID(bad), Title: bad, Count: 1, Certainty: explain.Exact, Explanation: bad,
				KernelRef: []string{bad}, Kernels: bad, Evidence: []explain.Evidence{{Counter: bad, Delta: 1, SumOf: []string{bad}}},
				Checks: []explain.Check{{Command: bad, Why: bad}}},
			{Interface: bad, Cause: "a", Group: "g", Field: bad, GroupExplanation: bad, Certainty: explain.Candidate, Count: 2},
			{Interface: bad, Cause: "b", Group: "g", Field: bad, GroupExplanation: bad, Certainty: explain.Candidate, Count: 2},
		},
		Notes: []string{bad},
	}
	out := rep.String()
	requireSafe(t, "String()", out, true)
	if strings.Contains(out, "\n\n\n") || strings.Count(out, "\n") != 14 {
		t.Errorf("lines:\n%s", out)
	}
}

// TestCommandsAreShellWords runs every check that names a link, filled
// with crafted names, in a real shell whose commands only record their
// arguments: the name arrives as one argument, exactly, and nothing in it
// runs.
func TestCommandsAreShellWords(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	dir := t.TempDir()
	names := []string{"vti$(touch pwned)", "vti`touch pwned`", "vti';touch pwned;'", "vti\"$(touch pwned)\"",
		"vti\x1b[2J$(touch pwned)", "vti\nx", "vti\xff*", "-vti"}
	var script strings.Builder
	// Each call goes to a file of its own, named by the script line ($n)
	// and the process: the commands of a pipeline run at once, and their
	// writes to one shared file could interleave.
	script.WriteString("log() { printf '%s\\0' \"$@\" > \"call.$n.$BASHPID\"; }\n")
	for _, c := range []string{"ip", "tcpdump", "tc", "journalctl", "grep", "dmesg", "sysctl", "awk", "cat"} {
		fmt.Fprintf(&script, "%s() { log %s \"$@\"; }\n", c, c)
	}
	type run struct{ name, cmd string }
	var runs []run
	for _, name := range names {
		for v := range 3 {
			before, after := vtiReadings(name, v == 1)
			switch v {
			case 0:
				// tx_errors alone and collisions: more causes, more checks.
				after.Links[1].Stats.TxErrors += 6
				after.Links[1].Stats.Collisions += 2
			case 2:
				before, after = after, before // counters went back: counter-reset
			}
			for _, f := range explain.Explain(before, after).Findings {
				for _, c := range f.Checks {
					if strings.Contains(c.Command, "vti") && !strings.Contains(c.Command, "<") {
						runs = append(runs, run{name, c.Command})
					}
				}
			}
		}
	}
	if len(runs) < 10 {
		t.Fatalf("%d commands", len(runs))
	}
	for i, r := range runs {
		fmt.Fprintf(&script, "n=%d; %s\n", i, r.cmd)
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script.String())
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("a command ran something in a name")
	}
	// A pipeline is one line of the script but logs one call per command.
	for i, r := range runs {
		n := strings.Count(r.cmd, "|") + 1
		files, err := filepath.Glob(filepath.Join(dir, fmt.Sprintf("call.%d.*", i)))
		if err != nil || len(files) != n {
			t.Fatalf("%q: %d calls logged, want %d (%v)", r.cmd, len(files), n, err)
		}
		var calls []string
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			calls = append(calls, string(b))
		}
		found := false
		for _, c := range calls {
			argv := strings.Split(strings.TrimSuffix(c, "\x00"), "\x00")
			for k, a := range argv {
				if a == r.name {
					found = true
					// A name may begin with '-': it must follow what takes
					// it as a value, never stand where an option may.
					if k == 0 || !slices.Contains([]string{"dev", "-e", "-eni", "-ni"}, argv[k-1]) {
						t.Errorf("%q: the name follows %q", r.cmd, argv[max(0, k-1)])
					}
				} else if strings.Contains(a, "vti") {
					t.Errorf("%q: argument %q", r.cmd, a)
				}
			}
		}
		if !found {
			t.Errorf("%q: the name %q is no argument of %q", r.cmd, r.name, calls)
		}
	}
	t.Logf("%d commands, every name one argument", len(runs))
}

// TestCheckPlaceholdersAreWords: every placeholder of a catalogue command
// is a whole word outside quotes, so a filled-in shell word stays one.
func TestCheckPlaceholdersAreWords(t *testing.T) {
	ph := regexp.MustCompile(`\{[a-z_]+\}`)
	for _, c := range explain.Causes() {
		for _, ch := range c.Checks {
			for _, loc := range ph.FindAllStringIndex(ch.Command, -1) {
				before, after := ch.Command[:loc[0]], ch.Command[loc[1]:]
				if !(before == "" || strings.HasSuffix(before, " ")) || !(after == "" || after[0] == ' ') ||
					strings.Count(before, "'")%2 != 0 || strings.Count(before, `"`)%2 != 0 {
					t.Errorf("%s: %q: %s is not a word of its own", c.ID, ch.Command, ch.Command[loc[0]:loc[1]])
				}
			}
		}
	}
}
