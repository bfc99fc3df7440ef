package safetext

import (
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// crafted are names an attacker can give a link (the kernel allows all but
// '/', ':' and whitespace) or write into a snapshot (anything).
var crafted = []string{
	"vti$(id)", "a;rm -rf /", "vti`id`", "it's", `a"b`, `a\b`, "a b", "-x", "",
	"vti0\x1b[2J\x1b[Hvti9: tx-no-sa 999 (exact)", "vti0\nvti9: tx-no-sa 999 (exact)",
	"\x00\x01\x07\x08\x7f", "C1 \u0085 \u009b", "bidi \u202e gnp.exe", "bad \xff\xfe utf8 \xe2\x80",
	"\r\t\v\f", "trail\n", "né", "vti\x1b", "%s%%\\0", "'", "''", `\'`, "$'x'",
}

// safe reports whether s holds only printable runes and spaces.
func safe(s string) bool {
	return utf8.ValidString(s) && unsafeIndex(s) < 0
}

func TestName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"vti0", "vti0"},
		{"vti$(id)", "vti$(id)"}, // printable: prints as it is (Shell quotes it in commands)
		{"ip6_vti0", "ip6_vti0"},
		{"né", "né"},
		{"", `""`},
		{"a b", `"a b"`},
		{`a"b`, `"a\"b"`},
		{`a\b`, `"a\\b"`},
		{"vti0\x1b[2J", `"vti0\x1b[2J"`},
		{"vti0\nvti9: x", `"vti0\nvti9: x"`},
		{"\x7f\u0085\u202e", `"\x7f\u0085\u202e"`},
		{"\xff", `"\xff"`},
		{"a\u00a0b", `"a\u00a0b"`},
	} {
		if got := Name(c.in); got != c.want {
			t.Errorf("Name(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, s := range crafted {
		if got := Name(s); !safe(got) || strings.ContainsAny(got, " ") && !strings.HasPrefix(got, `"`) {
			t.Errorf("Name(%q) = %q: not safe", s, got)
		}
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"open a b: no such file", "open a b: no such file"},
		{"né", "né"},
		{"x\ny", `x\ny`},
		{"\x1b[2J", `\x1b[2J`},
		{"\t\x00\x7f", `\t\x00\x7f`},
		{"\u0085\u202e", `\u0085\u202e`},
		{"a\xffb\xe2\x80", `a\xffb\xe2\x80`},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, s := range crafted {
		if got := Text(s); !safe(got) {
			t.Errorf("Text(%q) = %q: not safe", s, got)
		}
	}
}

func TestShell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"vti0", "vti0"},
		{"198.51.100.2", "198.51.100.2"},
		{"2001:db8::1", "2001:db8::1"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"0x00000010", "0x00000010"},
		{"::/0", "::/0"},
		{"a=b,c+d@e", "a=b,c+d@e"},
		{"", "''"},
		{"vti$(id)", "'vti$(id)'"},
		{"a;rm -rf /", "'a;rm -rf /'"},
		{"it's", `'it'\''s'`},
		{"né", "'né'"},
		{"vti\x1b[2J", `$'vti\033[2J'`},
		{"a\nb\tc\r", `$'a\nb\tc\r'`},
		{"it's\x01\\", `$'it\047s\001\\'`},
		{"\xff\u202e", `$'\377\342\200\256'`},
		{"\x1b1", `$'\0331'`}, // three digits always: the 1 is not part of the escape
	} {
		if got := Shell(c.in); got != c.want {
			t.Errorf("Shell(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	for _, s := range crafted {
		if got := Shell(s); !safe(got) {
			t.Errorf("Shell(%q) = %q: not safe", s, got)
		}
	}
}

// TestShellRoundTrip runs each word through real shells: every one reads
// it back as exactly one argument, the value, and runs nothing in it. Shells
// without $'…' (dash before 0.5.13) must still run nothing and see one
// argument.
func TestShellRoundTrip(t *testing.T) {
	values := append([]string{"plain", "x$(touch pwned)", "`touch pwned`", "$HOME", "a*", "~root", "!!", "{a,b}",
		// Quotes around a command, with a control byte: in $'…', where a
		// shell without it must not find the end of a quoted string.
		"x';touch pwned;'\x01", "x\\';touch pwned;'\x01", "\x01'$(touch pwned)'"}, crafted...)
	dir := t.TempDir()
	ran := false
	for _, sh := range []string{"bash", "zsh", "ksh", "mksh", "busybox", "dash", "sh"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		args := []string{"-c"}
		if sh == "busybox" {
			args = []string{"sh", "-c"}
		}
		dollar := sh != "dash" && sh != "sh" || supportsDollarQuote(path)
		for _, v := range values {
			if strings.IndexByte(v, 0) >= 0 {
				continue // no argument can hold a NUL
			}
			// printf writes the arguments with a NUL after each, and the
			// word is followed by a marker argument: a word split in two
			// or a command run would show.
			script := "printf '%s\\0' " + Shell(v) + " END; ls"
			cmd := exec.Command(path, append(args, script)...)
			cmd.Dir = dir
			out, err := cmd.Output()
			if err != nil {
				t.Errorf("%s: %q: %v", sh, script, err)
				continue
			}
			ran = true
			got, listing, _ := strings.Cut(string(out), "END\x00")
			if listing != "" {
				t.Errorf("%s: %q created %q", sh, script, listing)
			}
			if strings.Count(got, "\x00") != 1 {
				t.Errorf("%s: %q gave %q: not one argument", sh, script, got)
				continue
			}
			got = strings.TrimSuffix(got, "\x00")
			if (dollar || !strings.HasPrefix(Shell(v), "$'")) && got != v {
				t.Errorf("%s: %q read back as %q, want %q", sh, script, got, v)
			}
		}
	}
	if !ran {
		t.Skip("no shell found")
	}
}

func supportsDollarQuote(sh string) bool {
	out, err := exec.Command(sh, "-c", `printf %s $'\101'`).Output()
	return err == nil && string(out) == "A"
}

// TestRandom: for random byte strings, every form is safe, Name is the
// string or its strconv.Quote, and Shell's word decodes back to it.
func TestRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte("av0 $'\"\\`;|&()\x00\x01\x1b\n\t\x7f\xc2\x85\xe2\x80\xae\xff\xce\xbb")
	for range 20000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		n, x, w := Name(s), Text(s), Shell(s)
		for _, out := range []string{n, x, w} {
			if !safe(out) {
				t.Fatalf("%q gives %q", s, out)
			}
		}
		if n != s {
			if u, err := strconv.Unquote(n); err != nil || u != s {
				t.Fatalf("Name(%q) = %s does not unquote to it", s, n)
			}
		}
		if got, ok := unshell(w); !ok || got != s {
			t.Fatalf("Shell(%q) = %s reads back as %q", s, w, got)
		}
	}
}

// unshell reads one word of the three forms Shell writes.
func unshell(w string) (string, bool) {
	var b strings.Builder
	for len(w) > 0 {
		switch {
		case strings.HasPrefix(w, "$'"):
			w = w[2:]
			for {
				if w == "" {
					return "", false
				}
				c := w[0]
				if c == '\'' {
					w = w[1:]
					break
				}
				if c != '\\' {
					b.WriteByte(c)
					w = w[1:]
					continue
				}
				if len(w) < 2 {
					return "", false
				}
				switch e := w[1]; e {
				case 'n', 't', 'r', '\\':
					b.WriteByte(map[byte]byte{'n': '\n', 't': '\t', 'r': '\r', '\\': '\\'}[e])
					w = w[2:]
				default:
					if len(w) < 4 {
						return "", false
					}
					v, err := strconv.ParseUint(w[1:4], 8, 8)
					if err != nil {
						return "", false
					}
					b.WriteByte(byte(v))
					w = w[4:]
				}
			}
		case w[0] == '\'':
			end := strings.IndexByte(w[1:], '\'')
			if end < 0 {
				return "", false
			}
			b.WriteString(w[1 : 1+end])
			w = w[2+end:]
		case strings.HasPrefix(w, `\'`):
			b.WriteByte('\'')
			w = w[2:]
		default:
			if !shellPlain(w[0]) {
				return "", false
			}
			b.WriteByte(w[0])
			w = w[1:]
		}
	}
	return b.String(), true
}
