package xfrm

// align64 is the alignment of a __u64 in the kernel's structs: the i386 ABI
// aligns 8-byte integers to 4 bytes.
const align64 = 4
