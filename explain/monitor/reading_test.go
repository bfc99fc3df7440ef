package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// richSnapshot is a hand-made snapshot that sets every kind of part: a
// tunnel with parameters, a MIB with a counter this version does not know,
// an SA, a policy, defaults, SPD and SAD info, an unread part.
func richSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	mib, err := procnet.ParseXfrmStat(strings.NewReader("XfrmInError             \t0\nXfrmOutNoStates         \t17\nXfrmFutureCounter       \t3\n"))
	if err != nil {
		t.Fatal(err)
	}
	local, remote := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("198.51.100.2")
	return &Snapshot{
		Format:        Format,
		Time:          time.Date(2025, 3, 1, 10, 0, 0, 123, time.UTC),
		NetNS:         "ts-x",
		KernelRelease: "6.1.0-31-cloud-amd64",
		LinksFrom:     "rtnetlink",
		Links: []Link{
			{Index: 1, Name: "lo", OperState: "unknown", MTU: 65536, LinkNetNSID: -1, StatsFrom: "stats64", Stats: Stats{RxPackets: 4, TxPackets: 4}},
			{Index: 7, Name: "vti0", Kind: "vti", Flags: 0x11, OperState: "up", MTU: 1480, ParentIndex: 2, LinkNetNSID: -1,
				StatsFrom: "stats64", Stats: Stats{TxPackets: 1000, TxErrors: 17, TxCarrierErrors: 17, RxOtherhostDropped: 1},
				Tunnel: &Tunnel{Local: local, Remote: remote, IKey: 16, OKey: 16, Link: 2}},
		},
		MIB: &MIB{*mib},
		SAs: []xfrmstat.SA{{Src: local, Dst: remote, SPI: 0x1000a, Proto: 50, Family: 2, Mode: xfrmstat.ModeTunnel, ReqID: 1,
			Mark: &xfrmstat.Mark{Value: 16, Mask: 0xffffffff}, Stats: xfrmstat.Stats{IntegrityFailed: 2},
			LifetimeCurrent: xfrmstat.LifetimeCurrent{Bytes: 1 << 40, Packets: 12, AddTime: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)},
			Crypt:           &xfrmstat.Algorithm{Name: "cbc(aes)", KeyBits: 256}}},
		Policies: []xfrmstat.Policy{{Dir: xfrmstat.DirOut, Mark: &xfrmstat.Mark{Value: 16, Mask: 0xffffffff},
			Selector:  xfrmstat.Selector{Src: netip.MustParsePrefix("0.0.0.0/0"), Dst: netip.MustParsePrefix("0.0.0.0/0"), Family: 2},
			Templates: []xfrmstat.Template{{Src: local, Dst: remote, Proto: 50, Mode: xfrmstat.ModeTunnel, Family: 2}}}},
		PolicyDefaults: &xfrmstat.PolicyDefaults{In: xfrmstat.DefaultAccept, Fwd: xfrmstat.DefaultAccept, Out: xfrmstat.DefaultBlock},
		SPDInfo:        &xfrmstat.SPDInfo{Out: 1, IndexHashMask: 7},
		SADInfo:        &xfrmstat.SADInfo{Count: 1, HashBuckets: 8},
		Unread:         []Unread{{Part: "kernel_release", Error: "test"}},
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := richSnapshot(t)
	var buf bytes.Buffer
	if err := s.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("decoded snapshot differs:\n got %+v\nwant %+v", got, s)
	}
	// The unknown counter survives, in file order.
	if v, ok := got.MIB.Counter("XfrmFutureCounter"); !ok || v != 3 {
		t.Errorf("XfrmFutureCounter = %d, %v", v, ok)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(compact.String(), `"xfrm_stat":{"XfrmInError":0,"XfrmOutNoStates":17,"XfrmFutureCounter":3}`) {
		t.Errorf("xfrm_stat not in file order:\n%s", compact.String())
	}
	// The same explanation from the decoded document.
	before := richSnapshot(t)
	before.Links[1].Stats.TxErrors, before.Links[1].Stats.TxCarrierErrors = 0, 0
	before.MIB.OutNoStates = 0
	want := explain.Explain(before.Reading(), s.Reading())
	have := explain.Explain(before.Reading(), got.Reading())
	if !reflect.DeepEqual(want, have) {
		t.Errorf("explain differs after the round trip:\n%v\n%v", want, have)
	}
	if f := want.Findings; len(f) == 0 || f[0].Interface != "vti0" || f[0].Cause != "tx-no-sa" || f[0].Count != 17 || f[0].Certainty != explain.Exact {
		t.Errorf("findings: %v, want vti0 tx-no-sa 17 exact first", want)
	}
}

// nil ("not read") and empty ("read, none") survive the round trip: explain
// treats them differently.
func TestSnapshotNilVersusEmpty(t *testing.T) {
	for _, sas := range [][]xfrmstat.SA{nil, {}} {
		s := &Snapshot{Format: Format, SAs: sas, Policies: []xfrmstat.Policy{}, MIB: &MIB{}}
		var buf bytes.Buffer
		if err := s.Encode(&buf); err != nil {
			t.Fatal(err)
		}
		got, err := Decode(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if (got.SAs == nil) != (sas == nil) || got.Policies == nil || got.Links != nil || got.MIB == nil {
			t.Errorf("SAs %#v → %#v, Policies %#v, Links %#v, MIB %v", sas, got.SAs, got.Policies, got.Links, got.MIB)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{`{"format":"other/v9"}`, `format is "other/v9"`},
		{`{"format":"tunnelstat.snapshot/v1","linkz":[]}`, `unknown field "linkz"`},
		{`{"format":"tunnelstat.snapshot/v1"`, `line 1, column 35: unexpected end of the document (truncated?)`},
		{`{"format":"tunnelstat.snapshot/v1","xfrm_stat":{"XfrmInError":-1}}`, `xfrm_stat`},
		{`{"format":"tunnelstat.snapshot/v1","xfrm_stat":{"Xfrm In":1}}`, `bad counter name`},
		{`{"format":"tunnelstat.snapshot/v1"} {}`, `data after the document`},
	} {
		_, err := Decode(strings.NewReader(tc.doc))
		if !errors.Is(err, ErrNotSnapshot) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotSnapshot and %q", tc.doc, err, tc.want)
		}
	}
}

func TestLoadLayouts(t *testing.T) {
	dev, err := os.ReadFile("testdata/captures/vm-6.1/after/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := os.ReadFile("testdata/captures/vm-6.1/after/vti0_statistics")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"a/dev":       {Data: dev},
		"a/osrelease": {Data: []byte("6.1.0-50-cloud-amd64\n")},
		// A copy of /sys/class/net/vti0/statistics: one file per field.
		"b/dev": {Data: dev},
	}
	for line := range strings.Lines(string(stats)) {
		f := strings.Fields(line)
		fsys["sys/vti0/statistics/"+f[0]] = &fstest.MapFile{Data: []byte(f[1] + "\n")}
	}
	s, err := Load(fsys, "a")
	if err != nil {
		t.Fatal(err)
	}
	if s.KernelRelease != "6.1.0-50-cloud-amd64" || s.MIB != nil || len(s.Links) != 4 || s.Links[3].StatsFrom != "proc/net/dev" {
		t.Errorf("dir a: %+v", s)
	}
	if _, ok := s.Unreadable("xfrm_stat"); !ok {
		t.Error("a reading without xfrm_stat does not say so")
	}
	s, err = Load(fsys, "b/dev", "sys/vti0/statistics")
	if err != nil {
		t.Fatal(err)
	}
	vti := s.Links[3]
	if vti.Name != "vti0" || vti.StatsFrom != "stats64" || vti.Stats.TxCarrierErrors != 5 || vti.Stats.TxAbortedErrors != 0 || s.KernelRelease != "" {
		t.Errorf("sysfs statistics dir: %+v, kernel %q", vti, s.KernelRelease)
	}
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{"a/dev", "b/dev"}, "a second /proc/net/dev"},
		{[]string{"sys/vti0/statistics"}, "no /proc/net/dev or snapshot document"},
		{[]string{"missing"}, "file does not exist"},
	} {
		if _, err := Load(fsys, tc.paths...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.paths, err, tc.want)
		}
	}
}

func TestLoadSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.json")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := richSnapshot(t).Encode(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := Load(nil, p)
	if err != nil || len(s.Links) != 2 || len(s.SAs) != 1 {
		t.Fatalf("%v %+v", err, s)
	}
	if _, err := Load(nil, p, "testdata/captures/vm-6.1/after/xfrm_stat"); err == nil || !strings.Contains(err.Error(), "give it alone") {
		t.Errorf("snapshot plus a capture: %v", err)
	}
}

func TestParseNetNS(t *testing.T) {
	for in, want := range map[string]NetNS{"": {}, "blue": {Name: "blue"}, "/proc/1/ns/net": {Path: "/proc/1/ns/net"}, "./x": {Path: "./x"}} {
		got, err := ParseNetNS(in)
		if err != nil || got != want {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
	if _, err := ParseNetNS(".."); err == nil {
		t.Error(`".." accepted`)
	}
}
