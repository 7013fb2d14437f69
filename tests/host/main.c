#include "host_test.h"

bool host_case_failed;

extern const struct host_suite format_suite, glob_suite, cmdline_suite, symbols_suite,
	memblock_suite, vma_suite, pgtable_suite, acpi_suite, pvh_suite, limits_suite;

static const struct host_suite *const suites[] = {
	&format_suite, &glob_suite, &cmdline_suite, &symbols_suite, &memblock_suite, &vma_suite, &pgtable_suite, &acpi_suite, &pvh_suite, &limits_suite,
};

int main(void)
{
	unsigned pass = 0, fail = 0, n = sizeof(suites) / sizeof(suites[0]);

	printf("KTAP version 1\n1..%u\n", n);
	for (unsigned s = 0; s < n; s++) {
		unsigned suite_fail = 0;
		printf("  KTAP version 1\n  # Subtest: host_%s\n  1..%u\n", suites[s]->name,
		       suites[s]->count);
		for (unsigned c = 0; c < suites[s]->count; c++) {
			host_case_failed = false;
			suites[s]->cases[c].run();
			printf("  %s %u %s\n", host_case_failed ? "not ok" : "ok", c + 1,
			       suites[s]->cases[c].name);
			host_case_failed ? (fail++, suite_fail++) : pass++;
		}
		printf("%s %u host_%s\n", suite_fail ? "not ok" : "ok", s + 1, suites[s]->name);
	}
	printf("# totals: pass=%u fail=%u skip=0 error=0\n", pass, fail);
	printf("mmulab: done pass=%u fail=%u skip=0 error=0 verdict=%s\n", pass, fail,
	       fail ? "fail" : "pass");
	return fail ? 1 : 0;
}
