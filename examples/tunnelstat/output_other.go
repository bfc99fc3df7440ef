//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"context"
	"io/fs"
	"os"
)

// openDirect opens a device or a pipe for writing without replacing it.
func (a *app) openDirect(_ context.Context, path string, _ fs.FileMode) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY, 0)
}
