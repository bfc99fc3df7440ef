package monitor

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzDecode: any input is a snapshot or a *DecodeError (wrapping
// ErrNotSnapshot) that points inside the input; a snapshot encodes and
// decodes back to itself. Seeded with a real capture turned into a
// snapshot, a hand-made rich one and the golden documents.
func FuzzDecode(f *testing.F) {
	if paths, _ := filepath.Glob("testdata/snapshots/*.json"); len(paths) > 0 {
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	var buf bytes.Buffer
	if err := richSnapshot(&testing.T{}).Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	real, err := Load(nil, "testdata/captures/vm-6.1/after", "testdata/captures/vm-6.1/KERNEL")
	if err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	if err := real.Encode(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"tunnelstat.snapshot/v1","xfrm_stat":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Decode(bytes.NewReader(data))
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrNotSnapshot) {
				t.Fatalf("%v: not a *DecodeError wrapping ErrNotSnapshot", err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; de.Line < 1 || de.Line > lines || de.Column < 1 {
				t.Fatalf("%v: line %d column %d, outside the input's %d lines", err, de.Line, de.Column, lines)
			}
			return
		}
		var out bytes.Buffer
		if err := s.Encode(&out); err != nil {
			t.Fatalf("encode of a decoded snapshot: %v", err)
		}
		if _, err := Decode(&out); err != nil {
			t.Fatalf("re-decode: %v\n%s", err, out.Bytes())
		}
		_ = s.Reading()
	})
}

// FuzzLoadFile: any file content is recognised or refused, never a panic.
// Seeded with the real captures.
func FuzzLoadFile(f *testing.F) {
	for _, p := range []string{"vyos-seed003/proc_net_dev", "vm-6.1/after/xfrm_stat", "vm-6.1/after/vti0_statistics", "vm-6.1/KERNEL"} {
		b, err := os.ReadFile("testdata/captures/" + p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("x", b)
		f.Add("vti0_statistics", b)
	}
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		if name == "" || name == "." || bytes.ContainsAny([]byte(name), "/\x00") {
			return
		}
		fsys := fstest.MapFS{name: {Data: data}}
		s, err := Load(fsys, name)
		if err == nil {
			_ = s.Reading()
		}
	})
}

// FuzzLoadDir: a directory of captures (a /proc/net/dev copy, an
// xfrm_stat copy and one more file) loads or is refused, never a panic;
// LoadReading gives what Load's Snapshot's Reading gives, or the same
// refusal. Seeded with the real captures.
func FuzzLoadDir(f *testing.F) {
	read := func(p string) []byte {
		b, err := os.ReadFile("testdata/captures/" + p)
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	dev, mib, stats, kernel := read("vm-6.1/after/proc_net_dev"), read("vm-6.1/after/xfrm_stat"), read("vm-6.1/after/vti0_statistics"), read("vm-6.1/KERNEL")
	f.Add(dev, mib, "vti0_statistics", stats)
	f.Add(dev, mib, "KERNEL", kernel)
	f.Add(read("vyos-seed003/proc_net_dev"), []byte{}, "osrelease", []byte("5.4.0\n"))
	f.Add(dev, []byte(nil), "eth0_statistics", []byte("tx_errors 1\n"))
	f.Fuzz(func(t *testing.T, dev, mib []byte, name string, extra []byte) {
		fsys := fstest.MapFS{"r/dev": {Data: dev}}
		if mib != nil {
			fsys["r/xfrm_stat"] = &fstest.MapFile{Data: mib}
		}
		if name != "" && fs.ValidPath("r/"+name) && !strings.Contains(name, "/") && name != "dev" && name != "xfrm_stat" {
			fsys["r/"+name] = &fstest.MapFile{Data: extra}
		}
		l := &Loader{FS: fsys}
		s, err := l.Load(t.Context(), "r")
		r, rerr := l.LoadReading(t.Context(), "r")
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Load: %v; LoadReading: %v", err, rerr)
		}
		if err != nil {
			return
		}
		if want := s.Reading(); !reflect.DeepEqual(r, want) {
			t.Fatalf("LoadReading\n%+v\nLoad().Reading()\n%+v", r, want)
		}
		var out bytes.Buffer
		if err := s.Encode(&out); err != nil {
			t.Fatal(err)
		}
	})
}
