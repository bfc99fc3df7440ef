// Package vmtest lets this project's tests run inside real Linux kernels and
// say what they need from them.
//
// The host this project is developed on has XFRM netlink but none of the
// tunnel drivers (ip_vti, ip6_vti, xfrm_interface, ip_gre, ipip, esp4 ...)
// whose counters tunnelstat explains. The vmtest command boots Debian's
// cloud kernels 5.10 (bullseye), 6.1 (bookworm), 6.12 (trixie) and 7.3
// (trixie-backports) under qemu, runs the chosen test binaries in each as
// root, and reports pass, fail or skip per kernel and per test:
//
//	bash internal/vmtest/setup.sh
//	go run ./internal/vmtest/cmd/vmtest -kernels 5.10,6.1,6.12,7.3 ./internal/vmtest/ ./vtistat/
//
// The same tests run on the host with plain go test, where they skip with
// a reason when the kernel lacks what they need.
//
// # Writing a test for the VMs
//
// Tests are ordinary Go tests (linux build tag where they use Linux APIs).
// They state their needs first:
//
//	func TestVTICarrier(t *testing.T) {
//		vmtest.RequireRoot(t)
//		vmtest.RequireModules(t, "ip_vti", "esp4", "xfrm_user")
//		vmtest.RequireTools(t, "ip", "ping")
//		vmtest.SkipOnOldKernel(t, "5.12", "no MTU check for IPv4 without DF")
//		...
//	}
//
// RequireModules and RequireTools skip on a host that lacks the module or
// program, but fail inside a VM: there, a missing module means the
// runner's module list (internal/vmtest/internal/runner DefaultModules) is
// incomplete, which must not pass silently. For a feature a kernel of the
// matrix lacks by design, use SkipOnOldKernel or SkipWithoutModules.
// InVM and Kernel tell a test where it runs, e.g. to expect per-kernel
// behaviour.
//
// Each test builds its own topology with package internal/testns
// (testns.New, testns.NewPair: namespaces named ts-<random> joined by veth,
// deleted in t.Cleanup). The VMs have no network device, so nothing a test
// sends can leave the VM.
//
// # Fixtures from real kernels
//
// SaveArtifact stores a file (a /proc capture, a netlink dump) that the
// runner copies back to the host. With -captures DIR the runner writes the
// artifacts of every passing kernel to DIR/<kernel>/<test>/<name>, beside a
// KERNEL file naming the exact kernel package; other packages load them as
// testdata. This package's own captures are in testdata/captures.
//
// # Inside the VM
//
// The initramfs holds a static busybox (ping, cat, sysctl ...), dash as
// /bin/sh, kmod as /sbin/modprobe (the kernel's request_module runs it, for
// crypto algorithms too), the host's ip(8) with its shared libraries, the
// listed modules with their dependencies and a depmod index, the test
// binaries (CGO_ENABLED=0 go test -c) with their testdata, cmd/test2json
// and a small Go init. The init mounts proc, sys, devtmpfs, /tmp and /run,
// runs every test binary under test2json with the environment variables of
// package protocol set, streams the events and artifacts to the host on a
// second serial port (the console, with the kernel's messages, stays on
// the first), and powers off.
package vmtest
