package explain

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// KernelVersion is a mainline kernel version: major.minor.patch. The zero
// value means "unknown".
//
// Distribution kernels name their release after the mainline version they
// are built from, with a suffix of their own: "6.1.0-31-cloud-amd64"
// (Debian 12: its patch field is an ABI number, the real stable release is
// 6.1.12x), "5.10.0-33-amd64", "6.12.12+deb13-cloud-amd64", "4.14.0-vyos".
// Only major and minor decide which kernel code paths exist; stable
// releases backport fixes, so a version boundary that a fix crossed is
// treated as uncertain near it (see kernel-version-dependent).
type KernelVersion struct {
	Major, Minor, Patch int
}

// Known reports whether v holds a version.
func (v KernelVersion) Known() bool { return v.Major > 0 }

// Less reports whether v is an older release than w (patch included).
func (v KernelVersion) Less(w KernelVersion) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

// AtLeast reports whether v is major.minor or newer.
func (v KernelVersion) AtLeast(major, minor int) bool {
	return !v.Less(KernelVersion{Major: major, Minor: minor})
}

// String returns "6.1.0", or "unknown" for the zero value. A version with a
// zero patch level from the catalogue prints as "6.10".
func (v KernelVersion) String() string {
	if !v.Known() {
		return "unknown"
	}
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
}

// MarshalJSON encodes v as "major.minor.patch", or "" when unknown.
func (v KernelVersion) MarshalJSON() ([]byte, error) {
	if !v.Known() {
		return []byte(`""`), nil
	}
	return json.Marshal(v.String())
}

// UnmarshalJSON accepts what MarshalJSON writes, or any kernel release.
func (v *KernelVersion) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == "" {
		*v = KernelVersion{}
		return nil
	}
	k, err := ParseKernelRelease(s)
	if err != nil {
		return err
	}
	*v = k
	return nil
}

// ErrKernelRelease is wrapped by every error of ParseKernelRelease.
var ErrKernelRelease = errors.New("explain: cannot parse kernel release")

// ParseKernelRelease reads the mainline version at the start of a kernel
// release string (uname -r, /proc/sys/kernel/osrelease): "6.1.0-31-cloud-amd64"
// gives 6.1.0, "6.12.12+deb13-cloud-amd64" gives 6.12.12, "4.14.0-vyos"
// gives 4.14.0, "6.8" gives 6.8.0. Whatever follows the numbers (a "-", "+",
// "_" or "." and a suffix) is ignored. A trailing newline is accepted.
//
// Errors wrap ErrKernelRelease and name the offending byte offset.
func ParseKernelRelease(release string) (KernelVersion, error) {
	s := release
	if n := len(s); n > 0 && s[n-1] == '\n' {
		s = s[:n-1]
	}
	var parts [3]int
	i := 0
	for field := 0; field < 3; field++ {
		start := i
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start >= 6 { // no kernel has a 7-digit version field
				return KernelVersion{}, fmt.Errorf("%w %q: number too long at offset %d", ErrKernelRelease, truncate(release), start)
			}
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == start {
			if field < 2 {
				return KernelVersion{}, fmt.Errorf("%w %q: expected a number at offset %d", ErrKernelRelease, truncate(release), i)
			}
			break // "6.1" or "6.1-rc2": no patch level
		}
		parts[field] = n
		if field == 2 || i >= len(s) || s[i] != '.' {
			if field == 0 {
				return KernelVersion{}, fmt.Errorf("%w %q: expected \".\" after the major version at offset %d", ErrKernelRelease, truncate(release), i)
			}
			break
		}
		i++ // the '.'
	}
	v := KernelVersion{Major: parts[0], Minor: parts[1], Patch: parts[2]}
	if v.Major == 0 {
		return KernelVersion{}, fmt.Errorf("%w %q: major version 0", ErrKernelRelease, truncate(release))
	}
	return v, nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
