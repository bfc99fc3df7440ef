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
		return fmt.Errorf("modprobe %s on kernel %s: %w: %s", name, release, err, bytes.TrimSpace(out))
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
