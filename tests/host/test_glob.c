#include "host_test.h"
#include <mmulab/glob.h>

static bool m(const char *p, const char *s)
{
	return glob_match(p, strlen(p), s);
}

static void literal_and_wildcards(void)
{
	CHECK(m("paging", "paging"));
	CHECK(!m("paging", "paging2"));
	CHECK(!m("paging", "pagin"));
	CHECK(m("pag*", "paging"));
	CHECK(m("*ing", "paging"));
	CHECK(m("p*g*g", "paging"));
	CHECK(m("numa*", "numa"));
	CHECK(m("*", ""));
	CHECK(!m("?", ""));
	CHECK(m("n?ma_*", "numa_hint"));
	CHECK(!m("n?ma_*", "nma_hint"));
	CHECK(m("a*b*c", "aXXbYYbZc"));
	CHECK(!m("a*b*c", "aXXbYYbZ"));
}

static void pattern_length_is_honoured(void)
{
	/* tests= patterns are slices of the command line, not C strings. */
	CHECK(glob_match("paging.nx", 6, "paging"));
	CHECK(!glob_match("paging.nx", 9, "paging"));
	CHECK(glob_has_wildcard("ab*", 3));
	CHECK(!glob_has_wildcard("ab*", 2));
}

HOST_SUITE(glob, HOST_CASE(literal_and_wildcards), HOST_CASE(pattern_length_is_honoured));
