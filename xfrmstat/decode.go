package xfrmstat

import (
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// The decoders in this file are pure: they read one message's bytes where
// the kernel put them and copy out only what the data model holds. They
// build on every OS so that they can be fuzzed anywhere.
//
// Key material: struct xfrm_algo, xfrm_algo_auth and xfrm_algo_aead end in
// the key. The decoders read the 64-byte name and the length fields in front
// of it and never index past xfrm.SizeofAlgoAuth into an algorithm
// attribute, so the key bytes are not even read, let alone copied.

var (
	ne = binary.NativeEndian
	be = binary.BigEndian
)

// DecodeError reports a kernel message that could not be decoded: which
// message, where in its dump, and what was wrong (the wrapped error names
// the attribute or structure and the byte offset). Message and Index mean
// what they mean in vtistat.DecodeError.
type DecodeError struct {
	Message string // the kernel's message name, e.g. "XFRM_MSG_NEWSA"
	Index   int    // position of the message in its dump (0 is the first), -1 for a single reply or an event
	Err     error
}

func (e *DecodeError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("xfrmstat: decode %s #%d of the dump: %v", e.Message, e.Index, e.Err)
	}
	return fmt.Sprintf("xfrmstat: decode %s: %v", e.Message, e.Err)
}

func (e *DecodeError) Unwrap() error { return e.Err }

// shortError says that a structure did not fit the bytes the kernel sent.
func shortError(what string, have, want int) error {
	return fmt.Errorf("%s: %d bytes, want at least %d", what, have, want)
}

// msgName names a message type for errors.
func msgName(t uint16) string {
	if n := xfrm.MsgName(t); n != "" {
		return n
	}
	return fmt.Sprintf("message type %#x", t)
}

// decodeAddr reads an xfrm_address_t of the given family. An address of any
// other family decodes to the zero Addr if its bytes are all zero (the
// kernel's "no address"), and is an error otherwise: it cannot be read
// without guessing.
func decodeAddr(b []byte, family uint16, what string) (netip.Addr, error) {
	switch family {
	case xfrm.AFInet:
		return netip.AddrFrom4([4]byte(b[:4])), nil
	case xfrm.AFInet6:
		return netip.AddrFrom16([16]byte(b[:16])), nil
	}
	if !allZero(b[:xfrm.SizeofAddress]) {
		if what != "" {
			what += ": "
		}
		return netip.Addr{}, fmt.Errorf("%saddress family %d is neither AF_INET nor AF_INET6 but the address is not zero", what, family)
	}
	return netip.Addr{}, nil
}

// decodePrefix reads a selector address and its prefix length. what and
// part name it in errors (concatenated only then: this runs per message).
func decodePrefix(b []byte, family uint16, bits uint8, what, part string) (netip.Prefix, error) {
	a, err := decodeAddr(b, family, "")
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s %s: %v", what, part, err)
	}
	if !a.IsValid() {
		if bits != 0 {
			return netip.Prefix{}, fmt.Errorf("%s %s: prefix length %d with address family %d", what, part, bits, family)
		}
		return netip.Prefix{}, nil
	}
	if int(bits) > a.BitLen() {
		return netip.Prefix{}, fmt.Errorf("%s %s: prefix length %d is longer than the %d-bit address", what, part, bits, a.BitLen())
	}
	// PrefixFrom keeps the address as the kernel stores it: unmasked bits
	// stay visible rather than being silently cleared.
	return netip.PrefixFrom(a, int(bits)), nil
}

// decodeSelector reads a struct xfrm_selector; b holds at least
// xfrm.SizeofSelector bytes.
func decodeSelector(s *Selector, b []byte, what string) error {
	return decodeSelectorIn(s, b, what, 0)
}

// decodeSelectorIn reads a selector that belongs to an SA of family
// saFamily. An SA selector may have family 0 and still hold addresses: the
// kernel then matches it in the SA's family (xfrm_selector_match is given
// the flow's family; larval SAs from ALLOCSPI are made so), so its prefixes
// are read in saFamily while Family stays 0 as the kernel has it. A family
// 0 selector whose addresses and prefix lengths are all zero (an SA with
// XFRM_STATE_AF_UNSPEC) matches any flow and decodes to zero prefixes.
func decodeSelectorIn(s *Selector, b []byte, what string, saFamily uint16) error {
	s.Family = ne.Uint16(b[xfrm.SelFamily:])
	fam := s.Family
	if fam == 0 && (b[xfrm.SelPrefixlenD] != 0 || b[xfrm.SelPrefixlenS] != 0 || !allZero(b[xfrm.SelDaddr:xfrm.SelDaddr+2*xfrm.SizeofAddress])) {
		fam = saFamily
	}
	var err error
	if s.Dst, err = decodePrefix(b[xfrm.SelDaddr:], fam, b[xfrm.SelPrefixlenD], what, "daddr"); err != nil {
		return err
	}
	if s.Src, err = decodePrefix(b[xfrm.SelSaddr:], fam, b[xfrm.SelPrefixlenS], what, "saddr"); err != nil {
		return err
	}
	s.DstPort = be.Uint16(b[xfrm.SelDport:])
	s.DstPortMask = be.Uint16(b[xfrm.SelDportMask:])
	s.SrcPort = be.Uint16(b[xfrm.SelSport:])
	s.SrcPortMask = be.Uint16(b[xfrm.SelSportMask:])
	s.Proto = b[xfrm.SelProto]
	s.IfIndex = int32(ne.Uint32(b[xfrm.SelIfindex:]))
	s.User = ne.Uint32(b[xfrm.SelUser:])
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// seconds converts the kernel's time64 seconds to a time, 0 meaning never.
func seconds(s uint64) time.Time {
	if s == 0 || s > math.MaxInt64 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

func decodeLifetimeConfig(l *LifetimeConfig, b []byte) {
	l.SoftByteLimit = ne.Uint64(b[0:])
	l.HardByteLimit = ne.Uint64(b[8:])
	l.SoftPacketLimit = ne.Uint64(b[16:])
	l.HardPacketLimit = ne.Uint64(b[24:])
	l.SoftAddExpiresSeconds = ne.Uint64(b[32:])
	l.HardAddExpiresSeconds = ne.Uint64(b[40:])
	l.SoftUseExpiresSeconds = ne.Uint64(b[48:])
	l.HardUseExpiresSeconds = ne.Uint64(b[56:])
}

func decodeLifetimeCurrent(l *LifetimeCurrent, b []byte) {
	l.Bytes = ne.Uint64(b[0:])
	l.Packets = ne.Uint64(b[8:])
	l.AddTime = seconds(ne.Uint64(b[16:]))
	l.UseTime = seconds(ne.Uint64(b[24:]))
}

// decoder holds what decoding reuses across messages: a slab that hands
// out the pointed-to values (marks, replay states, algorithms, templates) in
// chunks instead of one allocation each, and a table that keeps one copy of
// each algorithm name. A decoder is not safe for concurrent use; the Client
// serialises access.
type decoder struct {
	slab  slab
	names map[string]string
}

// maxNames bounds the interned algorithm names: a kernel has a few dozen
// algorithms, so more than this means something odd and the rest are simply
// not interned.
const maxNames = 256

// name returns the algorithm name in b as a string without allocating when
// it equals old (the same SA polled again) or a name seen before.
func (d *decoder) name(b []byte, old string) string {
	if old == string(b) { // compiled without a conversion
		return old
	}
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.names == nil {
		d.names = make(map[string]string)
	}
	if len(d.names) < maxNames {
		d.names[s] = s
	}
	return s
}

// slab hands out values from chunks. Values it has handed out are never
// handed out again, so results stay valid; a new chunk is allocated only
// when one runs out, and chunks grow with use, so a dump of n items makes
// O(log n + n/maxChunk) allocations for its pointed-to values.
type slab struct {
	marks    []Mark
	replays  []Replay
	algs     []Algorithm
	encaps   []Encap
	tmpls    []Template
	chunkLen int
}

const (
	minChunk = 8
	maxChunk = 1024
)

func (s *slab) grow() int {
	if s.chunkLen < minChunk {
		s.chunkLen = minChunk
	} else if s.chunkLen < maxChunk {
		s.chunkLen *= 2
	}
	return s.chunkLen
}

func (s *slab) mark() *Mark {
	if len(s.marks) == cap(s.marks) {
		s.marks = make([]Mark, 0, s.grow())
	}
	s.marks = s.marks[:len(s.marks)+1]
	return &s.marks[len(s.marks)-1]
}

func (s *slab) replay() *Replay {
	if len(s.replays) == cap(s.replays) {
		s.replays = make([]Replay, 0, s.grow())
	}
	s.replays = s.replays[:len(s.replays)+1]
	return &s.replays[len(s.replays)-1]
}

func (s *slab) alg() *Algorithm {
	if len(s.algs) == cap(s.algs) {
		s.algs = make([]Algorithm, 0, s.grow())
	}
	s.algs = s.algs[:len(s.algs)+1]
	return &s.algs[len(s.algs)-1]
}

func (s *slab) encap() *Encap {
	if len(s.encaps) == cap(s.encaps) {
		s.encaps = make([]Encap, 0, s.grow())
	}
	s.encaps = s.encaps[:len(s.encaps)+1]
	return &s.encaps[len(s.encaps)-1]
}

// templates returns n templates whose capacity ends at n, so that an
// append by the caller cannot run into a neighbour's templates.
func (s *slab) templates(n int) []Template {
	if n > maxChunk/4 {
		return make([]Template, n)
	}
	if cap(s.tmpls)-len(s.tmpls) < n {
		s.tmpls = make([]Template, 0, max(s.grow(), n))
	}
	l := len(s.tmpls)
	s.tmpls = s.tmpls[:l+n]
	return s.tmpls[l : l+n : l+n]
}
