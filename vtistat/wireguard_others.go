//go:build !linux

package vtistat

import "context"

func (*client) wireGuardDevice(_ context.Context, dst *WireGuardDevice, _ *query) error {
	dst.Peers = dst.Peers[:0]
	return errUnsupported()
}
