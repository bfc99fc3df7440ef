// Package protocol is the contract between the vmtest runner on the host, the
// init program inside the VM and the test-side helpers in package vmtest.
//
// The host hands the guest a Config as JSON inside the initramfs. The guest
// answers on its second serial port (ttyS1), one line per record, so that
// kernel messages on the console (ttyS0) can never split a record:
//
//	VMTEST-HELLO <uname -r>
//	VMTEST-EVENT <test2json event as JSON>
//	VMTEST-EXIT <package import path> <exit code>
//	VMTEST-FILE <package import path> <relative path> <base64 of the file>
//	VMTEST-ERROR <message>
//	VMTEST-DONE
//
// A guest that stops without VMTEST-DONE did not finish (panic, hang, timeout).
package protocol

import "time"

// Markers that start each record line on the results port.
const (
	Hello = "VMTEST-HELLO"
	Event = "VMTEST-EVENT"
	Exit  = "VMTEST-EXIT"
	File  = "VMTEST-FILE"
	Error = "VMTEST-ERROR"
	Done  = "VMTEST-DONE"
)

// Environment variables the guest init sets for every test binary.
const (
	// EnvInVM is "1" inside a vmtest VM.
	EnvInVM = "TUNNELSTAT_VMTEST"
	// EnvKernel is the matrix name of the kernel under test, e.g. "6.1".
	EnvKernel = "TUNNELSTAT_VMTEST_KERNEL"
	// EnvMaxKernel is the newest kernel of the runner's known matrix, e.g.
	// "7.3": a test that needs a newer kernel can never run and fails.
	EnvMaxKernel = "TUNNELSTAT_VMTEST_MAX_KERNEL"
	// EnvArtifacts is a directory whose files the guest sends back to the
	// host after the test binary exits.
	EnvArtifacts = "TUNNELSTAT_VMTEST_ARTIFACTS"
)

// Paths inside the guest.
const (
	ConfigPath   = "/vmtest/config.json"
	TestsDir     = "/vmtest/tests"
	SourceDir    = "/vmtest/src"
	ArtifactsDir = "/tmp/vmtest-artifacts"
	Test2JSON    = "/vmtest/bin/test2json"
	ResultsPort  = "/dev/ttyS1"
)

// Config tells the guest init what to run.
type Config struct {
	// Kernel is the matrix name of the kernel, e.g. "5.10".
	Kernel string `json:"kernel"`
	// MaxKernel is the newest kernel the runner knows, e.g. "7.3".
	MaxKernel string `json:"max_kernel"`
	// Deadline is when the host stops the VM. The guest bounds each test
	// binary's -test.timeout by it, so a test that hangs still reports
	// (with a goroutine dump) before the VM is killed.
	Deadline time.Time `json:"deadline"`
	// Preload lists modules to modprobe before any test runs.
	Preload []string `json:"preload,omitempty"`
	// Packages are run one after the other, in this order.
	Packages []Package `json:"packages"`
}

// Package is one test binary to run.
type Package struct {
	// ImportPath is the Go import path, used as test2json's -p.
	ImportPath string `json:"import_path"`
	// Binary is the test binary's path inside the guest.
	Binary string `json:"binary"`
	// Dir is the working directory (the package's source directory with
	// its testdata, if any).
	Dir string `json:"dir"`
	// Args are passed to the test binary after -test.v=test2json.
	Args []string `json:"args"`
	// Timeout is the test binary's -test.timeout, unless less time is
	// left before the Deadline.
	Timeout time.Duration `json:"timeout"`
}

// ModuleSuccessors maps a kernel module name (normalized: '_' for '-') that
// newer kernels no longer have to the modules that provide the same
// algorithms there. Tests name the modules of the older kernels
// (aes_generic, sha256_generic, ghash-generic ...); in 7.3 the generic
// crypto drivers became wrappers around lib/crypto, built in or as modules
// of other names:
//
//	aes_generic       aes           (built in; driver "aes-lib")
//	sha1_generic      sha1          (built in; also hmac(sha1))
//	sha256_generic    sha256        (built in; also sha224, hmac(sha256))
//	sha512_generic    sha512        (built in; also sha384, hmac(sha512))
//	chacha_generic    chacha        (module; chacha20, xchacha*)
//	poly1305_generic  libpoly1305   (module; no poly1305 crypto API algorithm
//	                                 any more, chacha20poly1305 calls the library)
//	ghash_generic     libgf128hash  (built in; gcm computes GHASH with the
//	                                 library, no "ghash" algorithm any more)
//
// A successor is consulted only where the old name is neither loaded, built
// in nor a module of the running kernel, so older kernels are unaffected.
// The vmtest runner puts successors into the initramfs for the same names.
var ModuleSuccessors = map[string][]string{
	"aes_generic":      {"aes"},
	"sha1_generic":     {"sha1"},
	"sha256_generic":   {"sha256"},
	"sha512_generic":   {"sha512"},
	"chacha_generic":   {"chacha"},
	"poly1305_generic": {"libpoly1305"},
	"ghash_generic":    {"libgf128hash"},
}
