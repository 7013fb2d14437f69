#!/usr/bin/env bash
# Installs the Debian packages mmulab needs, if any is missing. Silent and
# fast when everything is there; runs apt-get (as root) otherwise.
#   --lava  also LAVA's dispatcher and client, for `make lava-check` only
#   --linux-bench  also cpio and the static libc, for `make bench-linux` only
set -euo pipefail

packages=(qemu-system-x86 ovmf gnu-efi nasm mtools fdisk dosfstools acpica-tools gdb
          python3 python3-yaml gcc make binutils clang sbsigntool openssl
          console-setup-linux gnuplot-nox)
if [ "${1:-}" = --lava ]; then
    packages+=(lava-dispatcher lavacli)
fi
if [ "${1:-}" = --linux-bench ]; then
    packages+=(cpio libc6-dev gzip)
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}" >&2
    echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
