/*
 * Pool benchmarks: ExAllocatePoolWithTag/ExFreePoolWithTag against glibc
 * malloc/free over the same mixed size distribution (16..4096 bytes,
 * weighted to small), one thread and one thread per processor.
 *
 *  pair: allocate a block and free it at once (the allocator's fast path);
 *  ring: 512 live blocks per thread, each operation frees the oldest and
 *        allocates a new one (blocks stay live for a while, sizes mix).
 * One operation is one allocation plus one free; every block is written
 * once so neither side can skip the work.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>

#include <ntos/ex_pool.h>
#include <ntos/ke.h>
#include <ntos/arch.h>

#include "bench.h"

#define BENCH_TAG 0x68636E42 /* "Bnch" */
#define SIZE_COUNT 4096      /* power of two */
#define RING 512
#define MAX_THREADS 64

static SIZE_T sizes[SIZE_COUNT];

/* A fixed mix: 45% 16..64, 25% 65..256, 15% 257..1024, 10% 1025..2048, 5% 2049..4096. */
static void make_sizes(void)
{
    if (sizes[0] != 0)
        return;
    uint64_t x = 0x243F6A8885A308D3ull;
    for (unsigned i = 0; i < SIZE_COUNT; i++) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        uint64_t r = x * 0x2545F4914F6CDD1Dull;
        unsigned bucket = (unsigned)(r % 100);
        uint64_t v = r >> 32;
        if (bucket < 45)
            sizes[i] = 16 + v % 49;
        else if (bucket < 70)
            sizes[i] = 65 + v % 192;
        else if (bucket < 85)
            sizes[i] = 257 + v % 768;
        else if (bucket < 95)
            sizes[i] = 1025 + v % 1024;
        else
            sizes[i] = 2049 + v % 2048;
    }
}

/* ---- the two allocators behind one interface ---------------------------------------------- */

static inline void *ntos_alloc(SIZE_T n)
{
    return ExAllocatePoolWithTag(NonPagedPoolNx, n, BENCH_TAG);
}

static inline void ntos_free(void *p)
{
    ExFreePoolWithTag(p, BENCH_TAG);
}

static inline void *libc_alloc(SIZE_T n)
{
    return malloc(n);
}

static inline void libc_free(void *p)
{
    free(p);
}

#define DEFINE_WORKLOADS(side)                                                             \
    static void side##_pair(uint64_t ops, unsigned seed)                                  \
    {                                                                                      \
        for (uint64_t i = 0; i < ops; i++) {                                               \
            volatile char *p = side##_alloc(sizes[(i + seed) & (SIZE_COUNT - 1)]);         \
            p[0] = 1;                                                                      \
            side##_free((void *)p);                                                        \
        }                                                                                  \
    }                                                                                      \
    static void side##_ring(uint64_t ops, unsigned seed, void **ring, int phase)           \
    {                                                                                      \
        if (phase == 0) {                                                                  \
            for (unsigned i = 0; i < RING; i++) {                                          \
                ring[i] = side##_alloc(sizes[(i * 7 + seed) & (SIZE_COUNT - 1)]);          \
                *(volatile char *)ring[i] = 1;                                             \
            }                                                                              \
        } else if (phase == 1) {                                                           \
            for (uint64_t i = 0; i < ops; i++) {                                           \
                unsigned slot = (unsigned)(i & (RING - 1));                                \
                side##_free(ring[slot]);                                                   \
                ring[slot] = side##_alloc(sizes[(i * 13 + seed) & (SIZE_COUNT - 1)]);      \
                *(volatile char *)ring[slot] = 1;                                          \
            }                                                                              \
        } else {                                                                           \
            for (unsigned i = 0; i < RING; i++)                                            \
                side##_free(ring[i]);                                                      \
        }                                                                                  \
    }

DEFINE_WORKLOADS(ntos)
DEFINE_WORKLOADS(libc)

static void *rings[MAX_THREADS][RING];

/* ---- one thread ------------------------------------------------------------------------------- */

static uint64_t ntos_pair_1(uint64_t ops)
{
    make_sizes();
    uint64_t t0 = bench_cpu_ns();
    ntos_pair(ops, 0);
    return bench_cpu_ns() - t0;
}

static uint64_t libc_pair_1(uint64_t ops)
{
    make_sizes();
    uint64_t t0 = bench_cpu_ns();
    libc_pair(ops, 0);
    return bench_cpu_ns() - t0;
}

static uint64_t ntos_ring_1(uint64_t ops)
{
    make_sizes();
    ntos_ring(0, 0, rings[0], 0);
    uint64_t t0 = bench_cpu_ns();
    ntos_ring(ops, 0, rings[0], 1);
    uint64_t t = bench_cpu_ns() - t0;
    ntos_ring(0, 0, rings[0], 2);
    return t;
}

static uint64_t libc_ring_1(uint64_t ops)
{
    make_sizes();
    libc_ring(0, 0, rings[0], 0);
    uint64_t t0 = bench_cpu_ns();
    libc_ring(ops, 0, rings[0], 1);
    uint64_t t = bench_cpu_ns() - t0;
    libc_ring(0, 0, rings[0], 2);
    return t;
}

/* ---- one thread per processor ------------------------------------------------------------------ */

typedef struct worker {
    uint64_t ops;
    unsigned index;
    int ring; /* 0: pair, 1: ring */
    uint64_t start, end;
} worker;

static KTHREAD ntos_threads[MAX_THREADS];
static worker workers[MAX_THREADS];
static volatile LONG ready, go;

static void worker_body(worker *w, int ntos)
{
    unsigned seed = w->index * 977;
    if (w->ring) {
        if (ntos)
            ntos_ring(0, seed, rings[w->index], 0);
        else
            libc_ring(0, seed, rings[w->index], 0);
    }
    __atomic_fetch_add(&ready, 1, __ATOMIC_ACQ_REL);
    /* A kernel thread spins at an interruptible point, so the processor
     * can still switch to the thread that sets go. */
    while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE)) {
        if (ntos)
            arch_pause();
        else
            __builtin_ia32_pause();
    }
    w->start = bench_cpu_ns();
    if (ntos)
        w->ring ? ntos_ring(w->ops, seed, rings[w->index], 1) : ntos_pair(w->ops, seed);
    else
        w->ring ? libc_ring(w->ops, seed, rings[w->index], 1) : libc_pair(w->ops, seed);
    w->end = bench_cpu_ns();
    if (w->ring) {
        if (ntos)
            ntos_ring(0, seed, rings[w->index], 2);
        else
            libc_ring(0, seed, rings[w->index], 2);
    }
}

static VOID NTAPI ntos_worker(PVOID Context)
{
    worker *w = Context;
    /* One per processor, as the Linux peer gets one host thread each. */
    KeSetSystemAffinityThread((KAFFINITY)1 << w->index);
    worker_body(w, 1);
}

static void *libc_worker(void *Context)
{
    worker_body(Context, 0);
    return NULL;
}

/* CPU time of all workers together. */
static uint64_t span(unsigned n)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < n; i++)
        total += workers[i].end - workers[i].start;
    return total;
}

static uint64_t run_parallel(uint64_t ops, int ring, int ntos)
{
    make_sizes();
    unsigned n = bench_cpus();
    if (n > MAX_THREADS)
        n = MAX_THREADS;
    ready = 0;
    go = 0;
    pthread_t peers[MAX_THREADS];
    for (unsigned i = 0; i < n; i++) {
        workers[i] = (worker){ops, i, ring, 0, 0};
        if (ntos) {
            if (!NT_SUCCESS(KeInitializeThread(&ntos_threads[i], NULL, 0, ntos_worker, &workers[i], 8)))
                abort();
            KeStartThread(&ntos_threads[i]);
        } else if (pthread_create(&peers[i], NULL, libc_worker, &workers[i]) != 0) {
            abort();
        }
    }
    /* The caller is a kernel thread too: it sleeps while the workers (one
     * of them bound to its processor) get ready. */
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) != (LONG)n) {
        LARGE_INTEGER interval;
        interval.QuadPart = -10000; /* 1 ms */
        KeDelayExecutionThread(KernelMode, FALSE, &interval);
    }
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < n; i++) {
        if (ntos) {
            KeWaitForSingleObject(&ntos_threads[i], Executive, KernelMode, FALSE, NULL);
            KeDeleteThread(&ntos_threads[i]);
        } else {
            pthread_join(peers[i], NULL);
        }
    }
    return span(n);
}

static uint64_t ntos_pair_all(uint64_t ops)
{
    return run_parallel(ops, 0, 1);
}

static uint64_t libc_pair_all(uint64_t ops)
{
    return run_parallel(ops, 0, 0);
}

static uint64_t ntos_ring_all(uint64_t ops)
{
    return run_parallel(ops, 1, 1);
}

static uint64_t libc_ring_all(uint64_t ops)
{
    return run_parallel(ops, 1, 0);
}

BENCH_CASE(pool_pair_mixed, "alloc+free at once, 16..4096 bytes", ntos_pair_1, "glibc malloc/free", libc_pair_1,
           2000000, 0);
BENCH_CASE(pool_ring_mixed, "512 live blocks, replace oldest, 16..4096 bytes", ntos_ring_1, "glibc malloc/free",
           libc_ring_1, 2000000, 0);
BENCH_CASE(pool_pair_mixed_all_cpus, "pair, one thread per processor", ntos_pair_all, "glibc malloc/free",
           libc_pair_all, 1000000, 1);
BENCH_CASE(pool_ring_mixed_all_cpus, "ring, one thread per processor", ntos_ring_all, "glibc malloc/free",
           libc_ring_all, 1000000, 1);
