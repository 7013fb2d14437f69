#ifndef MMULAB_GLOB_H
#define MMULAB_GLOB_H

#include <mmulab/types.h>

/* Shell-style match of the whole of str: '*' any run, '?' one character.
 * pattern is pattern_len bytes (it need not be NUL-terminated). */
bool glob_match(const char *pattern, size_t pattern_len, const char *str);
bool glob_has_wildcard(const char *pattern, size_t len);

#endif
