package explain

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/safetext"
)

// checkValues are the values a check template's placeholders take for one
// link. An empty value leaves a visible <name> placeholder.
type checkValues struct {
	dev, local, remote, okey, ikey, ifid, any, spiOut, spiIn, underlay string
	// peer is the public key of the WireGuard peer a finding names.
	peer string
}

// valuesFor gathers the link's values from its tunnel parameters, the SA
// list (for SPIs) and the other links (for the underlay's name).
func valuesFor(l *LinkReading, r *Reading, linkName func(int32) string, look *lookups) checkValues {
	v := checkValues{dev: l.Name}
	t := l.Tunnel
	if t == nil {
		return v
	}
	if t.Local.IsValid() && !t.Local.IsUnspecified() {
		v.local = t.Local.String()
	}
	if t.Remote.IsValid() && !t.Remote.IsUnspecified() {
		v.remote = t.Remote.String()
	}
	switch {
	case t.Remote.Is6() || t.Local.Is6():
		v.any = "::/0"
	case t.Remote.IsValid() || t.Local.IsValid():
		v.any = "0.0.0.0/0"
	}
	kind := l.Kind
	if kind == "" {
		kind = inferKind(l.Name)
	}
	if isIPsecKind(kind) {
		v.okey = fmt.Sprintf("0x%x", t.OKey)
		v.ikey = fmt.Sprintf("0x%x", t.IKey)
	}
	if kind == KindXfrm {
		v.ifid = fmt.Sprint(t.IfID)
	}
	if t.Link != 0 {
		v.underlay = linkName(int32(t.Link))
	}
	if r.SAs != nil && t.Local.IsValid() && t.Remote.IsValid() {
		v.spiOut = findSPI(r.SAs, look, t.Local, t.Remote, t.OKey)
		v.spiIn = findSPI(r.SAs, look, t.Remote, t.Local, t.IKey)
	}
	return v
}

// findSPI returns the SPI (as 0x%08x) of an ESP SA from src to dst whose
// mark matches, preferring tunnel mode; "" if none. look finds the SAs (a
// scan when nil).
func findSPI(sas []SA, look *lookups, src, dst netip.Addr, mark uint32) string {
	best := -1
	for i := range look.espSAs(sas, src, dst) {
		sa := &sas[i]
		if !markMatches(sa.Mark, mark) {
			continue
		}
		if best < 0 || (sa.Mode == ModeTunnel && sas[best].Mode != ModeTunnel) {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return fmt.Sprintf("0x%08x", sas[best].SPI)
}

// fill replaces a template's placeholders: in the command with each value
// as one POSIX shell word (safetext.Shell), in the reason as a name to read
// (safetext.Name).
func (v *checkValues) fill(t CheckTemplate) Check {
	var missing []string
	repl := func(s string, form func(string) string) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(s, '{')
			if i < 0 {
				b.WriteString(s)
				return b.String()
			}
			j := strings.IndexByte(s[i:], '}')
			if j < 0 {
				b.WriteString(s)
				return b.String()
			}
			b.WriteString(s[:i])
			name := s[i+1 : i+j]
			val, known := v.lookup(name)
			if !known {
				b.WriteString(s[i : i+j+1])
			} else if val == "" {
				b.WriteString("<" + name + ">")
				if !slices.Contains(missing, name) {
					missing = append(missing, name)
				}
			} else {
				b.WriteString(form(val))
			}
			s = s[i+j+1:]
		}
	}
	return Check{Command: repl(t.Command, safetext.Shell), Why: repl(t.Why, safetext.Name), Placeholders: missing}
}

func (v *checkValues) lookup(name string) (string, bool) {
	switch name {
	case "dev":
		return v.dev, true
	case "local":
		return v.local, true
	case "remote":
		return v.remote, true
	case "okey":
		return v.okey, true
	case "ikey":
		return v.ikey, true
	case "ifid":
		return v.ifid, true
	case "any":
		return v.any, true
	case "spi_out":
		return v.spiOut, true
	case "spi_in":
		return v.spiIn, true
	case "underlay":
		return v.underlay, true
	case "peer":
		return v.peer, true
	}
	return "", false
}
