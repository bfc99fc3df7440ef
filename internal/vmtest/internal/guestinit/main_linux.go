//go:build linux

// Command guestinit is /init inside a vmtest VM. The runner builds it
// statically and puts it into the initramfs; it is not meant to run anywhere
// else.
//
// It mounts the pseudo file systems, runs each test binary of the Config under
// test2json, streams the events and the artifacts the tests saved to the
// results port (see package protocol), and powers the VM off.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

// maxArtifactBytes bounds one artifact: the serial port is slow and the
// artifacts are meant to be small captures.
const maxArtifactBytes = 4 << 20

// Time kept back before the host's deadline: the test binary panics with
// a goroutine dump at its -test.timeout, is killed killGrace later if it
// still runs, and the rest of reserve sends the results and powers off.
const (
	reserve   = 20 * time.Second
	killGrace = 10 * time.Second
)

// guestPath is PATH for init and the tests: the real ip and kmod tools
// (in sbin) come before busybox's applets (in bin).
const guestPath = "/usr/sbin:/usr/bin:/sbin:/bin"

func main() {
	// The kernel starts init with an environment that has no PATH.
	os.Setenv("PATH", guestPath)
	console := os.Stdout
	if err := mountAll(); err != nil {
		fmt.Fprintf(console, "vmtest-init: %v\n", err)
	}
	if c, err := os.OpenFile("/dev/console", os.O_WRONLY|syscall.O_NOCTTY, 0); err == nil {
		console = c
	}
	results, err := openResultsPort(protocol.ResultsPort)
	if err != nil {
		fmt.Fprintf(console, "vmtest-init: %v\n", err)
		powerOff(console)
	}
	g := &guest{console: console, results: results}
	g.run()
	powerOff(console)
}

type guest struct {
	console io.Writer
	results io.Writer
}

func (g *guest) record(marker string, fields ...string) {
	line := marker
	if len(fields) > 0 {
		line += " " + strings.Join(fields, " ")
	}
	// The results port is the only channel to the host; a failed write
	// cannot be reported anywhere better than the console.
	if _, err := io.WriteString(g.results, line+"\n"); err != nil {
		fmt.Fprintf(g.console, "vmtest-init: results port: %v\n", err)
	}
}

func (g *guest) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	fmt.Fprintf(g.console, "vmtest-init: %s\n", msg)
	g.record(protocol.Error, strings.ReplaceAll(msg, "\n", " "))
}

func (g *guest) run() {
	var uts syscall.Utsname
	release := "unknown"
	if err := syscall.Uname(&uts); err == nil {
		release = cString(uts.Release[:])
	}
	g.record(protocol.Hello, release)

	raw, err := os.ReadFile(protocol.ConfigPath)
	if err != nil {
		g.fail("read config: %v", err)
		return
	}
	var cfg protocol.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		g.fail("decode %s: %v", protocol.ConfigPath, err)
		return
	}
	_ = syscall.Sethostname([]byte("vmtest"))
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		g.fail("ip link set lo up: %v: %s", err, out)
	}
	if len(cfg.Preload) > 0 {
		args := append([]string{"-a"}, cfg.Preload...)
		if out, err := exec.Command("/sbin/modprobe", args...).CombinedOutput(); err != nil {
			g.fail("modprobe %s: %v: %s", strings.Join(cfg.Preload, " "), err, out)
		}
	}
	for _, pkg := range cfg.Packages {
		g.runPackage(cfg, pkg)
	}
	g.record(protocol.Done)
}

func (g *guest) runPackage(cfg protocol.Config, pkg protocol.Package) {
	artifacts := filepath.Join(protocol.ArtifactsDir, strings.ReplaceAll(pkg.ImportPath, "/", "_"))
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		g.fail("%s: %v", pkg.ImportPath, err)
	}
	fmt.Fprintf(g.console, "vmtest-init: running %s\n", pkg.ImportPath)

	timeout := pkg.Timeout
	if left := time.Until(cfg.Deadline) - reserve; left < timeout {
		timeout = left
	}
	if timeout <= 0 {
		g.fail("%s: not run: the VM's deadline is too close", pkg.ImportPath)
		g.record(protocol.Exit, pkg.ImportPath, "-1")
		return
	}
	timeout = timeout.Truncate(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), timeout+killGrace)
	defer cancel()
	args := append([]string{"-t", "-p", pkg.ImportPath, pkg.Binary, "-test.v=test2json", "-test.timeout=" + timeout.String()}, pkg.Args...)
	cmd := exec.CommandContext(ctx, protocol.Test2JSON, args...)
	cmd.Dir = pkg.Dir
	cmd.Env = []string{
		"PATH=" + guestPath,
		"HOME=/root",
		"TMPDIR=/tmp",
		protocol.EnvInVM + "=1",
		protocol.EnvKernel + "=" + cfg.Kernel,
		protocol.EnvMaxKernel + "=" + cfg.MaxKernel,
		protocol.EnvArtifacts + "=" + artifacts,
	}
	// Own process group: on timeout the test binary (test2json's child)
	// and everything it started die with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Stderr = g.console
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		g.fail("%s: %v", pkg.ImportPath, err)
		return
	}
	if err := cmd.Start(); err != nil {
		g.fail("%s: start: %v", pkg.ImportPath, err)
		g.record(protocol.Exit, pkg.ImportPath, "-1")
		return
	}
	g.relayEvents(stdout)
	code := 0
	if err := cmd.Wait(); err != nil {
		var exitErr *exec.ExitError
		switch {
		case ctx.Err() != nil:
			g.fail("%s: killed after %v", pkg.ImportPath, timeout+killGrace)
			code = -1
		case errors.As(err, &exitErr):
			code = exitErr.ExitCode()
		default:
			g.fail("%s: %v", pkg.ImportPath, err)
			code = -1
		}
	}
	g.record(protocol.Exit, pkg.ImportPath, fmt.Sprint(code))
	g.sendArtifacts(pkg.ImportPath, artifacts)
}

// testEvent is the part of a test2json event the console echo needs.
type testEvent struct {
	Action  string
	Test    string
	Output  string
	Elapsed float64
}

// relayEvents forwards every test2json line to the host and echoes the
// test output to the console, so a kept console log reads like go test -v.
func (g *guest) relayEvents(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		g.record(protocol.Event, line)
		var ev testEvent
		if json.Unmarshal([]byte(line), &ev) != nil {
			fmt.Fprintf(g.console, "%s\n", line)
			continue
		}
		if ev.Action == "output" {
			io.WriteString(g.console, ev.Output)
		}
	}
	if err := sc.Err(); err != nil {
		g.fail("reading test2json output: %v", err)
	}
}

func (g *guest) sendArtifacts(importPath, dir string) {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxArtifactBytes {
			g.fail("%s: artifact %s has %d bytes, more than %d", importPath, rel, info.Size(), maxArtifactBytes)
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		g.record(protocol.File, importPath, filepath.ToSlash(rel), base64.StdEncoding.EncodeToString(data))
		return nil
	})
	if err != nil {
		g.fail("%s: artifacts: %v", importPath, err)
	}
}

func mountAll() error {
	mounts := []struct {
		source, target, fstype string
		flags                  uintptr
	}{
		{"proc", "/proc", "proc", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{"sysfs", "/sys", "sysfs", syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC},
		{"devtmpfs", "/dev", "devtmpfs", syscall.MS_NOSUID},
		{"tmpfs", "/tmp", "tmpfs", syscall.MS_NOSUID | syscall.MS_NODEV},
		{"tmpfs", "/run", "tmpfs", syscall.MS_NOSUID | syscall.MS_NODEV},
	}
	var errs []error
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := syscall.Mount(m.source, m.target, m.fstype, m.flags, ""); err != nil {
			errs = append(errs, fmt.Errorf("mount %s on %s: %w", m.fstype, m.target, err))
		}
	}
	for _, dir := range []string{"/run/netns", protocol.ArtifactsDir} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openResultsPort opens the second serial port with output processing off,
// so lines reach the host exactly as written (no \n to \r\n).
func openResultsPort(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	var t syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t))); errno == 0 {
		t.Oflag &^= syscall.OPOST
		syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(&t)))
	}
	return f, nil
}

func powerOff(console io.Writer) {
	syscall.Sync()
	err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	// Only reached if power-off failed; PID 1 exiting panics the kernel,
	// which the runner's panic=-1 and -no-reboot also turn into an exit.
	fmt.Fprintf(console, "vmtest-init: power off: %v\n", err)
	os.Exit(1)
}

func cString(b []int8) string {
	var sb strings.Builder
	for _, c := range b {
		if c == 0 {
			break
		}
		sb.WriteByte(byte(c))
	}
	return sb.String()
}
