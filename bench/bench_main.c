/*
 * ntos_bench: boots the hosted kernel (NTOS_CPUS processors, default: every
 * host processor), initialises the pool, runs every registered case against
 * its Linux peer and prints one table row per case. Options:
 *   --json=FILE     also append one JSON object per case to FILE
 *   --filter=TEXT   run only cases whose name contains TEXT
 *   --scale=X       multiply every case's operation count by X (e.g. 0.1)
 *   --repetitions=N timed runs per side (default BENCH_REPETITIONS, 1..31)
 *   --list          print the case names and exit (no boot)
 *   --kbench[=PCT]  run the in-kernel cases instead (bench/kbench.c, the code
 *                   the QEMU image runs with `bench` on its command line),
 *                   operation counts scaled to PCT percent (default 100)
 * Meant for the host-release preset; sanitizer builds run it too but their
 * numbers mean nothing.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <host.h>
#include <ntos/ex_pool.h>
#include <ntos/ke.h>

#include "bench.h"

VOID KbenchRunAll(ULONG Percent); /* kbench.c */

extern const bench_case __start_ntos_bench_cases[];
extern const bench_case __stop_ntos_bench_cases[];

static unsigned booted_cpus;

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

unsigned bench_cpus(void)
{
    return booted_cpus;
}

/* ---- the thread runner (bench.h) ------------------------------------------------------- */

#define RUNNER_MAX_THREADS 64

typedef struct runner_thread {
    unsigned index;
    unsigned cpu;
    bench_thread_fn body;
    void *context;
    uint64_t end;
} runner_thread;

static volatile LONG runner_ready, runner_go;
static uint64_t runner_start;

static void runner_body(runner_thread *t, int ntos)
{
    __atomic_fetch_add(&runner_ready, 1, __ATOMIC_ACQ_REL);
    while (!__atomic_load_n(&runner_go, __ATOMIC_ACQUIRE)) {
        if (ntos)
            arch_pause(); /* an interruptible point: the releasing thread can run */
        else
            __builtin_ia32_pause();
    }
    t->body(t->index, t->context);
    t->end = bench_now_ns();
}

static VOID NTAPI runner_ntos_thread(PVOID Context)
{
    runner_thread *t = Context;
    KeSetSystemAffinityThread((KAFFINITY)1 << t->cpu);
    runner_body(t, 1);
}

static void *runner_peer_thread(void *Context)
{
    runner_body(Context, 0);
    return NULL;
}

uint64_t bench_run_threads(int ntos, unsigned count, const unsigned *cpu_of, bench_thread_fn body, void *context)
{
    static runner_thread threads[RUNNER_MAX_THREADS];
    static KTHREAD kthreads[RUNNER_MAX_THREADS];
    pthread_t pthreads[RUNNER_MAX_THREADS];
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    if (count > RUNNER_MAX_THREADS)
        abort();
    runner_ready = 0;
    runner_go = 0;
    for (unsigned i = 0; i < count; i++) {
        unsigned cpu = cpu_of != NULL ? cpu_of[i] : i;
        threads[i] = (runner_thread){i, cpu % (ntos ? booted_cpus : (unsigned)(online > 0 ? online : 1)), body,
                                     context, 0};
        if (ntos) {
            if (!NT_SUCCESS(KeInitializeThread(&kthreads[i], NULL, 0, runner_ntos_thread, &threads[i], 8)))
                abort();
            KeStartThread(&kthreads[i]);
        } else {
            pthread_attr_t attr;
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(threads[i].cpu, &set);
            pthread_attr_init(&attr);
            pthread_attr_setaffinity_np(&attr, sizeof(set), &set);
            if (pthread_create(&pthreads[i], &attr, runner_peer_thread, &threads[i]) != 0)
                abort();
            pthread_attr_destroy(&attr);
        }
    }
    while (__atomic_load_n(&runner_ready, __ATOMIC_ACQUIRE) != (LONG)count) {
        if (ntos) {
            LARGE_INTEGER interval;
            interval.QuadPart = -10000; /* 1 ms */
            KeDelayExecutionThread(KernelMode, FALSE, &interval);
        } else {
            usleep(1000);
        }
    }
    runner_start = bench_now_ns();
    __atomic_store_n(&runner_go, 1, __ATOMIC_RELEASE);
    uint64_t last = runner_start;
    for (unsigned i = 0; i < count; i++) {
        if (ntos) {
            KeWaitForSingleObject(&kthreads[i], Executive, KernelMode, FALSE, NULL);
            KeDeleteThread(&kthreads[i]);
        } else {
            pthread_join(pthreads[i], NULL);
        }
        if (threads[i].end > last)
            last = threads[i].end;
    }
    return last - runner_start;
}

/* JSON string body: the descriptions are plain ASCII; escape what JSON requires anyway. */
static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

#ifndef NTOS_BENCH_PRESET
#define NTOS_BENCH_PRESET "unknown"
#endif

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    double median, spread;
} stats;

#define MAX_REPETITIONS 31
static int repetitions = BENCH_REPETITIONS;

/* Median and spread of `repetitions` timed runs after one warm-up. */
static stats measure(bench_fn fn, uint64_t ops, unsigned threads)
{
    double ns[MAX_REPETITIONS];
    uint64_t total = ops * (threads ? threads : 1);
    fn(ops / 10 + 1);
    for (int r = 0; r < repetitions; r++)
        ns[r] = (double)fn(ops) / (double)total;
    qsort(ns, (size_t)repetitions, sizeof(ns[0]), compare_double);
    stats s;
    s.median = ns[repetitions / 2];
    s.spread = s.median > 0 ? (ns[repetitions - 1] - ns[0]) / s.median * 100.0 : 0;
    return s;
}

int main(int argc, char **argv)
{
    const char *json = NULL, *filter = NULL;
    long kbench = -1;
    double scale = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--json=", 7) == 0)
            json = argv[i] + 7;
        else if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strncmp(argv[i], "--scale=", 8) == 0)
            scale = atof(argv[i] + 8);
        else if (strncmp(argv[i], "--repetitions=", 14) == 0)
            repetitions = atoi(argv[i] + 14);
        else if (strcmp(argv[i], "--kbench") == 0)
            kbench = 100;
        else if (strncmp(argv[i], "--kbench=", 9) == 0)
            kbench = atol(argv[i] + 9);
        else if (strcmp(argv[i], "--list") == 0) {
            for (const bench_case *c = __start_ntos_bench_cases; c < __stop_ntos_bench_cases; c++)
                printf("%s\n", c->name);
            return 0;
        } else {
            fprintf(stderr, "usage: %s [--json=FILE] [--filter=TEXT] [--scale=X] [--repetitions=N] [--list]\n",
                    argv[0]);
            return 2;
        }
    }

    if (repetitions < 1 || repetitions > MAX_REPETITIONS) {
        fprintf(stderr, "--repetitions: 1..%d\n", MAX_REPETITIONS);
        return 2;
    }

    NTOS_HOST_CONFIG config;
    host_config_from_environment(&config);
    if (getenv("NTOS_CPUS") == NULL) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        config.Cpus = n > 0 ? (ULONG)n : 1;
    }
    host_boot(&config);
    ExInitializePool();
    booted_cpus = arch_processor_count();
    if (kbench >= 0) {
        KbenchRunAll((ULONG)kbench);
        fflush(stdout);
        _exit(0);
    }

    FILE *out = NULL;
    if (json != NULL && (out = fopen(json, "a")) == NULL) {
        perror(json);
        return 1;
    }

    printf("ntos_bench: %u processor(s), %d repetitions, median CPU ns/op (spread), ratio = ntos / peer\n",
           booted_cpus, repetitions);
    printf("%-36s %3s %12s %7s   %-18s %12s %7s %7s\n", "case", "thr", "ntos ns/op", "spread", "peer",
           "peer ns/op", "spread", "ratio");
    for (const bench_case *c = __start_ntos_bench_cases; c < __stop_ntos_bench_cases; c++) {
        if (filter != NULL && strstr(c->name, filter) == NULL)
            continue;
        uint64_t ops = (uint64_t)((double)c->ops * scale);
        if (ops == 0)
            ops = 1;
        unsigned threads = c->threads ? bench_cpus() : 1;
        stats n = measure(c->ntos, ops, c->threads ? threads : 0);
        stats p = measure(c->peer, ops, c->threads ? threads : 0);
        double ratio = p.median > 0 ? n.median / p.median : 0;
        printf("%-36s %3u %12.1f %6.1f%%   %-18s %12.1f %6.1f%% %7.2f\n", c->name, threads, n.median, n.spread,
               c->peer_name, p.median, p.spread, ratio);
        fflush(stdout);
        if (out != NULL) {
            /* One object per case and line. ns/op are medians of the repetitions;
             * iterations = operations per repetition per thread. */
            fprintf(out, "{\"name\":");
            json_string(out, c->name);
            fprintf(out, ",\"description\":");
            json_string(out, c->description);
            fprintf(out,
                    ",\"ntos_ns_per_op\":%.2f,\"peer_ns_per_op\":%.2f,\"ratio\":%.3f,\"iterations\":%llu,"
                    "\"threads\":%u,\"cpus\":%u,\"preset\":\"%s\",\"repetitions\":%d,"
                    "\"ntos_spread_pct\":%.1f,\"peer_spread_pct\":%.1f,\"peer\":",
                    n.median, p.median, ratio, (unsigned long long)ops, threads, bench_cpus(), NTOS_BENCH_PRESET,
                    repetitions, n.spread, p.spread);
            json_string(out, c->peer_name);
            fprintf(out, "}\n");
            fflush(out);
        }
    }
    if (out != NULL)
        fclose(out);
    fflush(stdout);
    /* The kernel's processors are still running: leave without tearing down. */
    _exit(0);
}
