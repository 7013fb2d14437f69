/* The init of `make bench-linux`: runs as PID 1 under Debian's stock
 * kernel, in the QEMU configuration of our own bench, and measures from user
 * space the operations our kernel measures in-kernel. It prints them as our
 * "# bench:" lines (tests/kernel/bench_util.h) and closes with our kernel's
 * closing line, so tools/bench_collect.py takes its log as it takes ours,
 * then powers the machine off.
 *
 * Every figure is timed with rdtsc (comparable with our TSC figures) and with
 * clock_gettime(CLOCK_MONOTONIC) (printed as a "# time:" line beside it).
 * A Linux figure includes the user/kernel round trip of the fault or call. */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cpuid.h>

#define PAGE 4096UL
#define HUGE (2UL << 20)
#define SHORT_SAMPLES 1000 /* faults, mprotect, 4 KiB moves */
#define LONG_SAMPLES 100   /* 2 MiB copies cost the emulator milliseconds */
#define MPOL_MF_MOVE (1 << 1)

struct sample {
	uint64_t tsc;
	uint64_t ns;
};

static int passed, failed, skipped;

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct sample start(void)
{
	uint64_t ns = now_ns();
	return (struct sample){ rdtsc(), ns };
}

/* The elapsed time since s; the monotonic clock is read first on the way
 * out and last on the way in, so the TSC interval lies inside it. */
static struct sample since(struct sample s)
{
	uint64_t tsc = rdtsc();
	return (struct sample){ tsc - s.tsc, now_ns() - s.ns };
}

/* Our kernel's note says what the TSC counts under TCG; same test here. */
static const char *clock_note(void)
{
	unsigned a, b, c, d;
	char vendor[13] = "";
	__cpuid(1, a, b, c, d);
	if (c & (1u << 31)) {
		__cpuid(0x40000000, a, b, c, d);
		memcpy(vendor, &b, 4);
		memcpy(vendor + 4, &c, 4);
		memcpy(vendor + 8, &d, 4);
	}
	return strcmp(vendor, "TCGTCGTCGTCG") == 0 ?
		       "TSC under TCG: host emulation time, not CPU cycles" : "TSC";
}

static int by_value(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report_one(const char *name, const char *unit, uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), by_value);
	if (strcmp(unit, "cycles") == 0)
		printf("# bench: linux_%s=%lu cycles (min %lu, median %lu, p90 %lu, %d samples; %s)\n",
		       name, v[n / 2], v[0], v[n / 2], v[n * 9 / 10], n, clock_note());
	else
		printf("# time: linux_%s=%lu ns (min %lu, median %lu, p90 %lu, %d samples; "
		       "CLOCK_MONOTONIC)\n", name, v[n / 2], v[0], v[n / 2], v[n * 9 / 10], n);
}

/* Prints both clocks' figures of n samples and counts the case passed. */
static void report(const char *name, struct sample *s, int n)
{
	uint64_t *v = malloc(n * sizeof(*v));
	for (int i = 0; i < n; i++)
		v[i] = s[i].tsc;
	report_one(name, "cycles", v, n);
	for (int i = 0; i < n; i++)
		v[i] = s[i].ns;
	report_one(name, "ns", v, n);
	free(v);
	passed++;
}

static void fail(const char *name, const char *why)
{
	printf("# linux_%s: FAIL: %s (errno %d: %s)\n", name, why, errno, strerror(errno));
	failed++;
}

static void skip(const char *name, const char *why)
{
	printf("# linux_%s: SKIP: %s\n", name, why);
	skipped++;
}

static char *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* len bytes at a 2 MiB boundary, so a THP can back them. */
static char *map_huge_aligned(size_t len)
{
	char *p = map_anon(len + HUGE);
	if (!p)
		return NULL;
	return (char *)(((uintptr_t)p + HUGE - 1) & ~(HUGE - 1));
}

/* The round-trip floor: a system call that does no work (getppid, made
 * raw so no library cache answers it; PID 1's parent is 0). */
static void bench_null_syscall(struct sample *s)
{
	for (int i = 0; i < SHORT_SAMPLES; i++) {
		struct sample t = start();
		long r = syscall(SYS_getppid);
		s[i] = since(t);
		if (r != 0)
			return fail("null_syscall", "getppid did not return 0");
	}
	report("null_syscall", s, SHORT_SAMPLES);
}

/* Demand-zero faults: the first write to each 4 KiB page (THP off). */
static void bench_page_fault(struct sample *s)
{
	char *p = map_anon(SHORT_SAMPLES * PAGE);
	if (!p || madvise(p, SHORT_SAMPLES * PAGE, MADV_NOHUGEPAGE))
		return fail("page_fault", "mmap/madvise");
	for (int i = 0; i < SHORT_SAMPLES; i++) {
		struct sample t = start();
		*(volatile char *)(p + i * PAGE) = 1;
		s[i] = since(t);
	}
	munmap(p, SHORT_SAMPLES * PAGE);
	report("page_fault", s, SHORT_SAMPLES);
}

/* COW copies: the parent writes pages it shares with a forked child that
 * waits, so each write copies (the page has two users). */
static void bench_cow_fault(struct sample *s)
{
	char *p = map_anon(SHORT_SAMPLES * PAGE);
	int gate[2];
	if (!p || madvise(p, SHORT_SAMPLES * PAGE, MADV_NOHUGEPAGE) || pipe(gate))
		return fail("cow_fault", "mmap/madvise/pipe");
	for (int i = 0; i < SHORT_SAMPLES; i++)
		p[i * PAGE] = (char)i;
	pid_t child = fork();
	if (child < 0)
		return fail("cow_fault", "fork");
	if (child == 0) {
		char c;
		close(gate[1]);
		read(gate[0], &c, 1);
		_exit(0);
	}
	int wrong = 0;
	for (int i = 0; i < SHORT_SAMPLES; i++) {
		struct sample t = start();
		*(volatile char *)(p + i * PAGE) += 1;
		s[i] = since(t);
		wrong += p[i * PAGE] != (char)(i + 1);
	}
	close(gate[1]);
	waitpid(child, NULL, 0);
	close(gate[0]);
	munmap(p, SHORT_SAMPLES * PAGE);
	if (wrong)
		return fail("cow_fault", "a copied page lost its contents");
	report("cow_fault", s, SHORT_SAMPLES);
}

/* mprotect of 512 present 4 KiB pages, read-only and back in turn. */
static void bench_mprotect_512(struct sample *s)
{
	size_t len = 512 * PAGE;
	char *p = map_anon(len);
	if (!p || madvise(p, len, MADV_NOHUGEPAGE))
		return fail("mprotect_512", "mmap/madvise");
	memset(p, 1, len);
	for (int i = 0; i < SHORT_SAMPLES; i++) {
		int prot = i % 2 ? PROT_READ | PROT_WRITE : PROT_READ;
		struct sample t = start();
		int r = mprotect(p, len, prot);
		s[i] = since(t);
		if (r)
			return fail("mprotect_512", "mprotect");
	}
	munmap(p, len);
	report("mprotect_512", s, SHORT_SAMPLES);
}

static long move_one(void *page, int node, int *status)
{
	return syscall(SYS_move_pages, 0, 1UL, &page, &node, status, MPOL_MF_MOVE);
}

/* 4 KiB pages: each of SHORT_SAMPLES pages moved once, node 0 to 1. */
static void bench_move_4k(struct sample *s)
{
	size_t len = SHORT_SAMPLES * PAGE;
	char *p = map_anon(len);
	int status;
	if (!p || madvise(p, len, MADV_NOHUGEPAGE))
		return fail("move_pages_4k", "mmap/madvise");
	memset(p, 1, len);
	if (move_one(p, 1, &status) < 0 && errno == ENOSYS)
		return skip("move_pages_4k", "no move_pages");
	move_one(p, 0, &status);
	for (int i = 0; i < SHORT_SAMPLES; i++) {
		struct sample t = start();
		long r = move_one(p + i * PAGE, 1, &status);
		s[i] = since(t);
		if (r < 0 || status != 1) {
			errno = r < 0 ? errno : (status < 0 ? -status : 0);
			return fail("move_pages_4k", "page not on node 1 after move_pages");
		}
	}
	munmap(p, len);
	report("move_pages_4k", s, SHORT_SAMPLES);
}

static int is_thp(char *p)
{
	/* /proc/self/smaps is long; kpageflags needs root (we are) but the
	 * AnonHugePages line of the mapping is enough. */
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	int in_vma = 0, huge = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in_vma = (uintptr_t)p >= lo && (uintptr_t)p < hi;
		else if (in_vma && sscanf(line, "AnonHugePages: %d kB", &huge) == 1)
			break;
	}
	fclose(f);
	return huge >= 2048;
}

static char *fault_thp(void)
{
	char *p = map_huge_aligned(HUGE);
	if (!p || madvise(p, HUGE, MADV_HUGEPAGE))
		return NULL;
	memset(p, 1, HUGE);
	return is_thp(p) ? p : NULL;
}

/* One THP moved between the nodes, back and forth. */
static void bench_move_2m(struct sample *s)
{
	char *p = fault_thp();
	int status;
	if (!p)
		return skip("move_pages_2m", "no THP after MADV_HUGEPAGE and a fault");
	move_one(p, 0, &status);
	for (int i = 0; i < LONG_SAMPLES; i++) {
		int target = i % 2 ? 0 : 1;
		struct sample t = start();
		long r = move_one(p, target, &status);
		s[i] = since(t);
		if (r < 0 || status != target) {
			errno = r < 0 ? errno : (status < 0 ? -status : 0);
			return fail("move_pages_2m", "THP not on the target node after move_pages");
		}
	}
	if (!is_thp(p))
		return fail("move_pages_2m", "the THP was split on the way");
	report("move_pages_2m", s, LONG_SAMPLES);
}

/* A THP split: MADV_DONTNEED of one 4 KiB page inside a fresh THP. */
static void bench_thp_split(struct sample *s)
{
	for (int i = 0; i < LONG_SAMPLES; i++) {
		char *p = fault_thp();
		if (!p)
			return skip("thp_split", "no THP after MADV_HUGEPAGE and a fault");
		struct sample t = start();
		int r = madvise(p + PAGE, PAGE, MADV_DONTNEED);
		s[i] = since(t);
		if (r || p[PAGE] != 0 || p[0] != 1 || is_thp(p))
			return fail("thp_split", "the THP was not split, or lost data");
		munmap(p, HUGE);
	}
	report("thp_split", s, LONG_SAMPLES);
}

static long vmstat(const char *name)
{
	FILE *f = fopen("/proc/vmstat", "r");
	char key[64];
	long v, found = -1;
	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &v) == 2)
		if (strcmp(key, name) == 0)
			found = v;
	fclose(f);
	return found;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	int ok = fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	if (fd >= 0)
		close(fd);
	return ok;
}

static void *idle_thread(void *unused)
{
	(void)unused;
	for (;;)
		pause();
	return NULL;
}

static void time_reads(char *p, int n, struct sample *out)
{
	for (int i = 0; i < n; i++) {
		struct sample t = start();
		(void)*(volatile char *)(p + i * PAGE);
		out[i] = since(t);
	}
}

/* NUMA hinting faults without migration: wait (reading /proc/vmstat, not
 * the pages) until the scanner has made the pages PROT_NONE, then read each
 * once. The sweep counts only when numa_hint_faults grew by exactly its page
 * count and no page migrated: every read was one hinting fault. Page 0 is
 * read first, untimed, by the same code, so the sweep's own code, stack and
 * sample array have taken their hinting faults before the count. */
static void bench_numa_hint(struct sample *s)
{
	size_t len = (SHORT_SAMPLES + 1) * PAGE;
	char *p = map_anon(len);
	struct sample warm;
	if (!p || madvise(p, len, MADV_NOHUGEPAGE))
		return fail("numa_hint_fault", "mmap/madvise");
	memset(p, 1, len);
	/* A second thread in the mm: Linux leaves the PTEs of pages on the
	 * node of a single-threaded process alone (change_pte_range). */
	pthread_t idle;
	if (pthread_create(&idle, NULL, idle_thread, NULL))
		return fail("numa_hint_fault", "pthread_create");
	if (!write_file("/proc/sys/kernel/numa_balancing", "1"))
		return skip("numa_hint_fault", "cannot enable /proc/sys/kernel/numa_balancing");
	mkdir("/sys", 0755);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	write_file("/sys/kernel/debug/sched/numa_balancing/scan_delay_ms", "0");
	write_file("/sys/kernel/debug/sched/numa_balancing/scan_period_min_ms", "100");
	write_file("/sys/kernel/debug/sched/numa_balancing/scan_period_max_ms", "1000");
	uint64_t deadline = now_ns() + 60000000000ull;
	long tries = 0;
	while (now_ns() < deadline) {
		long updates = vmstat("numa_pte_updates");
		while (vmstat("numa_pte_updates") < updates + SHORT_SAMPLES + 1 && now_ns() < deadline)
			;
		memset(s, 0, SHORT_SAMPLES * sizeof(*s));
		time_reads(p, 1, &warm);
		long hints = vmstat("numa_hint_faults"), moved = vmstat("numa_pages_migrated");
		time_reads(p + PAGE, SHORT_SAMPLES, s);
		long got = vmstat("numa_hint_faults") - hints;
		tries++;
		if (got == SHORT_SAMPLES && vmstat("numa_pages_migrated") == moved) {
			printf("# linux_numa_hint_fault: scan %ld: 1000 reads, 1000 hinting faults, "
			       "none migrated\n", tries);
			munmap(p, len);
			return report("numa_hint_fault", s, SHORT_SAMPLES);
		}
		printf("# linux_numa_hint_fault: scan %ld: %ld hinting faults in the sweep\n", tries, got);
	}
	errno = 0;
	fail("numa_hint_fault", "no sweep in 60 s where every read took a hinting fault");
}

static void pin_to_cpu0(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

int main(void)
{
	static struct sample s[SHORT_SAMPLES];
	mkdir("/proc", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_to_cpu0();
	printf("# linux-bench: stock Linux, user-space figures (each includes the kernel entry "
	       "and exit)\n");
	bench_null_syscall(s);
	bench_page_fault(s);
	bench_cow_fault(s);
	bench_mprotect_512(s);
	bench_move_4k(s);
	bench_move_2m(s);
	bench_thp_split(s);
	bench_numa_hint(s);
	printf("mmulab: done pass=%d fail=%d skip=%d error=0 verdict=%s\n", passed, failed, skipped,
	       failed ? "fail" : "pass");
	fflush(stdout);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}
