//go:build linux

package testns

import (
	"bytes"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/tunnelstat/tunnelstat/internal/netns"
)

// Nobody is the user AsNobody runs programs as: uid and gid 65534.
const Nobody = 65534

// AsNobody runs the program at path with args as Nobody, without
// capabilities or supplementary groups, started inside ns: it is forked
// from a thread in ns, and a process starts in its parent thread's
// namespace, so it needs no privilege to be there. env is added to the
// environment; the working directory is os.TempDir(). It returns what the
// program wrote and how it ended (an *exec.ExitError for a non-zero exit).
func (ns *NS) AsNobody(t testing.TB, env []string, path string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	h := &netns.Handle{FD: ns.Open(t)}
	if doErr := h.Do(func() error {
		cmd := exec.Command(path, args...)
		cmd.Env = append(os.Environ(), env...)
		cmd.Dir = os.TempDir()
		cmd.Stdout, cmd.Stderr = &out, &errOut
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: Nobody, Gid: Nobody, Groups: []uint32{}}}
		err = cmd.Run()
		return nil
	}); doErr != nil {
		t.Fatalf("%s: %v", ns.Name, doErr)
	}
	return out.Bytes(), errOut.Bytes(), err
}
