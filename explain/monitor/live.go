package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Reader reads one network namespace live, again and again: it keeps its
// rtnetlink and XFRM netlink sockets open between reads. It is safe for
// concurrent use; reads are serialised on the sockets.
type Reader struct {
	ns      NetNS
	links   *vtistat.Client
	xfrm    *xfrmstat.Client // nil when it could not be opened
	xfrmErr error            // why xfrm is nil
	release string           // uname -r, "" if unreadable
}

// Open opens the namespace's sockets. It fails only when the links cannot
// be read at all: the namespace does not exist, entering it is refused
// (that needs CAP_SYS_ADMIN), rtnetlink cannot be opened. A part that
// cannot be read (XFRM netlink without CAP_NET_ADMIN, a kernel without
// xfrm_stat) is listed in each Snapshot's Unread instead.
//
// ctx bounds nothing after Open returns.
func Open(ctx context.Context, ns NetNS) (*Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Where rtnetlink is refused (a seccomp filter), the links are read
	// from /proc/net/dev instead: every Snapshot says so in LinksFrom, in
	// each link's StatsFrom and in Unread ("links_rtnetlink").
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name, Path: ns.Path}, ProcNetDevFallback: true})
	if err != nil {
		return nil, withHint(fmt.Errorf("open %s: %w", ns.describe(), err), ns)
	}
	r := &Reader{ns: ns, links: vc, release: kernelRelease()}
	r.xfrm, r.xfrmErr = xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name, Path: ns.Path}})
	return r, nil
}

// Close closes the sockets. Reads after Close fail.
func (r *Reader) Close() error {
	err := r.links.Close()
	if r.xfrm != nil {
		err = errors.Join(err, r.xfrm.Close())
	}
	return err
}

// Read takes one full reading: every link with its parameters and stats64
// (one RTM_GETLINK dump), /proc/net/xfrm_stat, the SAs and policies (one
// dump each, without key material), the policy defaults, SPD and SAD info,
// and the kernel release. Only a failure to read the links is an error;
// any other part that fails is left nil and listed in Unread with the
// reason. An error from a cancelled ctx is returned as such.
//
// Read allocates the whole Snapshot afresh: it is the caller's, and no
// later Read touches it.
func (r *Reader) Read(ctx context.Context) (*Snapshot, error) {
	snap := &Snapshot{Format: Format, NetNS: r.ns.String(), Time: time.Now().UTC(), KernelRelease: r.release}
	var vs vtistat.Snapshot
	if err := r.links.Snapshot(ctx, &vs); err != nil {
		return nil, withHint(fmt.Errorf("read links of %s: %w", r.ns.describe(), err), r.ns)
	}
	links := vs.Links
	snap.Links = make([]Link, len(links))
	for i := range links {
		snap.Links[i] = linkFromVTIStat(&links[i])
	}
	snap.LinksFrom = "rtnetlink"
	if ferr := r.links.FallbackReason(); ferr != nil {
		snap.LinksFrom = "proc/net/dev"
		snap.Unread = append(snap.Unread, Unread{Part: "links_rtnetlink", err: ferr,
			Error: "rtnetlink refused, links read from /proc/net/dev (no kinds, no tunnel parameters, three columns are sums): " + ferr.Error()})
	}
	if mib, err := r.readMIB(ctx); err != nil {
		snap.Unread = append(snap.Unread, mibUnread(err))
	} else {
		snap.MIB = &MIB{*mib}
	}
	r.readXFRM(ctx, snap)
	if snap.KernelRelease == "" {
		snap.Unread = append(snap.Unread, Unread{Part: "kernel_release", Error: "/proc/sys/kernel/osrelease is not readable"})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return snap, nil
}

// xfrmParts are the parts read over XFRM netlink, in the order read.
var xfrmParts = []string{"sas", "policies", "policy_defaults", "spd_info", "sad_info"}

// readXFRM reads the XFRM state over netlink; every request needs
// CAP_NET_ADMIN.
func (r *Reader) readXFRM(ctx context.Context, snap *Snapshot) {
	if r.xfrm == nil {
		for _, p := range xfrmParts {
			snap.Unread = append(snap.Unread, unread(p, r.xfrmErr))
		}
		return
	}
	fail := func(part string, err error) {
		snap.Unread = append(snap.Unread, unread(part, err))
	}
	if sas, err := r.xfrm.SAs(ctx, nil); err != nil {
		fail("sas", err)
	} else {
		if sas == nil {
			sas = []xfrmstat.SA{} // read, and there were none
		}
		snap.SAs = sas
	}
	if pols, err := r.xfrm.Policies(ctx, nil); err != nil {
		fail("policies", err)
	} else {
		if pols == nil {
			pols = []xfrmstat.Policy{}
		}
		snap.Policies = pols
	}
	if d, err := r.xfrm.PolicyDefaults(ctx); err != nil {
		fail("policy_defaults", err)
	} else {
		snap.PolicyDefaults = &d
	}
	if i, err := r.xfrm.SPDInfo(ctx); err != nil {
		fail("spd_info", err)
	} else {
		snap.SPDInfo = &i
	}
	if i, err := r.xfrm.SADInfo(ctx); err != nil {
		fail("sad_info", err)
	} else {
		snap.SADInfo = &i
	}
}

// readMIB reads /proc/net/xfrm_stat: through the XFRM client, which reads
// it in the client's namespace, or, when the client could not be opened
// and the namespace is the process's own, directly.
func (r *Reader) readMIB(ctx context.Context) (*procnet.XfrmStat, error) {
	switch {
	case r.xfrm != nil:
		mib := new(procnet.XfrmStat)
		if err := r.xfrm.MIB(ctx, mib); err != nil {
			return nil, err
		}
		return mib, nil
	case r.ns == (NetNS{}):
		return procnet.FS{}.ReadXfrmStat(ctx)
	}
	return nil, fmt.Errorf("XFRM client for %s not opened: %w", r.ns.describe(), r.xfrmErr)
}

// mibUnread records why xfrm_stat was not read.
func mibUnread(err error) Unread {
	u := unread("xfrm_stat", err)
	if errors.Is(err, procnet.ErrNotSupported) || errors.Is(err, xfrmstat.ErrNotSupported) {
		u.Needs = "a kernel built with CONFIG_XFRM_STATISTICS"
	}
	return u
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
	if errors.Is(err, os.ErrPermission) {
		u.Needs = "CAP_NET_ADMIN"
	}
	return u
}
