package monitor

import (
	"bytes"
	"context"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
)

// ErrNotSnapshot is wrapped by Decode when the input is not a snapshot
// document of this format.
var ErrNotSnapshot = errors.New("not a tunnelstat snapshot")

// DecodeError says where a snapshot document is wrong: the line and column
// and the path of the field, as in
//
//	s.json: line 40, column 23: links[3].stats.rx_packets: want an integer from 0 to 18446744073709551615, got string
//
// It wraps ErrNotSnapshot and the error it reports.
type DecodeError struct {
	// File is the file's name when Load read it, "" for Decode.
	File string
	// Line and Column are 1-based (the column counts characters); 0 when
	// the place is not known.
	Line, Column int
	// Path is the field: "links[3].stats.rx_packets", "sas[0].Src",
	// "xfrm_stat.XfrmInError"; "" for the document as a whole.
	Path string
	// Err says what is wrong.
	Err error
}

func (e *DecodeError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns ErrNotSnapshot and the error reported.
func (e *DecodeError) Unwrap() []error { return []error{ErrNotSnapshot, e.Err} }

// Decode reads one snapshot document, the whole of r. It reads all of r
// into memory: bound r when it comes from elsewhere (Loader does, with
// MaxBytes).
//
// The document is checked as it is read; every error is a *DecodeError
// (which wraps ErrNotSnapshot) naming the line, column and field:
//   - unknown fields, a key given twice, a value of the wrong type;
//   - a missing part: every part is present, null when it was not read
//     (only "unread" and "wireguard" may be left out); a document that read neither links
//     nor xfrm_stat;
//   - each link lists every field and every counter (a missing counter
//     would read as 0, which explain takes for a counter that did not
//     move); its name is an interface name the kernel would accept (at
//     most 15 bytes, no '/', ':', NUL or white space, not "." or "..";
//     other control bytes are names the kernel gives, escaped in every
//     text output); no two links share a name or an index; the same of
//     each wireguard device's name and index;
//   - elements that would take more memory than the document's size
//     allows: a document Encode writes takes less memory, decoded, than
//     its own size (a wireguard device less than twice its own: its
//     allowed IPs take more memory than text); one made of empty elements
//     ({} repeated) is refused before it takes much more.
func Decode(r io.Reader) (*Snapshot, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return decodeSnapshot(context.Background(), data)
}

// memoryPerByte bounds what the decoded elements of a document may take:
// this many bytes of memory per byte of the document, plus memorySlack.
// An element as Encode writes it, indented or not, takes less memory than
// its own text (a link some 0.4 bytes per byte, an SA some 0.5).
const (
	memoryPerByte = 1
	memorySlack   = 1 << 20
)

// Keys of the document that must be present; "unread" may be left out.
var requiredKeys = []string{"format", "time", "netns", "kernel_release", "links", "links_from",
	"xfrm_stat", "sas", "policies", "policy_defaults", "spd_info", "sad_info"}

// Keys every link has (its omitempty ones, alias and tunnel, may be left
// out).
var linkKeys = []string{"index", "name", "kind", "flags", "operstate", "mtu", "parent_index", "link_netnsid", "stats_from", "stats"}

type docDecoder struct {
	ctx    context.Context
	s      scanner
	budget int64
	used   int64
	// bound, when set, is an upper bound of the memory the element whose
	// text is given takes decoded: decodeElems refuses an element past
	// the budget before decoding it (an element with nested arrays can
	// take much more than its text).
	bound func(text []byte) int64
}

func decodeSnapshot(ctx context.Context, data []byte) (*Snapshot, error) {
	d := &docDecoder{ctx: ctx, s: scanner{data: data}, budget: memoryPerByte*int64(len(data)) + memorySlack}
	snap, err := d.document()
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// errAt makes a DecodeError at a byte offset.
func (d *docDecoder) errAt(off int, path string, err error) *DecodeError {
	line, col := position(d.s.data, off)
	return &DecodeError{Line: line, Column: col, Path: path, Err: err}
}

// fail turns a scanner's error into a DecodeError at path.
func (d *docDecoder) fail(err error, path string) error {
	var se *scanError
	var de *DecodeError
	var le *locErr
	switch {
	case errors.As(err, &de):
		return de
	case errors.As(err, &le):
		return d.errAt(le.off, le.path, le.err)
	case errors.As(err, &se):
		return d.errAt(se.off, path, se)
	}
	return err
}

func (d *docDecoder) document() (*Snapshot, error) {
	s := &d.s
	if s.peek() == 0 {
		return nil, d.errAt(s.pos, "", errors.New("empty document"))
	}
	if s.peek() != '{' {
		return nil, d.errAt(s.pos, "", fmt.Errorf("want a JSON object (a snapshot document), got %s", s.kindAt()))
	}
	start := s.pos
	var snap Snapshot
	seen := map[string]bool{}
	err := s.members(func(key string, keyOff int) error {
		if seen[key] {
			return d.errAt(keyOff, key, errors.New("given twice"))
		}
		seen[key] = true
		switch key {
		case "format":
			off := s.pos
			if err := d.value(&snap.Format, key); err != nil {
				return err
			}
			if snap.Format != Format {
				return d.errAt(off, key, fmt.Errorf("format is %q, this program reads %q", snap.Format, Format))
			}
		case "time":
			return d.value(&snap.Time, key)
		case "netns":
			return d.value(&snap.NetNS, key)
		case "kernel_release":
			return d.value(&snap.KernelRelease, key)
		case "links_from":
			off := s.pos
			if err := d.value(&snap.LinksFrom, key); err != nil {
				return err
			}
			switch snap.LinksFrom {
			case "", "rtnetlink", "proc/net/dev":
			default:
				return d.errAt(off, key, fmt.Errorf("%q is not one of \"rtnetlink\", \"proc/net/dev\" or \"\" (links not read)", snap.LinksFrom))
			}
		case "links":
			return d.links(&snap)
		case "xfrm_stat":
			mib, err := decodeMIB(s, key)
			if err != nil {
				return d.fail(err, key)
			}
			snap.MIB = mib
		case "sas":
			return decodeElems(d, key, &snap.SAs, nil)
		case "policies":
			return decodeElems(d, key, &snap.Policies, nil)
		case "policy_defaults":
			return d.value(&snap.PolicyDefaults, key)
		case "spd_info":
			return d.value(&snap.SPDInfo, key)
		case "sad_info":
			return d.value(&snap.SADInfo, key)
		case "wireguard":
			return d.wireGuard(&snap)
		case "unread":
			return decodeElems(d, key, &snap.Unread, func(i, off int, u *Unread) error {
				if u.Part == "" {
					return d.errAt(off, fmt.Sprintf("unread[%d].part", i), errors.New("empty: name the part that was not read"))
				}
				return nil
			})
		default:
			return d.errAt(keyOff, "", fmt.Errorf("unknown field %q", key))
		}
		return nil
	})
	if err != nil {
		return nil, d.fail(err, "")
	}
	if s.peek() != 0 {
		return nil, d.errAt(s.pos, "", errors.New("data after the document"))
	}
	for _, k := range requiredKeys {
		if !seen[k] {
			return nil, d.errAt(start, "", fmt.Errorf("no %q: a snapshot lists every part, null for a part that was not read", k))
		}
	}
	switch {
	case snap.Links == nil && snap.LinksFrom != "":
		return nil, d.errAt(start, "links", fmt.Errorf("null (not read), but links_from says they were read from %s", snap.LinksFrom))
	case snap.Links != nil && snap.LinksFrom == "":
		return nil, d.errAt(start, "links_from", errors.New("empty, but links were read: say from where (\"rtnetlink\" or \"proc/net/dev\")"))
	case snap.Links == nil && snap.MIB == nil:
		return nil, d.errAt(start, "", errors.New("the reading has neither links nor xfrm_stat: nothing was read"))
	}
	return &snap, nil
}

// value reads the value at the scanner into ptr.
func (d *docDecoder) value(ptr any, path string) error {
	start := d.s.pos
	if err := d.s.skip(); err != nil {
		return d.locate(start, reflect.TypeOf(ptr).Elem(), path, err)
	}
	if err := strictJSON(d.s.data[start:d.s.pos], ptr); err != nil {
		return d.locate(start, reflect.TypeOf(ptr).Elem(), path, err)
	}
	return nil
}

// locate finds where a value of type t at start is wrong, and how.
func (d *docDecoder) locate(start int, t reflect.Type, path string, cause error) error {
	w := scanner{data: d.s.data, pos: start}
	if le := w.typed(t, path); le != nil {
		return d.errAt(le.off, le.path, le.err)
	}
	var se *scanError
	if errors.As(cause, &se) {
		return d.errAt(se.off, path, se)
	}
	return d.errAt(start, path, errors.New(jsonMessage(cause, t)))
}

// charge counts an element's memory against the document's budget.
func (d *docDecoder) charge(off int, path func() string, v reflect.Value) error {
	d.used += memSize(v)
	if d.used > d.budget {
		return d.errAt(off, path(), fmt.Errorf("the elements so far take %d bytes of memory for a document of %d bytes: more than a snapshot ever needs; refused, as a document made to exhaust memory", d.used, len(d.s.data)))
	}
	return nil
}

// decodeElems reads an array of T (or null) into dst, checking each
// element with check when it is not nil.
func decodeElems[T any](d *docDecoder, path string, dst *[]T, check func(i, off int, v *T) error) error {
	s := &d.s
	switch s.peek() {
	case 'n':
		*dst = nil
		if err := s.literal("null"); err != nil {
			return err
		}
		return nil
	case '[':
	default:
		return d.errAt(s.pos, path, fmt.Errorf("want an array, or null when not read; got %s", s.kindAt()))
	}
	t := reflect.TypeFor[T]()
	// One decoder for the array, in step with the scanner, which finds
	// each element's bounds and checks its syntax first: the decoder's
	// buffer is reused from element to element, and each element is
	// decoded in place, in the slice.
	dec := json.NewDecoder(bytes.NewReader(s.data[s.pos:]))
	dec.DisallowUnknownFields()
	if _, err := dec.Token(); err != nil {
		return d.errAt(s.pos, path, err)
	}
	out := make([]T, 0)
	err := s.elements(func(i int) error {
		p := func() string { return path + "[" + strconv.Itoa(i) + "]" }
		if i%256 == 255 {
			if err := d.ctx.Err(); err != nil {
				return fmt.Errorf("decoding %s: %w", p(), err)
			}
		}
		start := s.pos
		if err := s.skip(); err != nil {
			return d.locate(start, t, p(), err)
		}
		if d.bound != nil {
			if est := d.bound(s.data[start:s.pos]); d.used+est > d.budget {
				return d.errAt(start, p(), fmt.Errorf("the element may take %d bytes of memory decoded, past what a document of %d bytes may take: more than a snapshot ever needs; refused, as a document made to exhaust memory", est, len(d.s.data)))
			}
		}
		var zero T
		out = append(out, zero)
		v := &out[len(out)-1]
		if err := dec.Decode(v); err != nil {
			return d.locate(start, t, p(), err)
		}
		if check != nil {
			if err := check(i, start, v); err != nil {
				return err
			}
		}
		if err := d.charge(start, p, reflect.ValueOf(v).Elem()); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	*dst = out
	return nil
}

// wireGuard reads the wireguard devices: each names an interface (a name
// the kernel would accept, a positive ifindex), no two the same.
func (d *docDecoder) wireGuard(snap *Snapshot) error {
	names := map[string]int{}
	indexes := map[int32]int{}
	// A device's peers are objects, its allowed IPs strings: at most one
	// peer per '{' and one allowed IP per two '"' of its text, so that a
	// device of many empty peers ({} repeated) is refused before it is
	// decoded. Each device may take twice its text's size (see below).
	d.bound = func(text []byte) int64 {
		credit := int64(len(text))
		return int64(bytes.Count(text, []byte("{")))*int64(reflect.TypeFor[vtistat.WireGuardPeer]().Size()) +
			int64(bytes.Count(text, []byte(`"`))/2)*int64(reflect.TypeFor[netip.Prefix]().Size()) - credit
	}
	defer func() { d.bound = nil }()
	return decodeElems(d, "wireguard", &snap.WireGuard, func(i, off int, w *vtistat.WireGuardDevice) error {
		path := "wireguard[" + strconv.Itoa(i) + "]"
		if err := checkInterfaceName(w.Name); err != nil {
			return d.errAt(off, path+".name", err)
		}
		if w.Index <= 0 {
			return d.errAt(off, path+".ifindex", fmt.Errorf("%d: an ifindex is positive", w.Index))
		}
		if j, ok := names[w.Name]; ok {
			return d.errAt(off, path+".name", fmt.Errorf("%q is also wireguard[%d]'s", w.Name, j))
		}
		if j, ok := indexes[w.Index]; ok {
			return d.errAt(off, path+".ifindex", fmt.Errorf("%d is also wireguard[%d]'s", w.Index, j))
		}
		names[w.Name], indexes[w.Index] = i, i
		// An allowed IP takes 32 bytes decoded (a netip.Prefix), more
		// than its text as Encode writes it (some 27 to 31 bytes): a
		// device may take up to twice its text's size, and the storage
		// decoding grew by doubling is trimmed to the allowed IPs read.
		for j := range w.Peers {
			if ips := w.Peers[j].AllowedIPs; cap(ips) > len(ips) {
				w.Peers[j].AllowedIPs = slices.Clone(ips)
			}
		}
		d.budget += int64(d.s.pos - off)
		return nil
	})
}

// links reads the links, checking what each must have.
func (d *docDecoder) links(snap *Snapshot) error {
	names := map[string]int{}
	indexes := map[int32]int{}
	return decodeElems(d, "links", &snap.Links, func(i, off int, l *Link) error {
		path := "links[" + strconv.Itoa(i) + "]"
		w := scanner{data: d.s.data, pos: off}
		var nameOff, indexOff, fromOff int
		var seen uint64
		err := w.membersRaw(func(key []byte, keyOff int) error {
			bit, ok := linkKeyBits[string(key)]
			if seen&bit != 0 && ok {
				return d.errAt(keyOff, path+"."+string(key), errors.New("given twice"))
			}
			seen |= bit
			switch string(key) {
			case "name":
				nameOff = w.pos
			case "index":
				indexOff = w.pos
			case "stats_from":
				fromOff = w.pos
			case "stats":
				return d.statsKeys(&w, path+".stats")
			}
			if err := w.skip(); err != nil {
				return err
			}
			return nil
		})
		if err != nil {
			return d.fail(err, path)
		}
		for _, k := range linkKeys {
			if seen&linkKeyBits[k] == 0 {
				return d.errAt(off, path, fmt.Errorf("no %q: a link lists every field", k))
			}
		}
		if err := checkInterfaceName(l.Name); err != nil {
			return d.errAt(nameOff, path+".name", err)
		}
		if j, ok := names[l.Name]; ok {
			return d.errAt(nameOff, path+".name", fmt.Errorf("%q is also the name of links[%d]: a reading lists each link once", l.Name, j))
		}
		names[l.Name] = i
		if l.Index < 0 {
			return d.errAt(indexOff, path+".index", fmt.Errorf("%d: interface indexes are positive (0 when unknown)", l.Index))
		}
		if l.Index != 0 {
			if j, ok := indexes[l.Index]; ok {
				return d.errAt(indexOff, path+".index", fmt.Errorf("%d is also the index of links[%d]: a reading lists each link once", l.Index, j))
			}
			indexes[l.Index] = i
		}
		if !statsSourceByName[l.StatsFrom] {
			return d.errAt(fromOff, path+".stats_from", fmt.Errorf("%q is not one of \"stats64\", \"stats32\", \"proc/net/dev\", \"none\"", l.StatsFrom))
		}
		return nil
	})
}

// statsKeys checks that a link's stats object lists every counter once.
func (d *docDecoder) statsKeys(w *scanner, path string) error {
	start := w.pos
	if w.peek() != '{' {
		return d.errAt(w.pos, path, fmt.Errorf("want an object of counters, got %s", w.kindAt()))
	}
	var seen uint64
	err := w.membersRaw(func(key []byte, keyOff int) error {
		bit, ok := statsKeyBits[string(key)]
		if seen&bit != 0 && ok {
			return d.errAt(keyOff, path+"."+string(key), errors.New("given twice"))
		}
		seen |= bit
		if err := w.skip(); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range statsKeys {
		if seen&statsKeyBits[k] == 0 {
			return d.errAt(start, path, fmt.Errorf("no %q: a link's stats list every counter (a missing one would read as 0)", k))
		}
	}
	return nil
}

// The JSON keys of Link and Stats, each a bit.
var (
	linkKeyBits  = keyBits(reflect.TypeFor[Link]())
	statsKeyBits = keyBits(reflect.TypeFor[Stats]())
	statsKeys    = func() []string {
		var keys []string
		t := reflect.TypeFor[Stats]()
		for i := range t.NumField() {
			keys = append(keys, strings.Split(t.Field(i).Tag.Get("json"), ",")[0])
		}
		return keys
	}()
)

func keyBits(t reflect.Type) map[string]uint64 {
	m := map[string]uint64{}
	for i := range t.NumField() {
		m[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = 1 << i
	}
	return m
}

// statsSourceByName are the values of Link.StatsFrom.
var statsSourceByName = map[string]bool{"stats64": true, "stats32": true, "proc/net/dev": true, "none": true}

// checkInterfaceName reports whether name is one the kernel would give an
// interface, by its own rule (net/core/dev.c:dev_valid_name): 1 to 15
// bytes (IFNAMSIZ is 16 with the terminating NUL), not "." or "..", and no
// byte that is '/', ':', NUL or white space as the kernel's isspace has it
// (tab to carriage return, space, and 0xa0). Other control bytes are
// names the kernel accepts (ip link add 'v\x1b[1m' works), so a saved
// reading of such a link loads; every text output escapes them.
func checkInterfaceName(name string) error {
	switch {
	case name == "":
		return errors.New("empty: not an interface name")
	case len(name) > 15:
		return fmt.Errorf("%.40q is %d bytes: interface names are at most 15 (IFNAMSIZ 16 with the NUL)", name, len(name))
	case name == "." || name == "..":
		return fmt.Errorf("%q is not an interface name", name)
	}
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == '/' || c == ':':
			return fmt.Errorf("%q: an interface name has no %q", name, c)
		case c == 0:
			return fmt.Errorf("%q: an interface name has no NUL", name)
		case c == ' ' || '\t' <= c && c <= '\r' || c == 0xa0:
			return fmt.Errorf("%q: an interface name has no white space (byte %#02x)", name, c)
		}
	}
	return nil
}

// decodeMIB reads the xfrm_stat object (or null) at s's position: counter
// names and values, in order, each checked where it is.
func decodeMIB(s *scanner, path string) (*MIB, error) {
	switch s.peek() {
	case 'n':
		if err := s.literal("null"); err != nil {
			return nil, err
		}
		return nil, nil
	case '{':
	default:
		return nil, &locErr{off: s.pos, path: path, err: fmt.Errorf("want an object of counters, got %s", s.kindAt())}
	}
	type counter struct {
		name string
		off  int
	}
	var counters []counter
	var text []byte
	seen := map[string]bool{}
	err := s.members(func(key string, keyOff int) error {
		p := path + "." + key
		if key == "" || strings.ContainsFunc(key, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			return &locErr{off: keyOff, path: path, err: fmt.Errorf("bad counter name %.40q", key)}
		}
		if strings.ContainsFunc(key, func(r rune) bool {
			return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_')
		}) {
			return &locErr{off: keyOff, path: p, err: errors.New("want a counter name (letters, digits and '_', as the kernel's)")}
		}
		if seen[key] {
			return &locErr{off: keyOff, path: p, err: errors.New("given twice")}
		}
		seen[key] = true
		off := s.pos
		if c := s.peek(); c != '-' && (c < '0' || c > '9') {
			return &locErr{off: off, path: p, err: fmt.Errorf("want a counter (an integer from 0 to 18446744073709551615), got %s", s.kindAt())}
		}
		if err := s.number(); err != nil {
			return err
		}
		v := s.data[off:s.pos]
		if _, err := strconv.ParseUint(string(v), 10, 64); err != nil {
			return &locErr{off: off, path: p, err: fmt.Errorf("want a counter (an integer from 0 to 18446744073709551615), got %.40s", v)}
		}
		counters = append(counters, counter{key, keyOff})
		text = fmt.Appendf(text, "%s\t%s\n", key, v)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(text) == 0 {
		return &MIB{}, nil
	}
	x, err := procnet.ParseXfrmStat(bytes.NewReader(text))
	if err != nil {
		// The text has one line per counter: name the counter.
		var pe *procnet.ParseError
		if errors.As(err, &pe) && pe.Line >= 1 && pe.Line <= len(counters) {
			c := counters[pe.Line-1]
			return nil, &locErr{off: c.off, path: path + "." + c.name, err: pe.Err}
		}
		return nil, &locErr{off: s.pos, path: path, err: err}
	}
	return &MIB{*x}, nil
}

// locErr is an error at an offset and path of the document.
type locErr struct {
	off  int
	path string
	err  error
}

func (e *locErr) Error() string {
	if e.path == "" {
		return e.err.Error()
	}
	return e.path + ": " + e.err.Error()
}

func (e *locErr) Unwrap() error { return e.err }

// strictJSON decodes b into v and refuses fields v does not have.
func strictJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(v)
}

// jsonMessage words an encoding/json error for a value of type t.
func jsonMessage(err error, t reflect.Type) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("want %s, got %s", typeWords(te.Type), te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// typeWords says what a JSON value for t must be.
func typeWords(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case reflect.TypeFor[time.Time]():
		return "a time (an RFC 3339 string)"
	case reflect.TypeFor[netip.Addr]():
		return "an IP address (a string)"
	case reflect.TypeFor[netip.Prefix]():
		return "an IP prefix (a string)"
	}
	if reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<(t.Bits()-1)*2-1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer from %d to %d", -int64(1)<<(t.Bits()-1), int64(1)<<(t.Bits()-1)-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return t.String()
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	mibType             = reflect.TypeFor[MIB]()
)

// typed walks the value at s's position as encoding/json would decode it
// into t, and returns the first place it fails: a syntax error, a value of
// the wrong type, an unknown field, or a value its type's own decoder
// refuses. nil when it finds nothing wrong.
func (s *scanner) typed(t reflect.Type, path string) *locErr {
	s.ws()
	start := s.pos
	asLoc := func(err error) *locErr {
		var le *locErr
		var se *scanError
		switch {
		case errors.As(err, &le):
			return le
		case errors.As(err, &se):
			return &locErr{off: se.off, path: path, err: se}
		}
		return &locErr{off: start, path: path, err: err}
	}
	null := func() *locErr {
		if err := s.literal("null"); err != nil {
			return asLoc(err)
		}
		return nil
	}
	if t == mibType {
		if _, err := decodeMIB(s, path); err != nil {
			return asLoc(err)
		}
		return nil
	}
	if t.Kind() == reflect.Pointer {
		if s.peek() == 'n' {
			return null()
		}
		return s.typed(t.Elem(), path)
	}
	leaf := func() *locErr {
		if err := s.skip(); err != nil {
			return asLoc(err)
		}
		if err := json.Unmarshal(s.data[start:s.pos], reflect.New(t).Interface()); err != nil {
			return &locErr{off: start, path: path, err: errors.New(jsonMessage(err, t))}
		}
		return nil
	}
	fields, ok := objectFields(t)
	if !ok {
		return leaf()
	}
	switch t.Kind() {
	case reflect.Struct:
		if s.peek() == 'n' { // null leaves a struct alone
			return null()
		}
		if s.peek() != '{' {
			return &locErr{off: start, path: path, err: fmt.Errorf("want an object, got %s", s.kindAt())}
		}
		err := s.members(func(key string, keyOff int) error {
			f, ok := fields.lookup(key)
			if !ok {
				if fields.extra[key] {
					if err := s.skip(); err != nil {
						return err
					}
					return nil
				}
				return &locErr{off: keyOff, path: path, err: fmt.Errorf("unknown field %q", key)}
			}
			if le := s.typed(f, path+"."+key); le != nil {
				return le
			}
			return nil
		})
		if err != nil {
			return asLoc(err)
		}
		if fields.method {
			// The type decodes itself: what it refuses that the fields
			// did not show is reported at the object.
			if err := json.Unmarshal(s.data[start:s.pos], reflect.New(t).Interface()); err != nil {
				return &locErr{off: start, path: path, err: errors.New(jsonMessage(err, t))}
			}
		}
		return nil
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && s.peek() == 'n' {
			return null()
		}
		if s.peek() != '[' {
			return &locErr{off: start, path: path, err: fmt.Errorf("want an array, got %s", s.kindAt())}
		}
		err := s.elements(func(i int) error {
			if le := s.typed(t.Elem(), path+"["+strconv.Itoa(i)+"]"); le != nil {
				return le
			}
			return nil
		})
		if err != nil {
			return asLoc(err)
		}
		return nil
	case reflect.Map:
		if s.peek() == 'n' {
			return null()
		}
		if s.peek() != '{' {
			return &locErr{off: start, path: path, err: fmt.Errorf("want an object, got %s", s.kindAt())}
		}
		err := s.members(func(key string, _ int) error {
			if le := s.typed(t.Elem(), path+"."+key); le != nil {
				return le
			}
			return nil
		})
		if err != nil {
			return asLoc(err)
		}
		return nil
	}
	return leaf()
}

// fieldSet is how encoding/json sees a struct's keys.
type fieldSet struct {
	byName map[string]reflect.Type
	extra  map[string]bool // keys its own MarshalJSON adds
	method bool            // it has its own UnmarshalJSON
}

func (f *fieldSet) lookup(key string) (reflect.Type, bool) {
	if t, ok := f.byName[key]; ok {
		return t, true
	}
	for name, t := range f.byName {
		if strings.EqualFold(name, key) {
			return t, true
		}
	}
	return nil, false
}

var fieldSets sync.Map // reflect.Type → *fieldSet, or nil for a leaf

// objectFields returns the keys of a struct that decodes as an object, or
// reports that t is decoded whole (a number, a string, a type with its own
// decoding to a non-object). Slices, arrays and maps are containers (ok,
// no fields), except []byte.
func objectFields(t reflect.Type) (*fieldSet, bool) {
	if v, ok := fieldSets.Load(t); ok {
		fs, _ := v.(*fieldSet)
		return fs, fs != nil
	}
	fs := buildFields(t)
	fieldSets.Store(t, fs)
	return fs, fs != nil
}

func buildFields(t reflect.Type) *fieldSet {
	pt := reflect.PointerTo(t)
	method := pt.Implements(jsonUnmarshalerType)
	if method || pt.Implements(textUnmarshalerType) {
		if t.Kind() != reflect.Struct {
			return nil
		}
		// A struct with its own decoding is walked as an object when it
		// is written as one (xfrmstat's SA, Policy …), else it is a leaf
		// (time.Time, netip.Addr).
		b, err := json.Marshal(reflect.New(t).Elem().Interface())
		if err != nil || len(b) == 0 || b[0] != '{' || !method {
			return nil
		}
		fs := &fieldSet{byName: map[string]reflect.Type{}, extra: map[string]bool{}, method: true}
		addFields(fs, t)
		var keys map[string]json.RawMessage
		if json.Unmarshal(b, &keys) == nil {
			for k := range keys {
				if _, ok := fs.byName[k]; !ok {
					fs.extra[k] = true
				}
			}
		}
		return fs
	}
	switch t.Kind() {
	case reflect.Struct:
		fs := &fieldSet{byName: map[string]reflect.Type{}}
		addFields(fs, t)
		return fs
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		return &fieldSet{}
	case reflect.Array, reflect.Map:
		return &fieldSet{}
	}
	return nil
}

func addFields(fs *fieldSet, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name := strings.Split(tag, ",")[0]
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(fs, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs.byName[name] = f.Type
	}
}

// memSize estimates the memory v takes: its own size, and what its
// pointers, slices and strings refer to.
func memSize(v reflect.Value) int64 {
	return int64(v.Type().Size()) + indirectSize(v)
}

// flatTypes caches whether a type holds no pointer, string or slice.
var flatTypes sync.Map

func flat(t reflect.Type) bool {
	if v, ok := flatTypes.Load(t); ok {
		return v.(bool)
	}
	f := true
	switch t.Kind() {
	case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface:
		f = false
	case reflect.Struct:
		for i := range t.NumField() {
			f = f && flat(t.Field(i).Type)
		}
	case reflect.Array:
		f = flat(t.Elem())
	}
	flatTypes.Store(t, f)
	return f
}

// indirectSize is what v refers to, beyond its own size.
func indirectSize(v reflect.Value) int64 {
	t := v.Type()
	if flat(t) {
		return 0
	}
	var n int64
	switch t.Kind() {
	case reflect.String:
		n = int64(v.Len())
	case reflect.Pointer:
		if !v.IsNil() {
			n = memSize(v.Elem())
		}
	case reflect.Slice:
		if !v.IsNil() {
			n = int64(v.Cap()) * int64(t.Elem().Size())
			for i := range v.Len() {
				n += indirectSize(v.Index(i))
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			n += indirectSize(v.Field(i))
		}
	case reflect.Array:
		for i := range v.Len() {
			n += indirectSize(v.Index(i))
		}
	case reflect.Map:
		n = int64(v.Len()) * 64
	}
	return n
}
