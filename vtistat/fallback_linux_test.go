//go:build linux

package vtistat

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The fallback is proved under a real seccomp filter, as a locked-down
// container would run us. A filter cannot be removed, so each case runs in a
// child process: the test binary again, told by the environment which
// syscall to refuse.
const envSeccompChild = "VTISTAT_SECCOMP_CHILD"

// seccompArch is the AUDIT_ARCH_* value the filter checks, so that it never
// misreads another ABI's syscall numbers.
func seccompArch() (uint32, bool) {
	switch runtime.GOARCH {
	case "amd64":
		return 0xc000003e, true // AUDIT_ARCH_X86_64
	case "arm64":
		return 0xc00000b7, true // AUDIT_ARCH_AARCH64
	}
	return 0, false
}

// refuse installs a seccomp filter on every thread that fails the syscall nr
// with errno, only when its first argument equals arg0 (or always, when
// arg0 is negative).
func refuse(t *testing.T, nr int, arg0 int64, errno unix.Errno) {
	t.Helper()
	arch, ok := seccompArch()
	if !ok {
		t.Skipf("no seccomp filter for %s", runtime.GOARCH)
	}
	const (
		ldAbsW = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeqK   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		retK   = unix.BPF_RET | unix.BPF_K
		allow  = 0x7fff0000 // SECCOMP_RET_ALLOW
		fail   = 0x00050000 // SECCOMP_RET_ERRNO
	)
	// struct seccomp_data: nr at 0, arch at 4, args[0] at 16 (low half
	// first on little-endian, the only ABIs seccompArch admits).
	// Jump offsets count from the next instruction.
	prog := []unix.SockFilter{
		/* 0 */ {Code: ldAbsW, K: 4},
		/* 1 */ {Code: jeqK, K: arch, Jt: 0, Jf: 4}, // other ABI: allow
		/* 2 */ {Code: ldAbsW, K: 0},
		/* 3 */ {Code: jeqK, K: uint32(nr), Jt: 0, Jf: 2}, // other syscall: allow
		/* 4 */ {Code: ldAbsW, K: 16},
		/* 5 */ {Code: jeqK, K: uint32(arg0), Jt: 1, Jf: 0},
		/* 6 */ {Code: retK, K: allow},
		/* 7 */ {Code: retK, K: fail | uint32(errno)},
	}
	if arg0 < 0 { // any first argument: from 4 straight to 7
		prog[4] = unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA, K: 2}
	}
	fp := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	const seccompSetModeFilter, seccompFilterFlagTsync = 1, 1
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, seccompSetModeFilter, seccompFilterFlagTsync, uintptr(unsafe.Pointer(&fp))); e != 0 {
		t.Fatalf("seccomp: %v", e)
	}
}

func TestProcFallbackUnderSeccomp(t *testing.T) {
	if _, ok := seccompArch(); !ok {
		t.Skipf("no seccomp filter for %s", runtime.GOARCH)
	}
	p := newQuietPair(t)
	p.sendUDP(t, 7, 50)
	for _, mode := range []string{"socket-eperm", "sendto-eacces", "nofallback", "sendto-nofallback"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSeccompChild$", "-test.v")
			cmd.Env = append(os.Environ(), envSeccompChild+"="+mode+":"+p.A.Name)
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestSeccompChild") {
				t.Fatalf("child: %v\n%s", err, out)
			}
			t.Logf("%s", out)
		})
	}
}

// TestSeccompChild runs only as the child of TestProcFallbackUnderSeccomp.
func TestSeccompChild(t *testing.T) {
	env := os.Getenv(envSeccompChild)
	if env == "" {
		t.Skip("runs only as a child of TestProcFallbackUnderSeccomp")
	}
	mode, nsName, _ := strings.Cut(env, ":")
	cfg := &Config{NetNS: NetNS{Name: nsName}, ProcNetDevFallback: true}
	switch mode {
	case "socket-eperm", "nofallback": // seccomp refusing netlink sockets
		refuse(t, unix.SYS_SOCKET, unix.AF_NETLINK, unix.EPERM)
	case "sendto-eacces", "sendto-nofallback": // the socket opens, requests are refused (as SELinux does)
		refuse(t, unix.SYS_SENDTO, -1, unix.EACCES)
	}
	ctx := context.Background()
	switch mode {
	case "nofallback":
		// The fallback is the caller's choice: without it, the refusal.
		cfg.ProcNetDevFallback = false
		_, err := Dial(cfg)
		if !errors.Is(err, os.ErrPermission) {
			t.Fatalf("Dial without ProcNetDevFallback: %v, want os.ErrPermission", err)
		}
		t.Logf("refused as expected: %v", err)
		return
	case "sendto-nofallback":
		cfg.ProcNetDevFallback = false
		c, err := Dial(cfg)
		if err != nil {
			t.Fatal(err) // the socket itself is allowed
		}
		defer c.Close()
		var s Snapshot
		err = c.Snapshot(ctx, &s)
		if !errors.Is(err, os.ErrPermission) || len(s.Links) != 0 {
			t.Fatalf("Snapshot without ProcNetDevFallback: %v, %d links; want os.ErrPermission and none", err, len(s.Links))
		}
		if err := c.PollStats(ctx, &s); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("PollStats without ProcNetDevFallback: %v, want os.ErrPermission", err)
		}
		if r := c.FallbackReason(); r != nil {
			t.Fatalf("FallbackReason %v without ProcNetDevFallback, want nil", r)
		}
		t.Logf("refused as expected: %v", err)
		return
	}
	c, err := Dial(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var s Snapshot
	if err := c.Snapshot(ctx, &s); err != nil {
		t.Fatal(err)
	}
	reason := c.FallbackReason()
	if !errors.Is(reason, os.ErrPermission) {
		t.Fatalf("FallbackReason %v, want os.ErrPermission", reason)
	}
	t.Logf("fallback because: %v", reason)
	a0 := s.ByName("a0")
	if a0 == nil || len(s.Links) != 2 {
		t.Fatalf("links %+v, want lo and a0", s.Links)
	}
	const frame = 14 + 20 + 8 + 50
	// Every result says where it came from, carries the file's line in
	// Dev, and stores no sum in a field named for one counter.
	for _, l := range s.Links {
		if l.StatsSource != StatsProcNet || l.Dev == nil || l.Dev.Name != l.Name || l.Stats != (Stats64{}) {
			t.Fatalf("fallback link %+v (Dev %+v): want StatsProcNet, its /proc/net/dev line in Dev, zero Stats", l, l.Dev)
		}
	}
	if a0.Kind != "" || a0.Index != 0 || a0.LinkNetNSID != -1 ||
		a0.Dev.TxPackets != 7 || a0.Dev.TxBytes != 7*frame {
		t.Fatalf("a0 %+v, Dev %+v", a0, a0.Dev)
	}
	prev := s.Clone()
	if prev.ByName("a0").Dev == a0.Dev {
		t.Fatal("Clone shares Dev with the original")
	}
	if err := c.PollStats(ctx, &s); err != nil {
		t.Fatal(err)
	}
	d := diff(prev, &s)
	if len(d.Links) != 2 || d.Resets() || len(d.Removed) != 0 {
		t.Fatalf("delta %+v", d)
	}
	for _, ld := range d.Links {
		if ld.Dev == nil || ld.Stats != (Stats64{}) {
			t.Fatalf("delta of %s: Dev %+v, Stats %+v; want the /proc/net/dev delta in Dev and zero Stats", ld.Name, ld.Dev, ld.Stats)
		}
		if ld.Name == "a0" && (ld.Dev.TxPackets != 0 || ld.Dev.Name != "a0") {
			t.Fatalf("a0 delta %+v, want no packets (the pair is quiet)", ld.Dev)
		}
	}
	if _, err := readLinks(ctx, c, ByKind("vti")); !errors.Is(err, ErrNotSupported) {
		t.Errorf("kind selection in fallback: %v, want ErrNotSupported", err)
	}
	if l, err := readLinks(ctx, c, ByName("a0")); err != nil || len(l) != 1 {
		t.Errorf("name selection in fallback: %+v %v", l, err)
	}
	if _, err := readLinks(ctx, c, ByName("zz")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing name in fallback: %v", err)
	}
}
