#!/usr/bin/env bash
# Fetches Debian's stock cloud kernel for `make bench-linux` with apt-get
# download (the package is unpacked, never installed) and leaves its bzImage
# as DIR/vmlinuz and the package's name and version as DIR/kernel.txt.
# linux-image-cloud-amd64 is a metapackage: its dependency names the real
# linux-image-<abi>-cloud-amd64 package that holds /boot/vmlinuz-*.
#   usage: fetch-kernel.sh DIR
set -euo pipefail

dir=$1
meta=linux-image-cloud-amd64
real=$(apt-cache depends "$meta" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$real" ] || { echo "fetch-kernel: apt knows no '$meta' (deb.debian.org main in sources.list? apt-get update?)" >&2; exit 1; }

mkdir -p "$dir"
rm -rf "$dir/pkg" "$dir"/*.deb
# apt-get download writes into the current directory.
(cd "$dir" && apt-get download -q "$real" 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
deb=$(ls "$dir"/"$real"_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] || { echo "fetch-kernel: apt-get download $real left no .deb in $dir" >&2; exit 1; }
dpkg-deb -x "$deb" "$dir/pkg"
vmlinuz=$(ls "$dir"/pkg/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || { echo "fetch-kernel: $deb holds no /boot/vmlinuz-*" >&2; exit 1; }
cp "$vmlinuz" "$dir/vmlinuz"
dpkg-deb -f "$deb" Package Version | tr '\n' ' ' | sed 's/ $/\n/' > "$dir/kernel.txt"
cat "$dir/kernel.txt"
