/*
 * Kernel symbols for backtraces. The table is text made at build time by
 * `nm -n` (see the Makefile): one "address type name" line per symbol,
 * sorted by address. It is only read when something goes wrong, so a
 * linear scan is fine and nothing is allocated.
 */

#include <mmulab/symbols.h>
#include <mmulab/format.h>
#include <mmulab/string.h>

static const char *table;
static size_t table_size;

struct sym_line {
	vaddr_t addr;
	const char *name;
	size_t name_len;
	bool text; /* a code symbol: t, T, or weak w, W */
};

void symbols_init(const char *text, size_t size)
{
	table = text;
	table_size = size;
}

static size_t line_end(size_t pos)
{
	while (pos < table_size && table[pos] != '\n')
		pos++;
	return pos;
}

/* Parses the line at pos; false for anything not "hex type name". */
static bool parse_line(size_t pos, size_t end, struct sym_line *out)
{
	size_t i = pos;

	while (i < end && table[i] != ' ')
		i++;
	if (i + 3 > end || !parse_hex(table + pos, i - pos, &out->addr))
		return false;
	char type = table[i + 1];
	out->text = type == 't' || type == 'T' || type == 'w' || type == 'W';
	out->name = table + i + 3;
	out->name_len = end - (i + 3);
	return out->name_len > 0;
}

/* The code symbol at or below addr, and the next one's address. */
static bool find_containing(vaddr_t addr, struct sym_line *best, vaddr_t *next)
{
	struct sym_line s;
	bool found = false;

	*next = 0;
	for (size_t pos = 0; pos < table_size;) {
		size_t end = line_end(pos);
		if (parse_line(pos, end, &s) && s.text) {
			if (s.addr <= addr) {
				*best = s;
				found = true;
			} else if (found && s.addr > best->addr) {
				*next = s.addr;
				return true;
			}
		}
		pos = end + 1;
	}
	return found;
}

void symbolize(vaddr_t addr, char *buf, size_t size)
{
	struct sym_line s = { 0 };
	vaddr_t next;

	if (!table || !find_containing(addr, &s, &next)) {
		format(buf, size, "?");
		return;
	}
	if (next)
		format(buf, size, "%.*s+0x%lx/0x%lx", (int)s.name_len, s.name, addr - s.addr,
		       next - s.addr);
	else
		format(buf, size, "%.*s+0x%lx", (int)s.name_len, s.name, addr - s.addr);
}
