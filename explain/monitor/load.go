package monitor

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
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

// DefaultMaxBytes is how much Loader reads of one reading's files,
// together, unless told otherwise: 64 MiB. That is some 500 000
// interfaces in a copy of /proc/net/dev (about 130 bytes a line as the
// kernel prints it), or a snapshot document of some 15 000 tunnels with an
// SA and a policy each (4 KB a tunnel); and it keeps what a made-up file
// can cost bounded (see Loader).
const DefaultMaxBytes = 64 << 20

// ErrTooLarge is wrapped by Loader's error when a reading's files are
// larger than its MaxBytes.
var ErrTooLarge = errors.New("larger than the input limit")

// Loader reads readings from files, within limits: Load reads every path
// given through it. The zero value reads host files, at most
// DefaultMaxBytes.
//
// Every file is opened without blocking (a named pipe, a device, a socket
// is refused at once, never waited on) and must be a regular file, or a
// directory of them; it is read until MaxBytes, and as its type is
// recognised from its first bytes, a file that is none of the inputs Load
// knows is refused after those. The context is checked while reading and
// decoding: a cancelled one ends Load with its error.
//
// Memory: LoadReading takes some 420 bytes per interface of a
// /proc/net/dev copy (Load's Snapshot some 330 more), and Decode bounds
// what a document's elements take by the document's size; so a load stays
// within a small multiple of its files (TestLoadMemoryBound checks it;
// HARDENING.md has the figures).
type Loader struct {
	// FS is where paths are opened; nil opens them on the host, as given
	// on a command line (absolute, or relative to the working directory).
	FS fs.FS
	// MaxBytes bounds the bytes read of one reading's files together; 0
	// is DefaultMaxBytes.
	MaxBytes int64
	// Stdin, when not nil, is read for the path "-".
	Stdin io.Reader
}

// Load reads one reading from files: a snapshot document, or raw captures
// of one namespace taken together (see LoadHelp). Each file's type is
// recognised by its content, so the paths may come in any order.
//
// Raw captures make a Snapshot without a time, with LinksFrom
// "proc/net/dev" and every link's StatsFrom "proc/net/dev", unless an
// IFNAME_statistics file gave that link stats64; without xfrm_stat, Unread
// says so. The kernel release is that of an osrelease (or the VM rig's
// KERNEL) file among them, else unknown: set KernelRelease when you know
// it, so that explain picks the kernel's meanings. Interface names must be
// names the kernel gives (see Decode).
func (l *Loader) Load(ctx context.Context, paths ...string) (*Snapshot, error) {
	st, err := l.load(ctx, paths)
	if err != nil {
		return nil, err
	}
	snap, err := st.finish()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
	}
	return snap, nil
}

// load reads every file.
func (l *Loader) load(ctx context.Context, paths []string) (*loader, error) {
	if len(paths) == 0 {
		return nil, errors.New("no file given")
	}
	st := loader{ctx: ctx, fsys: l.FS, left: l.MaxBytes, limit: l.MaxBytes, stdin: l.Stdin}
	if st.fsys == nil {
		st.fsys = hostFS{}
	}
	if st.limit <= 0 {
		st.limit, st.left = DefaultMaxBytes, DefaultMaxBytes
	}
	for _, p := range paths {
		if err := st.add(p); err != nil {
			return nil, err
		}
	}
	return &st, nil
}

// LoadReading reads one reading as Load does and returns it as explain's
// input: what Load's Snapshot.Reading returns, in less memory. From raw
// captures it goes straight from the /proc/net/dev lines to explain's
// links (some 420 bytes an interface rather than 750).
func (l *Loader) LoadReading(ctx context.Context, paths ...string) (*explain.Reading, error) {
	st, err := l.load(ctx, paths)
	if err != nil {
		return nil, err
	}
	r, err := st.reading()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(paths, ", "), err)
	}
	return r, nil
}

// Load reads one reading from files, as a Loader with FS fsys does, with
// no context and the default limit.
func Load(fsys fs.FS, paths ...string) (*Snapshot, error) {
	return (&Loader{FS: fsys}).Load(context.Background(), paths...)
}

// hostFS opens host paths as given, absolute or relative, without
// blocking (see openHost).
type hostFS struct{}

func (hostFS) Open(name string) (fs.File, error) { return openHost(name) }

// stdinName is how standard input ("-") is named in messages.
const stdinName = "standard input"

type loader struct {
	ctx         context.Context
	fsys        fs.FS
	stdin       io.Reader
	stdinRead   bool
	limit, left int64
	snap        *Snapshot
	snapFrom    string
	dev         []procnet.DevStats
	devFrom     string
	mib         *procnet.XfrmStat
	mibFrom     string
	release     string
	sysfs       []sysfsStats
}

type sysfsStats struct {
	iface string
	from  string
	stats Stats
	link  int // the index of iface in dev
}

// open opens a file or directory and refuses anything else.
func (l *loader) open(name string) (fs.File, fs.FileInfo, error) {
	if err := l.ctx.Err(); err != nil {
		return nil, nil, err
	}
	f, err := l.fsys.Open(name)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if m := info.Mode(); !m.IsRegular() && !m.IsDir() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: name, Err: notRegular(m)}
	}
	return f, info, nil
}

// notRegular says what a file is that is not a reading.
func notRegular(m fs.FileMode) error {
	what := "not a regular file"
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		what = "a socket"
	case t&fs.ModeCharDevice != 0:
		what = "a character device"
	case t&fs.ModeDevice != 0:
		what = "a block device"
	case t&fs.ModeSymlink != 0:
		what = "a symbolic link"
	}
	return fmt.Errorf("%s, not a regular file: a reading is a saved copy (cp /proc/net/dev FILE), a snapshot document, or a directory of them", what)
}

func (l *loader) add(name string) error {
	if name == "-" && l.stdin != nil {
		if l.stdinRead {
			return errors.New("standard input (-) given twice")
		}
		l.stdinRead = true
		return l.addFile(stdinName, "", l.stdin, -1)
	}
	f, info, err := l.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if !info.IsDir() {
		return l.addFile(name, path.Base(name), f, info.Size())
	}
	entries, err := readDir(f, name)
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
		if err := l.addEntry(p); err != nil {
			return err
		}
	}
	return nil
}

// readDir lists an open directory, sorted by name.
func readDir(f fs.File, name string) ([]fs.DirEntry, error) {
	d, ok := f.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not implemented")}
	}
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, nil
}

// addEntry reads one file of a directory.
func (l *loader) addEntry(name string) error {
	f, info, err := l.open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if info.IsDir() {
		return fmt.Errorf("%s: a reading directory holds files only (is this a directory of several readings? give one)", name)
	}
	return l.addFile(name, path.Base(name), f, info.Size())
}

// reader returns r bounded by what is left of the limit, checking the
// context as it reads.
func (l *loader) reader(name string, r io.Reader, size int64) (io.Reader, error) {
	switch {
	case size > l.left && l.left == l.limit:
		return nil, fmt.Errorf("%s: %w: %s, more than the %s allowed for one reading", name, ErrTooLarge, byteSize(size), byteSize(l.limit))
	case size > l.left:
		return nil, fmt.Errorf("%s: %w: %s, more than the %s left of the %s allowed for one reading", name, ErrTooLarge, byteSize(size), byteSize(l.left), byteSize(l.limit))
	}
	return &limitedReader{l: l, name: name, r: r}, nil
}

// limitedReader reads through the loader's limit and context.
type limitedReader struct {
	l    *loader
	name string
	r    io.Reader
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	if err := lr.l.ctx.Err(); err != nil {
		return 0, err
	}
	if lr.l.left <= 0 {
		// One more byte tells a file that ends at the limit from a longer one.
		var one [1]byte
		if n, err := lr.r.Read(one[:]); n == 0 && err != nil {
			return 0, err
		}
		return 0, fmt.Errorf("%w: more than the %s allowed for one reading", ErrTooLarge, byteSize(lr.l.limit))
	}
	if int64(len(p)) > lr.l.left {
		p = p[:lr.l.left]
	}
	if len(p) > 1<<20 {
		p = p[:1<<20] // check the context at least every MiB
	}
	n, err := lr.r.Read(p)
	lr.l.left -= int64(n)
	return n, err
}

// byteSize writes n for a person: 64 MiB, 1.5 GiB, 100 bytes.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + " GiB"
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// readAllSized reads r to its end into one buffer of the size the file
// says (and one byte more, to see the end), so that reading a large
// document does not copy it as it grows; size < 0 when unknown.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size < 0 || size > 1<<40 {
		return io.ReadAll(r)
	}
	buf := make([]byte, 0, size+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)] // the file grew
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// sniffBytes is how much of a file is looked at to recognise it.
const sniffBytes = 4 << 10

// addFile recognises one file by its name (base, "" for standard input)
// and first bytes, and reads the rest only if it is a reading's.
func (l *loader) addFile(name, base string, f io.Reader, size int64) error {
	r, err := l.reader(name, f, size)
	if err != nil {
		return err
	}
	br := bufio.NewReaderSize(r, sniffBytes)
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("%s: %w", name, err)
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	readAll := func() ([]byte, error) {
		data, err := readAllSized(br, size)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return data, nil
	}
	switch {
	case base == "osrelease":
		data, err := readAll()
		if err != nil {
			return err
		}
		l.release = strings.TrimSpace(string(data))
		return nil
	case base == "KERNEL": // the VM rig's description of a kernel
		data, err := readAll()
		if err != nil {
			return err
		}
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "release:"); ok {
				l.release = strings.TrimSpace(v)
			}
		}
		return nil
	case bytes.HasPrefix(trimmed, []byte("{")):
		data, err := readAll()
		if err != nil {
			return err
		}
		s, err := decodeSnapshot(l.ctx, data)
		if err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.File = name
				return de
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		if l.snap != nil {
			return fmt.Errorf("%s: a second snapshot for the same reading (the first was %s)", name, l.snapFrom)
		}
		l.snap, l.snapFrom = s, name
		return nil
	case bytes.HasPrefix(head, []byte("Inter-|")):
		if l.dev != nil {
			return fmt.Errorf("%s: a second /proc/net/dev for the same reading (the first was %s)", name, l.devFrom)
		}
		devs, err := procnet.ParseNetDev(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if devs == nil {
			devs = []procnet.DevStats{}
		}
		l.dev, l.devFrom = devs, name
		return nil
	case bytes.HasPrefix(head, []byte("Xfrm")):
		if l.mib != nil {
			return fmt.Errorf("%s: a second xfrm_stat for the same reading (the first was %s)", name, l.mibFrom)
		}
		mib, err := procnet.ParseXfrmStat(br)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		l.mib, l.mibFrom = mib, name
		return nil
	case strings.HasSuffix(base, "_statistics"):
		data, err := readAll()
		if err != nil {
			return err
		}
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
		v, err := l.readSmall(path.Join(name, e.Name()))
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

// readSmall reads a whole file of a statistics directory.
func (l *loader) readSmall(name string) ([]byte, error) {
	f, info, err := l.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info.IsDir() {
		return nil, fmt.Errorf("%s: a directory, where a counter's file should be", name)
	}
	r, err := l.reader(name, f, info.Size())
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// check says whether the files make one reading, and finds the links the
// statistics files are for.
func (l *loader) check() error {
	if l.snap != nil {
		if l.dev != nil || l.mib != nil || len(l.sysfs) > 0 {
			return fmt.Errorf("a snapshot document (%s) is a whole reading: give it alone", l.snapFrom)
		}
		if l.release != "" {
			l.snap.KernelRelease = l.release
		}
		return nil
	}
	if l.dev == nil {
		if l.mib != nil {
			return errors.New("xfrm_stat alone is not a reading: give the /proc/net/dev taken with it too")
		}
		return errors.New("no /proc/net/dev or snapshot document among the files")
	}
	for i := range l.dev {
		if err := checkInterfaceName(l.dev[i].Name); err != nil {
			return fmt.Errorf("/proc/net/dev interface %d: %w", i+1, err)
		}
	}
	if len(l.sysfs) == 0 {
		return nil
	}
	at := make(map[string]int, len(l.dev))
	for i := len(l.dev) - 1; i >= 0; i-- {
		at[l.dev[i].Name] = i // the first line of a name listed twice
	}
	from := map[string]string{}
	for k := range l.sysfs {
		st := &l.sysfs[k]
		if other, ok := from[st.iface]; ok {
			return fmt.Errorf("%s and %s are both the statistics of %s: give one", other, st.from, st.iface)
		}
		from[st.iface] = st.from
		i, ok := at[st.iface]
		if !ok {
			return fmt.Errorf("%s: interface %s is not in %s", st.from, st.iface, l.devFrom)
		}
		st.link = i
	}
	return nil
}

// finish makes the Snapshot of what was read.
func (l *loader) finish() (*Snapshot, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if l.snap != nil {
		return l.snap, nil
	}
	s := &Snapshot{Format: Format, KernelRelease: l.release, LinksFrom: "proc/net/dev"}
	s.Links = make([]Link, len(l.dev))
	for i := range l.dev {
		s.Links[i] = linkFromProcNetDev(&l.dev[i])
	}
	for _, st := range l.sysfs {
		// sysfs statistics are dev_get_stats: the same struct, every field
		// apart, as rtnetlink's stats64.
		s.Links[st.link].Stats = st.stats
		s.Links[st.link].StatsFrom = "stats64"
	}
	if l.mib != nil {
		s.MIB = &MIB{*l.mib}
	} else {
		s.Unread = append(s.Unread, Unread{Part: "xfrm_stat", Error: "no copy of /proc/net/xfrm_stat was given"})
	}
	return s, nil
}

// reading makes explain's input of what was read, as finish's Snapshot's
// Reading would be, without the Snapshot: the links point into the
// /proc/net/dev lines as parsed.
func (l *loader) reading() (*explain.Reading, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if l.snap != nil {
		r := l.snap.Reading()
		l.snap = nil
		return r, nil
	}
	r := &explain.Reading{KernelRelease: l.release, MIB: l.mib}
	if len(l.dev) > 0 {
		r.Links = make([]explain.LinkReading, len(l.dev))
	}
	for i := range l.dev {
		r.Links[i] = explain.LinkReading{Name: l.dev[i].Name, Source: explain.SourceProcNetDev, Dev: &l.dev[i]}
	}
	for _, st := range l.sysfs {
		lr := &r.Links[st.link]
		lr.Source, lr.Stats, lr.Dev = explain.SourceStats64, explain.Stats64(st.stats), nil
	}
	return r, nil
}
