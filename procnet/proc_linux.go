package procnet

// haveProcNet: this OS has /proc/net.
const haveProcNet = true
