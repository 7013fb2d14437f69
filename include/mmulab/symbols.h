#ifndef MMULAB_SYMBOLS_H
#define MMULAB_SYMBOLS_H

#include <mmulab/types.h>

/* Symbolization from the table the build generates with nm and the UEFI
 * stage hands over ("hexaddr type name" per line, sorted). */
void symbols_init(const char *text, size_t size);

/* Writes "name+0xoff/0xsize" for addr into buf; "?" when unknown. */
void symbolize(vaddr_t addr, char *buf, size_t size);

#endif
