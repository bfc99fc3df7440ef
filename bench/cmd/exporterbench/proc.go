//go:build linux

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clkTck = 100

// proc is an exporter the harness started: ip netns exec NS BINARY ARGS.
// ip(8) execs the binary in place (it forks only in batch mode), so the
// process the harness started is the exporter itself; start checks that.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	bin  string
	done chan struct{} // closed when it has exited
	err  error         // its Wait error, once done
	out  *tail

	samplerStop chan struct{}
	samplerDone chan struct{}
	mu          sync.Mutex
	samples     []memSample
	servingFrom time.Time // samples from here count for the steady RSS
}

type memSample struct {
	at       time.Time
	rss, hwm uint64 // kB
}

// startProc starts bin in namespace ns. It is started from a goroutine
// locked to its OS thread for the process's life: PR_SET_PDEATHSIG fires
// when the thread that forked the child exits, and a locked thread is
// never reused or ended under it.
func startProc(ns, bin string, args []string) (*proc, error) {
	p := &proc{bin: bin, done: make(chan struct{}), out: &tail{max: 64 << 10},
		samplerStop: make(chan struct{}), samplerDone: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", ns, bin}, args...)...)
	p.cmd.Stdin = strings.NewReader("")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Its own process group, so that a ^C at the terminal reaches the
	// harness only, which then stops the exporter in order.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := p.cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	p.pid = p.cmd.Process.Pid
	go p.sample()
	return p, nil
}

// checkExe makes sure that the PID is the exporter, not ip(8) waiting for
// a child.
func (p *proc) checkExe() error {
	want, err := os.Stat(p.bin)
	if err != nil {
		return err
	}
	got, err := os.Stat(fmt.Sprintf("/proc/%d/exe", p.pid))
	if err != nil {
		return err
	}
	if !os.SameFile(want, got) {
		return fmt.Errorf("PID %d is not %s (did ip netns exec fork?)", p.pid, p.bin)
	}
	return nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitError describes how the process ended, with the end of its output.
func (p *proc) exitError() error {
	return fmt.Errorf("%s exited (%v); its output ends with:\n%s", p.bin, p.err, p.out.String())
}

// stop ends the exporter: SIGTERM, then SIGKILL after 10 s. Only this
// process, by its PID.
func (p *proc) stop() {
	if !p.exited() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	select {
	case <-p.samplerStop:
	default:
		close(p.samplerStop)
	}
	<-p.samplerDone
}

// sample reads VmRSS and VmHWM every 50 ms until stopped or the process
// is gone.
func (p *proc) sample() {
	defer close(p.samplerDone)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		p.sampleNow()
		select {
		case <-t.C:
		case <-p.samplerStop:
			return
		case <-p.done:
			return
		}
	}
}

// sampleNow takes a sample, if the process is still there (a zombie has
// no VmRSS).
func (p *proc) sampleNow() {
	if s, err := readStatus(fmt.Sprintf("/proc/%d/status", p.pid)); err == nil {
		s.at = time.Now()
		p.mu.Lock()
		p.samples = append(p.samples, s)
		p.mu.Unlock()
	}
}

// serving marks the time from which RSS samples are the steady state.
func (p *proc) serving() {
	p.mu.Lock()
	p.servingFrom = time.Now()
	p.mu.Unlock()
}

// memory returns the peak RSS (the last VmHWM read), the median and the
// largest VmRSS sampled since serving, and how many samples those are.
func (p *proc) memory() (hwm, median, maxRSS uint64, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rss []uint64
	for _, s := range p.samples {
		hwm = max(hwm, s.hwm)
		if !p.servingFrom.IsZero() && !s.at.Before(p.servingFrom) {
			rss = append(rss, s.rss)
		}
	}
	if len(rss) == 0 {
		return hwm, 0, 0, 0
	}
	slices.Sort(rss)
	return hwm, rss[len(rss)/2], rss[len(rss)-1], len(rss)
}

func readStatus(path string) (memSample, error) {
	var s memSample
	b, err := os.ReadFile(path)
	if err != nil {
		return s, err
	}
	var haveRSS, haveHWM bool
	for line := range strings.SplitSeq(string(b), "\n") {
		name, v, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return s, fmt.Errorf("%s: %s: %w", path, line, err)
		}
		if name == "VmRSS" {
			s.rss, haveRSS = n, true
		} else {
			s.hwm, haveHWM = n, true
		}
	}
	if !haveRSS || !haveHWM {
		return s, errors.New(path + ": no VmRSS or VmHWM")
	}
	return s, nil
}

// cpu returns the process's user + system CPU time so far (its threads';
// the exporters start no children).
func (p *proc) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// fields are counted from the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", p.pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", p.pid, len(f))
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %w", p.pid, err)
	}
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
