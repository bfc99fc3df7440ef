//go:build !linux

package monitor

import "io"

// Elsewhere there are no network namespaces to follow: Open fails in the
// reading packages (ErrNotSupported).

func openNS(string) (io.Closer, nsID, error) { return nopCloser{}, nsID{}, nil }

func statNS(string) (nsID, error) { return nsID{}, nil }

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
