package vmtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

// ErrNotSupported is returned where the platform cannot answer (not Linux).
var ErrNotSupported = errors.New("vmtest: not supported on this platform")

// InVM reports whether the caller runs inside a vmtest VM.
func InVM() bool { return os.Getenv(protocol.EnvInVM) == "1" }

// Kernel returns the matrix name of the VM's kernel ("5.10", "6.1", "6.12", "7.3"),
// or "" outside a VM.
func Kernel() string {
	if !InVM() {
		return ""
	}
	return os.Getenv(protocol.EnvKernel)
}

// RequireRoot skips the test unless it runs as root: creating namespaces,
// links and XFRM state needs CAP_NET_ADMIN, loading modules CAP_SYS_MODULE.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root (CAP_NET_ADMIN, CAP_SYS_MODULE)")
	}
}

// KernelVersion returns the running kernel's version, with Debian's real
// patch level where uname's release hides it.
func KernelVersion() (Version, error) {
	release, version, err := uname()
	if err != nil {
		return Version{}, err
	}
	return kernelVersionFrom(release, version)
}

// IsKernelLessThan reports whether the running kernel is older than
// minVersion. Inside a VM it fails the test when minVersion is newer than
// every kernel of the matrix: such a test could never run.
func IsKernelLessThan(tb testing.TB, minVersion string) bool {
	tb.Helper()
	minv, err := ParseVersion(minVersion)
	if err != nil {
		tb.Fatalf("invalid minimum kernel version: %v", err)
	}
	if max := os.Getenv(protocol.EnvMaxKernel); InVM() && max != "" {
		maxv, err := ParseVersion(max)
		if err != nil {
			tb.Fatalf("invalid %s: %v", protocol.EnvMaxKernel, err)
		}
		if maxv.Major < minv.Major || maxv.Major == minv.Major && maxv.Minor < minv.Minor {
			tb.Fatalf("test needs kernel %s but the newest kernel of the vmtest matrix is %s: it would never run", minVersion, max)
		}
	}
	v, err := KernelVersion()
	if err != nil {
		tb.Fatalf("kernel version: %v", err)
	}
	return v.Less(minv)
}

// SkipOnOldKernel skips the test on kernels older than minVersion, naming
// the feature they lack.
func SkipOnOldKernel(tb testing.TB, minVersion, feature string) {
	tb.Helper()
	if IsKernelLessThan(tb, minVersion) {
		v, _ := KernelVersion()
		tb.Skipf("needs kernel %s or later for %s (running %s)", minVersion, feature, v)
	}
}

// RequireModules loads the kernel modules (or finds them built in). Where one
// cannot be had it skips the test on a normal host, and fails it inside a VM:
// the VM's kernel is known to have them, so a missing one is a rig bug (add
// it to the runner's module list). For modules a kernel of the matrix lacks
// by design, use SkipWithoutModules.
//
// A generic crypto module that newer kernels renamed or folded into
// lib/crypto (aes_generic, sha256_generic, ghash-generic ... on 7.3) is
// satisfied there by its successors (see the runner's DefaultModules).
func RequireModules(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if err := loadModuleWithTimeout(name); err != nil {
			if InVM() {
				tb.Fatalf("kernel module %s: %v (is it in the vmtest runner's module list?)", name, err)
			}
			tb.Skipf("needs kernel module %s: %v", name, err)
		}
	}
}

// SkipWithoutModules skips the test, everywhere, when one of the modules
// cannot be loaded: for features some kernels of the matrix lack.
func SkipWithoutModules(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if err := loadModuleWithTimeout(name); err != nil {
			tb.Skipf("needs kernel module %s: %v", name, err)
		}
	}
}

// RequireTools finds the programs on PATH. Where one is missing it skips
// the test on a normal host and fails it inside a VM, whose initramfs is
// known to carry them (busybox applets, ip, kmod).
func RequireTools(tb testing.TB, names ...string) {
	tb.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			if InVM() {
				tb.Fatalf("program %s: %v (is it in the vmtest initramfs?)", name, err)
			}
			tb.Skipf("needs program %s: %v", name, err)
		}
	}
}

func loadModuleWithTimeout(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return LoadModule(ctx, name)
}

// LoadModule makes sure the kernel module is available: already loaded,
// built in, or loaded now with modprobe.
func LoadModule(ctx context.Context, name string) error {
	if name == "" || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("vmtest: invalid module name %q", name)
	}
	return loadModule(ctx, name)
}

// SaveArtifact stores data under name for the vmtest runner, which copies it
// to the host (results directory, and with -captures into the repository).
// The file lands at <kernel>/<test name>/<name>. Outside a VM it does
// nothing unless the artifacts directory variable is set.
func SaveArtifact(tb testing.TB, name string, data []byte) {
	tb.Helper()
	dir := os.Getenv(protocol.EnvArtifacts)
	if dir == "" {
		tb.Logf("artifact %s (%d bytes) not kept: not running under vmtest", name, len(data))
		return
	}
	clean := filepath.Clean(filepath.FromSlash(name))
	if name == "" || filepath.IsAbs(clean) || clean == "." || strings.HasPrefix(clean, "..") {
		tb.Fatalf("artifact name %q: want a relative path inside the artifacts directory", name)
	}
	path := filepath.Join(dir, filepath.FromSlash(tb.Name()), clean)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatalf("artifact %s: %v", name, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatalf("artifact %s: %v", name, err)
	}
}
