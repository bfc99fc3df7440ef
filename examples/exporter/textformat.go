package main

import (
	"bytes"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The exporter writes the Prometheus text exposition format (0.0.4)
// itself, without client_golang: a poll renders its namespace's sample
// lines into bytes once, family by family, and a scrape of a new
// generation only copies those bytes under each family's HELP and TYPE.
// See https://prometheus.io/docs/instrumenting/exposition_formats/.

// contentType is the text exposition format, the one format served.
const contentType = "text/plain; version=0.0.4; charset=utf-8"

// metricType is a family's TYPE.
type metricType uint8

const (
	counterType metricType = iota
	gaugeType
)

// family is one metric family: its name, HELP and TYPE, and label names.
// Its samples are rendered by emit, for one namespace at a time (nil for
// the families the Exporter renders when it assembles a response: the
// poll counts and the exporter's own series).
type family struct {
	name string
	help string
	typ  metricType
	// labels are the label names as given (netns first for a namespace's
	// series); sorted are the same in name order, the order samples
	// write them in (as client_golang did).
	labels, sorted []string
	// order[i] is the index in labels of sorted[i].
	order []int
	emit  func(*nsWriter, *family)

	// id is the family's place in families; header its HELP and TYPE
	// lines.
	id     int
	header string
}

// families are every family the exporter may write, in the order written
// (by name); init fills it from the families declared in metrics.go.
var families []*family

// newFamily declares a family: tunnelstat_NAME with the given labels.
func newFamily(name string, typ metricType, help string, emit func(*nsWriter, *family), labels ...string) *family {
	f := &family{name: ns + "_" + name, help: help, typ: typ, labels: labels, sorted: slices.Sorted(slices.Values(labels)), emit: emit}
	for _, l := range f.sorted {
		f.order = append(f.order, slices.Index(labels, l))
	}
	families = append(families, f)
	return f
}

func init() {
	slices.SortFunc(families, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	for i, f := range families {
		if i > 0 && families[i-1].name == f.name {
			panic("exporter: family " + f.name + " declared twice")
		}
		f.id = i
		typ := "counter"
		if f.typ == gaugeType {
			typ = "gauge"
		}
		// HELP escapes backslashes and newlines; TYPE is a word.
		f.header = "# HELP " + f.name + " " + strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(f.help) + "\n# TYPE " + f.name + " " + typ + "\n"
	}
}

// appendLabelValue appends v escaped as a label value of the text format:
// a backslash, a double quote and a newline are escaped with a backslash.
// A label value must be UTF-8: a byte that is not part of valid UTF-8 (an
// interface or namespace name may hold any byte) is written as the four
// characters \xNN, as Go quotes it, so that two names that differ only
// there stay apart and the scrape stays valid.
func appendLabelValue(dst []byte, v string) []byte {
	i := 0
	for i < len(v) && v[i] < utf8.RuneSelf && v[i] != '\\' && v[i] != '"' && v[i] != '\n' {
		i++
	}
	dst = append(dst, v[:i]...)
	for i < len(v) {
		c := v[i]
		switch {
		case c == '\\':
			dst = append(dst, `\\`...)
		case c == '"':
			dst = append(dst, `\"`...)
		case c == '\n':
			dst = append(dst, `\n`...)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
		default:
			r, n := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && n == 1 {
				// Written as a backslash (escaped) and x and two hex digits.
				dst = append(dst, `\\x`...)
				dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			} else {
				dst = append(dst, v[i:i+n]...)
			}
			i += n
			continue
		}
		i++
	}
	return dst
}

// appendLabels appends a label set, {name="value",...}, of family f's
// labels with values in f.labels' order, written in name order; nothing
// for a family without labels.
func appendLabels(dst []byte, f *family, values ...string) []byte {
	if len(f.labels) != len(values) {
		panic("exporter: " + f.name + ": " + strconv.Itoa(len(values)) + " label values for " + strconv.Itoa(len(f.labels)) + " labels")
	}
	if len(values) == 0 {
		return dst
	}
	dst = append(dst, '{')
	for i, name := range f.sorted {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, name...)
		dst = append(dst, `="`...)
		dst = appendLabelValue(dst, values[f.order[i]])
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// appendFloat appends a sample value as the text format writes a float
// (as expfmt does): NaN, +Inf, -Inf, else the shortest representation.
func appendFloat(dst []byte, v float64) []byte {
	switch {
	case v == 0:
		return append(dst, '0') // -0 too
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, +1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	}
	return strconv.AppendFloat(dst, v, 'g', -1, 64)
}

// relabel returns the sample lines in b with every netns="from" label
// changed to netns="to" (a namespace whose label changed after its
// samples were rendered), and ends (each family's end in b) moved to
// match. b is as appendLabels writes it; it is not modified.
func relabel(b []byte, ends []int, from, to string) ([]byte, []int) {
	old := append(appendLabelValue([]byte(`netns="`), from), '"')
	repl := append(appendLabelValue([]byte(`netns="`), to), '"')
	out := make([]byte, 0, len(b)+max(0, len(repl)-len(old))*bytes.Count(b, []byte{'\n'}))
	newEnds := make([]int, len(ends))
	start := 0
	for i, end := range ends {
		for start < end {
			n := bytes.IndexByte(b[start:end], '\n') + 1
			if n == 0 {
				n = end - start
			}
			out = appendRelabelled(out, b[start:start+n], old, repl)
			start += n
		}
		newEnds[i] = len(out)
	}
	return out, newEnds
}

// appendRelabelled appends one sample line with its label pair old
// (netns="…") replaced by repl. It walks the label set pair by pair, so
// that a label value holding the same characters is never taken for it.
func appendRelabelled(dst, line, old, repl []byte) []byte {
	i := bytes.IndexAny(line, "{ ")
	if i < 0 || line[i] != '{' {
		return append(dst, line...) // no labels
	}
	i++
	for i < len(line) && line[i] != '}' {
		// A pair: name="value", the value escaped (\\, \", \n).
		eq := bytes.IndexByte(line[i:], '=')
		if eq < 0 {
			break
		}
		j := i + eq + 2 // past ="
		for j < len(line) && line[j] != '"' {
			if line[j] == '\\' {
				j++
			}
			j++
		}
		j++ // past the closing quote
		if j > len(line) {
			break
		}
		if bytes.Equal(line[i:j], old) {
			dst = append(dst, line[:i]...)
			dst = append(dst, repl...)
			return append(dst, line[j:]...)
		}
		if j < len(line) && line[j] == ',' {
			j++
		}
		i = j
	}
	return append(dst, line...)
}
