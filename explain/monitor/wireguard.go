package monitor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// readWireGuard reads the peers of every wireguard link of links (Kind
// "wireguard"), one WG_CMD_GET_DEVICE dump per link, by ifindex, into
// dst's storage (its devices, peers and allowed IPs are reused). It
// returns the devices read, in the order of links: nil when links has no
// wireguard link, or none could be read. A link that could not be read is
// left out, and the Unread returned ("wireguard", nil when every link was
// read) names it and says why: the kernel has no wireguard family (the
// error matches os.ErrNotExist and vtistat.ErrNotSupported), reading was
// refused (os.ErrPermission: CAP_NET_ADMIN), the link was deleted since
// links were read (os.ErrNotExist), its ifindex is now another kind of
// link (vtistat.ErrNotSupported). After an error that every other link
// would fail with too (no family, refused, ctx done), the links left are
// not asked for, and the Unread names them as well.
func readWireGuard(ctx context.Context, c *vtistat.Client, dst []vtistat.WireGuardDevice, links []vtistat.Link) ([]vtistat.WireGuardDevice, *Unread) {
	n := 0
	var errs []error
	var stop error // the error every link left fails with
	var skipped []string
	for i := range links {
		l := &links[i]
		if l.Kind != explain.KindWireGuard {
			continue
		}
		if stop != nil {
			skipped = append(skipped, l.Name)
			continue
		}
		dst = slices.Grow(dst[:n], 1)[:n+1]
		d := &dst[n]
		err := c.WireGuardDevice(ctx, d, vtistat.ByIndex(l.Index))
		if err != nil {
			errs = append(errs, fmt.Errorf("peers of %s (ifindex %d): %w", l.Name, l.Index, err))
			if ctx.Err() != nil || errors.Is(err, os.ErrPermission) ||
				errors.Is(err, os.ErrNotExist) && errors.Is(err, vtistat.ErrNotSupported) {
				stop = err
			}
			continue
		}
		if d.Peers == nil {
			d.Peers = []vtistat.WireGuardPeer{} // read, and there were none
		}
		n++
	}
	var out []vtistat.WireGuardDevice
	if n > 0 {
		out = dst[:n]
	}
	if errs == nil {
		return out, nil
	}
	err := errors.Join(errs...)
	text := err.Error()
	if len(errs) > 1 {
		text = strings.ReplaceAll(text, "\n", "; ")
	}
	if skipped != nil {
		text += "; not asked for the same reason: " + strings.Join(skipped, ", ")
	}
	u := unread("wireguard", err)
	u.Error = text
	return out, &u
}
