package runner

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/tunnelstat/tunnelstat/internal/vmtest/internal/protocol"
)

// TestResult is the outcome of one test (or subtest) in one kernel.
type TestResult struct {
	Package string
	Test    string // "" for the package as a whole
	Action  string // "pass", "fail", "skip"; "" if it never ended
	Elapsed float64
	Output  []string
}

// artifact is a file a test saved with vmtest.SaveArtifact.
type artifact struct {
	Package string
	Path    string
	Data    []byte
}

// guestReport is everything a VM said on its results port.
type guestReport struct {
	Release   string
	Done      bool
	Tests     []*TestResult // in order of first appearance
	Exits     map[string]int
	Errors    []string
	Artifacts []artifact
}

type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

// parseResults reads the guest's results stream. Malformed lines are
// reported as errors of the guest, never skipped silently.
func parseResults(r io.Reader) (*guestReport, error) {
	rep := &guestReport{Exits: map[string]int{}}
	byKey := map[string]*TestResult{}
	get := func(pkg, test string) *TestResult {
		key := pkg + "\x00" + test
		tr := byKey[key]
		if tr == nil {
			tr = &TestResult{Package: pkg, Test: test}
			byKey[key] = tr
			rep.Tests = append(rep.Tests, tr)
		}
		return tr
	}
	err := scanLines(r, "results", func(n int, line string) error {
		line = strings.TrimRight(line, "\r")
		marker, rest, _ := strings.Cut(line, " ")
		switch marker {
		case protocol.Hello:
			rep.Release = rest
		case protocol.Done:
			rep.Done = true
		case protocol.Error:
			rep.Errors = append(rep.Errors, rest)
		case protocol.Exit:
			pkg, code, ok := strings.Cut(rest, " ")
			c, err := strconv.Atoi(code)
			if !ok || err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("results line %d: bad exit record %q", n, line))
				return nil
			}
			rep.Exits[pkg] = c
		case protocol.File:
			f := strings.SplitN(rest, " ", 3)
			if len(f) != 3 {
				rep.Errors = append(rep.Errors, fmt.Sprintf("results line %d: bad file record", n))
				return nil
			}
			data, err := base64.StdEncoding.DecodeString(f[2])
			if err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("results line %d: file %s: %v", n, f[1], err))
				return nil
			}
			rep.Artifacts = append(rep.Artifacts, artifact{Package: f[0], Path: f[1], Data: data})
		case protocol.Event:
			var ev testEvent
			if err := json.Unmarshal([]byte(rest), &ev); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("results line %d: test2json event: %v", n, err))
				return nil
			}
			tr := get(ev.Package, ev.Test)
			switch ev.Action {
			case "output":
				tr.Output = append(tr.Output, strings.TrimRight(ev.Output, "\n"))
			case "pass", "fail", "skip":
				tr.Action, tr.Elapsed = ev.Action, ev.Elapsed
			}
		default:
			// Not a record: the serial port may carry noise before init
			// opens it. Kept as an error only if it looks like a record.
			if strings.HasPrefix(line, "VMTEST-") {
				rep.Errors = append(rep.Errors, fmt.Sprintf("results line %d: unknown record %q", n, marker))
			}
		}
		return nil
	})
	return rep, err
}

var (
	framingLine = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (PASS|FAIL|SKIP))`)
	sourceLine  = regexp.MustCompile(`^\s*\S+\.go:\d+: `)
)

// Reason is the line that says why a test failed or skipped: the first
// file:line message of a failure (or a panic), the last one of a skip.
func (tr *TestResult) Reason() string {
	var msgs []string
	for _, l := range tr.Output {
		if framingLine.MatchString(l) || strings.TrimSpace(l) == "" {
			continue
		}
		if tr.Action == "fail" && strings.HasPrefix(strings.TrimSpace(l), "panic:") {
			return strings.TrimSpace(l)
		}
		if sourceLine.MatchString(l) {
			msgs = append(msgs, strings.TrimSpace(l))
		}
	}
	switch {
	case len(msgs) == 0:
		return ""
	case tr.Action == "skip":
		return msgs[len(msgs)-1]
	default:
		return msgs[0]
	}
}
