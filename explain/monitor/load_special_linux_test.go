//go:build linux

package monitor

import (
	"bufio"
	"errors"
	"fmt"
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
	"golang.org/x/sys/unix"
)

// specialFiles makes, in a temporary directory, the files a reading must
// never be read from: a named pipe with no writer, a socket, character
// devices (as root: a null device and a zero device, made with mknod, never
// the host's own), symbolic links to them, and directories holding them.
func specialFiles(t *testing.T) (dir string, devices bool) {
	dir = t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(unix.Mkfifo(filepath.Join(dir, "fifo"), 0o600))
	l, err := net.Listen("unix", filepath.Join(dir, "sock"))
	must(err)
	t.Cleanup(func() { l.Close() })
	must(os.Mkdir(filepath.Join(dir, "withfifo"), 0o755))
	must(os.Symlink("../fifo", filepath.Join(dir, "withfifo", "dev")))
	if os.Geteuid() == 0 {
		devices = true
		must(unix.Mknod(filepath.Join(dir, "null"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 3))))
		must(unix.Mknod(filepath.Join(dir, "zero"), unix.S_IFCHR|0o600, int(unix.Mkdev(1, 5))))
		must(os.Symlink("null", filepath.Join(dir, "nulllink")))
		must(os.Mkdir(filepath.Join(dir, "withnull"), 0o755))
		must(os.Symlink("../null", filepath.Join(dir, "withnull", "proc_net_dev")))
	}
	return dir, devices
}

// Issue 16 points 2 and 4: a named pipe, a device, a socket, directly, by
// a symbolic link or in a directory, are refused at once and say what they
// are. Before, a FIFO blocked Load for ever and a zero device read until
// memory ran out. (The zero device is read by the CLI's test, in a child
// process with a memory limit; here a null device, which ended the old
// reads with "not a recognised reading".)
func TestLoadSpecialFiles(t *testing.T) {
	dir, devices := specialFiles(t)
	cases := map[string]string{
		"fifo":     "a named pipe (FIFO), not a regular file",
		"withfifo": "withfifo/dev: a named pipe (FIFO), not a regular file",
		"sock":     "a socket, not a regular file",
	}
	if devices {
		cases["null"] = "a character device, not a regular file"
		cases["nulllink"] = "a character device, not a regular file"
		cases["withnull"] = "withnull/proc_net_dev: a character device, not a regular file"
	}
	for name, want := range cases {
		done := make(chan error, 1)
		go func() {
			_, err := Load(nil, filepath.Join(dir, name))
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %v, want %q", name, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("%s: Load still blocked after 5s", name) // the goroutine stays blocked
		}
	}
}

// A regular file whose read would wait (as /proc/kmsg's does) fails at
// once: reads are non-blocking. A non-blocking pipe stands in for it: the
// type check would refuse the pipe itself before reading.
func TestHostFileReadNeverWaits(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[1])
	f := &hostFile{fd: p[0], name: "kmsg-like"}
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		_, err := f.Read(make([]byte, 64))
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errWouldBlock) {
			t.Errorf("%v, want errWouldBlock", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read waited")
	}
}

// Issue 16 point 3: memory stays within a small multiple of the input. A
// child process (this test binary) loads a large generated file and
// explains it; its peak RSS (getrusage) is checked against the bound the
// package documents (Loader), above the RSS of the same child on a tiny
// file.
func TestLoadMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("generates 3 files of 32 MiB")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies memory")
	}
	dir := t.TempDir()
	const size = 32 << 20
	type gen struct {
		name   string
		factor float64 // the bound: peak RSS ≤ factor × size + the tiny file's
		write  func(w *bufio.Writer)
	}
	header := "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
	gens := []gen{
		// As the kernel prints it (net/core/net-procfs.c dev_seq_printf_stats):
		// some 120 bytes a line, most counters 0.
		{"kernel", 8, func(w *bufio.Writer) {
			w.WriteString(header)
			for i := 0; i*120 < size; i++ {
				fmt.Fprintf(w, "%6s:%8d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n",
					"e"+strconv.Itoa(i), i*1500, i, 0, 0, 0, 0, 0, 0, i*1500, i, 0, 0, 0, 0, 0, 0)
			}
		}},
		// Squeezed to one space (43 bytes a line), the worst per byte.
		{"squeezed", 16, func(w *bufio.Writer) {
			w.WriteString(header)
			for i := 0; i*43 < size; i++ {
				fmt.Fprintf(w, "vti%d: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n", i)
			}
		}},
		// A snapshot document of links.
		{"snapshot", 8, func(w *bufio.Writer) {
			w.WriteString(bigDoc(t, size/1000))
		}},
	}
	rss := func(path string) (int64, string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadMemoryChild$", "-test.v")
		cmd.Env = append(os.Environ(), "TUNNELSTAT_MEMORY_CHILD="+path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child on %s: %v\n%s", path, err, out)
		}
		return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10, string(out)
	}
	tiny := filepath.Join(dir, "tiny")
	if err := os.WriteFile(tiny, []byte(header+"  lo: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := rss(tiny)
	for _, g := range gens {
		p := filepath.Join(dir, g.name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		w := bufio.NewWriter(f)
		g.write(w)
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		f.Close()
		peak, out := rss(p)
		ratio := float64(peak-base) / float64(st.Size())
		t.Logf("%s: %d bytes, peak RSS %d MB (%d MB above the tiny file's): %.1f× the input; %s", g.name, st.Size(), peak>>20, (peak-base)>>20, ratio, strings.TrimSpace(lastLine(out)))
		if ratio > g.factor {
			t.Errorf("%s: peak RSS %.1f× the input, above the bound of %v×", g.name, ratio, g.factor)
		}
	}
}

func lastLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "links:") {
			return l
		}
	}
	return ""
}

// TestLoadMemoryChild is TestLoadMemoryBound's child: it loads and
// explains one file, as "tunnelstat explain FILE" does.
func TestLoadMemoryChild(t *testing.T) {
	path := os.Getenv("TUNNELSTAT_MEMORY_CHILD")
	if path == "" {
		t.Skip("run by TestLoadMemoryBound")
	}
	r, err := (&Loader{MaxBytes: 1 << 30}).LoadReading(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	rep := explain.Explain(nil, r)
	t.Logf("links: %d, findings: %d", len(r.Links), len(rep.Findings))
}
