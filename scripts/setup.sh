#!/usr/bin/env bash
# setup.sh installs everything gobee's tests and tools need on a fresh
# Debian 12 machine: the BPF toolchain (clang-19, llvm-19, bpftool,
# libbpf-dev for bpf_helpers.h), bpffs, and the Go modules.
# It is idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in clang-19 llvm-19 bpftool libbpf-dev linux-libc-dev iproute2 make; do
	dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# bpffs is where the kernel pins objects; tests that compare against the
# kernel's pinning need it mounted.
if [ "$(id -u)" = 0 ] && ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi

go mod download
