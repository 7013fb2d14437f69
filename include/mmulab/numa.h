#ifndef MMULAB_NUMA_H
#define MMULAB_NUMA_H

/* The NUMA topology as the allocators see it (kernel/numa.c keeps the one
 * built at boot). */

#include <mmulab/types.h>
#include <mmulab/page.h>

struct boot_info;
struct topology;

/* Builds the topology (after the kernel's tables exist, before the struct
 * page array: pages need their node). */
void numa_init(const struct boot_info *info);
const struct topology *numa_topology(void);
struct acpi_info;
/* The tables as parsed at boot (the PM timer's port, for one). */
const struct acpi_info *numa_acpi(void);
/* Where the topology setup's memblock allocation (its RAM ranges) went,
 * in bytes from pa: the first early writer of seed 003. */
void numa_early_allocation(paddr_t *pa, u64 *bytes);
/* The present CPUs' APIC ids and nodes, for starting them; the count. */
u32 numa_cpus(u32 *apic_ids, int *nodes, u32 max);

int nr_nodes(void);
/* The node of a RAM address; 0 for an address no node's memory covers. */
int numa_node_of_phys(paddr_t pa);
/* The end of the stretch of nid's memory that holds pa. */
paddr_t numa_node_range_end(int nid, paddr_t pa);
/* Nodes in order of distance from node (node itself first); the count. */
int numa_fallback_order(int node, int out[MAX_NODES]);

#endif
