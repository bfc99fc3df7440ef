package nl

import (
	"errors"
	"fmt"
	"os"

	"github.com/tunnelstat/tunnelstat/internal/errs"
)

// Generic netlink (include/uapi/linux/genetlink.h). A generic netlink
// message is a netlink header, then struct genlmsghdr (GenlHeaderLen
// bytes: the command, the family's version, two reserved bytes), then
// attributes. Families have no fixed message type: the kernel assigns each
// one an ID when it registers ("wireguard", "ethtool", "devlink" …), and a
// program asks the controller family "nlctrl" (GenlIDCtrl, always 0x10)
// for the ID by name. That is what ResolveFamily does.
const (
	// GenlHeaderLen is the size of struct genlmsghdr.
	GenlHeaderLen = 4
	// GenlIDCtrl is GENL_ID_CTRL, the message type of the controller
	// family "nlctrl".
	GenlIDCtrl = 0x10

	ctrlCmdNewFamily = 1 // CTRL_CMD_NEWFAMILY: the reply to GETFAMILY
	ctrlCmdGetFamily = 3 // CTRL_CMD_GETFAMILY
	ctrlVersion      = 2 // the controller's version, as genl(8) sends it

	ctrlAttrFamilyID   = 1 // CTRL_ATTR_FAMILY_ID, u16
	ctrlAttrFamilyName = 2 // CTRL_ATTR_FAMILY_NAME, NUL-terminated string
	ctrlAttrVersion    = 3 // CTRL_ATTR_VERSION, u32
	ctrlAttrHdrSize    = 4 // CTRL_ATTR_HDRSIZE, u32
	ctrlAttrMaxAttr    = 5 // CTRL_ATTR_MAXATTR, u32

	// genlNameMax is GENL_NAMSIZ (16) less the terminating NUL.
	genlNameMax = 15
)

// Family is a generic netlink family as the kernel registered it.
type Family struct {
	// ID is the message type of the family's requests and replies.
	ID uint16
	// Version is the family's interface version (e.g. WG_GENL_VERSION,
	// 1). A request carries the version it was written for in its
	// genlmsghdr.
	Version uint32
	// HeaderSize is the size of the family's own header after
	// genlmsghdr (0 for most families, wireguard included).
	HeaderSize uint32
	// MaxAttr is the highest top-level attribute type the family accepts.
	MaxAttr uint32
	// Name is the family's name, as asked.
	Name string
}

// FamilyNotFoundError reports a generic netlink family that the kernel does
// not know: its module is not built, not loaded and could not be loaded
// (the kernel tries request_module for a name it does not know). It matches
// both os.ErrNotExist (the kernel's ENOENT) and errs.ErrNotSupported (the
// module's "this system cannot answer"), so that callers test it as they
// test a missing XFRM netlink or a missing namespace.
type FamilyNotFoundError struct {
	Name string
	Err  error // the kernel's reply, an *OpError wrapping ENOENT
}

func (e *FamilyNotFoundError) Error() string {
	return fmt.Sprintf("netlink: generic netlink family %q: %v: the kernel does not have it (module not loaded or not built)", e.Name, errs.ErrNotSupported)
}

// Is makes errors.Is(err, os.ErrNotExist) and
// errors.Is(err, errs.ErrNotSupported) true.
func (e *FamilyNotFoundError) Is(target error) bool {
	return target == os.ErrNotExist || target == errs.ErrNotSupported
}

func (e *FamilyNotFoundError) Unwrap() error { return e.Err }

// AppendGenlHeader appends struct genlmsghdr for cmd and version to b.
func AppendGenlHeader(b []byte, cmd, version uint8) []byte {
	return append(b, cmd, version, 0, 0)
}

// AppendGetFamily appends the payload of a CTRL_CMD_GETFAMILY request for
// name to b: the message to send with type GenlIDCtrl.
func AppendGetFamily(b []byte, name string) ([]byte, error) {
	if name == "" || len(name) > genlNameMax {
		return b, fmt.Errorf("netlink: generic netlink family name %q: want 1 to %d bytes", name, genlNameMax)
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return b, fmt.Errorf("netlink: generic netlink family name %q contains NUL", name)
		}
	}
	b = AppendGenlHeader(b, ctrlCmdGetFamily, ctrlVersion)
	v := make([]byte, 0, len(name)+1)
	v = append(append(v, name...), 0)
	return AppendAttr(b, ctrlAttrFamilyName, v), nil
}

// DecodeFamily decodes a CTRL_CMD_NEWFAMILY message payload (genlmsghdr,
// then attributes) into f. Attributes other than ID, name, version, header
// size and maximum attribute (operations, multicast groups, policies) are
// skipped. A reply without CTRL_ATTR_FAMILY_ID is an error.
func DecodeFamily(data []byte, f *Family) error {
	if len(data) < GenlHeaderLen {
		return &AttrError{Context: "CTRL_CMD_NEWFAMILY", Msg: fmt.Sprintf("payload of %d bytes is shorter than struct genlmsghdr (%d)", len(data), GenlHeaderLen)}
	}
	if cmd := data[0]; cmd != ctrlCmdNewFamily {
		return &AttrError{Context: "CTRL_CMD_NEWFAMILY", Msg: fmt.Sprintf("command %d, want CTRL_CMD_NEWFAMILY (%d)", cmd, ctrlCmdNewFamily)}
	}
	*f = Family{}
	haveID := false
	a := NewAttrs(data[GenlHeaderLen:], "CTRL_CMD_NEWFAMILY")
	for a.Next() {
		switch a.Type() {
		case ctrlAttrFamilyID:
			f.ID = a.Uint16()
			haveID = true
		case ctrlAttrFamilyName:
			f.Name = a.String()
		case ctrlAttrVersion:
			f.Version = a.Uint32()
		case ctrlAttrHdrSize:
			f.HeaderSize = a.Uint32()
		case ctrlAttrMaxAttr:
			f.MaxAttr = a.Uint32()
		}
	}
	if err := a.Err(); err != nil {
		return err
	}
	if !haveID {
		return &AttrError{Context: "CTRL_CMD_NEWFAMILY", Offset: 0, Msg: "no CTRL_ATTR_FAMILY_ID"}
	}
	return nil
}

// familyError turns the kernel's answer to CTRL_CMD_GETFAMILY into a
// *FamilyNotFoundError when the family does not exist.
func familyError(name string, err error) error {
	var oe *OpError
	if errors.As(err, &oe) && errors.Is(oe.Err, os.ErrNotExist) {
		return &FamilyNotFoundError{Name: name, Err: err}
	}
	return err
}
