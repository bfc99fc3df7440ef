package xfrmstat_test

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/tunnelstat/tunnelstat/procnet"
	"github.com/tunnelstat/tunnelstat/vtistat"
	"github.com/tunnelstat/tunnelstat/xfrmstat"
)

// One contract across the packages: the same failure is the same value,
// whichever package reports it, so one errors.Is test covers them all.
func TestContractSameErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []error
	}{
		{"ErrNotSupported", []error{procnet.ErrNotSupported, vtistat.ErrNotSupported, xfrmstat.ErrNotSupported}},
		{"ErrDumpInterrupted", []error{vtistat.ErrDumpInterrupted, xfrmstat.ErrDumpInterrupted}},
		{"ErrOverrun", []error{vtistat.ErrOverrun, xfrmstat.ErrOverrun}},
		{"ErrTruncated", []error{vtistat.ErrTruncated, xfrmstat.ErrTruncated}},
	} {
		for i, v := range c.values {
			if v == nil {
				t.Fatalf("%s #%d is nil", c.name, i)
			}
			if v != c.values[0] {
				t.Errorf("%s #%d is %q, not the same value as %q", c.name, i, v, c.values[0])
			}
			// Wrapped by one package, matched with another's name.
			wrapped := fmt.Errorf("xfrmstat: something: %w", v)
			for j, w := range c.values {
				if !errors.Is(wrapped, w) {
					t.Errorf("%s: #%d wrapped does not match #%d", c.name, i, j)
				}
			}
		}
	}
	// The shared ErrNotSupported names no package itself: the error that
	// wraps it does.
	if got := xfrmstat.ErrNotSupported.Error(); got != "not supported" {
		t.Errorf("ErrNotSupported says %q", got)
	}
}

// DecodeError's Message and Index are the same fields, with the same
// meaning, in both packages.
func TestContractDecodeErrorFields(t *testing.T) {
	x, v := reflect.TypeFor[xfrmstat.DecodeError](), reflect.TypeFor[vtistat.DecodeError]()
	for _, name := range []string{"Message", "Index", "Err"} {
		fx, okx := x.FieldByName(name)
		fv, okv := v.FieldByName(name)
		if !okx || !okv || fx.Type != fv.Type {
			t.Errorf("DecodeError.%s: xfrmstat %v (%v), vtistat %v (%v)", name, fx.Type, okx, fv.Type, okv)
		}
	}
}
