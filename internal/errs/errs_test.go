package errs

import (
	"errors"
	"fmt"
	"testing"
)

// The shared value is matched through any wrapping, and the message that
// wraps it is the one that names the package.
func TestErrNotSupportedWrapped(t *testing.T) {
	err := fmt.Errorf("pkg: %w: feature X", ErrNotSupported)
	if !errors.Is(err, ErrNotSupported) {
		t.Fatalf("%v does not match ErrNotSupported", err)
	}
	if got, want := err.Error(), "pkg: not supported: feature X"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
}
