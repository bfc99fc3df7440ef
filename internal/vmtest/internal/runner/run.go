// Package runner boots the vmtest kernel matrix and runs test binaries in it.
// See ../../README.md for the command and ../../doc.go for the test side.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Options configure a run. Zero values get the defaults of the vmtest
// command's flags.
type Options struct {
	Kernels      []string      // matrix names ("5.10") or suites ("bullseye")
	Packages     []string      // go package patterns
	Run          string        // -test.run for every package
	TestArgs     []string      // more test binary flags (-test.count=3 ...)
	Timeout      time.Duration // per kernel: boot, every package, power off
	Parallel     int           // VMs at once
	CacheDir     string        // downloads, extracted kernels, initramfs bases
	ResultsDir   string        // console logs, results, artifacts of this run
	CapturesDir  string        // if set, artifacts of passing kernels go to <dir>/<kernel>/
	Refresh      bool          // ask apt for the newest kernel now
	RefreshAfter time.Duration // ask apt again once the last answer is older
	Mirror       string        // Debian archive URI; default from /etc/apt
	MemoryMiB    int
	CPUs         int
	ExtraModules []string // added to DefaultModules
	Preload      []string // modprobe'd before the tests start
	Verbose      bool     // print every test's output
	Stdout       io.Writer
	Stderr       io.Writer
}

// ErrTestsFailed is returned when a test failed or a kernel did not finish.
var ErrTestsFailed = errors.New("vmtest: failures")

type runner struct {
	opts  Options
	qemu  string
	logMu sync.Mutex
}

func (r *runner) logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	fmt.Fprintf(r.opts.Stderr, "vmtest: "+format+"\n", args...)
}

// kernelRun is the outcome of one kernel.
type kernelRun struct {
	spec     KernelSpec
	image    *kernelImage
	report   *guestReport
	err      error // could not prepare, boot or finish
	dir      string
	console  string
	duration time.Duration // preparing, waiting for a VM slot, running
	vmTime   time.Duration // from qemu's start to its exit
}

// failed reports whether anything in this kernel failed.
func (kr *kernelRun) failed() bool {
	if kr.err != nil || kr.report == nil || !kr.report.Done || len(kr.report.Errors) > 0 {
		return true
	}
	for _, t := range kr.report.Tests {
		if t.Action == "fail" || t.Action == "" && t.Test != "" {
			return true
		}
	}
	for _, code := range kr.report.Exits {
		if code != 0 {
			return true
		}
	}
	return false
}

// Run builds the tests, boots every kernel and reports. It returns
// ErrTestsFailed (wrapped) when anything failed.
func Run(ctx context.Context, opts Options) error {
	if err := setDefaults(&opts); err != nil {
		return err
	}
	var specs []KernelSpec
	seen := map[string]bool{}
	for _, name := range opts.Kernels {
		spec, err := LookupKernel(name)
		if err != nil {
			return err
		}
		if !seen[spec.Name] {
			specs = append(specs, spec)
			seen[spec.Name] = true
		}
	}
	r := &runner{opts: opts}
	var err error
	if r.qemu, err = exec.LookPath("qemu-system-x86_64"); err != nil {
		return fmt.Errorf("qemu-system-x86_64 not found (Debian package qemu-system-x86; run internal/vmtest/setup.sh)")
	}
	tools, err := findHostTools(ctx)
	if err != nil {
		return err
	}
	start := time.Now()
	removeStale(filepath.Join(opts.CacheDir, "tmp"), 6*time.Hour)
	tmp, err := os.MkdirTemp("", "vmtest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	if err := os.MkdirAll(opts.ResultsDir, 0o755); err != nil {
		return err
	}

	// The test binaries build while the kernels are fetched and their
	// initramfs bases made; only the VMs, which each keep a core busy, wait
	// for a slot.
	bctx, cancelBuild := context.WithCancel(ctx)
	defer cancelBuild()
	runArchive := filepath.Join(tmp, "run.cpio")
	build := &buildResult{done: make(chan struct{})}
	go func() {
		defer close(build.done)
		if build.b, build.err = r.build(bctx, tmp); build.err == nil {
			build.err = r.writeRunArchive(build.b, runArchive)
		}
		if build.err == nil {
			r.logf("built %d test binaries in %v", len(build.b.packages), time.Since(start).Round(time.Millisecond))
		}
	}()

	runs := make([]*kernelRun, len(specs))
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	for i, spec := range specs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runs[i] = r.runKernel(ctx, spec, tools, build, runArchive, tmp, sem)
		}()
	}
	wg.Wait()
	<-build.done
	if build.err != nil {
		return build.err
	}

	failed := r.report(runs)
	r.saveArtifacts(runs)
	fmt.Fprintf(opts.Stdout, "vmtest: results in %s (total %v)\n", opts.ResultsDir, time.Since(start).Round(time.Second))
	if failed {
		return ErrTestsFailed
	}
	return nil
}

// buildResult is the test build, shared by every kernel once done is
// closed.
type buildResult struct {
	done chan struct{}
	b    *built
	err  error
}

func (r *runner) runKernel(ctx context.Context, spec KernelSpec, tools *hostTools, build *buildResult, runArchive, tmp string, sem chan struct{}) *kernelRun {
	kr := &kernelRun{spec: spec, dir: filepath.Join(r.opts.ResultsDir, spec.Name)}
	kr.console = filepath.Join(kr.dir, "console.log")
	start := time.Now()
	defer func() { kr.duration = time.Since(start) }()
	if kr.err = os.MkdirAll(kr.dir, 0o755); kr.err != nil {
		return kr
	}
	if kr.image, kr.err = r.ensureKernel(ctx, spec); kr.err != nil {
		return kr
	}
	base, err := r.ensureBase(ctx, kr.image, tools)
	if err != nil {
		kr.err = err
		return kr
	}
	<-build.done
	if build.err != nil {
		kr.err = errors.New("not run: the test build failed")
		return kr
	}
	b := build.b
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		kr.err = ctx.Err()
		return kr
	}
	defer func() { <-sem }()
	// The deadline is known once the VM is about to start; the guest's
	// clock comes from qemu's RTC, which follows the host's.
	config := filepath.Join(tmp, spec.Name+"-config.cpio")
	if kr.err = r.writeConfigArchive(b, spec, time.Now().Add(r.opts.Timeout), config); kr.err != nil {
		return kr
	}
	initrd := filepath.Join(tmp, spec.Name+"-initrd.cpio")
	if kr.err = concatFiles(initrd, base, runArchive, config); kr.err != nil {
		return kr
	}
	defer os.Remove(initrd)
	r.logf("%s: booting %s", spec.Name, kr.image.Release)
	results := filepath.Join(kr.dir, "results.log")
	bootStart := time.Now()
	bootErr := r.boot(ctx, kr.image, initrd, kr.console, results, filepath.Join(kr.dir, "qemu.log"))
	f, err := os.Open(results)
	if err == nil {
		kr.report, err = parseResults(f)
		f.Close()
	}
	kr.err = errors.Join(bootErr, err)
	if kr.err == nil && !kr.report.Done {
		kr.err = errors.New("the VM stopped before the tests finished (kernel panic or init failure: see the console)")
	}
	kr.vmTime = time.Since(bootStart)
	r.logf("%s: VM finished in %v", spec.Name, kr.vmTime.Round(100*time.Millisecond))
	return kr
}

func concatFiles(dst string, srcs ...string) error {
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	for _, s := range srcs {
		in, err := os.Open(s)
		if err != nil {
			out.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// report prints the table and the details of failures; it reports whether
// anything failed.
func (r *runner) report(runs []*kernelRun) bool {
	out := r.opts.Stdout
	var passed, failedN, skipped int
	anyFailed := false
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KERNEL\tPACKAGE\tTEST\tRESULT\tTIME\tREASON")
	for _, kr := range runs {
		if kr.report == nil {
			fmt.Fprintf(tw, "%s\t-\t-\tERROR\t%s\t%s\n", kr.spec.Name, kr.duration.Round(100*time.Millisecond), firstLine(kr.err))
			failedN++
			continue
		}
		failedTests, ran := 0, 0
		for _, t := range kr.report.Tests {
			if t.Test != "" {
				ran++
			}
		}
		if ran == 0 {
			fmt.Fprintf(tw, "%s\t-\t(no tests ran)\tNONE\t-\t%s\n", kr.spec.Name, "no test matched -run in any package")
		}
		for _, t := range kr.report.Tests {
			if t.Test == "" {
				continue
			}
			result := strings.ToUpper(t.Action)
			switch t.Action {
			case "pass":
				passed++
			case "skip":
				skipped++
			case "fail":
				failedN++
				failedTests++
			default:
				result = "NO RESULT"
				failedN++
				failedTests++
			}
			reason := t.Reason()
			if t.Action == "pass" {
				reason = ""
				// Passing subtests (fuzz seeds, table cases) are counted
				// but listed only with -v.
				if strings.Contains(t.Test, "/") && !r.opts.Verbose {
					continue
				}
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1fs\t%s\n", kr.spec.Name, r.shortPkg(t.Package), t.Test, result, t.Elapsed, clip(reason, 140))
		}
		pkgs := make([]string, 0, len(kr.report.Exits))
		for p := range kr.report.Exits {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		for _, p := range pkgs {
			if code := kr.report.Exits[p]; code != 0 && failedTests == 0 {
				fmt.Fprintf(tw, "%s\t%s\t(package)\tFAIL\t-\ttest binary exited with %d\n", kr.spec.Name, r.shortPkg(p), code)
				failedN++
			}
		}
		if kr.err != nil || len(kr.report.Errors) > 0 {
			msg := firstLine(kr.err)
			if msg == "" {
				msg = kr.report.Errors[0]
			}
			fmt.Fprintf(tw, "%s\t-\t(kernel)\tERROR\t%.1fs\t%s\n", kr.spec.Name, kr.duration.Seconds(), clip(msg, 140))
			failedN++
		}
	}
	tw.Flush()

	for _, kr := range runs {
		fmt.Fprintf(out, "\n%s", kr.spec.Name)
		if kr.image != nil {
			fmt.Fprintf(out, ": %s %s", kr.image.Package, kr.image.Version)
		}
		status := "ok"
		if kr.failed() {
			status, anyFailed = "FAILED", true
		}
		fmt.Fprintf(out, " (VM %v of %v): %s\n", kr.vmTime.Round(100*time.Millisecond), kr.duration.Round(100*time.Millisecond), status)
		if !kr.failed() && !r.opts.Verbose {
			continue
		}
		if kr.err != nil {
			fmt.Fprintf(out, "  error: %v\n", kr.err)
		}
		if kr.report != nil {
			for _, e := range kr.report.Errors {
				fmt.Fprintf(out, "  guest error: %s\n", e)
			}
			for _, t := range kr.report.Tests {
				if (t.Action == "fail" || r.opts.Verbose || t.Action == "") && len(t.Output) > 0 {
					name := t.Test
					if name == "" {
						name = "(package output)"
					}
					action := strings.ToUpper(t.Action)
					if action == "" {
						action = "NO RESULT"
					}
					fmt.Fprintf(out, "  --- %s %s %s\n", action, r.shortPkg(t.Package), name)
					for _, l := range t.Output {
						fmt.Fprintf(out, "    %s\n", l)
					}
				}
			}
		}
		if kr.failed() {
			fmt.Fprintf(out, "  console: %s\n", kr.console)
			if data, err := os.ReadFile(kr.console); err == nil {
				fmt.Fprintf(out, "  last lines of the console:\n")
				for _, l := range strings.Split(tail(printable(string(data)), 40), "\n") {
					fmt.Fprintf(out, "  | %s\n", l)
				}
			}
		}
	}
	// The plain closing line CI logs are read for.
	fmt.Fprintf(out, "\nvmtest: %d passed, %d failed, %d skipped\n", passed, failedN, skipped)
	return anyFailed || failedN > 0
}

// printable drops the terminal control sequences firmware and kernel write
// to the console, so its tail reads cleanly in a CI log.
func printable(s string) string {
	s = ansiEscape.ReplaceAllString(s, "")
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r >= ' ' && r != 0x7f {
			return r
		}
		return -1
	}, s)
}

var ansiEscape = regexp.MustCompile(`\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[A-Za-z])`)

func (r *runner) shortPkg(p string) string {
	return strings.TrimPrefix(p, "github.com/tunnelstat/tunnelstat/")
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	l, _, _ := strings.Cut(err.Error(), "\n")
	return l
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// saveArtifacts writes every artifact into the results directory, and those
// of passing kernels into the captures directory.
func (r *runner) saveArtifacts(runs []*kernelRun) {
	for _, kr := range runs {
		if kr.report == nil || len(kr.report.Artifacts) == 0 {
			continue
		}
		for _, a := range kr.report.Artifacts {
			p, err := safeJoin(filepath.Join(kr.dir, "artifacts", r.shortPkg(a.Package)), a.Path)
			if err == nil {
				err = writeFile(p, a.Data)
			}
			if err != nil {
				r.logf("%s: artifact %s: %v", kr.spec.Name, a.Path, err)
			}
		}
		if r.opts.CapturesDir == "" || kr.failed() {
			continue
		}
		dir := filepath.Join(r.opts.CapturesDir, kr.spec.Name)
		// Replace each test's captures whole, so renamed files go away.
		cleared := map[string]bool{}
		for _, a := range kr.report.Artifacts {
			top, _, _ := strings.Cut(a.Path, "/")
			if !cleared[top] {
				if p, err := safeJoin(dir, top); err == nil {
					os.RemoveAll(p)
				}
				cleared[top] = true
			}
			p, err := safeJoin(dir, a.Path)
			if err == nil {
				err = writeFile(p, a.Data)
			}
			if err != nil {
				r.logf("%s: capture %s: %v", kr.spec.Name, a.Path, err)
			}
		}
		info := fmt.Sprintf("kernel: %s\nrelease: %s\npackage: %s\nversion: %s\nsuite: %s\n",
			kr.spec.Name, kr.report.Release, kr.image.Package, kr.image.Version, kr.spec.Suite)
		if err := writeFile(filepath.Join(dir, "KERNEL"), []byte(info)); err != nil {
			r.logf("%s: %v", kr.spec.Name, err)
		}
		r.logf("%s: %d captures in %s", kr.spec.Name, len(kr.report.Artifacts), dir)
	}
}

// safeJoin joins a guest-supplied relative path under dir, refusing
// anything that would leave it.
func safeJoin(dir, rel string) (string, error) {
	clean := filepath.Clean(filepath.FromSlash(rel))
	if filepath.IsAbs(clean) || clean == "." || clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("path %q leaves the artifacts directory", rel)
	}
	return filepath.Join(dir, clean), nil
}

func writeFile(p string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

func setDefaults(o *Options) error {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if len(o.Kernels) == 0 {
		for _, k := range Matrix {
			o.Kernels = append(o.Kernels, k.Name)
		}
	}
	if len(o.Packages) == 0 {
		o.Packages = []string{"./internal/vmtest/"}
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Minute
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
	if o.RefreshAfter <= 0 {
		o.RefreshAfter = 7 * 24 * time.Hour
	}
	if o.MemoryMiB <= 0 {
		o.MemoryMiB = 1024
	}
	if o.CPUs <= 0 {
		o.CPUs = 1
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.ResultsDir == "" {
		base := filepath.Join(o.CacheDir, "results")
		pruneResults(base, 20)
		o.ResultsDir = filepath.Join(base, time.Now().Format("20060102-150405")+fmt.Sprintf("-%d", os.Getpid()))
	}
	var err error
	if o.CacheDir, err = filepath.Abs(o.CacheDir); err != nil {
		return err
	}
	if o.ResultsDir, err = filepath.Abs(o.ResultsDir); err != nil {
		return err
	}
	if o.CapturesDir != "" {
		if o.CapturesDir, err = filepath.Abs(o.CapturesDir); err != nil {
			return err
		}
	}
	return os.MkdirAll(o.CacheDir, 0o755)
}

// EnvCache overrides the default cache directory.
const EnvCache = "TUNNELSTAT_VMTEST_CACHE"

// DefaultCacheDir is $TUNNELSTAT_VMTEST_CACHE, else
// $XDG_CACHE_HOME/tunnelstat-vmtest, else ~/.cache/tunnelstat-vmtest.
func DefaultCacheDir() string {
	if d := os.Getenv(EnvCache); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "tunnelstat-vmtest")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".cache", "tunnelstat-vmtest")
	}
	return filepath.Join(os.TempDir(), "tunnelstat-vmtest")
}

// removeStale deletes what an interrupted run left in the cache's tmp
// directory; other runs' work there is younger than maxAge.
func removeStale(dir string, maxAge time.Duration) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > maxAge {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// pruneResults keeps the newest keep result directories.
func pruneResults(base string, keep int) {
	entries, err := os.ReadDir(base)
	if err != nil {
		return
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for len(names) >= keep {
		os.RemoveAll(filepath.Join(base, names[0]))
		names = names[1:]
	}
}
