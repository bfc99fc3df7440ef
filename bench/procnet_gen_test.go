package bench

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/proctext"
	"github.com/tunnelstat/tunnelstat/procnet"
)

// fixtureDir holds the real captures procnet is tested on.
const fixtureDir = "../procnet/testdata"

// realNetDevLines returns every interface line of the real /proc/net/dev
// captures (VyOS seed, this machine, test namespaces), parsed.
func realNetDevLines(tb testing.TB) []procnet.DevStats {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(fixtureDir, "netdev-*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no real /proc/net/dev captures in %s: %v", fixtureDir, err)
	}
	var lines []procnet.DevStats
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		stats, err := procnet.ParseNetDev(bytes.NewReader(data))
		if err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, stats...)
	}
	return lines
}

// syntheticNetDev builds a /proc/net/dev of n interfaces in the kernel's
// layout by replicating the real lines: names get a distinct number (kept
// within the kernel's 15 bytes), and each non-zero value is varied by up to
// ±25 %, so numbers keep their real widths (13-digit byte counters on the
// VyOS VTIs, zeros in most error columns). Deterministic for a given n.
func syntheticNetDev(tb testing.TB, n int) []byte {
	tb.Helper()
	real := realNetDevLines(tb)
	rng := rand.New(rand.NewPCG(uint64(n), 2))
	stats := make([]procnet.DevStats, n)
	for i := range stats {
		tmpl := real[i%len(real)]
		prefix := strings.TrimRight(tmpl.Name, "0123456789")
		suffix := strconv.Itoa(i)
		if len(prefix)+len(suffix) > 15 {
			prefix = prefix[:15-len(suffix)]
		}
		v := devValues(&tmpl)
		for c, x := range v {
			if x > 4 {
				v[c] = x - x/4 + rng.Uint64N(x/2)
			}
		}
		d := procnet.DevStats{Name: prefix + suffix}
		d.RxBytes, d.RxPackets, d.RxErrors, d.RxDropSum = v[0], v[1], v[2], procnet.Sum(v[3])
		d.RxFIFOErrors, d.RxFrameSum, d.RxCompressed, d.RxMulticast = v[4], procnet.Sum(v[5]), v[6], v[7]
		d.TxBytes, d.TxPackets, d.TxErrors, d.TxDropped = v[8], v[9], v[10], v[11]
		d.TxFIFOErrors, d.Collisions, d.TxCarrierSum, d.TxCompressed = v[12], v[13], procnet.Sum(v[14]), v[15]
		stats[i] = d
	}
	b := proctext.AppendNetDevHeader(nil)
	for i := range stats {
		b = proctext.AppendNetDevLine(b, stats[i].Name, stats[i].All())
	}
	return b
}

// devValues returns the 16 columns of d in file order.
func devValues(d *procnet.DevStats) (v [16]uint64) {
	i := 0
	for _, x := range d.All() {
		v[i] = x
		i++
	}
	return v
}

// memDir returns a directory on tmpfs when the machine has one, so that
// "read from a file" measures the kernel's page copy and not a disk.
func memDir(tb testing.TB) string {
	tb.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		dir, err := os.MkdirTemp("/dev/shm", "tunnelstat-bench-")
		if err == nil {
			tb.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return tb.TempDir()
}

// procRoot writes data as {root}/net/{file} and returns root.
func procRoot(tb testing.TB, file string, data []byte) string {
	tb.Helper()
	root := memDir(tb)
	if err := os.MkdirAll(filepath.Join(root, "net"), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "net", file), data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return root
}
