/* Probes and scratch mappings for the in-kernel tests (see probe.h). */

#include "probe.h"
#include <mmulab/kernel.h>
#include <mmulab/mm.h>
#include <mmulab/pgtable.h>
#include <mmulab/string.h>
#include <arch/cpu.h>

void enter_user(vaddr_t rip, vaddr_t rsp, u64 arg) __noreturn;

/* User code and stack for probe_user live at fixed test addresses. */
#define USER_CODE_VA (TEST_AREA_BASE + 0x7f000000ULL)
#define USER_STACK_VA (USER_CODE_VA + PAGE_SIZE)

struct access {
	vaddr_t va;
	u8 value;
};

static void do_read(void *arg)
{
	struct access *a = arg;
	a->value = *(volatile u8 *)a->va;
}

static void do_write(void *arg)
{
	struct access *a = arg;
	*(volatile u8 *)a->va = a->value;
}

static void do_exec(void *arg)
{
	struct access *a = arg;
	((void (*)(void))a->va)();
}

static void do_read_stac(void *arg)
{
	user_access_begin();
	do_read(arg);
	user_access_end();
}

struct fault_info probe_read(vaddr_t va, u8 *value)
{
	struct access a = { va, 0 };
	struct fault_info f = run_catching_faults(do_read, &a);
	if (value)
		*value = a.value;
	return f;
}

struct fault_info probe_read_stac(vaddr_t va, u8 *value)
{
	struct access a = { va, 0 };
	struct fault_info f = run_catching_faults(do_read_stac, &a);
	if (value)
		*value = a.value;
	return f;
}

static void do_write_stac(void *arg)
{
	user_access_begin();
	do_write(arg);
	user_access_end();
}

struct fault_info probe_write_stac(vaddr_t va, u8 value)
{
	struct access a = { va, value };
	return run_catching_faults(do_write_stac, &a);
}

struct access64 {
	vaddr_t va;
	u64 value;
};

static void do_read64(void *arg)
{
	struct access64 *a = arg;
	user_access_begin();
	a->value = *(volatile u64 *)a->va;
	user_access_end();
}

static void do_write64(void *arg)
{
	struct access64 *a = arg;
	user_access_begin();
	*(volatile u64 *)a->va = a->value;
	user_access_end();
}

struct fault_info user_read64(vaddr_t va, u64 *value)
{
	struct access64 a = { va, 0 };
	struct fault_info f = run_catching_faults(do_read64, &a);
	*value = a.value;
	return f;
}

struct fault_info user_write64(vaddr_t va, u64 value)
{
	struct access64 a = { va, value };
	return run_catching_faults(do_write64, &a);
}

struct fault_info probe_write(vaddr_t va, u8 value)
{
	struct access a = { va, value };
	return run_catching_faults(do_write, &a);
}

struct fault_info probe_exec(vaddr_t va)
{
	struct access a = { va, 0 };
	return run_catching_faults(do_exec, &a);
}

/* movabs rax, target; then the access; then ud2. */
static size_t emit_user_code(u8 *code, enum user_access a, vaddr_t target)
{
	static const u8 access_bytes[][2] = {
		[USER_READ] = { 0x8a, 0x00 },  /* mov al, [rax] */
		[USER_WRITE] = { 0x88, 0x00 }, /* mov [rax], al */
		[USER_EXEC] = { 0xff, 0xe0 },  /* jmp rax */
	};
	size_t n = 0;

	code[n++] = 0x48;
	code[n++] = 0xb8;
	memcpy(code + n, &target, 8);
	n += 8;
	code[n++] = access_bytes[a][0];
	code[n++] = access_bytes[a][1];
	code[n++] = 0x0f; /* ud2 */
	code[n++] = 0x0b;
	return n;
}

static void run_user(void *arg)
{
	(void)arg;
	enter_user(USER_CODE_VA, USER_STACK_VA + PAGE_SIZE, 0);
}

struct fault_info probe_user(enum user_access a, vaddr_t target)
{
	static paddr_t code_frame, stack_frame;

	if (!code_frame) {
		code_frame = test_frame();
		stack_frame = test_frame();
	}
	emit_user_code(frame_va(code_frame), a, target);
	test_map(USER_CODE_VA, code_frame, VM_READ | VM_EXEC | VM_USER);
	test_map(USER_STACK_VA, stack_frame, VM_READ | VM_WRITE | VM_USER);
	return run_catching_faults(run_user, NULL);
}

void test_map_raw(vaddr_t va, u64 entry)
{
	set_pte(pt_pte_alloc(kernel_root(), va), __pte(entry));
	invlpg(va);
}

void test_map(vaddr_t va, paddr_t pa, enum vm_prot prot)
{
	test_map_raw(va, pte_val(pte_mkleaf(pa, pt_leaf_bits(prot))));
}

void test_unmap(vaddr_t va)
{
	test_map_raw(va, 0);
}

paddr_t test_frame(void)
{
	return kernel_frame_alloc();
}

void *frame_va(paddr_t pa)
{
	return phys_to_virt(pa);
}
