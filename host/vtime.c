/*
 * Host backend: the deterministic virtual-time mode.
 *
 * Exactly one virtual CPU runs at a time: the holder of the run token
 * (vt_owner). Every other CPU thread is blocked on its condition variable.
 * Every nondeterministic choice goes through host_decide(): at each
 * interruptible point the token holder may fire its clock early (time jumps to
 * its next deadline), may take an asserted device interrupt line
 * (devinterrupt.c) and may hand the token to another runnable CPU. Time moves
 * only when every CPU is idle (it jumps to the earliest clock deadline), when a
 * test calls host_advance_time, or when code stalls (KeStallExecutionProcessor).
 * No clock thread runs, so the same seed gives the same run.
 *
 * Locking: vt_owner is the token; it is handed over with a release store and
 * taken with an acquire load, and waiters sleep on it with a futex (raw, so
 * the sanitizers see only the atomics, which is all the ordering there is).
 * All other state here is touched only by the token holder, and the hand-off
 * orders it between CPUs.
 */
#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <ntos/ke.h>
#include "host_private.h"

static ULONG vt_owner;
static ULONG64 vt_now;
static ULONG64 vt_rng = 1;
static ULONG64 vt_hash = 1469598103934665603ULL;
static ULONG64 vt_count;
static host_decide_fn vt_decider;
static void *vt_decider_context;

/* One clock interrupt in this many interruptible points fires early. */
#define VT_CLOCK_ODDS 32

BOOLEAN host_virtual_time(void)
{
    return host.VirtualTime;
}

void host_set_decider(host_decide_fn Fn, void *Context)
{
    vt_decider = Fn;
    vt_decider_context = Context;
}

ULONG64 host_decision_trace_hash(void)
{
    return vt_hash;
}

ULONG64 host_decision_count(void)
{
    return vt_count;
}

static ULONG default_decide(void)
{
    ULONG64 x = vt_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    vt_rng = x;
    return (ULONG)((x * 0x2545F4914F6CDD1DULL) >> 33);
}

ULONG host_decide(ULONG Kind, ULONG Choices)
{
    if (Choices <= 1)
        return 0;
    ULONG r = vt_decider ? vt_decider(vt_decider_context, Kind, Choices) : default_decide();
    r %= Choices;
    vt_hash = (vt_hash ^ (((ULONG64)Kind << 32) | r)) * 1099511628211ULL;
    vt_count++;
    return r;
}

ULONG64 host_vt_now(void)
{
    return __atomic_load_n(&vt_now, __ATOMIC_ACQUIRE);
}

static void vt_fire_due_clocks(void)
{
    for (ULONG n = 0; n < host.Cpus; n++) {
        host_cpu *cpu = &host.Cpu[n];
        if (cpu->ClockDeadline == 0 || cpu->ClockDeadline > vt_now)
            continue;
        host_raise_clock(cpu);
        if (cpu->ClockPeriod) {
            while (cpu->ClockDeadline <= vt_now)
                cpu->ClockDeadline += cpu->ClockPeriod;
        } else {
            cpu->ClockDeadline = 0;
        }
    }
}

static void vt_set_now(ULONG64 t)
{
    if (t > vt_now)
        __atomic_store_n(&vt_now, t, __ATOMIC_RELEASE);
    vt_fire_due_clocks();
}

void host_vt_init(void)
{
    __atomic_store_n(&vt_owner, 0, __ATOMIC_RELEASE);
    vt_now = 0;
}

void host_vt_seed(ULONG64 Seed)
{
    vt_rng = Seed ? Seed : 1;
}

void host_vt_wait_token(ULONG cpu)
{
    ULONG owner;
    while ((owner = __atomic_load_n(&vt_owner, __ATOMIC_ACQUIRE)) != cpu)
        host_futex_wait(&vt_owner, owner, NULL);
}

static void vt_give_and_wait(ULONG me, ULONG to)
{
    __atomic_store_n(&vt_owner, to, __ATOMIC_RELEASE);
    /* Every waiter re-checks; only the new owner proceeds. */
    syscall(SYS_futex, &vt_owner, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, ARCH_MAX_CPUS, NULL, NULL, 0);
    host_vt_wait_token(me);
}

static BOOLEAN vt_runnable(host_cpu *cpu)
{
    if (!cpu->Started)
        return FALSE;
    if (!cpu->VtIdle)
        return TRUE;
    ULONG pending = __atomic_load_n(&cpu->Pcr->HalReserved[0], __ATOMIC_ACQUIRE);
    return host_has_deliverable(cpu->Pcr) || (pending & HOST_PENDING_WAKE);
}

/* The candidates of the RUN_CPU decision being made, for deciders that
 * reason about CPUs rather than indices (the explorer's PCT and DFS). */
ULONG host_vt_candidates[ARCH_MAX_CPUS];
ULONG host_vt_candidate_count;
ULONG host_vt_current;
BOOLEAN host_vt_current_included;
BOOLEAN host_vt_yielding;

/* Picks the next CPU among the runnable ones (the caller counts if runnable). */
static BOOLEAN vt_pick(ULONG me, BOOLEAN include_me, ULONG *out)
{
    ULONG list[ARCH_MAX_CPUS], count = 0;
    for (ULONG n = 0; n < host.Cpus; n++) {
        if (n == me ? include_me : vt_runnable(&host.Cpu[n]))
            list[count++] = n;
    }
    if (count == 0)
        return FALSE;
    for (ULONG i = 0; i < count; i++)
        host_vt_candidates[i] = list[i];
    host_vt_candidate_count = count;
    host_vt_current = me;
    host_vt_current_included = include_me;
    *out = list[host_decide(HOST_DECIDE_RUN_CPU, count)];
    host_vt_yielding = FALSE;
    return TRUE;
}

void host_vt_point(void)
{
    host_cpu *me = host_self();
    if (me->ClockDeadline && host_decide(HOST_DECIDE_FIRE_CLOCK, VT_CLOCK_ODDS) == 0)
        vt_set_now(me->ClockDeadline);
    host_vt_device_point(me);
    ULONG next;
    if (vt_pick(me->Number, TRUE, &next) && next != me->Number)
        vt_give_and_wait(me->Number, next);
    if (host_has_deliverable(KeGetPcr()))
        host_deliver();
}

/* A spin-loop iteration: the deciders treat it as a yield (the CPU cannot make
 * progress until another one runs), so a schedule that keeps preferring the
 * spinner does not starve the holder. */
void host_vt_yield(void)
{
    host_vt_yielding = TRUE; /* consumed by the next RUN_CPU decision */
    host_vt_point();
}

void host_vt_idle(void)
{
    host_cpu *me = host_self();
    me->VtIdle = TRUE;
    host_vt_device_idle(me);
    for (;;) {
        ULONG pending = __atomic_load_n(&me->Pcr->HalReserved[0], __ATOMIC_ACQUIRE);
        if (host_has_deliverable(me->Pcr) || (pending & HOST_PENDING_WAKE))
            break;
        ULONG next;
        if (vt_pick(me->Number, FALSE, &next)) {
            vt_give_and_wait(me->Number, next);
            continue;
        }
        /* Every CPU is idle: jump to the earliest clock deadline (the
         * explorer first checks its deadlock/hang budget). */
        host_explore_all_idle(vt_now);
        ULONG64 earliest = 0;
        for (ULONG n = 0; n < host.Cpus; n++) {
            ULONG64 d = host.Cpu[n].ClockDeadline;
            if (d && (earliest == 0 || d < earliest))
                earliest = d;
        }
        if (earliest == 0) {
            fprintf(stderr, "ntos host: virtual time: every CPU is idle and no clock is programmed "
                            "(the system can never make progress)\n");
            KeBugCheckEx(MANUALLY_INITIATED_CRASH, 0x5654, vt_now, 0, 0);
        }
        vt_set_now(earliest);
    }
    me->VtIdle = FALSE;
}

void host_vt_run_until_started(host_cpu *cpu)
{
    host_cpu *me = host_self();
    while (!__atomic_load_n(&cpu->Started, __ATOMIC_ACQUIRE))
        vt_give_and_wait(me->Number, cpu->Number);
    /* The new CPU has reached its idle loop once; make sure it has the token
     * no longer (it handed it back), then go on. */
}

void host_advance_time(ULONG64 Delta100ns)
{
    if (!host.VirtualTime)
        return;
    vt_set_now(vt_now + Delta100ns);
    host_vt_point();
}

void host_vt_stall(ULONG64 Delta100ns)
{
    vt_set_now(vt_now + Delta100ns);
}

void host_vt_clock_programmed(host_cpu *cpu)
{
    (void)cpu;
}
