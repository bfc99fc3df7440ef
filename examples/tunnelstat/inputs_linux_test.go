//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"golang.org/x/sys/unix"
)

// Issue 16: every probe below is a file made in a temporary directory
// (devices with mknod, as root), never the host's /dev or /proc.

func mustT(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// snapApp is the program with a fake namespace, counting its reads.
func snapApp(t *testing.T) (*app, *int) {
	a := newApp(nil, nil)
	reads := 0
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		reads++
		return &fakeSource{[]*monitor.Snapshot{showSnapshot(t)}}, nil
	}
	return a, &reads
}

func isSnapshot(t *testing.T, what string, data []byte) {
	t.Helper()
	if s, err := monitor.Decode(bytes.NewReader(data)); err != nil || len(s.Links) != 4 {
		t.Errorf("%s: not the snapshot: %v (%d bytes)", what, err, len(data))
	}
}

// Issue 16 point 1: -o writes regular files through a temporary file and
// a rename; character devices and pipes straight, never replacing them;
// and refuses the rest before reading anything. Before, -o on a device
// replaced it with a regular 0600 file, and on /dev/stdout replaced the
// symbolic link, printing nothing.
func TestSnapshotOutputs(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }

	// A new file and a symbolic link to a regular file: the file is
	// replaced (0600), the link kept.
	a, _ := snapApp(t)
	if code, _, errOut := runApp(t, a, "snapshot", "-o", p("new.json")); code != exitOK {
		t.Fatalf("new file: exit %d: %s", code, errOut)
	}
	if st, err := os.Stat(p("new.json")); err != nil || st.Mode() != 0o600 {
		t.Errorf("new file: %v, mode %v", err, st.Mode())
	}
	mustT(t, os.WriteFile(p("real.json"), []byte("old"), 0o644))
	mustT(t, os.Symlink("real.json", p("link.json")))
	a, _ = snapApp(t)
	if code, _, errOut := runApp(t, a, "snapshot", "-o", p("link.json")); code != exitOK {
		t.Fatalf("symbolic link: exit %d: %s", code, errOut)
	}
	if target, err := os.Readlink(p("link.json")); err != nil || target != "real.json" {
		t.Errorf("the link was replaced: %q, %v", target, err)
	}
	data, _ := os.ReadFile(p("real.json"))
	isSnapshot(t, "the link's target", data)
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("temporary files left: %v", entries)
	}

	// A named pipe: written to, still a pipe.
	mustT(t, unix.Mkfifo(p("fifo"), 0o600))
	got := make(chan []byte, 1)
	go func() {
		f, err := os.Open(p("fifo"))
		if err != nil {
			got <- nil
			return
		}
		b, _ := io.ReadAll(f)
		f.Close()
		got <- b
	}()
	a, _ = snapApp(t)
	if code, _, errOut := runApp(t, a, "snapshot", "-o", p("fifo")); code != exitOK {
		t.Fatalf("fifo: exit %d: %s", code, errOut)
	}
	isSnapshot(t, "the fifo's reader", <-got)
	if st, err := os.Lstat(p("fifo")); err != nil || st.Mode().Type() != os.ModeNamedPipe {
		t.Errorf("the fifo is now %v", st.Mode())
	}

	// A pipe by way of /proc/self/fd (as /dev/stdout is): written to, the
	// link kept. The pipe is this test's own.
	r, w, err := os.Pipe()
	mustT(t, err)
	defer r.Close()
	fdPath := "/proc/self/fd/" + strconv.Itoa(int(w.Fd()))
	mustT(t, os.Symlink(fdPath, p("stdout")))
	go func() {
		b, _ := io.ReadAll(r)
		got <- b
	}()
	a, _ = snapApp(t)
	code, _, errOut := runApp(t, a, "snapshot", "-o", p("stdout"))
	w.Close()
	if code != exitOK || !strings.Contains(errOut, "wrote "+p("stdout")) {
		t.Fatalf("pipe: exit %d: %s", code, errOut)
	}
	isSnapshot(t, "the pipe", <-got)
	if target, err := os.Readlink(p("stdout")); err != nil || target != fdPath {
		t.Errorf("the link to the pipe is now %q, %v", target, err)
	}

	// The process's own standard output (here a regular file): written to
	// through it, not replaced.
	stdout, err := os.Create(p("out.txt"))
	mustT(t, err)
	defer stdout.Close()
	mustT(t, os.Symlink("out.txt", p("mystdout")))
	a, _ = snapApp(t)
	a.stdoutFile = stdout
	code, out, errOut := runApp(t, a, "snapshot", "-o", p("mystdout"))
	if code != exitOK {
		t.Fatalf("standard output: exit %d: %s", code, errOut)
	}
	isSnapshot(t, "standard output", []byte(out))

	if os.Geteuid() == 0 {
		// A null character device (1, 3): written to, still the device.
		mustT(t, unix.Mknod(p("null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
		a, _ = snapApp(t)
		if code, _, errOut := runApp(t, a, "snapshot", "-o", p("null")); code != exitOK {
			t.Fatalf("null device: exit %d: %s", code, errOut)
		}
		var st unix.Stat_t
		mustT(t, unix.Lstat(p("null"), &st))
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
			t.Errorf("the null device is now mode %o rdev %x", st.Mode, st.Rdev)
		}
		// A block device node (loop 7, 0; never opened): refused.
		mustT(t, unix.Mknod(p("blk"), unix.S_IFBLK|0o600, int(unix.Mkdev(7, 0))))
	}

	// Refused before the namespace is read: a directory, a socket, a
	// block device, a link to nothing.
	l, err := net.Listen("unix", p("sock"))
	mustT(t, err)
	defer l.Close()
	mustT(t, os.Mkdir(p("dir"), 0o755))
	mustT(t, os.Symlink("missing.json", p("dangling")))
	refused := map[string]string{"dir": "is a directory", "sock": "is a socket", "dangling": "symbolic link to missing.json, which does not exist"}
	if os.Geteuid() == 0 {
		refused["blk"] = "is a block device"
	}
	for name, want := range refused {
		a, reads := snapApp(t)
		code, _, errOut := runApp(t, a, "snapshot", "-o", p(name))
		if code != exitError || !strings.Contains(errOut, want) || *reads != 0 {
			t.Errorf("-o %s: exit %d, %d reads, stderr %q; want exit 1, no read, %q", name, code, *reads, errOut, want)
		}
	}
}

// specialInputs makes the files explain must refuse at once.
func specialInputs(t *testing.T) (string, map[string]string) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	mustT(t, unix.Mkfifo(p("fifo"), 0o600))
	l, err := net.Listen("unix", p("sock"))
	mustT(t, err)
	t.Cleanup(func() { l.Close() })
	mustT(t, os.Mkdir(p("withfifo"), 0o755))
	mustT(t, os.Symlink("../fifo", p("withfifo/dev")))
	cases := map[string]string{
		"fifo":     "a named pipe (FIFO), not a regular file",
		"sock":     "a socket, not a regular file",
		"withfifo": "withfifo/dev: a named pipe (FIFO), not a regular file",
	}
	if os.Geteuid() == 0 {
		mustT(t, unix.Mknod(p("null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
		mustT(t, unix.Mknod(p("zero"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))))
		mustT(t, os.Symlink("zero", p("zerolink")))
		mustT(t, os.Mkdir(p("withzero"), 0o755))
		mustT(t, os.Symlink("../zero", p("withzero/proc_net_dev")))
		cases["null"] = "a character device, not a regular file"
	}
	return dir, cases
}

// Issue 16 points 2 and 4: explain on a named pipe, a socket, a device, or
// a directory holding one, fails at once naming what it is. Before, a FIFO
// blocked for ever.
func TestExplainSpecialInputs(t *testing.T) {
	dir, cases := specialInputs(t)
	for name, want := range cases {
		type result struct {
			code   int
			errOut string
		}
		done := make(chan result, 1)
		go func() {
			code, _, errOut := runApp(t, nil, "explain", filepath.Join(dir, name))
			done <- result{code, errOut}
		}()
		select {
		case r := <-done:
			if r.code != exitError || !strings.Contains(r.errOut, want) {
				t.Errorf("explain %s: exit %d, stderr %q; want exit 1 and %q", name, r.code, r.errOut, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("explain %s: still running after 5s", name)
		}
	}
	// --netns on a named pipe or a directory.
	for name, want := range map[string]string{"fifo": "a named pipe (FIFO), not a namespace file", "withfifo": "a directory, not a namespace file"} {
		done := make(chan string, 1)
		go func() {
			code, _, errOut := runApp(t, nil, "show", "--netns", filepath.Join(dir, name))
			done <- strconv.Itoa(code) + " " + errOut
		}()
		select {
		case r := <-done:
			if !strings.HasPrefix(r, "1 ") || !strings.Contains(r, want) {
				t.Errorf("show --netns %s: %q, want exit 1 and %q", name, r, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("show --netns %s: still running after 5s", name)
		}
	}
}

// child runs the program (this test binary as main, see TestMain) with
// args; stdin, if not nil, is its standard input.
func child(args []string, stdin io.Reader) (*exec.Cmd, *bytes.Buffer) {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "TUNNELSTAT_RUN_MAIN=1")
	var errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, io.Discard, &errOut
	return cmd, &errOut
}

// Issue 16 point 2: a zero device, by a symbolic link or in a directory,
// is refused at once; before, it was read until memory ran out ("fatal
// error: out of memory", exit 2, the status of a command-line mistake).
// Run as a child under a 4 GB address-space limit, so that a regression
// fails quickly rather than exhausting the host.
func TestExplainZeroDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dir, _ := specialInputs(t)
	for _, name := range []string{"zero", "zerolink", "withzero"} {
		cmd := exec.Command("/bin/sh", "-c", `ulimit -v 4000000; exec "$0" "$@"`, os.Args[0], "explain", filepath.Join(dir, name))
		cmd.Env = append(os.Environ(), "TUNNELSTAT_RUN_MAIN=1")
		var errOut bytes.Buffer
		cmd.Stderr = &errOut
		start := time.Now()
		mustT(t, cmd.Start())
		timer := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		err := cmd.Wait()
		timer.Stop()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitError || !strings.Contains(errOut.String(), "a character device, not a regular file") {
			t.Errorf("explain %s: %v after %v, stderr %.300q; want exit 1 naming a character device", name, err, time.Since(start), errOut.String())
		}
	}
}

// Issue 16 points 2 and 4: the first SIGINT or SIGTERM ends the command
// with 130 or 143 and a line saying what it interrupted. Before, signals
// were swallowed: a read of a pipe that never ends, or of a FIFO, went on
// for ever.
func TestInterruptedBySignal(t *testing.T) {
	// A large capture, to interrupt while it is read or explained.
	big := filepath.Join(t.TempDir(), "dev")
	f, err := os.Create(big)
	mustT(t, err)
	f.WriteString("Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
	line := []byte("  vti0:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n")
	var b bytes.Buffer
	for i := 0; b.Len() < 64<<20; i++ {
		name := "e" + strconv.Itoa(i)
		b.WriteString(strings.Repeat(" ", max(0, 6-len(name))) + name)
		b.Write(line[6:])
	}
	f.Write(b.Bytes())
	f.Close()

	for _, tc := range []struct {
		name  string
		args  []string
		sig   syscall.Signal
		after time.Duration
		code  int
		want  string
	}{
		{"stdin SIGINT", []string{"explain", "-"}, syscall.SIGINT, 300 * time.Millisecond, 130, "tunnelstat explain: interrupted by SIGINT while reading standard input"},
		{"stdin SIGTERM", []string{"explain", "--before", "-", "--after", big}, syscall.SIGTERM, 300 * time.Millisecond, 143, "tunnelstat explain: interrupted by SIGTERM while reading standard input"},
		{"large file", []string{"explain", "--max-input", "1GiB", big}, syscall.SIGINT, 150 * time.Millisecond, 130, "tunnelstat explain: interrupted by SIGINT while "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw, err := os.Pipe() // standard input that never ends
			mustT(t, err)
			defer pw.Close()
			cmd, errOut := child(tc.args, pr)
			mustT(t, cmd.Start())
			pr.Close()
			time.Sleep(tc.after)
			sent := time.Now()
			mustT(t, cmd.Process.Signal(tc.sig))
			timer := time.AfterFunc(10*time.Second, func() { cmd.Process.Kill() })
			err = cmd.Wait()
			took := time.Since(sent)
			timer.Stop()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(errOut.String(), tc.want) {
				t.Fatalf("%v after %v, stderr %q; want exit %d and %q", err, took, errOut, tc.code, tc.want)
			}
			if took > 3*time.Second {
				t.Errorf("took %v to stop", took)
			}
			t.Logf("stopped %v after the signal: %s", took.Round(time.Millisecond), strings.TrimSpace(errOut.String()))
		})
	}
}

// Issue 16 point 3: --max-input bounds what is read, and says how to raise
// it.
func TestExplainMaxInput(t *testing.T) {
	seed := "demodata/vyos-seed003/proc_net_dev"
	code, _, errOut := runApp(t, nil, "explain", "--max-input", "1KiB", seed)
	if code != exitError || !strings.Contains(errOut, "larger than the input limit") || !strings.Contains(errOut, "--max-input") {
		t.Errorf("over the limit: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runApp(t, nil, "explain", "--max-input", "1MiB", seed); code != exitOK {
		t.Errorf("within the limit: exit %d, %q", code, errOut)
	}
	for _, bad := range []string{"12XB", "0", "-5", "1e9", "99999999999GiB"} {
		if code, _, _ := runApp(t, nil, "explain", "--max-input", bad, seed); code != exitUsage {
			t.Errorf("--max-input %s: exit %d, want %d", bad, code, exitUsage)
		}
	}
	var s sizeFlag
	for in, want := range map[string]int64{"64MiB": 64 << 20, "64M": 64 << 20, "1GiB": 1 << 30, "512k": 512 << 10, "1000": 1000} {
		if err := s.Set(in); err != nil || int64(s) != want {
			t.Errorf("%s: %d, %v", in, s, err)
		}
	}
}

// "-" reads standard input.
func TestExplainStdin(t *testing.T) {
	f, err := os.Open("demodata/vyos-seed003/proc_net_dev")
	mustT(t, err)
	defer f.Close()
	a := newApp(nil, nil)
	a.stdinFile = f
	code, out, errOut := runApp(t, a, "explain", "-")
	if code != exitOK || !strings.Contains(out, "vti0: 59 events") {
		t.Errorf("exit %d, %s\n%s", code, errOut, out)
	}
	if code, _, errOut := runApp(t, a, "explain", "--before", "-", "--after", "-"); code != exitUsage || !strings.Contains(errOut, "standard input (-) can be read once") {
		t.Errorf("- twice: exit %d, %s", code, errOut)
	}
}

// Issue 16 point 8: a bad snapshot names the file, line, column and field.
func TestExplainBadSnapshotPlace(t *testing.T) {
	var doc bytes.Buffer
	mustT(t, showSnapshot(t).Encode(&doc))
	text := doc.String()
	off := strings.Index(text, `"rx_packets": `)
	off += strings.Index(text[off+1:], `"rx_packets": `) + 1 // the second link's
	bad := text[:off] + `"rx_packets": "lots"` + text[off+len(`"rx_packets": 0`):]
	line := strings.Count(bad[:off], "\n") + 1
	p := filepath.Join(t.TempDir(), "s.json")
	mustT(t, os.WriteFile(p, []byte(bad), 0o600))
	code, _, errOut := runApp(t, nil, "explain", p)
	want := p + ": line " + strconv.Itoa(line) + ", column 23: links[1].stats.rx_packets: want an integer from 0 to 18446744073709551615, got string"
	if code != exitError || !strings.Contains(errOut, want) {
		t.Errorf("exit %d, stderr %q\nwant %q", code, errOut, want)
	}
}

// Issue 16 point 9: show --json without a tunnel writes "links": [] (read,
// none), not null (not read).
func TestShowJSONNoTunnel(t *testing.T) {
	s := showSnapshot(t)
	var links []monitor.Link
	for _, l := range s.Links {
		if !l.IsTunnel() {
			links = append(links, l)
		}
	}
	s.Links = links
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) {
		return &fakeSource{[]*monitor.Snapshot{s}}, nil
	}
	code, out, errOut := runApp(t, a, "show", "--json")
	if code != exitOK || !strings.Contains(out, `"links": [],`) {
		t.Fatalf("exit %d, %s\n%s", code, errOut, out)
	}
	if got, err := monitor.Decode(strings.NewReader(out)); err != nil || got.Links == nil {
		t.Errorf("%v, %+v", err, got)
	}
}

// A bug is exit status 1 ("internal error"), never 2.
func TestInternalErrorIsNotUsage(t *testing.T) {
	a := newApp(nil, nil)
	a.open = func(context.Context, monitor.NetNS) (monitor.Source, error) { return panicSource{}, nil }
	code, _, errOut := runApp(t, a, "show")
	if code != exitError || !strings.Contains(errOut, "internal error: a bug") {
		t.Errorf("exit %d, %q", code, errOut)
	}
}

type panicSource struct{}

func (panicSource) Read(context.Context) (*monitor.Snapshot, error) { panic("a bug") }
func (panicSource) Close() error                                    { return nil }

// The report's JSON, written a finding at a time, is byte for byte what
// encoding it whole writes.
func TestWriteReportJSON(t *testing.T) {
	d := "demodata/vm-6.12/"
	reports := []explain.Report{{}, {Notes: []string{"a <note> & more"}}}
	before, after := loadDemo(t, d+"before", d+"KERNEL"), loadDemo(t, d+"after", d+"KERNEL")
	reports = append(reports, explain.Explain(before.Reading(), after.Reading()), explain.Explain(nil, loadDemo(t, "demodata/vyos-seed003/proc_net_dev").Reading()))
	for i, rep := range reports {
		var whole, streamed bytes.Buffer
		mustT(t, writeJSON(&whole, rep))
		mustT(t, writeReportJSON(&streamed, rep))
		if whole.String() != streamed.String() {
			t.Errorf("report %d:\n%s", i, diffLines(whole.String(), streamed.String()))
		}
	}
}
