package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

// guestInitPackage is built into the VM's /init.
const guestInitPackage = "github.com/tunnelstat/tunnelstat/internal/vmtest/internal/guestinit"

// maxTestdataBytes bounds the testdata copied into the VM per package.
const maxTestdataBytes = 64 << 20

// testPackage is a package whose test binary was built.
type testPackage struct {
	ImportPath string
	Dir        string // on the host
	RelDir     string // relative to the module root, slash separated
	Binary     string // on the host
}

// built is what every VM of a run shares.
type built struct {
	packages []testPackage
	initBin  string
	t2jBin   string
}

type goPackage struct {
	ImportPath   string
	Dir          string
	TestGoFiles  []string
	XTestGoFiles []string
	Module       *struct{ Dir string }
}

func (r *runner) goCmd(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	return cmd
}

func (r *runner) runGo(ctx context.Context, args ...string) ([]byte, error) {
	cmd := r.goCmd(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// build compiles, statically, the test binary of every package matching the
// patterns, the guest init and test2json.
func (r *runner) build(ctx context.Context, dir string) (*built, error) {
	out, err := r.runGo(ctx, append([]string{"list", "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles,Module"}, r.opts.Packages...)...)
	if err != nil {
		return nil, err
	}
	var b built
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p goPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("go list: %w", err)
		}
		if len(p.TestGoFiles)+len(p.XTestGoFiles) == 0 {
			r.logf("%s: no test files, skipped", p.ImportPath)
			continue
		}
		rel := path.Base(p.ImportPath)
		if p.Module != nil {
			if r, err := filepath.Rel(p.Module.Dir, p.Dir); err == nil {
				rel = filepath.ToSlash(r)
			}
		}
		bin := filepath.Join(dir, fmt.Sprintf("%02d-%s.test", len(b.packages), path.Base(p.ImportPath)))
		b.packages = append(b.packages, testPackage{ImportPath: p.ImportPath, Dir: p.Dir, RelDir: rel, Binary: bin})
	}
	if len(b.packages) == 0 {
		return nil, fmt.Errorf("no package with tests matches %s", strings.Join(r.opts.Packages, " "))
	}
	for _, p := range b.packages {
		r.logf("building %s", p.ImportPath)
		if _, err := r.runGo(ctx, "test", "-c", "-ldflags=-s -w", "-o", p.Binary, p.ImportPath); err != nil {
			return nil, err
		}
	}
	b.initBin = filepath.Join(dir, "init")
	if _, err := r.runGo(ctx, "build", "-ldflags=-s -w", "-o", b.initBin, guestInitPackage); err != nil {
		return nil, err
	}
	b.t2jBin = filepath.Join(dir, "test2json")
	if _, err := r.runGo(ctx, "build", "-ldflags=-s -w", "-o", b.t2jBin, "cmd/test2json"); err != nil {
		return nil, err
	}
	return &b, nil
}

// writeRunArchive writes the part of the initramfs every kernel shares:
// /init, test2json, the test binaries and their testdata.
func (r *runner) writeRunArchive(b *built, file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := newCPIOWriter(f)
	w.HostFile("/init", b.initBin, 0o755)
	w.HostFile(protocol.Test2JSON, b.t2jBin, 0o755)
	for _, p := range b.packages {
		w.HostFile(r.guestBinary(p), p.Binary, 0o755)
		guestDir := path.Join(protocol.SourceDir, p.RelDir)
		w.Dir(guestDir)
		if err := addTestdata(w, filepath.Join(p.Dir, "testdata"), path.Join(guestDir, "testdata")); err != nil {
			f.Close()
			return fmt.Errorf("%s: %w", p.ImportPath, err)
		}
	}
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (r *runner) guestBinary(p testPackage) string {
	return path.Join(protocol.TestsDir, filepath.Base(p.Binary))
}

func addTestdata(w *cpioWriter, hostDir, guestDir string) error {
	var total int64
	err := filepath.Walk(hostDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == hostDir {
				return filepath.SkipDir
			}
			return err
		}
		rel, _ := filepath.Rel(hostDir, p)
		target := path.Join(guestDir, filepath.ToSlash(rel))
		switch {
		case info.IsDir():
			w.Dir(target)
		case info.Mode().IsRegular():
			total += info.Size()
			if total > maxTestdataBytes {
				return fmt.Errorf("testdata is larger than %d bytes", maxTestdataBytes)
			}
			w.HostFile(target, p, 0o644)
		case info.Mode()&os.ModeSymlink != 0:
			if dest, err := os.Readlink(p); err == nil {
				w.Symlink(target, dest)
			}
		}
		return nil
	})
	if err == filepath.SkipDir {
		return nil
	}
	return err
}

// writeConfigArchive writes the per-kernel part: the guest's Config.
func (r *runner) writeConfigArchive(b *built, spec KernelSpec, deadline time.Time, file string) error {
	cfg := protocol.Config{
		Kernel:    spec.Name,
		MaxKernel: Matrix[len(Matrix)-1].Name,
		Deadline:  deadline,
		Preload:   r.opts.Preload,
	}
	for _, p := range b.packages {
		args := []string{"-test.paniconexit0", "-test.count=1"}
		if r.opts.Run != "" {
			args = append(args, "-test.run="+r.opts.Run)
		}
		args = append(args, r.opts.TestArgs...)
		cfg.Packages = append(cfg.Packages, protocol.Package{
			ImportPath: p.ImportPath,
			Binary:     r.guestBinary(p),
			Dir:        path.Join(protocol.SourceDir, p.RelDir),
			Args:       args,
			Timeout:    r.opts.Timeout,
		})
	}
	raw, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	w := newCPIOWriter(f)
	w.Bytes(protocol.ConfigPath, 0o644, raw)
	if err := w.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
