#include <arch/tsc.h>
#include <mmulab/bugs.h>
#include <mmulab/cmdline.h>
#include <mmulab/format.h>
#include <mmulab/log.h>
#include <mmulab/string.h>

extern struct bug_switch __bug_switches_start[], __bug_switches_end[];

static struct bug_switch *find_switch(const char *name, size_t len)
{
	for (struct bug_switch *b = __bug_switches_start; b < __bug_switches_end; b++)
		if (strlen(b->name) == len && memcmp(b->name, name, len) == 0)
			return b;
	return NULL;
}

static void list_switches(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = 0;
	for (struct bug_switch *b = __bug_switches_start; b < __bug_switches_end && n < size; b++)
		n += format(buf + n, size - n, "%s%s", n ? " " : "", b->name);
	if (!n)
		format(buf, size, "none");
}

bool bugs_enable(const char *list, const struct cmdline *c, char *err, size_t err_size)
{
	while (*list) {
		const char *comma = strchr(list, ',');
		size_t len = comma ? (size_t)(comma - list) : strlen(list);
		struct bug_switch *b = find_switch(list, len);
		if (!b) {
			char known[256];
			list_switches(known, sizeof(known));
			format(err, err_size, "unknown bug switch '%.*s' (known: %s)", (int)len,
			       list, known);
			return false;
		}
		if (b->in_mode && !b->in_mode(c)) {
			format(err, err_size, "bug switch '%s' acts only with %s", b->name, b->mode);
			return false;
		}
		b->enabled = true;
		list += len + (comma ? 1 : 0);
	}
	return true;
}

void bugs_report(void)
{
	for (struct bug_switch *b = __bug_switches_start; b < __bug_switches_end; b++)
		if (b->enabled)
			printk("mmulab: bug switch ON: %s: %s\n", b->name, b->what);
}

void bug_race_window(void)
{
	if (cmdline.race_delay_us)
		udelay(cmdline.race_delay_us);
}
