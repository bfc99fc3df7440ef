//go:build !linux

package procnet

// haveProcNet: /proc/net is Linux-only; FS{} reports ErrNotSupported here,
// while NewFS still reads copies of the files.
const haveProcNet = false
