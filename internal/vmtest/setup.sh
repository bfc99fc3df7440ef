#!/usr/bin/env bash
# Installs the host tools the vmtest runner needs (Debian, as root).
# Idempotent: installs only what is missing, and runs apt-get update only then.
# The initramfs is written by the runner itself (no cpio tool needed); apt,
# dpkg-deb and ldd come with every Debian system.
#
#   qemu-system-x86  qemu-system-x86_64 (TCG; no KVM needed)
#   busybox-static   ping, cat, sysctl, mount ... inside the VM
#   kmod             depmod -b on the host; modprobe inside the VM (the kernel's request_module runs it)
#   xz-utils, zstd   decompress .ko.xz / .ko.zst modules (trixie ships .ko.xz)
#   iproute2         ip(8), copied into the VM with its shared libraries
#   dash             /bin/sh inside the VM (Essential on Debian, listed for other hosts)
#   apt, dpkg        fetch and unpack Debian's linux-image-*-cloud-amd64 packages
#   debian-archive-keyring  verifies the Release files of bullseye, bookworm and trixie
set -euo pipefail

pkgs=(qemu-system-x86 busybox-static kmod xz-utils zstd iproute2 dash debian-archive-keyring)
missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if ((${#missing[@]} == 0)); then
	echo "vmtest setup: all host packages present"
	exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
	echo "vmtest setup: missing ${missing[*]}; run this script as root" >&2
	exit 1
fi
echo "vmtest setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "vmtest setup: done"
