#!/usr/bin/env bash
# Boots one mmulab configuration under OVMF in QEMU (TCG) and exits with the
# verdict of the kernel's closing line: 0 all passed, 1 some case failed or
# ended in ERROR (or the command line was rejected), 2 panic, watchdog,
# timeout, or no closing line at all (QEMU refused to start, boot failure).
# Run with --help for the options.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cpus=4
nodes=2
mem=2G
node_mem=""
dist=""
cpu_model=max
cmdline=""
boot=uefi
use_usb=0
secure_boot=0
efi="$here/build/BOOTX64.EFI"
kernel_elf="$here/build/kernel.elf"
kernel_sym="$here/build/kernel.sym"
linux_kernel=""
linux_initrd=""
image="$here/build/mmulab-usb.img"
gdb_port=""
timeout_s=""
log=""
screendump=""
dry_run=0
acpitables=()
console=com1
extra=()

ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.fd
ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.fd

usage() {
    cat <<'EOF'
usage: run-qemu.sh [options] [-- raw QEMU arguments]

Boots build/BOOTX64.EFI (or the USB image) under OVMF with TCG, or with
--boot pvh build/kernel.elf directly (PVH entry, SeaBIOS, no OVMF), and exits
with the verdict of the kernel's closing line ("mmulab: done ...
verdict=V"): 0 pass, 1 fail (a case failed or ended in ERROR, or the
kernel rejected its command line), 2 panic or watchdog. Without that line
(QEMU refused to start, a timeout, a hang or reset in boot) the exit is 2
and stderr says why, after QEMU's own message. The serial console goes to
stdout as it comes.

  --cpus N           vCPUs (default 4)
  --nodes N          NUMA nodes (default 2). N >= 2 makes one memory backend,
                     one -numa node and -numa cpu entries per node (CPUs in
                     blocks, the first nodes get one more when N does not
                     divide them); N = 1 emits no -numa option at all (no
                     SRAT, like a laptop). A node may get no CPU (more nodes
                     than CPUs).
  --node-mem LIST    per-node memory, e.g. "1G,3G" (default: --mem split
                     evenly); 0 makes a node without memory
  --dist LIST        distances "A-B=D,..." (e.g. "0-1=20,1-0=30"); QEMU builds
                     a SLIT only when some distance is given. A pair given
                     one way only is mirrored by QEMU.
  --mem SIZE         guest memory (default 2G), suffix M or G
  --cpu MODEL        QEMU CPU model (default max; e.g. qemu64, max,-x2apic)
  --cmdline "..."    the kernel command line (default: empty = every default suite)
  --boot uefi|pvh    uefi (default): OVMF starts build/BOOTX64.EFI; pvh: QEMU
                     starts build/kernel.elf at its PVH note under SeaBIOS
                     (seconds faster; the symbol table goes in as -initrd).
                     Everything else is the same. --usb implies uefi.
  --linux KERNEL     boot another kernel (a Linux bzImage, for `make
                     bench-linux`) in place of ours, every other QEMU option
                     unchanged: with uefi OVMF starts it (its EFI stub), with
                     pvh QEMU loads it by the Linux boot protocol under the
                     same SeaBIOS. Its init must print our closing line and
                     power off (exit 0)
  --initrd FILE      with --linux: the initramfs it gets as -initrd
  --usb              boot the GPT image as a USB disk on XHCI instead of -kernel
                     (a temporary copy; --cmdline replaces its CMDLINE.TXT)
  --secure-boot      OVMF with Secure Boot enforced and Debian's snakeoil keys
                     enrolled (OVMF_*_4M.snakeoil.fd; q35 with SMM): only an
                     image signed with /usr/share/ovmf/PkKek-1-snakeoil.key
                     starts. When the firmware refuses the image and finds
                     nothing else to boot, the run ends at once (exit 2).
  --efi FILE         the EFI application (default build/BOOTX64.EFI)
  --image FILE       the USB image (default build/mmulab-usb.img)
  --acpitable FILE   inject an ACPI table (-acpitable file=FILE); repeatable
  --console com1|com2  the serial port whose stream is the console: stdout,
                     --log and the verdict (default com1). com2 adds a second
                     16550 at I/O 0x2f8 (for an SPCR that moves the console
                     there); COM1's stream then follows on stderr, each line
                     as "run-qemu: COM1: ..."
  --gdb [PORT]       QEMU waits for gdb on PORT (default 1234); prints the gdb
                     command; no timeout unless --timeout is given
  --timeout S        kill QEMU after S seconds and exit 2 (default 600)
                     (with on_done=poweroff or reboot in --cmdline the guest
                     ends QEMU itself, exit status 0 expected; on_done=halt
                     never ends it: it runs until this timeout)
  --log FILE         also write the serial log to FILE, without the
                     firmware's ANSI escapes and carriage returns
  --screendump FILE  UEFI only: take a screendump when the kernel's closing
                     line arrives (QMP; the kernel holds its summary up with
                     screen_hold_ms=3000), save it as FILE (PNG), and check
                     with tools/check-screen.py that the screen shows the
                     verdict, counts and failed cases of the serial log's
                     closing lines; exit 2 when it does not
  --dry-run          print the QEMU command line and exit
  -h, --help         this text
EOF
}

die() { echo "run-qemu: $*" >&2; exit 2; }

# Sizes in MiB: "512M" -> 512, "2G" -> 2048, plain numbers are MiB.
to_mib() {
    case "$1" in
        *[gG]) local n=${1%[gG]}; [[ $n =~ ^[0-9]+$ ]] || return 1; echo $((n * 1024)) ;;
        *[mM]) local n=${1%[mM]}; [[ $n =~ ^[0-9]+$ ]] || return 1; echo "$n" ;;
        *) [[ $1 =~ ^[0-9]+$ ]] || return 1; echo "$1" ;;
    esac
}

need_number() { [[ $2 =~ ^[0-9]+$ ]] || die "$1 needs a whole number, got '$2'"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --cpus) need_number --cpus "${2:-}"; cpus=$2; shift 2 ;;
        --nodes) need_number --nodes "${2:-}"; nodes=$2; shift 2 ;;
        --node-mem) node_mem=${2:-}; shift 2 ;;
        --dist) dist=${2:-}; shift 2 ;;
        --mem) mem=${2:-}; shift 2 ;;
        --cpu) cpu_model=${2:-}; shift 2 ;;
        --cmdline) cmdline=${2-}; shift 2 ;;
        --boot) boot=${2:-}; shift 2 ;;
        --linux) linux_kernel=${2:-}; shift 2 ;;
        --initrd) linux_initrd=${2:-}; shift 2 ;;
        --usb) use_usb=1; shift ;;
        --secure-boot) secure_boot=1; shift ;;
        --efi) efi=${2:-}; shift 2 ;;
        --image) image=${2:-}; shift 2 ;;
        --acpitable) acpitables+=("${2:-}"); shift 2 ;;
        --console) console=${2:-}; shift 2 ;;
        --gdb) if [[ ${2:-} =~ ^[0-9]+$ ]]; then gdb_port=$2; shift 2; else gdb_port=1234; shift; fi ;;
        --timeout) need_number --timeout "${2:-}"; timeout_s=$2; shift 2 ;;
        --log) log=${2:-}; shift 2 ;;
        --screendump) screendump=${2:-}; shift 2 ;;
        --dry-run) dry_run=1; shift ;;
        -h|--help) usage; exit 0 ;;
        --) shift; extra=("$@"); break ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done

case "$boot" in uefi|pvh) ;; *) die "--boot: '$boot' is neither uefi nor pvh" ;; esac
case "$console" in com1|com2) ;; *) die "--console: '$console' is neither com1 nor com2" ;; esac
[ "$use_usb" = 0 ] || [ "$boot" = uefi ] || die "--usb boots through UEFI: it cannot go with --boot pvh"
[ -z "$screendump" ] || [ "$boot" = uefi ] || die "--screendump needs --boot uefi (PVH has no framebuffer)"
[ "$secure_boot" = 0 ] || [ "$boot" = uefi ] || die "--secure-boot is UEFI's: it cannot go with --boot pvh"
if [ "$secure_boot" = 1 ]; then
    ovmf_code=/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd
    ovmf_vars=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
fi
[ "$cpus" -ge 1 ] || die "--cpus must be at least 1"
[ "$nodes" -ge 1 ] || die "--nodes must be at least 1"
mem_mib=$(to_mib "$mem") || die "--mem: bad size '$mem' (use e.g. 512M or 2G)"
[ "$mem_mib" -ge 256 ] || die "--mem: $mem is too small (OVMF needs at least 256M)"
[ -n "$timeout_s" ] || { [ -n "$gdb_port" ] && timeout_s=0 || timeout_s=600; }
if [ "$boot" = uefi ]; then
    [ -r "$ovmf_code" ] && [ -r "$ovmf_vars" ] || die "OVMF firmware not found in /usr/share/OVMF (run 'make deps')"
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (run 'make deps')"
if [ -n "$linux_kernel" ]; then
    [ "$use_usb" = 0 ] || die "--linux replaces -kernel: it cannot go with --usb"
    [ -r "$linux_kernel" ] || die "--linux: cannot read '$linux_kernel'"
    [ -z "$linux_initrd" ] || [ -r "$linux_initrd" ] || die "--initrd: cannot read '$linux_initrd'"
elif [ -n "$linux_initrd" ]; then
    die "--initrd goes with --linux"
elif [ "$boot" = pvh ]; then
    [ -r "$kernel_elf" ] && [ -r "$kernel_sym" ] || die "'$kernel_elf' or its .sym not found (run 'make')"
elif [ "$use_usb" = 1 ]; then
    [ -r "$image" ] || die "USB image '$image' not found (run 'make usb')"
else
    [ -r "$efi" ] || die "EFI application '$efi' not found (run 'make')"
fi
for t in "${acpitables[@]}"; do [ -r "$t" ] || die "--acpitable: cannot read '$t'"; done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ "$boot" = pvh ] || cp "$ovmf_vars" "$tmp/vars.fd"

topo=()

numa_args() {
    local sizes=() i
    if [ -n "$node_mem" ]; then
        IFS=, read -r -a sizes <<<"$node_mem"
        [ "${#sizes[@]}" = "$nodes" ] || die "--node-mem lists ${#sizes[@]} sizes for $nodes nodes"
        local total=0
        for i in "${!sizes[@]}"; do
            sizes[i]=$(to_mib "${sizes[i]}") || die "--node-mem: bad size in '$node_mem'"
            total=$((total + sizes[i]))
        done
        mem_mib=$total
    else
        local each=$((mem_mib / nodes))
        for ((i = 0; i < nodes; i++)); do sizes+=("$each"); done
        sizes[0]=$((each + mem_mib - each * nodes))
    fi
    # Sockets = nodes when CPUs split evenly; otherwise one socket per CPU.
    if [ $((cpus % nodes)) = 0 ]; then
        topo+=(-smp "$cpus,sockets=$nodes,cores=$((cpus / nodes)),threads=1")
    else
        topo+=(-smp "$cpus,sockets=$cpus,cores=1,threads=1")
    fi
    for ((i = 0; i < nodes; i++)); do
        if [ "${sizes[i]}" -gt 0 ]; then
            topo+=(-object "memory-backend-ram,id=m$i,size=${sizes[i]}M" -numa "node,nodeid=$i,memdev=m$i")
        else
            topo+=(-numa "node,nodeid=$i")
        fi
    done
    # CPUs in blocks: node n gets base (+1 for the first extra nodes).
    local base=$((cpus / nodes)) extra_cpus=$((cpus % nodes)) c=0 n k
    for ((n = 0; n < nodes; n++)); do
        local count=$base
        [ "$n" -lt "$extra_cpus" ] && count=$((base + 1))
        for ((k = 0; k < count; k++, c++)); do
            if [ $((cpus % nodes)) = 0 ]; then
                topo+=(-numa "cpu,node-id=$n,socket-id=$((c / (cpus / nodes))),core-id=$((c % (cpus / nodes)))")
            else
                topo+=(-numa "cpu,node-id=$n,socket-id=$c")
            fi
        done
    done
    if [ -n "$dist" ]; then
        local pair
        IFS=, read -r -a pairs <<<"$dist"
        for pair in "${pairs[@]}"; do
            [[ $pair =~ ^([0-9]+)-([0-9]+)=([0-9]+)$ ]] || die "--dist: bad entry '$pair' (want A-B=D)"
            topo+=(-numa "dist,src=${BASH_REMATCH[1]},dst=${BASH_REMATCH[2]},val=${BASH_REMATCH[3]}")
        done
    fi
}

if [ "$nodes" -ge 2 ]; then
    numa_args
else
    [ -z "$dist$node_mem" ] || die "--dist and --node-mem need --nodes 2 or more"
    topo+=(-smp "$cpus")
fi

# The first -serial is COM1 (0x3f8), the second COM2 (0x2f8).
serial_ports=(-serial stdio)
[ "$console" = com1 ] || serial_ports=(-serial "file:$tmp/com1" -serial stdio)

args=(qemu-system-x86_64 -machine q35 -accel tcg,thread=multi -cpu "$cpu_model"
      -m "${mem_mib}M" -display none -monitor none "${serial_ports[@]}" -no-reboot
      -device isa-debug-exit,iobase=0xf4,iosize=0x04 -net none "${topo[@]}")
# No pflash: QEMU's default SeaBIOS, which runs the PVH entry at once.
[ "$boot" = pvh ] || args+=(-drive "if=pflash,format=raw,readonly=on,file=$ovmf_code"
                            -drive "if=pflash,format=raw,file=$tmp/vars.fd")
# Secure Boot firmware keeps its variables safe from the OS only with SMM
# and a flash that only SMM may write.
[ "$secure_boot" = 0 ] || args+=(-machine smm=on -global driver=cfi.pflash01,property=secure,value=on)

for t in "${acpitables[@]}"; do args+=(-acpitable "file=$t"); done

# What was asked for, so the topology suite can check the kernel against
# it: NODES:CPUS/..:MIB/..:DISTANCES/.. (row by row). Not with injected
# tables or a numa= option, where the guest's view is the tables' own.
expected_topology() {
    local cpu_list="" mem_list="" dist_list="" i j base=$((cpus / nodes)) rest=$((cpus % nodes))
    local sizes=()
    if [ -n "$node_mem" ]; then
        IFS=, read -r -a sizes <<<"$node_mem"
        for i in "${!sizes[@]}"; do sizes[i]=$(to_mib "${sizes[i]}"); done
    else
        for ((i = 0; i < nodes; i++)); do sizes+=($((mem_mib / nodes))); done
        sizes[0]=$((mem_mib - (mem_mib / nodes) * (nodes - 1)))
    fi
    declare -A d=()
    if [ -n "$dist" ]; then
        IFS=, read -r -a pairs <<<"$dist"
        for p in "${pairs[@]}"; do
            [[ $p =~ ^([0-9]+)-([0-9]+)=([0-9]+)$ ]]
            d[${BASH_REMATCH[1]},${BASH_REMATCH[2]}]=${BASH_REMATCH[3]}
        done
    fi
    for ((i = 0; i < nodes; i++)); do
        cpu_list+="${cpu_list:+/}$((base + (i < rest ? 1 : 0)))"
        mem_list+="${mem_list:+/}${sizes[i]}"
        for ((j = 0; j < nodes; j++)); do
            local v=20
            [ "$i" = "$j" ] && v=10
            [ -n "${d[$i,$j]:-}" ] && v=${d[$i,$j]}
            [ "$i" != "$j" ] && [ -z "${d[$i,$j]:-}" ] && [ -n "${d[$j,$i]:-}" ] && v=${d[$j,$i]}
            dist_list+="${dist_list:+/}$v"
        done
    done
    echo "expect_topology=$nodes:$cpu_list:$mem_list:$dist_list"
}

if [ -z "$linux_kernel" ] && [ ${#acpitables[@]} -eq 0 ] && [[ " $cmdline " != *" numa="* ]] &&
   [[ $cmdline != *expect_topology=* ]]; then
    cmdline="${cmdline:+$cmdline }$(expected_topology)"
fi

# The screendump is taken while the kernel holds its summary up, between
# its closing line and its exit (isa-debug-exit ends QEMU at once).
if [ -n "$screendump" ]; then
    [[ " $cmdline " == *" screen_hold_ms="* ]] || cmdline="${cmdline:+$cmdline }screen_hold_ms=3000"
    args+=(-qmp "unix:$tmp/qmp.sock,server=on,wait=off")
fi

if [ -n "$linux_kernel" ]; then
    args+=(-kernel "$linux_kernel" -append "$cmdline")
    [ -z "$linux_initrd" ] || args+=(-initrd "$linux_initrd")
elif [ "$boot" = pvh ]; then
    args+=(-kernel "$kernel_elf" -initrd "$kernel_sym" -append "$cmdline")
elif [ "$use_usb" = 1 ]; then
    cp "$image" "$tmp/usb.img"
    [ -z "$cmdline" ] || "$here/tools/mkusb.sh" --set-cmdline "$tmp/usb.img" "$cmdline"
    args+=(-drive "if=none,id=D,format=raw,file=$tmp/usb.img"
           -device qemu-xhci,id=x -device usb-storage,bus=x.0,drive=D,bootindex=0)
else
    args+=(-kernel "$efi" -append "$cmdline")
fi

if [ -n "$gdb_port" ]; then
    args+=(-S -gdb "tcp::$gdb_port")
    echo "run-qemu: QEMU waits for gdb; in another terminal:" >&2
    echo "  gdb $here/build/kernel.elf -ex 'target remote localhost:$gdb_port' -ex 'hbreak kmain' -ex continue" >&2
fi
args+=("${extra[@]}")

if [ "$dry_run" = 1 ]; then
    printf '%q ' "${args[@]}"
    echo
    exit 0
fi

# The serial stream goes to stdout as it comes and to a file; the verdict
# is read from that file, never from QEMU's exit status alone: QEMU exits 1
# both for "the kernel wrote verdict 0" and for "QEMU refused to start".
serial="$tmp/serial"
: > "$serial"
status=0
if [ -n "$screendump" ]; then
    python3 "$here/tools/check-screen.py" dump --qmp "$tmp/qmp.sock" --serial "$serial" \
        --out "$tmp/screen.ppm" --timeout "$((timeout_s > 0 ? timeout_s : 86400))" &
    dump_pid=$!
fi

# OVMF's last word when every boot option failed (a refused signature, no
# bootable disk): it then waits for a key forever. Stop QEMU there instead
# of running into the timeout.
firmware_gave_up="BdsDxe: No bootable option or device was found."
stop_when_firmware_gives_up() {
    # Not a pipeline: that would wait for tail, which follows the file
    # until this script ends.
    grep -q -m1 -F "$firmware_gave_up" < <(tail -n +1 -F --pid=$$ "$serial" 2>/dev/null) || return 0
    touch "$tmp/gave_up"
    kill "$(cat "$tmp/qemu.pid")" 2>/dev/null || true
}
watcher=""
if [ "$boot" = uefi ]; then
    args+=(-pidfile "$tmp/qemu.pid")
    stop_when_firmware_gives_up < /dev/null > /dev/null 2>&1 &
    watcher=$!
fi

if [ "$timeout_s" -gt 0 ]; then
    timeout --foreground -k 5 "$timeout_s" "${args[@]}" < /dev/null | tee "$serial" || status=${PIPESTATUS[0]}
else
    "${args[@]}" | tee "$serial" || status=${PIPESTATUS[0]}
fi
[ -z "$watcher" ] || kill "$watcher" 2>/dev/null || true

# Firmware output carries ANSI escapes (OVMF clears the screen) and CRs.
clean_log() {
    sed -e 's/\x1b\[[0-9;=?]*[A-Za-z]//g' -e 's/\x1b[()][A-Z0-9]//g' -e 's/\r//g' "$1"
}
if [ -n "$log" ]; then
    mkdir -p "$(dirname "$log")"
    clean_log "$serial" > "$log"
fi
# With the console elsewhere, what COM1 said (early boot) is kept visible.
[ "$console" = com1 ] || [ ! -f "$tmp/com1" ] || clean_log "$tmp/com1" | sed 's/^/run-qemu: COM1: /' >&2

# The kernel's closing line: mmulab: done pass=N fail=N skip=N error=N verdict=V
closing=$(clean_log "$serial" | grep -a '^mmulab: done .*verdict=' | tail -n 1 || true)
verdict=${closing##*verdict=}
case "$verdict" in
    pass) code=0 ;;
    fail) code=1 ;;
    panic) code=2 ;;
    *) code="" ;;
esac

if [ -z "$code" ] && [ -e "$tmp/gave_up" ]; then
    echo "run-qemu: the firmware found nothing it may boot (\"$firmware_gave_up\"); QEMU stopped" >&2
    exit 2
fi
if [ -z "$code" ]; then
    [ -z "$screendump" ] || kill "$dump_pid" 2>/dev/null || true
    case "$status" in
        124|137) echo "run-qemu: timeout after $timeout_s s, before the kernel's closing line" >&2 ;;
        *) if [ ! -s "$serial" ]; then
               echo "run-qemu: QEMU did not start (exit status $status; its message is above)" >&2
           else
               echo "run-qemu: QEMU exited with status $status before the kernel's closing line" >&2
           fi ;;
    esac
    exit 2
fi
if [ -n "$screendump" ]; then
    wait "$dump_pid" || die "no screendump taken (tools/check-screen.py dump, above)"
    clean_log "$serial" > "$tmp/serial.clean"
    python3 "$here/tools/check-screen.py" check --screen "$tmp/screen.ppm" \
        --serial "$tmp/serial.clean" --png "$screendump" ||
        die "the screen ($screendump) does not show the run's summary (check-screen, above)"
fi
# isa-debug-exit makes QEMU exit with (verdict << 1) | 1. With
# on_done=poweroff or reboot the guest ends QEMU itself: an ACPI power-off,
# or a reset that -no-reboot turns into an exit, both status 0.
expected_status=$((code * 2 + 1))
case " $cmdline " in *" on_done=poweroff "*|*" on_done=reboot "*) expected_status=0 ;; esac
[ -z "$linux_kernel" ] || expected_status=0
if [ "$status" != "$expected_status" ]; then
    echo "run-qemu: the kernel's closing line says verdict=$verdict but QEMU exited with status $status" >&2
    exit 2
fi
exit "$code"
