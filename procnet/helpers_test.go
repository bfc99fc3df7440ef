package procnet

import (
	"strconv"
	"unsafe"

	"github.com/tunnelstat/tunnelstat/internal/proctext"
)

func itoa(n int) string               { return strconv.Itoa(n) }
func quoteText(s string) string       { return strconv.Quote(s) }
func unsafeStringData(s string) *byte { return unsafe.StringData(s) }

// appendNetDev parses /proc/net/dev bytes into dst's storage: the path
// NetDevReader.Read takes, without the file.
func appendNetDev(dst []DevStats, data []byte) ([]DevStats, error) {
	return parseNetDev(dst, data, "net/dev")
}

// unmarshalText parses /proc/net/xfrm_stat bytes into s: the path
// XfrmStatReader.Read takes, without the file.
func (s *XfrmStat) unmarshalText(data []byte) error {
	return s.parse(data, "net/xfrm_stat")
}

// has reports whether s contains the counter.
func (s *XfrmStat) has(name string) bool {
	_, ok := s.Counter(name)
	return ok
}

// netDevText writes stats in the kernel's /proc/net/dev layout.
func netDevText(stats []DevStats) []byte {
	b := proctext.AppendNetDevHeader(nil)
	for i := range stats {
		b = proctext.AppendNetDevLine(b, stats[i].Name, stats[i].All())
	}
	return b
}

// xfrmStatText writes s in the kernel's /proc/net/xfrm_stat layout.
func xfrmStatText(s *XfrmStat) []byte {
	return proctext.AppendXfrmStat(nil, s.All())
}
