//go:build linux

package netns

import (
	"os"
	"strings"
	"testing"
)

// Entering a file that is no network namespace says so.
func TestDoNotANamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: setns checks the capability before the file")
	}
	f, err := os.CreateTemp(t.TempDir(), "notns")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := &Handle{FD: int(f.Fd())}
	err = h.Do(func() error { return nil })
	if err == nil || !strings.Contains(err.Error(), "not a network namespace") {
		t.Fatalf("got %v", err)
	}
}
