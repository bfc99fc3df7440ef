package monitor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// A namespace without wireguard links: nothing is asked of the wireguard
// family (the host may not have one), the Snapshot has no devices, says
// nothing is unread, and its document has no "wireguard" field; a poll
// reads none either and stays Unchanged when nothing moved.
func TestLiveNoWireGuard(t *testing.T) {
	testns.RequireRoot(t)
	ns := testns.New(t) // lo only, down: no counter moves
	ctx := context.Background()
	r, err := Open(ctx, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	snap, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if snap.WireGuard != nil {
		t.Errorf("WireGuard = %+v, want nil", snap.WireGuard)
	}
	if u, ok := snap.Unreadable("wireguard"); ok {
		t.Errorf("unread: %+v", u)
	}
	var buf bytes.Buffer
	if err := snap.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "wireguard") {
		t.Errorf("document names wireguard:\n%s", buf.String())
	}
	if r := snap.Reading(); r.WireGuard != nil {
		t.Errorf("Reading().WireGuard = %+v, want nil", r.WireGuard)
	}

	m, err := New(&Config{}, NetNS{Name: ns.Name})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	w := m.watched[0]
	for i := range 3 {
		u := w.step(ctx, m)
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		if u.Reading.WireGuard != nil || w.p.rawWG != nil {
			t.Errorf("interval %d: WireGuard %+v, raw %+v", i, u.Reading.WireGuard, w.p.rawWG)
		}
		for _, un := range u.Unread {
			if un.Part == "wireguard" {
				t.Errorf("interval %d: unread %+v", i, un)
			}
		}
		if i == 2 && !u.Unchanged {
			t.Errorf("interval %d of a quiet namespace: not Unchanged", i)
		}
	}
}

// A kernel without the wireguard family: a link said to be of kind
// wireguard is not read, and the Unread says why, matching os.ErrNotExist
// and vtistat.ErrNotSupported; the next wireguard link is not asked for,
// and is named too. Links of other kinds are never asked for.
func TestReadWireGuardNoFamily(t *testing.T) {
	testns.RequireRoot(t)
	ns := testns.New(t)
	ns.IP(t, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
	c, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var snap vtistat.Snapshot
	if err := c.Snapshot(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	if wg, u := readWireGuard(ctx, c, nil, snap.Links); wg != nil || u != nil {
		t.Fatalf("no wireguard link: got %+v, %+v", wg, u)
	}
	// The links as a kernel with wireguard links would list them: every
	// link said to be a wireguard device.
	links := append([]vtistat.Link(nil), snap.Links...)
	for i := range links {
		links[i].Kind = "wireguard"
	}
	wg, u := readWireGuard(ctx, c, nil, links)
	if u != nil && errors.Is(u.Err(), vtistat.ErrNotSupported) && !errors.Is(u.Err(), os.ErrNotExist) {
		t.Skip("this kernel has the wireguard family (the links are of another kind): " + u.Error)
	}
	if wg != nil || u == nil {
		t.Fatalf("got %+v, %+v; want no device and an Unread", wg, u)
	}
	if u.Part != "wireguard" || !errors.Is(u.Err(), os.ErrNotExist) || !errors.Is(u.Err(), vtistat.ErrNotSupported) {
		t.Errorf("unread %+v (%v): want part wireguard matching os.ErrNotExist and vtistat.ErrNotSupported", u, u.Err())
	}
	for _, want := range []string{"peers of " + links[0].Name, "not asked for the same reason: " + links[1].Name} {
		if !strings.Contains(u.Error, want) {
			t.Errorf("unread error %q lacks %q", u.Error, want)
		}
	}
	t.Logf("unread: %s", u.Error)
}
