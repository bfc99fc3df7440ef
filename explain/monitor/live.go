package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Reader reads one network namespace live, again and again: it keeps its
// rtnetlink and XFRM netlink sockets open between reads. It is safe for
// concurrent use; reads take turns (one at a time).
//
// A namespace given by Name or Path is followed: after every read the
// Reader checks that the name (or path) still refers to the namespace its
// sockets are in (which they keep alive, so that no other namespace can
// take its inode number), and returns the reading only then: it never
// returns a reading of a namespace that was deleted and is kept alive only
// by its own sockets. When the name is
// gone (ip netns del, the process of /proc/PID/ns/net exited), Read fails
// with an error matching ErrNetNSGone and os.ErrNotExist, and the Reader
// closes its sockets, releasing the deleted namespace. When the name
// refers to another namespace (deleted and added again), Read fails once
// with an error matching ErrNetNSReplaced, having opened the new
// namespace: the next Read reads it. Compare no reading taken before that
// error with one taken after it.
type Reader struct {
	ns      NetNS
	path    string // the file ns names; "" for the process's own namespace
	release string // uname -r, "" if unreadable

	// turn is held by the read in progress, from the first check of the
	// namespace to the last.
	turn chan struct{}

	mu     sync.Mutex // guards what follows; Close does not wait for a read
	s      *session   // nil once the namespace is gone, or closed
	id     nsID       // the namespace s reads
	closed bool
}

// session is the Reader's sockets in one namespace.
type session struct {
	links   *vtistat.Client
	xfrm    *xfrmstat.Client // nil when it could not be opened
	xfrmErr error            // why xfrm is nil
}

// nsID identifies a namespace: the device and inode number of its nsfs
// file.
type nsID struct{ dev, ino uint64 }

var (
	// ErrNetNSGone is the error of a Reader's read when the name or path
	// of its namespace no longer exists: the namespace was deleted (ip
	// netns del), or the process whose namespace it was exited. Such an
	// error also matches os.ErrNotExist. The Reader has closed its
	// sockets; if the name comes back, a read says ErrNetNSReplaced.
	ErrNetNSGone = errors.New("network namespace gone")
	// ErrNetNSReplaced is the error of a Reader's read when its name or
	// path now refers to another namespace than the one read before (ip
	// netns del NAME; ip netns add NAME). The Reader has opened the new
	// namespace, and its next read reads it; nothing read before this
	// error is of that namespace. A Monitor starts from a new baseline.
	ErrNetNSReplaced = errors.New("network namespace replaced")
)

// nsChange is an ErrNetNSGone or ErrNetNSReplaced error.
type nsChange struct {
	kind error
	text string
	err  error // the stat or open error, if any
}

func (e *nsChange) Error() string { return e.text }

func (e *nsChange) Unwrap() []error {
	if e.err == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.err}
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
	r := &Reader{ns: ns, path: ns.file(), release: kernelRelease(), turn: make(chan struct{}, 1)}
	s, id, err := r.open()
	if err != nil {
		return nil, withHint(fmt.Errorf("open %s: %w", ns.describe(), err), ns)
	}
	r.s, r.id = s, id
	return r, nil
}

// open opens sockets in the namespace r.path refers to, and returns which
// namespace that is. The sockets are opened by the name, as the reading
// packages' messages then name it; the namespace is held open meanwhile
// (so that its inode number cannot be given to another), and the name
// must refer to it before and after.
func (r *Reader) open() (*session, nsID, error) {
	if r.path == "" {
		s, err := dial(r.ns)
		return s, nsID{}, err
	}
	for range 3 {
		pin, id, err := openNS(r.path)
		if err != nil {
			return nil, nsID{}, err
		}
		s, err := dial(r.ns)
		if err != nil {
			pin.Close()
			return nil, nsID{}, err
		}
		now, err := statNS(r.path)
		pin.Close()
		if err == nil && now == id {
			return s, id, nil
		}
		s.close()
		if err != nil {
			return nil, nsID{}, err
		}
	}
	return nil, nsID{}, fmt.Errorf("%s kept being replaced while it was opened", r.path)
}

// dial opens the sockets.
func dial(ns NetNS) (*session, error) {
	// Where rtnetlink is refused (a seccomp filter), the links are read
	// from /proc/net/dev instead: every Snapshot says so in LinksFrom, in
	// each link's StatsFrom and in Unread ("links_rtnetlink").
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name, Path: ns.Path}, ProcNetDevFallback: true})
	if err != nil {
		return nil, err
	}
	s := &session{links: vc}
	s.xfrm, s.xfrmErr = xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name, Path: ns.Path}})
	return s, nil
}

func (s *session) close() error {
	err := s.links.Close()
	if s.xfrm != nil {
		err = errors.Join(err, s.xfrm.Close())
	}
	return err
}

// Close closes the sockets. Reads after Close fail with an error matching
// os.ErrClosed; a read in progress fails.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	s := r.s
	r.s = nil
	if s == nil {
		return nil
	}
	return s.close()
}

// subscribe subscribes to the XFRM events of the namespace the Reader's
// sockets are in now, through its XFRM client: the subscription outlives
// the client, and keeps that namespace alive until it is closed. It does
// not look for the namespace again (follow): a Reader whose namespace is
// gone has nothing to subscribe to.
func (r *Reader) subscribe(groups xfrmstat.Group) (*xfrmstat.Subscription, error) {
	s, err := r.openSession()
	switch {
	case err != nil:
		return nil, err
	case s.xfrm == nil:
		return nil, fmt.Errorf("XFRM client for %s not opened: %w", r.ns.describe(), s.xfrmErr)
	}
	sub, err := s.xfrm.Subscribe(context.Background(), groups)
	if err != nil {
		return nil, fmt.Errorf("subscribe to the XFRM events of %s: %w", r.ns.describe(), err)
	}
	return sub, nil
}

// openSession returns the sockets the Reader has open now, for a
// subscription in their namespace.
func (r *Reader) openSession() (*session, error) {
	r.mu.Lock()
	s, closed := r.s, r.closed
	r.mu.Unlock()
	switch {
	case closed:
		return nil, fmt.Errorf("monitor: subscribe to %s: %w", r.ns.describe(), os.ErrClosed)
	case s == nil:
		return nil, fmt.Errorf("monitor: subscribe to %s: not open", r.ns.describe())
	}
	return s, nil
}

// subscribeLinks subscribes to the link notifications of the namespace the
// Reader's sockets are in now.
func (r *Reader) subscribeLinks() (*vtistat.Subscription, error) {
	s, err := r.openSession()
	if err != nil {
		return nil, err
	}
	sub, err := s.links.Subscribe(context.Background())
	if err != nil {
		return nil, fmt.Errorf("subscribe to the link notifications of %s: %w", r.ns.describe(), err)
	}
	return sub, nil
}

// begin takes the Reader's turn and returns its sockets; when the
// namespace is gone, it looks for it again (follow). A reading taken with
// the sockets is the namespace's only if follow, once it is taken, finds
// that the name still refers to them: one check per reading. end gives
// the turn back.
func (r *Reader) begin(ctx context.Context) (*session, error) {
	select {
	case r.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	s, closed := r.s, r.closed
	r.mu.Unlock()
	var err error
	switch {
	case closed:
		err = fmt.Errorf("monitor: read %s: %w", r.ns.describe(), os.ErrClosed)
	case s == nil:
		s, err = r.follow()
	}
	if err != nil {
		<-r.turn
		return nil, err
	}
	return s, nil
}

func (r *Reader) end() { <-r.turn }

// follow checks that the name still refers to the namespace the Reader's
// sockets are in and returns them; if the name is gone or refers to
// another namespace, it closes them (they alone may keep a deleted
// namespace alive), opens the new one if there is one, and says what
// happened. The caller holds the turn.
func (r *Reader) follow() (*session, error) {
	r.mu.Lock()
	s, id, closed := r.s, r.id, r.closed
	r.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("monitor: read %s: %w", r.ns.describe(), os.ErrClosed)
	}
	if r.path == "" {
		return s, nil
	}
	now, err := statNS(r.path)
	switch {
	case err == nil && s != nil && now == id:
		return s, nil
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("check %s: %w", r.ns.describe(), err)
	}
	if s != nil {
		r.mu.Lock()
		if r.s == s {
			r.s = nil
		}
		r.mu.Unlock()
		s.close()
	}
	if err != nil {
		return nil, r.gone(err)
	}
	ns, nid, err := r.open()
	if errors.Is(err, os.ErrNotExist) {
		return nil, r.gone(err)
	} else if err != nil {
		return nil, withHint(fmt.Errorf("open %s again: %w", r.ns.describe(), err), r.ns)
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ns.close()
		return nil, fmt.Errorf("monitor: read %s: %w", r.ns.describe(), os.ErrClosed)
	}
	r.s, r.id = ns, nid
	r.mu.Unlock()
	return nil, &nsChange{kind: ErrNetNSReplaced, text: fmt.Sprintf(
		"%s was replaced: %s now refers to another namespace (deleted and added again?); the next reading is of the new one", r.ns.describe(), r.path)}
}

func (r *Reader) gone(err error) error {
	text := fmt.Sprintf("%s is gone: %s no longer exists", r.ns.describe(), r.path)
	if r.ns.Name != "" {
		text += " (deleted with ip netns del?)"
	}
	return &nsChange{kind: ErrNetNSGone, text: text, err: err}
}

// Read takes one full reading: every link with its parameters and stats64
// (one RTM_GETLINK dump), the peers of every wireguard link (one
// WG_CMD_GET_DEVICE dump each), /proc/net/xfrm_stat, the SAs and policies (one
// dump each, without key material), the policy defaults, SPD and SAD info,
// and the kernel release. Only a failure to read the links is an error;
// any other part that fails is left nil and listed in Unread with the
// reason. An error from a cancelled ctx is returned as such; so are
// ErrNetNSGone and ErrNetNSReplaced (see Reader).
//
// Read allocates the whole Snapshot afresh: it is the caller's, and no
// later Read touches it.
func (r *Reader) Read(ctx context.Context) (*Snapshot, error) {
	s, err := r.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer r.end()
	snap, err := r.read(ctx, s)
	if err != nil {
		return nil, err
	}
	// The namespace must still be the one the name refers to: a reading
	// of one deleted before or during the reading is not returned.
	if _, err := r.follow(); err != nil {
		return nil, err
	}
	return snap, nil
}

func (r *Reader) read(ctx context.Context, s *session) (*Snapshot, error) {
	snap := &Snapshot{Format: Format, NetNS: r.ns.String(), Time: time.Now().UTC(), KernelRelease: r.release}
	var vs vtistat.Snapshot
	if err := s.links.Snapshot(ctx, &vs); err != nil {
		return nil, withHint(fmt.Errorf("read links of %s: %w", r.ns.describe(), err), r.ns)
	}
	links := vs.Links
	snap.Links = make([]Link, len(links))
	for i := range links {
		snap.Links[i] = linkFromVTIStat(&links[i])
	}
	snap.LinksFrom = "rtnetlink"
	if ferr := s.links.FallbackReason(); ferr != nil {
		snap.LinksFrom = "proc/net/dev"
		snap.Unread = append(snap.Unread, Unread{Part: "links_rtnetlink", err: ferr,
			Error: "rtnetlink refused, links read from /proc/net/dev (no kinds, no tunnel parameters, three columns are sums): " + ferr.Error()})
	}
	// The peers right after the links: a wireguard link deleted in
	// between is named in Unread.
	wg, u := readWireGuard(ctx, s.links, nil, links)
	snap.WireGuard = wg
	if u != nil {
		snap.Unread = append(snap.Unread, *u)
	}
	if mib, err := r.readMIB(ctx, s); err != nil {
		snap.Unread = append(snap.Unread, mibUnread(err))
	} else {
		snap.MIB = &MIB{*mib}
	}
	r.readXFRM(ctx, s, snap)
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
func (r *Reader) readXFRM(ctx context.Context, s *session, snap *Snapshot) {
	if s.xfrm == nil {
		for _, p := range xfrmParts {
			snap.Unread = append(snap.Unread, unread(p, s.xfrmErr))
		}
		return
	}
	fail := func(part string, err error) {
		snap.Unread = append(snap.Unread, unread(part, err))
	}
	if sas, err := s.xfrm.SAs(ctx, nil); err != nil {
		fail("sas", err)
	} else {
		if sas == nil {
			sas = []xfrmstat.SA{} // read, and there were none
		}
		snap.SAs = sas
	}
	if pols, err := s.xfrm.Policies(ctx, nil); err != nil {
		fail("policies", err)
	} else {
		if pols == nil {
			pols = []xfrmstat.Policy{}
		}
		snap.Policies = pols
	}
	if d, err := s.xfrm.PolicyDefaults(ctx); err != nil {
		fail("policy_defaults", err)
	} else {
		snap.PolicyDefaults = &d
	}
	if i, err := s.xfrm.SPDInfo(ctx); err != nil {
		fail("spd_info", err)
	} else {
		snap.SPDInfo = &i
	}
	if i, err := s.xfrm.SADInfo(ctx); err != nil {
		fail("sad_info", err)
	} else {
		snap.SADInfo = &i
	}
}

// readMIB reads /proc/net/xfrm_stat: through the XFRM client, which reads
// it in the client's namespace, or, when the client could not be opened
// and the namespace is the process's own, directly.
func (r *Reader) readMIB(ctx context.Context, s *session) (*procnet.XfrmStat, error) {
	switch {
	case s.xfrm != nil:
		mib := new(procnet.XfrmStat)
		if err := s.xfrm.MIB(ctx, mib); err != nil {
			return nil, err
		}
		return mib, nil
	case r.ns == (NetNS{}):
		return procnet.FS{}.ReadXfrmStat(ctx)
	}
	return nil, fmt.Errorf("XFRM client for %s not opened: %w", r.ns.describe(), s.xfrmErr)
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
