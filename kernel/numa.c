/*
 * The boot-time NUMA topology behind include/mmulab/numa.h: ACPI tables
 * found from the RSDP, the RAM memblock knows, and the numa= option,
 * turned into a struct topology by kernel/topology.c and printed.
 */

#include <mmulab/numa.h>
#include <mmulab/boot_info.h>
#include <mmulab/cmdline.h>
#include <mmulab/kernel.h>
#include <mmulab/memblock.h>
#include <mmulab/mm.h>
#include <mmulab/pgtable.h>
#include <mmulab/topology.h>

static struct topology topo = { .node_count = 1 };
static struct acpi_info acpi;
static struct mem_range *ram; /* memblock's RAM, as the topology builder takes it */
static u64 ram_bytes;

const struct acpi_info *numa_acpi(void)
{
	return &acpi;
}

void numa_early_allocation(paddr_t *pa, u64 *bytes)
{
	*pa = virt_to_phys(ram);
	*bytes = ram_bytes;
}

const struct topology *numa_topology(void)
{
	return &topo;
}

int nr_nodes(void)
{
	return (int)topo.node_count;
}

int numa_node_of_phys(paddr_t pa)
{
	int node = topology_node_of(&topo, pa);
	return node < 0 ? 0 : node;
}

paddr_t numa_node_range_end(int nid, paddr_t pa)
{
	const struct topo_node *n = &topo.nodes[nid];

	for (u32 i = 0; i < n->range_count; i++)
		if (n->ranges[i].start <= pa && pa < n->ranges[i].end)
			return n->ranges[i].end;
	return ~0ULL;
}

int numa_fallback_order(int node, int out[MAX_NODES])
{
	return (int)topology_fallback_order(&topo, node, out);
}

/* Tables in RAM are in the direct map already; others (firmware reserved
 * ranges) get an uncached mapping there. */
static const void *map_acpi(void *ctx, paddr_t pa, size_t len)
{
	(void)ctx;
	if (!len || pa + len < pa || pa + len > DIRECT_MAP_SIZE)
		return NULL;
	return kmap_firmware(pa, len);
}

static void report(void *ctx, const char *line)
{
	printk("mmulab: %s: %s\n", (const char *)ctx, line);
}

/* Taken from memblock: the first early allocation after the page tables,
 * as the 2.6.39 NUMA setup's was (seed 003's first writer of the buffer's
 * returned tail). */
static u32 ram_ranges(void)
{
	const struct memblock_type *m = &memblock.memory;
	paddr_t pa;

	ram_bytes = ALIGN_UP(m->count * sizeof(*ram), PAGE_SIZE);
	pa = memblock_alloc(ram_bytes, PAGE_SIZE);
	if (!pa)
		panic("numa: no memory for %u RAM ranges", m->count);
	ram = phys_to_virt(pa);

	for (u32 i = 0; i < m->count; i++)
		ram[i] = (struct mem_range){ m->regions[i].base, m->regions[i].base + m->regions[i].size };
	return m->count;
}

void numa_init(const struct boot_info *info)
{
	struct acpi_reader reader = { map_acpi, report, "acpi" };
	struct topology_options opt = { cmdline.numa_off, cmdline.fake_nodes };

	acpi_scan(&reader, info->rsdp, &acpi);
	topology_build(&acpi, ram, ram_ranges(), &opt, &topo, report, "numa");
	topology_print(&topo, report, "numa");
}

u32 numa_cpus(u32 *apic_ids, int *nodes, u32 max)
{
	u32 n = MIN(topo.cpu_count, max);

	for (u32 i = 0; i < n; i++) {
		apic_ids[i] = topo.cpus[i].apic_id;
		nodes[i] = topo.cpus[i].node;
	}
	return n;
}
