package vtistat

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// Attribute numbers from include/uapi/linux/if_link.h and if_tunnel.h,
// spelled out here so that the decoder builds and is fuzzed on every OS.
const (
	sizeofIfInfomsg  = 16 // struct ifinfomsg
	sizeofIfStatsMsg = 12 // struct if_stats_msg

	iflaIfname      = 3
	iflaMTU         = 4
	iflaLink        = 5
	iflaStats       = 7
	iflaOperstate   = 16
	iflaLinkinfo    = 18
	iflaIfalias     = 20
	iflaStats64     = 23
	iflaLinkNetnsid = 37

	iflaInfoKind = 1
	iflaInfoData = 2

	iflaVTILink   = 1
	iflaVTIIKey   = 2
	iflaVTIOKey   = 3
	iflaVTILocal  = 4
	iflaVTIRemote = 5
	iflaVTIFwMark = 6

	iflaXfrmLink            = 1
	iflaXfrmIfID            = 2
	iflaXfrmCollectMetadata = 3

	iflaGRELink            = 1
	iflaGREIFlags          = 2
	iflaGREOFlags          = 3
	iflaGREIKey            = 4
	iflaGREOKey            = 5
	iflaGRELocal           = 6
	iflaGRERemote          = 7
	iflaGRETTL             = 8
	iflaGRETOS             = 9
	iflaGREPMTUDisc        = 10
	iflaGREEncapLimit      = 11
	iflaGREFlowInfo        = 12
	iflaGREFlags           = 13
	iflaGREEncapType       = 14
	iflaGREEncapFlags      = 15
	iflaGREEncapSport      = 16
	iflaGREEncapDport      = 17
	iflaGRECollectMetadata = 18
	iflaGREIgnoreDF        = 19
	iflaGREFwMark          = 20

	iflaIPTunLink                = 1
	iflaIPTunLocal               = 2
	iflaIPTunRemote              = 3
	iflaIPTunTTL                 = 4
	iflaIPTunTOS                 = 5
	iflaIPTunEncapLimit          = 6
	iflaIPTunFlowInfo            = 7
	iflaIPTunFlags               = 8
	iflaIPTunProto               = 9
	iflaIPTunPMTUDisc            = 10
	iflaIPTun6RDPrefix           = 11
	iflaIPTun6RDRelayPrefix      = 12
	iflaIPTun6RDPrefixLen        = 13
	iflaIPTun6RDRelayPrefixLen   = 14
	iflaIPTunEncapType           = 15
	iflaIPTunEncapFlags          = 16
	iflaIPTunEncapSport          = 17
	iflaIPTunEncapDport          = 18
	iflaIPTunCollectMetadata     = 19
	iflaIPTunFwMark              = 20
	sizeofRtnlLinkStats64Current = 25 * 8
)

// paramKinds are the IFLA_INFO_KIND values whose IFLA_INFO_DATA this
// package decodes into a Tunnel.
var paramKinds = [...]string{"vti", "vti6", "xfrm", "gre", "gretap", "ip6gre", "ip6gretap", "ipip", "sit", "ip6tnl"}

// tunnelKinds are every tunnel kind this package knows: paramKinds, and
// wireguard, whose configuration is not in RTM_NEWLINK (the driver has no
// IFLA_INFO_DATA) but in its generic netlink family.
var tunnelKinds = [...]string{"vti", "vti6", "xfrm", "gre", "gretap", "ip6gre", "ip6gretap", "ipip", "sit", "ip6tnl", "wireguard"}

// TunnelKinds returns every tunnel kind this package knows: vti, vti6,
// xfrm, gre, gretap, ip6gre, ip6gretap, ipip, sit and ip6tnl, whose
// parameters are decoded into Link.Tunnel, and wireguard, whose Link.Tunnel
// is nil (the kernel keeps a wireguard device's configuration out of
// RTM_NEWLINK: read its peers with Client.WireGuardDevice). Use it to
// select every tunnel: ByKind(TunnelKinds()...).
func TunnelKinds() []string {
	return append([]string(nil), tunnelKinds[:]...)
}

// DecodeError reports a kernel message that could not be decoded: which
// message, where in its dump, which link, and what was wrong (Err names the
// attribute, its type and its offset).
//
// Message and Index mean what they mean in xfrmstat.DecodeError; IfIndex
// and Name say which link, which only this package has.
type DecodeError struct {
	Message string // the kernel's message name: "RTM_NEWLINK" or "RTM_NEWSTATS"
	Index   int    // position of the message in its dump (0 is the first), -1 for a single reply or a message given to DecodeLink
	IfIndex int32  // the link's ifindex, 0 if the message header itself was bad
	Name    string // the link's name, "" if not reached
	Err     error
}

func (e *DecodeError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "message"
	}
	where := ""
	if e.Index >= 0 {
		where = fmt.Sprintf(" #%d of the dump", e.Index)
	}
	switch {
	case e.Name != "":
		return fmt.Sprintf("vtistat: decode %s%s: link %d (%s): %v", msg, where, e.IfIndex, e.Name, e.Err)
	case e.IfIndex != 0:
		return fmt.Sprintf("vtistat: decode %s%s: link %d: %v", msg, where, e.IfIndex, e.Err)
	}
	return fmt.Sprintf("vtistat: decode %s%s: %v", msg, where, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// DecodeLink decodes one RTM_NEWLINK message into dst: msg is the message
// payload after the netlink header (struct ifinfomsg, then attributes), as
// mdlayher/netlink's Message.Data holds it.
//
// dst is overwritten. Its storage is reused so that decoding the same link
// again allocates nothing: Name, Alias and Kind strings that are unchanged
// are kept, and a non-nil dst.Tunnel is filled in place (set dst.Tunnel to
// nil first if another Link shares it). Attributes this package does not
// know are skipped; a known attribute that is too short is a *DecodeError
// naming it (with Index -1: the message is not in a dump), and dst is then
// only partly filled.
func DecodeLink(msg []byte, dst *Link) error {
	return decodeLink(msg, dst)
}

func decodeLink(msg []byte, dst *Link) error {
	if len(msg) < sizeofIfInfomsg {
		return &DecodeError{Message: "RTM_NEWLINK", Index: -1, Err: fmt.Errorf("RTM_NEWLINK payload of %d bytes is shorter than struct ifinfomsg (%d)", len(msg), sizeofIfInfomsg)}
	}
	name, alias, kind, tun := dst.Name, dst.Alias, dst.Kind, dst.Tunnel
	*dst = Link{
		Index:       int32(binary.NativeEndian.Uint32(msg[4:])),
		Flags:       binary.NativeEndian.Uint32(msg[8:]),
		LinkNetNSID: -1,
	}
	var (
		infoData  []byte
		haveData  bool
		have64    bool
		stats32   []byte
		haveName  bool
		haveAlias bool
		haveKind  bool
	)
	a := nl.NewAttrs(msg[sizeofIfInfomsg:], "RTM_NEWLINK")
	for a.Next() {
		switch a.Type() {
		case iflaIfname:
			b := a.StringBytes()
			if string(b) != name {
				name = string(b)
			}
			haveName = true
		case iflaMTU:
			dst.MTU = a.Uint32()
		case iflaLink:
			dst.ParentIndex = a.Int32()
		case iflaOperstate:
			dst.OperState = OperState(a.Uint8())
		case iflaIfalias:
			b := a.StringBytes()
			if string(b) != alias {
				alias = string(b)
			}
			haveAlias = true
		case iflaLinkNetnsid:
			dst.LinkNetNSID = a.Int32()
		case iflaStats64:
			decodeStats64(a.Data(), &dst.Stats)
			dst.StatsSource = Stats64Bit
			have64 = true
		case iflaStats:
			stats32 = a.Data()
		case iflaLinkinfo:
			li := a.Nested("IFLA_LINKINFO")
			for li.Next() {
				switch li.Type() {
				case iflaInfoKind:
					kind = internKind(li.StringBytes(), kind)
					haveKind = true
				case iflaInfoData:
					infoData = li.Data()
					haveData = true
				}
			}
			if err := li.Err(); err != nil {
				a.Fail(err.Error())
			}
		}
	}
	if haveName {
		dst.Name = name
	}
	if haveAlias {
		dst.Alias = alias
	}
	if haveKind {
		dst.Kind = kind
	}
	if err := a.Err(); err != nil {
		return &DecodeError{Message: "RTM_NEWLINK", Index: -1, IfIndex: dst.Index, Name: dst.Name, Err: err}
	}
	// The 32-bit block is a fallback only: it wraps at 2^32.
	if !have64 && stats32 != nil {
		decodeStats32(stats32, &dst.Stats)
		dst.StatsSource = Stats32Bit
	}
	if haveData && hasTunnelParams(dst.Kind) {
		if tun == nil {
			tun = new(Tunnel)
		} else {
			*tun = Tunnel{}
		}
		if err := decodeTunnel(dst.Kind, infoData, tun); err != nil {
			return &DecodeError{Message: "RTM_NEWLINK", Index: -1, IfIndex: dst.Index, Name: dst.Name, Err: err}
		}
		dst.Tunnel = tun
	}
	return nil
}

// peekKind returns the IFLA_INFO_KIND of an RTM_NEWLINK payload, nil if it
// has none. Errors are left for decodeLink to report.
func peekKind(msg []byte) []byte {
	if len(msg) < sizeofIfInfomsg {
		return nil
	}
	a := nl.NewAttrs(msg[sizeofIfInfomsg:], "")
	for a.Next() {
		if a.Type() == iflaLinkinfo {
			li := a.Nested("")
			for li.Next() {
				if li.Type() == iflaInfoKind {
					return li.StringBytes()
				}
			}
			return nil
		}
	}
	return nil
}

// decodeStats64 copies a struct rtnl_link_stats64 of any size: fields the
// kernel did not send stay zero, fields newer than this package are ignored,
// and a trailing partial field (never sent by any kernel) is not read.
func decodeStats64(b []byte, s *Stats64) {
	if len(b) >= sizeofRtnlLinkStats64Current {
		// The common case, without a bounds check per field.
		b = b[:sizeofRtnlLinkStats64Current]
		e := binary.NativeEndian
		*s = Stats64{
			RxPackets: e.Uint64(b[0:]), TxPackets: e.Uint64(b[8:]), RxBytes: e.Uint64(b[16:]), TxBytes: e.Uint64(b[24:]),
			RxErrors: e.Uint64(b[32:]), TxErrors: e.Uint64(b[40:]), RxDropped: e.Uint64(b[48:]), TxDropped: e.Uint64(b[56:]),
			Multicast: e.Uint64(b[64:]), Collisions: e.Uint64(b[72:]),
			RxLengthErrors: e.Uint64(b[80:]), RxOverErrors: e.Uint64(b[88:]), RxCRCErrors: e.Uint64(b[96:]),
			RxFrameErrors: e.Uint64(b[104:]), RxFIFOErrors: e.Uint64(b[112:]), RxMissedErrors: e.Uint64(b[120:]),
			TxAbortedErrors: e.Uint64(b[128:]), TxCarrierErrors: e.Uint64(b[136:]), TxFIFOErrors: e.Uint64(b[144:]),
			TxHeartbeatErrors: e.Uint64(b[152:]), TxWindowErrors: e.Uint64(b[160:]),
			RxCompressed: e.Uint64(b[168:]), TxCompressed: e.Uint64(b[176:]),
			RxNoHandler: e.Uint64(b[184:]), RxOtherhostDropped: e.Uint64(b[192:]),
		}
		return
	}
	*s = Stats64{}
	f := s.fields()
	for i := 0; i < len(f) && (i+1)*8 <= len(b); i++ {
		*f[i] = binary.NativeEndian.Uint64(b[i*8:])
	}
}

// decodeStats32 copies a struct rtnl_link_stats (u32 fields) of any size.
func decodeStats32(b []byte, s *Stats64) {
	*s = Stats64{}
	f := s.fields()
	for i := 0; i < len(f) && (i+1)*4 <= len(b); i++ {
		*f[i] = uint64(binary.NativeEndian.Uint32(b[i*4:]))
	}
}

// fields returns pointers to the counters in the kernel's struct order.
func (s *Stats64) fields() [nStats]*uint64 {
	return [nStats]*uint64{
		&s.RxPackets, &s.TxPackets, &s.RxBytes, &s.TxBytes, &s.RxErrors, &s.TxErrors,
		&s.RxDropped, &s.TxDropped, &s.Multicast, &s.Collisions,
		&s.RxLengthErrors, &s.RxOverErrors, &s.RxCRCErrors, &s.RxFrameErrors, &s.RxFIFOErrors, &s.RxMissedErrors,
		&s.TxAbortedErrors, &s.TxCarrierErrors, &s.TxFIFOErrors, &s.TxHeartbeatErrors, &s.TxWindowErrors,
		&s.RxCompressed, &s.TxCompressed, &s.RxNoHandler, &s.RxOtherhostDropped,
	}
}

// internKind returns a constant string for the kinds a host commonly has,
// prev when it is unchanged, and a new string only otherwise.
func internKind(b []byte, prev string) string {
	switch string(b) { // compared without allocating
	case "vti":
		return "vti"
	case "vti6":
		return "vti6"
	case "xfrm":
		return "xfrm"
	case "gre":
		return "gre"
	case "gretap":
		return "gretap"
	case "ip6gre":
		return "ip6gre"
	case "ip6gretap":
		return "ip6gretap"
	case "ipip":
		return "ipip"
	case "sit":
		return "sit"
	case "ip6tnl":
		return "ip6tnl"
	case "veth":
		return "veth"
	case "vxlan":
		return "vxlan"
	case "bridge":
		return "bridge"
	case "bond":
		return "bond"
	case "dummy":
		return "dummy"
	case "vlan":
		return "vlan"
	case "macvlan":
		return "macvlan"
	case "ipvlan":
		return "ipvlan"
	case "geneve":
		return "geneve"
	case "wireguard":
		return "wireguard"
	case "tun":
		return "tun"
	case "vrf":
		return "vrf"
	case "erspan":
		return "erspan"
	case "ip6erspan":
		return "ip6erspan"
	case "netkit":
		return "netkit"
	case "ifb":
		return "ifb"
	}
	if string(b) == prev {
		return prev
	}
	return string(b)
}

func hasTunnelParams(kind string) bool {
	switch kind {
	case "vti", "vti6", "xfrm", "gre", "gretap", "ip6gre", "ip6gretap", "ipip", "sit", "ip6tnl":
		return true
	}
	return false
}

// decodeTunnel decodes the IFLA_INFO_DATA of a tunnel kind. Attributes the
// kind does not define are skipped (newer kernels add some).
func decodeTunnel(kind string, data []byte, t *Tunnel) error {
	a := nl.NewAttrs(data, infoDataContext(kind))
	switch kind {
	case "vti", "vti6":
		for a.Next() {
			switch a.Type() {
			case iflaVTILink:
				t.Link = a.Uint32()
			case iflaVTIIKey:
				t.IKey = a.BE32()
			case iflaVTIOKey:
				t.OKey = a.BE32()
			case iflaVTILocal:
				t.Local = addr(&a)
			case iflaVTIRemote:
				t.Remote = addr(&a)
			case iflaVTIFwMark:
				t.FwMark = a.Uint32()
			}
		}
	case "xfrm":
		for a.Next() {
			switch a.Type() {
			case iflaXfrmLink:
				t.Link = a.Uint32()
			case iflaXfrmIfID:
				t.IfID = a.Uint32()
			case iflaXfrmCollectMetadata:
				t.CollectMD = true
			}
		}
	case "gre", "gretap", "ip6gre", "ip6gretap":
		for a.Next() {
			switch a.Type() {
			case iflaGRELink:
				t.Link = a.Uint32()
			case iflaGREIFlags:
				t.IFlags = a.BE16()
			case iflaGREOFlags:
				t.OFlags = a.BE16()
			case iflaGREIKey:
				t.IKey = a.BE32()
			case iflaGREOKey:
				t.OKey = a.BE32()
			case iflaGRELocal:
				t.Local = addr(&a)
			case iflaGRERemote:
				t.Remote = addr(&a)
			case iflaGRETTL:
				t.TTL = a.Uint8()
			case iflaGRETOS:
				t.TOS = a.Uint8()
			case iflaGREPMTUDisc:
				t.PMTUDisc = a.Uint8() != 0
			case iflaGREEncapLimit:
				t.EncapLim = a.Uint8()
			case iflaGREFlowInfo:
				t.FlowInfo = a.BE32()
			case iflaGREFlags:
				t.Flags = a.Uint32()
			case iflaGREEncapType:
				t.EncapType = a.Uint16()
			case iflaGREEncapFlags:
				t.EncapFlags = a.Uint16()
			case iflaGREEncapSport:
				t.EncapSport = a.BE16()
			case iflaGREEncapDport:
				t.EncapDport = a.BE16()
			case iflaGRECollectMetadata:
				t.CollectMD = true
			case iflaGREIgnoreDF:
				t.IgnoreDF = a.Uint8() != 0
			case iflaGREFwMark:
				t.FwMark = a.Uint32()
			}
		}
	case "ipip", "sit", "ip6tnl":
		var prefix6, relay []byte
		var prefixLen, relayLen uint16
		for a.Next() {
			switch a.Type() {
			case iflaIPTunLink:
				t.Link = a.Uint32()
			case iflaIPTunLocal:
				t.Local = addr(&a)
			case iflaIPTunRemote:
				t.Remote = addr(&a)
			case iflaIPTunTTL:
				t.TTL = a.Uint8()
			case iflaIPTunTOS:
				t.TOS = a.Uint8()
			case iflaIPTunEncapLimit:
				t.EncapLim = a.Uint8()
			case iflaIPTunFlowInfo:
				t.FlowInfo = a.BE32()
			case iflaIPTunFlags:
				// sit sends a u16 (i_flags), ip6tnl a u32.
				if len(a.Data()) >= 4 {
					t.Flags = a.Uint32()
				} else {
					t.Flags = uint32(a.Uint16())
				}
			case iflaIPTunProto:
				t.Proto = a.Uint8()
			case iflaIPTunPMTUDisc:
				t.PMTUDisc = a.Uint8() != 0
			case iflaIPTun6RDPrefix:
				if len(a.Data()) != 16 {
					a.Fail(fmt.Sprintf("6rd prefix of %d bytes, want 16", len(a.Data())))
				}
				prefix6 = a.Data()
			case iflaIPTun6RDRelayPrefix:
				if len(a.Data()) != 4 {
					a.Fail(fmt.Sprintf("6rd relay prefix of %d bytes, want 4", len(a.Data())))
				}
				relay = a.Data()
			case iflaIPTun6RDPrefixLen:
				prefixLen = a.Uint16()
			case iflaIPTun6RDRelayPrefixLen:
				relayLen = a.Uint16()
			case iflaIPTunEncapType:
				t.EncapType = a.Uint16()
			case iflaIPTunEncapFlags:
				t.EncapFlags = a.Uint16()
			case iflaIPTunEncapSport:
				t.EncapSport = a.BE16()
			case iflaIPTunEncapDport:
				t.EncapDport = a.BE16()
			case iflaIPTunCollectMetadata:
				t.CollectMD = true
			case iflaIPTunFwMark:
				t.FwMark = a.Uint32()
			}
		}
		if a.Err() == nil {
			if len(prefix6) == 16 {
				p, err := netip.AddrFrom16([16]byte(prefix6)).Prefix(int(prefixLen))
				if err != nil {
					return fmt.Errorf("IFLA_INFO_DATA (%s): IFLA_IPTUN_6RD_PREFIXLEN: 6rd prefix length %d: %w", kind, prefixLen, err)
				}
				t.SixRDPrefix = p
			}
			if len(relay) == 4 {
				p, err := netip.AddrFrom4([4]byte(relay)).Prefix(int(relayLen))
				if err != nil {
					return fmt.Errorf("IFLA_INFO_DATA (%s): IFLA_IPTUN_6RD_RELAY_PREFIXLEN: 6rd relay prefix length %d: %w", kind, relayLen, err)
				}
				t.SixRDRelayPrefix = p
			}
		}
	}
	return a.Err()
}

// infoDataContext names the attribute block in errors, without allocating.
func infoDataContext(kind string) string {
	switch kind {
	case "vti", "vti6":
		return "IFLA_INFO_DATA (vti: IFLA_VTI_*)"
	case "xfrm":
		return "IFLA_INFO_DATA (xfrm: IFLA_XFRM_*)"
	case "gre", "gretap", "ip6gre", "ip6gretap":
		return "IFLA_INFO_DATA (gre: IFLA_GRE_*)"
	}
	return "IFLA_INFO_DATA (ip tunnel: IFLA_IPTUN_*)"
}

// addr decodes an in_addr or in6_addr attribute.
func addr(a *nl.Attrs) netip.Addr {
	d := a.Data()
	switch len(d) {
	case 4:
		return netip.AddrFrom4([4]byte(d))
	case 16:
		return netip.AddrFrom16([16]byte(d))
	}
	a.Fail(fmt.Sprintf("address of %d bytes, want 4 or 16", len(d)))
	return netip.Addr{}
}

// decodeLinkChange reads the link's index and name from an RTM_NEWLINK or
// RTM_DELLINK notification; a message too short for them leaves them zero.
func decodeLinkChange(deleted bool, b []byte) LinkChange {
	ch := LinkChange{Deleted: deleted}
	if len(b) < sizeofIfInfomsg {
		return ch
	}
	ch.Index = int32(binary.NativeEndian.Uint32(b[4:8]))
	a := nl.NewAttrs(b[sizeofIfInfomsg:], "link notification")
	for a.Next() {
		if a.Type() == iflaIfname {
			ch.Name = a.String()
		}
	}
	return ch
}
