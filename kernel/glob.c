/* Glob matching for tests= (KUnit's filter_glob has the same shape). */

#include <mmulab/glob.h>

bool glob_match(const char *p, size_t plen, const char *s)
{
	/* Iterative match with one backtrack point: the last '*' seen. */
	size_t pi = 0, si = 0, star = (size_t)-1, star_s = 0;

	while (s[si]) {
		if (pi < plen && (p[pi] == '?' || p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < plen && p[pi] == '*') {
			star = pi++;
			star_s = si;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++star_s;
		} else {
			return false;
		}
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}

bool glob_has_wildcard(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] == '*' || p[i] == '?')
			return true;
	return false;
}
