//go:build linux

package nl

import (
	"context"
	"fmt"
)

// ResolveFamily asks the generic netlink controller for the family called
// name, on a Conn dialed with unix.NETLINK_GENERIC. A family the kernel
// does not have is a *FamilyNotFoundError (matching os.ErrNotExist and
// errs.ErrNotSupported); other failures are the Conn's errors.
//
// Asking by name makes the kernel try to load the family's module
// (request_module "net-pf-16-proto-16-family-NAME"), as genl(8) and wg(8)
// do. The ID is stable while the module stays loaded; a caller that keeps
// it should resolve again after an error that names an unknown message
// type (the module was unloaded and loaded again under another ID).
func (c *Conn) ResolveFamily(ctx context.Context, name string) (Family, error) {
	req, err := AppendGetFamily(nil, name)
	if err != nil {
		return Family{}, err
	}
	var (
		f   Family
		got bool
	)
	op := fmt.Sprintf("CTRL_CMD_GETFAMILY %q", name)
	err = c.Request(ctx, op, GenlIDCtrl, 0, req, func(m Message) error {
		if m.Type != GenlIDCtrl {
			return &ReplyError{Op: op, Msg: fmt.Sprintf("message type %d, want GENL_ID_CTRL (%d)", m.Type, GenlIDCtrl)}
		}
		if err := DecodeFamily(m.Data, &f); err != nil {
			return fmt.Errorf("netlink: %s: %w", op, err)
		}
		got = true
		return nil
	})
	if err != nil {
		return Family{}, familyError(name, err)
	}
	if !got {
		return Family{}, &ReplyError{Op: op, Msg: "the kernel acknowledged without a family"}
	}
	return f, nil
}

// ClearBuffer overwrites the receive buffer with zeros. A reader whose
// replies carry secrets (wireguard's private and preshared keys) calls it
// after each exchange, so that no copy outlives the read in this process,
// whatever part of the reply was decoded or left unread.
func (c *Conn) ClearBuffer() {
	c.mu.Lock()
	clear(c.buf)
	c.mu.Unlock()
}
