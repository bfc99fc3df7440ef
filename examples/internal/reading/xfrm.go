package reading

// Everything that depends on package xfrmstat's client is in this file.

import (
	"context"
	"errors"
	"fmt"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// xfrmReader reads the namespace's XFRM state. Every XFRM netlink request
// needs CAP_NET_ADMIN; the MIB is a file anyone may read.
type xfrmReader struct {
	ns      NetNS
	c       *xfrmstat.Client
	dialErr error
}

func (r *xfrmReader) open(ns NetNS) {
	r.ns = ns
	c, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name, Path: ns.Path}})
	if err != nil {
		r.dialErr = err
		return
	}
	r.c = c
}

func (r *xfrmReader) close() error {
	if r.c == nil {
		return nil
	}
	return r.c.Close()
}

// xfrmParts are the parts read over XFRM netlink, in the order read.
var xfrmParts = []string{"sas", "policies", "policy_defaults", "spd_info", "sad_info"}

func (r *xfrmReader) read(ctx context.Context, snap *Snapshot) {
	r.readMIB(ctx, snap)
	if r.c == nil {
		for _, p := range xfrmParts {
			snap.Unread = append(snap.Unread, unread(p, r.dialErr))
		}
		return
	}
	fail := func(part string, err error) {
		snap.Unread = append(snap.Unread, unread(part, err))
	}
	if sas, err := r.c.SAs(ctx, nil); err != nil {
		fail("sas", err)
	} else {
		if sas == nil {
			sas = []xfrmstat.SA{} // read, and there were none
		}
		snap.SAs = sas
	}
	if pols, err := r.c.Policies(ctx, nil); err != nil {
		fail("policies", err)
	} else {
		if pols == nil {
			pols = []xfrmstat.Policy{}
		}
		snap.Policies = pols
	}
	if d, err := r.c.PolicyDefaults(ctx); err != nil {
		fail("policy_defaults", err)
	} else {
		snap.PolicyDefaults = &d
	}
	if i, err := r.c.SPDInfo(ctx); err != nil {
		fail("spd_info", err)
	} else {
		snap.SPDInfo = &i
	}
	if i, err := r.c.SADInfo(ctx); err != nil {
		fail("sad_info", err)
	} else {
		snap.SADInfo = &i
	}
}

// readMIB reads /proc/net/xfrm_stat: through the XFRM client, which reads
// it in the client's namespace, or, when the client could not be opened
// and the namespace is the process's own, directly.
func (r *xfrmReader) readMIB(ctx context.Context, snap *Snapshot) {
	var (
		mib = new(procnet.XfrmStat)
		err error
	)
	switch {
	case r.c != nil:
		err = r.c.MIB(ctx, mib)
	case r.ns == (NetNS{}):
		mib, err = procnet.FS{}.ReadXfrmStat(ctx)
	default:
		err = fmt.Errorf("XFRM client for %s not opened: %w", r.ns.describe(), r.dialErr)
	}
	if err != nil {
		u := unread("xfrm_stat", err)
		if errors.Is(err, procnet.ErrNotSupported) || errors.Is(err, xfrmstat.ErrNotSupported) {
			u.Needs = "a kernel built with CONFIG_XFRM_STATISTICS"
		}
		snap.Unread = append(snap.Unread, u)
		return
	}
	snap.MIB = &MIB{*mib}
}
