// Package safetext makes names and values read from the kernel or a file
// safe to print to a terminal and to paste into a shell. An interface name
// is whatever bytes its creator chose: the kernel forbids only '/', ':'
// and whitespace, so "vti$(id)" and names holding ESC sequences are real
// links, and a snapshot document can carry any string at all.
//
// The module prints every such string with one of three functions:
//
//   - Name, for a name or value in text a person reads: as it is when it
//     is plain, Go-quoted (strconv.Quote) otherwise;
//   - Text, for free text that may hold such values (an error message): each
//     control character or invalid byte replaced by its Go escape;
//   - Shell, for an argument of a suggested command: one POSIX shell word
//     that the shell reads back as exactly the value.
//
// None of them lets a control character (C0, DEL, C1), another unprintable
// rune or an invalid UTF-8 byte through.
package safetext

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Name returns s as it is when every rune of it is printable and none is a
// space, '"' or '\\'; otherwise s Go-quoted, as strconv.Quote does
// ("vti\x1b[2J", "\xff", "a b"). A plain name prints as before, and a
// quoted one can never be mistaken for a plain one nor break the line it
// is on. The empty string is "".
func Name(s string) string {
	if s != "" && plainName(s) {
		return s
	}
	return strconv.Quote(s)
}

func plainName(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == 0x7f || c == '"' || c == '\\' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !strconv.IsPrint(r) {
			return false
		}
		i += n
	}
	return true
}

// Text returns s with each rune that is not printable (strconv.IsPrint:
// control characters, format characters such as bidirectional overrides,
// unassigned code points) and each invalid UTF-8 byte replaced by its Go
// escape (\n, \x1b, \u202e, \xff); printable text, spaces included, is
// kept. It is for text built around values, such as an error message,
// where Name would quote too much: the result is one line.
func Text(s string) string {
	i := unsafeIndex(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x`)
			b.WriteByte(hexDigits[s[i]>>4])
			b.WriteByte(hexDigits[s[i]&0xf])
		case printableText(r):
			b.WriteString(s[i : i+n])
		default:
			q := strconv.QuoteRune(r) // '\x1b', '\u202e'
			b.WriteString(q[1 : len(q)-1])
		}
		i += n
	}
	return b.String()
}

const hexDigits = "0123456789abcdef"

func printableText(r rune) bool { return r == ' ' || strconv.IsPrint(r) }

// unsafeIndex returns the index of the first byte Text must replace, or -1.
func unsafeIndex(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < ' ' || c == 0x7f {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || !printableText(r) {
			return i
		}
		i += n
	}
	return -1
}

// Shell returns s as one POSIX shell word that the shell reads back as
// exactly s, never expanding or running anything in it:
//
//   - s itself when it is not empty and only holds A-Z a-z 0-9 and
//     _ . / : @ % + = , - (addresses, keys, SPIs and ordinary names);
//   - single-quoted otherwise, a ' in s closing the quotes, escaped and
//     reopened;
//   - dollar-single-quoted when s holds a byte a terminal would act on or
//     cannot show (a control character, an unprintable rune, invalid
//     UTF-8): printable runes as they are, except \ written \\ and '
//     written \047; \n, \t and \r as such; every other byte as a
//     three-digit octal escape, so that the word holds no control byte.
//
// For example:
//
//	vti0            vti0
//	vti$(id)        'vti$(id)'
//	a;rm -rf /      'a;rm -rf /'
//	it's            'it'\''s'
//	vti<ESC>[2J     $'vti\033[2J'
//
// $'…' is POSIX.1-2024 and read by bash, zsh, ksh, mksh and busybox sh. A
// shell without it (dash before 0.5.13) reads the word as '$' followed by
// a single-quoted string, which holds no ' to end it early: one literal
// argument beginning with '$', which names no device; wrong, never run.
// A NUL byte, which no argument can hold, ends the word in bash.
func Shell(s string) string {
	if s == "" {
		return "''"
	}
	plain := true
	for i := 0; i < len(s); i++ {
		if !shellPlain(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	if unsafeIndex(s) < 0 {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			// Not \': a shell without $'…' would read that as the end
			// of a single-quoted string, and the rest as shell text.
			b.WriteString(`\047`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == utf8.RuneError && n == 1, !printableText(r):
			for _, c := range []byte(s[i : i+n]) {
				b.WriteByte('\\')
				b.WriteByte('0' + c>>6)
				b.WriteByte('0' + c>>3&7)
				b.WriteByte('0' + c&7)
			}
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	b.WriteByte('\'')
	return b.String()
}

func shellPlain(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("_./:@%+=,-", c) >= 0
}
