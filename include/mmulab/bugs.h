#ifndef MMULAB_BUGS_H
#define MMULAB_BUGS_H

/*
 * Historical-bug switches. Each is declared once, in the .c file whose code
 * it changes, with BUG_SWITCH(name, "what it re-enacts"); it is off unless
 * bugs=name is on the command line, and a matrix configuration turns it on
 * and expects its suite to fail. A switch that only acts in one mode of an
 * option is declared with BUG_SWITCH_IN_MODE: turning it on without that
 * mode is refused with one line at boot, so it never silently does nothing.
 */

#include <mmulab/types.h>

struct cmdline;

struct bug_switch {
	const char *name;
	const char *what;
	/* The mode the switch acts in, NULL for every mode: whether the parsed
	 * command line selects it, and the option that does. */
	bool (*in_mode)(const struct cmdline *c);
	const char *mode;
	bool enabled;
};

#define BUG_SWITCH_IN_MODE(name, what, in_mode, mode)                            \
	struct bug_switch bug_##name __section(".bug_switches") __used __aligned(8) = \
		{ #name, what, in_mode, mode, false }
#define BUG_SWITCH(name, what) BUG_SWITCH_IN_MODE(name, what, NULL, NULL)

#define BUG_ACTIVE(name) (__builtin_expect(bug_##name.enabled, 0))

/* Turns on the switches in list ("a,b"); false with err on an unknown name
 * or a switch whose mode c does not select. */
bool bugs_enable(const char *list, const struct cmdline *c, char *err, size_t err_size);
void bugs_report(void);

/* The named race window of a switch that is on: held open race_delay_us
 * (boot option, default 0) so the race it opens is hit within seconds
 * under TCG. Called only on a switch's buggy path. */
void bug_race_window(void);

#endif
