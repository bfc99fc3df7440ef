//go:build linux

package vmtest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

func uname() (release, version string, err error) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "", "", fmt.Errorf("vmtest: uname: %w", err)
	}
	return utsString(u.Release[:]), utsString(u.Version[:]), nil
}

func utsString(b []int8) string {
	buf := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		buf = append(buf, byte(c))
	}
	return string(buf)
}

func loadModule(ctx context.Context, name string) error {
	err := loadOneModule(ctx, name)
	var nf *moduleNotFoundError
	if err == nil || !errors.As(err, &nf) {
		return err
	}
	// A module newer kernels renamed or folded into a library: load what
	// provides its algorithms there (see protocol.ModuleSuccessors).
	succ, ok := protocol.ModuleSuccessors[strings.ReplaceAll(name, "-", "_")]
	if !ok {
		return err
	}
	for _, s := range succ {
		if serr := loadOneModule(ctx, s); serr != nil {
			return fmt.Errorf("%w; its successor on newer kernels: %v", err, serr)
		}
	}
	return nil
}

// moduleNotFoundError is modprobe's answer for a name that is neither a
// module, an alias nor built in.
type moduleNotFoundError struct{ err error }

func (e *moduleNotFoundError) Error() string { return e.err.Error() }
func (e *moduleNotFoundError) Unwrap() error { return e.err }

func loadOneModule(ctx context.Context, name string) error {
	sysName := strings.ReplaceAll(name, "-", "_")
	if _, err := os.Stat(filepath.Join("/sys/module", sysName)); err == nil {
		return nil
	}
	release, _, err := uname()
	if err != nil {
		return err
	}
	if builtin, err := isBuiltin(release, sysName); err == nil && builtin {
		return nil
	}
	out, err := exec.CommandContext(ctx, "modprobe", name).CombinedOutput()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("modprobe not installed: %w", err)
		}
		err = fmt.Errorf("modprobe %s on kernel %s: %w: %s", name, release, err, bytes.TrimSpace(out))
		// kmod: "modprobe: FATAL: Module x not found in directory /lib/modules/<release>"
		if bytes.Contains(out, []byte("not found in directory")) {
			return &moduleNotFoundError{err}
		}
		return err
	}
	return nil
}

// isBuiltin looks the module up in modules.builtin (paths like
// kernel/crypto/cbc.ko, one per line).
func isBuiltin(release, sysName string) (bool, error) {
	f, err := os.Open(filepath.Join("/lib/modules", release, "modules.builtin"))
	if err != nil {
		return false, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		base := filepath.Base(sc.Text())
		base = strings.TrimSuffix(base, ".ko")
		if strings.ReplaceAll(base, "-", "_") == sysName {
			return true, nil
		}
	}
	return false, sc.Err()
}
