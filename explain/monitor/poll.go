package monitor

import (
	"context"
	"errors"
	"fmt"

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
}

// poll reads the counters into buffer set b and returns them as a
// Reading, with the parts it could not read. It follows the namespace's
// name as Reader.Read does: a poller whose poll returned ErrNetNSReplaced
// is replaced too, as its buffers hold the old namespace's links.
func (p *poller) poll(ctx context.Context, b int) (*explain.Reading, []Unread, error) {
	s, err := p.r.begin(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer p.r.end()
	if err := s.links.PollStats(ctx, &p.snaps[b]); err != nil {
		return nil, nil, withHint(fmt.Errorf("read link counters of %s: %w", p.r.ns.describe(), err), p.r.ns)
	}
	mib, un := p.pollMIB(ctx, s, &p.mibs[b])
	if _, err := p.r.follow(); err != nil {
		return nil, nil, err
	}
	pollReading(&p.readings[b], &p.snaps[b], mib, p.r.release)
	return &p.readings[b], un, nil
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
