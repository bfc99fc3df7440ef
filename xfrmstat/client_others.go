//go:build !linux

package xfrmstat

import (
	"context"
	"fmt"
	"runtime"

	"github.com/tunnelstat/tunnelstat/procnet"
)

// errOS is what every call returns off Linux: XFRM is Linux's IPsec stack.
var errOS = fmt.Errorf("xfrmstat: %w: XFRM netlink exists only on Linux, not %s", ErrNotSupported, runtime.GOOS)

type client struct{}

func dial(*Config) (*client, error) { return nil, errOS }

func (*client) close() error { return errOS }

func (*client) sasInto(context.Context, []SA, []SAFilter) ([]SA, error) { return nil, errOS }

func (*client) policiesInto(context.Context, []Policy) ([]Policy, error) { return nil, errOS }

func (*client) spdInfo(context.Context) (SPDInfo, error) { return SPDInfo{}, errOS }

func (*client) sadInfo(context.Context) (SADInfo, error) { return SADInfo{}, errOS }

func (*client) policyDefaults(context.Context) (PolicyDefaults, error) {
	return PolicyDefaults{}, errOS
}

func (*client) mibInto(context.Context, *procnet.XfrmStat) error { return errOS }

func (*client) subscribe(context.Context, Group) (*subscription, error) { return nil, errOS }

type subscription struct{}

func (*subscription) receive(func(Event) error) error { return errOS }

func (*subscription) close() error { return errOS }
