package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// baseFormat changes whenever the layout of the base initramfs changes, so
// cached archives of an older layout are not reused.
const baseFormat = "vmtest-base-3"

// hostTools are the host binaries copied into every VM.
type hostTools struct {
	busybox string   // static busybox: ping, cat, sysctl, ... (busybox-static)
	dash    string   // /bin/sh, or "" to use busybox's (see findHostTools)
	kmod    string   // modprobe and friends, as the kernel's request_module expects
	ip      string   // iproute2's ip
	libs    []string // shared libraries and loader of kmod and ip
	applets []string // busybox applets to link
	key     string   // hash of all the above files
}

// kmodTools are the names kmod answers to; busybox's applets of the same
// name are not linked.
var kmodTools = []string{"modprobe", "insmod", "rmmod", "lsmod", "depmod", "modinfo"}

func findHostTools(ctx context.Context) (*hostTools, error) {
	t := &hostTools{}
	var err error
	if t.busybox, err = lookTool("busybox", "busybox-static"); err != nil {
		return nil, err
	}
	if t.kmod, err = lookTool("kmod", "kmod"); err != nil {
		return nil, err
	}
	if t.ip, err = lookTool("ip", "iproute2"); err != nil {
		return nil, err
	}
	// Debian's static busybox runs its own applets before PATH ("ip" in a
	// script would be busybox's, not iproute2's): scripts get dash instead.
	if d, err := lookTool("dash", "dash"); err == nil {
		t.dash = d
	}
	bins := []string{t.busybox, t.kmod, t.ip}
	if t.dash != "" {
		bins = append(bins, t.dash)
	}
	libs := map[string]bool{}
	for _, bin := range bins {
		l, err := sharedLibs(ctx, bin)
		if err != nil {
			return nil, err
		}
		for _, lib := range l {
			libs[lib] = true
		}
	}
	for lib := range libs {
		t.libs = append(t.libs, lib)
	}
	sort.Strings(t.libs)

	out, err := exec.CommandContext(ctx, t.busybox, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("%s --list: %w", t.busybox, err)
	}
	skip := map[string]bool{"busybox": true, "ip": true, "init": true, "linuxrc": true}
	if t.dash != "" {
		skip["sh"] = true
	}
	for _, k := range kmodTools {
		skip[k] = true
	}
	for _, a := range strings.Fields(string(out)) {
		if !skip[a] && !strings.Contains(a, "/") {
			t.applets = append(t.applets, a)
		}
	}

	h := sha256.New()
	fmt.Fprintln(h, baseFormat, strings.Join(t.applets, " "))
	for _, f := range append(bins, t.libs...) {
		if err := hashFile(h, f); err != nil {
			return nil, err
		}
	}
	t.key = hex.EncodeToString(h.Sum(nil))
	return t, nil
}

func lookTool(name, pkg string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
			if fileExists(filepath.Join(dir, name)) {
				p, err = filepath.Join(dir, name), nil
				break
			}
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s not found (Debian package %s; run internal/vmtest/setup.sh)", name, pkg)
	}
	return filepath.EvalSymlinks(p)
}

// sharedLibs lists what ldd says bin loads: "name => /path (addr)" and the
// loader "/lib64/ld-linux-x86-64.so.2 (addr)". A static binary has none.
func sharedLibs(ctx context.Context, bin string) ([]string, error) {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, "ldd", bin)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if strings.Contains(out.String(), "not a dynamic executable") || strings.Contains(out.String(), "statically linked") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w: %s", bin, err, out.String())
	}
	var libs []string
	for _, line := range strings.Split(out.String(), "\n") {
		line = strings.TrimSpace(line)
		if _, after, ok := strings.Cut(line, "=> "); ok {
			line = after
		}
		if p, _, _ := strings.Cut(line, " ("); strings.HasPrefix(p, "/") {
			libs = append(libs, p)
		}
	}
	return libs, nil
}

func hashFile(h io.Writer, name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	fmt.Fprintln(h, name)
	_, err = io.Copy(h, f)
	return err
}

// ensureBase returns the cached base initramfs for k: busybox, kmod, ip and
// the closure of the module list, with a modules index made by depmod.
func (r *runner) ensureBase(ctx context.Context, k *kernelImage, tools *hostTools) (string, error) {
	mods := append(append([]string(nil), DefaultModules...), r.opts.ExtraModules...)
	sort.Strings(mods)
	h := sha256.New()
	fmt.Fprintln(h, tools.key, k.Package, k.Version, strings.Join(mods, " "))
	key := hex.EncodeToString(h.Sum(nil))[:16]
	out := filepath.Join(r.opts.CacheDir, "initramfs", safeName(k.Package+"_"+k.Version)+"-"+key+".cpio")
	if fileExists(out) {
		return out, nil
	}
	unlock, err := r.lock("initramfs-" + k.Spec.Suite)
	if err != nil {
		return "", err
	}
	defer unlock()
	if fileExists(out) {
		return out, nil
	}

	idx, err := readModuleIndex(k.modulesDir())
	if err != nil {
		return "", fmt.Errorf("kernel %s: %w", k.Spec.Name, err)
	}
	paths, missing := idx.closure(mods)
	if len(missing) > 0 {
		r.logf("%s: not in kernel %s (neither module nor built in): %s", k.Spec.Name, k.Release, strings.Join(missing, " "))
	}

	tmpRoot := filepath.Join(r.opts.CacheDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return "", err
	}
	stage, err := os.MkdirTemp(tmpRoot, "initramfs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	modDir := filepath.Join(stage, "lib", "modules", k.Release)
	for _, p := range paths {
		if err := copyModule(ctx, filepath.Join(k.modulesDir(), p), filepath.Join(modDir, stripCompression(p))); err != nil {
			return "", err
		}
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		if src := filepath.Join(k.modulesDir(), f); fileExists(src) {
			if err := copyFile(src, filepath.Join(modDir, f)); err != nil {
				return "", err
			}
		}
	}
	if err := runTool(ctx, stage, "depmod", "-b", stage, k.Release); err != nil {
		return "", err
	}

	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".tmp-base-")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	w := newCPIOWriter(tmp)
	writeBase(w, tools)
	err = filepath.Walk(filepath.Join(stage, "lib"), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(stage, p)
		if info.IsDir() {
			w.Dir(filepath.ToSlash(rel))
		} else {
			w.HostFile(filepath.ToSlash(rel), p, 0o644)
		}
		return nil
	})
	if err != nil {
		tmp.Close()
		return "", err
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return "", err
	}
	r.logf("%s: built initramfs base with %d modules (%s)", k.Spec.Name, len(paths), out)
	return out, nil
}

func writeBase(w *cpioWriter, t *hostTools) {
	for _, d := range []string{"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/etc", "/proc", "/sys", "/dev", "/tmp", "/run", "/root", "/var", "/lib64"} {
		w.Dir(d)
	}
	w.Symlink("/var/run", "../run")
	w.Symlink("/var/tmp", "../tmp")
	w.CharDev("/dev/console", 0o600, 5, 1)
	w.CharDev("/dev/null", 0o666, 1, 3)
	w.CharDev("/dev/ttyS0", 0o660, 4, 64)
	w.CharDev("/dev/ttyS1", 0o660, 4, 65)
	w.Bytes("/etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\n"))
	w.Bytes("/etc/group", 0o644, []byte("root:x:0:\n"))
	w.Bytes("/etc/hosts", 0o644, []byte("127.0.0.1 localhost\n::1 localhost\n"))

	w.HostFile("/bin/busybox", t.busybox, 0o755)
	for _, a := range t.applets {
		w.Symlink("/bin/"+a, "busybox")
	}
	if t.dash != "" {
		w.HostFile("/bin/dash", t.dash, 0o755)
		w.Symlink("/bin/sh", "dash")
	}
	w.HostFile("/bin/kmod", t.kmod, 0o755)
	for _, k := range kmodTools {
		w.Symlink("/sbin/"+k, "../bin/kmod")
	}
	w.HostFile("/sbin/ip", t.ip, 0o755)
	w.Symlink("/usr/sbin/ip", "../../sbin/ip")
	for _, lib := range t.libs {
		w.HostFile(lib, lib, 0o755)
	}
}

func stripCompression(p string) string {
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		if s, ok := strings.CutSuffix(p, ext); ok {
			return s
		}
	}
	return p
}

// copyModule copies a module, decompressing .ko.xz/.ko.zst/.ko.gz: the
// kernel then loads it whatever its in-kernel decompression support.
func copyModule(ctx context.Context, src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	var tool string
	switch path.Ext(src) {
	case ".xz":
		tool = "xz"
	case ".zst":
		tool = "zstd"
	case ".gz":
		tool = "gzip"
	default:
		return copyFile(src, dst)
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, tool, "-d", "-c", src)
	cmd.Stdout = out
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s -d %s: %w: %s", tool, src, err, stderr.String())
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
