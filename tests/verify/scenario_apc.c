/*
 * APC queue races under the explorer: a special kernel APC inserted from a
 * DPC on another processor while the target thread leaves a guarded region,
 * with KeRemoveQueueApc racing both.
 *
 * Documented semantics checked:
 *  - a special kernel APC is not delivered while its thread is in a guarded
 *    region (KeEnterGuardedRegion disables all kernel APCs), and is delivered
 *    on that thread, no later than its next wait or the end of the region;
 *  - every successful KeInsertQueueApc is delivered exactly once or removed
 *    by a KeRemoveQueueApc that returns TRUE, never both;
 *  - KeInsertQueueApc may be called at DISPATCH_LEVEL (here: from a DPC).
 */
#include "verify.h"

static KTHREAD ap_thread;
static KAPC ap_apc;
static KDPC ap_dpc;
static KEVENT ap_ready, ap_finish;
static volatile LONG ap_inserted, ap_delivered, ap_removed, ap_in_region;

static VOID NTAPI ap_kernel_routine(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    (void)Normal, (void)Context, (void)A1, (void)A2;
    NTOS_EXPLORE_CHECK(Apc == &ap_apc);
    NTOS_EXPLORE_CHECK(KeGetCurrentThread() == &ap_thread);
    NTOS_EXPLORE_CHECK(KeGetCurrentIrql() == APC_LEVEL);
    /* Not inside the guarded region, and never after a removal succeeded. */
    NTOS_EXPLORE_CHECK(!__atomic_load_n(&ap_in_region, __ATOMIC_ACQUIRE));
    NTOS_EXPLORE_CHECK(!__atomic_load_n(&ap_removed, __ATOMIC_ACQUIRE));
    __atomic_fetch_add(&ap_delivered, 1, __ATOMIC_RELEASE);
}

static VOID NTAPI ap_dpc_routine(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    if (KeInsertQueueApc(&ap_apc, NULL, NULL, 0))
        __atomic_fetch_add(&ap_inserted, 1, __ATOMIC_RELEASE);
}

static VOID NTAPI ap_target(PVOID Context)
{
    (void)Context;
    KeEnterGuardedRegion();
    __atomic_store_n(&ap_in_region, 1, __ATOMIC_RELEASE);
    KeSetEvent(&ap_ready, 0, FALSE);
    KeStallExecutionProcessor(1); /* the region lasts a few scheduling points */
    __atomic_store_n(&ap_in_region, 0, __ATOMIC_RELEASE);
    KeLeaveGuardedRegion();
    KeWaitForSingleObject(&ap_finish, Executive, KernelMode, FALSE, NULL);
}

VERIFY_SCENARIO(apc_insert_from_dpc_vs_guarded_region_exit, 60, 1)
{
    (void)Context;
    ap_inserted = ap_delivered = ap_removed = ap_in_region = 0;
    KeInitializeEvent(&ap_ready, NotificationEvent, FALSE);
    KeInitializeEvent(&ap_finish, NotificationEvent, FALSE);
    NTOS_EXPLORE_CHECK(KeInitializeThread(&ap_thread, NULL, 0, ap_target, NULL, 8) == STATUS_SUCCESS);
    KeInitializeApc(&ap_apc, &ap_thread, OriginalApcEnvironment, ap_kernel_routine, NULL, NULL, KernelMode, NULL);
    KeInitializeDpc(&ap_dpc, ap_dpc_routine, NULL);
    if (arch_processor_count() > 1)
        KeSetTargetProcessorDpc(&ap_dpc, 1);
    KeStartThread(&ap_thread);
    KeWaitForSingleObject(&ap_ready, Executive, KernelMode, FALSE, NULL);
    KeInsertQueueDpc(&ap_dpc, NULL, NULL);
    KeStallExecutionProcessor(1);
    if (KeRemoveQueueApc(&ap_apc))
        __atomic_fetch_add(&ap_removed, 1, __ATOMIC_RELEASE);
    KeFlushQueuedDpcs();
    KeSetEvent(&ap_finish, 0, FALSE);
    vt_join(&ap_thread);
    NTOS_EXPLORE_CHECK(ap_inserted <= 1);
    NTOS_EXPLORE_CHECK(ap_delivered + ap_removed == ap_inserted);
}

/* ---- insert racing thread exit ---------------------------------------------------------- */

static VOID NTAPI ax_target(PVOID Context)
{
    (void)Context;
    KeEnterGuardedRegion();
    __atomic_store_n(&ap_in_region, 1, __ATOMIC_RELEASE);
    KeSetEvent(&ap_ready, 0, FALSE);
    KeStallExecutionProcessor(1);
    __atomic_store_n(&ap_in_region, 0, __ATOMIC_RELEASE);
    KeLeaveGuardedRegion();
    /* and exits at once: an insert from here on races the thread's end */
}

/* A thread that ends while a DPC on another processor queues a special kernel
 * APC to it: the APC is delivered exactly once before the thread is gone, or
 * the insert fails (the thread no longer accepts APCs); never queued and lost. */
VERIFY_SCENARIO(apc_insert_from_dpc_vs_thread_exit, 60, 1)
{
    (void)Context;
    ap_inserted = ap_delivered = ap_removed = ap_in_region = 0;
    KeInitializeEvent(&ap_ready, NotificationEvent, FALSE);
    NTOS_EXPLORE_CHECK(KeInitializeThread(&ap_thread, NULL, 0, ax_target, NULL, 8) == STATUS_SUCCESS);
    KeInitializeApc(&ap_apc, &ap_thread, OriginalApcEnvironment, ap_kernel_routine, NULL, NULL, KernelMode, NULL);
    KeInitializeDpc(&ap_dpc, ap_dpc_routine, NULL);
    if (arch_processor_count() > 1)
        KeSetTargetProcessorDpc(&ap_dpc, 1);
    KeStartThread(&ap_thread);
    KeWaitForSingleObject(&ap_ready, Executive, KernelMode, FALSE, NULL);
    KeInsertQueueDpc(&ap_dpc, NULL, NULL);
    NTOS_EXPLORE_CHECK(KeWaitForSingleObject(&ap_thread, Executive, KernelMode, FALSE, NULL) == STATUS_SUCCESS);
    KeFlushQueuedDpcs();
    NTOS_EXPLORE_CHECK(ap_inserted <= 1);
    NTOS_EXPLORE_CHECK(ap_delivered == ap_inserted);
    NTOS_EXPLORE_CHECK(KeDeleteThread(&ap_thread) == STATUS_SUCCESS);
}
