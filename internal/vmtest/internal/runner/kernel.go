package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// KernelSpec names one kernel of the matrix and the Debian suite whose
// linux-image-cloud-amd64 provides it (a backports suite for the newest).
type KernelSpec struct {
	Name  string // "5.10"
	Suite string // "bullseye"
}

// Matrix is every kernel the runner knows, oldest first.
var Matrix = []KernelSpec{
	{Name: "5.10", Suite: "bullseye"},
	{Name: "6.1", Suite: "bookworm"},
	{Name: "6.12", Suite: "trixie"},
	{Name: "7.3", Suite: "trixie-backports"},
}

// LookupKernel finds a kernel by matrix name or suite.
func LookupKernel(name string) (KernelSpec, error) {
	var names []string
	for _, k := range Matrix {
		if k.Name == name || k.Suite == name {
			return k, nil
		}
		names = append(names, k.Name)
	}
	return KernelSpec{}, fmt.Errorf("unknown kernel %q: want one of %s (or their Debian suites)", name, strings.Join(names, ", "))
}

// kernelImage is an extracted kernel package in the cache.
type kernelImage struct {
	Spec    KernelSpec `json:"-"`
	Package string     `json:"package"`
	Version string     `json:"version"`
	Parts   []string   `json:"parts,omitempty"` // linux-{base,binary,modules}-* of a split kernel
	Release string     `json:"release"`         // uname -r
	Dir     string     `json:"-"`
}

func (k *kernelImage) vmlinuz() string { return filepath.Join(k.Dir, "vmlinuz") }
func (k *kernelImage) modulesDir() string {
	return filepath.Join(k.Dir, "root", "lib", "modules", k.Release)
}

// resolution remembers which package a suite's meta package pointed at.
type resolution struct {
	Package  string    `json:"package"`
	Version  string    `json:"version"`
	Parts    []string  `json:"parts,omitempty"` // of a split kernel (see kernelPackages)
	Resolved time.Time `json:"resolved"`
}

func safeName(s string) string {
	return strings.NewReplacer(":", "%3a", "/", "_").Replace(s)
}

func (r *runner) kernelDir(pkg, version string) string {
	return filepath.Join(r.opts.CacheDir, "kernels", safeName(pkg+"_"+version))
}

func (r *runner) loadImage(spec KernelSpec, pkg, version string) (*kernelImage, bool) {
	dir := r.kernelDir(pkg, version)
	raw, err := os.ReadFile(filepath.Join(dir, "info.json"))
	if err != nil {
		return nil, false
	}
	var k kernelImage
	if json.Unmarshal(raw, &k) != nil || k.Release == "" {
		return nil, false
	}
	k.Spec, k.Dir = spec, dir
	return &k, true
}

// lock takes an exclusive lock shared with other runner processes using
// the same cache directory.
func (r *runner) lock(name string) (unlock func(), err error) {
	dir := filepath.Join(r.opts.CacheDir, "locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, name+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", f.Name(), err)
	}
	return func() { f.Close() }, nil
}

// ensureKernel returns the suite's current kernel from the cache, resolving
// it with apt at most every RefreshAfter (or always with Refresh) and
// downloading it when the cache lacks that version.
func (r *runner) ensureKernel(ctx context.Context, spec KernelSpec) (*kernelImage, error) {
	unlock, err := r.lock(spec.Suite)
	if err != nil {
		return nil, err
	}
	defer unlock()

	resFile := filepath.Join(r.opts.CacheDir, "kernels", spec.Suite+".json")
	var cached resolution
	var cachedImage *kernelImage
	if raw, err := os.ReadFile(resFile); err == nil && json.Unmarshal(raw, &cached) == nil {
		if k, ok := r.loadImage(spec, cached.Package, cached.Version); ok {
			cachedImage = k
			if !r.opts.Refresh && time.Since(cached.Resolved) < r.opts.RefreshAfter {
				return k, nil
			}
		}
	}

	src, err := r.source()
	if err != nil {
		if cachedImage != nil {
			r.logf("%s: %v; using cached %s %s", spec.Name, err, cached.Package, cached.Version)
			return cachedImage, nil
		}
		return nil, err
	}
	apt := aptRoot{dir: filepath.Join(r.opts.CacheDir, "apt", spec.Suite), suite: spec.Suite}
	if err := apt.init(src); err != nil {
		return nil, err
	}
	r.logf("%s: resolving linux-image-cloud-amd64 in %s (%s)", spec.Name, spec.Suite, src.URI)
	kp, err := apt.resolve(ctx, spec.Name)
	if err != nil {
		if cachedImage != nil {
			r.logf("%s: %v\n  using cached %s %s", spec.Name, err, cached.Package, cached.Version)
			return cachedImage, nil
		}
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	res, _ := json.Marshal(resolution{Package: kp.Image, Version: kp.Version, Parts: kp.Parts, Resolved: time.Now().UTC()})
	if k, ok := r.loadImage(spec, kp.Image, kp.Version); ok {
		return k, writeFileAtomic(resFile, res)
	}

	r.logf("%s: downloading %s %s", spec.Name, strings.Join(kp.all(), " "), kp.Version)
	k, err := r.fetchKernel(ctx, apt, spec, kp)
	if err != nil {
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	return k, writeFileAtomic(resFile, res)
}

func (r *runner) source() (aptSource, error) {
	if r.opts.Mirror != "" {
		return aptSource{URI: r.opts.Mirror, From: "-mirror"}, nil
	}
	return findDebianSource("/etc/apt")
}

func (r *runner) fetchKernel(ctx context.Context, apt aptRoot, spec KernelSpec, kp kernelPackages) (*kernelImage, error) {
	tmpRoot := filepath.Join(r.opts.CacheDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(tmpRoot, "kernel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	// A split kernel's parts unpack into one tree, as dpkg would install
	// them: vmlinuz, the modules and the modules.builtin files meet in
	// usr/lib/modules/<release>.
	x := filepath.Join(tmp, "x")
	for _, pkg := range kp.all() {
		deb, err := apt.download(ctx, tmp, pkg, kp.Version)
		if err != nil {
			return nil, err
		}
		if err := runTool(ctx, tmp, "dpkg-deb", "-x", deb, x); err != nil {
			return nil, err
		}
	}
	vmlinuz, release, modules, err := findKernel(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", strings.Join(kp.all(), ", "), err)
	}
	pkg, version := kp.Image, kp.Version

	entry := filepath.Join(tmp, "entry")
	if err := os.MkdirAll(filepath.Join(entry, "root", "lib", "modules"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(vmlinuz, filepath.Join(entry, "vmlinuz")); err != nil {
		return nil, err
	}
	if err := os.Rename(modules, filepath.Join(entry, "root", "lib", "modules", release)); err != nil {
		return nil, err
	}
	// Debian generates modules.dep at install time; the index is needed to
	// pick a module's dependencies.
	if err := runTool(ctx, entry, "depmod", "-b", filepath.Join(entry, "root"), release); err != nil {
		return nil, err
	}
	k := &kernelImage{Spec: spec, Package: pkg, Version: version, Parts: kp.Parts, Release: release}
	info, _ := json.MarshalIndent(k, "", "  ")
	if err := os.WriteFile(filepath.Join(entry, "info.json"), info, 0o644); err != nil {
		return nil, err
	}
	final := r.kernelDir(pkg, version)
	if err := os.MkdirAll(filepath.Dir(final), 0o755); err != nil {
		return nil, err
	}
	if err := os.RemoveAll(final); err != nil {
		return nil, err
	}
	if err := os.Rename(entry, final); err != nil {
		return nil, err
	}
	k.Dir = final
	return k, nil
}

// findKernel finds, in the unpacked packages x, the kernel image, its
// release (uname -r) and its modules directory. Two layouts exist:
//
//	boot/vmlinuz-<release> with lib/modules/<release> or usr/lib/modules/<release>  (up to 6.12)
//	usr/lib/modules/<release>/vmlinuz (or lib/modules/...), modules beside it      (7.x, split packages)
func findKernel(x string) (vmlinuz, release, modules string, err error) {
	boot, _ := filepath.Glob(filepath.Join(x, "boot", "vmlinuz-*"))
	var inModules []string
	for _, d := range []string{"lib/modules", "usr/lib/modules"} {
		m, _ := filepath.Glob(filepath.Join(x, d, "*", "vmlinuz"))
		inModules = append(inModules, m...)
	}
	switch {
	case len(boot) == 1 && len(inModules) == 0:
		vmlinuz = boot[0]
		release = strings.TrimPrefix(filepath.Base(vmlinuz), "vmlinuz-")
	case len(boot) == 0 && len(inModules) == 1:
		vmlinuz = inModules[0]
		release = filepath.Base(filepath.Dir(vmlinuz))
	default:
		return "", "", "", fmt.Errorf("expected one kernel image (boot/vmlinuz-* or {usr/,}lib/modules/*/vmlinuz), found %d", len(boot)+len(inModules))
	}
	for _, d := range []string{"lib/modules", "usr/lib/modules"} {
		if p := filepath.Join(x, d, release); fileExists(p) {
			if modules != "" {
				return "", "", "", fmt.Errorf("modules of %s in both lib/modules and usr/lib/modules", release)
			}
			modules = p
		}
	}
	if modules == "" {
		return "", "", "", fmt.Errorf("no lib/modules/%s or usr/lib/modules/%s", release, release)
	}
	if !fileExists(filepath.Join(modules, "kernel")) {
		return "", "", "", fmt.Errorf("%s has no kernel/ directory of modules", strings.TrimPrefix(modules, x+string(filepath.Separator)))
	}
	return vmlinuz, release, modules, nil
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
