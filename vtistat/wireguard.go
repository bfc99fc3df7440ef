package vtistat

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// WireGuardKey is a Curve25519 public key of a wireguard device or peer.
// Its text form is standard base64 (44 characters), as wg(8) prints and
// reads it. The zero key means "none": a device without a private key has
// no public key either.
//
// Only public keys are ever stored in a WireGuardKey by this package: the
// private key and the preshared keys the kernel sends with them are never
// copied out of the receive buffer, and are zeroed there (see
// Client.WireGuardDevice).
type WireGuardKey [32]byte

// String returns the key in standard base64, e.g.
// "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=".
func (k WireGuardKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// IsZero reports whether k is the zero key (no key).
func (k WireGuardKey) IsZero() bool { return k == WireGuardKey{} }

// MarshalText returns the base64 form, so that JSON and other text
// encodings show the key as wg(8) does.
func (k WireGuardKey) MarshalText() ([]byte, error) {
	b := make([]byte, base64.StdEncoding.EncodedLen(len(k)))
	base64.StdEncoding.Encode(b, k[:])
	return b, nil
}

// UnmarshalText reads a key in standard base64 (44 characters, one '='
// of padding), the form of wg(8) and of MarshalText.
func (k *WireGuardKey) UnmarshalText(text []byte) error {
	var b [33]byte // one spare byte: a longer input is caught below
	if base64.StdEncoding.DecodedLen(len(text)) > len(b) {
		return fmt.Errorf("vtistat: wireguard key of %d characters, want 44 of base64", len(text))
	}
	n, err := base64.StdEncoding.Decode(b[:], text)
	if err != nil {
		return fmt.Errorf("vtistat: wireguard key: %w", err)
	}
	if n != len(k) {
		return fmt.Errorf("vtistat: wireguard key of %d bytes, want %d", n, len(k))
	}
	copy(k[:], b[:n])
	return nil
}

// WireGuardPeer is one peer of a wireguard device, as WG_CMD_GET_DEVICE
// reports it. It holds no secret: the peer's preshared key is never read.
type WireGuardPeer struct {
	PublicKey WireGuardKey `json:"public_key"`
	// Endpoint is the peer's UDP address: configured, or learnt from the
	// last authenticated packet (roaming). The zero AddrPort means none,
	// and then every packet routed to this peer is dropped (tx_errors).
	// An IPv6 link-local endpoint carries its scope ID as a numeric zone.
	Endpoint netip.AddrPort `json:"endpoint,omitzero"`
	// AllowedIPs are the peer's allowed IPs in the kernel's order: the
	// destinations routed to this peer, and the sources accepted from it.
	AllowedIPs []netip.Prefix `json:"allowed_ips"`
	// LastHandshake is the wall-clock time of the last completed
	// handshake; the zero Time means never.
	LastHandshake time.Time `json:"last_handshake,omitzero"`
	// RxBytes and TxBytes count the peer's UDP payloads (data, keepalive
	// and handshake messages), not the inner packets.
	RxBytes uint64 `json:"rx_bytes"`
	TxBytes uint64 `json:"tx_bytes"`
	// PersistentKeepalive is the keepalive interval, whole seconds; 0 is
	// off.
	PersistentKeepalive time.Duration `json:"persistent_keepalive"`
	// ProtocolVersion is WGPEER_A_PROTOCOL_VERSION (1 in every kernel so
	// far), 0 if the kernel did not send it.
	ProtocolVersion uint32 `json:"protocol_version,omitempty"`
}

// WireGuardDevice is a wireguard link's configuration and peers. It holds
// no secret: the private key is never read (PublicKey is derived from it by
// the kernel).
type WireGuardDevice struct {
	Index int32  `json:"ifindex"`
	Name  string `json:"name"`
	// PublicKey is the zero key when no private key is set.
	PublicKey  WireGuardKey `json:"public_key"`
	ListenPort uint16       `json:"listen_port"`
	FwMark     uint32       `json:"fwmark,omitempty"`
	// Peers are in the kernel's order (the order they were added). A
	// peer whose allowed IPs were split over two messages of the dump is
	// one peer here.
	Peers []WireGuardPeer `json:"peers"`
}

// Peer returns the peer with public key k, or nil.
func (d *WireGuardDevice) Peer(k WireGuardKey) *WireGuardPeer {
	for i := range d.Peers {
		if d.Peers[i].PublicKey == k {
			return &d.Peers[i]
		}
	}
	return nil
}

// WireGuardDevice reads the wireguard link that f selects (ByName or
// ByIndex; ByKind is an error) with one WG_CMD_GET_DEVICE dump of the
// "wireguard" generic netlink family, into dst.
//
// A device with many peers comes in several messages: the kernel puts the
// device's attributes in the first only, and when one peer's allowed IPs
// do not fit, it sends that peer again at the top of the next message with
// the rest of them; both are joined here. A dump the kernel marks as
// interrupted (the device was changed meanwhile) is read again, as links
// are (Config.DumpRetries).
//
// dst is overwritten and its storage reused: once it has held the same
// device, a read allocates nothing (with a context that cannot be
// cancelled). On error dst holds no peers.
//
// The kernel sends the device's private key and each peer's preshared key
// in the same reply: they are never copied into dst, and each message's
// key bytes are zeroed in the receive buffer once it is decoded, then the
// whole buffer when the dump ends.
//
// Errors: a link that does not exist matches os.ErrNotExist; a link of
// another kind, or a kernel without the wireguard module, matches
// ErrNotSupported (the second also os.ErrNotExist); reading needs
// CAP_NET_ADMIN in the namespace's user namespace, and a refusal matches
// os.ErrPermission. A message that cannot be decoded is a *DecodeError
// with Message "WG_CMD_GET_DEVICE" whose Err (an *nl.AttrError in the
// package's own words) names the attribute and its offset in the message.
func (c *Client) WireGuardDevice(ctx context.Context, dst *WireGuardDevice, f LinkFilter) error {
	if dst == nil {
		return errors.New("vtistat: read into a nil *WireGuardDevice")
	}
	q := newQuery([]LinkFilter{f})
	if err := q.validateWireGuard(); err != nil {
		dst.Peers = dst.Peers[:0]
		return err
	}
	return c.c.wireGuardDevice(ctx, dst, &q)
}

// validateWireGuard checks that q names one link.
func (q *query) validateWireGuard() error {
	switch {
	case q.bad != "":
		return errors.New("vtistat: " + q.bad)
	case q.byKind:
		return errors.New("vtistat: WireGuardDevice selects one device: use ByName or ByIndex, not ByKind")
	case q.byName && (q.name == "" || len(q.name) >= 16):
		return fmt.Errorf("vtistat: ByName(%q): a link name has 1 to 15 bytes", q.name)
	case q.byIndex && q.index <= 0:
		return fmt.Errorf("vtistat: ByIndex(%d): an ifindex is positive", q.index)
	}
	return nil
}

// The wireguard generic netlink interface (include/uapi/linux/wireguard.h).
const (
	wgGenlName    = "wireguard"
	wgGenlVersion = 1
	wgCmdGetDev   = 0 // WG_CMD_GET_DEVICE
	wgCmdSetDev   = 1 // WG_CMD_SET_DEVICE
	wgKeyLen      = 32

	wgDeviceIfIndex    = 1 // u32
	wgDeviceIfName     = 2 // string
	wgDevicePrivateKey = 3 // 32 bytes: never copied, zeroed
	wgDevicePublicKey  = 4 // 32 bytes
	wgDeviceFlags      = 5 // u32, SET only
	wgDeviceListenPort = 6 // u16, host order
	wgDeviceFwMark     = 7 // u32
	wgDevicePeers      = 8 // nested: peers, each a nest

	wgPeerPublicKey    = 1  // 32 bytes
	wgPeerPresharedKey = 2  // 32 bytes: never copied, zeroed
	wgPeerFlags        = 3  // u32, SET only
	wgPeerEndpoint     = 4  // struct sockaddr_in or sockaddr_in6
	wgPeerKeepalive    = 5  // u16 seconds
	wgPeerLastHS       = 6  // struct __kernel_timespec
	wgPeerRxBytes      = 7  // u64
	wgPeerTxBytes      = 8  // u64
	wgPeerAllowedIPs   = 9  // nested: allowed IPs, each a nest
	wgPeerProtocol     = 10 // u32

	wgAllowedIPFamily = 1 // u16
	wgAllowedIPAddr   = 2 // 4 or 16 bytes
	wgAllowedIPCIDR   = 3 // u8

	afInet  = 2
	afInet6 = 10

	wgMessage = "WG_CMD_GET_DEVICE"
)

// wgDecoder decodes the messages of one WG_CMD_GET_DEVICE dump into dst.
type wgDecoder struct {
	dst *WireGuardDevice
	n   int // peers stored in dst.Peers
	pos int // position of the next message in the dump
	// name is dst.Name before the dump, kept to reuse the string when the
	// kernel sends the same name again.
	name string
}

// reset starts a dump again (also after NLM_F_DUMP_INTR).
func (d *wgDecoder) reset() {
	dst := d.dst
	if dst.Name != "" {
		d.name = dst.Name
	}
	*dst = WireGuardDevice{Peers: dst.Peers[:0]}
	d.n, d.pos = 0, 0
}

// finish trims dst.Peers to the peers decoded.
func (d *wgDecoder) finish() { d.dst.Peers = d.dst.Peers[:d.n] }

// decode decodes one message payload (genlmsghdr, then attributes), then
// zeroes the key material in it, whether it decoded or not.
func (d *wgDecoder) decode(msg []byte) error {
	pos := d.pos
	d.pos++
	defer scrubWireGuard(msg)
	if err := d.decodeMessage(msg); err != nil {
		return &DecodeError{Message: wgMessage, Index: pos, IfIndex: d.dst.Index, Name: d.dst.Name, Err: err}
	}
	return nil
}

func wgAttrError(context string, typ uint16, off int, msg string) error {
	return &nl.AttrError{Context: context, Type: typ, Offset: off, Msg: msg}
}

// rebase turns the offset of an attribute error found in a nested block
// into an offset in the message.
func rebase(err error, base int) error {
	var ae *nl.AttrError
	if errors.As(err, &ae) {
		c := *ae
		c.Offset += base
		return &c
	}
	return err
}

func (d *wgDecoder) decodeMessage(msg []byte) error {
	if len(msg) < nl.GenlHeaderLen {
		return wgAttrError(wgMessage, 0, 0, fmt.Sprintf("payload of %d bytes is shorter than struct genlmsghdr (%d)", len(msg), nl.GenlHeaderLen))
	}
	if msg[0] != wgCmdGetDev {
		return wgAttrError(wgMessage, 0, 0, fmt.Sprintf("command %d, want WG_CMD_GET_DEVICE (%d)", msg[0], wgCmdGetDev))
	}
	dst := d.dst
	base := nl.GenlHeaderLen
	first := true // the first peer of this message
	a := nl.NewAttrs(msg[base:], wgMessage)
	for a.Next() {
		off := base + a.Offset()
		switch a.Type() {
		case wgDeviceIfIndex:
			dst.Index = a.Int32()
		case wgDeviceIfName:
			if b := a.StringBytes(); string(b) == d.name {
				dst.Name = d.name
			} else {
				dst.Name = string(b)
			}
		case wgDevicePublicKey:
			if len(a.Data()) != wgKeyLen {
				return wgAttrError(wgMessage, a.Type(), off, fmt.Sprintf("WGDEVICE_A_PUBLIC_KEY of %d bytes, want %d", len(a.Data()), wgKeyLen))
			}
			copy(dst.PublicKey[:], a.Data())
		case wgDeviceListenPort:
			dst.ListenPort = a.Uint16()
		case wgDeviceFwMark:
			dst.FwMark = a.Uint32()
		case wgDevicePeers:
			pb := off + nl.AttrHeaderLen
			p := a.Nested("WGDEVICE_A_PEERS")
			for p.Next() {
				if err := d.decodePeer(p.Data(), pb+p.Offset()+nl.AttrHeaderLen, first); err != nil {
					return err
				}
				first = false
			}
			if err := p.Err(); err != nil {
				return rebase(err, pb)
			}
			// wgDevicePrivateKey is skipped here and zeroed by scrubWireGuard.
		}
	}
	if err := a.Err(); err != nil {
		return rebase(err, base)
	}
	return nil
}

// peekPublicKey returns the WGPEER_A_PUBLIC_KEY of a peer nest.
func peekPublicKey(b []byte) (k WireGuardKey, ok bool) {
	a := nl.NewAttrs(b, "")
	for a.Next() {
		if a.Type() == wgPeerPublicKey && len(a.Data()) == wgKeyLen {
			copy(k[:], a.Data())
			return k, true
		}
	}
	return k, false
}

// decodePeer decodes one peer nest (b, at offset base of the message). The
// first peer of a message that has the public key of the last peer stored
// is that peer continued: its allowed IPs are appended.
func (d *wgDecoder) decodePeer(b []byte, base int, first bool) error {
	dst := d.dst
	key, ok := peekPublicKey(b)
	if !ok {
		return wgAttrError("WGDEVICE_A_PEERS", 0, base-nl.AttrHeaderLen, "peer without a 32-byte WGPEER_A_PUBLIC_KEY")
	}
	var p *WireGuardPeer
	if first && d.n > 0 && dst.Peers[d.n-1].PublicKey == key {
		p = &dst.Peers[d.n-1]
	} else {
		if d.n < cap(dst.Peers) {
			dst.Peers = dst.Peers[:d.n+1]
		} else {
			dst.Peers = append(dst.Peers[:d.n], WireGuardPeer{})
		}
		p = &dst.Peers[d.n]
		d.n++
		*p = WireGuardPeer{PublicKey: key, AllowedIPs: p.AllowedIPs[:0]}
	}
	a := nl.NewAttrs(b, "WGDEVICE_A_PEERS peer")
	for a.Next() {
		off := base + a.Offset()
		switch a.Type() {
		case wgPeerEndpoint:
			ep, err := decodeSockaddr(a.Data())
			if err != nil {
				return wgAttrError("WGDEVICE_A_PEERS peer", a.Type(), off, "WGPEER_A_ENDPOINT: "+err.Error())
			}
			p.Endpoint = ep
		case wgPeerKeepalive:
			p.PersistentKeepalive = time.Duration(a.Uint16()) * time.Second
		case wgPeerLastHS:
			t := a.Data()
			if len(t) != 16 {
				return wgAttrError("WGDEVICE_A_PEERS peer", a.Type(), off, fmt.Sprintf("WGPEER_A_LAST_HANDSHAKE_TIME of %d bytes, want 16 (struct __kernel_timespec)", len(t)))
			}
			sec, nsec := int64(binary.NativeEndian.Uint64(t)), int64(binary.NativeEndian.Uint64(t[8:]))
			p.LastHandshake = time.Time{}
			if sec != 0 || nsec != 0 {
				p.LastHandshake = time.Unix(sec, nsec)
			}
		case wgPeerRxBytes:
			p.RxBytes = a.Uint64()
		case wgPeerTxBytes:
			p.TxBytes = a.Uint64()
		case wgPeerProtocol:
			p.ProtocolVersion = a.Uint32()
		case wgPeerAllowedIPs:
			ab := off + nl.AttrHeaderLen
			ips := a.Nested("WGPEER_A_ALLOWEDIPS")
			for ips.Next() {
				pfx, err := decodeAllowedIP(ips.Data(), ab+ips.Offset()+nl.AttrHeaderLen)
				if err != nil {
					return err
				}
				p.AllowedIPs = append(p.AllowedIPs, pfx)
			}
			if err := ips.Err(); err != nil {
				return rebase(err, ab)
			}
			// The public key was read by peekPublicKey; the preshared
			// key is skipped and zeroed by scrubWireGuard.
		}
	}
	if err := a.Err(); err != nil {
		return rebase(err, base)
	}
	return nil
}

// decodeAllowedIP decodes one allowed IP nest (at offset base).
func decodeAllowedIP(b []byte, base int) (netip.Prefix, error) {
	const ctx = "WGPEER_A_ALLOWEDIPS entry"
	var (
		family        uint16
		addr          []byte
		cidr          int = -1
		haveF, haveA  bool
		familyOff, at int
	)
	a := nl.NewAttrs(b, ctx)
	for a.Next() {
		switch a.Type() {
		case wgAllowedIPFamily:
			family, haveF, familyOff = a.Uint16(), true, base+a.Offset()
		case wgAllowedIPAddr:
			addr, haveA, at = a.Data(), true, base+a.Offset()
		case wgAllowedIPCIDR:
			cidr = int(a.Uint8())
		}
	}
	if err := a.Err(); err != nil {
		return netip.Prefix{}, rebase(err, base)
	}
	if !haveF || !haveA || cidr < 0 {
		return netip.Prefix{}, wgAttrError(ctx, 0, base-nl.AttrHeaderLen, "allowed IP without family, address or CIDR mask")
	}
	var ip netip.Addr
	switch {
	case family == afInet && len(addr) == 4:
		ip = netip.AddrFrom4([4]byte(addr))
	case family == afInet6 && len(addr) == 16:
		ip = netip.AddrFrom16([16]byte(addr))
	case family != afInet && family != afInet6:
		return netip.Prefix{}, wgAttrError(ctx, wgAllowedIPFamily, familyOff, fmt.Sprintf("address family %d, want AF_INET or AF_INET6", family))
	default:
		return netip.Prefix{}, wgAttrError(ctx, wgAllowedIPAddr, at, fmt.Sprintf("address of %d bytes for family %d", len(addr), family))
	}
	if cidr > ip.BitLen() {
		return netip.Prefix{}, wgAttrError(ctx, wgAllowedIPCIDR, base-nl.AttrHeaderLen, fmt.Sprintf("CIDR mask /%d longer than the address", cidr))
	}
	return netip.PrefixFrom(ip, cidr), nil
}

// decodeSockaddr decodes a struct sockaddr_in or sockaddr_in6.
func decodeSockaddr(b []byte) (netip.AddrPort, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, fmt.Errorf("%d bytes, shorter than sa_family", len(b))
	}
	switch fam := binary.NativeEndian.Uint16(b); fam {
	case afInet:
		if len(b) < 16 {
			return netip.AddrPort{}, fmt.Errorf("sockaddr_in of %d bytes, want 16", len(b))
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:])), nil
	case afInet6:
		if len(b) < 28 {
			return netip.AddrPort{}, fmt.Errorf("sockaddr_in6 of %d bytes, want 28", len(b))
		}
		ip := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := binary.NativeEndian.Uint32(b[24:]); scope != 0 {
			ip = ip.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(ip, binary.BigEndian.Uint16(b[2:])), nil
	default:
		return netip.AddrPort{}, fmt.Errorf("address family %d, want AF_INET or AF_INET6", fam)
	}
}

// scrubWireGuard zeroes the bytes of every WGDEVICE_A_PRIVATE_KEY and
// WGPEER_A_PRESHARED_KEY in a WG_CMD_GET_DEVICE message, in place. It walks
// as far as the message is well formed: a key after a malformed attribute
// cannot be located, so the caller clears its whole buffer too.
func scrubWireGuard(msg []byte) {
	if len(msg) < nl.GenlHeaderLen {
		return
	}
	a := nl.NewAttrs(msg[nl.GenlHeaderLen:], "")
	for a.Next() {
		switch a.Type() {
		case wgDevicePrivateKey:
			clear(a.Data())
		case wgDevicePeers:
			p := a.Nested("")
			for p.Next() {
				k := p.Nested("")
				for k.Next() {
					if k.Type() == wgPeerPresharedKey {
						clear(k.Data())
					}
				}
			}
		}
	}
}
