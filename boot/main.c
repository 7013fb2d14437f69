/*
 * The UEFI stage: the only code that calls firmware. It gathers what the
 * kernel needs (command line, RSDP, framebuffer, memory map), places the
 * embedded kernel ELF, builds bootstrap page tables, leaves boot services and
 * jumps to the kernel with a struct boot_info. See docs/ARCHITECTURE.md.
 */

#include <efi.h>
#include <efilib.h>

#include "boot.h"

static EFI_HANDLE image_handle;
static struct boot_info *info;

/* Under QEMU the run ends at once with the panic verdict (the runner's
 * isa-debug-exit device), instead of the boot manager trying every other
 * boot option until the runner's timeout. */
static void exit_qemu_on_failure(void)
{
	u32 eax, ebx, ecx, edx;

	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
	if (!(ecx & (1U << 31)))
		return; /* bare metal: the I/O port may belong to something else */
	asm volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(0x40000000), "c"(0));
	if (ebx == 0x54474354 /* "TCGT" */ || ebx == 0x4b4d564b /* "KVMK" */)
		asm volatile("outl %0, %1" ::"a"(2), "Nd"(0xf4));
}

void boot_fail(const CHAR16 *what, EFI_STATUS status)
{
	Print(L"mmulab: boot: %s failed: %r\r\n", what, status);
	Print(L"mmulab: PANIC: the UEFI stage could not start the kernel\r\n");
	exit_qemu_on_failure();
	/* Give a person at the console time to read it, then return to firmware. */
	uefi_call_wrapper(BS->Stall, 1, 5 * 1000 * 1000);
	uefi_call_wrapper(BS->Exit, 4, image_handle, status, 0, NULL);
	for (;;)
		;
}

void *boot_alloc_pages(u64 pages, enum boot_reserved_kind kind)
{
	EFI_PHYSICAL_ADDRESS addr = 0;
	EFI_STATUS status = uefi_call_wrapper(BS->AllocatePages, 4, AllocateAnyPages,
					      EfiLoaderData, pages, &addr);
	if (EFI_ERROR(status))
		boot_fail(L"AllocatePages", status);
	SetMem((void *)addr, pages * EFI_PAGE_SIZE, 0);
	if (info) {
		if (info->reserved_count == BOOT_RESERVED_MAX)
			boot_fail(L"boot_info reserved list (full)", EFI_OUT_OF_RESOURCES);
		info->reserved[info->reserved_count++] = (struct boot_reserved){
			.phys = addr, .size = pages * EFI_PAGE_SIZE, .kind = kind,
		};
	}
	return (void *)addr;
}

static void find_rsdp(void)
{
	static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	static EFI_GUID acpi10 = ACPI_TABLE_GUID;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (CompareGuid(&t->VendorGuid, &acpi20) == 0) {
			info->rsdp = (paddr_t)t->VendorTable;
			info->rsdp_revision = 2;
			return;
		}
		if (CompareGuid(&t->VendorGuid, &acpi10) == 0 && !info->rsdp) {
			info->rsdp = (paddr_t)t->VendorTable;
			info->rsdp_revision = 0;
		}
	}
}

static void record_framebuffer(void)
{
	static EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;

	if (EFI_ERROR(uefi_call_wrapper(BS->LocateProtocol, 3, &gop_guid, NULL, (void **)&gop)))
		return; /* headless: fb stays zero */
	info->fb = (struct boot_framebuffer){
		.base = gop->Mode->FrameBufferBase,
		.size = gop->Mode->FrameBufferSize,
		.width = gop->Mode->Info->HorizontalResolution,
		.height = gop->Mode->Info->VerticalResolution,
		.pixels_per_line = gop->Mode->Info->PixelsPerScanLine,
		.format = gop->Mode->Info->PixelFormat,
	};
}

/* A log taken from a Secure Boot machine says so: the firmware verified
 * this image's signature before starting it. */
static void report_secure_boot(void)
{
	static EFI_GUID global = EFI_GLOBAL_VARIABLE;
	UINT8 enabled = 0;
	UINTN size = sizeof(enabled);
	EFI_STATUS status = uefi_call_wrapper(RT->GetVariable, 5, L"SecureBoot", &global, NULL,
					      &size, &enabled);

	if (!EFI_ERROR(status) && size == 1 && enabled == 1)
		Print(L"mmulab: uefi: Secure Boot on\r\n");
}

static void print_summary(void)
{
	Print(L"mmulab: boot: cmdline (%a): \"%a\"\r\n",
	      info->cmdline_source == BOOT_CMDLINE_FILE ? "file" :
	      info->cmdline_source == BOOT_CMDLINE_LOAD_OPTIONS ? "load options" : "none",
	      info->cmdline);
	Print(L"mmulab: boot: kernel P0x%lx..P0x%lx at V0x%lx, rsdp P0x%lx\r\n",
	      info->kernel_phys, info->kernel_phys + info->kernel_size, info->kernel_virt,
	      info->rsdp);
}

/* Called by GNU-EFI's crt0 with the System V calling convention. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	InitializeLib(image, systab);
	image_handle = image;

	info = boot_alloc_pages(EFI_SIZE_TO_PAGES(sizeof(*info)), BOOT_RES_BOOT_INFO);
	info->magic = BOOT_INFO_MAGIC;
	info->version = BOOT_INFO_VERSION;
	info->reserved[0] = (struct boot_reserved){
		.phys = (paddr_t)info, .size = ALIGN_UP(sizeof(*info), EFI_PAGE_SIZE),
		.kind = BOOT_RES_BOOT_INFO,
	};
	info->reserved_count = 1;

	report_secure_boot();
	read_cmdline(image, info);
	find_rsdp();
	record_framebuffer();
	vaddr_t entry = load_kernel(info);
	copy_symbols(info);
	u64 cr3 = build_bootstrap_tables(info);
	print_summary();

	exit_boot_services(image, info);
	enter_kernel(cr3, entry, info);
}
