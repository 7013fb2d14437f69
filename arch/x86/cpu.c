/* CPU feature detection and the control-register set-up that uses them. */

#include <arch/cpu.h>
#include <mmulab/log.h>
#include <mmulab/string.h>

static bool features[X86_FEATURE_COUNT];
static u32 phys_addr_bits = 36;

struct feature_bit {
	enum x86_feature feature;
	const char *name;
	u32 leaf, subleaf;
	char reg; /* 'b', 'c' or 'd' */
	u32 bit;
};

static const struct feature_bit feature_bits[] = {
	{ X86_NX, "nx", 0x80000001, 0, 'd', 20 },
	{ X86_PGE, "pge", 1, 0, 'd', 13 },
	{ X86_GBPAGES, "gbpages", 0x80000001, 0, 'd', 26 },
	{ X86_PCID, "pcid", 1, 0, 'c', 17 },
	{ X86_INVPCID, "invpcid", 7, 0, 'b', 10 },
	{ X86_SMEP, "smep", 7, 0, 'b', 7 },
	{ X86_SMAP, "smap", 7, 0, 'b', 20 },
	{ X86_PKU, "pku", 7, 0, 'c', 3 },
	{ X86_LA57, "la57", 7, 0, 'c', 16 },
	{ X86_X2APIC, "x2apic", 1, 0, 'c', 21 },
	{ X86_HYPERVISOR, "hypervisor", 1, 0, 'c', 31 },
};

static u32 max_leaf(u32 base)
{
	return cpuid(base, 0).eax;
}

static bool leaf_bit(const struct feature_bit *f)
{
	u32 top = max_leaf(f->leaf & 0x80000000);
	if (f->leaf > top)
		return false;
	struct cpuid_regs r = cpuid(f->leaf, f->subleaf);
	u32 v = f->reg == 'b' ? r.ebx : f->reg == 'c' ? r.ecx : r.edx;
	return (v >> f->bit) & 1;
}

void cpu_detect_features(void)
{
	for (size_t i = 0; i < sizeof(feature_bits) / sizeof(feature_bits[0]); i++)
		features[feature_bits[i].feature] = leaf_bit(&feature_bits[i]);
	if (max_leaf(0x80000000) >= 0x80000008)
		phys_addr_bits = cpuid(0x80000008, 0).eax & 0xff;
}

bool cpu_has(enum x86_feature f)
{
	return features[f];
}

u32 cpu_phys_addr_bits(void)
{
	return phys_addr_bits;
}

/*
 * NXE before any table with NX bits is loaded (without it bit 63 is
 * reserved and every such entry faults with RSVD); WP so the kernel honours
 * read-only entries too; PGE for global kernel mappings; SMEP/SMAP so a
 * kernel touching a user page faults; PCIDE needs CR3[11:0] == 0, which
 * holds for the kernel's own tables.
 */
void cpu_enable_protections(void)
{
	u64 cr4 = read_cr4();

	if (!cpu_has(X86_NX))
		return; /* kmain refuses to go on: W^X needs NX */
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | X86_CR0_WP);
	if (cpu_has(X86_PGE))
		cr4 |= X86_CR4_PGE;
	if (cpu_has(X86_SMEP))
		cr4 |= X86_CR4_SMEP;
	if (cpu_has(X86_SMAP))
		cr4 |= X86_CR4_SMAP;
	if (cpu_has(X86_PCID) && (read_cr3() & 0xfff) == 0)
		cr4 |= X86_CR4_PCIDE;
	/* Ring-3 tasks time themselves with rdtsc (tests/kernel/user_bench.c):
	 * whatever the loader left, TSD off lets them. */
	cr4 &= ~X86_CR4_TSD;
	write_cr4(cr4);
}

static void vendor_string(char out[13])
{
	struct cpuid_regs r = cpuid(0, 0);
	memcpy(out, &r.ebx, 4);
	memcpy(out + 4, &r.edx, 4);
	memcpy(out + 8, &r.ecx, 4);
	out[12] = 0;
}

const char *cpu_hypervisor(void)
{
	static char sig[13];

	if (!cpu_has(X86_HYPERVISOR))
		return "";
	struct cpuid_regs r = cpuid(0x40000000, 0);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	return sig;
}

bool cpu_is_qemu_tcg(void)
{
	return strcmp(cpu_hypervisor(), "TCGTCGTCGTCG") == 0;
}

void cpu_report(void)
{
	char vendor[13], line[256];
	size_t n = 0, m = 0;
	char lacks[256];

	vendor_string(vendor);
	line[0] = lacks[0] = 0;
	for (size_t i = 0; i < sizeof(feature_bits) / sizeof(feature_bits[0]); i++) {
		const struct feature_bit *f = &feature_bits[i];
		char *dst = features[f->feature] ? line : lacks;
		size_t *len = features[f->feature] ? &n : &m;
		size_t k = strlen(f->name);
		if (*len + k + 2 < sizeof(line)) {
			if (*len)
				dst[(*len)++] = ' ';
			memcpy(dst + *len, f->name, k + 1);
			*len += k;
		}
	}
	printk("mmulab: cpu: %s%s%s, %u physical address bits\n", vendor,
	       cpu_has(X86_HYPERVISOR) ? ", hypervisor " : "", cpu_hypervisor(), phys_addr_bits);
	printk("mmulab: cpu: has: %s\n", n ? line : "(none)");
	printk("mmulab: cpu: lacks: %s\n", m ? lacks : "(none)");
	if (cpu_has(X86_LA57))
		printk("mmulab: cpu: LA57 (5-level paging) available, running 4-level (CR4.LA57=%d)\n",
		       (int)((read_cr4() >> 12) & 1));
}
