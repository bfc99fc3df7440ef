package monitor

import (
	"bytes"
	"os"
	"testing"
	"testing/fstest"
)

// FuzzDecode: any input is a snapshot or an error wrapping ErrNotSnapshot;
// a snapshot encodes and decodes back to itself. Seeded with a real
// capture turned into a snapshot and a hand-made rich one.
func FuzzDecode(f *testing.F) {
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
