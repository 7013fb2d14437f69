#ifndef MMULAB_KERNEL_H
#define MMULAB_KERNEL_H

#include <mmulab/types.h>
#include <mmulab/log.h>

struct trap_frame;
struct fault_info;
struct boot_info;

/* What the UEFI stage handed over (direct-map address). */
struct boot_info *boot_info(void);

/* How a run ends; the values reach QEMU's isa-debug-exit and run-qemu.sh. */
enum run_verdict {
	VERDICT_PASS = 0,
	VERDICT_FAIL = 1,
	VERDICT_PANIC = 2,
};

void __noreturn panic(const char *fmt, ...) __printf(1, 2);
void __noreturn panic_fault(const struct fault_info *fault, struct trap_frame *frame);
void __noreturn machine_exit(enum run_verdict verdict);
/* A panic is being reported: other CPUs take their NMI as a stop. */
bool panic_in_progress(void);
void __noreturn panic_park_this_cpu(void);

#define ASSERT(cond)                                                            \
	do {                                                                    \
		if (!(cond))                                                    \
			panic("assertion failed at %s:%d: %s", __FILE__,       \
			      __LINE__, #cond);                                 \
	} while (0)

#endif
