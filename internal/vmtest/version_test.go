package vmtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
	}{
		{"5.10", Version{5, 10, 0}},
		{"6.1.0", Version{6, 1, 0}},
		{"6.12.107+deb13-cloud-amd64", Version{6, 12, 107}},
		{"7.3.4+deb13-cloud-amd64", Version{7, 3, 4}},
		{"5.10.0-32-cloud-amd64", Version{5, 10, 0}},
		{"6.18.44-fc-v769", Version{6, 18, 44}},
		{"4", Version{4, 0, 0}},
	} {
		got, err := ParseVersion(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "-rc1", "6..1", "1.2.3.4", "70000.1", "x"} {
		if v, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) = %v, want an error", bad, v)
		}
	}
}

// The release and version strings are uname's fields of the VM kernels
// (from their consoles' "Linux version" lines) and of this host. 7.3 comes
// from trixie-backports: its Debian version says ~bpo13+1.
func TestKernelVersionFrom(t *testing.T) {
	for _, tc := range []struct {
		release, version string
		want             Version
	}{
		{"5.10.0-32-cloud-amd64", "#1 SMP Debian 5.10.223-1 (2024-08-10)", Version{5, 10, 223}},
		{"6.1.0-50-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.176-1 (2026-07-02)", Version{6, 1, 176}},
		{"6.12.107+deb13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.12.107-1 (2026-08-29)", Version{6, 12, 107}},
		{"7.3.4+deb13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 7.3.4-1~bpo13+1 (2026-11-15)", Version{7, 3, 4}},
		{"6.18.44-fc-v769", "#1 SMP", Version{6, 18, 44}},
		// A Debian version naming another series is not trusted.
		{"6.1.0-50-cloud-amd64", "#1 SMP Debian 5.10.1-1", Version{6, 1, 0}},
	} {
		got, err := kernelVersionFrom(tc.release, tc.version)
		if err != nil || got != tc.want {
			t.Errorf("kernelVersionFrom(%q, %q) = %v, %v; want %v", tc.release, tc.version, got, err, tc.want)
		}
	}
}

func TestVersionLess(t *testing.T) {
	order := []Version{{4, 19, 300}, {5, 10, 0}, {5, 10, 223}, {6, 1, 0}, {6, 12, 0}, {6, 12, 117}, {7, 0, 0}, {7, 3, 4}}
	for i := range order {
		for j := range order {
			if got, want := order[i].Less(order[j]), i < j; got != want {
				t.Errorf("%v.Less(%v) = %v, want %v", order[i], order[j], got, want)
			}
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"5.10", "6.12.107+deb13-cloud-amd64", "5.10.0-32-cloud-amd64", "", "1.2.3.4", "65535.65535.65535"} {
		f.Add(s, "#1 SMP Debian 5.10.223-1 (2024-08-10)")
	}
	f.Add("7.3.4+deb13-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 7.3.4-1~bpo13+1 (2026-11-15)")
	f.Fuzz(func(t *testing.T, release, version string) {
		v, err := ParseVersion(release)
		if err != nil {
			return
		}
		// What parses round-trips through String.
		w, err := ParseVersion(v.String())
		if err != nil || w != v {
			t.Fatalf("ParseVersion(%q) = %v, but ParseVersion(%q) = %v, %v", release, v, v.String(), w, err)
		}
		if _, err := kernelVersionFrom(release, version); err != nil {
			t.Fatalf("kernelVersionFrom(%q, %q): %v after the release parsed", release, version, err)
		}
	})
}

func TestSaveArtifact(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(protocol.EnvArtifacts, dir)
	SaveArtifact(t, "sender/before/proc_net_dev", []byte("x"))
	got, err := os.ReadFile(filepath.Join(dir, "TestSaveArtifact", "sender", "before", "proc_net_dev"))
	if err != nil || string(got) != "x" {
		t.Fatalf("artifact: %q, %v", got, err)
	}
	for _, bad := range []string{"../escape", "/abs", "", "."} {
		ok := t.Run("reject", func(t *testing.T) {
			// A bad name must fail the (sub)test; run it in a child so the
			// failure is observed, not propagated.
			ft := &fakeTB{TB: t}
			func() {
				defer func() { recover() }()
				SaveArtifact(ft, bad, nil)
			}()
			if !ft.failed {
				t.Errorf("SaveArtifact(%q) accepted the name", bad)
			}
		})
		if !ok {
			return
		}
	}
}

// fakeTB records Fatalf instead of stopping the real test.
type fakeTB struct {
	testing.TB
	failed bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

func TestInVM(t *testing.T) {
	t.Setenv(protocol.EnvInVM, "")
	t.Setenv(protocol.EnvKernel, "6.1")
	if InVM() || Kernel() != "" {
		t.Fatalf("outside a VM: InVM() = %v, Kernel() = %q", InVM(), Kernel())
	}
	t.Setenv(protocol.EnvInVM, "1")
	if !InVM() || Kernel() != "6.1" {
		t.Fatalf("inside a VM: InVM() = %v, Kernel() = %q", InVM(), Kernel())
	}
}

// Successor names are looked up with '_' for '-', as modprobe treats them.
func TestModuleSuccessorsNormalized(t *testing.T) {
	for old, succ := range protocol.ModuleSuccessors {
		if strings.Contains(old, "-") || len(succ) == 0 {
			t.Errorf("ModuleSuccessors[%q] = %q: want a key without '-' and at least one successor", old, succ)
		}
	}
}
