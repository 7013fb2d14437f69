/*
 * kmain: the boot sequence, in order. Each step needs the ones before it:
 * the console first so everything after can report; GS before the trap
 * handler (it reads this_cpu()); the kernel's own page tables before the
 * guarded stacks that live in them; then the tests.
 */

#include <mmulab/boot_info.h>
#include <mmulab/bugs.h>
#include <mmulab/cmdline.h>
#include <mmulab/fbcon.h>
#include <mmulab/huge_memory.h>
#include <mmulab/kernel.h>
#include <mmulab/kstack.h>
#include <mmulab/mm.h>
#include <mmulab/numa.h>
#include <mmulab/numa_balance.h>
#include <mmulab/page.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>
#include <mmulab/symbols.h>
#include <mmulab/test.h>
#include <arch/cpu.h>
#include <arch/desc.h>
#include <arch/serial.h>
#include <arch/trap.h>
#include <arch/apic.h>
#include <mmulab/smp.h>
#include <mmulab/tlb.h>
#include <mmulab/task.h>
#include <mmulab/vmalloc.h>
#include <mmulab/timer.h>
#include <arch/tsc.h>
#include <arch/acpi_tables.h>

void call_on_stack(void *arg, void (*fn)(void *), vaddr_t stack_top) __noreturn;

static struct boot_info *boot;

struct boot_info *boot_info(void)
{
	return boot;
}

/* A usage error, not a crash: one line naming the word, no register dump. */
static void __noreturn reject_cmdline(const char *err)
{
	printk("mmulab: error: cmdline: %s\n", err);
	run_end(VERDICT_FAIL);
}

static void parse_cmdline(void)
{
	static char text[BOOT_CMDLINE_MAX];
	char err[320];

	memcpy(text, boot->cmdline, sizeof(text));
	text[sizeof(text) - 1] = 0;
	printk("mmulab: cmdline: \"%s\"\n", text);
	if (!cmdline_parse(text, &cmdline, err, sizeof(err)) ||
	    (cmdline.bugs && !bugs_enable(cmdline.bugs, &cmdline, err, sizeof(err))))
		reject_cmdline(err);
	bugs_report();
}

static void check_boot_info(struct boot_info *info)
{
	if (info->magic != BOOT_INFO_MAGIC || info->version != BOOT_INFO_VERSION)
		panic("boot_info: bad magic 0x%lx or version %u (UEFI stage and kernel from "
		      "different builds?)", info->magic, info->version);
	if (info->memmap_count == 0)
		panic("boot_info: empty memory map");
}

/*
 * Boot phases. Each phase's end is a raw TSC stamp (the rate is unknown
 * until tsc_calibrate, part way through); all are converted and printed
 * just before the first test, one line per phase:
 *   mmulab: boot: phase <name> <microseconds> us
 * and the whole as "# boot: kernel_entry_to_first_test=<microseconds> us".
 */
#define MAX_PHASES 12

static u64 entry_tsc;
static struct boot_phase {
	const char *name;
	u64 end;
} phases[MAX_PHASES];
static u32 phase_count;

static void phase_done(const char *name)
{
	ASSERT(phase_count < MAX_PHASES);
	printk_limited_flush();
	phases[phase_count++] = (struct boot_phase){ name, rdtsc() };
}

static void report_phases(void)
{
	u64 start = entry_tsc;

	for (u32 i = 0; i < phase_count; i++) {
		printk("mmulab: boot: phase %s %lu us\n", phases[i].name,
		       cycles_to_us(phases[i].end - start));
		start = phases[i].end;
	}
	printk("# boot: kernel_entry_to_first_test=%lu us\n", cycles_to_us(start - entry_tsc));
}

static void start_secondary_cpus(void)
{
	static u32 apic_ids[MAX_CPUS];
	static int nodes[MAX_CPUS];

	smp_boot(apic_ids, nodes, numa_cpus(apic_ids, nodes, MAX_CPUS));
}

static void __noreturn kmain_late(void *unused)
{
	(void)unused;
	desc_init_stacks(this_cpu());
	page_alloc_init();
	phase_done("struct_pages_early");
	vmalloc_init(cmdline.vmalloc_sync);
	thp_init(cmdline.thp);
	numa_balance_init(cmdline.numa_policy, cmdline.numa_restore_write,
			  cmdline.numa_scan_period_ms, cmdline.numa_scan_pages);
	smp_init_calls();
	task_init();
	tlb_init();
	timer_init();
	start_secondary_cpus();
	phase_done("smp");
	page_alloc_init_deferred();
	page_alloc_report();
	phase_done("struct_pages_parallel");
	printk("mmulab: boot complete, running tests\n");
	phase_done("first_test");
	report_phases();
	irq_enable();
	run_tests(cmdline.tests);
}

void kmain(struct boot_info *info)
{
	entry_tsc = rdtsc();
	serial_init();
	printk("\nmmulab: kernel entered at V0x%lx\n", (vaddr_t)kmain);
	desc_init_cpu(boot_cpu());
	percpu_install(boot_cpu());
	boot_cpu()->online = true;
	cpumask_set(&cpu_online_mask, 0);
	cpumask_set(&kernel_space.active, 0);
	trap_init();
	trap_load_idt();
	boot = info;
	check_boot_info(info);
	symbols_init(phys_to_virt(info->symbols), info->symbols_size);
	cpu_detect_features();
	cpu_report();
	if (!cpu_has(X86_NX))
		panic("cpu: no NX bit: W^X kernel mappings are impossible");
	parse_cmdline();
	phase_done("handoff");

	memblock_init_from_boot(info);
	phase_done("memblock");
	kmap_init(info);
	fbcon_init(&info->fb);
	phase_done("page_tables");
	numa_init(info);
	serial_follow_spcr(numa_acpi());
	phase_done("topology");
	apic_init_bsp(!cmdline.no_x2apic);
	timer_calibration_start();
	tsc_calibrate(numa_acpi()->pm_timer_port, numa_acpi()->pm_timer_32bit);
	phase_done("tsc_calibration");
	this_cpu()->stack_top = kstack_alloc();
	call_on_stack(NULL, kmain_late, this_cpu()->stack_top);
}
