#include "host_test.h"
#include <mmulab/symbols.h>

static const char table[] =
	"ffffffff80000000 T _start\n"
	"ffffffff80000010 t helper\n"
	"ffffffff80000040 T kmain\n"
	"ffffffff80000100 W weak_fn\n"
	"garbage line\n"
	"ffffffff80000200 T last\n";

static void symbolizes_inside_and_at_edges(void)
{
	char buf[64];

	symbols_init(table, sizeof(table) - 1);
	symbolize(0xffffffff80000000ULL, buf, sizeof(buf));
	CHECK_STR(buf, "_start+0x0/0x10");
	symbolize(0xffffffff8000004fULL, buf, sizeof(buf));
	CHECK_STR(buf, "kmain+0xf/0xc0");
	symbolize(0xffffffff80000210ULL, buf, sizeof(buf));
	CHECK_STR(buf, "last+0x10");
	symbolize(0xffffffff7fffffffULL, buf, sizeof(buf));
	CHECK_STR(buf, "?");
}

static void empty_table(void)
{
	char buf[8];

	symbols_init("", 0);
	symbolize(0x1000, buf, sizeof(buf));
	CHECK_STR(buf, "?");
}

HOST_SUITE(symbols, HOST_CASE(symbolizes_inside_and_at_edges), HOST_CASE(empty_table));
