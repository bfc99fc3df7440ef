//go:build !linux

package vmtest

import (
	"context"
	"fmt"
	"runtime"
)

func uname() (release, version string, err error) {
	return "", "", fmt.Errorf("kernel version on %s: %w", runtime.GOOS, ErrNotSupported)
}

func loadModule(ctx context.Context, name string) error {
	return fmt.Errorf("kernel module %s on %s: %w", name, runtime.GOOS, ErrNotSupported)
}
