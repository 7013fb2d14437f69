/* The boot-time NUMA topology behind include/mmulab/numa.h. Until the
 * ACPI topology is wired in, the machine is one node. */

#include <mmulab/numa.h>

int nr_nodes(void)
{
	return 1;
}

int numa_node_of_phys(paddr_t pa)
{
	(void)pa;
	return 0;
}

paddr_t numa_node_range_end(int nid, paddr_t pa)
{
	(void)nid;
	(void)pa;
	return ~0ULL;
}

int numa_fallback_order(int node, int out[MAX_NODES])
{
	out[0] = node;
	return 1;
}
