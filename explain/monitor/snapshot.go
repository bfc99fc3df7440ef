package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// Format names the snapshot document's layout. Decode refuses any other
// value, so that a future layout is never read with the wrong meaning.
const Format = "tunnelstat.snapshot/v1"

// Snapshot is one reading of a network namespace: what Reader.Read takes,
// what Load makes of raw captures, and the JSON document Encode writes and
// Decode reads back ("tunnelstat snapshot" writes it).
//
// A part that was not read is null (nil), a part that was read and empty is
// [] or {}: explain treats "no SA" and "SAs not known" differently. Unread
// says why each missing part is missing.
//
// The JSON names of the fields are the document's layout, Format. SAs and
// Policies are encoded as xfrmstat's types, with Go field names.
type Snapshot struct {
	Format string    `json:"format"`
	Time   time.Time `json:"time"`
	// NetNS is the namespace as it was selected ("" for the reader's own).
	NetNS string `json:"netns"`
	// KernelRelease is uname -r; "" if unknown.
	KernelRelease string `json:"kernel_release"`

	// Links are every interface of the namespace, tunnels or not.
	Links []Link `json:"links"`
	// LinksFrom is "rtnetlink", or "proc/net/dev" when the kernel refused
	// rtnetlink (or the reading came from a capture of that file), "" when
	// links were not read.
	LinksFrom string `json:"links_from"`

	// MIB is /proc/net/xfrm_stat, every counter the file had, in file order.
	MIB *MIB `json:"xfrm_stat"`

	// SAs and Policies are the XFRM state, encoded as the library's
	// xfrmstat.SA and xfrmstat.Policy (Go field names). They never hold key
	// material: the library does not copy it out of the kernel's messages.
	SAs            []xfrmstat.SA            `json:"sas"`
	Policies       []xfrmstat.Policy        `json:"policies"`
	PolicyDefaults *xfrmstat.PolicyDefaults `json:"policy_defaults"`
	SPDInfo        *xfrmstat.SPDInfo        `json:"spd_info"`
	SADInfo        *xfrmstat.SADInfo        `json:"sad_info"`

	// WireGuard are the peers of the namespace's wireguard links (Link.Kind
	// "wireguard"), in the order of Links, encoded as the library's
	// vtistat.WireGuardDevice: public keys only, never a private or
	// preshared key (the library does not copy them out of the kernel's
	// messages). nil when the namespace has no wireguard link (the field
	// is then left out of the document), or none could be read; a
	// wireguard link of Links that is not here was not read, and Unread
	// ("wireguard") says why.
	WireGuard []vtistat.WireGuardDevice `json:"wireguard,omitzero"`

	// Unread lists the parts that could not be read and why.
	Unread []Unread `json:"unread,omitempty"`
}

// Unread is a part of a reading that could not be read.
type Unread struct {
	// Part is the JSON name of the missing part: "xfrm_stat", "sas",
	// "policies", "policy_defaults", "spd_info", "sad_info",
	// "kernel_release", "wireguard" (the peers of one or more wireguard
	// links; Error names them); or "links_rtnetlink" when the kernel refused
	// rtnetlink and the links were read from /proc/net/dev instead. A
	// Monitor's Update also says "events" when the namespace's XFRM
	// events could not be subscribed to, "link_changes" when its link
	// notifications could not (Config.Health); a Snapshot never does.
	Part  string `json:"part"`
	Error string `json:"error"`
	// Needs says what would make it readable ("CAP_NET_ADMIN"), if known.
	Needs string `json:"needs,omitempty"`

	err error
}

// Err returns the error the part failed with, for errors.Is and errors.As;
// nil for a decoded snapshot, whose errors are only text.
func (u Unread) Err() error { return u.err }

// Link is one network interface.
type Link struct {
	Index int32  `json:"index"`
	Name  string `json:"name"`
	Alias string `json:"alias,omitempty"`
	// Kind is IFLA_INFO_KIND ("vti", "gre", "veth" …); "" when the link has
	// none or it is unknown (a /proc/net/dev reading).
	Kind      string `json:"kind"`
	Flags     uint32 `json:"flags"`
	OperState string `json:"operstate"`
	MTU       uint32 `json:"mtu"`
	// ParentIndex is the underlay link (IFLA_LINK), 0 if none.
	ParentIndex int32 `json:"parent_index"`
	// LinkNetNSID is the namespace id of the underlay, -1 for this one.
	LinkNetNSID int32 `json:"link_netnsid"`

	// StatsFrom is "stats64", "stats32", "proc/net/dev" (three fields hold
	// the file's sums, see vtistat.Stats64) or "none".
	StatsFrom string  `json:"stats_from"`
	Stats     Stats   `json:"stats"`
	Tunnel    *Tunnel `json:"tunnel,omitempty"`
}

// IsTunnel reports whether l is a tunnel: its kind has tunnel parameters
// or is "wireguard" (whose configuration is its peers, in
// Snapshot.WireGuard), or, when the kind is unknown, its name looks like
// one (vti0, gre1 …).
func (l *Link) IsTunnel() bool {
	if l.Tunnel != nil || l.Kind == explain.KindWireGuard {
		return true
	}
	if l.Kind != "" {
		return false
	}
	return tunnelName(l.Name)
}

// Stats is struct rtnl_link_stats64, with the kernel's field names.
type Stats struct {
	RxPackets          uint64 `json:"rx_packets"`
	TxPackets          uint64 `json:"tx_packets"`
	RxBytes            uint64 `json:"rx_bytes"`
	TxBytes            uint64 `json:"tx_bytes"`
	RxErrors           uint64 `json:"rx_errors"`
	TxErrors           uint64 `json:"tx_errors"`
	RxDropped          uint64 `json:"rx_dropped"`
	TxDropped          uint64 `json:"tx_dropped"`
	Multicast          uint64 `json:"multicast"`
	Collisions         uint64 `json:"collisions"`
	RxLengthErrors     uint64 `json:"rx_length_errors"`
	RxOverErrors       uint64 `json:"rx_over_errors"`
	RxCRCErrors        uint64 `json:"rx_crc_errors"`
	RxFrameErrors      uint64 `json:"rx_frame_errors"`
	RxFIFOErrors       uint64 `json:"rx_fifo_errors"`
	RxMissedErrors     uint64 `json:"rx_missed_errors"`
	TxAbortedErrors    uint64 `json:"tx_aborted_errors"`
	TxCarrierErrors    uint64 `json:"tx_carrier_errors"`
	TxFIFOErrors       uint64 `json:"tx_fifo_errors"`
	TxHeartbeatErrors  uint64 `json:"tx_heartbeat_errors"`
	TxWindowErrors     uint64 `json:"tx_window_errors"`
	RxCompressed       uint64 `json:"rx_compressed"`
	TxCompressed       uint64 `json:"tx_compressed"`
	RxNoHandler        uint64 `json:"rx_nohandler"`
	RxOtherhostDropped uint64 `json:"rx_otherhost_dropped"`
}

// Tunnel holds a tunnel's parameters (see vtistat.Tunnel).
type Tunnel struct {
	Local  netip.Addr `json:"local"`
	Remote netip.Addr `json:"remote"`
	IKey   uint32     `json:"ikey"`
	OKey   uint32     `json:"okey"`
	Link   uint32     `json:"link"`
	FwMark uint32     `json:"fwmark"`
	IfID   uint32     `json:"if_id"`

	TTL       uint8  `json:"ttl"`
	TOS       uint8  `json:"tos"`
	PMTUDisc  bool   `json:"pmtudisc"`
	IFlags    uint16 `json:"iflags"`
	OFlags    uint16 `json:"oflags"`
	Flags     uint32 `json:"flags"`
	Proto     uint8  `json:"proto"`
	EncapLim  uint8  `json:"encap_limit"`
	FlowInfo  uint32 `json:"flowinfo"`
	CollectMD bool   `json:"collect_md"`
	IgnoreDF  bool   `json:"ignore_df"`

	EncapType  uint16 `json:"encap_type"`
	EncapFlags uint16 `json:"encap_flags"`
	EncapSport uint16 `json:"encap_sport"`
	EncapDport uint16 `json:"encap_dport"`

	SixRDPrefix      netip.Prefix `json:"6rd_prefix,omitzero"`
	SixRDRelayPrefix netip.Prefix `json:"6rd_relay_prefix,omitzero"`
}

// MIB is /proc/net/xfrm_stat. In JSON it is an object from counter name to
// value, in the file's order; counters this version does not know are kept.
type MIB struct{ procnet.XfrmStat }

// MarshalJSON writes {"XfrmInError": 0, …} in kernel order.
func (m *MIB) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for name, v := range m.All() {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(strconv.Quote(name))
		b.WriteByte(':')
		b.WriteString(strconv.FormatUint(v, 10))
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON writes, keeping the order, by way of
// the kernel's text layout: procnet's parser then checks every name and
// value as it checks the real file. Errors name the counter.
func (m *MIB) UnmarshalJSON(data []byte) error {
	s := &scanner{data: data}
	mib, err := decodeMIB(s, "xfrm_stat")
	if err != nil {
		return err
	}
	if mib == nil {
		return nil // null leaves m alone, as for any other type
	}
	if s.peek() != 0 {
		return errors.New("xfrm_stat: data after the object")
	}
	*m = *mib
	return nil
}

// Encode writes s as an indented JSON document, one line of JSON per
// field, ending in a newline.
func (s *Snapshot) Encode(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(s)
}

// Tunnels returns the links that are tunnels (see Link.IsTunnel): nil
// when the links were not read, empty (not nil) when none is a tunnel, so
// that a document of them still says the links were read.
func (s *Snapshot) Tunnels() []Link {
	if s.Links == nil {
		return nil
	}
	out := []Link{}
	for _, l := range s.Links {
		if l.IsTunnel() {
			out = append(out, l)
		}
	}
	return out
}

// Unreadable reports whether part could not be read, and why.
func (s *Snapshot) Unreadable(part string) (Unread, bool) {
	for _, u := range s.Unread {
		if u.Part == part {
			return u, true
		}
	}
	return Unread{}, false
}

// tunnelName reports whether a name looks like a tunnel's. It follows the
// names explain infers a kind from for /proc/net/dev readings.
func tunnelName(name string) bool {
	switch name {
	case "ip_vti0", "ip6_vti0", "tunl0", "ip6tnl0", "ip6gre0":
		return true
	}
	for _, p := range []string{"vti6", "vti", "xfrm", "ipsec", "gretap", "gre", "erspan", "sit", "wg"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
