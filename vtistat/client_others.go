//go:build !linux

package vtistat

import (
	"context"
	"fmt"
	"runtime"
)

// client is the stub for platforms without rtnetlink: every call fails
// with an error wrapping ErrNotSupported.
type client struct{}

func errUnsupported() error {
	return fmt.Errorf("vtistat: rtnetlink is Linux-only (running on %s): %w", runtime.GOOS, ErrNotSupported)
}

func dial(*Config) (*client, error) { return nil, errUnsupported() }

func (*client) close() error { return errUnsupported() }

func (*client) fallbackReason() error { return nil }

func (*client) snapshot(_ context.Context, dst *Snapshot, _ query, _ bool) error {
	dst.clear()
	return errUnsupported()
}

func (*client) pollStats(_ context.Context, dst *Snapshot) error {
	dst.clear()
	return errUnsupported()
}

type subscription struct{}

func (*client) subscribe(context.Context) (*subscription, error) { return nil, errUnsupported() }

func (*subscription) receive(func(LinkChange) error) error { return errUnsupported() }

func (*subscription) close() error { return errUnsupported() }
