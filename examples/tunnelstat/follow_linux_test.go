//go:build linux

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// watch --netns NAME follows the name: deleted and added again, it says
// so and watches the new namespace; deleted, it says the namespace is gone
// (once) and reads nothing until a namespace of that name exists again.
func TestLiveWatchFollowsName(t *testing.T) {
	ns := xfrmNamespace(t)
	var out, errOut bytes.Buffer
	a := newApp(&out, &errOut)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- a.run(ctx, []string{"watch", "--netns", ns.Name, "--interval", "100ms"}) }()
	time.Sleep(500 * time.Millisecond)
	ns.Del(t)
	ns.Add(t)
	time.Sleep(500 * time.Millisecond)
	ns.Del(t)
	time.Sleep(500 * time.Millisecond)
	ns.Add(t)
	time.Sleep(500 * time.Millisecond)
	cancel()
	var code int
	select {
	case code = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not stop")
	}
	stderr := errOut.String()
	if code != exitOK || out.String() != "" {
		t.Errorf("exit %d, stdout %q", code, out.String())
	}
	if !strings.Contains(stderr, "watching network namespace "+ns.Name+" (0 tunnels)") {
		t.Errorf("stderr lacks the start:\n%s", stderr)
	}
	replaced := "network namespace " + ns.Name + " was replaced (deleted and added again): watching the new one (0 tunnels)"
	gone := `network namespace "` + ns.Name + `" is gone: /run/netns/` + ns.Name + " no longer exists"
	if n := strings.Count(stderr, replaced); n != 2 {
		t.Errorf("%d notices of a replacement, want one per ip netns add:\n%s", n, stderr)
	}
	if n := strings.Count(stderr, gone); n < 1 || n > 2 {
		t.Errorf("%d notices that the namespace is gone, want one per ip netns del that an interval saw:\n%s", n, stderr)
	}
	t.Logf("stderr:\n%s", stderr)
}

// A one-shot command whose namespace is deleted between opening and
// reading exits with a message saying so, and reads nothing of it.
func TestLiveShowNamespaceGone(t *testing.T) {
	ns := xfrmNamespace(t)
	a := newApp(nil, nil)
	a.open = func(ctx context.Context, n monitor.NetNS) (monitor.Source, error) {
		r, err := monitor.Open(ctx, n)
		ns.Del(t)
		return r, err
	}
	code, out, errOut := runApp(t, a, "show", "--netns", ns.Name)
	if code != exitError || out != "" || !strings.Contains(errOut, "is gone") {
		t.Errorf("show of a namespace deleted meanwhile: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// Named but absent from the start: the same exit status, and the hint.
	code, _, errOut = runApp(t, nil, "show", "--netns", ns.Name)
	if code != exitError || !strings.Contains(errOut, "ip netns list") {
		t.Errorf("show of a missing namespace: exit %d, stderr %q", code, errOut)
	}
}
