# mmulab: build the kernel, the UEFI stage that carries it, the USB image,
# and run the tests. `make help` lists the targets.

BUILD := build
CC := gcc
NASM := nasm
PYTHON := python3

WARN := -Wall -Wextra -Werror
INCLUDES := -Iinclude -Iarch/x86/include

# The kernel: freestanding, higher half (-mcmodel=kernel), no red zone (the
# CPU pushes trap frames onto the interrupted stack), no SSE (no FPU state
# is saved on traps), frame pointers kept for backtraces.
KCFLAGS := -std=gnu11 -O2 -g $(WARN) $(INCLUDES) -ffreestanding -fno-pic -fno-pie \
	-mcmodel=kernel -mno-red-zone -mgeneral-regs-only -fno-stack-protector \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer \
	-fno-asynchronous-unwind-tables -fcf-protection=none -MMD -MP
KLDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none -z max-page-size=4096 -z noexecstack -T linker.ld

# Every tests/kernel/*.c is built, so a new suite is one new file. Link
# order is run order: these first, as listed, then any other in name order.
KERNEL_TESTS_ORDERED := \
	tests/kernel/probe.c tests/kernel/harness_selftest.c tests/kernel/paging.c \
	tests/kernel/boot_info.c tests/kernel/page_alloc.c tests/kernel/smp.c tests/kernel/tlb.c \
	tests/kernel/mm_basic.c tests/kernel/audit.c tests/kernel/cow.c tests/kernel/pin.c \
	tests/kernel/vmalloc_sync.c tests/kernel/user.c tests/kernel/topology.c \
	tests/kernel/numa_hint.c tests/kernel/numa_protnone.c tests/kernel/numa_cow_pin.c \
	tests/kernel/numa_race.c tests/kernel/numa_bench.c tests/kernel/live.c \
	tests/kernel/mm_walk.c
KERNEL_TESTS := $(KERNEL_TESTS_ORDERED) \
	$(filter-out $(KERNEL_TESTS_ORDERED),$(sort $(wildcard tests/kernel/*.c)))
KERNEL_SRCS := \
	arch/x86/acpi_tables.c arch/x86/apic.c arch/x86/cpu.c arch/x86/desc.c arch/x86/fault.c \
	arch/x86/power.c \
	arch/x86/pv_mmu.c arch/x86/pvh.c arch/x86/pvh_info.c arch/x86/serial.c \
	arch/x86/smp.c arch/x86/trap.c arch/x86/tsc.c \
	kernel/backtrace.c kernel/bugs.c kernel/cmdline.c kernel/fault.c kernel/fbcon.c kernel/format.c \
	kernel/glob.c kernel/idle.c kernel/log.c kernel/main.c kernel/numa.c kernel/panic.c kernel/percpu.c \
	kernel/smp.c \
	kernel/lockdep.c kernel/spinlock.c kernel/string.c kernel/symbols.c kernel/task.c kernel/test.c kernel/topology.c kernel/watchdog.c \
	mm/audit.c mm/bootmem.c mm/fault.c mm/gup.c mm/huge_memory.c mm/kmap.c mm/kstack.c mm/memblock.c mm/memory.c mm/migrate.c mm/mm.c mm/numa_balance.c mm/page_alloc.c mm/pgt_buf.c mm/pv_mode.c mm/pgtable.c mm/ptdump.c mm/ptlock.c mm/tlb.c mm/vma.c mm/vmalloc.c \
	$(KERNEL_TESTS)
KERNEL_ASMS := arch/x86/entry.asm arch/x86/head.asm arch/x86/jump.asm arch/x86/pvh_entry.asm \
	$(wildcard tests/kernel/*.asm)
KERNEL_OBJS := $(KERNEL_SRCS:%.c=$(BUILD)/%.o) $(KERNEL_ASMS:%.asm=$(BUILD)/%.o) \
	$(BUILD)/arch/x86/trampoline_blob.o $(BUILD)/font/fbcon_font.o

# The screen console's font: Terminus Bold 8x16 from Debian's
# console-setup-linux (SIL OFL 1.1, third_party/terminus/LICENSE),
# converted to C at build time; tools/check-screen.py reads the same file.
FONT_PSF := /usr/share/consolefonts/Lat15-TerminusBold16.psf.gz

# The UEFI stage: GNU-EFI, position independent, MS calling convention.
EFI_INC := /usr/include/efi
EFI_LIB := /usr/lib
EFI_CFLAGS := -std=gnu11 -O2 $(WARN) -Iinclude -I$(EFI_INC) -I$(EFI_INC)/x86_64 \
	-ffreestanding -fpic -fshort-wchar -fno-stack-protector -fno-strict-aliasing \
	-mno-red-zone -maccumulate-outgoing-args -mgeneral-regs-only \
	-DGNU_EFI_USE_MS_ABI -MMD -MP
EFI_LDFLAGS := -nostdlib -znocombreloc -shared -Bsymbolic -T $(EFI_LIB)/elf_x86_64_efi.lds \
	-L$(EFI_LIB) $(EFI_LIB)/crt0-efi-x86_64.o
BOOT_SRCS := boot/main.c boot/cmdline.c boot/load.c boot/pagetables.c boot/exit.c
BOOT_OBJS := $(BOOT_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/boot/blobs.o

# Host unit tests: the kernel's pure code compiled for Linux, with sanitizers.
HOST_CFLAGS := -std=gnu11 -O1 -g $(WARN) $(INCLUDES) -DMMULAB_HOST -fsanitize=address,undefined \
	-fno-omit-frame-pointer -fno-sanitize-recover=all -MMD -MP
HOST_SRCS := tests/host/main.c tests/host/test_format.c tests/host/test_glob.c \
	tests/host/test_cmdline.c tests/host/test_symbols.c tests/host/test_memblock.c tests/host/test_vma.c \
	tests/host/test_pgtable.c tests/host/test_acpi.c tests/host/test_pvh.c tests/host/test_limits.c \
	kernel/format.c kernel/glob.c kernel/cmdline.c kernel/symbols.c mm/memblock.c mm/vma.c mm/pgtable.c \
	arch/x86/acpi_tables.c arch/x86/pvh_info.c kernel/topology.c
HOST_OBJS := $(HOST_SRCS:%.c=$(BUILD)/host/%.o)

# The ACPI fuzzer (clang's libFuzzer). Its corpus is kept in the repository
# (tests/fuzz/make_seeds.py writes it from tests/data).
FUZZ_SRCS := tests/fuzz/fuzz_acpi.c arch/x86/acpi_tables.c kernel/topology.c kernel/format.c
FUZZ_SEEDS := tests/fuzz/seeds
FUZZ_SECONDS ?= 300

FORCE:
.PHONY: FORCE all run check bench bench-linux mutate usb host-test fuzz deps clean help lava-check
all: $(BUILD)/BOOTX64.EFI

help:
	@echo "make          build build/BOOTX64.EFI (kernel inside) and build/kernel.elf"
	@echo "make run      boot the default configuration in QEMU and run every suite"
	@echo "make check    host unit tests + the QEMU matrix (tests/matrix.conf)"
	@echo "make host-test  only the host unit tests"
	@echo "make usb      build/mmulab-usb.img, a GPT disk image to dd onto a USB stick"
	@echo "              (SIGN_KEY=key.pem SIGN_CERT=cert.pem: BOOTX64.EFI signed for Secure Boot)"
	@echo "make fuzz     run the ACPI fuzzer (FUZZ_SECONDS, default 300)"
	@echo "make lava-check  run the LAVA qemu job with lava-run, compare its results with the KTAP (root)"
	@echo "make bench    the fault-cost figures (# bench: lines)"
	@echo "make mutate   plant each mistake of tests/mutations.txt, report which test kills it"
	@echo "              (MUTATIONS=id,id a subset; MUTATE_TIMEOUT=s per QEMU run)"
	@echo "make clean    remove build/"

deps:
	@tools/install-deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/%.o: %.asm
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -g -F dwarf $< -o $@

# The AP trampoline runs at a fixed low address: a flat binary, carried
# in the kernel as data.
$(BUILD)/arch/x86/trampoline.bin: arch/x86/trampoline.asm
	@mkdir -p $(dir $@)
	$(NASM) -f bin $< -o $@

$(BUILD)/arch/x86/trampoline_blob.o: arch/x86/trampoline_blob.asm $(BUILD)/arch/x86/trampoline.bin
	$(NASM) -f elf64 -DTRAMPOLINE_BIN='"$(BUILD)/arch/x86/trampoline.bin"' $< -o $@

# A missing font is reported by psf2c.py by name, with the package to install.
$(BUILD)/font/fbcon_font.c: tools/psf2c.py $(wildcard $(FONT_PSF))
	@mkdir -p $(dir $@)
	$(PYTHON) tools/psf2c.py $(FONT_PSF) $@

$(BUILD)/font/fbcon_font.o: $(BUILD)/font/fbcon_font.c
	$(CC) $(KCFLAGS) -c $< -o $@

# The object list as a file, rewritten only when it changes: a suite file
# deleted from tests/kernel/ must relink the kernel without it.
$(BUILD)/kernel.objs: FORCE
	@mkdir -p $(dir $@)
	@echo '$(KERNEL_OBJS)' | cmp -s - $@ || echo '$(KERNEL_OBJS)' > $@

$(BUILD)/kernel.elf: $(KERNEL_OBJS) linker.ld $(BUILD)/kernel.objs
	$(CC) $(KLDFLAGS) $(KERNEL_OBJS) -o $@ -lgcc

# The symbol table for backtraces: code symbols, sorted by address.
$(BUILD)/kernel.sym: $(BUILD)/kernel.elf
	nm -n $< | grep -E '^[0-9a-f]+ [tTwW] ' > $@

$(BUILD)/kernel.stripped.elf: $(BUILD)/kernel.elf
	objcopy --strip-debug $< $@

$(BUILD)/boot/%.o: boot/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EFI_CFLAGS) -c $< -o $@

$(BUILD)/boot/blobs.o: boot/blobs.asm $(BUILD)/kernel.stripped.elf $(BUILD)/kernel.sym
	@mkdir -p $(dir $@)
	$(NASM) -f elf64 -DKERNEL_ELF='"$(BUILD)/kernel.stripped.elf"' \
		-DKERNEL_SYMS='"$(BUILD)/kernel.sym"' $< -o $@

$(BUILD)/boot/bootx64.so: $(BOOT_OBJS)
	ld $(EFI_LDFLAGS) $(BOOT_OBJS) -o $@ -lefi -lgnuefi

$(BUILD)/BOOTX64.EFI: $(BUILD)/boot/bootx64.so
	objcopy -j .text -j .sdata -j .data -j .rodata -j .dynamic -j .dynsym -j .rel \
		-j .rela -j .rel.* -j .rela.* -j .reloc --target efi-app-x86_64 \
		--subsystem=10 $< $@

# Secure Boot: with SIGN_KEY and SIGN_CERT (PEM, key unencrypted) the
# image's BOOTX64.EFI is signed with sbsign. The stamp names the signer, so
# switching between signed and unsigned remakes the image.
USB_SIGNER := $(if $(SIGN_KEY)$(SIGN_CERT),$(SIGN_KEY) $(SIGN_CERT),unsigned)
$(BUILD)/usb-signer: FORCE
	@mkdir -p $(dir $@)
	@echo '$(USB_SIGNER)' | cmp -s - $@ || echo '$(USB_SIGNER)' > $@

$(BUILD)/mmulab-usb.img: $(BUILD)/BOOTX64.EFI tools/mkusb.sh $(BUILD)/usb-signer
	@[ -z "$(SIGN_KEY)$(SIGN_CERT)" ] || [ -n "$(SIGN_KEY)" -a -n "$(SIGN_CERT)" ] || \
		{ echo "make usb: signing needs both SIGN_KEY and SIGN_CERT" >&2; exit 1; }
	tools/mkusb.sh $(if $(SIGN_KEY),--sign $(SIGN_KEY) $(SIGN_CERT)) $@ $< ""

# The matrix's Secure Boot run: the image signed with the snakeoil key that
# Debian's OVMF_VARS_4M.snakeoil.fd enrols. The key's passphrase is
# "snakeoil", which sbsign cannot take: a decrypted copy is kept here in
# the build folder (a test key, published with the package; never in the
# repository).
SNAKEOIL := /usr/share/ovmf/PkKek-1-snakeoil
$(BUILD)/snakeoil.key: $(SNAKEOIL).key
	@mkdir -p $(dir $@)
	(umask 077; openssl pkey -in $< -passin pass:snakeoil -out $@)

$(BUILD)/mmulab-usb-snakeoil.img: $(BUILD)/BOOTX64.EFI tools/mkusb.sh $(BUILD)/snakeoil.key
	tools/mkusb.sh --sign $(BUILD)/snakeoil.key $(SNAKEOIL).pem $@ $< ""

usb: deps
	$(MAKE) $(BUILD)/mmulab-usb.img

$(BUILD)/host/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -c $< -o $@

$(BUILD)/host/unit-tests: $(HOST_OBJS)
	$(CC) $(HOST_CFLAGS) $^ -o $@

$(BUILD)/fuzz/fuzz_acpi: $(FUZZ_SRCS)
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 $(WARN) $(INCLUDES) -DMMULAB_HOST \
		-fsanitize=fuzzer,address,undefined $(FUZZ_SRCS) -o $@

fuzz: deps
	$(MAKE) $(BUILD)/fuzz/fuzz_acpi
	tools/run-fuzz.sh $(BUILD)/fuzz/fuzz_acpi $(FUZZ_SECONDS) $(FUZZ_SEEDS)

host-test: $(BUILD)/host/unit-tests
	$<

# run and check install what is missing first, then build (a separate make,
# so nothing compiles before the compiler is there).
run: deps
	$(MAKE) all
	./run-qemu.sh

check: deps
	$(MAKE) all $(BUILD)/mmulab-usb.img $(BUILD)/mmulab-usb-snakeoil.img $(BUILD)/host/unit-tests $(BUILD)/fuzz/fuzz_acpi
	$(PYTHON) -m unittest discover -s tests -p 'test_*.py' -q
	$(PYTHON) tests/matrix.py --out $(BUILD)/check

# Every bench configuration booted one after another, then the figures in
# build/bench/results.{json,md} and the plots in build/bench/plots/
# (tools/bench_run.py says which configurations and why).
bench: deps
	$(MAKE) all
	$(PYTHON) tools/bench_run.py

# Debian's stock cloud kernel (fetched with apt-get download, not
# installed) booted by run-qemu.sh --linux as tools/bench_run.py boots "main",
# with tools/linux-bench/init.c as its init: the same operations from user
# space, as linux_* "# bench:" lines beside ours in build/bench/.
LINUX_DIR = $(BUILD)/linux
BENCH_LINUX = --nodes 2 --cpus 2 --mem 2G --linux $(LINUX_DIR)/vmlinuz --initrd $(LINUX_DIR)/initramfs.cpio.gz \
	--cmdline "console=ttyS0 quiet numa_balancing=enable"
$(LINUX_DIR)/vmlinuz: tools/linux-bench/fetch-kernel.sh
	tools/linux-bench/fetch-kernel.sh $(LINUX_DIR)
$(LINUX_DIR)/initramfs.cpio.gz: tools/linux-bench/init.c
	@mkdir -p $(LINUX_DIR)/initramfs
	$(CC) -static -O2 -Wall -Wextra -pthread -o $(LINUX_DIR)/initramfs/init $<
	cd $(LINUX_DIR)/initramfs && echo init | cpio -o -H newc --quiet | gzip -9 >../initramfs.cpio.gz
bench-linux: deps
	@tools/install-deps.sh --linux-bench
	$(MAKE) $(LINUX_DIR)/vmlinuz $(LINUX_DIR)/initramfs.cpio.gz
	./run-qemu.sh $(BENCH_LINUX) --log $(BUILD)/bench-linux.log >/dev/null
	@grep '# bench:' $(BUILD)/bench-linux.log | sed 's/^ *# //'
	$(PYTHON) tools/bench_collect.py --out $(BUILD)/bench/linux \
		--run linux $(BUILD)/bench-linux.log '$(BENCH_LINUX)'" ($$(cat $(LINUX_DIR)/kernel.txt))"
	@if [ -f $(BUILD)/bench/results.json ]; then \
		$(PYTHON) tools/bench_collect.py --out $(BUILD)/bench --json $(BUILD)/bench/results.json \
			--json $(BUILD)/bench/linux/results.json && \
		$(PYTHON) tools/bench_plot.py $(BUILD)/bench/results.json $(BUILD)/bench/plots; \
	else echo "bench-linux: run make bench for the mmulab column beside it"; fi

# The LAVA job (tools/lava/) run here by Debian's lava-dispatcher, its
# results compared with the KTAP the same boot printed.
lava-check: deps
	@tools/install-deps.sh --lava
	$(MAKE) all $(BUILD)/mmulab-usb.img
	tools/lava/lava-check.sh

# Mutation testing (tools/mutate.py): slow, not part of check; check only
# verifies that the list still applies and compiles (tests/matrix.conf).
MUTATE_TIMEOUT ?= 300
mutate: deps
	$(PYTHON) tools/mutate.py --timeout $(MUTATE_TIMEOUT) $(if $(MUTATIONS),--only $(MUTATIONS))

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
