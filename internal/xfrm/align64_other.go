//go:build !386

package xfrm

// align64 is the alignment of a __u64 in the kernel's structs: 8 bytes on
// every Linux ABI Go supports except i386.
const align64 = 8
