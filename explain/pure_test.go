package explain

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPure: explain links no netlink code on any platform. Embedders
// import it into programs that explain saved readings, and its doc
// promises it does no I/O; the readers live in vtistat, xfrmstat and
// explain/monitor.
func TestPure(t *testing.T) {
	// go test puts its own go command first on the PATH.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list explain's dependencies: %v", err)
	}
	forbidden := []string{
		"github.com/mdlayher/netlink", "github.com/mdlayher/socket", "golang.org/x/net", "golang.org/x/sync",
		"github.com/tunnelstat/tunnelstat/vtistat", "github.com/tunnelstat/tunnelstat/xfrmstat",
		"github.com/tunnelstat/tunnelstat/internal/nl", "github.com/tunnelstat/tunnelstat/explain/monitor",
	}
	for _, goos := range []string{"linux", "darwin"} {
		cmd := exec.Command(goTool, "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v\n%s", goos, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("GOOS=%s: explain depends on %s", goos, dep)
				}
			}
		}
	}
}
