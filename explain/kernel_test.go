package explain

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseKernelRelease(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want KernelVersion
	}{
		{"6.1.0-31-cloud-amd64", KernelVersion{6, 1, 0}},
		{"5.10.0-33-amd64", KernelVersion{5, 10, 0}},
		{"6.12.12+deb13-cloud-amd64", KernelVersion{6, 12, 12}},
		{"4.14.0-vyos", KernelVersion{4, 14, 0}},
		{"6.18.44-fc-v769", KernelVersion{6, 18, 44}},
		{"6.8", KernelVersion{6, 8, 0}},
		{"6.10-rc3", KernelVersion{6, 10, 0}},
		{"3.13.0-170-generic\n", KernelVersion{3, 13, 0}},
		{"5.15.167.4-microsoft-standard-WSL2", KernelVersion{5, 15, 167}},
	} {
		got, err := ParseKernelRelease(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseKernelRelease(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "linux", "6", "6-rc1", ".1.2", "0.1.2", "6.x", "99999999.1"} {
		if v, err := ParseKernelRelease(bad); err == nil || !errors.Is(err, ErrKernelRelease) {
			t.Errorf("ParseKernelRelease(%q) = %v, %v; want ErrKernelRelease", bad, v, err)
		}
	}
	v := KernelVersion{5, 10, 0}
	if !v.AtLeast(5, 5) || v.AtLeast(5, 12) || !v.Less(KernelVersion{5, 12, 0}) || (KernelVersion{}).Known() {
		t.Error("comparisons")
	}
	b, _ := json.Marshal(v)
	var back KernelVersion
	if string(b) != `"5.10.0"` || json.Unmarshal(b, &back) != nil || back != v {
		t.Errorf("JSON %s → %v", b, back)
	}
}

func FuzzParseKernelRelease(f *testing.F) {
	for _, s := range []string{"6.1.0-31-cloud-amd64", "5.10.0-33-amd64", "6.12.12+deb13-cloud-amd64", "4.14.0-vyos", "6.8", "", "6.", "1.2.3.4.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseKernelRelease(s)
		if err != nil {
			if !errors.Is(err, ErrKernelRelease) || v.Known() {
				t.Fatalf("%q: %v %v", s, v, err)
			}
			return
		}
		if !v.Known() || v.Minor < 0 || v.Patch < 0 || v.Major > 999999 {
			t.Fatalf("%q: %v", s, v)
		}
		// The version printed parses back to itself.
		w, err := ParseKernelRelease(v.String())
		if err != nil || w != v {
			t.Fatalf("%q: %v reparsed as %v, %v", s, v, w, err)
		}
	})
}
