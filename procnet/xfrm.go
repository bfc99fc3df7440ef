package procnet

import (
	"io"
	"iter"
	"math"
	"slices"
)

// knownXfrmCounters lists the /proc/net/xfrm_stat counters XfrmStat has
// named fields for, by kernel name, in the order the kernel prints them
// (net/xfrm/xfrm_proc.c:xfrm_mib_list). XfrmStat.present and field are
// indexed like it.
var knownXfrmCounters = [...]string{
	"XfrmInError",
	"XfrmInBufferError",
	"XfrmInHdrError",
	"XfrmInNoStates",
	"XfrmInStateProtoError",
	"XfrmInStateModeError",
	"XfrmInStateSeqError",
	"XfrmInStateExpired",
	"XfrmInStateMismatch",
	"XfrmInStateInvalid",
	"XfrmInTmplMismatch",
	"XfrmInNoPols",
	"XfrmInPolBlock",
	"XfrmInPolError",
	"XfrmOutError",
	"XfrmOutBundleGenError",
	"XfrmOutBundleCheckError",
	"XfrmOutNoStates",
	"XfrmOutStateProtoError",
	"XfrmOutStateModeError",
	"XfrmOutStateSeqError",
	"XfrmOutStateExpired",
	"XfrmOutPolBlock",
	"XfrmOutPolDead",
	"XfrmOutPolError",
	"XfrmFwdHdrError",
	"XfrmOutStateInvalid",
	"XfrmAcquireError",
	"XfrmOutStateDirError", // Linux 6.10
	"XfrmInStateDirError",  // Linux 6.10
	"XfrmInIptfsError",     // Linux 6.14
	"XfrmOutNoQueueSpace",  // Linux 6.14
}

// nKnownXfrm is how many counters XfrmStat has named fields for.
const nKnownXfrm = len(knownXfrmCounters)

// KnownXfrmCounters returns the kernel names of the counters XfrmStat has
// named fields for ("XfrmInError", …, "XfrmOutNoQueueSpace"), in the order
// the kernel prints them. A kernel prints those it has: a counter missing
// from the file is not a counter that is 0 (see XfrmStat.Counter). The
// list grows when this package learns a newer kernel's counters; until it
// does, they are in XfrmStat.Other. The slice is the caller's to keep or
// change.
func KnownXfrmCounters() []string { return slices.Clone(knownXfrmCounters[:]) }

// knownXfrmIndex maps a kernel name to its index in knownXfrmCounters. It is
// built once and only read, so lookups need no lock; m[string(b)] does not
// allocate.
var knownXfrmIndex = func() map[string]int {
	m := make(map[string]int, nKnownXfrm)
	for i, name := range knownXfrmCounters {
		m[name] = i
	}
	return m
}()

// field returns the named field for index i of knownXfrmCounters.
func (s *XfrmStat) field(i int) *uint64 {
	switch i {
	case 0:
		return &s.InError
	case 1:
		return &s.InBufferError
	case 2:
		return &s.InHdrError
	case 3:
		return &s.InNoStates
	case 4:
		return &s.InStateProtoError
	case 5:
		return &s.InStateModeError
	case 6:
		return &s.InStateSeqError
	case 7:
		return &s.InStateExpired
	case 8:
		return &s.InStateMismatch
	case 9:
		return &s.InStateInvalid
	case 10:
		return &s.InTmplMismatch
	case 11:
		return &s.InNoPols
	case 12:
		return &s.InPolBlock
	case 13:
		return &s.InPolError
	case 14:
		return &s.OutError
	case 15:
		return &s.OutBundleGenError
	case 16:
		return &s.OutBundleCheckError
	case 17:
		return &s.OutNoStates
	case 18:
		return &s.OutStateProtoError
	case 19:
		return &s.OutStateModeError
	case 20:
		return &s.OutStateSeqError
	case 21:
		return &s.OutStateExpired
	case 22:
		return &s.OutPolBlock
	case 23:
		return &s.OutPolDead
	case 24:
		return &s.OutPolError
	case 25:
		return &s.FwdHdrError
	case 26:
		return &s.OutStateInvalid
	case 27:
		return &s.AcquireError
	case 28:
		return &s.OutStateDirError
	case 29:
		return &s.InStateDirError
	case 30:
		return &s.InIptfsError
	case 31:
		return &s.OutNoQueueSpace
	}
	panic("procnet: xfrm counter index out of range") // unreachable: callers index knownXfrmCounters
}

// Counter returns the counter with the given kernel name
// ("XfrmOutNoStates"), known or in Other, and whether the file contained it.
// It is the one way to ask whether a counter is present: ok is false when
// the kernel is too old to print it (or the name is wrong), which a value of
// 0 alone cannot tell. An XfrmStat not filled by this package (a zero value,
// or one built field by field) contains no counter.
func (s *XfrmStat) Counter(name string) (value uint64, ok bool) {
	if i, known := knownXfrmIndex[name]; known {
		if !s.present[i] {
			return 0, false
		}
		return *s.field(i), true
	}
	for _, c := range s.Other {
		if c.Name == name {
			return c.Value, true
		}
	}
	return 0, false
}

// All yields every counter the file contained, by kernel name: the known
// ones in kernel order, then Other in file order.
func (s *XfrmStat) All() iter.Seq2[string, uint64] {
	return func(yield func(string, uint64) bool) {
		for i, name := range knownXfrmCounters {
			if s.present[i] && !yield(name, *s.field(i)) {
				return
			}
		}
		for _, c := range s.Other {
			if !yield(c.Name, c.Value) {
				return
			}
		}
	}
}

// ParseXfrmStat parses the whole of a /proc/net/xfrm_stat file read from
// r: a copy of the file, a capture, a pipe from another host. Each line is
// "name<spaces and tabs>value", as the kernel prints with "%-24s\t%lu\n".
// Every counter is kept: known ones in their fields, others in Other. A
// malformed line, a value above 2^64-1, a counter listed twice, an empty
// file or a missing final newline is a *ParseError naming the line. To read
// the running system's file use FS.ReadXfrmStat, and to read it again and
// again FS.OpenXfrmStat.
func ParseXfrmStat(r io.Reader) (*XfrmStat, error) {
	s := new(XfrmStat)
	err := readAllPooled(r, func(data []byte) error { return s.parse(data, "net/xfrm_stat") })
	if err != nil {
		return nil, err
	}
	return s, nil
}

// parse parses a /proc/net/xfrm_stat file held in data into s, overwriting
// every field. It is the allocation-free path of XfrmStatReader: Other's
// backing array, and names in it that have not changed, are reused. data is
// not retained.
func (s *XfrmStat) parse(data []byte, file string) error {
	other := s.Other[:0]
	*s = XfrmStat{}
	defer func() { s.Other = other }()

	if len(data) == 0 {
		return newParseError(file, 1, nil, errorf(ErrSyntax, "empty input: no counters"))
	}
	rest := data
	next := 0 // kernel order: the counter most likely on this line
	for lineNo := 1; len(rest) > 0; lineNo++ {
		line, after, ok := cutLine(rest)
		if !ok {
			return newParseError(file, lineNo, line, errorf(ErrSyntax, "no newline at end of input: truncated read?"))
		}
		rest = after
		name, value, err := parseXfrmLine(line)
		if err != nil {
			return newParseError(file, lineNo, line, err)
		}
		i := -1
		if next < nKnownXfrm && knownXfrmCounters[next] == string(name) {
			i = next
		} else if k, known := knownXfrmIndex[string(name)]; known {
			i = k
		}
		if i >= 0 {
			if s.present[i] {
				return newParseError(file, lineNo, line, errorf(ErrSyntax, "counter %s listed twice", name))
			}
			s.present[i] = true
			*s.field(i) = value
			next = i + 1
			continue
		}
		for _, c := range other {
			if c.Name == string(name) {
				return newParseError(file, lineNo, line, errorf(ErrSyntax, "counter %s listed twice", name))
			}
		}
		n := len(other)
		if n < cap(other) {
			other = other[:n+1]
			if other[n].Name != string(name) {
				other[n].Name = string(name)
			}
			other[n].Value = value
		} else {
			other = append(other, Counter{Name: string(name), Value: value})
		}
	}
	return nil
}

// parseXfrmLine parses "XfrmInError             \t0".
func parseXfrmLine(line []byte) (name []byte, value uint64, err error) {
	p := 0
	for p < len(line) && isCounterNameByte(line[p]) {
		p++
	}
	name = line[:p]
	if len(name) == 0 {
		return nil, 0, errorf(ErrSyntax, "want a counter name (letters, digits, '_') at the start of the line")
	}
	sep := p
	for p < len(line) && (line[p] == ' ' || line[p] == '\t') {
		p++
	}
	if p == len(line) {
		return nil, 0, errorf(ErrSyntax, "counter %s has no value", name)
	}
	if p == sep {
		return nil, 0, errorf(ErrSyntax, "counter name %q followed by %q, want a space or tab", name, line[p])
	}
	start := p
	for ; p < len(line) && line[p] != ' ' && line[p] != '\t'; p++ {
		d := uint64(line[p]) - '0'
		if d > 9 {
			return nil, 0, errorf(ErrSyntax, "counter %s: value %q is not a decimal number", name, fieldAt(line, start))
		}
		if value > math.MaxUint64/10 || (value == math.MaxUint64/10 && d > math.MaxUint64%10) {
			return nil, 0, errorf(ErrRange, "counter %s: %s is larger than 2^64-1", name, fieldAt(line, start))
		}
		value = value*10 + d
	}
	for ; p < len(line); p++ {
		if line[p] != ' ' && line[p] != '\t' {
			return nil, 0, errorf(ErrSyntax, "counter %s: text after the value", name)
		}
	}
	return name, value, nil
}

// fieldAt returns the run of bytes at start up to a space or tab.
func fieldAt(line []byte, start int) []byte {
	end := start
	for end < len(line) && line[end] != ' ' && line[end] != '\t' {
		end++
	}
	return line[start:end]
}

func isCounterNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_'
}
