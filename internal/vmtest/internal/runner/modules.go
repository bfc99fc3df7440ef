package runner

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

// DefaultModules are the kernel modules every VM's initramfs carries, with
// everything they depend on (modules.dep and modules.softdep). Tests load
// them with vmtest.RequireModules; a module a test needs must be listed here
// (or passed with -modules). Names already built into a kernel are fine.
var DefaultModules = []string{
	// Tunnels and route-based IPsec.
	"ip_vti", "ip6_vti", "xfrm_interface",
	"ip_gre", "ip6_gre", "gre", "ipip", "sit", "ip6_tunnel", "ip_tunnel",
	"tunnel4", "tunnel6", "xfrm4_tunnel", "xfrm6_tunnel",
	"udp_tunnel", "ip6_udp_tunnel", "fou", "fou6",
	// Links the tests build their topologies from.
	"veth", "dummy", "vxlan",
	// WireGuard (its crypto is in lib/crypto: curve25519, chacha20poly1305).
	"wireguard",
	// XFRM: netlink, the IPsec protocols and their crypto.
	"xfrm_user", "xfrm_algo", "esp4", "esp6", "ah4", "ah6", "ipcomp", "ipcomp6",
	"authenc", "authencesn", "cbc", "ctr", "gcm", "ccm", "ghash-generic",
	"aes_generic", "sha1_generic", "sha256_generic", "sha512_generic", "hmac",
	"md5", "cmac", "xcbc", "echainiv", "seqiv", "chacha20poly1305",
	"chacha_generic", "poly1305_generic", "crypto_null", "des_generic",
	// The IV generators (echainiv, seqiv) of 5.10 and 6.1 seed themselves
	// from the default RNG, "stdrng": without drbg every ESP SA but the null
	// cipher fails with "Kernel was unable to initialize cryptographic
	// operations". 6.12 builds them in (and no longer needs them there).
	// 7.3 has no drbg at all (CONFIG_CRYPTO_DRBG is not set), and its ESP
	// SAs work without it.
	//
	// 7.3 also lacks aes_generic, sha*_generic, ghash-generic,
	// chacha_generic and poly1305_generic: their successors
	// (protocol.ModuleSuccessors) come instead.
	"drbg", "jitterentropy_rng",
}

// moduleIndex is what depmod knows about one kernel's modules tree.
type moduleIndex struct {
	paths   map[string]string   // normalized name -> path relative to the tree
	deps    map[string][]string // path -> dependency paths
	softdep map[string][]string // normalized name -> normalized names
	builtin map[string]bool     // normalized names
}

// moduleName turns "kernel/crypto/ghash-generic.ko.xz" into "ghash_generic":
// modprobe treats '-' and '_' alike.
func moduleName(p string) string {
	base := path.Base(p)
	for _, ext := range []string{".xz", ".zst", ".gz"} {
		base = strings.TrimSuffix(base, ext)
	}
	base = strings.TrimSuffix(base, ".ko")
	return strings.ReplaceAll(base, "-", "_")
}

func readModuleIndex(dir string) (*moduleIndex, error) {
	idx := &moduleIndex{
		paths:   map[string]string{},
		deps:    map[string][]string{},
		softdep: map[string][]string{},
		builtin: map[string]bool{},
	}
	if err := eachLine(filepath.Join(dir, "modules.dep"), func(n int, line string) error {
		mod, deps, ok := strings.Cut(line, ":")
		if !ok {
			return fmt.Errorf("line %d: no ':' in %q", n, line)
		}
		idx.paths[moduleName(mod)] = mod
		idx.deps[mod] = strings.Fields(deps)
		return nil
	}); err != nil {
		return nil, err
	}
	// Optional files: a kernel without builtin or softdep data is fine.
	for _, f := range []struct {
		name string
		fn   func(int, string) error
	}{
		{"modules.builtin", func(_ int, line string) error {
			idx.builtin[moduleName(line)] = true
			return nil
		}},
		{"modules.softdep", func(_ int, line string) error {
			// softdep <module> pre: a b post: c d
			fields := strings.Fields(line)
			if len(fields) < 2 || fields[0] != "softdep" {
				return nil
			}
			name := moduleName(fields[1])
			for _, f := range fields[2:] {
				if f == "pre:" || f == "post:" {
					continue
				}
				idx.softdep[name] = append(idx.softdep[name], moduleName(f))
			}
			return nil
		}},
	} {
		if err := eachLine(filepath.Join(dir, f.name), f.fn); err != nil && !os.IsNotExist(err) {
			return nil, err
		}
	}
	return idx, nil
}

// closure returns the module paths needed for names (sorted), and the
// names that are neither modules nor built in. Soft dependencies are
// followed when they exist. A name this kernel lacks whose successors
// (protocol.ModuleSuccessors: aes_generic is aes on 7.3) it has brings
// those instead, as vmtest.RequireModules will load them.
func (idx *moduleIndex) closure(names []string) (paths, missing []string) {
	seen := map[string]bool{}
	var visitPath func(p string)
	visitPath = func(p string) {
		if seen[p] {
			return
		}
		seen[p] = true
		for _, d := range idx.deps[p] {
			visitPath(d)
		}
		for _, s := range idx.softdep[moduleName(p)] {
			if sp, ok := idx.paths[s]; ok {
				visitPath(sp)
			}
		}
	}
	have := func(name string) bool { _, ok := idx.paths[name]; return ok || idx.builtin[name] }
	for _, n := range names {
		name := moduleName(n)
		if p, ok := idx.paths[name]; ok {
			visitPath(p)
			continue
		}
		if idx.builtin[name] {
			continue
		}
		succ := protocol.ModuleSuccessors[name]
		complete := len(succ) > 0
		for _, s := range succ {
			complete = complete && have(moduleName(s))
		}
		if !complete {
			missing = append(missing, n)
			continue
		}
		for _, s := range succ {
			if p, ok := idx.paths[moduleName(s)]; ok {
				visitPath(p)
			}
		}
	}
	for p := range seen {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, missing
}

func eachLine(file string, fn func(n int, line string) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return scanLines(f, file, fn)
}

func scanLines(r io.Reader, name string, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	// A results line holds one test2json event, and a test may log a
	// whole capture in one: allow twice what the guest forwards (16 MiB).
	sc.Buffer(make([]byte, 64<<10), 32<<20)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := fn(n, line); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
