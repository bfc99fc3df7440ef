package monitor

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// ErrUnrecognised is wrapped by Load's error when a file is none of the
// inputs Load knows.
var ErrUnrecognised = errors.New("not a recognised reading")

// LoadHelp says what Load accepts, for help texts.
const LoadHelp = `A reading is one of:
  - a snapshot document written by "tunnelstat snapshot" (JSON);
  - a copy of /proc/net/dev, optionally with a copy of /proc/net/xfrm_stat
    (give both: the type of each file is recognised by its content);
  - a directory holding such copies, named dev or proc_net_dev, and
    xfrm_stat; optionally osrelease (a copy of /proc/sys/kernel/osrelease)
    and IFNAME_statistics files ("name value" lines of
    /sys/class/net/IFNAME/statistics/*, every field apart, like stats64).`

// Load reads one reading from files: a snapshot document, or raw captures
// of one namespace taken together (see LoadHelp). Each file's type is
// recognised by its content, so the paths may come in any order.
//
// fsys is where the paths are opened; nil opens them on the host, as given
// on a command line (absolute, or relative to the working directory).
//
// Raw captures make a Snapshot without a time, with LinksFrom
// "proc/net/dev" and every link's StatsFrom "proc/net/dev", unless an
// IFNAME_statistics file gave that link stats64; without xfrm_stat, Unread
// says so. The kernel release is that of an osrelease (or the VM rig's
// KERNEL) file among them, else unknown: set KernelRelease when you know
// it, so that explain picks the kernel's meanings.
func Load(fsys fs.FS, paths ...string) (*Snapshot, error) {
	if len(paths) == 0 {
		return nil, errors.New("no file given")
	}
	if fsys == nil {
		fsys = hostFS{}
	}
	l := loader{fsys: fsys}
	for _, p := range paths {
		if err := l.add(p); err != nil {
			return nil, err
		}
	}
	snap, err := l.finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
	}
	return snap, nil
}

// hostFS opens host paths as given, absolute or relative.
type hostFS struct{}

func (hostFS) Open(name string) (fs.File, error) { return os.Open(name) }

type loader struct {
	fsys     fs.FS
	snap     *Snapshot
	snapFrom string
	dev      []procnet.DevStats
	devFrom  string
	mib      *procnet.XfrmStat
	mibFrom  string
	release  string
	sysfs    []sysfsStats
}

type sysfsStats struct {
	iface string
	from  string
	stats Stats
}

func (l *loader) add(name string) error {
	st, err := fs.Stat(l.fsys, name)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return l.addFile(name)
	}
	entries, err := fs.ReadDir(l.fsys, name)
	if err != nil {
		return err
	}
	// A copy of /sys/class/net/IFNAME/statistics: one file per field.
	if slices.ContainsFunc(entries, func(e fs.DirEntry) bool { return e.Name() == "tx_carrier_errors" }) {
		return l.addStatsDir(name, entries)
	}
	for _, e := range entries {
		p := path.Join(name, e.Name())
		if e.IsDir() {
			return fmt.Errorf("%s: a reading directory holds files only (is this a directory of several readings? give one)", p)
		}
		if err := l.addFile(p); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) addFile(name string) error {
	data, err := fs.ReadFile(l.fsys, name)
	if err != nil {
		return err
	}
	base := path.Base(name)
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	switch {
	case base == "osrelease":
		l.release = strings.TrimSpace(string(data))
		return nil
	case base == "KERNEL": // the VM rig's description of a kernel
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "release:"); ok {
				l.release = strings.TrimSpace(v)
			}
		}
		return nil
	case bytes.HasPrefix(trimmed, []byte("{")):
		s, err := Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if l.snap != nil {
			return fmt.Errorf("%s: a second snapshot for the same reading (the first was %s)", name, l.snapFrom)
		}
		l.snap, l.snapFrom = s, name
		return nil
	case bytes.HasPrefix(data, []byte("Inter-|")):
		devs, err := procnet.ParseNetDev(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if l.dev != nil {
			return fmt.Errorf("%s: a second /proc/net/dev for the same reading (the first was %s)", name, l.devFrom)
		}
		l.dev, l.devFrom = devs, name
		return nil
	case bytes.HasPrefix(data, []byte("Xfrm")):
		mib, err := procnet.ParseXfrmStat(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if l.mib != nil {
			return fmt.Errorf("%s: a second xfrm_stat for the same reading (the first was %s)", name, l.mibFrom)
		}
		l.mib, l.mibFrom = mib, name
		return nil
	case strings.HasSuffix(base, "_statistics"):
		s, err := parseStatsLines(name, data)
		if err != nil {
			return err
		}
		l.sysfs = append(l.sysfs, sysfsStats{iface: strings.TrimSuffix(base, "_statistics"), from: name, stats: s})
		return nil
	}
	return fmt.Errorf("%s: %w: expected a snapshot document (JSON), a copy of /proc/net/dev (starts with \"Inter-|\"), of /proc/net/xfrm_stat (starts with \"Xfrm\"), or an IFNAME_statistics file", name, ErrUnrecognised)
}

// parseStatsLines reads "name value" lines: the files of
// /sys/class/net/IFNAME/statistics, one per line.
func parseStatsLines(name string, data []byte) (Stats, error) {
	var s Stats
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return s, fmt.Errorf("%s:%d: want \"name value\", got %q", name, n, line)
		}
		p := s.field(f[0])
		if p == nil {
			return s, fmt.Errorf("%s:%d: %q is not a field of rtnl_link_stats64", name, n, f[0])
		}
		if seen[f[0]] {
			return s, fmt.Errorf("%s:%d: %s listed twice", name, n, f[0])
		}
		seen[f[0]] = true
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return s, fmt.Errorf("%s:%d: %s: %w", name, n, f[0], err)
		}
		*p = v
	}
	if len(seen) == 0 {
		return s, fmt.Errorf("%s: no counters", name)
	}
	return s, sc.Err()
}

func (l *loader) addStatsDir(name string, entries []fs.DirEntry) error {
	var text []byte
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		v, err := fs.ReadFile(l.fsys, path.Join(name, e.Name()))
		if err != nil {
			return err
		}
		text = fmt.Appendf(text, "%s %s\n", e.Name(), bytes.TrimSpace(v))
	}
	s, err := parseStatsLines(name, text)
	if err != nil {
		return err
	}
	iface := path.Base(path.Dir(path.Clean(name)))
	l.sysfs = append(l.sysfs, sysfsStats{iface: iface, from: name, stats: s})
	return nil
}

func (l *loader) finish() (*Snapshot, error) {
	if l.snap != nil {
		if l.dev != nil || l.mib != nil || len(l.sysfs) > 0 {
			return nil, fmt.Errorf("a snapshot document (%s) is a whole reading: give it alone", l.snapFrom)
		}
		if l.release != "" {
			l.snap.KernelRelease = l.release
		}
		return l.snap, nil
	}
	if l.dev == nil {
		if l.mib != nil {
			return nil, errors.New("xfrm_stat alone is not a reading: give the /proc/net/dev taken with it too")
		}
		return nil, errors.New("no /proc/net/dev or snapshot document among the files")
	}
	s := &Snapshot{Format: Format, KernelRelease: l.release, LinksFrom: "proc/net/dev"}
	s.Links = make([]Link, len(l.dev))
	for i := range l.dev {
		s.Links[i] = linkFromProcNetDev(&l.dev[i])
	}
	for _, st := range l.sysfs {
		i := slices.IndexFunc(s.Links, func(k Link) bool { return k.Name == st.iface })
		if i < 0 {
			return nil, fmt.Errorf("%s: interface %s is not in %s", st.from, st.iface, l.devFrom)
		}
		// sysfs statistics are dev_get_stats: the same struct, every field
		// apart, as rtnetlink's stats64.
		s.Links[i].Stats = st.stats
		s.Links[i].StatsFrom = "stats64"
	}
	if l.mib != nil {
		s.MIB = &MIB{*l.mib}
	} else {
		s.Unread = append(s.Unread, Unread{Part: "xfrm_stat", Error: "no copy of /proc/net/xfrm_stat was given"})
	}
	return s, nil
}
