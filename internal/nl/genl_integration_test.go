//go:build linux

package nl_test

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/errs"
	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"golang.org/x/sys/unix"
)

// The controller resolves itself: "nlctrl" is GENL_ID_CTRL in every
// kernel with generic netlink, which needs no module and no privilege.
func TestResolveFamilyNlctrl(t *testing.T) {
	c, err := nl.Dial(unix.NETLINK_GENERIC, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	for range 3 { // the Conn is reusable after each answer
		f, err := c.ResolveFamily(ctx, "nlctrl")
		if err != nil {
			t.Fatal(err)
		}
		if f.ID != nl.GenlIDCtrl || f.Name != "nlctrl" || f.Version == 0 {
			t.Fatalf("nlctrl resolved as %+v", f)
		}
	}
}

// A name no kernel registers is a *FamilyNotFoundError matching
// os.ErrNotExist and ErrNotSupported; the socket stays usable. Run in a
// namespace of its own: the lookup is per-kernel, not per-namespace, but
// this keeps the test from touching the host's.
func TestResolveFamilyMissing(t *testing.T) {
	ns := testns.New(t)
	c, err := nl.Dial(unix.NETLINK_GENERIC, ns.Open(t), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	_, err = c.ResolveFamily(ctx, "tsnosuchfamily")
	var fe *nl.FamilyNotFoundError
	if !errors.As(err, &fe) || !errors.Is(err, os.ErrNotExist) || !errors.Is(err, errs.ErrNotSupported) {
		t.Fatalf("missing family: %T %v", err, err)
	}
	if _, err := c.ResolveFamily(ctx, "nlctrl"); err != nil {
		t.Fatalf("after a missing family: %v", err)
	}
	// Families that exist on most hosts, when they do: each has an ID of
	// its own above the controller's.
	for _, name := range []string{"ethtool", "devlink", "TASKSTATS"} {
		f, err := c.ResolveFamily(ctx, name)
		if errors.Is(err, os.ErrNotExist) {
			t.Logf("%s: not in this kernel", name)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.ID <= nl.GenlIDCtrl || f.Name != name {
			t.Errorf("%s resolved as %+v", name, f)
		}
		t.Logf("%s: id %d version %d", name, f.ID, f.Version)
	}
}

// A name too long for the kernel is refused before anything is sent.
func TestResolveFamilyBadName(t *testing.T) {
	c, err := nl.Dial(unix.NETLINK_GENERIC, -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.ResolveFamily(context.Background(), "a-name-longer-than-15"); err == nil {
		t.Fatal("accepted")
	}
}
