// Package xfrmstat reads IPsec state over XFRM netlink: SAs, policies, SPD and
// SAD info, events, and the XFRM MIB of the same network namespace.
//
// Key material is never read: key bytes are not copied out of the kernel's
// reply, are in no field, and appear in no String, error or JSON output.
package xfrmstat
