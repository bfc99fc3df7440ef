package monitor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// poller is the counters-only reading of a live namespace, for a Monitor's
// quiet intervals: vtistat's PollStats and the MIB, each into one of two
// sets of buffers, alternated so that the previous poll stays intact for
// explain. After the first polls have grown the buffers, a poll allocates
// nothing.
type poller struct {
	r        *Reader
	snaps    [2]vtistat.Snapshot
	mibs     [2]procnet.XfrmStat
	readings [2]explain.Reading

	// mibFile reads xfrm_stat directly in the process's own namespace when
	// the XFRM client could not be opened.
	mibFile *procnet.XfrmStatReader
	// mibGone is the Unread of a MIB that cannot be read until the
	// namespace is opened again (no XFRM client in another namespace, a
	// kernel without the file): made once, shared by every Update.
	mibGone []Unread

	// With Config.Health (health true), every poll also reads the SAs,
	// into rawSAs and converted into sas[b], alternated as the links are,
	// and the SPD info; the policies only when the caller says they may
	// have changed, when the SPD counts changed or when they are not
	// known. policies are the latest read, shared by the readings until
	// read again: a fresh slice every time, never written to after.
	health   bool
	rawSAs   []xfrmstat.SA
	sas      [2][]explain.SA
	rawPols  []xfrmstat.Policy
	policies []explain.Policy // nil: not known, read at the next poll
	spd      xfrmstat.SPDInfo
	spdKnown bool
}

// poll reads the counters into buffer set b and returns them as a
// Reading, with the parts it could not read. It follows the namespace's
// name as Reader.Read does: a poller whose poll returned ErrNetNSReplaced
// is replaced too, as its buffers hold the old namespace's links. With
// health, it reads the SAs too, and the policies when rereadPolicies or
// the SPD counts say they may have changed.
func (p *poller) poll(ctx context.Context, b int, rereadPolicies bool) (*explain.Reading, []Unread, error) {
	s, err := p.r.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer p.r.end()
	if err := s.links.PollStats(ctx, &p.snaps[b]); err != nil {
		return nil, nil, withHint(fmt.Errorf("read link counters of %s: %w", p.r.ns.describe(), err), p.r.ns)
	}
	mib, un := p.pollMIB(ctx, s, &p.mibs[b])
	var sas []explain.SA
	if p.health {
		sas, un = p.pollXFRM(ctx, s, b, rereadPolicies, un)
	}
	if _, err := p.r.follow(); err != nil {
		return nil, nil, err
	}
	r := &p.readings[b]
	pollReading(r, &p.snaps[b], mib, p.r.release)
	if p.health {
		r.SAs, r.Policies = sas, p.policies
	}
	return r, un, nil
}

// pollXFRM reads the SAs into buffer set b, the SPD info, and the
// policies when they may have changed; it returns the SAs (nil if not
// read) and un with the parts it could not read appended (un may be
// shared: it is never appended to in place).
func (p *poller) pollXFRM(ctx context.Context, s *session, b int, rereadPolicies bool, un []Unread) ([]explain.SA, []Unread) {
	if s.xfrm == nil {
		p.policies, p.spdKnown = nil, false
		return nil, append(slices.Clip(un), unread("sas", s.xfrmErr), unread("policies", s.xfrmErr))
	}
	var sas []explain.SA
	if raw, err := s.xfrm.SAs(ctx, p.rawSAs); err != nil {
		un = append(slices.Clip(un), unread("sas", err))
	} else {
		p.rawSAs = raw
		sas = appendSAs(p.sas[b][:0], raw)
		if sas == nil {
			sas = []explain.SA{} // read, and there were none
		}
		p.sas[b] = sas
	}
	switch spd, err := s.xfrm.SPDInfo(ctx); {
	case err != nil:
		un = append(slices.Clip(un), unread("spd_info", err))
		rereadPolicies, p.spdKnown = true, false
	default:
		if !p.spdKnown || !sameSPDCounts(&spd, &p.spd) {
			rereadPolicies = true
		}
		p.spd, p.spdKnown = spd, true
	}
	if rereadPolicies || p.policies == nil {
		if raw, err := s.xfrm.Policies(ctx, p.rawPols); err != nil {
			un = append(slices.Clip(un), unread("policies", err))
			p.policies = nil
		} else {
			p.rawPols = raw
			p.policies = ExplainPolicies(raw)
			if p.policies == nil {
				p.policies = []explain.Policy{}
			}
		}
	}
	return sas, un
}

// setPolicies makes the policies and SPD info of a full reading the
// latest known (nil: not read, read at the next poll).
func (p *poller) setPolicies(policies []explain.Policy, spd *xfrmstat.SPDInfo) {
	p.policies = policies
	p.spdKnown = spd != nil
	if spd != nil {
		p.spd = *spd
	}
}

// sameSPDCounts reports whether two SPD infos count the same policies in
// every direction: a policy added or deleted changes a count.
func sameSPDCounts(a, b *xfrmstat.SPDInfo) bool {
	return a.In == b.In && a.Out == b.Out && a.Fwd == b.Fwd &&
		a.SocketIn == b.SocketIn && a.SocketOut == b.SocketOut && a.SocketFwd == b.SocketFwd
}

// pollMIB reads xfrm_stat into dst; nil and why when it could not.
func (p *poller) pollMIB(ctx context.Context, s *session, dst *procnet.XfrmStat) (*procnet.XfrmStat, []Unread) {
	if p.mibGone != nil {
		return nil, p.mibGone
	}
	var err error
	switch {
	case s.xfrm != nil:
		err = s.xfrm.MIB(ctx, dst)
	case p.r.ns == (NetNS{}):
		if p.mibFile == nil {
			p.mibFile, err = procnet.FS{}.OpenXfrmStat(ctx)
		}
		if err == nil {
			err = p.mibFile.Read(ctx, dst)
		}
	default:
		p.mibGone = []Unread{mibUnread(fmt.Errorf("XFRM client for %s not opened: %w", p.r.ns.describe(), s.xfrmErr))}
		return nil, p.mibGone
	}
	if err == nil {
		return dst, nil
	}
	un := []Unread{mibUnread(err)}
	if errors.Is(err, procnet.ErrNotSupported) || errors.Is(err, xfrmstat.ErrNotSupported) {
		p.mibGone = un
	}
	return nil, un
}

func (p *poller) close() error {
	if p.mibFile == nil {
		return nil
	}
	return p.mibFile.Close()
}
