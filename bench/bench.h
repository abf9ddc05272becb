/*
 * A tiny benchmark framework for the hosted kernel.
 *
 * A case measures ntos against a Linux peer doing the same work in the same
 * run. Each side runs a warm-up and then BENCH_REPETITIONS timed runs of
 * `ops` operations; the table shows the median ns/op, the spread
 * ((max - min) / median) and the ratio ntos / peer (below 1.0: ntos is
 * faster). Cases register themselves with BENCH_CASE; bench_main.c boots
 * the kernel and runs them.
 */
#ifndef NTOS_BENCH_H
#define NTOS_BENCH_H

#include <stdint.h>

#define BENCH_REPETITIONS 5

/* Runs `ops` operations of one side (per thread) and returns the CPU time
 * they took in nanoseconds, summed over the threads of a multi-threaded
 * case. CPU time rather than wall time, so that other load on the machine
 * (preemption) does not count against either side; each side's threads
 * are the only ones on their processors. */
typedef uint64_t (*bench_fn)(uint64_t ops);

typedef struct bench_case {
    const char *name;
    const char *description;
    bench_fn ntos;
    const char *peer_name;
    bench_fn peer;
    uint64_t ops;
    unsigned threads; /* 0: one thread; else threads of each side (ops are per thread) */
} bench_case;

#define BENCH_CASE(id, desc, ntos_fn, peer_label, peer_fn, nops, nthreads)                                \
    static const bench_case bench_case_##id __attribute__((used, section("ntos_bench_cases"), aligned(8))) = { \
        #id, desc, ntos_fn, peer_label, peer_fn, nops, nthreads}

uint64_t bench_now_ns(void);
/* CPU time of the calling host thread (a kernel thread's current processor
 * on the ntos side). */
uint64_t bench_cpu_ns(void);
/* Processors the hosted kernel was booted with (the multi-threaded cases use
 * one thread per processor on each side). */
unsigned bench_cpus(void);

/*
 * Runs body(index, context) on `count` threads released together: on the
 * ntos side kernel threads, thread i with system affinity to processor
 * cpu_of[i] (modulo the booted processors); on the peer side pthreads, thread
 * i pinned to host processor cpu_of[i] (modulo the online processors).
 * Returns the wall time in nanoseconds from the release to the last body's
 * return. cpu_of NULL: thread i on processor i.
 */
typedef void (*bench_thread_fn)(unsigned index, void *context);
uint64_t bench_run_threads(int ntos, unsigned count, const unsigned *cpu_of, bench_thread_fn body, void *context);

#endif /* NTOS_BENCH_H */
