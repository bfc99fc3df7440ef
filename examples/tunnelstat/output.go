package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// checkOutput refuses, before any work, an -o FILE that cannot be written
// (see writeOutput).
func checkOutput(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if li, lerr := os.Lstat(path); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
			target, _ := os.Readlink(path)
			return fmt.Errorf("%s is a symbolic link to %s, which does not exist: give the path of the file to write", path, target)
		}
		return nil
	case err != nil:
		return err
	}
	if m := fi.Mode(); !m.IsRegular() && m&(fs.ModeCharDevice|fs.ModeNamedPipe) == 0 {
		return fmt.Errorf("%s is %s: -o writes a regular file, or straight to a character device or a pipe (/dev/stdout, a FIFO)", path, modeWords(m))
	}
	return nil
}

// writeOutput writes what write writes to path:
//   - the process's standard output (/dev/stdout, /proc/self/fd/1, or the
//     file it is redirected to): written to it;
//   - a regular file, or a name that does not exist yet: written to a
//     temporary file (mode 0600) beside it and renamed over it, so that it
//     is never half written; a symbolic link is followed, so the file it
//     points to is replaced and the link kept;
//   - a character device or a named pipe (/dev/null, a terminal, a FIFO):
//     written straight to, never replaced; a FIFO without a reader is
//     waited for, until interrupted;
//   - anything else (a directory, a socket, a block device) is refused.
func (a *app) writeOutput(ctx context.Context, path string, write func(io.Writer) error) error {
	if err := checkOutput(path); err != nil {
		return err
	}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return a.writeReplacing(ctx, path, write)
	}
	if err != nil {
		return err
	}
	if a.stdoutFile != nil {
		if st, err := a.stdoutFile.Stat(); err == nil && os.SameFile(fi, st) {
			return write(&ctxWriter{ctx: ctx, w: a.stdout})
		}
	}
	if fi.Mode().IsRegular() {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return err
		}
		return a.writeReplacing(ctx, target, write)
	}
	f, err := a.openDirect(ctx, path, fi.Mode())
	if err != nil {
		return err
	}
	if err := write(&ctxWriter{ctx: ctx, w: f}); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// writeReplacing writes a temporary file beside target and renames it over
// target.
func (a *app) writeReplacing(ctx context.Context, target string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(&ctxWriter{ctx: ctx, w: tmp}); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // interrupted: the target is left as it was
	}
	return os.Rename(tmp.Name(), target)
}

// modeWords names a kind of file.
func modeWords(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t == 0:
		return "a regular file"
	}
	return "an irregular file"
}
