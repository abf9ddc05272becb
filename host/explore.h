/*
 * The interleaving explorer (host only): runs a scenario function over many
 * schedules of the virtual-time mode and reports the first failing one.
 *
 * Each schedule is a fresh process: the caller (which must not have booted the
 * hosted kernel) forks, the child boots the kernel in virtual time with the
 * explorer's decision function, arms it, runs the scenario on the boot thread
 * at PASSIVE_LEVEL and exits. Boot decisions are fixed (never preempted), so
 * the schedules differ only inside the scenario. The decisions the child makes
 * are written to memory shared with the parent, so even a child that bug-checks
 * or hangs leaves its complete trace behind.
 *
 * Environment (overrides the options):
 *   NTOS_EXPLORE    random | pct:<depth> | dfs:<preemption bound> | replay:<file>
 *   NTOS_SCHEDULES  number of schedules (default: the option, else 200)
 *   NTOS_SEED       base seed; schedule i uses seed base + i (random and PCT)
 *   NTOS_EXPLORE_LONG=1  use Options->LongSchedules instead
 *   NTOS_EXPLORE_DIR     where failing traces are written (default: cwd)
 *   NTOS_CPUS       virtual CPUs when Options->Cpus is 0
 *   NTOS_EXPLORE_INVARIANTS  0: no dispatcher invariant checks at scheduling
 *                   points; N: every Nth point (default 1)
 *   NTOS_EXPLORE_STATS=1     each schedule prints points, checks and scheduler choices
 *
 * A failing schedule prints its strategy, seed, schedule number, exit status
 * and the path of its trace; NTOS_EXPLORE=replay:<path> NTOS_SCHEDULES=1 runs
 * exactly that schedule again (NTOS_EXPLORE_INPROCESS=1 runs it without fork,
 * for a debugger).
 */
#ifndef NTOS_HOST_EXPLORE_H
#define NTOS_HOST_EXPLORE_H

#include <ntos/ntdef.h>

typedef struct ntos_explore_options {
    const char *Name;          /* scenario name, for messages and trace files */
    ULONG Cpus;                /* 0: NTOS_CPUS, else 2 */
    ULONG Schedules;           /* short (CI) budget; 0: 200 */
    ULONG LongSchedules;       /* budget with NTOS_EXPLORE_LONG=1; 0: 20 x Schedules */
    const char *Strategy;      /* NULL: "random" */
    ULONG64 Seed;              /* base seed; 0: 1 */
    ULONG64 HangBudget100ns;   /* virtual time the scenario may take; 0: 60 s */
    BOOLEAN StopAtFailure;     /* default behaviour; set FALSE to count every failing schedule */
} ntos_explore_options;

typedef struct ntos_explore_result {
    ULONG Schedules;        /* run */
    ULONG Distinct;         /* distinct decision traces among them */
    ULONG Failures;
    ULONG FirstFailure;     /* 1-based schedule number of the first failure, 0 = none */
    ULONG64 FailedSeed;
    int FailedStatus;       /* the child's exit status (86 = bug check, 3 = hang/deadlock) */
    BOOLEAN Exhausted;      /* dfs: every schedule within the bound was run */
    ULONG64 Decisions;      /* scenario decisions over all schedules */
    char TraceFile[512];
} ntos_explore_result;

typedef void (*ntos_explore_fn)(void *Context);

/* Runs Fn over the schedules; returns the number of failing schedules. */
ULONG ntos_explore(ntos_explore_fn Fn, void *Context, const ntos_explore_options *Options,
                   ntos_explore_result *Result);

/* Inside a scenario: reports a violated property and ends the schedule as failed. */
__attribute__((noreturn, format(printf, 1, 2))) void ntos_explore_fail(const char *Format, ...);

#define NTOS_EXPLORE_CHECK(cond)                                                                    \
    do {                                                                                            \
        if (!(cond))                                                                                \
            ntos_explore_fail("%s:%d: check failed: %s", __FILE__, __LINE__, #cond);                \
    } while (0)

/*
 * libFuzzer driving (fuzz/fuzz_schedule.c): runs Fn once in a forked, freshly
 * booted child on Cpus virtual CPUs under the schedule the bytes encode: one
 * byte per "which CPU runs next" decision, rank = byte % candidates (rank 0 =
 * the current CPU goes on, no preemption; a spinning CPU's rank 0 is the next
 * CPU round-robin); a byte >= 0xF0 also fires the clock early at the next
 * clock decision. Past the end of the bytes every decision is rank 0 and the
 * clock fires only when due. Returns the child's status as ntos_explore_result.FailedStatus
 * (0 = passed; 2 check failed, 3 deadlock, 4 livelock, 86 bug check,
 * 128 + signal for a sanitizer abort or crash).
 */
#define NTOS_EXPLORE_FEATURES 4096
typedef struct ntos_explore_input_result {
    int Status;
    ULONG Decisions;
    const UCHAR *Features;  /* NTOS_EXPLORE_FEATURES interleaving counters of the run */
    char Message[256];
} ntos_explore_input_result;

int ntos_explore_input(ntos_explore_fn Fn, void *Context, ULONG Cpus, const UCHAR *Schedule, ULONG Length,
                       ntos_explore_input_result *Result);

/* Called in an explored child just before it exits, whatever the reason
 * (pass, failed check, deadlock, bug check): the fuzz harness copies the
 * child's coverage counters to shared memory there. */
void ntos_explore_set_exit_hook(void (*Hook)(void));

/* The lock-order checker's counters (for tests). */
ULONG64 host_lockdep_edges(void);
ULONG64 host_lockdep_events(void);

#endif /* NTOS_HOST_EXPLORE_H */
