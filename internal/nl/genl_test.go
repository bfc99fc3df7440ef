package nl

import (
	"encoding/binary"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/errs"
)

// newFamilyReply builds a CTRL_CMD_NEWFAMILY payload as the kernel sends
// it (ctrl_fill_info): ID, name, version, header size, max attribute, then
// attributes this package skips.
func newFamilyReply(id uint16, name string, version uint32) []byte {
	b := AppendGenlHeader(nil, ctrlCmdNewFamily, ctrlVersion)
	b = AppendAttr(b, ctrlAttrFamilyName, append([]byte(name), 0))
	var u16 [2]byte
	binary.NativeEndian.PutUint16(u16[:], id)
	b = AppendAttr(b, ctrlAttrFamilyID, u16[:])
	b = AppendUint32Attr(b, ctrlAttrVersion, version)
	b = AppendUint32Attr(b, ctrlAttrHdrSize, 0)
	b = AppendUint32Attr(b, ctrlAttrMaxAttr, 8)
	b = AppendAttr(b, 6|nlaFNested, AppendAttr(nil, 1|nlaFNested, AppendUint32Attr(nil, 1, 0))) // CTRL_ATTR_OPS
	return b
}

func TestAppendGetFamily(t *testing.T) {
	b, err := AppendGetFamily(nil, "wireguard")
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{ctrlCmdGetFamily, ctrlVersion, 0, 0, 14, 0, ctrlAttrFamilyName, 0}
	want = append(want, "wireguard\x00\x00\x00"...)
	if string(b) != string(want) {
		t.Fatalf("got % x\nwant % x", b, want)
	}
	for _, bad := range []string{"", "a-name-of-16-byt", "nul\x00"} {
		if _, err := AppendGetFamily(nil, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecodeFamily(t *testing.T) {
	var f Family
	if err := DecodeFamily(newFamilyReply(0x1b, "wireguard", 1), &f); err != nil {
		t.Fatal(err)
	}
	if want := (Family{ID: 0x1b, Version: 1, MaxAttr: 8, Name: "wireguard"}); f != want {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	for name, b := range map[string][]byte{
		"short":       {1, 2},
		"wrong cmd":   AppendGenlHeader(nil, 2, 1),
		"no id":       AppendAttr(AppendGenlHeader(nil, ctrlCmdNewFamily, 2), ctrlAttrFamilyName, []byte("x\x00")),
		"short id":    AppendAttr(AppendGenlHeader(nil, ctrlCmdNewFamily, 2), ctrlAttrFamilyID, []byte{1}),
		"bad attr":    append(AppendGenlHeader(nil, ctrlCmdNewFamily, 2), 0xff, 0, 1, 0),
		"short attrs": append(AppendGenlHeader(nil, ctrlCmdNewFamily, 2), 8, 0),
	} {
		if err := DecodeFamily(b, &f); err == nil {
			t.Errorf("%s: decoded as %+v", name, f)
		}
	}
}

func TestFamilyNotFoundError(t *testing.T) {
	err := familyError("nosuch", &OpError{Op: "CTRL_CMD_GETFAMILY", Err: syscall.ENOENT})
	var fe *FamilyNotFoundError
	if !errors.As(err, &fe) || fe.Name != "nosuch" {
		t.Fatalf("got %T %v", err, err)
	}
	for _, target := range []error{os.ErrNotExist, errs.ErrNotSupported, syscall.ENOENT} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(%v, %v) is false", err, target)
		}
	}
	if !strings.Contains(err.Error(), `"nosuch"`) {
		t.Errorf("message %q does not name the family", err)
	}
	// Any other failure stays what it was.
	other := &OpError{Op: "CTRL_CMD_GETFAMILY", Err: syscall.EPERM}
	if got := familyError("x", other); got != error(other) {
		t.Errorf("EPERM became %v", got)
	}
}

// FuzzDecodeFamily: any controller reply decodes or fails, never panics.
func FuzzDecodeFamily(f *testing.F) {
	f.Add(newFamilyReply(0x15, "nlctrl", 2))
	f.Add(newFamilyReply(0x1b, "wireguard", 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fam Family
		_ = DecodeFamily(b, &fam)
	})
}
