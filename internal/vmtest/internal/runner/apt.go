package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// aptSource is the Debian archive the host's apt already uses.
type aptSource struct {
	URI      string
	SignedBy string // keyring file, or "" for apt's default trusted keys
	From     string // the file it was found in
}

// defaultKeyring verifies every Debian suite's Release file (bullseye,
// bookworm and trixie keys are all in debian-archive-keyring from 2023.3 on;
// trixie-backports is signed with the same archive keys as trixie).
const defaultKeyring = "/usr/share/keyrings/debian-archive-keyring.gpg"

// findDebianSource picks, from the host's apt configuration, the first
// "deb" source with component main and a plain suite (a codename or
// stable/testing, not -security, -updates or -backports): that archive
// holds dists/<suite> for every Debian release still on the mirrors.
func findDebianSource(etcApt string) (aptSource, error) {
	var files []string
	if _, err := os.Stat(filepath.Join(etcApt, "sources.list")); err == nil {
		files = append(files, filepath.Join(etcApt, "sources.list"))
	}
	parts, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*"))
	sort.Strings(parts)
	files = append(files, parts...)
	for _, file := range files {
		var srcs []aptSource
		var err error
		switch {
		case strings.HasSuffix(file, ".sources"):
			srcs, err = parseDeb822Sources(file)
		case strings.HasSuffix(file, ".list") || filepath.Base(file) == "sources.list":
			srcs, err = parseOneLineSources(file)
		default:
			continue
		}
		if err != nil {
			return aptSource{}, err
		}
		if len(srcs) > 0 {
			return srcs[0], nil
		}
	}
	return aptSource{}, fmt.Errorf("no Debian archive (a deb source with a plain suite and component main) in %s/sources.list or %s/sources.list.d; pass -mirror URI", etcApt, etcApt)
}

func plainSuite(s string) bool {
	return s != "" && !strings.ContainsAny(s, "-/")
}

func usable(types, suites, components []string) bool {
	hasDeb, hasMain, hasSuite := false, false, false
	for _, t := range types {
		hasDeb = hasDeb || t == "deb"
	}
	for _, c := range components {
		hasMain = hasMain || c == "main"
	}
	for _, s := range suites {
		hasSuite = hasSuite || plainSuite(s)
	}
	return hasDeb && hasMain && hasSuite
}

// parseDeb822Sources reads a .sources file: stanzas of "Key: value" lines
// separated by blank lines; continuation lines start with a space.
func parseDeb822Sources(file string) ([]aptSource, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []aptSource
	for _, stanza := range splitStanzas(string(data)) {
		if strings.EqualFold(stanza["enabled"], "no") {
			continue
		}
		uris := strings.Fields(stanza["uris"])
		if len(uris) == 0 || !usable(strings.Fields(stanza["types"]), strings.Fields(stanza["suites"]), strings.Fields(stanza["components"])) {
			continue
		}
		signedBy := stanza["signed-by"]
		// An inline key block (several lines) cannot be passed on; the
		// Debian keyring package covers the Debian archive anyway.
		if strings.Contains(signedBy, "\n") || strings.Contains(signedBy, "BEGIN PGP") {
			signedBy = ""
		}
		out = append(out, aptSource{URI: uris[0], SignedBy: strings.TrimSpace(signedBy), From: file})
	}
	return out, nil
}

func splitStanzas(text string) []map[string]string {
	var stanzas []map[string]string
	cur := map[string]string{}
	last := ""
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			if len(cur) > 0 {
				stanzas = append(stanzas, cur)
			}
			cur, last = map[string]string{}, ""
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && last != "" {
			cur[last] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		last = strings.ToLower(strings.TrimSpace(k))
		cur[last] = strings.TrimSpace(v)
	}
	if len(cur) > 0 {
		stanzas = append(stanzas, cur)
	}
	return stanzas
}

// parseOneLineSources reads "deb [opts] URI suite component..." lines.
func parseOneLineSources(file string) ([]aptSource, error) {
	var out []aptSource
	err := eachLine(file, func(_ int, line string) error {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 4 || fields[0] != "deb" {
			return nil
		}
		signedBy := ""
		rest := fields[1:]
		if strings.HasPrefix(rest[0], "[") {
			// Options run until the field that ends with ']'.
			end := 0
			for end < len(rest) && !strings.HasSuffix(rest[end], "]") {
				end++
			}
			if end == len(rest) {
				return nil
			}
			for _, o := range rest[:end+1] {
				o = strings.Trim(o, "[]")
				if v, ok := strings.CutPrefix(o, "signed-by="); ok {
					signedBy = v
				}
			}
			rest = rest[end+1:]
		}
		if len(rest) < 3 || !usable([]string{"deb"}, rest[1:2], rest[2:]) {
			return nil
		}
		out = append(out, aptSource{URI: rest[0], SignedBy: signedBy, From: file})
		return nil
	})
	return out, err
}

// aptRoot is a private apt configuration for one suite: its own sources,
// lists and cache, so nothing of the host's apt state is read or changed.
type aptRoot struct {
	dir   string
	suite string
}

func (a aptRoot) options() []string {
	opts := []string{
		"Dir::Etc::SourceList=" + filepath.Join(a.dir, "sources.list"),
		"Dir::Etc::SourceParts=" + filepath.Join(a.dir, "sources.list.d"),
		"Dir::Etc::Preferences=" + filepath.Join(a.dir, "preferences"),
		"Dir::Etc::PreferencesParts=" + filepath.Join(a.dir, "preferences.d"),
		"Dir::State::Lists=" + filepath.Join(a.dir, "lists"),
		"Dir::State::status=" + filepath.Join(a.dir, "status"),
		"Dir::Cache=" + filepath.Join(a.dir, "cache"),
		"APT::Architecture=amd64",
		"APT::Architectures=amd64",
		"Acquire::Languages=none",
	}
	if os.Geteuid() == 0 {
		// apt drops to the _apt user for downloads, which cannot write
		// into a cache directory owned by root with mode 0700.
		opts = append(opts, "APT::Sandbox::User=root")
	}
	var args []string
	for _, o := range opts {
		args = append(args, "-o", o)
	}
	return args
}

func (a aptRoot) init(src aptSource) error {
	for _, d := range []string{"sources.list.d", "preferences.d", "lists/partial", "cache/archives/partial"} {
		if err := os.MkdirAll(filepath.Join(a.dir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(a.dir, "status"), nil, 0o644); err != nil {
		return err
	}
	opts := "target=Packages"
	switch {
	case src.SignedBy != "":
		opts = "signed-by=" + src.SignedBy + " " + opts
	case fileExists(defaultKeyring):
		opts = "signed-by=" + defaultKeyring + " " + opts
	}
	line := fmt.Sprintf("deb [%s] %s %s main\n", opts, src.URI, a.suite)
	return os.WriteFile(filepath.Join(a.dir, "sources.list"), []byte(line), 0o644)
}

func (a aptRoot) run(ctx context.Context, dir, tool string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, tool, append(a.options(), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, tail(stderr.String()+stdout.String(), 15))
	}
	// apt reports a bad signature as a warning and carries on with the old
	// lists: make it an error, verification is the point.
	if s := stderr.String(); strings.Contains(s, "NO_PUBKEY") || strings.Contains(s, "is not signed") || strings.Contains(s, "GPG error") {
		return stdout.String(), fmt.Errorf("%s %s: signature verification failed:\n%s", tool, strings.Join(args, " "), tail(s, 15))
	}
	return stdout.String(), nil
}

// kernelPackages is what a suite's linux-image-cloud-amd64 resolves to.
// Up to 6.12 (and its backports) the versioned image package holds
// everything: /boot/vmlinuz-<release> and /lib/modules/<release>. From 7.0
// on Debian splits it: linux-image-<abi> is a meta package depending on
// linux-binary-<abi> (/usr/lib/modules/<release>/vmlinuz), linux-modules-<abi>
// (the .ko files) and linux-base-<abi> (modules.builtin, modules.order,
// System.map, config), where <abi> is the release, e.g.
// 7.3.4+deb13-cloud-amd64.
type kernelPackages struct {
	Image   string   // linux-image-<abi>: names the kernel in the cache
	Version string   // the Debian version of Image (and of every part)
	Parts   []string // linux-{base,binary,modules}-<abi> of a split kernel, or nil
}

// all returns every package to download: the image and its parts.
func (kp kernelPackages) all() []string {
	return append([]string{kp.Image}, kp.Parts...)
}

// parseDepends returns the package names of the Depends and PreDepends
// lines of "apt-cache depends" output, in order. Virtual packages
// ("<dracut>") are left out; alternatives ("|Depends: a") are kept.
func parseDepends(out string) []string {
	var deps []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimLeft(strings.TrimSpace(line), "|")
		key, dep, ok := strings.Cut(line, ":")
		if !ok || (key != "Depends" && key != "PreDepends") {
			continue
		}
		if dep = strings.TrimSpace(dep); dep != "" && !strings.HasPrefix(dep, "<") {
			deps = append(deps, dep)
		}
	}
	return deps
}

// pickImage returns the dependency of linux-image-cloud-amd64 that is the
// versioned image of kernel (e.g. linux-image-6.1.0-50-cloud-amd64 or
// linux-image-7.3.4+deb13-cloud-amd64 for "6.1" and "7.3"). The meta
// package of a split kernel also depends on linux-base-cloud-amd64 and
// linux-modules-cloud-amd64, first.
func pickImage(suite, kernel string, deps []string) (string, error) {
	for _, d := range deps {
		abi, ok := strings.CutPrefix(d, "linux-image-")
		if !ok || !strings.HasSuffix(abi, "-cloud-amd64") {
			continue
		}
		// The release starts with major.minor.patch: 6.1.0-50, 7.3.4+deb13.
		if f := strings.SplitN(abi, ".", 3); len(f) == 3 && f[0]+"."+f[1] == kernel {
			return d, nil
		}
	}
	return "", fmt.Errorf("%s: linux-image-cloud-amd64 depends on %q, none of them a linux-image-%s.*-cloud-amd64 package", suite, deps, kernel)
}

// splitParts returns the linux-{base,binary,modules}-<abi> packages among
// the image's dependencies: all three for a split kernel, none for one
// whose image holds everything. Anything in between is an error.
func splitParts(image string, deps []string) ([]string, error) {
	abi := strings.TrimPrefix(image, "linux-image-")
	has := map[string]bool{}
	for _, d := range deps {
		has[d] = true
	}
	var parts, lacking []string
	for _, kind := range []string{"base", "binary", "modules"} {
		if p := "linux-" + kind + "-" + abi; has[p] {
			parts = append(parts, p)
		} else {
			lacking = append(lacking, p)
		}
	}
	switch len(parts) {
	case 0:
		return nil, nil
	case 3:
		return parts, nil
	}
	return nil, fmt.Errorf("%s depends on %s but not on %s: neither a complete image nor a complete split kernel", image, strings.Join(parts, ", "), strings.Join(lacking, ", "))
}

// resolve updates the suite's lists and returns the real kernel packages
// the linux-image-cloud-amd64 meta package depends on, and their version.
func (a aptRoot) resolve(ctx context.Context, kernel string) (kernelPackages, error) {
	if _, err := a.run(ctx, a.dir, "apt-get", "-q", "update"); err != nil {
		return kernelPackages{}, err
	}
	out, err := a.run(ctx, a.dir, "apt-cache", "depends", "linux-image-cloud-amd64")
	if err != nil {
		return kernelPackages{}, err
	}
	image, err := pickImage(a.suite, kernel, parseDepends(out))
	if err != nil {
		return kernelPackages{}, err
	}
	if out, err = a.run(ctx, a.dir, "apt-cache", "depends", image); err != nil {
		return kernelPackages{}, err
	}
	parts, err := splitParts(image, parseDepends(out))
	if err != nil {
		return kernelPackages{}, fmt.Errorf("%s: %w", a.suite, err)
	}
	if out, err = a.run(ctx, a.dir, "apt-cache", "show", "--no-all-versions", image); err != nil {
		return kernelPackages{}, err
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Version: "); ok {
			return kernelPackages{Image: image, Version: strings.TrimSpace(v), Parts: parts}, nil
		}
	}
	return kernelPackages{}, fmt.Errorf("%s: apt-cache show %s: no Version field", a.suite, image)
}

// download fetches pkg=version into dir (apt checks it against the signed
// Packages index) and returns the .deb's path.
func (a aptRoot) download(ctx context.Context, dir, pkg, version string) (string, error) {
	if _, err := a.run(ctx, dir, "apt-get", "-q", "download", pkg+"="+version); err != nil {
		return "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, pkg+"_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s=%s: expected one .deb in %s, found %d", pkg, version, dir, len(debs))
	}
	return debs[0], nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func tail(s string, lines int) string {
	all := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func runTool(ctx context.Context, dir string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%s not installed (run internal/vmtest/setup.sh): %w", name, err)
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(out.String(), 15))
	}
	return nil
}
