package monitor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/explain"
)

// goldenSnapshots are the documents in testdata/snapshots, written before
// this package existed (see testdata/README.md).
func goldenSnapshots(t *testing.T) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/snapshots/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 6 {
		t.Fatalf("%d golden snapshots, want 6 or more", len(paths))
	}
	docs := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(p)] = b
	}
	return docs
}

func decodeGolden(t *testing.T, name string) *Snapshot {
	t.Helper()
	f, err := os.Open("testdata/snapshots/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

// Every saved document keeps decoding, and encodes back byte for byte: the
// format does not drift.
func TestGoldenSnapshotsRoundTrip(t *testing.T) {
	for name, doc := range goldenSnapshots(t) {
		s, err := Decode(bytes.NewReader(doc))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		var out bytes.Buffer
		if err := s.Encode(&out); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), doc) {
			t.Errorf("%s: re-encoded document differs:\n%s", name, firstDiff(string(doc), out.String()))
		}
	}
}

// A field the format does not have, at the top or inside a part, is an
// error: a newer or misspelt document is refused, never half read.
func TestGoldenSnapshotsUnknownFields(t *testing.T) {
	for name, doc := range goldenSnapshots(t) {
		for where, edited := range map[string]string{
			"top":     strings.Replace(string(doc), "{", `{"bogus": 1,`, 1),
			"link":    strings.Replace(string(doc), `"name":`, `"bogus": 1, "name":`, 1),
			"unread":  strings.Replace(string(doc), `"part":`, `"bogus": 1, "part":`, 1),
			"version": strings.Replace(string(doc), Format, "tunnelstat.snapshot/v2", 1),
		} {
			if edited == string(doc) {
				continue // the document has no such part
			}
			_, err := Decode(strings.NewReader(edited))
			if !errors.Is(err, ErrNotSnapshot) {
				t.Errorf("%s with an unknown field (%s): %v, want ErrNotSnapshot", name, where, err)
			}
		}
	}
}

// The captures' documents are what Load makes of the captures today.
func TestGoldenSnapshotsFromCaptures(t *testing.T) {
	for name, paths := range map[string][]string{
		"capture-vm-6.1-before.json": {"testdata/captures/vm-6.1/before", "testdata/captures/vm-6.1/KERNEL"},
		"capture-vm-6.1-after.json":  {"testdata/captures/vm-6.1/after", "testdata/captures/vm-6.1/KERNEL"},
		"capture-vyos-seed003.json":  {"testdata/captures/vyos-seed003/proc_net_dev"},
	} {
		s, err := Load(nil, paths...)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := s.Encode(&out); err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile("testdata/snapshots/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != string(want) {
			t.Errorf("Load of %v differs from %s:\n%s", paths, name, firstDiff(string(want), out.String()))
		}
	}
}

// What the saved documents explain: the same as when they were written.
func TestGoldenSnapshotsExplain(t *testing.T) {
	first := func(rep explain.Report) string {
		if len(rep.Findings) == 0 {
			return "no finding"
		}
		f := rep.Findings[0]
		return f.Interface + " " + string(f.Cause) + " " + u64(f.Count) + " " + f.Certainty.String()
	}
	vm := explain.Explain(decodeGolden(t, "capture-vm-6.1-before.json").Reading(), decodeGolden(t, "capture-vm-6.1-after.json").Reading())
	if got := first(vm); got != "vti0 tx-no-sa 5 exact" {
		t.Errorf("VM capture: %s", got)
	}
	before, after := decodeGolden(t, "live-root-before-linux6.18.json"), decodeGolden(t, "live-root-after-linux6.18.json")
	live := explain.Explain(before.Reading(), after.Reading())
	if got := first(live); got != " tx-no-sa 3 exact" || len(live.Findings) != 1 {
		t.Errorf("live namespace: %s (%d findings)", got, len(live.Findings))
	}
	if len(after.SAs) != 1 || after.SAs[0].SPI == 0 || len(after.Policies) != 2 || after.PolicyDefaults == nil || after.LinksFrom != "rtnetlink" {
		t.Errorf("live namespace as root: %d SAs, %d policies, defaults %v, links from %q", len(after.SAs), len(after.Policies), after.PolicyDefaults, after.LinksFrom)
	}
	nobody := decodeGolden(t, "live-nobody-linux6.18.json")
	for _, part := range xfrmParts {
		if u, ok := nobody.Unreadable(part); !ok || u.Needs != "CAP_NET_ADMIN" || u.Err() != nil {
			t.Errorf("as nobody, %s: %+v, %v", part, u, ok)
		}
	}
	if nobody.MIB == nil || nobody.SAs != nil || nobody.Policies != nil || nobody.Reading().SAs != nil {
		t.Errorf("as nobody: MIB %v, SAs %v, policies %v", nobody.MIB != nil, nobody.SAs, nobody.Policies)
	}
	seed := decodeGolden(t, "capture-vyos-seed003.json")
	if _, ok := seed.Unreadable("xfrm_stat"); !ok || seed.MIB != nil || len(seed.Tunnels()) != 3 {
		t.Errorf("seed: unread %v, MIB %v, tunnels %v", seed.Unread, seed.MIB, seed.Tunnels())
	}
	if got := first(explain.Explain(nil, seed.Reading())); got != "vti0 tx-no-route 59 candidate" {
		t.Errorf("seed since boot: %s", got)
	}
}

func u64(v uint64) string { return strconv.FormatUint(v, 10) }

// firstDiff shows the first line that differs.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + u64(uint64(i+1)) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return "(same lines)"
}
