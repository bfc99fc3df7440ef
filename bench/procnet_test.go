package bench

// procnet against github.com/prometheus/procfs on the same bytes.
//
// procfs parses only from a file it opens itself (its parser is not
// exported), so the fair comparison is read+parse of one tmpfs file by both
// libraries ("File" benchmarks). "ReadFile" is the cost of reading those
// bytes alone, to subtract. "Bytes" benchmarks are procnet parsing bytes
// already in memory.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/procfs"
	"github.com/tunnelstat/tunnelstat/procnet"
)

var ifaceCounts = []int{10, 1000, 10000}

func BenchmarkNetDevFile(b *testing.B) {
	ctx := context.Background()
	for _, n := range ifaceCounts {
		data := syntheticNetDev(b, n)
		root := procRoot(b, "dev", data)
		b.Run(fmt.Sprintf("ifaces=%d/lib=procfs", n), func(b *testing.B) {
			fs, err := procfs.NewFS(root)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				nd, err := fs.NetDev()
				if err != nil || len(nd) != n {
					b.Fatalf("%d interfaces, %v", len(nd), err)
				}
			}
		})
		b.Run(fmt.Sprintf("ifaces=%d/lib=procnet", n), func(b *testing.B) {
			fs := procnet.NewFS(root)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				stats, err := fs.ReadNetDev(ctx)
				if err != nil || len(stats) != n {
					b.Fatalf("%d interfaces, %v", len(stats), err)
				}
			}
		})
		b.Run(fmt.Sprintf("ifaces=%d/lib=procnet-reuse", n), func(b *testing.B) {
			r, err := procnet.NewFS(root).OpenNetDev(ctx)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			buf, err := r.Read(ctx, nil) // warm: size the buffers
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				buf, err = r.Read(ctx, buf)
				if err != nil || len(buf) != n {
					b.Fatalf("%d interfaces, %v", len(buf), err)
				}
			}
		})
		b.Run(fmt.Sprintf("ifaces=%d/lib=readonly", n), func(b *testing.B) {
			path := filepath.Join(root, "net", "dev")
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := os.ReadFile(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkNetDevBytes(b *testing.B) {
	for _, n := range ifaceCounts {
		data := syntheticNetDev(b, n)
		b.Run(fmt.Sprintf("ifaces=%d/lib=procnet-reader", n), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				stats, err := procnet.ParseNetDev(bytes.NewReader(data))
				if err != nil || len(stats) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// xfrmFixture is this machine's /proc/net/xfrm_stat: all 32 counters.
const xfrmFixture = fixtureDir + "/xfrm_stat-host-linux6.18.txt"

func BenchmarkXfrmStatFile(b *testing.B) {
	ctx := context.Background()
	data, err := os.ReadFile(xfrmFixture)
	if err != nil {
		b.Fatal(err)
	}
	root := procRoot(b, "xfrm_stat", data)
	b.Run("lib=procfs", func(b *testing.B) {
		fs, err := procfs.NewFS(root)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fs.NewXfrmStat(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lib=procnet", func(b *testing.B) {
		fs := procnet.NewFS(root)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fs.ReadXfrmStat(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lib=procnet-reuse", func(b *testing.B) {
		r, err := procnet.NewFS(root).OpenXfrmStat(ctx)
		if err != nil {
			b.Fatal(err)
		}
		defer r.Close()
		var s procnet.XfrmStat
		if err := r.Read(ctx, &s); err != nil { // warm
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Read(ctx, &s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("lib=readonly", func(b *testing.B) {
		path := filepath.Join(root, "net", "xfrm_stat")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := os.ReadFile(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkXfrmStatBytes(b *testing.B) {
	data, err := os.ReadFile(xfrmFixture)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("lib=procnet", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := procnet.ParseXfrmStat(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSyntheticSameAsProcfs: the benchmark input is read identically by
// both libraries, so the two measure the same work.
func TestSyntheticSameAsProcfs(t *testing.T) {
	for _, n := range ifaceCounts {
		data := syntheticNetDev(t, n)
		root := procRoot(t, "dev", data)
		fs, err := procfs.NewFS(root)
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := fs.NetDev()
		if err != nil {
			t.Fatal(err)
		}
		ours, err := procnet.NewFS(root).ReadNetDev(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(ours) != n || len(theirs) != n {
			t.Fatalf("n=%d: procnet %d, procfs %d interfaces", n, len(ours), len(theirs))
		}
		for _, d := range ours {
			p := theirs[d.Name]
			want := [16]uint64{
				p.RxBytes, p.RxPackets, p.RxErrors, p.RxDropped, p.RxFIFO, p.RxFrame, p.RxCompressed, p.RxMulticast,
				p.TxBytes, p.TxPackets, p.TxErrors, p.TxDropped, p.TxFIFO, p.TxCollisions, p.TxCarrier, p.TxCompressed,
			}
			if got := devValues(&d); got != want {
				t.Fatalf("n=%d %s: procnet %v, procfs %v", n, d.Name, got, want)
			}
		}
		t.Logf("n=%d: %d bytes", n, len(data))
	}
}
