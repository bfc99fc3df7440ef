//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// maxTunnels bounds the tunnel numbers: each tunnel's inner prefix is
// 10.(n>>8).(n&255).0/24 and its peer is in 198.18.0.0/15.
const maxTunnels = 65535

// world is every namespace the harness made. All names start with prefix
// (tsxb-<random>-), so a run never touches another's.
type world struct {
	prefix string
	mu     sync.Mutex
	names  []string // created, in order
}

func newWorld() *world {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &world{prefix: "tsxb-" + hex.EncodeToString(b[:]) + "-"}
}

func (w *world) nsA() string   { return w.prefix + "a" }
func (w *world) nsCtl() string { return w.prefix + "ctl" }

// nsB is scenario B's namespace k; bPrefix is what they all start with.
func (w *world) nsB(k int) string { return fmt.Sprintf("%sb%03d", w.prefix, k) }
func (w *world) bPrefix() string  { return w.prefix + "b" }

// ip runs ip(8) with args, feeding it stdin (a batch), and returns its
// error with the first lines of its output. Its standard output (ip
// prints every SA allocspi made) is dropped.
func ip(ctx context.Context, stdin string, args ...string) error {
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stdout = io.Discard
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		msg := stderr.String()
		if len(msg) > 2000 {
			msg = msg[:2000] + " …"
		}
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(msg))
	}
	return nil
}

// add creates the namespaces (their loopback up) and raises
// net.core.xfrm_acq_expires in each, so that larval SAs live a day
// instead of 30 s: one ip -batch for all of them.
func (w *world) add(ctx context.Context, names ...string) error {
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "netns add %s\n", n)
	}
	err := ip(ctx, b.String(), "-batch", "-")
	// Record every name that now exists, even if the batch stopped half
	// way, so that cleanup removes them.
	w.mu.Lock()
	for _, n := range names {
		if exists(n) {
			w.names = append(w.names, n)
		}
	}
	w.mu.Unlock()
	if err != nil {
		return err
	}
	b.Reset()
	for _, n := range names {
		fmt.Fprintf(&b, "netns exec %s sysctl -qw net.core.xfrm_acq_expires=86400\n", n)
	}
	return ip(ctx, b.String(), "-batch", "-")
}

func exists(name string) bool {
	_, err := os.Stat("/run/netns/" + name)
	return err == nil
}

// deleteAll removes every namespace the harness made; the kernel tears
// them down in the background.
func (w *world) deleteAll() {
	w.mu.Lock()
	names := w.names
	w.names = nil
	w.mu.Unlock()
	if len(names) > 0 {
		w.del(names...)
	}
}

// del removes the named namespaces (of this world's) now.
func (w *world) del(names ...string) {
	var b strings.Builder
	for _, n := range names {
		if strings.HasPrefix(n, w.prefix) { // never anything but ours
			fmt.Fprintf(&b, "netns del %s\n", n)
		}
	}
	// -force: go on past a namespace already gone.
	if err := ip(context.Background(), b.String(), "-force", "-batch", "-"); err != nil {
		logf("cleanup: %v", err)
	}
	w.mu.Lock()
	w.names = removeAll(w.names, names)
	w.mu.Unlock()
}

// cleanPrefix deletes the namespaces a run left (killed before it could
// clean up): those whose names start with prefix, which must be a run's
// tsxb-<8 hex digits>-.
func cleanPrefix(prefix string) error {
	if len(prefix) != len("tsxb-01234567-") || !strings.HasPrefix(prefix, "tsxb-") || !strings.HasSuffix(prefix, "-") {
		return fmt.Errorf("-clean %q: want a run's prefix, tsxb-<8 hex digits>-", prefix)
	}
	ents, err := os.ReadDir("/run/netns")
	if err != nil {
		return err
	}
	w := &world{prefix: prefix}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			w.names = append(w.names, e.Name())
		}
	}
	logf("deleting %d namespaces named %s…", len(w.names), prefix)
	w.deleteAll()
	return nil
}

func removeAll(from, names []string) []string {
	gone := map[string]bool{}
	for _, n := range names {
		gone[n] = true
	}
	out := from[:0]
	for _, n := range from {
		if !gone[n] {
			out = append(out, n)
		}
	}
	return out
}

// local is every tunnel's local address; peers are 198.18.0.0/15
// (RFC 2544's benchmarking range), so no address here is anybody's.
var local = netip.AddrFrom4([4]byte{192, 0, 2, 1})

func peer(n int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18 + byte(n>>16), byte(n >> 8), byte(n)})
}

// tunnelLines is the ip -batch input for tunnels first to first+count-1
// (numbers are global across B's namespaces, so every tunnel has its own
// peer, reqid and SPIs): per tunnel, a vxlan link vxI (I counting from 1
// in each namespace; never up), an outbound policy from 172.16.0.0/16 to
// the tunnel's own /24 with a tunnel-mode ESP template from 192.0.2.1 to
// its peer, reqid = its number, and two larval SAs of that reqid,
// 192.0.2.1 → peer (SPI 0x100000+n) and peer → 192.0.2.1 (SPI 0x200000+n).
func tunnelLines(first, count int) string {
	var b strings.Builder
	b.Grow(count * 420)
	for i := range count {
		fmt.Fprintf(&b, "link add vx%d type vxlan id %d dstport 4789\n", i+1, i+1)
	}
	for i := range count {
		n := first + i
		fmt.Fprintf(&b, "xfrm policy add src 172.16.0.0/16 dst 10.%d.%d.0/24 dir out tmpl src %s dst %s proto esp reqid %d mode tunnel\n",
			n>>8, n&255, local, peer(n), n)
	}
	for i := range count {
		n := first + i
		fmt.Fprintf(&b, "xfrm state allocspi src %s dst %s proto esp mode tunnel reqid %d min %#x max %#x\n", local, peer(n), n, 0x100000+n, 0x100000+n)
		fmt.Fprintf(&b, "xfrm state allocspi src %s dst %s proto esp mode tunnel reqid %d min %#x max %#x\n", peer(n), local, n, 0x200000+n, 0x200000+n)
	}
	b.WriteString("link set lo up\n")
	return b.String()
}

// fill makes count tunnels, numbered from first, in namespace ns.
func fill(ctx context.Context, ns string, first, count int) error {
	return ip(ctx, tunnelLines(first, count), "-n", ns, "-batch", "-")
}

// buildA makes scenario A's namespace.
func (w *world) buildA(ctx context.Context, tunnels int) error {
	t0 := time.Now()
	if err := w.add(ctx, w.nsA()); err != nil {
		return err
	}
	if err := fill(ctx, w.nsA(), 1, tunnels); err != nil {
		return err
	}
	logf("scenario A: %s with %d vxlan links, %d policies, %d larval SAs in %v",
		w.nsA(), tunnels, tunnels, 2*tunnels, time.Since(t0).Round(time.Millisecond))
	return nil
}

// buildB makes scenario B's namespaces, filled by workers in parallel.
func (w *world) buildB(ctx context.Context, namespaces, perNS, workers int) error {
	t0 := time.Now()
	names := make([]string, namespaces)
	for k := range names {
		names[k] = w.nsB(k)
	}
	if err := w.add(ctx, names...); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	errc := make(chan error, workers)
	for range workers {
		go func() {
			for k := range next {
				if err := fill(ctx, names[k], 1+k*perNS, perNS); err != nil {
					cancel()
					errc <- err
					return
				}
			}
			errc <- nil
		}()
	}
	var err error
send:
	for k := range names {
		select {
		case next <- k:
		case <-ctx.Done():
			break send
		}
	}
	close(next)
	for range workers {
		if e := <-errc; e != nil && err == nil {
			err = e
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return err
	}
	logf("scenario B: %d namespaces %s000… of %d vxlan links, %d policies, %d larval SAs each in %v",
		namespaces, w.bPrefix(), perNS, perNS, 2*perNS, time.Since(t0).Round(time.Millisecond))
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "exporterbench: "+format+"\n", args...)
}
