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
// linux-image-cloud-amd64 provides it.
type KernelSpec struct {
	Name  string // "5.10"
	Suite string // "bullseye"
}

// Matrix is every kernel the runner knows, oldest first.
var Matrix = []KernelSpec{
	{Name: "5.10", Suite: "bullseye"},
	{Name: "6.1", Suite: "bookworm"},
	{Name: "6.12", Suite: "trixie"},
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
	Release string     `json:"release"` // uname -r
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
	pkg, version, err := apt.resolve(ctx, spec.Name)
	if err != nil {
		if cachedImage != nil {
			r.logf("%s: %v\n  using cached %s %s", spec.Name, err, cached.Package, cached.Version)
			return cachedImage, nil
		}
		return nil, fmt.Errorf("kernel %s: %w", spec.Name, err)
	}
	res, _ := json.Marshal(resolution{Package: pkg, Version: version, Resolved: time.Now().UTC()})
	if k, ok := r.loadImage(spec, pkg, version); ok {
		return k, writeFileAtomic(resFile, res)
	}

	r.logf("%s: downloading %s %s", spec.Name, pkg, version)
	k, err := r.fetchKernel(ctx, apt, spec, pkg, version)
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

func (r *runner) fetchKernel(ctx context.Context, apt aptRoot, spec KernelSpec, pkg, version string) (*kernelImage, error) {
	tmpRoot := filepath.Join(r.opts.CacheDir, "tmp")
	if err := os.MkdirAll(tmpRoot, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(tmpRoot, "kernel-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	deb, err := apt.download(ctx, tmp, pkg, version)
	if err != nil {
		return nil, err
	}
	x := filepath.Join(tmp, "x")
	if err := runTool(ctx, tmp, "dpkg-deb", "-x", deb, x); err != nil {
		return nil, err
	}
	vmlinuz, _ := filepath.Glob(filepath.Join(x, "boot", "vmlinuz-*"))
	if len(vmlinuz) != 1 {
		return nil, fmt.Errorf("%s: expected one boot/vmlinuz-*, found %d", pkg, len(vmlinuz))
	}
	release := strings.TrimPrefix(filepath.Base(vmlinuz[0]), "vmlinuz-")
	modules := ""
	for _, d := range []string{"lib/modules", "usr/lib/modules"} {
		if p := filepath.Join(x, d, release); fileExists(p) {
			modules = p
		}
	}
	if modules == "" {
		return nil, fmt.Errorf("%s: no lib/modules/%s or usr/lib/modules/%s", pkg, release, release)
	}

	entry := filepath.Join(tmp, "entry")
	if err := os.MkdirAll(filepath.Join(entry, "root", "lib", "modules"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(vmlinuz[0], filepath.Join(entry, "vmlinuz")); err != nil {
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
	k := &kernelImage{Spec: spec, Package: pkg, Version: version, Release: release}
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
