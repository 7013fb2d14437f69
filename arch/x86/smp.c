/*
 * Starting the secondary CPUs. The trampoline (trampoline.asm) is copied
 * to TRAMPOLINE_BASE; it needs a page table below 4 GiB (CR3 is loaded in
 * 32-bit mode) that identity-maps itself: TRAMPOLINE_PML4 and two tables
 * after it, all in the low megabyte memblock keeps reserved, with the
 * kernel half copied from the kernel's own top level. Each AP switches to
 * the kernel's tables at once in ap_entry.
 */

#include <mmulab/kernel.h>
#include <mmulab/kstack.h>
#include <mmulab/mm.h>
#include <mmulab/percpu.h>
#include <mmulab/pgtable.h>
#include <mmulab/smp.h>
#include <mmulab/string.h>
#include <arch/apic.h>
#include <arch/cpu.h>
#include <arch/desc.h>
#include <arch/trap.h>
#include <arch/tsc.h>
#include <mmulab/timer.h>
#include <mmulab/tlb.h>

#define TRAMPOLINE_BASE 0x8000ULL
#define TRAMPOLINE_PML4 0x9000ULL
#define TRAMPOLINE_PDPT 0xa000ULL
#define TRAMPOLINE_PD 0xb000ULL
#define AP_START_TIMEOUT_US 1000000

extern const u8 trampoline_start[], trampoline_end[];

/* The last 32 bytes of the trampoline (its `params` block). */
struct trampoline_params {
	u64 cr3, stack, cpu, entry;
};

static struct trampoline_params *install_trampoline(void)
{
	size_t size = trampoline_end - trampoline_start;
	pgd_t *pml4 = phys_to_virt(TRAMPOLINE_PML4);
	pud_t *pdpt = phys_to_virt(TRAMPOLINE_PDPT);
	pmd_t *pd = phys_to_virt(TRAMPOLINE_PD);

	ASSERT(size >= sizeof(struct trampoline_params) && size <= TRAMPOLINE_PML4 - TRAMPOLINE_BASE);
	memcpy(phys_to_virt(TRAMPOLINE_BASE), trampoline_start, size);
	pt_table_clear(pml4);
	pt_table_clear(pdpt);
	pt_table_clear(pd);
	/* Tables before the entries that point at them (the read-only mode
	 * validates each entry against the table it names). */
	pt_table_pin(TRAMPOLINE_PD, PT_L2);
	pt_table_pin(TRAMPOLINE_PDPT, PT_L3);
	pt_table_pin(TRAMPOLINE_PML4, PT_L4);
	/* The trampoline only reads and runs its own page, and the page
	 * tables themselves lie here: no writable identity mapping. */
	set_pmd(&pd[0], pmd_mkhuge(0, _PAGE_PRESENT));
	set_pud(&pdpt[0], pud_mktable(TRAMPOLINE_PD));
	set_pgd(&pml4[0], pgd_mktable(TRAMPOLINE_PDPT));
	pgd_copy_range(pml4, phys_to_virt(kernel_root()), PT_ENTRIES / 2, PT_ENTRIES / 2);
	return (struct trampoline_params *)phys_to_virt(TRAMPOLINE_BASE + size -
							 sizeof(struct trampoline_params));
}

static void __noreturn ap_entry(struct cpu *cpu)
{
	pt_load_root(kernel_root());
	cpu_enable_protections();
	desc_init_cpu(cpu);
	percpu_install(cpu);
	trap_load_idt();
	desc_init_stacks(cpu);
	apic_init_ap();
	timer_start_this_cpu();
	cpumask_set(&cpu_online_mask, cpu->id);
	cpumask_set(&kernel_space.active, cpu->id);
	__atomic_store_n(&cpu->online, true, __ATOMIC_RELEASE);
	irq_enable();
	for (;;) {
		halt();
		kernel_idle_work(cpu);
	}
}

static bool start_one(struct trampoline_params *params, struct cpu *cpu)
{
	params->cr3 = TRAMPOLINE_PML4;
	params->stack = cpu->stack_top;
	params->cpu = (u64)cpu;
	params->entry = (u64)ap_entry;
	apic_start_ap(cpu->apic_id, TRAMPOLINE_BASE >> PAGE_SHIFT);
	u64 deadline = rdtsc() + AP_START_TIMEOUT_US * tsc_khz() / 1000;
	while (!__atomic_load_n(&cpu->online, __ATOMIC_ACQUIRE))
		if (rdtsc() > deadline)
			return false;
	return true;
}

void smp_boot(const u32 *apic_ids, const int *nodes, u32 count)
{
	struct trampoline_params *params = install_trampoline();
	u32 self = apic_id();

	u32 slot = 1;

	boot_cpu()->apic_id = self;
	for (u32 i = 0; i < count && slot < MAX_CPUS; i++) {
		if (apic_ids[i] == self) {
			boot_cpu()->node = nodes[i];
			continue;
		}
		/* xAPIC destinations are 8 bits: a start IPI to a larger id
		 * would reach the CPU whose id is its low byte. */
		if (!apic_x2apic_mode() && apic_ids[i] > 0xff) {
			printk_ratelimited("smp: APIC id beyond xAPIC",
					   "mmulab: smp: CPU with APIC id %u cannot be addressed in "
					   "xAPIC mode; left out\n", apic_ids[i]);
			continue;
		}
		/* A CPU that never answered keeps its slot: should it wake up
		 * late, it must not share a struct cpu with the next one. */
		struct cpu *cpu = &cpus[slot];
		*cpu = (struct cpu){ .id = slot++, .apic_id = apic_ids[i], .node = nodes[i] };
		cpu->stack_top = kstack_alloc();
		if (!start_one(params, cpu)) {
			printk_ratelimited("smp: CPU did not start",
					   "mmulab: smp: CPU with APIC id %u did not start within %d ms; "
					   "left out\n", apic_ids[i], AP_START_TIMEOUT_US / 1000);
			continue;
		}
		nr_cpus++;
	}
	printk("mmulab: smp: %u CPUs online (%s mode)\n", nr_cpus,
	       apic_x2apic_mode() ? "x2APIC" : "xAPIC");
}
