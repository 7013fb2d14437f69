#ifndef MMULAB_TYPES_H
#define MMULAB_TYPES_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

/* Physical and virtual addresses are both integers; the names keep them
 * apart at every interface, and logs print them as P0x... and V0x.... */
typedef u64 paddr_t;
typedef u64 vaddr_t;

#define KiB (1UL << 10)
#define MiB (1UL << 20)
#define GiB (1UL << 30)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_DOWN(x, a) ((x) & ~((u64)(a) - 1))
#define ALIGN_UP(x, a) ALIGN_DOWN((x) + (a) - 1, (a))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a) - 1)) == 0)
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define __packed __attribute__((packed))
#define __noreturn __attribute__((noreturn))
#define __printf(f, a) __attribute__((format(printf, f, a)))
#define __section(s) __attribute__((section(s)))
#define __used __attribute__((used))
#define __aligned(n) __attribute__((aligned(n)))

#endif
