package vtistat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/nl"
)

// seedLinks adds every captured RTM_NEWLINK fixture (host and VM kernels)
// and the hand-made tunnel messages.
func seedLinks(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "rtm_newlink-*.bin"))
	paths2, _ := filepath.Glob(filepath.Join("testdata", "vm", "*", "*", "rtm_newlink-*.bin"))
	for _, p := range append(paths, paths2...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, k := range tunnelKinds {
		f.Add(handmadeLink(7, "t0", k, vtiData()))
	}
	f.Add(handmadeLink(7, "gre0", "gre", attrs(iflaGRELocal, ip("192.0.2.1"), iflaGREIKey, be32(1))))
	f.Add(handmadeLink(7, "sit0", "sit", attrs(iflaIPTun6RDPrefix, ip("2002::"), iflaIPTun6RDPrefixLen, ne16(16))))
}

// FuzzDecodeLink: any input decodes or fails with an error, never panics,
// and decoding into a reused Link gives what decoding into a fresh one
// gives.
func FuzzDecodeLink(f *testing.F) {
	seedLinks(f)
	other := handmadeLink(3, "other", "gre", attrs(iflaGREIKey, be32(9), iflaGRERemote, ip("2001:db8::9")))
	f.Fuzz(func(t *testing.T, msg []byte) {
		var fresh Link
		err := DecodeLink(msg, &fresh)
		_ = peekKind(msg)
		var reused Link
		_ = DecodeLink(other, &reused)
		err2 := DecodeLink(msg, &reused)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("fresh: %v, reused: %v", err, err2)
		}
		if err != nil {
			return
		}
		if !sameLink(&fresh, &reused) {
			t.Fatalf("fresh %+v\nreused %+v", fresh, reused)
		}
	})
}

func sameLink(a, b *Link) bool {
	ac, bc := *a, *b
	ac.Tunnel, bc.Tunnel = nil, nil
	if !reflect.DeepEqual(ac, bc) {
		return false
	}
	if (a.Tunnel == nil) != (b.Tunnel == nil) {
		return false
	}
	return a.Tunnel == nil || *a.Tunnel == *b.Tunnel
}

// FuzzDecodeTunnel feeds any IFLA_INFO_DATA to each kind's decoder.
func FuzzDecodeTunnel(f *testing.F) {
	f.Add(uint8(0), vtiData())
	f.Add(uint8(3), attrs(iflaGREIFlags, be16(GREKey), iflaGREIKey, be32(1), iflaGRELocal, ip("2001:db8::1")))
	f.Add(uint8(8), attrs(iflaIPTunFlags, ne16(1), iflaIPTun6RDPrefix, ip("2002::"), iflaIPTun6RDRelayPrefix, ip("10.0.0.0"),
		iflaIPTun6RDPrefixLen, ne16(16), iflaIPTun6RDRelayPrefixLen, ne16(8)))
	f.Add(uint8(2), attrs(iflaXfrmIfID, ne32(1), iflaXfrmCollectMetadata, []byte{}))
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := paramKinds[int(k)%len(paramKinds)]
		var tun Tunnel
		if err := decodeTunnel(kind, data, &tun); err == nil {
			var again Tunnel
			_ = decodeTunnel(kind, data, &again)
			if again != tun {
				t.Fatalf("not deterministic: %+v vs %+v", tun, again)
			}
		}
	})
}

// FuzzDecodeStats: stats blocks of any size never panic.
func FuzzDecodeStats(f *testing.F) {
	f.Add(make([]byte, 200))
	f.Add(make([]byte, 184))
	f.Add(make([]byte, 97))
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Stats64
		decodeStats64(b, &s)
		decodeStats32(b, &s)
	})
}

// FuzzDecodeLinkChange: any notification payload gives a LinkChange,
// never a panic; a real RTM_NEWLINK names its link as DecodeLink does.
func FuzzDecodeLinkChange(f *testing.F) {
	seedLinks(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		ch := decodeLinkChange(false, msg)
		var l Link
		if err := DecodeLink(msg, &l); err == nil && (ch.Index != l.Index || ch.Name != l.Name) {
			t.Errorf("change %+v, link %d %q", ch, l.Index, l.Name)
		}
	})
}

// FuzzDecodeWireGuard: any WG_CMD_GET_DEVICE message, alone or after a
// real first message, decodes or fails with a *DecodeError, never
// panics; decoding leaves no key byte where scrubWireGuard can find one,
// and a reused device decodes as a fresh one does.
func FuzzDecodeWireGuard(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "wg", "*", "wg_get_device-*.bin"))
	var first []byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for len(b) >= nl.HeaderLen {
			l := int(binary.NativeEndian.Uint32(b))
			if l < nl.HeaderLen || l > len(b) {
				break
			}
			f.Add(b[nl.HeaderLen:l])
			if first == nil {
				first = slices.Clone(b[nl.HeaderLen:l])
			}
			b = b[min(nl.Align(l), len(b)):]
		}
	}
	_, msgs, _ := wgSample(f)
	for _, m := range msgs {
		f.Add(m)
	}
	if first == nil {
		first = msgs[0]
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		orig := slices.Clone(msg)
		var fresh WireGuardDevice
		err := decodeWG(&fresh, [][]byte{msg})
		var de *DecodeError
		if err != nil && !errors.As(err, &de) {
			t.Fatalf("%T %v", err, err)
		}
		// Scrubbing twice changes nothing more.
		once := slices.Clone(msg)
		scrubWireGuard(once)
		if !bytes.Equal(once, msg) {
			t.Fatal("decode left key bytes that a second scrub found")
		}
		reused := WireGuardDevice{Name: "other", Peers: make([]WireGuardPeer, 3, 8)}
		reused.Peers[0].AllowedIPs = make([]netip.Prefix, 5)
		err2 := decodeWG(&reused, [][]byte{slices.Clone(orig)})
		if (err == nil) != (err2 == nil) {
			t.Fatalf("fresh: %v, reused: %v", err, err2)
		}
		if err == nil && diffWireGuard(&fresh, &reused) != "" {
			t.Fatalf("fresh and reused differ: %s", diffWireGuard(&fresh, &reused))
		}
		// As the continuation of a real dump.
		var two WireGuardDevice
		_ = decodeWG(&two, [][]byte{slices.Clone(first), slices.Clone(orig)})
	})
}
