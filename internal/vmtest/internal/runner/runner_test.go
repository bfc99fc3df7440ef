package runner

import (
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// The archive URI in these tests is a placeholder: the repository names no
// package registry host.
const testURI = "http://mirror.invalid/debian"

func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestFindDebianSourceDeb822(t *testing.T) {
	// The layout of this machine's debian.sources, with the host replaced.
	dir := writeFiles(t, map[string]string{
		"sources.list.d/debian.sources": `Types: deb
# http://snapshot.invalid/archive/debian/20250520T000000Z
URIs: ` + testURI + `
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`,
		"sources.list.d/other.list.disabled-by-farm": "deb " + testURI + "-wrong bookworm main\n",
	})
	got, err := findDebianSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.URI != testURI || got.SignedBy != "/usr/share/keyrings/debian-archive-keyring.gpg" {
		t.Fatalf("got %+v", got)
	}
}

func TestFindDebianSourceSkips(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"sources.list": `# comment
deb http://mirror.invalid/debian-security bookworm-security main
deb-src ` + testURI + ` bookworm main
deb ` + testURI + `-contrib bookworm contrib
deb [arch=amd64 signed-by=/k.gpg] ` + testURI + ` bookworm main contrib # trailing
`,
		"sources.list.d/a.sources": `Enabled: no
Types: deb
URIs: http://mirror.invalid/disabled
Suites: bookworm
Components: main
`,
		"sources.list.d/b.sources": `Types: deb
URIs: http://mirror.invalid/inline
Suites: trixie
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 xyz
 -----END PGP PUBLIC KEY BLOCK-----
`,
	})
	got, err := findDebianSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	// sources.list is read first, and its last line is the usable one.
	if got.URI != testURI || got.SignedBy != "/k.gpg" {
		t.Fatalf("got %+v", got)
	}
	os.Remove(filepath.Join(dir, "sources.list"))
	got, err = findDebianSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.URI != "http://mirror.invalid/inline" || got.SignedBy != "" {
		t.Fatalf("inline key: got %+v, want the URI without a keyring path", got)
	}
	if _, err := findDebianSource(t.TempDir()); err == nil {
		t.Fatal("no sources: want an error")
	}
}

func FuzzParseSources(f *testing.F) {
	f.Add("Types: deb\nURIs: " + testURI + "\nSuites: bookworm\nComponents: main\n")
	f.Add("deb [signed-by=/k.gpg] " + testURI + " bookworm main\n")
	f.Add("deb [ " + testURI + "\n")
	f.Fuzz(func(t *testing.T, text string) {
		dir := t.TempDir()
		for _, name := range []string{"x.sources", "x.list"} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			var srcs []aptSource
			var err error
			if strings.HasSuffix(name, ".sources") {
				srcs, err = parseDeb822Sources(p)
			} else {
				srcs, err = parseOneLineSources(p)
			}
			if err != nil {
				continue
			}
			for _, s := range srcs {
				if s.URI == "" || strings.ContainsAny(s.URI, " \t\n") {
					t.Fatalf("%s: bad URI %q from %q", name, s.URI, text)
				}
			}
		}
	})
}

// Lines from 6.12's modules.dep, modules.softdep and modules.builtin
// (hand-trimmed to the modules involved).
const (
	testModulesDep = `kernel/crypto/authenc.ko.xz:
kernel/crypto/authencesn.ko.xz: kernel/crypto/authenc.ko.xz
kernel/net/ipv4/ip_vti.ko.xz: kernel/net/ipv4/tunnel4.ko.xz kernel/net/ipv4/ip_tunnel.ko.xz
kernel/net/ipv4/tunnel4.ko.xz:
kernel/net/ipv4/ip_tunnel.ko.xz:
kernel/net/ipv4/esp4.ko.xz: kernel/net/xfrm/xfrm_algo.ko.xz
kernel/net/xfrm/xfrm_algo.ko.xz:
kernel/crypto/ghash-generic.ko.xz:
kernel/fs/smb/client/cifs.ko.xz:
kernel/crypto/gcm.ko.xz:
`
	testModulesSoftdep = `# Soft dependencies extracted from modules themselves.
softdep nfsd pre: crypto-md5
softdep esp4 gcm
`
	testModulesBuiltin = "kernel/crypto/cbc.ko\nkernel/crypto/aes_generic.ko\n"
)

func TestModuleClosure(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"modules.dep":     testModulesDep,
		"modules.softdep": testModulesSoftdep,
		"modules.builtin": testModulesBuiltin,
	})
	idx, err := readModuleIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, missing := idx.closure([]string{"ip_vti", "esp4", "cbc", "aes-generic", "ghash-generic", "no_such_module"})
	want := []string{
		"kernel/crypto/gcm.ko.xz", // esp4's soft dependency (in this hand-made softdep)
		"kernel/crypto/ghash-generic.ko.xz",
		"kernel/net/ipv4/esp4.ko.xz",
		"kernel/net/ipv4/ip_tunnel.ko.xz",
		"kernel/net/ipv4/ip_vti.ko.xz",
		"kernel/net/ipv4/tunnel4.ko.xz",
		"kernel/net/xfrm/xfrm_algo.ko.xz",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("closure paths:\n got %q\nwant %q", paths, want)
	}
	if !reflect.DeepEqual(missing, []string{"no_such_module"}) {
		t.Errorf("missing = %q, want [no_such_module] (cbc and aes-generic are built in)", missing)
	}
}

func TestReadModuleIndexBadLine(t *testing.T) {
	dir := writeFiles(t, map[string]string{"modules.dep": "kernel/a.ko:\nkernel/b.ko\n"})
	_, err := readModuleIndex(dir)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("err = %v, want one naming line 2", err)
	}
}

// readCPIO is a minimal newc reader for the tests.
func readCPIO(t *testing.T, data []byte) (names []string, entries map[string][]byte, modes map[string]uint32) {
	t.Helper()
	entries, modes = map[string][]byte{}, map[string]uint32{}
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(data[off+6+8*i:off+14+8*i]), 16, 32)
		if err != nil {
			t.Fatalf("offset %d field %d: %v", off, i, err)
		}
		return uint32(v)
	}
	for {
		for off < len(data) && data[off] == 0 {
			off++ // padding between concatenated archives
		}
		if off == len(data) {
			return
		}
		if string(data[off:off+6]) != "070701" {
			t.Fatalf("offset %d: magic %q", off, data[off:off+6])
		}
		if off%4 != 0 {
			t.Fatalf("header at unaligned offset %d", off)
		}
		mode, size, namesize := field(1), int(field(6)), int(field(11))
		name := string(data[off+110 : off+110+namesize-1])
		off = (off + 110 + namesize + 3) &^ 3
		body := data[off : off+size]
		off = (off + size + 3) &^ 3
		if name == "TRAILER!!!" {
			continue
		}
		names = append(names, name)
		entries[name], modes[name] = body, mode
	}
}

func TestCPIOWriter(t *testing.T) {
	host := filepath.Join(t.TempDir(), "host")
	if err := os.WriteFile(host, []byte("hello\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w := newCPIOWriter(&buf)
	w.Bytes("/etc/passwd", 0o644, []byte("root:x:0:0::/root:/bin/sh\n"))
	w.HostFile("/bin/hello", host, 0)
	w.Symlink("/bin/sh", "dash")
	w.CharDev("/dev/console", 0o600, 5, 1)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A second archive appended, as the runner does.
	w2 := newCPIOWriter(&buf)
	w2.Bytes("/vmtest/config.json", 0o644, []byte("{}"))
	if err := w2.Close(); err != nil {
		t.Fatal(err)
	}
	names, entries, modes := readCPIO(t, buf.Bytes())
	wantNames := []string{"etc", "etc/passwd", "bin", "bin/hello", "bin/sh", "dev", "dev/console", "vmtest", "vmtest/config.json"}
	if !reflect.DeepEqual(names, wantNames) {
		t.Fatalf("names %q, want %q", names, wantNames)
	}
	if string(entries["bin/hello"]) != "hello\n" || modes["bin/hello"] != modeFile|0o755 {
		t.Errorf("bin/hello: %q mode %o", entries["bin/hello"], modes["bin/hello"])
	}
	if string(entries["bin/sh"]) != "dash" || modes["bin/sh"]&0o170000 != modeSymlink {
		t.Errorf("bin/sh: %q mode %o", entries["bin/sh"], modes["bin/sh"])
	}
	if modes["dev/console"] != modeChar|0o600 {
		t.Errorf("dev/console mode %o", modes["dev/console"])
	}

	// GNU cpio, where installed, agrees.
	if _, err := exec.LookPath("cpio"); err == nil {
		cmd := exec.Command("cpio", "-t", "--quiet")
		cmd.Stdin = bytes.NewReader(buf.Bytes()[:bytes.Index(buf.Bytes(), []byte("TRAILER!!!"))+16])
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio -t: %v", err)
		}
		if got := strings.Fields(string(out)); !reflect.DeepEqual(got, wantNames[:7]) {
			t.Errorf("cpio -t lists %q", got)
		}
	}
}

func TestCPIOWriterMissingFile(t *testing.T) {
	w := newCPIOWriter(&bytes.Buffer{})
	w.HostFile("/x", filepath.Join(t.TempDir(), "absent"), 0)
	if err := w.Close(); err == nil || !os.IsNotExist(unwrapAll(err)) {
		t.Fatalf("Close = %v, want a not-exist error", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

func TestParseResultsPass(t *testing.T) {
	f, err := os.Open("testdata/results-5.10-pass.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := parseResults(f)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Done || rep.Release != "5.10.0-32-cloud-amd64" || len(rep.Errors) > 0 {
		t.Fatalf("done %v release %q errors %q", rep.Done, rep.Release, rep.Errors)
	}
	var test *TestResult
	for _, tr := range rep.Tests {
		if tr.Test == "TestVMVTIMissingOutboundSA" {
			test = tr
		}
	}
	if test == nil || test.Action != "pass" {
		t.Fatalf("TestVMVTIMissingOutboundSA: %+v", test)
	}
	if code, ok := rep.Exits["github.com/tunnelstat/tunnelstat/internal/vmtest"]; !ok || code != 0 {
		t.Fatalf("exit %d %v", code, ok)
	}
	if len(rep.Artifacts) == 0 {
		t.Fatal("no artifacts")
	}
	for _, a := range rep.Artifacts {
		if !strings.HasPrefix(a.Path, "TestVMVTIMissingOutboundSA/") || len(a.Data) == 0 {
			t.Errorf("artifact %q (%d bytes)", a.Path, len(a.Data))
		}
	}
}

// The failing capture is from an early version of the VTI test (then named
// TestVTIMissingOutboundSA), on 6.1 before drbg was in the module list.
func TestParseResultsFail(t *testing.T) {
	f, err := os.Open("testdata/results-6.1-crypto-fail.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := parseResults(f)
	if err != nil {
		t.Fatal(err)
	}
	var test *TestResult
	for _, tr := range rep.Tests {
		if tr.Test == "TestVTIMissingOutboundSA" {
			test = tr
		}
	}
	if test == nil || test.Action != "fail" {
		t.Fatalf("test: %+v", test)
	}
	if r := test.Reason(); !strings.HasPrefix(r, "vti_vm_test.go:64: ip -n ") || !strings.Contains(r, "<key>") {
		t.Errorf("Reason() = %q", r)
	}
	if rep.Exits["github.com/tunnelstat/tunnelstat/internal/vmtest"] != 1 {
		t.Errorf("exit code %d, want 1", rep.Exits["github.com/tunnelstat/tunnelstat/internal/vmtest"])
	}
}

func TestParseResultsTruncated(t *testing.T) {
	in := "VMTEST-HELLO 6.1.0-50-cloud-amd64\r\nVMTEST-EVENT {\"Action\":\"run\",\"Test\":\"T\"}\nVMTEST-EVENT {\"Action\":\"out\nVMTEST-FILE p x !!!\nVMTEST-BOGUS\nboot noise\n"
	rep, err := parseResults(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Done || rep.Release != "6.1.0-50-cloud-amd64" {
		t.Fatalf("done %v release %q", rep.Done, rep.Release)
	}
	if len(rep.Errors) != 3 {
		t.Fatalf("errors %q, want the torn event, the bad file and the unknown record", rep.Errors)
	}
	if len(rep.Tests) != 1 || rep.Tests[0].Action != "" {
		t.Fatalf("tests %+v: want one that never ended", rep.Tests)
	}
}

func FuzzParseResults(f *testing.F) {
	for _, name := range []string{"testdata/results-5.10-pass.log", "testdata/results-6.1-crypto-fail.log"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := parseResults(bytes.NewReader(data))
		if err != nil {
			return // only a line longer than the scanner's limit
		}
		for _, tr := range rep.Tests {
			_ = tr.Reason()
		}
	})
}

func TestReason(t *testing.T) {
	skip := &TestResult{Action: "skip", Output: []string{
		"=== RUN   TestX",
		"    x_test.go:10: first",
		"    x_test.go:12: needs kernel module ip_vti: not found",
		"--- SKIP: TestX (0.00s)",
	}}
	if got := skip.Reason(); got != "x_test.go:12: needs kernel module ip_vti: not found" {
		t.Errorf("skip reason %q", got)
	}
	panicked := &TestResult{Action: "fail", Output: []string{"=== RUN   TestX", "panic: runtime error: index out of range [recovered]", "goroutine 7 [running]:"}}
	if got := panicked.Reason(); got != "panic: runtime error: index out of range [recovered]" {
		t.Errorf("panic reason %q", got)
	}
}

func TestSafeJoin(t *testing.T) {
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x", ".", ""} {
		if p, err := safeJoin("/r", bad); err == nil {
			t.Errorf("safeJoin(%q) = %q, want an error", bad, p)
		}
	}
	if p, err := safeJoin("/r", "T/a/b"); err != nil || p != filepath.Join("/r", "T", "a", "b") {
		t.Errorf("safeJoin = %q, %v", p, err)
	}
}

func TestPrintable(t *testing.T) {
	in := "Probing EDD... ok\x1bc\x1b[?7l\x1b[2J[    0.000000] Linux version\r\n"
	if got, want := printable(in), "Probing EDD... ok[    0.000000] Linux version\n"; got != want {
		t.Errorf("printable = %q (%s), want %q", got, hex.EncodeToString([]byte(got)), want)
	}
}

func TestLookupKernel(t *testing.T) {
	for _, name := range []string{"6.12", "trixie"} {
		if k, err := LookupKernel(name); err != nil || k.Suite != "trixie" || k.Name != "6.12" {
			t.Errorf("LookupKernel(%q) = %+v, %v", name, k, err)
		}
	}
	for _, name := range []string{"7.3", "trixie-backports"} {
		if k, err := LookupKernel(name); err != nil || k.Suite != "trixie-backports" || k.Name != "7.3" {
			t.Errorf("LookupKernel(%q) = %+v, %v", name, k, err)
		}
	}
	if _, err := LookupKernel("4.19"); err == nil {
		t.Error("LookupKernel(4.19): want an error")
	}
	if newest := Matrix[len(Matrix)-1].Name; newest != "7.3" {
		t.Errorf("newest kernel of the matrix %q, want 7.3 (it is the guests' MaxKernel)", newest)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The apt-depends-*.txt files are real "apt-cache depends" answers of
// trixie (6.12, one image package) and trixie-backports (7.3, split).
func TestResolvePackages(t *testing.T) {
	for _, tc := range []struct {
		suite, kernel, image string
		parts                []string
	}{
		{"trixie", "6.12", "linux-image-6.12.117+deb13-cloud-amd64", nil},
		{"trixie-backports", "7.3", "linux-image-7.3.4+deb13-cloud-amd64", []string{
			"linux-base-7.3.4+deb13-cloud-amd64",
			"linux-binary-7.3.4+deb13-cloud-amd64",
			"linux-modules-7.3.4+deb13-cloud-amd64",
		}},
	} {
		image, err := pickImage(tc.suite, tc.kernel, parseDepends(readTestdata(t, "apt-depends-"+tc.suite+".txt")))
		if err != nil || image != tc.image {
			t.Errorf("%s: pickImage = %q, %v; want %q", tc.suite, image, err, tc.image)
			continue
		}
		parts, err := splitParts(image, parseDepends(readTestdata(t, "apt-depends-"+image+".txt")))
		if err != nil || !reflect.DeepEqual(parts, tc.parts) {
			t.Errorf("%s: splitParts = %q, %v; want %q", image, parts, err, tc.parts)
		}
		kp := kernelPackages{Image: image, Parts: parts}
		if all := kp.all(); all[0] != image || len(all) != 1+len(tc.parts) {
			t.Errorf("%s: all() = %q", image, all)
		}
	}
}

func TestParseDepends(t *testing.T) {
	got := parseDepends(readTestdata(t, "apt-depends-linux-image-7.3.4+deb13-cloud-amd64.txt"))
	want := []string{"linux-base", "linux-base-7.3.4+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-amd64", "linux-modules-7.3.4+deb13-cloud-amd64"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDepends = %q, want %q (virtual <...> packages and Suggests left out)", got, want)
	}
	got = parseDepends(readTestdata(t, "apt-depends-linux-image-6.12.117+deb13-cloud-amd64.txt"))
	want = []string{"linux-base", "kmod", "initramfs-tools"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseDepends = %q, want %q", got, want)
	}
}

func TestPickImageErrors(t *testing.T) {
	deps := parseDepends(readTestdata(t, "apt-depends-trixie-backports.txt"))
	// The suite moved on to a kernel the matrix does not name (or the
	// prefix would match a longer minor: 7.3 is not 7.30).
	for _, kernel := range []string{"7.2", "7", "7.30"} {
		if image, err := pickImage("trixie-backports", kernel, deps); err == nil {
			t.Errorf("pickImage(%s) = %q, want an error", kernel, image)
		}
	}
	if image, err := pickImage("trixie-backports", "7.3", []string{"linux-image-7.3.4+deb13-cloud-amd64-dbg", "linux-image-7.3.4+deb13-amd64"}); err == nil {
		t.Errorf("pickImage of a non-cloud flavour = %q, want an error", image)
	}
	if image, err := pickImage("trixie", "6.12", nil); err == nil {
		t.Errorf("pickImage without dependencies = %q, want an error", image)
	}
}

func TestSplitPartsIncomplete(t *testing.T) {
	image := "linux-image-7.3.4+deb13-cloud-amd64"
	_, err := splitParts(image, []string{"linux-base", "linux-base-7.3.4+deb13-cloud-amd64", "linux-binary-7.3.4+deb13-cloud-amd64"})
	if err == nil || !strings.Contains(err.Error(), "linux-modules-7.3.4+deb13-cloud-amd64") {
		t.Errorf("splitParts without the modules = %v, want an error naming linux-modules-7.3.4+deb13-cloud-amd64", err)
	}
	// Parts of another release are not this image's.
	if parts, err := splitParts(image, []string{"linux-binary-7.3.3+deb13-cloud-amd64"}); err != nil || parts != nil {
		t.Errorf("splitParts(other release) = %q, %v", parts, err)
	}
}

// The layouts of the unpacked packages: 5.10 (lib/modules), 6.12 (usr/lib,
// vmlinuz in /boot) and 7.3 (linux-binary's vmlinuz in the modules
// directory, linux-base's modules.builtin beside linux-modules' kernel/).
func TestFindKernel(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		vmlinuz string
		release string
		modules string
	}{
		{"5.10", map[string]string{
			"boot/vmlinuz-5.10.0-32-cloud-amd64":                          "bzImage",
			"boot/System.map-5.10.0-32-cloud-amd64":                       "",
			"lib/modules/5.10.0-32-cloud-amd64/kernel/net/ipv4/ip_vti.ko": "",
			"lib/modules/5.10.0-32-cloud-amd64/modules.builtin":           "",
		}, "boot/vmlinuz-5.10.0-32-cloud-amd64", "5.10.0-32-cloud-amd64", "lib/modules/5.10.0-32-cloud-amd64"},
		{"6.12", map[string]string{
			"boot/vmlinuz-6.12.117+deb13-cloud-amd64":                                 "bzImage",
			"usr/lib/modules/6.12.117+deb13-cloud-amd64/kernel/net/ipv4/ip_vti.ko.xz": "",
			"usr/lib/modules/6.12.117+deb13-cloud-amd64/modules.builtin":              "",
		}, "boot/vmlinuz-6.12.117+deb13-cloud-amd64", "6.12.117+deb13-cloud-amd64", "usr/lib/modules/6.12.117+deb13-cloud-amd64"},
		{"7.3", map[string]string{
			"usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz":                      "bzImage",
			"usr/lib/modules/7.3.4+deb13-cloud-amd64/kernel/net/ipv4/ip_vti.ko.xz": "",
			"usr/lib/modules/7.3.4+deb13-cloud-amd64/modules.builtin":              "",
			"usr/lib/modules/7.3.4+deb13-cloud-amd64/modules.order":                "",
			"usr/share/doc/linux-base-7.3.4+deb13-cloud-amd64/copyright":           "",
		}, "usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz", "7.3.4+deb13-cloud-amd64", "usr/lib/modules/7.3.4+deb13-cloud-amd64"},
	} {
		x := writeFiles(t, tc.files)
		vmlinuz, release, modules, err := findKernel(x)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if vmlinuz != filepath.Join(x, tc.vmlinuz) || release != tc.release || modules != filepath.Join(x, tc.modules) {
			t.Errorf("%s: findKernel = %q, %q, %q", tc.name, vmlinuz, release, modules)
		}
	}
}

func TestFindKernelErrors(t *testing.T) {
	for name, files := range map[string]map[string]string{
		"no image":        {"usr/lib/modules/7.3.4+deb13-cloud-amd64/kernel/a.ko.xz": ""},
		"both layouts":    {"boot/vmlinuz-7.3.4+deb13-cloud-amd64": "", "usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz": "", "usr/lib/modules/7.3.4+deb13-cloud-amd64/kernel/a.ko.xz": ""},
		"binary only":     {"usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz": ""},
		"no modules":      {"boot/vmlinuz-6.12.117+deb13-cloud-amd64": ""},
		"two releases":    {"usr/lib/modules/7.3.4+deb13-cloud-amd64/vmlinuz": "", "usr/lib/modules/7.3.3+deb13-cloud-amd64/vmlinuz": ""},
		"lib and usr/lib": {"boot/vmlinuz-6.1.0-50-cloud-amd64": "", "lib/modules/6.1.0-50-cloud-amd64/kernel/a.ko": "", "usr/lib/modules/6.1.0-50-cloud-amd64/kernel/a.ko": ""},
	} {
		if v, r, m, err := findKernel(writeFiles(t, files)); err == nil {
			t.Errorf("%s: findKernel = %q, %q, %q; want an error", name, v, r, m)
		}
	}
}

// Lines of 7.3's modules.dep and modules.builtin (hand-trimmed): the
// generic crypto drivers the tests name are gone, their successors are
// built in (aes, sha256, libgf128hash) or modules (chacha, libpoly1305).
const (
	testModulesDep73 = `kernel/crypto/gcm.ko.xz:
kernel/crypto/chacha20poly1305.ko.xz: kernel/lib/crypto/libpoly1305.ko.xz
kernel/crypto/chacha.ko.xz: kernel/lib/crypto/libchacha.ko.xz
kernel/lib/crypto/libchacha.ko.xz:
kernel/lib/crypto/libpoly1305.ko.xz:
kernel/crypto/seqiv.ko.xz: kernel/crypto/geniv.ko.xz
kernel/crypto/geniv.ko.xz:
kernel/net/ipv4/esp4.ko.xz: kernel/net/xfrm/xfrm_algo.ko.xz
kernel/net/xfrm/xfrm_algo.ko.xz:
`
	testModulesBuiltin73 = "kernel/crypto/hmac.ko\nkernel/crypto/sha256.ko\nkernel/crypto/cbc.ko\nkernel/crypto/aes.ko\nkernel/lib/crypto/libgf128hash.ko\n"
)

func TestModuleClosureSuccessors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"modules.dep":     testModulesDep73,
		"modules.builtin": testModulesBuiltin73,
	})
	idx, err := readModuleIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	paths, missing := idx.closure([]string{"esp4", "seqiv", "gcm", "ghash-generic", "aes_generic", "sha256_generic",
		"chacha_generic", "poly1305_generic", "chacha20poly1305", "sha512_generic", "drbg"})
	want := []string{
		"kernel/crypto/chacha.ko.xz", // for chacha_generic
		"kernel/crypto/chacha20poly1305.ko.xz",
		"kernel/crypto/gcm.ko.xz",
		"kernel/crypto/geniv.ko.xz",
		"kernel/crypto/seqiv.ko.xz",
		"kernel/lib/crypto/libchacha.ko.xz",
		"kernel/lib/crypto/libpoly1305.ko.xz", // for poly1305_generic, and chacha20poly1305's dependency
		"kernel/net/ipv4/esp4.ko.xz",
		"kernel/net/xfrm/xfrm_algo.ko.xz",
	}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("closure paths:\n got %q\nwant %q", paths, want)
	}
	// sha512 is not in this trimmed index: its successor is missing too.
	if want := []string{"sha512_generic", "drbg"}; !reflect.DeepEqual(missing, want) {
		t.Errorf("missing = %q, want %q", missing, want)
	}

	// On a kernel that has the old name, it is used and its successor is not.
	paths, missing = idx.closure([]string{"libpoly1305"})
	if !reflect.DeepEqual(paths, []string{"kernel/lib/crypto/libpoly1305.ko.xz"}) || missing != nil {
		t.Errorf("closure(libpoly1305) = %q, %q", paths, missing)
	}
	old, err := readModuleIndex(writeFiles(t, map[string]string{"modules.dep": testModulesDep, "modules.builtin": testModulesBuiltin}))
	if err != nil {
		t.Fatal(err)
	}
	if paths, missing := old.closure([]string{"ghash-generic", "aes_generic"}); !reflect.DeepEqual(paths, []string{"kernel/crypto/ghash-generic.ko.xz"}) || missing != nil {
		t.Errorf("6.12 closure(ghash-generic, aes_generic) = %q, %q", paths, missing)
	}
}
