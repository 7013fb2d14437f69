#ifndef MMULAB_BUGS_H
#define MMULAB_BUGS_H

/*
 * Historical-bug switches. Each is declared once, in the .c file whose code
 * it changes, with BUG_SWITCH(name, "what it re-enacts"); it is off unless
 * bugs=name is on the command line, and a matrix configuration turns it on
 * and expects its suite to fail.
 */

#include <mmulab/types.h>

struct bug_switch {
	const char *name;
	const char *what;
	bool enabled;
};

#define BUG_SWITCH(name, what)                                                  \
	struct bug_switch bug_##name __section(".bug_switches") __used __aligned(8) = \
		{ #name, what, false }

#define BUG_ACTIVE(name) (__builtin_expect(bug_##name.enabled, 0))

/* Turns on the switches in list ("a,b"); false with err on an unknown name. */
bool bugs_enable(const char *list, char *err, size_t err_size);
void bugs_report(void);

#endif
