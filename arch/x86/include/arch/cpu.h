#ifndef ARCH_CPU_H
#define ARCH_CPU_H

/* Instruction wrappers and control-register bits. */

#include <mmulab/types.h>

#define X86_CR0_WP (1ULL << 16)
#define X86_CR0_PG (1ULL << 31)

#define X86_CR4_TSD (1ULL << 2)
#define X86_CR4_PAE (1ULL << 5)
#define X86_CR4_PGE (1ULL << 7)
#define X86_CR4_OSFXSR (1ULL << 9)
#define X86_CR4_LA57 (1ULL << 12)
#define X86_CR4_FSGSBASE (1ULL << 16)
#define X86_CR4_PCIDE (1ULL << 17)
#define X86_CR4_SMEP (1ULL << 20)
#define X86_CR4_SMAP (1ULL << 21)
#define X86_CR4_PKE (1ULL << 22)

#define X86_RFLAGS_IF (1ULL << 9)
#define X86_RFLAGS_AC (1ULL << 18)

#define MSR_EFER 0xc0000080
#define EFER_NXE (1ULL << 11)
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	asm volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
		     : "a"(leaf), "c"(subleaf));
	return r;
}

#define DEFINE_CR_ACCESSORS(n)                                                   \
	static inline u64 read_cr##n(void)                                       \
	{                                                                        \
		u64 v;                                                           \
		asm volatile("mov %%cr" #n ", %0" : "=r"(v));                    \
		return v;                                                        \
	}                                                                        \
	static inline void write_cr##n(u64 v)                                    \
	{                                                                        \
		asm volatile("mov %0, %%cr" #n ::"r"(v) : "memory");             \
	}
DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
	asm volatile("wrmsr" ::"c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

static inline u64 read_rflags(void)
{
	u64 f;
	asm volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline void invlpg(vaddr_t va)
{
	asm volatile("invlpg (%0)" ::"r"(va) : "memory");
}

static inline void cpu_relax(void) { asm volatile("pause"); }
static inline void irq_disable(void) { asm volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { asm volatile("sti" ::: "memory"); }
static inline void halt(void) { asm volatile("hlt" ::: "memory"); }
/* Enables interrupts and halts in one step: STI's one-instruction shadow
 * covers the HLT, so an interrupt sent after the caller's last look at
 * shared state (interrupts off) still wakes it. */
static inline void irq_enable_and_halt(void) { asm volatile("sti; hlt" ::: "memory"); }


static inline u64 read_rbp(void)
{
	u64 v;
	asm volatile("mov %%rbp, %0" : "=r"(v));
	return v;
}

/* CPU features that the kernel uses or reports. */
enum x86_feature {
	X86_NX,
	X86_PGE,
	X86_GBPAGES,
	X86_PCID,
	X86_INVPCID,
	X86_SMEP,
	X86_SMAP,
	X86_PKU,
	X86_LA57,
	X86_X2APIC,
	X86_HYPERVISOR,
	X86_FEATURE_COUNT
};

void cpu_detect_features(void);
bool cpu_has(enum x86_feature f);

/* Open and close a window in which supervisor code may touch user pages
 * under SMAP (STAC/CLAC set and clear RFLAGS.AC). Without SMAP there is no
 * window to open, and the instructions would #UD. */
static inline void user_access_begin(void)
{
	if (cpu_has(X86_SMAP))
		asm volatile("stac" ::: "memory");
}

static inline void user_access_end(void)
{
	if (cpu_has(X86_SMAP))
		asm volatile("clac" ::: "memory");
}
u32 cpu_phys_addr_bits(void);
void cpu_enable_protections(void);
void cpu_report(void);
/* The hypervisor's CPUID signature ("TCGTCGTCGTCG", "KVMKVMKVM"), "" on bare metal. */
const char *cpu_hypervisor(void);
bool cpu_is_qemu_tcg(void);

#endif
