/*
 * ntos_bench: boots the hosted kernel (NTOS_CPUS processors, default: every
 * host processor), initialises the pool, runs every registered case against
 * its Linux peer and prints one table row per case. Options:
 *   --json=FILE     also append one JSON object per case to FILE
 *   --filter=TEXT   run only cases whose name contains TEXT
 *   --scale=X       multiply every case's operation count by X (e.g. 0.1)
 * Meant for the host-release preset; sanitizer builds run it too but their
 * numbers mean nothing.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <host.h>
#include <ntos/ex_pool.h>

#include "bench.h"

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

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct stats {
    double median, spread;
} stats;

/* Median and spread of BENCH_REPETITIONS timed runs after one warm-up. */
static stats measure(bench_fn fn, uint64_t ops, unsigned threads)
{
    double ns[BENCH_REPETITIONS];
    uint64_t total = ops * (threads ? threads : 1);
    fn(ops / 10 + 1);
    for (int r = 0; r < BENCH_REPETITIONS; r++)
        ns[r] = (double)fn(ops) / (double)total;
    qsort(ns, BENCH_REPETITIONS, sizeof(ns[0]), compare_double);
    stats s;
    s.median = ns[BENCH_REPETITIONS / 2];
    s.spread = s.median > 0 ? (ns[BENCH_REPETITIONS - 1] - ns[0]) / s.median * 100.0 : 0;
    return s;
}

int main(int argc, char **argv)
{
    const char *json = NULL, *filter = NULL;
    double scale = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--json=", 7) == 0)
            json = argv[i] + 7;
        else if (strncmp(argv[i], "--filter=", 9) == 0)
            filter = argv[i] + 9;
        else if (strncmp(argv[i], "--scale=", 8) == 0)
            scale = atof(argv[i] + 8);
        else {
            fprintf(stderr, "usage: %s [--json=FILE] [--filter=TEXT] [--scale=X]\n", argv[0]);
            return 2;
        }
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

    FILE *out = NULL;
    if (json != NULL && (out = fopen(json, "a")) == NULL) {
        perror(json);
        return 1;
    }

    printf("ntos_bench: %u processor(s), %d repetitions, median CPU ns/op (spread), ratio = ntos / peer\n",
           booted_cpus, BENCH_REPETITIONS);
    printf("%-28s %8s %12s %7s   %-18s %12s %7s %7s\n", "case", "threads", "ntos ns/op", "spread", "peer",
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
        double ratio = n.median / p.median;
        printf("%-28s %8u %12.1f %6.1f%%   %-18s %12.1f %6.1f%% %7.2f\n", c->name, threads, n.median, n.spread,
               c->peer_name, p.median, p.spread, ratio);
        fflush(stdout);
        if (out != NULL) {
            fprintf(out,
                    "{\"case\":\"%s\",\"description\":\"%s\",\"threads\":%u,\"ops_per_thread\":%llu,"
                    "\"repetitions\":%d,\"ntos_ns_per_op\":%.2f,\"ntos_spread_pct\":%.1f,\"peer\":\"%s\","
                    "\"peer_ns_per_op\":%.2f,\"peer_spread_pct\":%.1f,\"ratio\":%.3f,\"cpus\":%u}\n",
                    c->name, c->description, threads, (unsigned long long)ops, BENCH_REPETITIONS, n.median,
                    n.spread, c->peer_name, p.median, p.spread, ratio, bench_cpus());
        }
    }
    if (out != NULL)
        fclose(out);
    fflush(stdout);
    /* The kernel's processors are still running: leave without tearing down. */
    _exit(0);
}
