//go:build linux

package xfrmstat_test

// The key audit of issue 9: SAs with known keys are installed in a VM
// kernel (the host has no ESP), then read through every public path of
// xfrmstat (dumps, reuse dumps, filtered dumps, events), explain, JSON and
// fmt, with log output captured; the key bytes must appear nowhere, in raw,
// hex, base64 or Go's %v byte-list form. A raw dump of the same SAs shows
// the keys ARE in what the kernel sends, so the audit is not vacuous.
//
//	go run ./internal/vmtest/cmd/vmtest -run TestVMKeyAudit -kernels 6.1 ./xfrmstat/

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"github.com/tunnelstat/tunnelstat/explain"
	"github.com/tunnelstat/tunnelstat/explain/monitor"
	"github.com/tunnelstat/tunnelstat/internal/testns"
	"github.com/tunnelstat/tunnelstat/internal/vmtest"
	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
	"golang.org/x/sys/unix"
)

// auditKey derives distinctive key bytes from a label: no decoder could
// produce them by chance.
func auditKey(label string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		s := sha256.Sum256([]byte(fmt.Sprintf("tunnelstat key audit %s %d", label, i)))
		out = append(out, s[:]...)
	}
	return out[:n]
}

// keyForms are the ways a key could leak into text: raw, hex (both cases,
// with and without 0x), base64 (standard, URL, raw), and fmt's %v of a
// byte slice. Each is cut to a 12-byte window of the key, so a partial copy
// (a key cut at a field boundary) is found too.
func keyForms(key []byte) map[string][]byte {
	forms := map[string][]byte{}
	for off := 0; off+12 <= len(key); off += 4 {
		w := key[off : off+12]
		forms[fmt.Sprintf("raw@%d", off)] = w
		forms[fmt.Sprintf("hex@%d", off)] = []byte(hex.EncodeToString(w))
		forms[fmt.Sprintf("HEX@%d", off)] = []byte(strings.ToUpper(hex.EncodeToString(w)))
		forms[fmt.Sprintf("bytes@%d", off)] = []byte(strings.Trim(fmt.Sprint(w), "[]"))
		forms[fmt.Sprintf("hexbytes@%d", off)] = []byte(strings.Trim(fmt.Sprintf("%#v", w)[len("[]byte{"):], "}"))
	}
	// base64 depends on alignment: encode the whole key at its three
	// alignments and look for a 16-character window of each.
	for shift := 0; shift < 3; shift++ {
		for name, enc := range map[string]*base64.Encoding{"b64": base64.StdEncoding, "b64url": base64.URLEncoding} {
			s := enc.EncodeToString(key[shift:])
			for off := 0; off+20 <= len(s)-4; off += 8 {
				forms[fmt.Sprintf("%s+%d@%d", name, shift, off)] = []byte(s[off : off+16])
			}
		}
	}
	return forms
}

func TestVMKeyAuditNoKeyMaterial(t *testing.T) {
	vmtest.RequireRoot(t)
	vmtest.RequireModules(t, "esp4", "xfrm_user", "esp6", "ah4", "authenc", "cbc", "aes_generic",
		"sha256_generic", "hmac", "gcm", "ctr", "ghash-generic", "seqiv", "echainiv")
	vmtest.RequireTools(t, "ip")

	authKey, cryptKey, aeadKey := auditKey("auth", 32), auditKey("crypt", 16), auditKey("aead", 20)
	keys := map[string][]byte{"auth hmac(sha256)": authKey, "enc cbc(aes)": cryptKey, "aead rfc4106(gcm(aes))": aeadKey}
	hexKey := func(k []byte) string { return "0x" + hex.EncodeToString(k) }

	// Capture everything the process logs while the audit runs.
	var logs bytes.Buffer
	var logMu sync.Mutex
	lw := writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) })
	oldFlags, oldOut := log.Flags(), log.Writer()
	log.SetOutput(lw)
	oldSlog := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(lw, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer func() { log.SetOutput(oldOut); log.SetFlags(oldFlags); slog.SetDefault(oldSlog) }()

	ns := testns.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := xfrmstat.Dial(&xfrmstat.Config{NetNS: xfrmstat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(ctx, xfrmstat.GroupAll)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	stream := xfrmstat.StreamEvents(ctx, sub)

	// Collected output: every string the package produced.
	var texts []string
	var values []any
	record := func(what string, v any) {
		values = append(values, v)
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
			texts = append(texts, what+" "+verb+": "+fmt.Sprintf(verb, v))
		}
		j, err := json.Marshal(v)
		if err != nil {
			t.Errorf("json %s: %v", what, err)
		}
		texts = append(texts, what+" json: "+string(j))
		if ji, err := json.MarshalIndent(v, "", " "); err == nil {
			texts = append(texts, string(ji))
		}
	}
	recordErr := func(what string, err error) {
		if err != nil {
			texts = append(texts, what+" error: "+err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}

	add := func(args ...string) { ns.IP(t, append([]string{"xfrm", "state", "add"}, args...)...) }
	add("src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x2001", "reqid", "1", "mode", "tunnel",
		"enc", "cbc(aes)", hexKey(cryptKey), "auth-trunc", "hmac(sha256)", hexKey(authKey), "128")
	add("src", "2001:db8::1", "dst", "2001:db8::2", "proto", "esp", "spi", "0x2002", "reqid", "2", "mode", "transport",
		"flag", "esn", "replay-window", "128", "aead", "rfc4106(gcm(aes))", hexKey(aeadKey), "128")
	add("src", "192.0.2.1", "dst", "192.0.2.3", "proto", "ah", "spi", "0x2003", "reqid", "3", "mode", "transport",
		"auth", "hmac(sha256)", hexKey(authKey))
	// A soft lifetime of one second: the kernel sends a soft EXPIRE with
	// the SA in it.
	add("src", "192.0.2.1", "dst", "192.0.2.4", "proto", "esp", "spi", "0x2004", "reqid", "4", "mode", "tunnel",
		"limit", "time-soft", "1", "limit", "time-hard", "30",
		"enc", "cbc(aes)", hexKey(cryptKey), "auth-trunc", "hmac(sha256)", hexKey(authKey), "96")
	ns.IP(t, "xfrm", "policy", "add", "src", "10.1.0.0/24", "dst", "10.2.0.0/24", "dir", "out",
		"tmpl", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "reqid", "1", "mode", "tunnel")

	// Positive control: the kernel's own reply carries the keys.
	raw := rawSADump(t, ns)
	for name, k := range keys {
		if !bytes.Contains(raw, k) {
			t.Fatalf("the raw kernel SA dump does not contain the %s key: the audit would prove nothing", name)
		}
	}

	// Every read path.
	sas, err := c.SAs(ctx, nil)
	recordErr("SAs", err)
	if len(sas) != 4 {
		t.Fatalf("%d SAs, want 4", len(sas))
	}
	record("SAs", sas)
	for i := range sas {
		record(fmt.Sprintf("SA[%d]", i), sas[i])
		record(fmt.Sprintf("&SA[%d]", i), &sas[i])
		for _, a := range []*xfrmstat.Algorithm{sas[i].Auth, sas[i].Crypt, sas[i].AEAD, sas[i].Comp} {
			if a != nil {
				record("Algorithm", a)
			}
		}
		if sas[i].Replay != nil {
			record("Replay", sas[i].Replay)
		}
	}
	again, err := c.SAs(ctx, sas[:0])
	recordErr("SAs reused", err)
	record("SAs reused", again)
	for _, f := range [][]xfrmstat.SAFilter{
		{xfrmstat.ByProto(50)}, {xfrmstat.ByProto(51)}, {xfrmstat.ByDst(netip.MustParsePrefix("192.0.2.0/24"))},
		{xfrmstat.ByFamily(unix.AF_INET6)},
	} {
		got, err := c.SAs(ctx, nil, f...)
		recordErr("SAs filtered", err)
		record("SAs filtered", got)
	}
	_, err = c.SAs(ctx, nil, xfrmstat.ByProto(50), xfrmstat.ByProto(51))
	recordErr("SAs bad filter", err)
	pols, err := c.Policies(ctx, nil)
	recordErr("Policies", err)
	record("Policies", pols)
	spd, err := c.SPDInfo(ctx)
	recordErr("SPDInfo", err)
	record("SPDInfo", spd)
	sad, err := c.SADInfo(ctx)
	recordErr("SADInfo", err)
	record("SADInfo", sad)
	mib := new(procnet.XfrmStat)
	err = c.MIB(ctx, mib)
	recordErr("MIB", err)
	record("MIB", mib)

	// Update and delete an SA, flush at the end: SAEvent New, Update,
	// Delete, the soft Expire, SAFlush.
	ns.IP(t, "xfrm", "state", "update", "src", "192.0.2.1", "dst", "192.0.2.2", "proto", "esp", "spi", "0x2001", "reqid", "1",
		"mode", "tunnel", "enc", "cbc(aes)", hexKey(cryptKey), "auth-trunc", "hmac(sha256)", hexKey(authKey), "128")
	ns.IP(t, "xfrm", "state", "delete", "src", "192.0.2.1", "dst", "192.0.2.3", "proto", "ah", "spi", "0x2003")
	seen := map[string]int{}
	// collect records events until stop says so or d has passed.
	collect := func(d time.Duration, stop func(ev xfrmstat.Event) bool) {
		deadline := time.After(d)
		for {
			select {
			case ev, ok := <-stream.C:
				if !ok {
					return
				}
				name := fmt.Sprintf("%T", ev)
				if e, ok := ev.(*xfrmstat.SAEvent); ok {
					name += "/" + e.Op.String()
				}
				if e, ok := ev.(*xfrmstat.SAExpire); ok && !e.Hard {
					name += "/soft"
				}
				seen[name]++
				record("event "+name, ev)
				if stop(ev) {
					return
				}
			case <-deadline:
				return
			}
		}
	}
	// The soft expire (1 s, checked by a timer with second granularity,
	// later still on a slow emulated CPU) comes before the flush.
	collect(15*time.Second, func(ev xfrmstat.Event) bool {
		e, ok := ev.(*xfrmstat.SAExpire)
		return ok && !e.Hard
	})
	ns.IP(t, "xfrm", "state", "flush")
	collect(5*time.Second, func(ev xfrmstat.Event) bool {
		_, ok := ev.(*xfrmstat.SAFlush)
		return ok
	})
	t.Logf("events: %v", seen)
	for _, want := range []string{"*xfrmstat.SAEvent/new", "*xfrmstat.SAEvent/delete", "*xfrmstat.SAExpire/soft", "*xfrmstat.SAFlush"} {
		if seen[want] == 0 {
			t.Errorf("no %s event seen: that path went unaudited", want)
		}
	}
	recordErr("subscription", stream.Err())

	// explain, with the SAs (re-read before the flush is no longer
	// possible: use the first dump) and the namespace's links.
	vc, err := vtistat.Dial(&vtistat.Config{NetNS: vtistat.NetNS{Name: ns.Name}})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	var snap vtistat.Snapshot
	err = vc.Snapshot(ctx, &snap)
	recordErr("Snapshot", err)
	links := snap.Links
	sas2, _ := c.SAs(ctx, nil)
	before := &explain.Reading{Time: time.Now().Add(-time.Minute), Links: monitor.AppendLinkReadings(nil, links), MIB: &procnet.XfrmStat{}}
	after := &explain.Reading{Time: time.Now(), Links: monitor.AppendLinkReadings(nil, links), MIB: mib,
		Policies: monitor.ExplainPolicies(pols), SAs: monitor.ExplainSAs(append(again, sas2...))}
	rep := explain.Explain(before, after)
	record("explain report", rep)
	texts = append(texts, rep.String())

	logMu.Lock()
	texts = append(texts, "log: "+logs.String())
	logMu.Unlock()

	// The audit.
	all := []byte(strings.Join(texts, "\n"))
	checked := 0
	for name, k := range keys {
		for form, pat := range keyForms(k) {
			checked++
			if i := bytes.Index(all, pat); i >= 0 {
				lo, hi := max(0, i-80), min(len(all), i+len(pat)+80)
				t.Errorf("%s key found as %s: …%q…", name, form, all[lo:hi])
			}
		}
	}
	// And in memory: no Algorithm has a field that could hold a key, and
	// no value reachable from the results holds the key bytes.
	for _, v := range values {
		if err := scanValue(v, keys); err != nil {
			t.Error(err)
		}
	}
	t.Logf("audited %d bytes of output (%d texts, %d values) for %d key forms: %d SAs, %d events", len(all), len(texts), len(values), checked, len(sas), len(seen))
}

// rawSADump dumps the SAs with a plain netlink socket: the kernel's bytes.
func rawSADump(t *testing.T, ns *testns.NS) []byte {
	t.Helper()
	fd := ns.Open(t)
	conn, err := netlink.Dial(unix.NETLINK_XFRM, &netlink.Config{NetNS: fd})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const xfrmMsgGetSA = 0x12
	msgs, err := conn.Execute(netlink.Message{Header: netlink.Header{Type: xfrmMsgGetSA, Flags: netlink.Request | netlink.Dump}})
	if err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, m := range msgs {
		all = append(all, m.Data...)
	}
	return all
}

// scanValue walks v's JSON-independent memory image: %#v prints every
// field, including byte slices, so a key held anywhere would show there;
// this checks the raw bytes of every []byte and string field through %#v's
// escaping of strings as well.
func scanValue(v any, keys map[string][]byte) error {
	s := fmt.Sprintf("%#v", v)
	for name, k := range keys {
		if strings.Contains(s, string(k[:12])) {
			return fmt.Errorf("%T holds the %s key", v, name)
		}
	}
	return nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
