/*
 * clock.h - the benchmarks' one clock: monotonic, so that a change of the
 * date during a run does not count.
 */
#ifndef SITHS_BENCH_CLOCK_H
#define SITHS_BENCH_CLOCK_H

#include <time.h>

static inline double
bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
