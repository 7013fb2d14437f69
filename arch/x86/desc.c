/* GDT, TSS and IDT. Long mode ignores segment bases and limits, so the
 * GDT only says "64-bit code/data, ring 0 or 3" plus the TSS, whose IST
 * stacks give #DF, NMI and #MC a known-good stack. */

#include <arch/desc.h>
#include <arch/trap.h>
#include <arch/irq.h>
#include <mmulab/kstack.h>
#include <mmulab/percpu.h>
#include <mmulab/string.h>

#define SEG_PRESENT (1ULL << 47)
#define SEG_DPL3 (3ULL << 45)
#define SEG_CODE_DATA (1ULL << 44)
#define SEG_CODE (1ULL << 43)
#define SEG_WRITABLE (1ULL << 41)
#define SEG_LONG (1ULL << 53)
#define SEG_TSS_AVAILABLE (0x9ULL << 40)

#define IDT_INTERRUPT_GATE 0xe

struct idt_gate {
	u16 offset_lo;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_hi;
	u32 reserved;
} __packed;
_Static_assert(sizeof(struct idt_gate) == 16, "long-mode IDT gate");

struct descriptor_pointer {
	u16 limit;
	u64 base;
} __packed;

extern const u64 vector_stubs[256];
static struct idt_gate idt[256];

static void fill_gdt(struct arch_cpu *a)
{
	u64 tss = (u64)&a->tss;
	u64 limit = sizeof(a->tss) - 1;

	a->gdt[0] = 0;
	a->gdt[1] = SEG_PRESENT | SEG_CODE_DATA | SEG_CODE | SEG_LONG;
	a->gdt[2] = SEG_PRESENT | SEG_CODE_DATA | SEG_WRITABLE;
	a->gdt[3] = SEG_PRESENT | SEG_CODE_DATA | SEG_WRITABLE | SEG_DPL3;
	a->gdt[4] = SEG_PRESENT | SEG_CODE_DATA | SEG_CODE | SEG_LONG | SEG_DPL3;
	a->gdt[5] = SEG_PRESENT | SEG_TSS_AVAILABLE | (limit & 0xffff) |
		    ((tss & 0xffffff) << 16) | (((tss >> 24) & 0xff) << 56);
	a->gdt[6] = tss >> 32;
}

/* Reloads every segment register: CS through a far return. */
static void load_gdt(struct arch_cpu *a)
{
	struct descriptor_pointer p = { sizeof(a->gdt) - 1, (u64)a->gdt };

	asm volatile("lgdt %0\n\t"
		     "pushq %1\n\t"
		     "leaq 1f(%%rip), %%rax\n\t"
		     "pushq %%rax\n\t"
		     "lretq\n"
		     "1:\n\t"
		     "mov %w2, %%ds\n\t"
		     "mov %w2, %%es\n\t"
		     "mov %w2, %%ss\n\t"
		     "xor %%eax, %%eax\n\t"
		     "mov %%ax, %%fs\n\t"
		     "mov %%ax, %%gs\n\t"
		     :
		     : "m"(p), "i"(GDT_KERNEL_CS), "r"((u64)GDT_KERNEL_DS)
		     : "rax", "memory");
	asm volatile("ltr %w0" ::"r"(GDT_TSS));
}

extern const char early_ist_top[];

/*
 * Our GDT must be loaded before any exception can arrive: the IDT's gates
 * name our selectors. The IST slots point at a shared early stack until
 * desc_init_stacks can allocate guarded ones. FS and GS get the null
 * selector: an IRET to ring 3 zeroes a segment register (and its base)
 * that holds a ring-0 selector, but leaves a null one alone, so the GS base
 * this_cpu() relies on survives trips to user mode. Callers set the GS
 * base after this.
 */
void desc_init_cpu(struct cpu *cpu)
{
	struct arch_cpu *a = &cpu->arch;

	memset(&a->tss, 0, sizeof(a->tss));
	for (int i = IST_DF; i <= IST_COUNT; i++)
		a->tss.ist[i - 1] = (u64)early_ist_top;
	a->tss.iomap_base = sizeof(a->tss);
	fill_gdt(a);
	load_gdt(a);
}

/*
 * The IST stacks, and RSP0: the stack the CPU switches to when ring 3 traps
 * to ring 0. RSP0 is a stack of its own, not the kernel stack the ring-3
 * code was entered from: that one still holds the frames the trap handler
 * returns to. The CPU reads these TSS fields at each event, so updating
 * them in place after LTR is enough.
 */
void desc_init_stacks(struct cpu *cpu)
{
	struct arch_cpu *a = &cpu->arch;

	for (int i = IST_DF; i <= IST_COUNT; i++) {
		cpu->ist_top[i] = kstack_alloc();
		a->tss.ist[i - 1] = cpu->ist_top[i];
	}
	a->tss.rsp[0] = kstack_alloc();
}

static u8 ist_for(unsigned vector)
{
	switch (vector) {
	case X86_TRAP_DF: return IST_DF;
	case X86_TRAP_NMI: return IST_NMI;
	case X86_TRAP_MC: return IST_MC;
	default: return IST_NONE;
	}
}

/* Ring 3 may raise the system-call vector itself (int 0x80); every other
 * vector from ring 3 is a #GP. */
static u8 gate_dpl(unsigned vector)
{
	return vector == SYSCALL_VECTOR ? 3 : 0;
}

void trap_init(void)
{
	for (unsigned v = 0; v < 256; v++) {
		u64 addr = vector_stubs[v];
		idt[v] = (struct idt_gate){
			.offset_lo = addr & 0xffff,
			.selector = GDT_KERNEL_CS,
			.ist = ist_for(v),
			.type_attr = 0x80 | (gate_dpl(v) << 5) | IDT_INTERRUPT_GATE,
			.offset_mid = (addr >> 16) & 0xffff,
			.offset_hi = addr >> 32,
		};
	}
}

void trap_load_idt(void)
{
	struct descriptor_pointer p = { sizeof(idt) - 1, (u64)idt };
	asm volatile("lidt %0" ::"m"(p));
}
