/* Benchmark load for bench/trace.sh: N setuid(0) calls, each one CAP_SETUID check.
 * Prints the loop's own duration in nanoseconds, so process start-up and the tracer's
 * attach time are not counted: wall clock (loop_ns) and this thread's CPU time (cpu_ns).
 * CPU time is what the in-kernel hook adds to the traced process and is not inflated when
 * other processes (the tracer itself, other jobs) compete for the cores. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	struct timespec a, b, ca, cb;
	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ca);
	for (long i = 0; i < n; i++) {
		if (setuid(0) != 0) {
			perror("setuid");
			return 1;
		}
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cb);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long long ns = (b.tv_sec - a.tv_sec) * 1000000000LL + (b.tv_nsec - a.tv_nsec);
	long long cpu = (cb.tv_sec - ca.tv_sec) * 1000000000LL + (cb.tv_nsec - ca.tv_nsec);
	fprintf(stderr, "loop_ns %lld\ncpu_ns %lld\n", ns, cpu);
	return 0;
}
