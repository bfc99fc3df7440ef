package vmtest

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a kernel version: major.minor.patch.
type Version struct {
	Major, Minor, Patch int
}

// ParseVersion parses "5.10", "6.1.0" or a kernel release such as
// "6.12.107+deb13-cloud-amd64" (everything from the first character that is
// neither a digit nor a dot on is ignored). Missing fields are zero.
func ParseVersion(s string) (Version, error) {
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		s = s[:end]
	}
	fields := strings.Split(s, ".")
	if s == "" || len(fields) > 3 {
		return Version{}, fmt.Errorf("vmtest: kernel version %q: want major[.minor[.patch]]", s)
	}
	var v [3]int
	for i, f := range fields {
		n, err := strconv.ParseUint(f, 10, 16)
		if err != nil {
			return Version{}, fmt.Errorf("vmtest: kernel version %q: field %d (%q) is not a number below 65536", s, i+1, f)
		}
		v[i] = int(n)
	}
	return Version{Major: v[0], Minor: v[1], Patch: v[2]}, nil
}

// Less reports whether v is older than w.
func (v Version) Less(w Version) bool {
	if v.Major != w.Major {
		return v.Major < w.Major
	}
	if v.Minor != w.Minor {
		return v.Minor < w.Minor
	}
	return v.Patch < w.Patch
}

func (v Version) String() string {
	return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// kernelVersionFrom returns the kernel version from uname's release and
// version fields. Debian's releases say "6.1.0-50-cloud-amd64" for 6.1.176:
// the real patch level is only in the version field ("#1 SMP ... Debian
// 6.1.176-1 (...)"), so that one wins when present.
func kernelVersionFrom(release, version string) (Version, error) {
	v, err := ParseVersion(release)
	if err != nil {
		return Version{}, err
	}
	if _, rest, ok := strings.Cut(version, " Debian "); ok {
		if dv, err := ParseVersion(rest); err == nil && dv.Major == v.Major && dv.Minor == v.Minor {
			return dv, nil
		}
	}
	return v, nil
}
