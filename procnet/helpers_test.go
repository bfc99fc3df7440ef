package procnet

import (
	"strconv"
	"unsafe"
)

func itoa(n int) string               { return strconv.Itoa(n) }
func quoteText(s string) string       { return strconv.Quote(s) }
func unsafeStringData(s string) *byte { return unsafe.StringData(s) }
