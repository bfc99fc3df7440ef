package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// richDoc is the rich snapshot as Encode writes it.
func richDoc(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	if err := richSnapshot(t).Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// nth returns the byte offset of the n-th (1-based) occurrence of sub.
func nth(t *testing.T, doc, sub string, n int) int {
	t.Helper()
	off := -1
	for range n {
		i := strings.Index(doc[off+1:], sub)
		if i < 0 {
			t.Fatalf("%q: occurrence %d not in the document", sub, n)
		}
		off += 1 + i
	}
	return off
}

// lineCol is the 1-based line and column of a byte offset.
func lineCol(doc string, off int) (int, int) {
	before := doc[:off]
	return strings.Count(before, "\n") + 1, off - strings.LastIndexByte(before, '\n')
}

// Issue 16 point 8: every error of a document names the line, the column
// and the path of the field, indices included. Before, type errors gave a
// Go struct path without indices, syntax errors a byte offset, a bad
// address "unable to parse IP" alone, a bad xfrm_stat counter "net/xfrm_stat
// line 1".
func TestDecodeErrorPlaces(t *testing.T) {
	doc := richDoc(t)
	for _, tc := range []struct {
		name       string
		old, new   string // the edit
		n          int    // which occurrence of old
		at         string // where the error must point: the first byte of this, in the edited document …
		atN        int    // … its atN-th occurrence
		path, want string
	}{
		{"counter of the second link", `"rx_packets": 0`, `"rx_packets": "x"`, 1, `"x"`, 1,
			"links[1].stats.rx_packets", "want an integer from 0 to 18446744073709551615, got string"},
		{"negative counter", `"tx_errors": 17`, `"tx_errors": -17`, 1, `-17`, 1,
			"links[1].stats.tx_errors", "got number -17"},
		{"SA address", `"Src": "192.0.2.1"`, `"Src": "192.0.2.x"`, 1, `"192.0.2.x"`, 1,
			"sas[0].Src", `ParseAddr("192.0.2.x")`},
		{"template address", `"Dst": "198.51.100.2"`, `"Dst": "nowhere"`, 2, `"nowhere"`, 1,
			"policies[0].Templates[0].Dst", `ParseAddr("nowhere")`},
		{"tunnel remote", `"remote": "198.51.100.2"`, `"remote": 7777`, 1, `7777`, 1,
			"links[1].tunnel.remote", "want an IP address (a string), got number"},
		{"xfrm_stat counter", `"XfrmOutNoStates": 17`, `"XfrmOutNoStates": 1.5`, 1, `1.5`, 1,
			"xfrm_stat.XfrmOutNoStates", "want a counter"},
		{"xfrm_stat counter too large", `"XfrmOutNoStates": 17`, `"XfrmOutNoStates": 18446744073709551616`, 1, `18446744073709551616`, 1,
			"xfrm_stat.XfrmOutNoStates", "want a counter"},
		{"unknown field in a link", `"kind": "vti"`, `"kynd": "vti"`, 1, `"kynd"`, 1,
			"links[1]", `unknown field "kynd"`},
		{"unknown field in an SA", `"SPI": 65546`, `"SPY": 65546`, 1, `"SPY"`, 1,
			"sas[0]", `unknown field "SPY"`},
		{"syntax error in a link", `"mtu": 1480,`, `"mtu": 1480`, 1, `"parent_index"`, 2,
			"links[1]", "want ',' or '}'"},
		{"bad time", `"time": "2025-03-01T10:00:00.000000123Z"`, `"time": "yesterday"`, 1, `"yesterday"`, 1,
			"time", "cannot parse"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			off := nth(t, doc, tc.old, tc.n)
			edited := doc[:off] + tc.new + doc[off+len(tc.old):]
			_, err := Decode(strings.NewReader(edited))
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrNotSnapshot) {
				t.Fatalf("%v: want a *DecodeError wrapping ErrNotSnapshot", err)
			}
			wantLine, wantCol := lineCol(edited, nth(t, edited, tc.at, tc.atN))
			if de.Line != wantLine || de.Column != wantCol || de.Path != tc.path || !strings.Contains(de.Err.Error(), tc.want) {
				t.Errorf("got line %d column %d path %q: %v\nwant line %d column %d path %q and %q", de.Line, de.Column, de.Path, de.Err, wantLine, wantCol, tc.path, tc.want)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("line %d, column %d: %s: ", wantLine, wantCol, tc.path)) {
				t.Errorf("message %q does not start with the place", err)
			}
		})
	}

	// null for an object, before the mistake: the walk that finds the
	// mistake goes past it (it once crashed there).
	so := nth(t, doc, `"stats": {`, 2)
	se := so + strings.IndexByte(doc[so:], '}') + 1
	edited := doc[:so] + `"stats": null` + doc[se:]
	edited = strings.Replace(edited, `"local": "192.0.2.1"`, `"local": 5`, 1)
	if _, err := Decode(strings.NewReader(edited)); err == nil || !strings.Contains(err.Error(), "links[1].tunnel.local: want an IP address") {
		t.Errorf("null stats, then a bad address: %v", err)
	}

	// A truncated document says so, and where it stopped.
	cut := doc[:nth(t, doc, `"tx_window_errors"`, 2)]
	_, err := Decode(strings.NewReader(cut))
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "truncated") || !strings.HasPrefix(de.Path, "links[1]") {
		t.Errorf("truncated document: %v", err)
	}
	if line, _ := lineCol(cut, len(cut)); de == nil || de.Line != line {
		t.Errorf("truncated document: line %v, want the last (%d)", de, line)
	}
}

// Load names the file too.
func TestLoadDecodeErrorNamesFile(t *testing.T) {
	doc := strings.Replace(richDoc(t), `"rx_packets": 0`, `"rx_packets": true`, 1)
	s, err := (&Loader{Stdin: strings.NewReader(doc)}).Load(t.Context(), "-")
	var de *DecodeError
	if !errors.As(err, &de) || de.File != "standard input" || !strings.HasPrefix(err.Error(), "standard input: line ") || de.Path != "links[1].stats.rx_packets" {
		t.Errorf("%v, %v", s, err)
	}
}

// Issue 16 point 9: what a document must hold, and may not hold twice.
func TestDecodeRefuses(t *testing.T) {
	doc := richDoc(t)
	replace := func(old, new string, n int) string {
		off := nth(t, doc, old, n)
		return doc[:off] + new + doc[off+len(old):]
	}
	for _, tc := range []struct{ name, doc, path, want string }{
		{"format alone", `{"format":"tunnelstat.snapshot/v1"}`, "", `no "time"`},
		{"no links", replace(`"links": [`, `"linkz": [`, 1), "", `unknown field "linkz"`},
		{"links missing", `{"format":"tunnelstat.snapshot/v1","time":"0001-01-01T00:00:00Z","netns":"","kernel_release":"",` +
			`"links_from":"","xfrm_stat":{},"sas":null,"policies":null,"policy_defaults":null,"spd_info":null,"sad_info":null}`, "", `no "links"`},
		{"nothing read", `{"format":"tunnelstat.snapshot/v1","time":"0001-01-01T00:00:00Z","netns":"","kernel_release":"","links":null,` +
			`"links_from":"","xfrm_stat":null,"sas":null,"policies":null,"policy_defaults":null,"spd_info":null,"sad_info":null}`, "", "nothing was read"},
		{"links null but links_from", replace(`"links": [`, `"links": null, "x": [`, 1), "", `unknown field "x"`},
		{"links_from empty", replace(`"links_from": "rtnetlink"`, `"links_from": ""`, 1), "links_from", "say from where"},
		{"links_from unknown", replace(`"links_from": "rtnetlink"`, `"links_from": "netlink"`, 1), "links_from", `"netlink" is not one of`},
		{"part given twice", replace(`"netns": "ts-x",`, `"netns": "ts-x", "netns": "ts-y",`, 1), "netns", "given twice"},
		{"duplicate name", replace(`"name": "vti0"`, `"name": "lo"`, 1), "links[1].name", `"lo" is also the name of links[0]`},
		{"duplicate index", replace(`"index": 7`, `"index": 1`, 1), "links[1].index", "1 is also the index of links[0]"},
		{"negative index", replace(`"index": 7`, `"index": -7`, 1), "links[1].index", "positive"},
		{"link key twice", replace(`"mtu": 1480,`, `"mtu": 1480, "mtu": 1500,`, 1), "links[1].mtu", "given twice"},
		{"link without stats_from", replace(`"stats_from": "stats64",`, ``, 2), "links[1]", `no "stats_from"`},
		{"stats_from unknown", replace(`"stats_from": "stats64"`, `"stats_from": "sysfs"`, 2), "links[1].stats_from", `"sysfs" is not one of`},
		{"missing counter", replace(`"rx_otherhost_dropped": 1`, `"rx_nohandler_again": 1`, 1), "links[1].stats", `unknown field "rx_nohandler_again"`},
		{"counter left out", replace(`"rx_nohandler": 0,`, ``, 2), "links[1].stats", `no "rx_nohandler"`},
		{"counter twice", replace(`"collisions": 0,`, `"collisions": 0, "collisions": 0,`, 2), "links[1].stats.collisions", "given twice"},
		{"unread without part", replace(`"part": "kernel_release"`, `"part": ""`, 1), "unread[0].part", "empty"},
		{"data after", doc + "{}", "", "data after the document"},
		{"not an object", `[1,2]`, "", "want a JSON object"},
		{"empty", "  \n", "", "empty document"},
		{"sas not an array", replace(`"sas": [`, `"sas": {"x": [`, 1), "sas", "want an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tc.doc))
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrNotSnapshot) || de.Path != tc.path || !strings.Contains(de.Err.Error(), tc.want) || de.Line < 1 {
				t.Errorf("%v (path %q); want path %q and %q", err, pathOf(de), tc.path, tc.want)
			}
		})
	}
}

func pathOf(de *DecodeError) string {
	if de == nil {
		return "<no DecodeError>"
	}
	return de.Path
}

// Snapshot names are checked as the kernel checks interface names.
func TestDecodeInterfaceNames(t *testing.T) {
	doc := richDoc(t)
	off := nth(t, doc, `"name": "vti0"`, 1)
	for _, name := range []string{"", ".", "..", "a/b", "a:b", "a b", "a\tb", "a\nb", "a\rb", "a\x00b", "a\u00a0b",
		"sixteen-bytes-xx", strings.Repeat("x", 1000)} {
		q, _ := json.Marshal(name)
		edited := doc[:off] + `"name": ` + string(q) + doc[off+len(`"name": "vti0"`):]
		_, err := Decode(strings.NewReader(edited))
		var de *DecodeError
		if !errors.As(err, &de) || de.Path != "links[1].name" {
			t.Errorf("name %q: %v, want an error at links[1].name", name, err)
		} else if len(err.Error()) > 200 {
			t.Errorf("name %q: an error of %d bytes", name, len(err.Error()))
		}
	}
	// Control bytes other than white space are names the kernel gives
	// (a real veth can be named v\x1b[1m): they load, and text escapes them.
	for _, name := range []string{"fifteen-bytes-x", "vti0", "é", "br-lan.100", "@x", "a\u0001b", "a\u007fb", "a\u0085b", "v$(id);'\x1b[1m"} {
		q, _ := json.Marshal(name)
		edited := doc[:off] + `"name": ` + string(q) + doc[off+len(`"name": "vti0"`):]
		if _, err := Decode(strings.NewReader(edited)); err != nil {
			t.Errorf("name %q refused: %v", name, err)
		}
	}
}

// A document of empty elements ({} takes 2 bytes, an SA some 500 of
// memory) is refused once its elements take more memory than its size:
// before, 31 MB of them took 17.7 GB and a minute.
func TestDecodeMemoryBudget(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"format":"tunnelstat.snapshot/v1","sas":[`)
	for i := range 1 << 20 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString("]}")
	start := time.Now()
	_, err := Decode(strings.NewReader(b.String()))
	var de *DecodeError
	if !errors.As(err, &de) || !strings.HasPrefix(de.Path, "sas[") || !strings.Contains(err.Error(), "exhaust memory") {
		t.Fatalf("%.300v", err)
	}
	t.Logf("refused after %v: %v", time.Since(start), err)
	// The rich document, written by Encode, is far within the budget, also
	// compacted.
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(richDoc(t))); err != nil {
		t.Fatal(err)
	}
	d := &docDecoder{s: scanner{data: compact.Bytes()}, budget: 1 << 62, ctx: t.Context()}
	if _, err := d.document(); err != nil {
		t.Fatal(err)
	}
	if d.used > int64(compact.Len()) {
		t.Errorf("the compact rich document (%d bytes) takes %d bytes decoded", compact.Len(), d.used)
	}
}

// A bad counter in xfrm_stat is named, through json.Unmarshal too.
func TestMIBUnmarshalJSONErrors(t *testing.T) {
	for doc, want := range map[string]string{
		`{"XfrmInError": 1, "XfrmInError": 2}`: "xfrm_stat.XfrmInError: given twice",
		`{"XfrmInError": "1"}`:                 "xfrm_stat.XfrmInError: want a counter",
		`{"Xfrm-In": 1}`:                       "xfrm_stat.Xfrm-In: want a counter name",
		`[1]`:                                  "xfrm_stat: want an object of counters",
	} {
		var m MIB
		if err := json.Unmarshal([]byte(doc), &m); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "line 1") {
			t.Errorf("%s: %v, want %q", doc, err, want)
		}
	}
	var m MIB
	if err := json.Unmarshal([]byte(`{"XfrmInError": 1, "XfrmFuture": 2}`), &m); err != nil || m.InError != 1 || len(m.Other) != 1 {
		t.Errorf("%v %+v", err, m)
	}
}

// "Not read" (null) and "read, none" ([]) stay apart: Tunnels of links
// with no tunnel among them is empty, not nil, so that a document of them
// (show --json) says [] rather than null.
func TestTunnelsNilVersusEmpty(t *testing.T) {
	s := &Snapshot{Links: []Link{{Name: "lo"}, {Name: "eth0"}}}
	if tun := s.Tunnels(); tun == nil || len(tun) != 0 {
		t.Errorf("no tunnel among read links: %#v", tun)
	}
	s.Links = nil
	if tun := s.Tunnels(); tun != nil {
		t.Errorf("links not read: %#v", tun)
	}
	s = &Snapshot{Format: Format, LinksFrom: "rtnetlink", Links: []Link{{Name: "lo", StatsFrom: "stats64"}},
		SAs: []xfrmstat.SA{}, Policies: nil}
	s.Links = s.Tunnels()
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"links": [],`) || !strings.Contains(b.String(), `"sas": [],`) || !strings.Contains(b.String(), `"policies": null,`) {
		t.Errorf("document:\n%s", b.String())
	}
	got, err := Decode(&b)
	if err != nil || got.Links == nil || got.SAs == nil || got.Policies != nil {
		t.Errorf("%v %+v", err, got)
	}
}
