package monitor

// A small JSON scanner that knows where it is: the snapshot decoder uses
// it to walk the document's structure (the top-level object, the arrays of
// links, SAs and policies) and to say on which line, column and path a
// document is wrong. encoding/json decodes the elements themselves.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

// scanner reads JSON from data, at pos.
type scanner struct {
	data  []byte
	pos   int
	depth int
}

// scanError is a mistake at a byte offset of the document.
type scanError struct {
	off int
	msg string
}

func (e *scanError) Error() string { return e.msg }

func (s *scanner) errorf(off int, format string, args ...any) *scanError {
	return &scanError{off: off, msg: fmt.Sprintf(format, args...)}
}

// ws skips white space.
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) eof() bool { return s.pos >= len(s.data) }

// peek returns the next byte after white space, 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.eof() {
		return 0
	}
	return s.data[s.pos]
}

// unexpected describes the byte at pos for an error, or the end.
func (s *scanner) unexpected(want string) *scanError {
	if s.eof() {
		return s.errorf(s.pos, "unexpected end of the document (truncated?): want %s", want)
	}
	r, _ := utf8.DecodeRune(s.data[s.pos:])
	return s.errorf(s.pos, "want %s, got %q", want, r)
}

// expect consumes c after white space.
func (s *scanner) expect(c byte, want string) *scanError {
	if s.peek() != c {
		return s.unexpected(want)
	}
	s.pos++
	return nil
}

// str reads a string and returns its value.
func (s *scanner) str() (string, *scanError) {
	b, err := s.strBytes()
	return string(b), err
}

// strBytes reads a string and returns its value: the document's own bytes
// when the string has no escape.
func (s *scanner) strBytes() ([]byte, *scanError) {
	if s.peek() != '"' {
		return nil, s.unexpected("a string")
	}
	start := s.pos
	s.pos++
	escaped := false
	for {
		if s.eof() {
			return nil, s.errorf(start, "the document ends inside a string (truncated?)")
		}
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			raw := s.data[start:s.pos]
			if !escaped && utf8.Valid(raw) {
				return raw[1 : len(raw)-1], nil
			}
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return nil, s.errorf(start, "bad string: %v", err)
			}
			return []byte(v), nil
		case c == '\\':
			escaped = true
			if s.pos+1 >= len(s.data) {
				s.pos++
				continue
			}
			switch s.data[s.pos+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.pos += 2
			case 'u':
				if s.pos+6 > len(s.data) {
					return nil, s.errorf(s.pos, "the document ends inside a string (truncated?)")
				}
				for _, h := range s.data[s.pos+2 : s.pos+6] {
					if !isHex(h) {
						return nil, s.errorf(s.pos, "bad \\u escape in a string")
					}
				}
				s.pos += 6
			default:
				return nil, s.errorf(s.pos, "bad escape \\%c in a string", s.data[s.pos+1])
			}
		case c < 0x20:
			return nil, s.errorf(s.pos, "control character %q in a string (escape it)", rune(c))
		default:
			s.pos++
		}
	}
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skip reads any one value, checking its syntax.
func (s *scanner) skip() *scanError {
	switch c := s.peek(); {
	case c == '{':
		if s.depth++; s.depth > maxDepth {
			return s.errorf(s.pos, "nested more than %d deep", maxDepth)
		}
		s.pos++
		if s.peek() == '}' {
			s.pos++
			s.depth--
			return nil
		}
		for {
			if _, err := s.str(); err != nil {
				return err
			}
			if err := s.expect(':', "':' after an object key"); err != nil {
				return err
			}
			if err := s.skip(); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				s.depth--
				return nil
			default:
				return s.unexpected("',' or '}' after an object member")
			}
		}
	case c == '[':
		if s.depth++; s.depth > maxDepth {
			return s.errorf(s.pos, "nested more than %d deep", maxDepth)
		}
		s.pos++
		if s.peek() == ']' {
			s.pos++
			s.depth--
			return nil
		}
		for {
			if err := s.skip(); err != nil {
				return err
			}
			switch s.peek() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				s.depth--
				return nil
			default:
				return s.unexpected("',' or ']' after an array element")
			}
		}
	case c == '"':
		_, err := s.str()
		return err
	case c == '-' || '0' <= c && c <= '9':
		return s.number()
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.unexpected("a value")
}

func (s *scanner) literal(lit string) *scanError {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.unexpected(strconv.Quote(lit))
	}
	s.pos += len(lit)
	return nil
}

// number reads a JSON number.
func (s *scanner) number() *scanError {
	start := s.pos
	digits := func() int {
		n := 0
		for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
			s.pos++
			n++
		}
		return n
	}
	if s.data[s.pos] == '-' {
		s.pos++
	}
	if s.pos < len(s.data) && s.data[s.pos] == '0' {
		s.pos++
	} else if digits() == 0 {
		return s.unexpected("a digit")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		s.pos++
		if digits() == 0 {
			return s.unexpected("a digit after '.'")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if digits() == 0 {
			return s.unexpected("a digit in the exponent")
		}
	}
	if s.pos < len(s.data) {
		if c := s.data[s.pos]; c == '.' || c == '-' || c == '+' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' {
			return s.errorf(start, "bad number %q", s.data[start:min(len(s.data), s.pos+1)])
		}
	}
	return nil
}

// members calls fn for each member of the object at pos, with the key's
// offset; fn reads the value.
func (s *scanner) members(fn func(key string, keyOff int) error) error {
	return s.membersRaw(func(key []byte, keyOff int) error { return fn(string(key), keyOff) })
}

// membersRaw is members with the key as bytes, valid during the call.
func (s *scanner) membersRaw(fn func(key []byte, keyOff int) error) error {
	if err := s.expect('{', "an object"); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.errorf(s.pos, "nested more than %d deep", maxDepth)
	}
	defer func() { s.depth-- }()
	if s.peek() == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		keyOff := s.pos
		key, err := s.strBytes()
		if err != nil {
			return err
		}
		if err := s.expect(':', "':' after an object key"); err != nil {
			return err
		}
		s.ws()
		if err := fn(key, keyOff); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return s.unexpected("',' or '}' after an object member")
		}
	}
}

// elements calls fn for each element of the array at pos; fn reads the
// element.
func (s *scanner) elements(fn func(i int) error) error {
	if err := s.expect('[', "an array"); err != nil {
		return err
	}
	if s.depth++; s.depth > maxDepth {
		return s.errorf(s.pos, "nested more than %d deep", maxDepth)
	}
	defer func() { s.depth-- }()
	if s.peek() == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		s.ws()
		if err := fn(i); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return s.unexpected("',' or ']' after an array element")
		}
	}
}

// kindAt names the kind of value at pos, for "want X, got Y".
func (s *scanner) kindAt() string {
	switch c := s.peek(); {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || '0' <= c && c <= '9':
		return "a number"
	case c == 0:
		return "the end of the document"
	}
	return "no JSON value"
}

// position returns the 1-based line and column (in characters) of off.
func position(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = 1 + bytes.Count(before, []byte{'\n'})
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, 1 + utf8.RuneCount(before[lineStart:])
}
