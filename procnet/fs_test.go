package procnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// fakeProc makes {dir}/net/ with the given files copied from testdata.
func fakeProc(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, fixture := range files {
		if err := os.WriteFile(filepath.Join(root, "net", name), readFixture(t, filepath.Join("testdata", fixture)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFSReadFromCopy(t *testing.T) {
	ctx := context.Background()
	root := fakeProc(t, map[string]string{"dev": "netdev-vyos-seed003.txt", "xfrm_stat": "xfrm_stat-netns-policies-linux6.18.txt"})
	f := NewFS(root)
	stats, err := f.ReadNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) != 6 || stats[0].Name != "vti0" {
		t.Errorf("got %d interfaces, first %q", len(stats), stats[0].Name)
	}
	x, err := f.ReadXfrmStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if x.OutNoStates != 9 {
		t.Errorf("OutNoStates = %d", x.OutNoStates)
	}
}

func TestFSErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("xfrm_stat missing", func(t *testing.T) {
		f := NewFS(fakeProc(t, map[string]string{"dev": "netdev-host-linux6.18.txt"}))
		_, err := f.ReadXfrmStat(ctx)
		if !errors.Is(err, ErrNotSupported) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("ReadXfrmStat: %v; want ErrNotSupported and ErrNotExist", err)
		}
		if err == nil || !strings.Contains(err.Error(), "CONFIG_XFRM_STATISTICS") {
			t.Errorf("%v does not explain CONFIG_XFRM_STATISTICS", err)
		}
		// ErrNotSupported is shared with vtistat and xfrmstat and names no
		// package: the wrapping message does.
		if err == nil || !strings.HasPrefix(err.Error(), "procnet: not supported: ") {
			t.Errorf("%v does not start with %q", err, "procnet: not supported: ")
		}
		_, err = f.OpenXfrmStat(ctx)
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("OpenXfrmStat: %v; want ErrNotSupported", err)
		}
	})
	t.Run("net/dev missing", func(t *testing.T) {
		f := NewFS(fakeProc(t, nil))
		_, err := f.ReadNetDev(ctx)
		if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrNotSupported) {
			t.Errorf("ReadNetDev: %v; want ErrNotExist only", err)
		}
		_, err = f.OpenNetDev(ctx)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("OpenNetDev: %v; want ErrNotExist", err)
		}
	})
	t.Run("root missing", func(t *testing.T) {
		// A wrong root is not a kernel without CONFIG_XFRM_STATISTICS.
		f := NewFS(filepath.Join(t.TempDir(), "nothing"))
		_, err := f.ReadXfrmStat(ctx)
		if !errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrNotSupported) {
			t.Errorf("ReadXfrmStat: %v; want ErrNotExist only", err)
		}
	})
	t.Run("parse error names the path", func(t *testing.T) {
		root := fakeProc(t, map[string]string{"dev": "edge-netdev-err-short-line.txt"})
		_, err := NewFS(root).ReadNetDev(ctx)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.File != filepath.Join(root, "net", "dev") || pe.Line != 3 {
			t.Errorf("got %v", err)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		f := NewFS(fakeProc(t, map[string]string{"dev": "netdev-host-linux6.18.txt"}))
		if _, err := f.ReadNetDev(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("ReadNetDev: %v", err)
		}
		if _, err := f.OpenNetDev(cctx); !errors.Is(err, context.Canceled) {
			t.Errorf("OpenNetDev: %v", err)
		}
		r, err := f.OpenNetDev(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Read(cctx, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Read: %v", err)
		}
	})
}

func TestFSPaths(t *testing.T) {
	if got := (FS{}).Root(); got != "/proc" {
		t.Errorf("FS{}.Root() = %q", got)
	}
	if NewFS("") != (FS{}) {
		t.Error(`NewFS("") is not the zero FS`)
	}
	if got := NewFS("/host/proc/").Proc(42).Root(); got != filepath.FromSlash("/host/proc/42") {
		t.Errorf("Proc(42).Root() = %q", got)
	}
	if got := (FS{}).ThreadSelf().Root(); got != filepath.FromSlash("/proc/thread-self") {
		t.Errorf("ThreadSelf().Root() = %q", got)
	}
	if runtime.GOOS != "linux" {
		_, err := (FS{}).ReadNetDev(context.Background())
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("ReadNetDev on %s: %v, want ErrNotSupported", runtime.GOOS, err)
		}
	}
}

func TestNetDevReader(t *testing.T) {
	ctx := context.Background()
	root := fakeProc(t, map[string]string{"dev": "netdev-host-linux6.18.txt"})
	path := filepath.Join(root, "net", "dev")
	r, err := NewFS(root).OpenNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Path() != path {
		t.Errorf("Path() = %q", r.Path())
	}
	buf, err := r.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := appendNetDev(nil, readFixture(t, "testdata/netdev-host-linux6.18.txt"))
	if !equalDevStats(buf, want) {
		t.Errorf("Read = %+v\nwant %+v", buf, want)
	}

	// The file grows past the reader's first buffer: every line is read.
	var big []DevStats
	for i := range 500 {
		big = append(big, dev(fmt.Sprintf("veth%d", i), uint64(i)*1e9))
	}
	data := netDevText(big)
	if len(data) <= 16<<10 {
		t.Fatalf("test file of %d bytes does not outgrow the buffer", len(data))
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	buf, err = r.Read(ctx, buf)
	if err != nil {
		t.Fatal(err)
	}
	if !equalDevStats(buf, big) {
		t.Errorf("after growth: %d interfaces, want %d", len(buf), len(big))
	}
	allocs := testing.AllocsPerRun(50, func() {
		buf, err = r.Read(ctx, buf)
	})
	if err != nil || allocs != 0 {
		t.Errorf("NetDevReader.Read: %v allocs/op (err %v), want 0", allocs, err)
	}

	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := r.Read(ctx, buf); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Read after Close: %v", err)
	}
}

func TestXfrmStatReader(t *testing.T) {
	ctx := context.Background()
	root := fakeProc(t, map[string]string{"xfrm_stat": "edge-xfrm_stat-unknown-counters.txt"})
	r, err := NewFS(root).OpenXfrmStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var s XfrmStat
	if err := r.Read(ctx, &s); err != nil {
		t.Fatal(err)
	}
	if v, ok := s.Counter("XfrmOtherFuture"); !ok || v != 8 || len(s.Other) != 2 {
		t.Errorf("XfrmOtherFuture = %d, %v; Other %v", v, ok, s.Other)
	}
	allocs := testing.AllocsPerRun(50, func() {
		err = r.Read(ctx, &s)
	})
	if err != nil || allocs != 0 {
		t.Errorf("XfrmStatReader.Read: %v allocs/op (err %v), want 0", allocs, err)
	}
	if !strings.HasSuffix(r.Path(), filepath.Join("net", "xfrm_stat")) {
		t.Errorf("Path() = %q", r.Path())
	}
}

// TestRunningSystem reads this machine's own files, and those of this
// process through /proc/PID and /proc/thread-self: all the same namespace.
func TestRunningSystem(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs Linux /proc")
	}
	ctx := context.Background()
	stats, err := (FS{}).ReadNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stats) == 0 {
		t.Fatal("no interfaces")
	}
	for _, f := range []FS{NewFS("/proc").Proc(os.Getpid()), (FS{}).ThreadSelf()} {
		other, err := f.ReadNetDev(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(other) != len(stats) || other[0].Name != stats[0].Name {
			t.Errorf("%s: %d interfaces, want %d", f.Root(), len(other), len(stats))
		}
	}

	r, err := (FS{}).OpenNetDev(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	buf, err := r.Read(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(50, func() {
		buf, err = r.Read(ctx, buf)
	})
	if err != nil || allocs != 0 {
		t.Errorf("NetDevReader.Read on /proc/net/dev: %v allocs/op (err %v), want 0", allocs, err)
	}

	x, err := (FS{}).ReadXfrmStat(ctx)
	if errors.Is(err, ErrNotSupported) {
		t.Logf("no xfrm_stat here: %v", err)
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	text := xfrmStatText(x)
	if !bytes.HasPrefix(text, []byte("XfrmInError")) {
		t.Errorf("xfrm_stat starts %q", text[:min(len(text), 20)])
	}
	xr, err := (FS{}).OpenXfrmStat(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer xr.Close()
	allocs = testing.AllocsPerRun(50, func() {
		err = xr.Read(ctx, x)
	})
	if err != nil || allocs != 0 {
		t.Errorf("XfrmStatReader.Read on /proc/net/xfrm_stat: %v allocs/op (err %v), want 0", allocs, err)
	}
}

func TestParseReaderErrors(t *testing.T) {
	boom := errors.New("boom")
	if _, err := ParseNetDev(iotest.ErrReader(boom)); !errors.Is(err, boom) {
		t.Errorf("ParseNetDev: %v", err)
	}
	if _, err := ParseXfrmStat(io.MultiReader(strings.NewReader("XfrmInError\t1\n"), iotest.ErrReader(boom))); !errors.Is(err, boom) {
		t.Errorf("ParseXfrmStat: %v", err)
	}
	// One byte at a time still reads everything.
	data := readFixture(t, "testdata/netdev-vyos-seed003.txt")
	stats, err := ParseNetDev(iotest.OneByteReader(bytes.NewReader(data)))
	if err != nil || len(stats) != 6 {
		t.Errorf("OneByteReader: %d interfaces, %v", len(stats), err)
	}
}
