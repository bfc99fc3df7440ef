//go:build linux

package vtistat

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"golang.org/x/sys/unix"
)

const wgOp = "WG_CMD_GET_DEVICE dump"

func (c *client) wireGuardDevice(ctx context.Context, dst *WireGuardDevice, q *query) error {
	if err := c.lock("wireguard device"); err != nil {
		dst.Peers = dst.Peers[:0]
		return err
	}
	defer c.mu.Unlock()
	err := c.wireGuardLocked(ctx, dst, q)
	if err != nil {
		dst.Peers = dst.Peers[:0]
	}
	return err
}

func (c *client) wireGuardLocked(ctx context.Context, dst *WireGuardDevice, q *query) error {
	if c.genl == nil {
		conn, err := nl.Dial(unix.NETLINK_GENERIC, c.ns.FD, 0)
		if err != nil {
			return c.wrap(fmt.Errorf("generic netlink: %w", err))
		}
		conn.Retries = nl.DumpRetries(c.dumpRetries)
		c.genl = conn
		c.wgFn = func(m nl.Message) error {
			if m.Type != c.wgFamily {
				return &nl.ReplyError{Op: wgOp, Msg: fmt.Sprintf("message type %d, want the wireguard family (%d)", m.Type, c.wgFamily)}
			}
			return c.wg.decode(m.Data)
		}
		c.wgReset = c.wg.reset
	}
	// The replies carry the private and preshared keys: whatever happens,
	// no copy stays in the receive buffer.
	defer c.genl.ClearBuffer()

	c.req = nl.AppendGenlHeader(c.req[:0], wgCmdGetDev, wgGenlVersion)
	if q.byIndex {
		c.req = nl.AppendUint32Attr(c.req, wgDeviceIfIndex, uint32(q.index))
	} else {
		c.req = nl.AppendStringAttr(c.req, wgDeviceIfName, q.name)
	}
	c.wg.dst = dst
	defer func() { c.wg.dst = nil }()
	for attempt := 0; ; attempt++ {
		if c.wgFamily == 0 {
			f, err := c.genl.ResolveFamily(ctx, wgGenlName)
			if err != nil {
				return c.wrap(fmt.Errorf("wireguard: %w", err))
			}
			c.wgFamily = f.ID
		}
		err := c.genl.Dump(ctx, wgOp, c.wgFamily, nl.FlagDump, c.req, c.wgReset, c.wgFn, nil)
		switch {
		case err == nil:
			c.wg.finish()
			return nil
		case errors.Is(err, unix.ENOENT) && attempt == 0:
			// No family with that ID: the module was unloaded (and
			// perhaps loaded again under another ID). Ask once more.
			c.wgFamily = 0
			continue
		case errors.Is(err, unix.ENODEV):
			return fmt.Errorf("vtistat: wireguard device with %s: %w (%w)", q.String(), os.ErrNotExist, c.wrap(err))
		case errors.Is(err, unix.EOPNOTSUPP):
			return fmt.Errorf("vtistat: link with %s is not a wireguard device: %w (%w)", q.String(), ErrNotSupported, c.wrap(err))
		}
		return c.wrap(err)
	}
}
