package procnet

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Real captures the VM rig took inside Debian's 5.10, 6.1 and 6.12 kernels
// (internal/vmtest and explain's scenario tests keep them as their fixtures).
var vmCaptureRoots = []string{
	"../internal/vmtest/testdata/captures",
	"../explain/testdata/vm",
}

// vmCaptures returns every capture named name (proc_net_dev or xfrm_stat),
// keyed by the kernel directory it came from.
func vmCaptures(t *testing.T, name string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, root := range vmCaptureRoots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && d.Name() == name {
				rel, _ := filepath.Rel(root, p)
				kernel := strings.SplitN(filepath.ToSlash(rel), "/", 2)[0]
				out[kernel] = append(out[kernel], p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"5.10", "6.1", "6.12"} {
		if len(out[k]) == 0 {
			t.Fatalf("no %s capture from kernel %s under %v", name, k, vmCaptureRoots)
		}
	}
	return out
}

// TestVMKernelNetDevCaptures parses every real /proc/net/dev the VM kernels
// printed, prints it back byte for byte in the kernel's layout, and compares
// every value with prometheus/procfs.
func TestVMKernelNetDevCaptures(t *testing.T) {
	n := 0
	for kernel, files := range vmCaptures(t, "proc_net_dev") {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			devs, err := ParseNetDev(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s (kernel %s): %v", f, kernel, err)
			}
			if got := netDevText(devs); !bytes.Equal(got, data) {
				t.Errorf("%s: printed back differs from the kernel's bytes:\n%s\nkernel:\n%s", f, got, data)
			}
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "net", "dev"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			theirs, err := procfsNetDev(root)
			if err != nil {
				t.Fatalf("%s: procfs: %v", f, err)
			}
			compareNetDev(t, devs, theirs)
			n++
		}
	}
	t.Logf("%d captures from 3 kernels", n)
}

// TestVMKernelXfrmStatCaptures does the same for /proc/net/xfrm_stat, and
// checks which counters each kernel prints: 28 on 5.10 and 6.1, plus the
// two SA-direction counters from 6.10 on.
func TestVMKernelXfrmStatCaptures(t *testing.T) {
	wantCounters := map[string]int{"5.10": 28, "6.1": 28, "6.12": 30}
	for kernel, files := range vmCaptures(t, "xfrm_stat") {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseXfrmStat(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s (kernel %s): %v", f, kernel, err)
			}
			present := 0
			for _, p := range s.present {
				if p {
					present++
				}
			}
			if want, ok := wantCounters[kernel]; ok && (present != want || len(s.Other) != 0) {
				t.Errorf("%s: %d known counters and %d others, want %d and 0", f, present, len(s.Other), want)
			}
			if got := xfrmStatText(s); !bytes.Equal(got, data) {
				t.Errorf("%s: printed back differs from the kernel's bytes", f)
			}
			root := t.TempDir()
			if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(root, "net", "xfrm_stat"), data, 0o644); err != nil {
				t.Fatal(err)
			}
			theirs, err := procfsXfrmStat(root)
			if err != nil {
				t.Fatalf("%s: procfs: %v", f, err)
			}
			compareXfrmStat(t, s, theirs)
			ours, err := NewFS(root).ReadXfrmStat(context.Background())
			if err != nil || ours.OutNoStates != s.OutNoStates {
				t.Errorf("%s: FS read %v, %v", f, ours, err)
			}
		}
	}
}
