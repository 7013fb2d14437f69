#!/usr/bin/env bash
# Makes a bootable USB disk image without root: a GPT with one EFI System
# Partition (FAT32) holding EFI/BOOT/BOOTX64.EFI and EFI/BOOT/CMDLINE.TXT.
#
#   tools/mkusb.sh [--sign KEY CERT] OUT.img BOOTX64.EFI "kernel command line"
#   tools/mkusb.sh --set-cmdline IMAGE "kernel command line"
#
# --sign: BOOTX64.EFI goes on the image signed for Secure Boot with sbsign
# (KEY: PEM private key, unencrypted: sbsign cannot be given a passphrase;
# CERT: its PEM certificate, the one enrolled in the firmware's db), and
# the signature is checked against CERT with sbverify.
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

sign_key="" sign_cert=""
if [ "${1:-}" = "--sign" ]; then
    [ $# -ge 3 ] || die "usage: mkusb.sh --sign KEY CERT OUT.img BOOTX64.EFI CMDLINE"
    sign_key=$2 sign_cert=$3
    shift 3
fi
[ $# -eq 3 ] || die "usage: mkusb.sh [--sign KEY CERT] OUT.img BOOTX64.EFI CMDLINE"
out=$1 efi=$2 cmdline=$3
[ -r "$efi" ] || die "'$efi' not found (run 'make')"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Signs a copy of the EFI application; prints its path.
sign_efi() {
    [ -r "$sign_key" ] || die "--sign: cannot read the key '$sign_key'"
    [ -r "$sign_cert" ] || die "--sign: cannot read the certificate '$sign_cert'"
    command -v sbsign >/dev/null || die "--sign: sbsign not found (apt-get install sbsigntool)"
    if grep -q "ENCRYPTED" "$sign_key"; then
        die "--sign: '$sign_key' is encrypted and sbsign cannot take a passphrase; decrypt it to a private file first: openssl pkey -in '$sign_key' -out KEY.pem (umask 077)"
    fi
    sbsign --key "$sign_key" --cert "$sign_cert" --output "$tmp/BOOTX64.EFI" "$efi" >&2 ||
        die "--sign: sbsign failed"
    sbverify --cert "$sign_cert" "$tmp/BOOTX64.EFI" >/dev/null ||
        die "--sign: the signed image does not verify against '$sign_cert'"
    echo "$tmp/BOOTX64.EFI"
}
[ -z "$sign_key" ] || efi=$(sign_efi)
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
echo "mkusb: wrote $out ($IMAGE_MIB MiB${sign_cert:+, BOOTX64.EFI signed for $sign_cert}); put it on a stick with:"
echo "  dd if=$out of=/dev/sdX bs=4M conv=fsync"
