/*
 * Frame-pointer backtraces (the kernel is built with frame pointers). Every
 * frame address is checked against the known stacks before it is read, so
 * a corrupt chain ends the trace instead of faulting in the panic path.
 */

#include <mmulab/backtrace.h>
#include <mmulab/log.h>
#include <mmulab/symbols.h>
#include <mmulab/kstack.h>

#define MAX_FRAMES 32

extern const char __text_start[], __text_end[];

static bool is_kernel_text(vaddr_t addr)
{
	return addr >= (vaddr_t)__text_start && addr < (vaddr_t)__text_end;
}

static void print_frame(vaddr_t addr, const char *prefix)
{
	char sym[128];

	symbolize(addr, sym, sizeof(sym));
	printk("%s  [V0x%016lx] %s\n", prefix, addr, sym);
}

void backtrace(vaddr_t rip, vaddr_t rbp, const char *prefix)
{
	printk("%sCall Trace:\n", prefix);
	print_frame(rip, prefix);
	for (int depth = 0; depth < MAX_FRAMES; depth++) {
		if (rbp == 0 || (rbp & 7) || !kstack_contains(rbp, 16))
			return;
		vaddr_t next = ((vaddr_t *)rbp)[0];
		vaddr_t ret = ((vaddr_t *)rbp)[1];
		if (!is_kernel_text(ret))
			return;
		print_frame(ret, prefix);
		if (next <= rbp)
			return;
		rbp = next;
	}
	printk("%s  ... (more frames)\n", prefix);
}
