// Package wgtest configures wireguard devices for the project's real-kernel
// tests, over generic netlink as wg(8) would (the VM images have no wg
// tool): create a device, set its private key, listen port, fwmark and
// peers, remove or replace a peer, dump it raw.
//
// Keys follow from small integers (Private, Public, Preshared), so that a
// test and a host test reading its captures agree on them without storing
// any secret. Public keys come from crypto/ecdh's X25519 (standard library).
//
// The package imports nothing of the library's public packages, so that
// vtistat's own (internal) tests can use it.
package wgtest

import (
	"bytes"
	"crypto/ecdh"
	"encoding/base64"
	"fmt"
	"testing"
)

// Key is a Curve25519 key (private, public or preshared).
type Key [32]byte

// String is the key in standard base64, as wg(8) prints it.
func (k Key) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// Private returns the private key of test identity i, clamped as
// curve25519 keys are (the kernel stores it clamped): 32 bytes no real
// key would have, distinct per i, easy to find in a dump.
func Private(i int) Key {
	var k Key
	for j := range k {
		k[j] = byte(0xa0 + j + 7*i)
	}
	k[1], k[2] = byte(i), byte(i>>8) // distinct for every i, not only mod 256
	k[0] &= 248
	k[31] = k[31]&127 | 64
	return k
}

// Preshared returns the preshared key of test peer i.
func Preshared(i int) Key {
	var k Key
	for j := range k {
		k[j] = byte(0x3c ^ (j + 11*i))
	}
	k[1], k[2] = byte(i), byte(i>>8)
	return k
}

// Public is the public key of test identity i.
func Public(tb testing.TB, i int) Key {
	tb.Helper()
	priv := Private(i)
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		tb.Fatal(err)
	}
	return Key(k.PublicKey().Bytes())
}

// SecretForms returns the forms a secret key can take in a file or a log:
// raw bytes, base64, hex, and Go's print of its first bytes.
func SecretForms(k Key) [][]byte {
	return [][]byte{k[:], []byte(k.String()), fmt.Appendf(nil, "%x", k[:]), []byte(fmt.Sprint(k[:8]))}
}

// Audit fails tb if any secret appears in any blob in any of its
// SecretForms.
func Audit(tb testing.TB, what string, secrets []Key, blobs ...[]byte) {
	tb.Helper()
	for _, s := range secrets {
		for _, f := range SecretForms(s) {
			for _, b := range blobs {
				if bytes.Contains(b, f) {
					tb.Errorf("%s: a secret key (%x…) appears in the output", what, s[:4])
				}
			}
		}
	}
}
