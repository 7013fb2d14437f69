#!/usr/bin/env bash
# Makes a bootable USB disk image without root: a GPT with one EFI System
# Partition (FAT32) holding EFI/BOOT/BOOTX64.EFI and EFI/BOOT/CMDLINE.TXT.
#
#   tools/mkusb.sh OUT.img BOOTX64.EFI "kernel command line"
#   tools/mkusb.sh --set-cmdline IMAGE "kernel command line"
set -euo pipefail

IMAGE_MIB=64
PART_START=2048 # sectors: 1 MiB
ESP_TYPE=C12A7328-F81F-11D2-BA4B-00A0C93EC93B

die() { echo "mkusb: $*" >&2; exit 1; }

partition_offset() {
    echo $((PART_START * 512))
}

write_cmdline() {
    local img=$1 text=$2 tmp
    tmp=$(mktemp)
    printf '%s\n' "$text" > "$tmp"
    MTOOLS_SKIP_CHECK=1 mcopy -o -i "$img@@$(partition_offset)" "$tmp" ::/EFI/BOOT/CMDLINE.TXT
    rm -f "$tmp"
}

if [ "${1:-}" = "--set-cmdline" ]; then
    [ $# -eq 3 ] || die "usage: mkusb.sh --set-cmdline IMAGE CMDLINE"
    [ -w "$2" ] || die "cannot write '$2'"
    write_cmdline "$2" "$3"
    exit 0
fi

[ $# -eq 3 ] || die "usage: mkusb.sh OUT.img BOOTX64.EFI CMDLINE"
out=$1 efi=$2 cmdline=$3
[ -r "$efi" ] || die "'$efi' not found (run 'make')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
esp=$tmp/esp.img
sectors=$((IMAGE_MIB * 2048))
esp_sectors=$((sectors - PART_START - 2048)) # leave room for the backup GPT

truncate -s "${IMAGE_MIB}M" "$img"
printf 'label: gpt\nstart=%d, size=%d, type=%s, name="mmulab"\n' \
    "$PART_START" "$esp_sectors" "$ESP_TYPE" | sfdisk --quiet "$img"

truncate -s $((esp_sectors * 512)) "$esp"
mkfs.fat -F 32 -n MMULAB "$esp" >/dev/null
MTOOLS_SKIP_CHECK=1 mmd -i "$esp" ::/EFI ::/EFI/BOOT
MTOOLS_SKIP_CHECK=1 mcopy -i "$esp" "$efi" ::/EFI/BOOT/BOOTX64.EFI
dd if="$esp" of="$img" bs=512 seek="$PART_START" conv=notrunc status=none
write_cmdline "$img" "$cmdline"

mv "$img" "$out"
echo "mkusb: wrote $out ($IMAGE_MIB MiB); put it on a stick with:"
echo "  dd if=$out of=/dev/sdX bs=4M conv=fsync"
