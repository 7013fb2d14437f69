#ifndef MMULAB_TOPOLOGY_H
#define MMULAB_TOPOLOGY_H

/*
 * The NUMA topology: nodes (dense ids), their memory and CPUs, distances.
 * Built from parsed ACPI tables and the RAM the UEFI map really has (never
 * from SRAT ranges alone: an SRAT may describe memory the machine does not
 * have). Pure code (kernel/topology.c), host-tested with real tables.
 */

#include <mmulab/types.h>
#include <mmulab/page.h>
#include <mmulab/cpumask.h>
#include <arch/acpi_tables.h>

#define TOPO_MAX_RANGES 64 /* per node */
#define TOPO_MAX_CPUS MAX_CPUS /* the CPUs the kernel starts */

struct mem_range {
	paddr_t start, end;
};

struct topo_node {
	u32 pxm;
	u32 range_count;
	struct mem_range ranges[TOPO_MAX_RANGES];
	u64 bytes;
	u32 cpu_count;
};

struct topo_cpu {
	u32 apic_id;
	bool x2apic;
	int node;
};

struct topology {
	u32 node_count;
	struct topo_node nodes[MAX_NODES];
	u32 cpu_count;
	struct topo_cpu cpus[TOPO_MAX_CPUS];
	u8 distance[MAX_NODES][MAX_NODES];
	const char *source;  /* "SRAT", "no SRAT", "numa=off", "numa=fake", ... */
	bool slit_used;      /* distances came from the SLIT */
	u32 possible_only;   /* SRAT CPU entries no present CPU has */
};

struct topology_options {
	bool numa_off;
	u32 fake_nodes; /* numa=fake=N, 0: off */
};

/* ram: the usable RAM ranges, sorted. report gets one line per problem. */
void topology_build(const struct acpi_info *acpi, const struct mem_range *ram, u32 ram_count,
		    const struct topology_options *opt, struct topology *out,
		    void (*report)(void *ctx, const char *line), void *ctx);

/* The node whose memory holds pa, -1 when none. */
int topology_node_of(const struct topology *t, paddr_t pa);
/* Nodes by distance from node (ties by id), itself first; the count. */
u32 topology_fallback_order(const struct topology *t, int node, int out[MAX_NODES]);
/* The readable table: one line per call of emit. */
void topology_print(const struct topology *t, void (*emit)(void *ctx, const char *line), void *ctx);

#endif
