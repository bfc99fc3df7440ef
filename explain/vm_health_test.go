//go:build linux

package explain_test

// VM tests of tunnel health (issue 15): a rekey under steady traffic, an
// SA's soft lifetime, a deleted outbound SA with traffic, and corrupted
// ESP from one of two peers. Each builds the rig's VTI between two fresh
// namespaces (vm_rig_test.go), follows A's XFRM events as a health monitor
// does (vm_health_rig_test.go), and checks two things:
//
//   - the kernel facts the health code relies on (prefix "KERNEL FACT"):
//     per-SA counters in the SA dump, the per-SA error counters, which
//     XFRM messages arrive and what they carry;
//   - what explain.Tracker and explain.Explain make of them (prefixes
//     "TRACKER" and "EXPLAIN").
//
// Run them one kernel at a time while developing, and on the whole matrix
// with
//
//	go run ./internal/vmtest/cmd/vmtest -parallel 1 -run '^TestVMHealth' -v ./explain/
//
// -args -vmhealth.factsonly checks the kernel facts only and logs what the
// Tracker and Explain got wrong.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// SPIs of the health scenarios: the rig's SAs (spiAtoB, spiBtoA as
// numbers), their replacements in a rekey, and the third peer C's.
const (
	spiOldAB = 0x1000a
	spiOldBA = 0x1000b
	spiNewAB = 0x2000a
	spiNewBA = 0x2000b
	spiCtoA  = 0x1000c
	spiAtoC  = 0x1000d
)

// The third peer C of the corrupted-ESP scenario: its own veth to A, its
// own VTI (key 17) with its own SAs.
const (
	underlayAC  = "198.18.0.1" // A's end of the A–C veth (benchmarking range, RFC 2544)
	underlayCA  = "198.18.0.2" // C's end
	innerAC     = "203.0.113.5"
	innerCA     = "203.0.113.6"
	tunnelKeyAC = "17"
)

// Packet counts.
const (
	healthDropped = 7 // packets into the failure (tx-no-sa, rx-integrity-failed)
	healthGood    = 4 // good packets from B beside C's bad ones
)

// Cause names of the Tracker's risks (catalogue entries the health
// implementation adds).
const (
	riskSoftNoRekey  explain.CauseID = "sa-soft-expired-no-rekey"
	riskLifetimeMarg explain.CauseID = "sa-lifetime-margin"
)

func requireHealthVM(t *testing.T) {
	t.Helper()
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "ip_vti", "veth", "xfrm_user", "esp4", "authenc", "cbc", "aes_generic", "sha256_generic", "hmac")
	vmtest.RequireTools(t, "ip")
}

// newHealthRun builds the rig's VTI pair and follows A's XFRM events.
func newHealthRun(t *testing.T) *healthRun {
	t.Helper()
	r := newRig(t, "vti0")
	h := &healthRun{rig: r}
	h.events = r.subscribe(r.a)
	return h
}

// flow is steady UDP traffic from one side's namespace to the other's
// sink through the tunnel.
type flow struct {
	sent, failed, received atomic.Int64
	firstErr               atomic.Value // error
	stopSend               context.CancelFunc
	stopRecv               atomic.Bool
	sender, receiver       sync.WaitGroup
}

// steady sends a 100-byte datagram from `from` to its peer's inner
// address every `every`, and counts what `to`'s sink receives, until stop.
func (r *rig) steady(from, to *side, every time.Duration) *flow {
	r.t.Helper()
	f := &flow{}
	var c *net.UDPConn
	if err := from.handle.Do(func() error {
		var err error
		c, err = net.ListenUDP("udp4", nil)
		return err
	}); err != nil {
		r.t.Fatalf("%s: socket: %v", from.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.stopSend = cancel
	dst := &net.UDPAddr{IP: net.ParseIP(from.peerInner), Port: udpPort}
	f.sender.Add(1)
	go func() {
		defer f.sender.Done()
		defer c.Close()
		tick := time.NewTicker(every)
		defer tick.Stop()
		payload := make([]byte, 100)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			if _, err := c.WriteToUDP(payload, dst); err != nil {
				f.failed.Add(1)
				f.firstErr.CompareAndSwap(nil, err)
				continue
			}
			f.sent.Add(1)
		}
	}()
	f.receiver.Add(1)
	go func() {
		defer f.receiver.Done()
		buf := make([]byte, 2048)
		for {
			to.sink.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			if _, _, err := to.sink.ReadFromUDP(buf); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() && !f.stopRecv.Load() {
					continue
				}
				return
			}
			f.received.Add(1)
		}
	}()
	r.t.Cleanup(f.stop)
	return f
}

// stop ends the sending, waits for the last datagrams, and ends the
// counting. It may be called more than once.
func (f *flow) stop() {
	f.stopSend()
	f.sender.Wait()
	if !f.stopRecv.Load() {
		time.Sleep(500 * time.Millisecond)
		f.stopRecv.Store(true)
	}
	f.receiver.Wait()
}

// TestVMHealthRekey: steady traffic both ways through vti0 while A and B
// install new SAs (new SPIs, same mark and endpoints) and then delete the
// old ones, as an IKE daemon's rekey does. A is read every 200 ms into a
// Tracker. The tunnel's traffic must never go down and must end at least
// at the sum of every SA's final counters; A's events must show the new
// SAs added and the old ones deleted.
func TestVMHealthRekey(t *testing.T) {
	requireHealthVM(t)
	h := newHealthRun(t)
	r := h.rig
	t0 := time.Now()
	encAB, authAB, encBA, authBA := r.key(), r.key(), r.key(), r.key()
	newAB := func() string {
		return r.saLine(r.a.underlay, r.b.underlay, fmt.Sprintf("%#x", spiNewAB), encAB, authAB, "")
	}
	newBA := func() string {
		return r.saLine(r.b.underlay, r.a.underlay, fmt.Sprintf("%#x", spiNewBA), encBA, authBA, "")
	}
	delSA := func(src, dst string, spi uint32) string {
		return fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %#x mark %s", src, dst, spi, tunnelKey)
	}

	const every = 20 * time.Millisecond
	ab := r.steady(r.a, r.b, every)
	ba := r.steady(r.b, r.a, every)

	// The rekey, one step at a reading: first the new inbound SAs (so
	// that each side can receive on the new SPI before the other sends
	// on it), then the new outbound ones, then the old outbound ones go,
	// then the old inbound ones. After each step, A's notification for
	// it is awaited, so that the next reading carries it.
	type step struct {
		at   int
		name string
		do   func()
		wait func(xfrmstat.Event) bool
	}
	var oldAdded time.Time
	steps := []step{
		{5, "new inbound SAs", func() {
			r.batch(r.a, newBA())
			r.batch(r.b, newAB())
		}, saEvent(xfrmstat.OpNew, spiNewBA)},
		{9, "new outbound SAs", func() {
			// The kernel prefers the SA added last, by its add time in
			// whole seconds: the new one's second must be later. B's old
			// SAs came after A's, but more than a second before this.
			for time.Now().Unix() <= oldAdded.Unix() {
				time.Sleep(50 * time.Millisecond)
			}
			r.batch(r.a, newAB())
			r.batch(r.b, newBA())
		}, saEvent(xfrmstat.OpNew, spiNewAB)},
		{13, "old outbound SAs deleted", func() {
			r.batch(r.a, delSA(r.a.underlay, r.b.underlay, spiOldAB))
			r.batch(r.b, delSA(r.b.underlay, r.a.underlay, spiOldBA))
		}, saEvent(xfrmstat.OpDelete, spiOldAB)},
		{17, "old inbound SAs deleted", func() {
			r.batch(r.a, delSA(r.b.underlay, r.a.underlay, spiOldBA))
			r.batch(r.b, delSA(r.a.underlay, r.b.underlay, spiOldAB))
		}, saEvent(xfrmstat.OpDelete, spiOldBA)},
	}
	const nReadings = 22

	var (
		tracker  explain.Tracker
		readings []*explain.Reading
		dumps    [][]xfrmstat.SA
		healths  []explain.Health
		stepAt   = map[int]string{}
	)
	take := func() {
		rd, sas := h.quickRead(r.a)
		readings = append(readings, rd)
		dumps = append(dumps, sas)
		healths = append(healths, trackOne(&tracker, rd))
	}
	next := time.Now()
	for i := 0; i < nReadings; i++ {
		for _, s := range steps {
			if s.at == i {
				s.do()
				h.events.mustWait(5*time.Second, s.name+" notification", s.wait)
				stepAt[i] = s.name
			}
		}
		time.Sleep(time.Until(next))
		next = time.Now().Add(200 * time.Millisecond)
		take()
		if i == 0 {
			if sa := findSA(dumps[0], spiOldAB); sa != nil {
				oldAdded = sa.LifetimeCurrent.AddTime
			} else {
				t.Fatalf("KERNEL FACT: A's outbound SA %#x not in the first dump", spiOldAB)
			}
		}
	}
	ab.stop()
	ba.stop()
	take() // the last reading: nothing moves any more
	last := len(readings) - 1

	// What each reading saw of each SA, for the record.
	var table strings.Builder
	for i, sas := range dumps {
		fmt.Fprintf(&table, "\t%2d %+6.3fs", i, readings[i].Time.Sub(t0).Seconds())
		for _, spi := range []uint32{spiOldAB, spiNewAB, spiOldBA, spiNewBA} {
			if sa := findSA(sas, spi); sa != nil {
				fmt.Fprintf(&table, "  %#x %4d", spi, sa.LifetimeCurrent.Packets)
			} else {
				fmt.Fprintf(&table, "  %#x    -", spi)
			}
		}
		if s, ok := stepAt[i]; ok {
			fmt.Fprintf(&table, "  ← after: %s", s)
		}
		fmt.Fprintf(&table, "  events %s\n", eventTypes(readings[i].Events))
	}
	t.Logf("kernel %s: SA packet counters in A's dumps (out %#x→%#x, in %#x→%#x):\n%s", readings[0].KernelRelease, spiOldAB, spiNewAB, spiOldBA, spiNewBA, table.String())
	t.Logf("A's XFRM events:\n%s", h.events.describe(t0))
	t.Logf("traffic: A→B sent %d (failed %d) received %d; B→A sent %d (failed %d) received %d",
		ab.sent.Load(), ab.failed.Load(), ab.received.Load(), ba.sent.Load(), ba.failed.Load(), ba.received.Load())

	// Kernel facts.
	for _, f := range []struct {
		name string
		fl   *flow
	}{{"A→B", ab}, {"B→A", ba}} {
		if f.fl.failed.Load() != 0 || f.fl.sent.Load() != f.fl.received.Load() || f.fl.sent.Load() < 100 {
			h.kernelf("%s: %d datagrams sent (%d sends failed, first %v), %d received: a rekey in this order loses nothing",
				f.name, f.fl.sent.Load(), f.fl.failed.Load(), f.fl.firstErr.Load(), f.fl.received.Load())
		}
	}
	// Final counters of each SA: the deleted ones' from their DELSA
	// notification, the others' from the last dump.
	final := map[uint32]xfrmstat.LifetimeCurrent{}
	for _, spi := range []uint32{spiOldAB, spiOldBA} {
		e := h.events.mustWait(0, fmt.Sprintf("XFRM_MSG_DELSA of %#x", spi), saEvent(xfrmstat.OpDelete, spi))
		del := e.ev.(*xfrmstat.SAEvent)
		cur := del.SA.LifetimeCurrent
		if cur.AddTime.IsZero() {
			h.kernelf("XFRM_MSG_DELSA of %#x carries no lifetime counters: %s", spi, describeSA(&del.SA))
		}
		// The last dump that still had the SA.
		for i := len(dumps) - 1; i >= 0; i-- {
			if sa := findSA(dumps[i], spi); sa != nil {
				if cur.Packets < sa.LifetimeCurrent.Packets || cur.Bytes < sa.LifetimeCurrent.Bytes {
					h.kernelf("XFRM_MSG_DELSA of %#x says %d packets %d bytes, less than the dump before (%d, %d)",
						spi, cur.Packets, cur.Bytes, sa.LifetimeCurrent.Packets, sa.LifetimeCurrent.Bytes)
				}
				break
			}
		}
		if del.SA.Mark == nil || del.SA.Mark.Value != 16 || !del.SA.Src.IsValid() {
			h.kernelf("XFRM_MSG_DELSA of %#x lacks the SA's mark or source: %s", spi, describeSA(&del.SA))
		}
		final[spi] = cur
	}
	for _, spi := range []uint32{spiNewAB, spiNewBA} {
		sa := findSA(dumps[last], spi)
		if sa == nil {
			t.Fatalf("KERNEL FACT: new SA %#x not in A's last dump", spi)
		}
		if sa.LifetimeCurrent.Packets == 0 {
			h.kernelf("new SA %#x carried nothing by the end", spi)
		}
		final[spi] = sa.LifetimeCurrent
	}
	for _, spi := range []uint32{spiOldAB, spiOldBA} {
		if findSA(dumps[last], spi) != nil {
			h.kernelf("old SA %#x still in A's last dump", spi)
		}
	}
	for _, spi := range []uint32{spiNewAB, spiNewBA} {
		if _, ok := h.events.wait(0, saEvent(xfrmstat.OpNew, spi)); !ok {
			h.kernelf("no XFRM_MSG_NEWSA for %#x in A", spi)
		}
	}
	outP, outB := final[spiOldAB].Packets+final[spiNewAB].Packets, final[spiOldAB].Bytes+final[spiNewAB].Bytes
	inP, inB := final[spiOldBA].Packets+final[spiNewBA].Packets, final[spiOldBA].Bytes+final[spiNewBA].Bytes
	vti := linkIn(readings[last], "vti0")
	if vti == nil {
		t.Fatal("no vti0 in A's last reading")
	}
	if outP != vti.Stats.TxPackets || inP != vti.Stats.RxPackets {
		h.kernelf("the SAs' final packet counters (out %d, in %d) are not vti0's (tx %d, rx %d)", outP, inP, vti.Stats.TxPackets, vti.Stats.RxPackets)
	}
	first := linkIn(readings[0], "vti0")
	for _, c := range []struct {
		name string
		b, a uint64
	}{
		{"tx_errors", first.Stats.TxErrors, vti.Stats.TxErrors}, {"tx_dropped", first.Stats.TxDropped, vti.Stats.TxDropped},
		{"rx_errors", first.Stats.RxErrors, vti.Stats.RxErrors}, {"rx_dropped", first.Stats.RxDropped, vti.Stats.RxDropped},
	} {
		if c.a != c.b {
			h.kernelf("vti0 %s moved during the rekey: %d → %d", c.name, c.b, c.a)
		}
	}
	t.Logf("final SA counters: out %d packets %d bytes, in %d packets %d bytes; vti0 tx %d/%d rx %d/%d (packets/bytes)",
		outP, outB, inP, inB, vti.Stats.TxPackets, vti.Stats.TxBytes, vti.Stats.RxPackets, vti.Stats.RxBytes)

	// The converted events (what a monitor hands over) and the reports.
	var all []explain.Event
	for _, rd := range readings {
		all = append(all, rd.Events...)
	}
	for _, w := range []struct {
		typ explain.EventType
		spi uint32
	}{{explain.EventSAAdded, spiNewBA}, {explain.EventSAAdded, spiNewAB}, {explain.EventSADeleted, spiOldAB}, {explain.EventSADeleted, spiOldBA}} {
		if !slices.ContainsFunc(all, func(e explain.Event) bool { return e.Type == w.typ && e.SA.SPI == w.spi }) {
			t.Errorf("the readings' events %s have no %s of %#x", eventTypes(all), w.typ, w.spi)
		}
	}
	for i := 1; i < len(readings); i++ {
		rep := explain.Explain(readings[i-1], readings[i])
		if got, want := eventTypes(rep.Events), eventTypes(readings[i].Events); got != want {
			h.implf("EXPLAIN", "reading %d: Report.Events %s, want the reading's %s", i, got, want)
		}
		if len(rep.Findings) != 0 {
			t.Errorf("EXPLAIN: reading %d: findings during a clean rekey:\n%s", i, rep)
		}
	}

	// The Tracker.
	var fails readingFailures
	var prev *explain.TunnelStatus
	for i := range healths {
		if len(healths[i].Risks) != 0 {
			// No lifetimes, traffic both ways, sequence numbers far from
			// their end: nothing is ahead.
			fails.add("risks", "reading %d (%s): risks %s during a clean rekey", i, stepAt[i], describeRisks(healths[i].Risks))
		}
		ts := tunnelNamed(&healths[i], "vti0")
		if ts == nil {
			fails.add("missing", "reading %d: no tunnel vti0 in the health", i)
			continue
		}
		if prev != nil {
			for _, c := range []struct {
				name string
				b, a uint64
			}{
				{"In.Bytes", prev.In.Bytes, ts.In.Bytes}, {"In.Packets", prev.In.Packets, ts.In.Packets},
				{"Out.Bytes", prev.Out.Bytes, ts.Out.Bytes}, {"Out.Packets", prev.Out.Packets, ts.Out.Packets},
			} {
				if c.a < c.b {
					fails.add(c.name, "reading %d (%s): vti0 %s went down: %d → %d", i, stepAt[i], c.name, c.b, c.a)
				}
			}
		}
		prev = ts
	}
	fails.report(h, "TRACKER", len(healths))
	if ts := tunnelNamed(&healths[last], "vti0"); ts != nil {
		if ts.Out.Packets < outP || ts.Out.Bytes < outB || ts.In.Packets < inP || ts.In.Bytes < inB {
			h.implf("TRACKER", "vti0 ends at out %d packets %d bytes, in %d packets %d bytes; its SAs carried out %d/%d, in %d/%d",
				ts.Out.Packets, ts.Out.Bytes, ts.In.Packets, ts.In.Bytes, outP, outB, inP, inB)
		}
		var spis []uint32
		for _, s := range ts.SAs {
			spis = append(spis, s.SA.SPI)
		}
		slices.Sort(spis)
		if !slices.Equal(spis, []uint32{spiNewAB, spiNewBA}) || ts.State != explain.TunnelUp {
			h.implf("TRACKER", "vti0 ends %s with SAs %#x, want up with %#x and %#x", ts.State, spis, spiNewAB, spiNewBA)
		}
		t.Logf("Tracker: vti0 at the end: %s, in %+v, out %+v", ts.State, ts.In, ts.Out)
	}
	saveEvents(t, "events.json", all)
}

// linkIn returns the link named name in a reading, or nil.
func linkIn(rd *explain.Reading, name string) *explain.LinkReading {
	for i := range rd.Links {
		if rd.Links[i].Name == name {
			return &rd.Links[i]
		}
	}
	return nil
}

// saveEvents stores converted events as an artifact (JSON).
func saveEvents(t *testing.T, name string, evs []explain.Event) {
	t.Helper()
	b, err := json.MarshalIndent(evs, "", "  ")
	if err != nil {
		t.Errorf("events do not encode: %v", err)
		return
	}
	vmtest.SaveArtifact(t, name, append(b, '\n'))
}

// TestVMHealthSoftLifetime: A's outbound SA gets a soft time limit a few
// seconds after its add and no replacement comes. The Tracker must say
// when the SA reaches its soft and hard limits, and raise
// sa-soft-expired-no-rekey once the soft limit passed, before the hard
// one; the kernel's soft expire must arrive. With soft and hard limits a
// second apart, the Tracker must raise sa-lifetime-margin from the first
// reading.
func TestVMHealthSoftLifetime(t *testing.T) {
	requireHealthVM(t)
	t.Run("no-rekey", func(t *testing.T) {
		h := newHealthRun(t)
		r := h.rig
		t0 := time.Now()
		r.batch(r.a, r.deleteOutSA(), r.outSA("limit time-soft 3 limit time-hard 60"))
		var tracker explain.Tracker
		var (
			readings []*explain.Reading
			healths  []explain.Health
			added    time.Time
			softAt   = -1 // the reading whose events hold the soft expire
		)
		deadline := time.Now().Add(10 * time.Second)
		for softAt < 0 || len(readings) < softAt+3 {
			if time.Now().After(deadline) {
				t.Fatalf("KERNEL FACT: no soft expire of %#x within 10 s; A's events:\n%s", spiOldAB, h.events.describe(t0))
			}
			rd, sas := h.quickRead(r.a)
			sa := findSA(sas, spiOldAB)
			if sa == nil {
				t.Fatalf("KERNEL FACT: A's outbound SA %#x not in reading %d (soft expire must not delete it)", spiOldAB, len(readings))
			}
			if len(readings) == 0 {
				added = sa.LifetimeCurrent.AddTime
				lc := sa.LifetimeConfig
				if lc.SoftAddExpiresSeconds != 3 || lc.HardAddExpiresSeconds != 60 || !near(added, t0, 2*time.Second) {
					h.kernelf("the new SA: %s, want time-soft 3 time-hard 60 added about %s", describeSA(sa), t0.Format("15:04:05"))
				}
			}
			readings = append(readings, rd)
			healths = append(healths, trackOne(&tracker, rd))
			if softAt < 0 && slices.ContainsFunc(rd.Events, func(e explain.Event) bool {
				return e.Type == explain.EventSoftExpire && e.SA.SPI == spiOldAB
			}) {
				softAt = len(readings) - 1
			}
			time.Sleep(200 * time.Millisecond)
		}
		softExp, hardExp := added.Add(3*time.Second), added.Add(60*time.Second)
		t.Logf("A's XFRM events:\n%s", h.events.describe(t0))

		// Kernel facts: the soft expire came after the soft limit and
		// long before the hard one, with the SA's counters.
		e := h.events.mustWait(0, "soft expire", saExpire(false, spiOldAB))
		exp := e.ev.(*xfrmstat.SAExpire)
		t.Logf("kernel %s: soft expire of %#x received %.3fs after the add second (soft limit 3 s)", readings[0].KernelRelease, spiOldAB, e.at.Sub(added).Seconds())
		if e.at.Before(softExp) || !e.at.Before(hardExp) {
			h.kernelf("soft expire received at %s, want between %s and %s", e.at.Format("15:04:05.000"), softExp.Format("15:04:05"), hardExp.Format("15:04:05"))
		}
		if exp.SA.LifetimeCurrent.AddTime.IsZero() || exp.SA.LifetimeConfig.SoftAddExpiresSeconds != 3 {
			h.kernelf("the soft expire carries no counters or limits: %s", describeSA(&exp.SA))
		}
		if _, hard := h.events.wait(0, saExpire(true, spiOldAB)); hard {
			h.kernelf("a hard expire of %#x came within the test", spiOldAB)
		}
		ev := slices.IndexFunc(readings[softAt].Events, func(e explain.Event) bool { return e.Type == explain.EventSoftExpire })
		if u := readings[softAt].Events[ev].Usage; u == nil {
			t.Errorf("the converted soft expire has no Usage")
		}

		// The Tracker.
		var fails readingFailures
		for i, hl := range healths {
			rd := readings[i]
			risks := risksOf(&hl, riskSoftNoRekey, spiOldAB)
			switch {
			case rd.Time.Before(softExp) && len(risks) != 0:
				fails.add("early", "reading %d at %s, before the soft limit %s: %s", i, rd.Time.Format("15:04:05.000"), softExp.Format("15:04:05"), describeRisks(risks))
			case i >= softAt && len(risks) != 1:
				fails.add("risk", "reading %d (soft expire received by reading %d): risks %s, want one %s for %#x", i, softAt, describeRisks(hl.Risks), riskSoftNoRekey, spiOldAB)
			case len(risks) == 1 && (!near(risks[0].At, hardExp, time.Second) || risks[0].Tunnel.Interface != "vti0" || !rd.Time.Before(risks[0].At)):
				fails.add("at", "reading %d at %s: %s, want it on vti0 at the hard expiry %s", i, rd.Time.Format("15:04:05.000"), describeRisks(risks), hardExp.Format("15:04:05"))
			}
			if m := risksOf(&hl, riskLifetimeMarg, 0); len(m) != 0 {
				fails.add("margin", "reading %d: %s, but the SA has 57 s between its limits (RekeyMargin %v)", i, describeRisks(m), explain.DefaultRekeyMargin)
			}
			sh := saHealthOf(tunnelNamed(&hl, "vti0"), spiOldAB)
			if sh == nil {
				fails.add("sa", "reading %d: vti0 has no SA %#x", i, spiOldAB)
				continue
			}
			if !near(sh.SoftExpiry, softExp, time.Second) || !near(sh.HardExpiry, hardExp, time.Second) {
				fails.add("expiry", "reading %d: SA %#x soft expiry %s hard %s, want %s and %s", i, spiOldAB,
					sh.SoftExpiry.Format("15:04:05.000"), sh.HardExpiry.Format("15:04:05.000"), softExp.Format("15:04:05"), hardExp.Format("15:04:05"))
			}
		}
		fails.report(h, "TRACKER", len(healths))
		saveEvents(t, "events.json", readings[softAt].Events)
	})

	t.Run("margin", func(t *testing.T) {
		h := newHealthRun(t)
		r := h.rig
		t0 := time.Now()
		r.batch(r.a, r.deleteOutSA(), r.outSA("limit time-soft 5 limit time-hard 6"))
		var tracker explain.Tracker
		rd, sas := h.quickRead(r.a)
		hl := trackOne(&tracker, rd)
		sa := findSA(sas, spiOldAB)
		if sa == nil {
			t.Fatalf("KERNEL FACT: A's new outbound SA %#x not in the first reading", spiOldAB)
		}
		if sa.LifetimeConfig.SoftAddExpiresSeconds != 5 || sa.LifetimeConfig.HardAddExpiresSeconds != 6 {
			t.Fatalf("KERNEL FACT: A's new outbound SA: %s, want time-soft 5 time-hard 6", describeSA(sa))
		}
		added := sa.LifetimeCurrent.AddTime
		if rs := risksOf(&hl, riskLifetimeMarg, spiOldAB); len(rs) != 1 || rs[0].Tunnel.Interface != "vti0" {
			h.implf("TRACKER", "first reading: risks %s, want one %s for %#x on vti0 (1 s between soft and hard, RekeyMargin %v)",
				describeRisks(hl.Risks), riskLifetimeMarg, spiOldAB, explain.DefaultRekeyMargin)
		} else {
			t.Logf("Tracker: %s", describeRisks(rs))
		}
		// Follow the SA to its hard expiry, for the record: soft and hard
		// expire messages and what they carry.
		hard := h.events.mustWait(12*time.Second, "hard expire", saExpire(true, spiOldAB))
		time.Sleep(200 * time.Millisecond)
		rd2, sas2 := h.quickRead(r.a)
		hl2 := trackOne(&tracker, rd2)
		t.Logf("kernel %s: A's XFRM events:\n%s", rd.KernelRelease, h.events.describe(t0))
		t.Logf("hard expire received %.3fs after the add second (hard limit 6 s)", hard.at.Sub(added).Seconds())
		if soft, ok := h.events.wait(0, saExpire(false, spiOldAB)); ok {
			t.Logf("soft expire received %.3fs after the add second (soft limit 5 s)", soft.at.Sub(added).Seconds())
		} else {
			// The kernel's timer checks the hard limit first: one that
			// runs late past it sends no soft expire.
			t.Logf("no soft expire before the hard one")
		}
		if findSA(sas2, spiOldAB) != nil {
			h.kernelf("SA %#x still in the dump after its hard expire", spiOldAB)
		}
		if !slices.ContainsFunc(rd2.Events, func(e explain.Event) bool {
			return e.Type == explain.EventHardExpire && e.SA.SPI == spiOldAB && e.Usage != nil
		}) {
			t.Errorf("the reading after the hard expire has events %s, want sa-hard-expire of %#x with Usage", eventTypes(rd2.Events), spiOldAB)
		}
		if ts := tunnelNamed(&hl2, "vti0"); ts == nil || ts.State != explain.TunnelNoSA {
			state := "missing"
			if ts != nil {
				state = ts.State.String()
			}
			h.implf("TRACKER", "after the hard expire of its outbound SA vti0 is %s, want %s", state, explain.TunnelNoSA)
		}
		saveEvents(t, "events.json", append(rd.Events, rd2.Events...))
	})
}

// TestVMHealthDeletedOutSA: A's outbound SA is deleted between two
// readings and packets are sent into vti0. Explain must give the tx-no-sa
// findings it gives without events, and cite the delete on vti0's.
func TestVMHealthDeletedOutSA(t *testing.T) {
	requireHealthVM(t)
	h := newHealthRun(t)
	r := h.rig
	t0 := time.Now()
	before, bc := h.settledReading(r.a)
	r.batch(r.a, r.deleteOutSA())
	h.events.mustWait(5*time.Second, "XFRM_MSG_DELSA of A's outbound SA", saEvent(xfrmstat.OpDelete, spiOldAB))
	r.send(r.a, r.a.peerInner, healthDropped, sendOpts{})
	after, ac := h.settledReading(r.a)
	r.save("before", bc)
	r.save("after", ac)
	logDeltas(t, bc, ac)
	t.Logf("A's XFRM events:\n%s", h.events.describe(t0))
	var larval []string
	for _, sa := range ac.Netlink.SAs {
		if sa.SPI == 0 {
			larval = append(larval, describeSA(&sa))
		}
	}
	t.Logf("larval SAs after the packets: %d %v", len(larval), larval)

	// Kernel facts: the notification names the SA and carries its final
	// counters (those of the dump before: nothing was sent on it since).
	e := h.events.mustWait(0, "XFRM_MSG_DELSA", saEvent(xfrmstat.OpDelete, spiOldAB))
	del := e.ev.(*xfrmstat.SAEvent).SA
	was := findSA(bc.Netlink.SAs, spiOldAB)
	if was == nil {
		t.Fatalf("KERNEL FACT: no SA %#x before", spiOldAB)
	}
	if del.Src != was.Src || del.Dst != was.Dst || del.Mark == nil || *del.Mark != *was.Mark ||
		del.LifetimeCurrent.Packets != was.LifetimeCurrent.Packets || del.LifetimeCurrent.Bytes != was.LifetimeCurrent.Bytes {
		h.kernelf("XFRM_MSG_DELSA: %s; the SA before: %s", describeSA(&del), describeSA(was))
	}
	if findSA(ac.Netlink.SAs, spiOldAB) != nil {
		h.kernelf("SA %#x still in the dump after its delete", spiOldAB)
	}

	// Explain: the findings of the tx-no-sa scenario, vti0's citing the
	// delete.
	rep := explain.Explain(before, after)
	checkReportRoundTrip(t, rep)
	if diff := diffReport(t, rep, []want{spec("vti0: tx-no-sa=%d exact", healthDropped), spec(": tx-no-sa=%d exact", healthDropped)}); diff != "" {
		t.Errorf("findings differ from the tx-no-sa scenario's\n%s", diff)
	}
	if got, want := eventTypes(rep.Events), eventTypes(after.Events); got != want || len(after.Events) == 0 {
		h.implf("EXPLAIN", "Report.Events %s, want the reading's %s", got, want)
	}
	var cited bool
	for _, f := range rep.ByInterface("vti0") {
		if f.Cause != "tx-no-sa" {
			continue
		}
		for _, ev := range f.Evidence {
			if ev.Source == explain.SourceEvent && ev.Counter == explain.EventSADeleted.String() && ev.SA != nil &&
				ev.SA.SPI == spiOldAB && ev.SA.Src == del.Src && ev.SA.Dst == del.Dst && ev.Delta == 1 {
				cited = true
			}
		}
		if !cited {
			h.implf("EXPLAIN", "vti0's tx-no-sa finding cites no sa-deleted event of %#x (Delta 1); evidence %s", spiOldAB, describeEvidence(f.Evidence))
		}
	}
	saveEvents(t, "events.json", after.Events)
}

// describeEvidence lists evidence, for messages.
func describeEvidence(evs []explain.Evidence) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%s %s +%d", e.Source, e.Counter, e.Delta)
		if e.SA != nil {
			parts[i] += " (" + e.SA.String() + ")"
		}
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// TestVMHealthCorruptPeer: A has two peers, B on vti0 and C on vti1 (its
// own veth, VTI key 17, SAs of its own). A's inbound SA from C is given
// another authentication key than C's outbound one, so that every packet
// from C fails its ICV check; B's traffic is good. Explain must name C's
// SA in its rx-integrity-failed finding, and B's nowhere.
func TestVMHealthCorruptPeer(t *testing.T) {
	requireHealthVM(t)
	h := newHealthRun(t)
	r := h.rig
	t0 := time.Now()

	// C, joined to A by a second veth.
	nsC := testns.New(t)
	c := r.newSide("C", nsC, underlayCA, underlayAC)
	c.inner, c.peerInner = innerCA, innerAC
	r.batch(r.a, "link add veth-ac type veth peer name veth-ca netns "+nsC.Name,
		"addr add "+underlayAC+"/24 dev veth-ac", "link set veth-ac up")
	r.batch(c, "addr add "+underlayCA+"/24 dev veth-ca", "link set veth-ca up")
	encCA, authCA, encAC, authAC := r.key(), r.key(), r.key(), r.key()
	sa := func(src, dst string, spi uint32, enc, auth string) string {
		return fmt.Sprintf("xfrm state add src %s dst %s proto esp spi %#x mode tunnel mark %s replay-window 32 enc cbc(aes) %s auth-trunc hmac(sha256) %s 128",
			src, dst, spi, tunnelKeyAC, enc, auth)
	}
	pol := func(dir, src, dst string) string {
		return fmt.Sprintf("xfrm policy add dir %s src 0.0.0.0/0 dst 0.0.0.0/0 mark %s tmpl src %s dst %s proto esp mode tunnel", dir, tunnelKeyAC, src, dst)
	}
	vti := func(name, local, remote, inner, peer string) []string {
		return []string{
			fmt.Sprintf("link add %s type vti local %s remote %s ikey %s okey %s", name, local, remote, tunnelKeyAC, tunnelKeyAC),
			fmt.Sprintf("addr add %s peer %s dev %s", inner, peer, name),
			"link set " + name + " up",
		}
	}
	sas := []string{sa(underlayAC, underlayCA, spiAtoC, encAC, authAC), sa(underlayCA, underlayAC, spiCtoA, encCA, authCA)}
	r.batch(r.a, append(append(vti("vti1", underlayAC, underlayCA, innerAC, innerCA), sas...),
		pol("out", underlayAC, underlayCA), pol("in", underlayCA, underlayAC))...)
	r.batch(c, append(append(vti("vti0", underlayCA, underlayAC, innerCA, innerAC), sas...),
		pol("out", underlayCA, underlayAC), pol("in", underlayAC, underlayCA))...)
	c.sink = r.listen(c)
	// C's tunnel works both ways.
	r.send(c, innerAC, 1, sendOpts{})
	r.expectReceived(r.a, 1)
	r.send(r.a, innerCA, 1, sendOpts{})
	r.expectReceived(c, 1)

	// A's inbound SA from C gets another authentication key.
	r.batch(r.a, fmt.Sprintf("xfrm state delete src %s dst %s proto esp spi %#x mark %s", underlayCA, underlayAC, spiCtoA, tunnelKeyAC),
		sa(underlayCA, underlayAC, spiCtoA, encCA, r.key()))
	before, bc := h.settledReading(r.a)
	r.send(c, innerAC, healthDropped, sendOpts{})
	r.send(r.b, r.b.peerInner, healthGood, sendOpts{})
	r.expectReceived(r.a, healthGood)
	after, ac := h.settledReading(r.a)
	r.save("before", bc)
	r.save("after", ac)
	logDeltas(t, bc, ac)
	t.Logf("A's XFRM events:\n%s", h.events.describe(t0))

	// Kernel facts: C's SA in A counted every ICV failure, B's none and
	// carried B's packets.
	fromC0, fromC1 := findSA(bc.Netlink.SAs, spiCtoA), findSA(ac.Netlink.SAs, spiCtoA)
	fromB0, fromB1 := findSA(bc.Netlink.SAs, spiOldBA), findSA(ac.Netlink.SAs, spiOldBA)
	if fromC0 == nil || fromC1 == nil || fromB0 == nil || fromB1 == nil {
		t.Fatalf("KERNEL FACT: A's inbound SAs %#x and %#x not in both readings", spiCtoA, spiOldBA)
	}
	t.Logf("kernel %s: A's SA from C: %s", after.KernelRelease, describeSA(fromC1))
	t.Logf("A's SA from B: %s", describeSA(fromB1))
	if d := fromC1.Stats.IntegrityFailed - fromC0.Stats.IntegrityFailed; d != healthDropped || fromC1.LifetimeCurrent.Packets != fromC0.LifetimeCurrent.Packets {
		h.kernelf("A's SA from C: integrity_failed +%d, packets %d → %d; want +%d and no packet", d,
			fromC0.LifetimeCurrent.Packets, fromC1.LifetimeCurrent.Packets, healthDropped)
	}
	if d, p := fromB1.Stats.IntegrityFailed-fromB0.Stats.IntegrityFailed, fromB1.LifetimeCurrent.Packets-fromB0.LifetimeCurrent.Packets; d != 0 || p != healthGood {
		h.kernelf("A's SA from B: integrity_failed +%d, packets +%d; want +0 and +%d", d, p, healthGood)
	}

	// Explain: vti1's finding names C's SA, nothing names B's.
	rep := explain.Explain(before, after)
	checkReportRoundTrip(t, rep)
	if diff := diffReport(t, rep, []want{spec("vti1: rx-integrity-failed=%d exact", healthDropped), spec(": rx-integrity-failed=%d exact", healthDropped)}); diff != "" {
		t.Errorf("findings differ from the rx-integrity-failed scenario's\n%s", diff)
	}
	var named bool
	for _, f := range rep.ByInterface("vti1") {
		if f.Cause != "rx-integrity-failed" {
			continue
		}
		for _, ev := range f.Evidence {
			if ev.Source == explain.SourceSA && ev.Counter == "integrity_failed" && ev.Delta == healthDropped && ev.SA != nil &&
				ev.SA.SPI == spiCtoA && ev.SA.Src.String() == underlayCA && ev.SA.Dst.String() == underlayAC {
				named = true
			}
		}
		if !named {
			h.implf("EXPLAIN", "vti1's rx-integrity-failed finding does not name C's SA (xfrm_sa integrity_failed +%d, %#x from %s); evidence %s",
				healthDropped, spiCtoA, underlayCA, describeEvidence(f.Evidence))
		}
	}
	for _, f := range rep.Findings {
		for _, ev := range f.Evidence {
			if ev.SA != nil && (ev.SA.SPI == spiOldBA || ev.SA.Src.String() == r.b.underlay) {
				h.implf("EXPLAIN", "%s: evidence %s names B's SA, whose traffic was good", findingSpec(f), describeEvidence([]explain.Evidence{ev}))
			}
		}
	}
}
