//go:build linux

package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/testns"
)

// larval adds n larval SAs to the namespace (SAD entries only: no packet
// is sent), which live for the whole test.
func larval(t *testing.T, ns *testns.NS, n int) {
	t.Helper()
	ns.Run(t, "sysctl", "-qw", "net.core.xfrm_acq_expires=86400")
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "xfrm state allocspi src 192.0.2.1 dst 192.0.2.%d proto esp mode tunnel min %#x max %#x\n", 10+i, 0x3000+i, 0x3000+i)
	}
	cmd := exec.Command("ip", "-n", ns.Name, "-batch", "-")
	cmd.Stdin = strings.NewReader(b.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ip -n %s -batch: %v: %s", ns.Name, err, out)
	}
}

// replace deletes the namespace and adds a new one under its name with n
// larval SAs.
func replace(t *testing.T, ns *testns.NS, n int) {
	t.Helper()
	ns.Del(t)
	ns.Add(t)
	larval(t, ns, n)
}

// A Reader opened by name follows the name: once the namespace is deleted
// it says so (and does not read the namespace its own sockets keep
// alive), and once a namespace of that name exists again it says it was
// replaced and reads the new one.
func TestReaderFollowsName(t *testing.T) {
	n := testns.New(t)
	larval(t, n, 3)
	ctx := context.Background()
	r, err := Open(ctx, NetNS{Name: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sas := func(step string) int {
		t.Helper()
		s, err := r.Read(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		return len(s.SAs)
	}
	if got := sas("first reading"); got != 3 {
		t.Fatalf("first reading: %d SAs, want 3", got)
	}

	// Deleted and added again between two readings, as in issue 16:
	// the reading after says so, and the next one is of the new namespace.
	replace(t, n, 7)
	_, err = r.Read(ctx)
	if !errors.Is(err, ErrNetNSReplaced) || !strings.Contains(err.Error(), n.Name) {
		t.Fatalf("reading after ip netns del; ip netns add: %v, want ErrNetNSReplaced naming the namespace", err)
	}
	t.Logf("replaced: %v", err)
	if got := sas("after the replacement"); got != 7 {
		t.Fatalf("after the replacement: %d SAs, want the new namespace's 7", got)
	}

	// Deleted: every reading says it is gone, and the Reader no longer
	// holds the deleted namespace.
	n.Del(t)
	for i := range 2 {
		_, err = r.Read(ctx)
		if !errors.Is(err, ErrNetNSGone) || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "is gone") {
			t.Fatalf("reading %d after ip netns del: %v, want ErrNetNSGone", i, err)
		}
	}
	t.Logf("gone: %v", err)
	r.mu.Lock()
	held := r.s != nil
	r.mu.Unlock()
	if held {
		t.Error("the Reader keeps the deleted namespace's sockets open")
	}

	// Back again.
	n.Add(t)
	larval(t, n, 5)
	if _, err := r.Read(ctx); !errors.Is(err, ErrNetNSReplaced) {
		t.Fatalf("reading after the name came back: %v, want ErrNetNSReplaced", err)
	}
	if got := sas("after it came back"); got != 5 {
		t.Fatalf("after it came back: %d SAs, want 5", got)
	}
	if got := sas("again"); got != 5 {
		t.Fatalf("again: %d SAs, want 5", got)
	}

	// Closed: no reading, whatever the name does.
	r.Close()
	if _, err := r.Read(ctx); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close: %v", err)
	}
}

// A Reader on /proc/PID/ns/net follows the path: when the process exits,
// the namespace it held is gone.
func TestReaderFollowsPath(t *testing.T) {
	testns.RequireRoot(t)
	cmd := exec.Command("unshare", "--net", "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	path := fmt.Sprintf("/proc/%d/ns/net", cmd.Process.Pid)
	ctx := context.Background()
	// unshare enters the new namespace before exec'ing sleep: wait until
	// the process's namespace is not ours.
	self, err := statNS("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if id, err := statNS(path); err == nil && id != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not enter a new namespace")
		}
	}
	r, err := Open(ctx, NetNS{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Read(ctx); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := r.Read(ctx); !errors.Is(err, ErrNetNSGone) {
		t.Fatalf("reading after the process exited: %v, want ErrNetNSGone", err)
	}
}

// A Monitor of a name: replaced between two intervals, the new namespace
// starts from a new baseline; deleted, each interval says it is gone;
// added again, a new baseline.
func TestMonitorFollowsName(t *testing.T) {
	n := testns.New(t)
	larval(t, n, 3)
	m, err := New(&Config{Interval: 100 * time.Millisecond}, NetNS{Name: n.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var got []string
	err = m.Run(context.Background(), func(u Update) error {
		line := ""
		switch {
		case errors.Is(u.Err, ErrNetNSGone) && errors.Is(u.Err, os.ErrNotExist):
			line = "gone"
		case u.Err != nil:
			line = "error: " + u.Err.Error()
		case u.Baseline:
			line = fmt.Sprintf("baseline %d SAs", len(u.Snapshot.SAs))
		default:
			line = fmt.Sprintf("%d findings", len(u.Report.Findings))
		}
		got = append(got, line)
		switch len(got) {
		case 1:
			replace(t, n, 7)
		case 2:
			n.Del(t)
		case 3:
			n.Add(t)
			larval(t, n, 5)
		case 5:
			return ErrStop
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"baseline 3 SAs", "baseline 7 SAs", "gone", "baseline 5 SAs", "0 findings"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("updates:\n got %q\nwant %q", got, want)
	}
}
