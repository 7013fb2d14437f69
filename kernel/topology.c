/*
 * Building the NUMA topology (include/mmulab/topology.h). The rules, each
 * problem reported as one line:
 *
 *  - numa=off, no SRAT, or an SRAT rejected by the parser: one node with
 *    all RAM and every present CPU.
 *  - numa=fake=N: N nodes cutting RAM into nearly equal parts at 2 MiB
 *    boundaries, CPUs round-robin, distance 10 local / 20 remote; N is
 *    clamped to MAX_NODES and to what the RAM allows.
 *  - From the SRAT: proximity domains become dense node ids in increasing
 *    domain number. A node's memory is its SRAT ranges intersected with
 *    the UEFI map's RAM. A domain with present CPUs and no RAM is a
 *    memoryless node (kept); one with neither is dropped. RAM no SRAT
 *    range covers joins the node of the nearest range below it (node 0 if
 *    none). No node with RAM at all: one node.
 *  - CPUs are the MADT's present CPUs; a CPU with no SRAT entry goes to
 *    node 0. SRAT entries for APIC ids no present CPU has are possible
 *    CPUs only: counted in one line.
 *  - Present CPUs beyond MAX_CPUS (in MADT order) are not started: one
 *    line counts them.
 *  - The one rule for what the SRAT leaves without a domain: it joins an
 *    existing node, counted in one line, and never creates one (RAM the
 *    node of the nearest range below, a CPU node 0). A domain beyond the
 *    limit would need a node of its own, so the parser rejects such an
 *    SRAT whole (one node, as for any rejected SRAT).
 *  - Distances come from the SLIT, indexed by domain number; a SLIT too
 *    small for the domains in use is ignored; without one, 10 / 20.
 */

#include <mmulab/topology.h>
#include <mmulab/cpumask.h>
#include <mmulab/format.h>
#include <mmulab/ratelimit.h>
#include <mmulab/string.h>

#define LOCAL 10
#define REMOTE 20

_Static_assert(ACPI_MAX_DOMAINS <= MAX_NODES, "every domain the parser accepts gets a node");

struct builder {
	struct topology *t;
	void (*report)(void *ctx, const char *line);
	void *ctx;
};

static void say(struct builder *b, const char *fmt, ...) __printf(2, 3);
static void say(struct builder *b, const char *fmt, ...)
{
	char line[200];
	va_list ap;

	va_start(ap, fmt);
	vformat(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (b->report)
		b->report(b->ctx, line);
}

static void say_held(struct builder *b, struct ratelimit *rl)
{
	u32 held = ratelimit_end_burst(rl);

	if (held)
		say(b, "... and %u more \"%s\"", held, rl->kind);
}

static void add_range(struct builder *b, int node, paddr_t start, paddr_t end)
{
	struct topo_node *n = &b->t->nodes[node];

	if (n->range_count && n->ranges[n->range_count - 1].end == start) {
		n->ranges[n->range_count - 1].end = end;
	} else if (n->range_count == TOPO_MAX_RANGES) {
		say(b, "topology: node %d has more than %d memory ranges (P0x%lx..P0x%lx unused)", node,
		    TOPO_MAX_RANGES, start, end);
		return;
	} else {
		n->ranges[n->range_count++] = (struct mem_range){ start, end };
	}
	n->bytes += end - start;
}

static void default_distances(struct topology *t)
{
	for (u32 i = 0; i < t->node_count; i++)
		for (u32 j = 0; j < t->node_count; j++)
			t->distance[i][j] = i == j ? LOCAL : REMOTE;
}

/* The first MAX_CPUS present CPUs in MADT order: what the kernel starts. */
static void add_present_cpus(struct builder *b, const struct acpi_info *a)
{
	struct topology *t = b->t;
	u32 beyond = 0;

	for (u32 i = 0; i < a->cpu_count; i++) {
		if (!a->cpus[i].enabled)
			continue;
		if (t->cpu_count == TOPO_MAX_CPUS) {
			beyond++;
			continue;
		}
		t->cpus[t->cpu_count++] = (struct topo_cpu){ a->cpus[i].apic_id, a->cpus[i].x2apic, 0 };
	}
	if (beyond)
		say(b, "MADT: %u CPUs beyond the limit of %d not started", beyond, TOPO_MAX_CPUS);
}

static void one_node(struct builder *b, const struct acpi_info *a, const struct mem_range *ram,
		     u32 n, const char *why)
{
	struct topology *t = b->t;

	t->node_count = 1;
	for (u32 i = 0; i < n; i++)
		add_range(b, 0, ram[i].start, ram[i].end);
	add_present_cpus(b, a);
	t->nodes[0].cpu_count = t->cpu_count;
	t->source = why;
	default_distances(t);
}

/* --- numa=fake=N --- */

static void fake_nodes(struct builder *b, const struct acpi_info *a, const struct mem_range *ram,
		       u32 n, u32 want)
{
	struct topology *t = b->t;
	u64 total = 0;

	for (u32 i = 0; i < n; i++)
		total += ram[i].end - ram[i].start;
	u32 max = (u32)MIN((u64)MAX_NODES, total / (2 * MiB));
	if (want > max) {
		say(b, "numa=fake=%u: only %u nodes fit (%lu MiB of RAM, 2 MiB each at least)", want,
		    max, total / MiB);
		want = max ? max : 1;
	}
	/* Each node's share is recomputed from what is left, so rounding a
	 * cut up to 2 MiB takes from all later nodes, not the last one. */
	u64 left = total, share = total / want, filled = 0;
	u32 node = 0;
	for (u32 i = 0; i < n; i++) {
		paddr_t at = ram[i].start;
		while (at < ram[i].end) {
			paddr_t end = ram[i].end;
			if (node + 1 < want && filled + (end - at) > share) {
				paddr_t cut = ALIGN_UP(at + (share - filled), 2 * MiB);
				end = MIN(cut, end);
			}
			add_range(b, node, at, end);
			filled += end - at;
			left -= end - at;
			at = end;
			if (node + 1 < want && filled >= share) {
				node++;
				filled = 0;
				share = left / (want - node);
			}
		}
	}
	/* Tiny or fragmented RAM can still leave the last nodes empty: they
	 * are dropped, not left as memoryless nodes nobody asked for. */
	u32 made = 0;
	while (made < want && t->nodes[made].bytes)
		made++;
	if (made < want) {
		say(b, "numa=fake=%u: only %u nodes got memory (%lu KiB of RAM)", want, made,
		    total / KiB);
		want = made ? made : 1;
	}
	t->node_count = want;
	add_present_cpus(b, a);
	for (u32 c = 0; c < t->cpu_count; c++) {
		t->cpus[c].node = (int)(c % want);
		t->nodes[c % want].cpu_count++;
	}
	for (u32 i = 0; i < want; i++)
		t->nodes[i].pxm = i;
	t->source = "numa=fake";
	default_distances(t);
}

/* --- from the SRAT --- */

static bool cpu_present(const struct acpi_info *a, u32 apic_id)
{
	for (u32 i = 0; i < a->cpu_count; i++)
		if (a->cpus[i].apic_id == apic_id && a->cpus[i].enabled)
			return true;
	return false;
}

static bool pxm_has_present_cpu(const struct acpi_info *a, u32 pxm)
{
	for (u32 i = 0; i < a->cpu_affinity_count; i++)
		if (a->cpu_affinity[i].pxm == pxm && cpu_present(a, a->cpu_affinity[i].apic_id))
			return true;
	return false;
}

/* Every domain number the SRAT mentions, sorted, without repeats. */
static u32 srat_domains(const struct acpi_info *a, u32 *out, u32 max)
{
	u32 n = 0;

	for (u32 i = 0; i < a->mem_count + a->cpu_affinity_count; i++) {
		u32 pxm = i < a->mem_count ? a->mem[i].pxm : a->cpu_affinity[i - a->mem_count].pxm;
		u32 j = 0;
		while (j < n && out[j] < pxm)
			j++;
		if ((j < n && out[j] == pxm) || n == max)
			continue;
		memmove(out + j + 1, out + j, (n - j) * sizeof(*out));
		out[j] = pxm;
		n++;
	}
	return n;
}

/* RAM ∩ the domain's SRAT ranges, in address order. */
static void intersect(struct builder *b, int node, const struct acpi_info *a, u32 pxm,
		      const struct mem_range *ram, u32 n)
{
	for (u32 r = 0; r < n; r++)
		for (u32 m = 0; m < a->mem_count; m++) {
			if (a->mem[m].pxm != pxm)
				continue;
			paddr_t s = MAX(ram[r].start, a->mem[m].base);
			paddr_t e = MIN(ram[r].end, a->mem[m].base + a->mem[m].length);
			if (s < e)
				add_range(b, node, s, e);
		}
}

static int node_of_pxm(const struct topology *t, u32 pxm)
{
	for (u32 i = 0; i < t->node_count; i++)
		if (t->nodes[i].pxm == pxm)
			return (int)i;
	return -1;
}

static void sort_ranges(struct topo_node *n)
{
	for (u32 i = 1; i < n->range_count; i++)
		for (u32 j = i; j > 0 && n->ranges[j - 1].start > n->ranges[j].start; j--) {
			struct mem_range tmp = n->ranges[j];
			n->ranges[j] = n->ranges[j - 1];
			n->ranges[j - 1] = tmp;
		}
}

/* RAM no node holds goes to the node of the nearest range below it. */
static void place_uncovered(struct builder *b, const struct mem_range *ram, u32 n)
{
	struct topology *t = b->t;
	u64 lost = 0;

	for (u32 r = 0; r < n; r++) {
		paddr_t at = ram[r].start;
		while (at < ram[r].end) {
			paddr_t next = ram[r].end;
			int below = 0;
			paddr_t below_end = 0;
			bool inside = false;
			for (u32 i = 0; i < t->node_count && !inside; i++)
				for (u32 k = 0; k < t->nodes[i].range_count; k++) {
					const struct mem_range *m = &t->nodes[i].ranges[k];
					if (m->start <= at && at < m->end) {
						inside = true;
						next = m->end;
						break;
					}
					if (m->start > at)
						next = MIN(next, m->start);
					if (m->end <= at && m->end >= below_end) {
						below_end = m->end;
						below = (int)i;
					}
				}
			if (!inside) {
				add_range(b, below, at, next);
				sort_ranges(&t->nodes[below]);
				lost += next - at;
			}
			at = next;
		}
	}
	if (lost)
		say(b, "SRAT: %lu KiB of RAM lie in no domain's range (given to the nearest node "
		    "below)", lost / KiB);
}

static void slit_distances(struct builder *b, const struct acpi_info *a)
{
	struct topology *t = b->t;

	default_distances(t);
	if (!a->have_slit)
		return;
	for (u32 i = 0; i < t->node_count; i++)
		if (t->nodes[i].pxm >= a->slit_localities) {
			say(b, "SLIT: %u localities but domain %u is in use (SLIT ignored: distances "
			    "10/20)", a->slit_localities, t->nodes[i].pxm);
			return;
		}
	for (u32 i = 0; i < t->node_count; i++)
		for (u32 j = 0; j < t->node_count; j++)
			t->distance[i][j] = a->slit[t->nodes[i].pxm * a->slit_localities + t->nodes[j].pxm];
	t->slit_used = true;
}

static void assign_cpus(struct builder *b, const struct acpi_info *a)
{
	struct topology *t = b->t;
	u32 homeless = 0;

	add_present_cpus(b, a);
	for (u32 c = 0; c < t->cpu_count; c++) {
		int node = -1;
		for (u32 i = 0; i < a->cpu_affinity_count; i++)
			if (a->cpu_affinity[i].apic_id == t->cpus[c].apic_id)
				node = node_of_pxm(t, a->cpu_affinity[i].pxm);
		if (node < 0) {
			node = 0;
			homeless++;
		}
		t->cpus[c].node = node;
		t->nodes[node].cpu_count++;
	}
	if (homeless)
		say(b, "SRAT: %u present CPUs have no affinity entry (put on node 0)", homeless);
	for (u32 i = 0; i < a->cpu_affinity_count; i++)
		t->possible_only += !cpu_present(a, a->cpu_affinity[i].apic_id);
	if (t->possible_only)
		say(b, "SRAT: %u CPU entries name APIC ids no present CPU has (possible CPUs only)",
		    t->possible_only);
}

static bool from_srat(struct builder *b, const struct acpi_info *a, const struct mem_range *ram,
		      u32 n)
{
	struct topology *t = b->t;
	struct ratelimit dropped = { .kind = "SRAT: domain has neither RAM nor a present CPU" };
	struct ratelimit memless = { .kind = "SRAT: domain has CPUs but no RAM" };
	u32 domains[ACPI_MAX_DOMAINS];
	u32 count = srat_domains(a, domains, ARRAY_SIZE(domains));

	for (u32 d = 0; d < count; d++) {
		int node = (int)t->node_count;
		t->nodes[node] = (struct topo_node){ .pxm = domains[d] };
		intersect(b, node, a, domains[d], ram, n);
		bool cpus = pxm_has_present_cpu(a, domains[d]);
		if (!t->nodes[node].bytes && !cpus) {
			if (ratelimit_pass(&dropped))
				say(b, "SRAT: domain %u has neither RAM nor a present CPU (dropped)",
				    domains[d]);
			continue;
		}
		if (!t->nodes[node].bytes && ratelimit_pass(&memless))
			say(b, "SRAT: domain %u has CPUs but no RAM (memoryless node %d)", domains[d], node);
		t->node_count++;
	}
	say_held(b, &dropped);
	say_held(b, &memless);
	bool any_ram = false;
	for (u32 i = 0; i < t->node_count; i++)
		any_ram |= t->nodes[i].bytes != 0;
	if (!any_ram) {
		say(b, "SRAT: no domain holds any of the RAM (SRAT ignored: one node)");
		return false;
	}
	place_uncovered(b, ram, n);
	assign_cpus(b, a);
	slit_distances(b, a);
	t->source = "SRAT";
	return true;
}

void topology_build(const struct acpi_info *a, const struct mem_range *ram, u32 n,
		    const struct topology_options *opt, struct topology *t,
		    void (*report)(void *ctx, const char *line), void *ctx)
{
	struct builder b = { t, report, ctx };

	memset(t, 0, sizeof(*t));
	if (opt->numa_off)
		one_node(&b, a, ram, n, "numa=off");
	else if (opt->fake_nodes)
		fake_nodes(&b, a, ram, n, opt->fake_nodes);
	else if (!a->have_srat)
		one_node(&b, a, ram, n, "no SRAT");
	else if (!a->srat_valid)
		one_node(&b, a, ram, n, "SRAT rejected");
	else if (!from_srat(&b, a, ram, n)) {
		memset(t, 0, sizeof(*t));
		one_node(&b, a, ram, n, "SRAT without RAM");
	}
}

int topology_node_of(const struct topology *t, paddr_t pa)
{
	for (u32 i = 0; i < t->node_count; i++)
		for (u32 k = 0; k < t->nodes[i].range_count; k++)
			if (t->nodes[i].ranges[k].start <= pa && pa < t->nodes[i].ranges[k].end)
				return (int)i;
	return -1;
}

/* Nearer first; at equal distance the node itself, then lower ids. */
static bool nearer(const struct topology *t, int from, int a, int b)
{
	u8 da = t->distance[from][a], db = t->distance[from][b];

	if (da != db)
		return da < db;
	if ((a == from) != (b == from))
		return a == from;
	return a < b;
}

u32 topology_fallback_order(const struct topology *t, int node, int out[MAX_NODES])
{
	u32 n = t->node_count;

	for (u32 i = 0; i < n; i++) {
		u32 j = i;
		for (; j > 0 && nearer(t, node, (int)i, out[j - 1]); j--)
			out[j] = out[j - 1];
		out[j] = (int)i;
	}
	return n;
}

void topology_print(const struct topology *t, void (*emit)(void *ctx, const char *line), void *ctx)
{
	char line[256];

	format(line, sizeof(line), "topology (%s): %u nodes, %u CPUs%s", t->source, t->node_count,
	       t->cpu_count, t->slit_used ? ", distances from the SLIT" : "");
	emit(ctx, line);
	for (u32 i = 0; i < t->node_count; i++) {
		const struct topo_node *nd = &t->nodes[i];
		size_t n = format(line, sizeof(line), "node %u (domain %u): %lu MiB, CPUs (APIC ids):",
				  i, nd->pxm, nd->bytes / MiB);
		for (u32 c = 0; c < t->cpu_count && n < sizeof(line); c++)
			if (t->cpus[c].node == (int)i)
				n += format(line + n, sizeof(line) - n, " %u", t->cpus[c].apic_id);
		emit(ctx, line);
		for (u32 k = 0; k < nd->range_count; k++) {
			format(line, sizeof(line), "  P0x%012lx-P0x%012lx", nd->ranges[k].start,
			       nd->ranges[k].end - 1);
			emit(ctx, line);
		}
	}
	size_t n = format(line, sizeof(line), "distance");
	for (u32 j = 0; j < t->node_count && n < sizeof(line); j++)
		n += format(line + n, sizeof(line) - n, " %4u", j);
	emit(ctx, line);
	for (u32 i = 0; i < t->node_count; i++) {
		n = format(line, sizeof(line), "%8u", i);
		for (u32 j = 0; j < t->node_count && n < sizeof(line); j++)
			n += format(line + n, sizeof(line) - n, " %4u", t->distance[i][j]);
		emit(ctx, line);
	}
}
