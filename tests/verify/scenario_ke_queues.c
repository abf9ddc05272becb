/*
 * Queue and lock-free races under the explorer: DPC insert/remove on two
 * processors, timer set/cancel racing expiry, a periodic timer whose
 * expiration runs later than its period, SLIST push/pop (ABA), ERESOURCE
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

/* ---- a periodic timer keeps firing when its expiration runs late -------------------- */

static KTIMER pt_timer;
static KDPC pt_dpc;
static volatile LONG pt_runs, pt_stop;

static VOID NTAPI pt_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    __atomic_fetch_add(&pt_runs, 1, __ATOMIC_RELAXED);
}

/* Moves virtual time while the other processor may be inside the timer
 * expiration, between its reading of the clock and the re-arm. */
static VOID NTAPI pt_staller(PVOID Context)
{
    (void)Context;
    /* Bounded: the boot thread may share its processor at a lower priority. */
    for (int i = 0; i < 16 && !__atomic_load_n(&pt_stop, __ATOMIC_ACQUIRE); i++)
        KeStallExecutionProcessor(900);
}

/* A 1 ms periodic timer fires about once per millisecond for as long as it is
 * set, however late each expiration ran: a re-arm whose next due time the
 * clock had already passed once dropped the timer for good (seen as a
 * periodic ZwSetTimer APC that stopped, on 4 processors under load). */
VERIFY_SCENARIO(periodic_timer_survives_late_expiration, 60, 0)
{
    (void)Context;
    static KTHREAD t;
    pt_runs = pt_stop = 0;
    KeInitializeTimer(&pt_timer);
    KeInitializeDpc(&pt_dpc, pt_routine, NULL);
    LARGE_INTEGER due = vt_ms(1);
    KeSetTimerEx(&pt_timer, due, 1, &pt_dpc);
    vt_start(&t, pt_staller, NULL);
    LARGE_INTEGER sleep = vt_ms(5);
    KeDelayExecutionThread(KernelMode, FALSE, &sleep);
    LONG early = __atomic_load_n(&pt_runs, __ATOMIC_RELAXED);
    KeDelayExecutionThread(KernelMode, FALSE, &sleep);
    LONG later = __atomic_load_n(&pt_runs, __ATOMIC_RELAXED);
    __atomic_store_n(&pt_stop, 1, __ATOMIC_RELEASE);
    vt_join(&t);
    NTOS_EXPLORE_CHECK(KeCancelTimer(&pt_timer));
    KeFlushQueuedDpcs();
    /* Still set, so still firing in the second 5 ms. */
    NTOS_EXPLORE_CHECK(later > early);
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
