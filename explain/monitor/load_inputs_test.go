package monitor

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// Issue 16 point 3: a file over the limit is refused from its size, before
// a byte is read; one whose size is not known (standard input, a /proc
// file) when the limit is reached.
func TestLoadLimit(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(200 << 20); err != nil { // sparse: 200 MB of NULs
		t.Fatal(err)
	}
	f.Close()
	start := time.Now()
	_, err = Load(nil, big)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("200 MB file: %v, want ErrTooLarge naming the 64 MiB limit", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusing took %v", d)
	}

	// Standard input: read until the limit, not further.
	dev, err := os.ReadFile("testdata/captures/vyos-seed003/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	endless := &countingReader{r: io.MultiReader(strings.NewReader(string(dev)), repeatReader("  eth9: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"))}
	_, err = (&Loader{Stdin: endless, MaxBytes: 1 << 20}).Load(t.Context(), "-")
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "standard input: ") {
		t.Errorf("endless standard input: %v", err)
	}
	if endless.n > 1<<20+64<<10 {
		t.Errorf("read %d bytes with a limit of 1 MiB", endless.n)
	}

	// The limit holds for a reading's files together; a file at the limit
	// is read.
	fsys := fstest.MapFS{"dev": {Data: dev}, "xfrm_stat": {Data: []byte("XfrmInError\t0\n")}}
	if _, err := (&Loader{FS: fsys, MaxBytes: int64(len(dev))}).Load(t.Context(), "dev"); err != nil {
		t.Errorf("a file of exactly the limit: %v", err)
	}
	if _, err := (&Loader{FS: fsys, MaxBytes: int64(len(dev)) + 5}).Load(t.Context(), "dev", "xfrm_stat"); !errors.Is(err, ErrTooLarge) {
		t.Errorf("two files over the limit together: %v", err)
	}
	if _, err := (&Loader{FS: fsys, MaxBytes: int64(len(dev)) + 14}).Load(t.Context(), "dev", "xfrm_stat"); err != nil {
		t.Errorf("two files at the limit together: %v", err)
	}
}

// Issue 16 point 3: a file that is no reading is refused on its first
// bytes, not read whole first (200 MB of random bytes were).
func TestLoadSniffsBeforeReading(t *testing.T) {
	junk := &countingReader{r: repeatReader("\x8f\x01garbage")}
	_, err := (&Loader{Stdin: junk, MaxBytes: 1 << 40}).Load(t.Context(), "-")
	if !errors.Is(err, ErrUnrecognised) {
		t.Fatalf("%v", err)
	}
	if junk.n > 8<<10 {
		t.Errorf("read %d bytes of a file recognised as none after its first", junk.n)
	}
	// The same through a file system.
	fsys := sizedFS{name: "junk", size: 1 << 30}
	if _, err := (&Loader{FS: fsys, MaxBytes: 2 << 30}).Load(t.Context(), "junk"); !errors.Is(err, ErrUnrecognised) {
		t.Errorf("%v", err)
	}
}

// Issue 16 point 2: the context ends a load: one cancelled before, and one
// cancelled while a file is read.
func TestLoadContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := (&Loader{}).Load(ctx, "testdata/captures/vm-6.1/after"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	dev, err := os.ReadFile("testdata/captures/vyos-seed003/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	r := &countingReader{r: io.MultiReader(strings.NewReader(string(dev)), repeatReader("  eth9: 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")), after: 1 << 20, cancel: cancel}
	done := make(chan error, 1)
	go func() {
		_, err := (&Loader{Stdin: r, MaxBytes: 1 << 40}).LoadReading(ctx, "-")
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "standard input: ") {
			t.Errorf("cancelled while reading: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Load did not stop when its context was cancelled")
	}

	// Decoding a snapshot stops too.
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, err := decodeSnapshot(ctx, []byte(bigDoc(t, 600))); !errors.Is(err, context.Canceled) {
		t.Errorf("decoding with a cancelled context: %v", err)
	}
}

// LoadReading gives what Load's Snapshot's Reading gives, in less memory.
func TestLoadReadingAsLoad(t *testing.T) {
	for _, paths := range [][]string{
		{"testdata/captures/vm-6.1/after", "testdata/captures/vm-6.1/KERNEL"},
		{"testdata/captures/vm-6.1/before/proc_net_dev", "testdata/captures/vm-6.1/before/xfrm_stat"},
		{"testdata/captures/vm-6.1/before/proc_net_dev", "testdata/captures/vm-6.1/before/vti0_statistics"},
		{"testdata/captures/vyos-seed003/proc_net_dev"},
		{"testdata/snapshots/live-root-after-linux6.18.json"},
		{"testdata/snapshots/live-nobody-linux6.18.json"},
	} {
		s, err := Load(nil, paths...)
		if err != nil {
			t.Fatal(err)
		}
		want := s.Reading()
		got, err := (&Loader{}).LoadReading(t.Context(), paths...)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: LoadReading\n%+v\nLoad().Reading()\n%+v", paths, got, want)
		}
		// And the direct conversion equals the one through vtistat's types.
		if via := AppendLinkReadings(nil, s.vtistatLinks()); !reflect.DeepEqual(via, want.Links) {
			t.Errorf("%v: Reading's links differ from AppendLinkReadings'", paths)
		}
	}
}

// Duplicated interfaces and names the kernel does not give are refused in
// raw captures too.
func TestLoadRawCaptureChecks(t *testing.T) {
	dev, err := os.ReadFile("testdata/captures/vm-6.1/after/proc_net_dev")
	if err != nil {
		t.Fatal(err)
	}
	stats, err := os.ReadFile("testdata/captures/vm-6.1/after/vti0_statistics")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"a/dev":                {Data: dev},
		"a/vti0_statistics":    {Data: stats},
		"b/vti0_statistics":    {Data: stats},
		"slash/dev":            {Data: []byte(strings.Replace(string(dev), "  vti0:", "  a/b0:", 1))},
		"dots/dev":             {Data: []byte(strings.Replace(string(dev), "  vti0:", "    ..:", 1))},
		"fifo":                 {Mode: fs.ModeNamedPipe},
		"dir/dev":              {Data: dev},
		"dir/sock":             {Mode: fs.ModeSocket},
		"ok/dev":               {Data: dev},
		"ok/vti0_statistics":   {Data: stats},
		"ok/xfrm_stat":         {Data: []byte("XfrmInError\t0\n")},
		"ok2/proc_net_dev":     {Data: dev},
		"ok2/vti0/statistics/": {Mode: fs.ModeDir},
	} // "ok2" makes sure a plain directory entry is refused, not followed
	for _, tc := range []struct {
		paths []string
		want  string
	}{
		{[]string{"a", "b/vti0_statistics"}, "a/vti0_statistics and b/vti0_statistics are both the statistics of vti0"},
		{[]string{"slash/dev"}, `"a/b0": an interface name has no '/'`},
		{[]string{"dots/dev"}, `".." is not an interface name`},
		{[]string{"fifo"}, "a named pipe (FIFO), not a regular file"},
		{[]string{"dir"}, "dir/sock: a socket, not a regular file"},
		{[]string{"ok2"}, "a reading directory holds files only"},
	} {
		if _, err := Load(fsys, tc.paths...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.paths, err, tc.want)
		}
	}
	if _, err := Load(fsys, "ok"); err != nil {
		t.Error(err)
	}
}

// countingReader counts what is read of r; after that many bytes it calls
// cancel, if set.
type countingReader struct {
	r      io.Reader
	n      int
	after  int
	cancel func()
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.cancel != nil && c.n >= c.after {
		c.cancel()
	}
	return n, err
}

// repeatReader repeats s for ever.
type repeatReader string

func (s repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], s)
	}
	return n, nil
}

// sizedFS holds one regular file of the given size, of junk, and counts
// nothing: it only must not be read whole.
type sizedFS struct {
	name string
	size int64
}

func (f sizedFS) Open(name string) (fs.File, error) {
	if name != f.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return &sizedFile{f: f, r: io.LimitReader(repeatReader("\x00\x01junk"), f.size)}, nil
}

type sizedFile struct {
	f sizedFS
	r io.Reader
	n int64
}

func (s *sizedFile) Stat() (fs.FileInfo, error) { return sizedInfo(s.f), nil }
func (s *sizedFile) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if s.n += int64(n); s.n > 8<<10 {
		return n, errors.New("read past the first bytes")
	}
	return n, err
}
func (s *sizedFile) Close() error { return nil }

type sizedInfo sizedFS

func (i sizedInfo) Name() string       { return i.name }
func (i sizedInfo) Size() int64        { return i.size }
func (i sizedInfo) Mode() fs.FileMode  { return 0o644 }
func (i sizedInfo) ModTime() time.Time { return time.Time{} }
func (i sizedInfo) IsDir() bool        { return false }
func (i sizedInfo) Sys() any           { return nil }

// bigDoc is a snapshot document of n links.
func bigDoc(t testing.TB, n int) string {
	s := &Snapshot{Format: Format, LinksFrom: "rtnetlink", MIB: &MIB{}}
	for i := range n {
		s.Links = append(s.Links, Link{Index: int32(i + 1), Name: "vti" + itoa(i), Kind: "vti", OperState: "up", StatsFrom: "stats64", LinkNetNSID: -1,
			Stats: Stats{TxPackets: uint64(i)}})
	}
	var b strings.Builder
	if err := s.Encode(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func itoa(i int) string { return u64(uint64(i)) }
