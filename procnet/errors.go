package procnet

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tunnelstat/tunnelstat/internal/errs"
)

// ErrNotSupported reports that this system cannot provide what was asked:
// /proc/net/xfrm_stat is missing because the kernel was built without
// CONFIG_XFRM_STATISTICS, or the default /proc was asked for on an OS that is
// not Linux. Test with errors.Is; the error wrapping it says which.
//
// It is the same value as vtistat.ErrNotSupported and
// xfrmstat.ErrNotSupported: one errors.Is test covers all three packages.
var ErrNotSupported = errs.ErrNotSupported

// Kinds of parse failure, found with errors.Is through a *ParseError.
var (
	// ErrSyntax: a line is not in the kernel's layout (too few or too many
	// numbers, a non-number, a bad name, a missing newline).
	ErrSyntax = errors.New("syntax error")
	// ErrRange: a number is larger than 2^64-1, which no kernel prints.
	ErrRange = errors.New("value out of range")
	// ErrHeader: the /proc/net/dev header is not the one this package knows,
	// so the meaning of the columns cannot be trusted.
	ErrHeader = errors.New("unknown header layout")
)

// maxErrorText bounds ParseError.Text so that garbage input (a binary file,
// a megabyte-long line) cannot produce a megabyte-long error message.
const maxErrorText = 256

// ParseError says which line of which file could not be parsed, and why.
//
//	errors.Is(err, procnet.ErrSyntax)  // or ErrRange, ErrHeader
//	var pe *procnet.ParseError; errors.As(err, &pe) // pe.Line, pe.Text
type ParseError struct {
	// File is the path that was read, or "net/dev" / "net/xfrm_stat" for
	// ParseNetDev and ParseXfrmStat.
	File string
	// Line is the 1-based line number.
	Line int
	// Text is the line without its newline, cut to 256 bytes.
	Text string
	// Err says what was wrong; it wraps ErrSyntax, ErrRange or ErrHeader.
	Err error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("procnet: %s line %d: %v: %s", e.File, e.Line, e.Err, strconv.Quote(e.Text))
}

func (e *ParseError) Unwrap() error { return e.Err }

// lineError is the detail inside a ParseError: its message is the detail
// alone, and it unwraps to the kind (ErrSyntax, ErrRange, ErrHeader).
type lineError struct {
	kind error
	msg  string
}

func (e *lineError) Error() string { return e.msg }
func (e *lineError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if len(msg) > maxErrorText {
		// A detail quotes a name or a number from the line, which a
		// corrupt file can make megabytes long.
		msg = msg[:maxErrorText] + "..."
	}
	return &lineError{kind: kind, msg: msg}
}

func newParseError(file string, line int, text []byte, err error) *ParseError {
	if len(text) > maxErrorText {
		text = append(text[:maxErrorText:maxErrorText], "..."...)
	}
	return &ParseError{File: file, Line: line, Text: string(text), Err: err}
}
