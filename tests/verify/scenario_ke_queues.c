/*
 * Queue and lock-free races under the explorer: DPC insert/remove on two
 * processors, timer set/cancel racing expiry, a periodic timer's expiry
 * running later than its period, SLIST push/pop (ABA), ERESOURCE
 * shared/exclusive hand-off, and the lock-order checker's cycle report.
 */
#include <ntos/ex_lists.h>
#include <ntos/ex_sync.h>
#include "verify.h"

/* ---- DPC insert/remove racing on two CPUs --------------------------------------------- */

static KDPC dq_dpc;
static volatile LONG dq_runs, dq_inserted, dq_removed;

static VOID NTAPI dq_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    __atomic_fetch_add(&dq_runs, 1, __ATOMIC_RELAXED);
}

static void dq_round(void)
{
    if (KeInsertQueueDpc(&dq_dpc, NULL, NULL))
        __atomic_fetch_add(&dq_inserted, 1, __ATOMIC_RELAXED);
    if (KeRemoveQueueDpc(&dq_dpc))
        __atomic_fetch_add(&dq_removed, 1, __ATOMIC_RELAXED);
}

static VOID NTAPI dq_thread(PVOID Context)
{
    (void)Context;
    dq_round();
    dq_round();
}

/* Every successful insert is either removed or run, exactly once. */
VERIFY_SCENARIO(dpc_insert_remove_two_cpus, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    dq_runs = dq_inserted = dq_removed = 0;
    KeInitializeDpc(&dq_dpc, dq_routine, NULL);
    if (arch_processor_count() > 1)
        KeSetTargetProcessorDpc(&dq_dpc, 1);
    vt_start(&t, dq_thread, NULL);
    dq_round();
    dq_round();
    vt_join(&t);
    KeFlushQueuedDpcs();
    NTOS_EXPLORE_CHECK(dq_runs == dq_inserted - dq_removed);
}

/* ---- timer set/cancel racing expiry -------------------------------------------------- */

static KTIMER tm_timer;
static KDPC tm_dpc;
static volatile LONG tm_runs, tm_cancelled;

static VOID NTAPI tm_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    NTOS_EXPLORE_CHECK(!__atomic_load_n(&tm_cancelled, __ATOMIC_ACQUIRE));
    __atomic_fetch_add(&tm_runs, 1, __ATOMIC_RELAXED);
}

static VOID NTAPI tm_thread(PVOID Context)
{
    (void)Context;
    LARGE_INTEGER due;
    due.QuadPart = -1; /* due at the next clock interrupt */
    KeSetTimer(&tm_timer, due, &tm_dpc);
    KeStallExecutionProcessor(1);
    if (KeCancelTimer(&tm_timer))
        __atomic_store_n(&tm_cancelled, 1, __ATOMIC_RELEASE);
}

/* KeCancelTimer returning TRUE means the DPC never runs for that setting.
 * The set/cancel runs on a started thread, so that it is usually on another
 * processor than the clock's timer expiration (processor 0). */
VERIFY_SCENARIO(timer_cancel_vs_expiry, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    tm_runs = tm_cancelled = 0;
    KeInitializeTimer(&tm_timer);
    KeInitializeDpc(&tm_dpc, tm_routine, NULL);
    vt_start(&t, tm_thread, NULL);
    vt_join(&t);
    LARGE_INTEGER sleep = vt_ms(50);
    KeDelayExecutionThread(KernelMode, FALSE, &sleep);
    KeFlushQueuedDpcs();
    NTOS_EXPLORE_CHECK(tm_runs == (tm_cancelled ? 0 : 1));
}

/* ---- a periodic timer whose expiry runs late ---------------------------------------- */

static KTIMER pt_timer;
static KDPC pt_dpc;
static volatile LONG pt_runs;

static VOID NTAPI pt_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    __atomic_fetch_add(&pt_runs, 1, __ATOMIC_RELAXED);
}

/* Each stall moves virtual time on by more than the timer's period, wherever
 * the other processor is, e.g. inside the expiry pass between its snapshot of
 * the time and the periodic timer's re-arming. */
static VOID NTAPI pt_staller(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < 2; i++)
        KeStallExecutionProcessor(2500);
}

/* A periodic timer stays set until cancelled, however late an expiry runs:
 * the re-arming used to be refused (and the timer silently dropped from the
 * timer list, ending its DPCs) when the clock had passed the next due time
 * before the expiry pass reached it. The clock firing early at a scheduling
 * point does the same as the stalls on one processor. */
VERIFY_SCENARIO(periodic_timer_survives_late_expiry, 30, 0)
{
    (void)Context;
    static KTHREAD t;
    pt_runs = 0;
    KeInitializeTimerEx(&pt_timer, SynchronizationTimer);
    KeInitializeDpc(&pt_dpc, pt_routine, NULL);
    LARGE_INTEGER due = vt_ms(1);
    KeSetTimerEx(&pt_timer, due, 1, &pt_dpc);
    vt_start(&t, pt_staller, NULL);
    for (int i = 0; i < 2; i++)
        KeStallExecutionProcessor(1500);
    vt_join(&t);
    LARGE_INTEGER sleep = vt_ms(3);
    KeDelayExecutionThread(KernelMode, FALSE, &sleep);
    LONG runs = __atomic_load_n(&pt_runs, __ATOMIC_RELAXED);
    sleep = vt_ms(5);
    KeDelayExecutionThread(KernelMode, FALSE, &sleep);
    /* Still in the timer list (TRUE), and still expiring. */
    NTOS_EXPLORE_CHECK(KeCancelTimer(&pt_timer));
    NTOS_EXPLORE_CHECK(__atomic_load_n(&pt_runs, __ATOMIC_RELAXED) > runs);
    KeFlushQueuedDpcs();
}

/* ---- SLIST push/pop (ABA) ------------------------------------------------------------ */

#define SL_ENTRIES 3
static SLIST_HEADER sl_head;
static SLIST_ENTRY sl_entry[SL_ENTRIES] __attribute__((aligned(16)));

static VOID NTAPI sl_thread(PVOID Context)
{
    (void)Context;
    for (int i = 0; i < 3; i++) {
        PSLIST_ENTRY a = InterlockedPopEntrySList(&sl_head);
        PSLIST_ENTRY b = InterlockedPopEntrySList(&sl_head);
        /* Push back in the other order: A's old Next is stale by then. */
        if (a)
            InterlockedPushEntrySList(&sl_head, a);
        if (b)
            InterlockedPushEntrySList(&sl_head, b);
    }
}

/* Every entry is on the list exactly once at the end, whatever the interleaving. */
VERIFY_SCENARIO(slist_push_pop_aba, 60, 1)
{
    (void)Context;
    static KTHREAD t[2];
    RtlInitializeSListHead(&sl_head);
    for (int i = 0; i < SL_ENTRIES; i++)
        InterlockedPushEntrySList(&sl_head, &sl_entry[i]);
    vt_start(&t[0], sl_thread, NULL);
    vt_start(&t[1], sl_thread, NULL);
    vt_join(&t[0]);
    vt_join(&t[1]);
    NTOS_EXPLORE_CHECK(ExQueryDepthSList(&sl_head) == SL_ENTRIES);
    int seen[SL_ENTRIES] = {0};
    for (int i = 0; i < SL_ENTRIES; i++) {
        PSLIST_ENTRY e = InterlockedPopEntrySList(&sl_head);
        NTOS_EXPLORE_CHECK(e >= &sl_entry[0] && e < &sl_entry[SL_ENTRIES]);
        NTOS_EXPLORE_CHECK(seen[e - sl_entry]++ == 0);
    }
    NTOS_EXPLORE_CHECK(InterlockedPopEntrySList(&sl_head) == NULL);
}

/* ---- ERESOURCE shared/exclusive hand-off ------------------------------------------------ */

static ERESOURCE rs_resource;
static volatile LONG rs_shared, rs_exclusive, rs_done;

static VOID NTAPI rs_thread(PVOID Context)
{
    BOOLEAN exclusive = Context != NULL;
    for (int i = 0; i < 2; i++) {
        KeEnterCriticalRegion();
        if (exclusive) {
            ExAcquireResourceExclusiveLite(&rs_resource, TRUE);
            NTOS_EXPLORE_CHECK(__atomic_add_fetch(&rs_exclusive, 1, __ATOMIC_RELAXED) == 1);
            NTOS_EXPLORE_CHECK(__atomic_load_n(&rs_shared, __ATOMIC_RELAXED) == 0);
            KeStallExecutionProcessor(1);
            __atomic_sub_fetch(&rs_exclusive, 1, __ATOMIC_RELAXED);
        } else {
            ExAcquireResourceSharedLite(&rs_resource, TRUE);
            __atomic_add_fetch(&rs_shared, 1, __ATOMIC_RELAXED);
            NTOS_EXPLORE_CHECK(__atomic_load_n(&rs_exclusive, __ATOMIC_RELAXED) == 0);
            KeStallExecutionProcessor(1);
            __atomic_sub_fetch(&rs_shared, 1, __ATOMIC_RELAXED);
        }
        ExReleaseResourceLite(&rs_resource);
        KeLeaveCriticalRegion();
    }
    __atomic_fetch_add(&rs_done, 1, __ATOMIC_RELAXED);
}

VERIFY_SCENARIO(eresource_handoff, 60, 0)
{
    (void)Context;
    static KTHREAD t[3];
    rs_shared = rs_exclusive = rs_done = 0;
    NTOS_EXPLORE_CHECK(ExInitializeResourceLite(&rs_resource) == STATUS_SUCCESS);
    vt_start(&t[0], rs_thread, (PVOID)1);
    vt_start(&t[1], rs_thread, NULL);
    vt_start(&t[2], rs_thread, NULL);
    for (int i = 0; i < 3; i++)
        vt_join(&t[i]);
    NTOS_EXPLORE_CHECK(rs_done == 3);
    NTOS_EXPLORE_CHECK(ExDeleteResourceLite(&rs_resource) == STATUS_SUCCESS);
}

/* ---- lock-order checker ------------------------------------------------------------------ */

static KSPIN_LOCK lo_a, lo_b;

static VOID NTAPI lo_thread(PVOID Context)
{
    (void)Context;
    KIRQL x = KeAcquireSpinLockRaiseToDpc(&lo_a);
    KeAcquireSpinLockAtDpcLevel(&lo_b);
    KeReleaseSpinLockFromDpcLevel(&lo_b);
    KeReleaseSpinLock(&lo_a, x);
}

/* A then B in one thread, B then A in another, never at the same time: no
 * deadlock happens, but the order graph has a cycle and the checker must stop
 * with DRIVER_VERIFIER_DETECTED_VIOLATION (0x1001, held, acquired, length). */
VERIFY_SCENARIO(lockdep_reports_ab_ba, 20, 0)
{
    (void)Context;
    static KTHREAD t;
    KeInitializeSpinLock(&lo_a);
    KeInitializeSpinLock(&lo_b);
    vt_start(&t, lo_thread, NULL);
    vt_join(&t);
    static KBUGCHECK_CATCH c;
    KiArmBugCheckCatch(&c);
    volatile BOOLEAN caught = FALSE;
    if (ARCH_SETJMP(c.JumpBuffer) == 0) {
        KIRQL x = KeAcquireSpinLockRaiseToDpc(&lo_b);
        KeAcquireSpinLockAtDpcLevel(&lo_a);
        KeReleaseSpinLockFromDpcLevel(&lo_a);
        KeReleaseSpinLock(&lo_b, x);
    } else {
        caught = TRUE;
    }
    KiDisarmBugCheckCatch(&c);
    NTOS_EXPLORE_CHECK(caught);
    NTOS_EXPLORE_CHECK(c.Data.Code == DRIVER_VERIFIER_DETECTED_VIOLATION);
    NTOS_EXPLORE_CHECK(c.Data.Parameter[0] == 0x1001);
    NTOS_EXPLORE_CHECK(c.Data.Parameter[1] == (ULONG_PTR)&lo_b && c.Data.Parameter[2] == (ULONG_PTR)&lo_a);
    /* The acquire of A never happened; B is still held at DISPATCH_LEVEL. */
    KeReleaseSpinLock(&lo_b, PASSIVE_LEVEL);
}
