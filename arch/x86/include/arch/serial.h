#ifndef ARCH_SERIAL_H
#define ARCH_SERIAL_H

#include <mmulab/types.h>

struct acpi_info;

/* COM1 at 115200 baud 8N1: the console from the first line of kmain. */
void serial_init(void);
void serial_write(const char *s, size_t n);

/* Moves the console to the UART the SPCR names, saying so on both ports;
 * one line and COM1 stays when there is no SPCR or it cannot be used. */
void serial_follow_spcr(const struct acpi_info *acpi);

#endif
