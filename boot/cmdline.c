/*
 * The kernel command line comes from the image's LoadOptions (QEMU
 * `-kernel BOOTX64.EFI -append "..."`) or, when there are none, from
 * CMDLINE.TXT in the directory BOOTX64.EFI was loaded from (USB boot).
 */

#include <efi.h>
#include <efilib.h>

#include "boot.h"

#define CMDLINE_FILE L"CMDLINE.TXT"

static bool is_text_char(u32 c)
{
	return c == '\t' || c == '\n' || c == '\r' || (c >= 0x20 && c < 0x7f);
}

/* Copies text into cmdline with line breaks folded to spaces and the ends
 * trimmed. Returns false for anything that is not plain ASCII text: boot
 * managers may pass binary option data that is not a command line. */
static bool store_cmdline(struct boot_info *info, const void *text, u64 count, u32 char_size)
{
	u64 n = 0;

	for (u64 i = 0; i < count; i++) {
		u32 c = char_size == 2 ? ((const u16 *)text)[i] : ((const u8 *)text)[i];
		if (c == 0)
			break;
		if (!is_text_char(c))
			return false;
		if (n == BOOT_CMDLINE_MAX - 1) {
			Print(L"mmulab: boot: command line longer than %d bytes, cut\r\n",
			      BOOT_CMDLINE_MAX - 1);
			break;
		}
		info->cmdline[n++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : (char)c;
	}
	while (n > 0 && info->cmdline[n - 1] == ' ')
		n--;
	info->cmdline[n] = 0;
	u64 skip = 0;
	while (info->cmdline[skip] == ' ')
		skip++;
	CopyMem(info->cmdline, info->cmdline + skip, n - skip + 1);
	return info->cmdline[0] != 0;
}

/* The directory part of the loaded image's file path, with a trailing '\'. */
static void image_directory(EFI_LOADED_IMAGE *loaded, CHAR16 *dir, UINTN max)
{
	CHAR16 *path = loaded->FilePath ? DevicePathToStr(loaded->FilePath) : NULL;
	UINTN last = 0;

	StrCpy(dir, L"\\EFI\\BOOT\\");
	if (!path)
		return;
	for (UINTN i = 0; path[i]; i++)
		if (path[i] == L'\\')
			last = i + 1;
	if (path[0] == L'\\' && last > 0 && last + StrLen(CMDLINE_FILE) < max) {
		CopyMem(dir, path, last * sizeof(CHAR16));
		dir[last] = 0;
	}
	FreePool(path);
}

static bool read_cmdline_file(EFI_LOADED_IMAGE *loaded, struct boot_info *info)
{
	CHAR16 path[256];
	char buf[BOOT_CMDLINE_MAX];
	EFI_FILE_HANDLE root, file;
	UINTN size = sizeof(buf);

	root = LibOpenRoot(loaded->DeviceHandle);
	if (!root)
		return false;
	image_directory(loaded, path, ARRAY_SIZE(path));
	StrCat(path, CMDLINE_FILE);
	if (EFI_ERROR(uefi_call_wrapper(root->Open, 5, root, &file, path, EFI_FILE_MODE_READ, 0)))
		return false;
	EFI_STATUS status = uefi_call_wrapper(file->Read, 3, file, &size, buf);
	uefi_call_wrapper(file->Close, 1, file);
	if (EFI_ERROR(status))
		return false;
	if (size > 0 && !store_cmdline(info, buf, size, 1)) {
		Print(L"mmulab: boot: %s is not plain ASCII text, ignored\r\n", path);
		info->cmdline[0] = 0;
	}
	return true;
}

void read_cmdline(EFI_HANDLE image, struct boot_info *info)
{
	static EFI_GUID loaded_guid = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *loaded;

	if (EFI_ERROR(uefi_call_wrapper(BS->HandleProtocol, 3, image, &loaded_guid,
					(void **)&loaded)))
		boot_fail(L"HandleProtocol(LoadedImage)", EFI_UNSUPPORTED);

	if (loaded->LoadOptionsSize >= 2 &&
	    store_cmdline(info, loaded->LoadOptions, loaded->LoadOptionsSize / 2, 2)) {
		info->cmdline_source = BOOT_CMDLINE_LOAD_OPTIONS;
		return;
	}
	info->cmdline[0] = 0;
	if (read_cmdline_file(loaded, info))
		info->cmdline_source = BOOT_CMDLINE_FILE;
}
