package procnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// DefaultRoot is where procfs is mounted on Linux.
const DefaultRoot = "/proc"

// FS is a procfs mount, or a copy of one, to read the net/ files from. The
// zero FS is the running system's /proc. Methods are safe for concurrent use.
type FS struct {
	root     string // "" means DefaultRoot
	explicit bool   // made by NewFS: read root as is, on any OS
}

// NewFS returns an FS rooted at root: "/proc", or "/host/proc" when a
// container has the host's procfs mounted there, or a directory holding
// copies of the files (net/dev, net/xfrm_stat), which works on any OS.
// NewFS("") is the zero FS.
func NewFS(root string) FS {
	if root == "" {
		return FS{}
	}
	return FS{root: filepath.Clean(root), explicit: true}
}

// Root returns the directory this FS reads from.
func (f FS) Root() string {
	if f.root == "" {
		return DefaultRoot
	}
	return f.root
}

// Proc returns the FS whose net/ files are those of process pid: the files
// of the network namespace pid lives in ({root}/{pid}/net/...). Reading them
// needs no privilege beyond seeing the process, and no setns.
func (f FS) Proc(pid int) FS {
	return FS{root: filepath.Join(f.Root(), strconv.Itoa(pid)), explicit: f.explicit}
}

// ThreadSelf returns the FS of the calling OS thread ({root}/thread-self).
// The plain {root}/net is {root}/self/net, the network namespace of the
// process's main thread; a goroutine that did runtime.LockOSThread and
// setns(CLONE_NEWNET) must use ThreadSelf to see its own namespace (Linux
// 3.17+).
func (f FS) ThreadSelf() FS {
	return FS{root: filepath.Join(f.Root(), "thread-self"), explicit: f.explicit}
}

// path returns the file's path, or an error when this FS is the running
// system's /proc and this OS has none.
func (f FS) path(file string) (string, error) {
	if !f.explicit && !haveProcNet {
		return "", fmt.Errorf("procnet: %w: /proc/net is Linux-only (use NewFS with a copy of a Linux /proc)", ErrNotSupported)
	}
	return filepath.Join(f.Root(), "net", file), nil
}

// ReadNetDev reads and parses {root}/net/dev once: FS{}.ReadNetDev(ctx) is
// the running system's network namespace (that of the process's main
// thread). A missing file is an error matching os.ErrNotExist. To read the
// file again and again without allocating, use OpenNetDev.
func (f FS) ReadNetDev(ctx context.Context) ([]DevStats, error) {
	var stats []DevStats
	err := f.readFile(ctx, "dev", func(data []byte, path string) (err error) {
		stats, err = parseNetDev(nil, data, path)
		return err
	})
	if err != nil {
		return nil, err
	}
	return stats, nil
}

// ReadXfrmStat reads and parses {root}/net/xfrm_stat once:
// FS{}.ReadXfrmStat(ctx) is the running system's network namespace. If
// {root}/net exists but xfrm_stat does not, the kernel was built without
// CONFIG_XFRM_STATISTICS and the error matches both ErrNotSupported and
// os.ErrNotExist. To read the file again and again without allocating, use
// OpenXfrmStat.
func (f FS) ReadXfrmStat(ctx context.Context) (*XfrmStat, error) {
	s := new(XfrmStat)
	err := f.readFile(ctx, "xfrm_stat", s.parse)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// readFile reads {root}/net/{file} into a pooled buffer and calls parse
// on it. The buffer goes back to the pool afterwards, so parse must not
// keep it (the parsers copy what they keep).
func (f FS) readFile(ctx context.Context, file string, parse func(data []byte, path string) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path, err := f.path(file)
	if err != nil {
		return err
	}
	fd, err := os.Open(path)
	if err != nil {
		return openError(path, file, err)
	}
	defer fd.Close()
	return readAllPooled(fd, func(data []byte) error { return parse(data, path) })
}

// readAllPooled reads r to its end into a pooled buffer and calls use on the
// bytes. The buffer goes back to the pool afterwards, so use must not keep
// it (the parsers copy what they keep).
func readAllPooled(r io.Reader, use func(data []byte) error) error {
	bufp := readBufs.Get().(*[]byte)
	defer func() {
		if cap(*bufp) <= maxPooledBuffer {
			readBufs.Put(bufp)
		}
	}()
	buf := (*bufp)[:0]
	for {
		if len(buf) == cap(buf) {
			if len(buf) >= maxFileSize {
				*bufp = buf
				return fmt.Errorf("procnet: input is larger than %d bytes", maxFileSize)
			}
			buf = append(buf, 0)[:len(buf)] // grow
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			*bufp = buf
			return fmt.Errorf("procnet: %w", err)
		}
	}
	*bufp = buf
	return use(buf)
}

// maxPooledBuffer keeps an unusually large input (a copy of a huge file)
// from pinning its buffer in the pool.
const maxPooledBuffer = 16 << 20

// readBufs holds read buffers for one-shot reads; a poll loop should use a
// NetDevReader instead, which keeps its own.
var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 16<<10)
	return &b
}}

// openError explains a failure to open or read {root}/net/{file}.
func openError(path, file string, err error) error {
	if file == "xfrm_stat" && errors.Is(err, fs.ErrNotExist) {
		if st, statErr := os.Stat(filepath.Dir(path)); statErr == nil && st.IsDir() {
			return fmt.Errorf("procnet: %w: %s does not exist: the kernel was built without CONFIG_XFRM_STATISTICS, so it keeps no XFRM MIB counters (%w)", ErrNotSupported, path, err)
		}
	}
	return fmt.Errorf("procnet: %w", err)
}

// maxFileSize bounds the buffer of a reader: /proc/net/dev with a million
// interfaces is about 130 MB.
const maxFileSize = 1 << 28

// fileReader re-reads one file from offset 0 into a buffer it keeps, so
// that a steady-state read allocates nothing. For procfs files this is one
// pread pass over the seq_file, which restarts the listing at offset 0.
type fileReader struct {
	f    *os.File
	path string
	buf  []byte
}

func (f FS) openReader(ctx context.Context, file string, size int) (*fileReader, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	path, err := f.path(file)
	if err != nil {
		return nil, err
	}
	fd, err := os.Open(path)
	if err != nil {
		return nil, openError(path, file, err)
	}
	return &fileReader{f: fd, path: path, buf: make([]byte, size)}, nil
}

// read returns the whole file. The result aliases the reader's buffer.
func (r *fileReader) read(ctx context.Context) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.f == nil {
		return nil, fmt.Errorf("procnet: read %s: %w", r.path, os.ErrClosed)
	}
	for {
		n, err := r.f.ReadAt(r.buf, 0)
		if n < len(r.buf) {
			if err == nil || err == io.EOF {
				return r.buf[:n], nil
			}
			return nil, fmt.Errorf("procnet: %w", err)
		}
		// The buffer is full, so the file may be longer: grow and read the
		// whole file again, so that every line comes from one pass.
		if len(r.buf) >= maxFileSize {
			return nil, fmt.Errorf("procnet: %s is larger than %d bytes", r.path, maxFileSize)
		}
		r.buf = make([]byte, 2*len(r.buf))
	}
}

func (r *fileReader) close() error {
	if r.f == nil {
		return nil
	}
	err := r.f.Close()
	r.f = nil
	return err
}

// NetDevReader reads one /proc/net/dev file again and again, for poll loops.
// It keeps the file open (so it keeps following the network namespace it was
// opened in, even through /proc/PID/net after setns elsewhere) and reuses
// its buffer: with a large enough destination, Read allocates nothing. A
// NetDevReader is not safe for concurrent use.
type NetDevReader struct {
	r *fileReader
}

// OpenNetDev opens {root}/net/dev for repeated reads.
func (f FS) OpenNetDev(ctx context.Context) (*NetDevReader, error) {
	r, err := f.openReader(ctx, "dev", 16<<10)
	if err != nil {
		return nil, err
	}
	return &NetDevReader{r: r}, nil
}

// Read re-reads the file and returns its interfaces in dst's storage: the
// elements of dst[:cap(dst)] are overwritten from the first, and a Name
// already stored there that equals the new one is kept rather than
// allocated again, so that once dst is large enough and interfaces keep
// their names, Read allocates nothing. New names are carved from shared
// chunks of at most 64 KiB, one allocation per chunk rather than per name.
// Pass nil for fresh storage, the slice the previous Read returned, or one
// you alternate with it to keep the previous reading for DiffNetDev. On
// error the result holds the lines before the bad one.
func (nr *NetDevReader) Read(ctx context.Context, dst []DevStats) ([]DevStats, error) {
	data, err := nr.r.read(ctx)
	if err != nil {
		return dst[:0], err
	}
	return parseNetDev(dst[:0], data, nr.r.path)
}

// Path returns the path of the file being read.
func (nr *NetDevReader) Path() string { return nr.r.path }

// Close closes the file.
func (nr *NetDevReader) Close() error { return nr.r.close() }

// XfrmStatReader reads one /proc/net/xfrm_stat file again and again, for
// poll loops, like NetDevReader. It is not safe for concurrent use.
type XfrmStatReader struct {
	r *fileReader
}

// OpenXfrmStat opens {root}/net/xfrm_stat for repeated reads. Without
// CONFIG_XFRM_STATISTICS the error matches ErrNotSupported.
func (f FS) OpenXfrmStat(ctx context.Context) (*XfrmStatReader, error) {
	r, err := f.openReader(ctx, "xfrm_stat", 4<<10)
	if err != nil {
		return nil, err
	}
	return &XfrmStatReader{r: r}, nil
}

// Read re-reads the file into dst, overwriting every field. dst.Other's
// backing array, and the names in it that have not changed, are reused:
// once dst has held the same counters, Read allocates nothing. On error dst
// is not a reading: do not use its values.
func (xr *XfrmStatReader) Read(ctx context.Context, dst *XfrmStat) error {
	if dst == nil {
		return errors.New("procnet: read into a nil *XfrmStat")
	}
	data, err := xr.r.read(ctx)
	if err != nil {
		return err
	}
	return dst.parse(data, xr.r.path)
}

// Path returns the path of the file being read.
func (xr *XfrmStatReader) Path() string { return xr.r.path }

// Close closes the file.
func (xr *XfrmStatReader) Close() error { return xr.r.close() }
