package reading

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Source reads one network namespace again and again. It keeps its netlink
// sockets open between reads. A Source is not safe for concurrent use.
type Source struct {
	ns    NetNS
	links linkReader
	xfrm  xfrmReader
	now   func() time.Time
}

// Open opens the namespace's rtnetlink and XFRM sockets. It fails only
// when links cannot be read at all; a part that cannot be read (XFRM
// without CAP_NET_ADMIN, a kernel without xfrm_stat) is recorded in each
// Snapshot's Unread instead.
func Open(ctx context.Context, ns NetNS) (*Source, error) {
	s := &Source{ns: ns, now: time.Now}
	if err := s.links.open(ns); err != nil {
		return nil, withHint(fmt.Errorf("open %s: %w", ns.describe(), err), ns)
	}
	s.xfrm.open(ns)
	return s, nil
}

// Close closes the sockets.
func (s *Source) Close() error {
	return errors.Join(s.links.close(), s.xfrm.close())
}

// Read takes one reading: every link with its parameters and stats64, the
// XFRM MIB, SAs, policies, policy defaults, SPD and SAD info, and the kernel
// release. Only a failure to read the links is an error; any other part
// that fails is left nil and listed in Unread with the reason.
func (s *Source) Read(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{Format: Format, NetNS: s.ns.String(), Time: s.now().UTC()}
	if err := s.links.read(ctx, snap); err != nil {
		return nil, withHint(fmt.Errorf("read links of %s: %w", s.ns.describe(), err), s.ns)
	}
	s.xfrm.read(ctx, snap)
	snap.KernelRelease = kernelRelease()
	if snap.KernelRelease == "" {
		snap.Unread = append(snap.Unread, Unread{Part: "kernel_release", Error: "/proc/sys/kernel/osrelease is not readable"})
	}
	return snap, ctx.Err()
}

// ReadOnce opens the namespace, reads it once and closes it.
func ReadOnce(ctx context.Context, ns NetNS) (*Snapshot, error) {
	src, err := Open(ctx, ns)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return src.Read(ctx)
}

// kernelRelease is uname -r. It is the same in every network namespace.
func kernelRelease() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// withHint adds what to do when entering a namespace was refused.
func withHint(err error, ns NetNS) error {
	if ns != (NetNS{}) && errors.Is(err, os.ErrPermission) {
		return fmt.Errorf("%w (entering another network namespace needs CAP_SYS_ADMIN: run as root)", err)
	}
	if ns.Name != "" && errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w (`ip netns list` shows the namespaces that exist)", err)
	}
	return err
}

// unread records a part that failed, with what would make it readable.
func unread(part string, err error) Unread {
	u := Unread{Part: part, Error: err.Error(), err: err}
	switch {
	case errors.Is(err, os.ErrPermission):
		u.Needs = "CAP_NET_ADMIN"
	}
	return u
}
