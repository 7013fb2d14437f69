/*
 * The kernel command line: space-separated key=value words. Every key is
 * listed here; anything else is an error that ends the run with one line
 * naming the word, because a mistyped option silently ignored would make
 * a user believe a configuration ran that did not.
 */

#include <mmulab/cmdline.h>
#include <mmulab/format.h>
#include <mmulab/string.h>

#define DEFAULT_WATCHDOG_SECONDS 300

struct cmdline cmdline;

static bool set_tests(struct cmdline *c, char *v) { c->tests = v; return *v != 0; }
static bool set_bugs(struct cmdline *c, char *v) { c->bugs = v; return *v != 0; }

static bool set_seed(struct cmdline *c, char *v)
{
	c->seed_given = true;
	return parse_u64(v, strlen(v), &c->seed);
}

static bool set_iterations(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->iterations) && c->iterations > 0;
}

static bool set_watchdog(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->watchdog_seconds) && c->watchdog_seconds > 0;
}

static bool set_x2apic(struct cmdline *c, char *v)
{
	c->no_x2apic = strcmp(v, "off") == 0;
	return c->no_x2apic || strcmp(v, "on") == 0;
}

static bool set_vmalloc_sync(struct cmdline *c, char *v)
{
	static const char *const modes[] = { "lazy", "prealloc", "eager" };

	for (u32 i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(v, modes[i]) == 0) {
			c->vmalloc_sync = i;
			return true;
		}
	return false;
}

static bool set_numa(struct cmdline *c, char *v)
{
	if (strcmp(v, "off") == 0) {
		c->numa_off = true;
		return true;
	}
	u64 n;
	if (strncmp(v, "fake=", 5) != 0 || !parse_u64(v + 5, strlen(v + 5), &n) || n < 1 || n > 64)
		return false;
	c->fake_nodes = (u32)n;
	return true;
}

static bool set_expect_topology(struct cmdline *c, char *v)
{
	c->expect_topology = v;
	return *v != 0;
}

static bool set_numa_policy(struct cmdline *c, char *v)
{
	c->numa_policy = strcmp(v, "twostage") == 0;
	return c->numa_policy || strcmp(v, "first") == 0;
}

static bool set_restore_write(struct cmdline *c, char *v)
{
	c->numa_restore_write = strcmp(v, "on") == 0;
	return c->numa_restore_write || strcmp(v, "off") == 0;
}

static bool set_scan_period(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->numa_scan_period_ms);
}

static bool set_scan_pages(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->numa_scan_pages) && c->numa_scan_pages > 0;
}

static bool set_thp(struct cmdline *c, char *v)
{
	static const char *const modes[] = { "madvise", "always", "never" };

	for (u32 i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(v, modes[i]) == 0) {
			c->thp = i;
			return true;
		}
	return false;
}

static bool set_mmu(struct cmdline *c, char *v)
{
	c->mmu_pv = strcmp(v, "pv") == 0;
	return c->mmu_pv || strcmp(v, "native") == 0;
}

static bool set_race_delay(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->race_delay_us) && c->race_delay_us <= 1000000;
}

static bool set_screen(struct cmdline *c, char *v)
{
	c->screen_off = strcmp(v, "off") == 0;
	return c->screen_off || strcmp(v, "on") == 0;
}

static bool set_screen_hold(struct cmdline *c, char *v)
{
	return parse_u64(v, strlen(v), &c->screen_hold_ms) && c->screen_hold_ms <= 60000;
}

static bool set_on_done(struct cmdline *c, char *v)
{
	static const char *const actions[] = { "halt", "reboot", "poweroff" };

	for (u32 i = 0; i < ARRAY_SIZE(actions); i++)
		if (strcmp(v, actions[i]) == 0) {
			c->on_done = ON_DONE_HALT + i;
			return true;
		}
	return false;
}

static const struct option {
	const char *key;
	bool (*set)(struct cmdline *c, char *value);
	const char *what;
} options[] = {
	{ "tests", set_tests, "comma-separated globs: suite, suite.case" },
	{ "seed", set_seed, "seed of randomized cases (decimal or 0x hex)" },
	{ "iterations", set_iterations, "iterations of randomized cases (> 0)" },
	{ "bugs", set_bugs, "comma-separated historical-bug switches to turn on" },
	{ "watchdog", set_watchdog, "seconds a case may run before it fails as TIMEOUT" },
	{ "x2apic", set_x2apic, "on (default, when the CPU has it) or off" },
	{ "vmalloc_sync", set_vmalloc_sync, "lazy (default), prealloc or eager" },
	{ "numa", set_numa, "off, or fake=N (1..64) to split memory into N nodes" },
	{ "numa_policy", set_numa_policy, "first (default) or twostage" },
	{ "numa_restore_write", set_restore_write, "on or off (default)" },
	{ "numa_scan_period_ms", set_scan_period, "periodic NUMA scan period (0: off, default)" },
	{ "numa_scan_pages", set_scan_pages, "pages per periodic scan pass (default 256)" },
	{ "thp", set_thp, "madvise (default: VMAs with VMA_HUGE_OK), always or never" },
	{ "mmu", set_mmu, "native (default) or pv: read-only page tables behind a validator" },
	{ "race_delay_us", set_race_delay,
	  "microseconds each bug switch's race window is held open (default 0)" },
	{ "screen", set_screen, "on (default: the log on the GOP framebuffer, if any) or off" },
	{ "screen_hold_ms", set_screen_hold,
	  "milliseconds between the closing line and the exit, for a screendump (0..60000)" },
	{ "on_done", set_on_done,
	  "halt, reboot or poweroff at the end of the run (default: QEMU's exit port, else halt)" },
	{ "expect_topology", set_expect_topology,
	  "NODES:CPUS/..:MIB/..:DIST/.. as run-qemu.sh passes it" },
};

static const char *known_keys(void)
{
	static char buf[400];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		n += format(buf + n, sizeof(buf) - n, "%s%s", i ? " " : "", options[i].key);
	return buf;
}

static const struct option *find_option(const char *key)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++)
		if (strcmp(options[i].key, key) == 0)
			return &options[i];
	return NULL;
}

static bool parse_word(char *word, struct cmdline *out, char *err, size_t err_size)
{
	char *eq = strchr(word, '=');
	const struct option *opt;

	if (!eq) {
		format(err, err_size, "'%s' is not key=value", word);
		return false;
	}
	*eq = 0;
	opt = find_option(word);
	if (!opt) {
		format(err, err_size, "unknown option '%s' (known: %s)", word, known_keys());
		return false;
	}
	if (!opt->set(out, eq + 1)) {
		format(err, err_size, "bad value '%s' for %s= (%s)", eq + 1, word, opt->what);
		return false;
	}
	return true;
}

bool cmdline_parse(char *text, struct cmdline *out, char *err, size_t err_size)
{
	*out = (struct cmdline){ .watchdog_seconds = DEFAULT_WATCHDOG_SECONDS, .numa_scan_pages = 256 };
	for (char *p = text; *p;) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char *word = p;
		while (*p && *p != ' ')
			p++;
		if (*p)
			*p++ = 0;
		if (!parse_word(word, out, err, err_size))
			return false;
	}
	return true;
}
