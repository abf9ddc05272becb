/*
 * Scenario tests for the interleaving explorer (host only: they fork a fresh
 * hosted kernel per schedule, which the in-kernel runner cannot do, so they
 * are not registered with ntos_add_test and never reach ntos_selftest).
 *
 * A scenario is a function run on the boot thread of a freshly booted kernel
 * in virtual time, at PASSIVE_LEVEL; it starts kernel threads, lets them race
 * and checks its property with NTOS_EXPLORE_CHECK. verify_main.c runs every
 * registered scenario under random and PCT (and bounded DFS where marked) and
 * fails when any schedule fails.
 */
#ifndef NTOS_VERIFY_H
#define NTOS_VERIFY_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/ke.h>
#include <ntos/arch.h>
#include <ntos/list.h>
#include <explore.h>

typedef struct verify_scenario {
    const char *Name;
    ntos_explore_fn Fn;
    ULONG Schedules;     /* short budget per strategy */
    ULONG DfsBound;      /* 0: no DFS run; else the preemption bound */
} verify_scenario;

#define VERIFY_SCENARIO(name, schedules, dfs)                                                       \
    static void name(void *Context);                                                                \
    static const verify_scenario verify_scenario_##name                                             \
        __attribute__((used, section("ntos_verify"), aligned(8))) = {#name, name, schedules, dfs};  \
    static void name(void *Context)

/* Starts a kernel thread from caller storage. */
static inline void vt_start(PKTHREAD Storage, PKSTART_ROUTINE Routine, PVOID Context)
{
    NTSTATUS s = KeInitializeThread(Storage, NULL, 0, Routine, Context, 8);
    NTOS_EXPLORE_CHECK(s == STATUS_SUCCESS);
    KeStartThread(Storage);
}

static inline void vt_join(PKTHREAD Thread)
{
    NTSTATUS s = KeWaitForSingleObject(Thread, Executive, KernelMode, FALSE, NULL);
    NTOS_EXPLORE_CHECK(s == STATUS_SUCCESS);
    NTOS_EXPLORE_CHECK(KeDeleteThread(Thread) == STATUS_SUCCESS);
}

static inline LARGE_INTEGER vt_ms(LONG Milliseconds)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)Milliseconds * 10000;
    return t;
}

#endif /* NTOS_VERIFY_H */
