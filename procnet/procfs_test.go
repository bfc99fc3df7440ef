package procnet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/procfs"
)

// Differential tests against github.com/prometheus/procfs, the parser most
// Go programs use: on every fixture it can read, the values must be
// identical. Where procfs fails or panics, that is logged and procnet's
// answer is checked by the fixture tests instead.

// procfsNetDev reads a /proc/net/dev copy with procfs, turning its panics
// into errors.
func procfsNetDev(root string) (nd procfs.NetDev, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("procfs panicked: %v", r)
		}
	}()
	fs, err := procfs.NewFS(root)
	if err != nil {
		return nil, err
	}
	return fs.NetDev()
}

func procfsXfrmStat(root string) (x procfs.XfrmStat, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("procfs panicked: %v", r)
		}
	}()
	fs, err := procfs.NewFS(root)
	if err != nil {
		return x, err
	}
	return fs.NewXfrmStat()
}

func TestDifferentialNetDevProcfs(t *testing.T) {
	compared := 0
	for _, f := range netDevFixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			root := fakeProc(t, map[string]string{"dev": filepath.Base(f)})
			theirs, err := procfsNetDev(root)
			if err != nil {
				t.Skipf("procfs cannot read it: %v", err)
			}
			ours, err := NewFS(root).ReadNetDev(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			compareNetDev(t, ours, theirs)
			compared++
		})
	}
	if compared == 0 {
		t.Fatal("procfs read no fixture")
	}
}

func compareNetDev(t *testing.T, ours []DevStats, theirs procfs.NetDev) {
	t.Helper()
	if len(ours) != len(theirs) {
		t.Fatalf("procnet has %d interfaces, procfs %d", len(ours), len(theirs))
	}
	for _, d := range ours {
		p, ok := theirs[d.Name]
		if !ok {
			t.Errorf("procfs has no %q", d.Name)
			continue
		}
		want := [16]uint64{
			p.RxBytes, p.RxPackets, p.RxErrors, p.RxDropped, p.RxFIFO, p.RxFrame, p.RxCompressed, p.RxMulticast,
			p.TxBytes, p.TxPackets, p.TxErrors, p.TxDropped, p.TxFIFO, p.TxCollisions, p.TxCarrier, p.TxCompressed,
		}
		if got := d.values(); got != want {
			t.Errorf("%s: procnet %v\n procfs %v", d.Name, got, want)
		}
	}
}

func TestDifferentialXfrmStatProcfs(t *testing.T) {
	if strconv.IntSize < 64 {
		t.Skip("procfs uses int: the fixtures hold values above 2^31-1")
	}
	compared := 0
	for _, f := range xfrmFixtures(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			root := fakeProc(t, map[string]string{"xfrm_stat": filepath.Base(f)})
			theirs, err := procfsXfrmStat(root)
			if err != nil {
				t.Skipf("procfs cannot read it: %v", err)
			}
			ours, err := NewFS(root).ReadXfrmStat(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			compareXfrmStat(t, ours, theirs)
			compared++
		})
	}
	if compared == 0 {
		t.Fatal("procfs read no fixture")
	}
}

func compareXfrmStat(t *testing.T, ours *XfrmStat, p procfs.XfrmStat) {
	t.Helper()
	// procfs has the 28 classic counters, as int, 0 when absent.
	theirs := []int{
		p.XfrmInError, p.XfrmInBufferError, p.XfrmInHdrError, p.XfrmInNoStates, p.XfrmInStateProtoError,
		p.XfrmInStateModeError, p.XfrmInStateSeqError, p.XfrmInStateExpired, p.XfrmInStateMismatch,
		p.XfrmInStateInvalid, p.XfrmInTmplMismatch, p.XfrmInNoPols, p.XfrmInPolBlock, p.XfrmInPolError,
		p.XfrmOutError, p.XfrmOutBundleGenError, p.XfrmOutBundleCheckError, p.XfrmOutNoStates,
		p.XfrmOutStateProtoError, p.XfrmOutStateModeError, p.XfrmOutStateSeqError, p.XfrmOutStateExpired,
		p.XfrmOutPolBlock, p.XfrmOutPolDead, p.XfrmOutPolError, p.XfrmFwdHdrError, p.XfrmOutStateInvalid,
		p.XfrmAcquireError,
	}
	for i, want := range theirs {
		name := knownXfrmCounters[i]
		got, _ := ours.Counter(name)
		if got != uint64(want) {
			t.Errorf("%s: procnet %d, procfs %d", name, got, want)
		}
	}
	// What procfs drops, procnet keeps.
	extra := 0
	for i := 28; i < len(knownXfrmCounters); i++ {
		if ours.present[i] {
			extra++
		}
	}
	if extra+len(ours.Other) > 0 {
		t.Logf("procfs drops %d counters procnet keeps", extra+len(ours.Other))
	}
}

// TestProcfsFailsWhereProcnetDoesNot documents the procfs failures this
// package exists to avoid, so that a procfs fix shows up here.
func TestProcfsFailsWhereProcnetDoesNot(t *testing.T) {
	short := strings.Join([]string{netDevHeader1, netDevHeader2, "  eth0: 1 2 3", ""}, "\n")
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", "dev"), []byte(short), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := procfsNetDev(root)
	t.Logf("procfs on %q: %v", "eth0: 1 2 3", err)
	if _, err := NewFS(root).ReadNetDev(context.Background()); err == nil {
		t.Error("procnet accepted a short line")
	}

	root = fakeProc(t, map[string]string{"xfrm_stat": "edge-xfrm_stat-max-uint64.txt"})
	_, err = procfsXfrmStat(root)
	t.Logf("procfs on values of 2^64-1: %v", err)
	if _, err := NewFS(root).ReadXfrmStat(context.Background()); err != nil {
		t.Errorf("procnet: %v", err)
	}
}
