// Package errs holds the errors that the module's public packages share,
// so that one errors.Is test matches the same failure whichever package
// reported it. It imports only the standard library: procnet, which must
// stay free of netlink, depends on it.
//
// Each public package re-exports these values under its own name
// (procnet.ErrNotSupported, vtistat.ErrNotSupported,
// xfrmstat.ErrNotSupported are one value), and wraps them in an error that
// names the package and what exactly is missing:
//
//	fmt.Errorf("xfrmstat: %w: XFRM netlink exists only on Linux", errs.ErrNotSupported)
//
// prints "xfrmstat: not supported: XFRM netlink exists only on Linux".
package errs

import "errors"

// ErrNotSupported reports that the system cannot provide what was asked:
// the wrong operating system, a kernel too old or built without a feature,
// or a module that is not loaded. The message carries no package name: the
// error wrapping it says which package and which feature.
var ErrNotSupported = errors.New("not supported")
