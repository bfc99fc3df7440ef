package main

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
)

// demodata holds real captures; demodata/README.md says where each is from.
//
//go:embed demodata
var demodata embed.FS

// demoKernels are the VM rig's kernels in demodata, oldest first.
var demoKernels = []string{"5.10", "6.1", "6.12"}

const demoAbout = `Explains real captures embedded in the program, offline: nothing on
this machine is read, so it works anywhere, without root or tunnels.

  1. The question: "our monitoring shows transmit errors on the IPsec VTIs
     under high load: what is a transmit error on a VTI?", and the VyOS
     router's /proc/net/dev that came with it, explained since boot.
  2. The same symptom made on purpose in a VM (an outbound SA deleted, five
     pings into the tunnel) on Linux 5.10, 6.1 and 6.12, explained from
     /proc/net/dev and xfrm_stat, then from stats64.`

// demoCase is one explained capture, as --json prints it.
type demoCase struct {
	Name          string         `json:"name"`
	Title         string         `json:"title"`
	Inputs        []string       `json:"inputs"`
	KernelRelease string         `json:"kernel_release"`
	Report        explain.Report `json:"report"`

	after *monitor.Snapshot
}

func (a *app) demo(ctx context.Context, args []string) error {
	fset := a.flagSet("demo", "demo [--vm KERNEL] [--full] [--json]", demoAbout)
	vm := fset.String("vm", "6.1", "which VM capture to detail: "+strings.Join(demoKernels, ", "))
	full := fset.Bool("full", false, "print every finding in full: explanation, kernel references, every check")
	jsonOut := fset.Bool("json", false, "print the explained captures as JSON")
	pos, err := a.parse(fset, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if !slices.Contains(demoKernels, *vm) {
		return usagef("--vm %q: the captures are from %s", *vm, strings.Join(demoKernels, ", "))
	}
	cases, err := demoCases()
	if err != nil {
		return err
	}
	if *jsonOut {
		return writeJSON(a.stdout, map[string][]demoCase{"cases": cases})
	}
	var b strings.Builder
	writeDemo(&b, cases, *vm, *full)
	_, err = fmt.Fprint(a.stdout, b.String())
	return err
}

// demoCases explains every embedded capture.
func demoCases() ([]demoCase, error) {
	load := func(name, title string, before, after []string) (demoCase, error) {
		fsys, _ := fs.Sub(demodata, "demodata")
		dc := demoCase{Name: name, Title: title, Inputs: append(slices.Clone(before), after...)}
		a, err := monitor.Load(fsys, after...)
		if err != nil {
			return dc, fmt.Errorf("embedded capture %s: %w", name, err)
		}
		dc.KernelRelease = a.KernelRelease
		dc.after = a
		if before == nil {
			dc.Report = explain.Explain(nil, a.Reading())
			return dc, nil
		}
		b, err := monitor.Load(fsys, before...)
		if err != nil {
			return dc, fmt.Errorf("embedded capture %s: %w", name, err)
		}
		dc.Report = explain.Explain(b.Reading(), a.Reading())
		return dc, nil
	}
	var out []demoCase
	c, err := load("vyos-seed003", "VyOS router, /proc/net/dev since boot", nil, []string{"vyos-seed003/proc_net_dev"})
	if err != nil {
		return nil, err
	}
	out = append(out, c)
	for _, k := range demoKernels {
		dir := "vm-" + k
		files := func(when string, stats bool) []string {
			f := []string{dir + "/KERNEL", dir + "/" + when + "/proc_net_dev", dir + "/" + when + "/xfrm_stat"}
			if stats {
				f = append(f, dir+"/"+when+"/vti0_statistics")
			}
			return f
		}
		for _, stats := range []bool{false, true} {
			name, title := dir+"-proc", "Linux "+k+" VM, outbound SA deleted: /proc/net/dev + xfrm_stat"
			if stats {
				name, title = dir+"-stats64", "Linux "+k+" VM, outbound SA deleted: stats64 + xfrm_stat"
			}
			c, err := load(name, title, files("before", stats), files("after", stats))
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func findCase(cases []demoCase, name string) demoCase {
	for _, c := range cases {
		if c.Name == name {
			return c
		}
	}
	panic("demo: no embedded case " + name)
}

const rule = "────────────────────────────────────────────────────────────────────────"

func writeDemo(b *strings.Builder, cases []demoCase, vm string, full bool) {
	seed := findCase(cases, "vyos-seed003")
	b.WriteString(`tunnelstat demo: real captures, explained offline (nothing on this machine is read)

` + rule + `
1. The question
` + rule + `
  "Our monitoring system is indicating transmit errors on the IPsec VTIs on
  our Vyatta Core routers when they are under high load. [...] there seems
  to be very little information out there about what constitutes a transmit
  error on a VTI."

  With it, a VyOS VPN router's /proc/net/dev; its tunnels' error columns:
`)
	for _, l := range seed.after.Tunnels() {
		fmt.Fprintf(b, "    %-8s %s\n", l.Name+":", procDevErrors(&l.Stats))
	}
	b.WriteString(`
  The answer. A transmit error on a VTI is a packet the tunnel dropped
  instead of sending it. The kernel (net/ipv4/ip_vti.c, vti_xmit) counts it
  in tx_errors and in one field that says why:
    tx_carrier_errors  the route, IPsec policy or SA lookup failed, or the
                       SA found does not fit the tunnel
    tx_aborted_errors  IPsec output failed after the lookup (SA expired,
                       sequence number overflow, crypto or queue full ...)
    collisions         routing loop: the route to the peer leads back in
    tx_errors alone    too big for the path MTU, or a protocol it cannot carry
  /proc/net/dev adds tx_carrier_errors and tx_aborted_errors (and two
  fields tunnels never use) into its one "carrier" column. So on this
  router, explained since boot:

`)
	if full {
		writeIndented(b, seed.Report.String(), "  ")
	} else {
		writeSummary(b, seed.Report, "  ", 3)
	}
	b.WriteString(`
  Every error is in the carrier column and none is a routing loop or an
  oversize packet. Which lookup or output failure it was, this file cannot
  say; "ip -s -s link show dev vti0" splits carrier from aborted, and
  /proc/net/xfrm_stat names the IPsec reason. Part 2 shows what they add.

`)

	b.WriteString(rule + "\n2. The same symptom, made on purpose\n" + rule + "\n")
	proc, stats := findCase(cases, "vm-"+vm+"-proc"), findCase(cases, "vm-"+vm+"-stats64")
	fmt.Fprintf(b, `  A Linux %s VM (%s): vti0 with ikey = okey = 42 and ESP
  tunnel-mode SAs; its outbound SA is deleted, then 5 pings are sent into
  vti0. Readings before and after, from the VM rig (internal/vmtest).

  a) From /proc/net/dev and /proc/net/xfrm_stat, as any user can read them:

`, vm, proc.KernelRelease)
	if full {
		writeIndented(b, proc.Report.String(), "  ")
	} else {
		writeSummary(b, proc.Report, "  ", 3)
	}
	b.WriteString(`
  b) From stats64 (every field apart; here the sysfs statistics of vti0):

`)
	if full {
		writeIndented(b, stats.Report.String(), "  ")
	} else {
		writeSummary(b, stats.Report, "  ", 3)
	}
	b.WriteString("\n  The same capture on each kernel:\n")
	for _, k := range demoKernels {
		for _, src := range []string{"proc", "stats64"} {
			c := findCase(cases, "vm-"+k+"-"+src)
			fmt.Fprintf(b, "    %-5s %-8s %s\n", k, src, oneLine(c.Report))
		}
	}
	b.WriteString(`
` + rule + `
On your machine
` + rule + `
  tunnelstat show                       tunnels, parameters, error counters, SAs
  tunnelstat explain                    why this namespace's counters moved, since boot
  tunnelstat snapshot -o before.json    save a reading; later:
  tunnelstat explain --since before.json
  tunnelstat explain --before dev.txt --after dev2.txt   copies of /proc/net/dev
Run as root to read SAs and policies (XFRM netlink needs CAP_NET_ADMIN).
`)
	if !full {
		b.WriteString("Every finding in full, with kernel references: tunnelstat demo --full\n")
	}
}

// oneLine condenses a report to its link findings: "vti0 tx-no-sa 5 exact".
func oneLine(rep explain.Report) string {
	var parts []string
	for _, g := range rep.Groups() {
		if g.Annotation || g.Interface == "" {
			continue
		}
		if len(g.Findings) == 1 {
			f := g.Findings[0]
			parts = append(parts, fmt.Sprintf("%s %s %s %s", g.Interface, f.Cause, countWords(f), f.Certainty))
		} else {
			parts = append(parts, fmt.Sprintf("%s %d events, %d candidates", g.Interface, g.Events, len(g.Findings)))
		}
	}
	if len(parts) == 0 {
		return "no finding"
	}
	return strings.Join(parts, "; ")
}

func writeIndented(b *strings.Builder, text, indent string) {
	for line := range strings.Lines(text) {
		if strings.TrimSpace(line) == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + line)
	}
}

// procDevErrors names the non-zero error columns of a /proc/net/dev line
// (a Link read from that file holds its sums in the fields named after them).
func procDevErrors(s *monitor.Stats) string {
	var out []string
	for _, c := range []struct {
		name string
		v    uint64
	}{
		{"RX errs", s.RxErrors}, {"RX drop", s.RxDropped}, {"RX fifo", s.RxFIFOErrors}, {"RX frame", s.RxFrameErrors},
		{"TX errs", s.TxErrors}, {"TX drop", s.TxDropped}, {"TX fifo", s.TxFIFOErrors}, {"TX colls", s.Collisions},
		{"TX carrier", s.TxCarrierErrors},
	} {
		if c.v != 0 {
			out = append(out, fmt.Sprintf("%s %d", c.name, c.v))
		}
	}
	if len(out) == 0 {
		return "no error counted"
	}
	return strings.Join(out, ", ")
}
