package xfrmstat

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/nl"
	"github.com/tunnelstat/tunnelstat/internal/xfrm"
)

// Fixtures in testdata/ are real kernel messages: *.nl files hold complete
// netlink messages (header included, as received, NLMSG_DONE left out),
// captured by the integration tests with -update on this host's kernel
// (names with "host-linux<version>") or by the VM tests (names with
// "vm-linux<version>", see vm_integration_test.go). Files named
// "handmade-*" are built by hand for cases no kernel here produces. Each
// *.nl has a *.json golden file: its decoded values.
//
//	go test -run 'TestCapture|TestFixtures' -update ./xfrmstat/   (as root)
var update = flag.Bool("update", false, "capture testdata/*.nl from the running kernel (Linux, root) and rewrite the golden *.json files")

type fixtureMsg struct {
	Type  uint16
	Flags uint16
	Data  []byte
}

// splitMessages parses a fixture file: netlink messages back to back.
func splitMessages(b []byte) ([]fixtureMsg, error) {
	var out []fixtureMsg
	for off := 0; off < len(b); {
		if len(b)-off < nl.HeaderLen {
			return nil, fmt.Errorf("%d trailing bytes at offset %d", len(b)-off, off)
		}
		l := int(binary.NativeEndian.Uint32(b[off:]))
		if l < nl.HeaderLen || l > len(b)-off {
			return nil, fmt.Errorf("message at offset %d has length %d", off, l)
		}
		out = append(out, fixtureMsg{
			Type:  binary.NativeEndian.Uint16(b[off+4:]),
			Flags: binary.NativeEndian.Uint16(b[off+6:]),
			Data:  b[off+nl.HeaderLen : off+l],
		})
		off += nl.Align(l)
	}
	return out, nil
}

// decodedMsg is one decoded fixture message, as the golden files show it.
type decodedMsg struct {
	Message string
	Value   any
}

// decodeFixture decodes every message of a fixture: "event-*" files as
// notifications, the others as dump items and replies.
func decodeFixture(name string, msgs []fixtureMsg) ([]decodedMsg, error) {
	var d decoder
	var out []decodedMsg
	event := strings.HasPrefix(filepath.Base(name), "event-") || strings.Contains(name, "-event-")
	for i, m := range msgs {
		var v any
		var err error
		switch {
		case event:
			v, err = d.decodeEvent(m.Type, m.Data)
		case m.Type == xfrm.MsgNewSA:
			sa := new(SA)
			v, err = sa, d.saMessage(sa, m.Data)
		case m.Type == xfrm.MsgNewPolicy:
			p := new(Policy)
			v, err = p, d.policyMessage(p, m.Data)
		case m.Type == xfrm.MsgNewSPDInfo:
			s := new(SPDInfo)
			v, err = s, decodeSPDInfo(s, m.Data)
		case m.Type == xfrm.MsgNewSADInfo:
			s := new(SADInfo)
			v, err = s, decodeSADInfo(s, m.Data)
		case m.Type == xfrm.MsgGetDefault:
			s := new(PolicyDefaults)
			v, err = s, decodePolicyDefaults(s, m.Data)
		default:
			err = fmt.Errorf("no decoder for %s outside an event file", msgName(m.Type))
		}
		if err != nil {
			return nil, fmt.Errorf("%s message %d (%s): %w", name, i, msgName(m.Type), err)
		}
		out = append(out, decodedMsg{Message: msgName(m.Type), Value: v})
	}
	return out, nil
}

func fixtureFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.nl"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func readFixture(t testing.TB, path string) []fixtureMsg {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := splitMessages(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return msgs
}

// TestFixtures decodes every fixture and compares with its golden file.
func TestFixtures(t *testing.T) {
	files := fixtureFiles(t)
	if len(files) == 0 {
		t.Fatal("no fixtures in testdata/")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got, err := decodeFixture(f, readFixture(t, f))
			if err != nil {
				t.Fatal(err)
			}
			js, err := json.MarshalIndent(got, "", "\t")
			if err != nil {
				t.Fatal(err)
			}
			js = append(js, '\n')
			golden := strings.TrimSuffix(f, ".nl") + ".json"
			if *update {
				if err := os.WriteFile(golden, js, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(js, want) {
				t.Errorf("decoded %s differs from %s:\n%s", f, golden, lineDiff(string(want), string(js)))
			}
		})
	}
}

// lineDiff shows the first differing lines, enough to see what changed.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(w), len(g)) && n < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			n++
		}
	}
	return b.String()
}

// fixtureSeeds returns the payloads of every fixture message of the given
// types, to seed fuzz targets.
func fixtureSeeds(t testing.TB, types ...uint16) [][]byte {
	var out [][]byte
	for _, f := range fixtureFiles(t) {
		for _, m := range readFixture(t, f) {
			for _, typ := range types {
				if m.Type == typ {
					out = append(out, m.Data)
				}
			}
		}
	}
	return out
}
