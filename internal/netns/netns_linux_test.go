//go:build linux

package netns

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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

// A FIFO, a directory or a socket given as a namespace path is refused at
// once: never waited on (a FIFO's open blocks until a writer comes), and
// named for what it is.
func TestOpenRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	sfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(sfd)
	if err := unix.Bind(sfd, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	for path, kind := range map[string]string{fifo: "a named pipe (FIFO), not a namespace file", dir: "a directory, not a namespace file",
		sock: "a socket, not a namespace file"} {
		done := make(chan error, 1)
		go func() {
			h, err := Open(Target{Path: path})
			if err == nil {
				h.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, ErrNotNamespaceFile) || !strings.Contains(err.Error(), kind) {
				t.Errorf("%s: %v, want ErrNotNamespaceFile naming a %s", path, err, kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: Open still waiting after 5 s", path)
		}
	}
}
