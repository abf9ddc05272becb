/*
 * What the lock-order checker must NOT report (lockdep_cycles.c has what it
 * must): try-acquires in the reverse order of an established order (they
 * cannot block, so they add no edge), and an ERESOURCE released for its owner
 * by another thread (ExReleaseResourceForThreadLite drops the owner's hold,
 * so a lock the owner takes afterwards is not ordered after the resource).
 * A false report bug-checks the child and fails the schedule.
 */
#include "lockdep_common.h"

static VOID NTAPI res_fast_spin_push(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&ldt_res, TRUE);
    ExAcquirePushLockExclusive(&ldt_push);
    ExAcquireFastMutex(&ldt_fast);
    KIRQL irql;
    KeAcquireSpinLock(&ldt_spin, &irql);
    KeReleaseSpinLock(&ldt_spin, irql);
    ExReleaseFastMutex(&ldt_fast);
    ExReleasePushLockExclusive(&ldt_push);
    ExReleaseResourceLite(&ldt_res);
    KeLeaveCriticalRegion();
}

/* The reverse order, each inner lock only tried; held while tried further. */
static VOID NTAPI reverse_tries(PVOID Context)
{
    (void)Context;
    KIRQL irql;
    KeRaiseIrql(DISPATCH_LEVEL, &irql);
    KeAcquireSpinLockAtDpcLevel(&ldt_spin);
    KeReleaseSpinLockFromDpcLevel(&ldt_spin);
    KeLowerIrql(irql);
    KeEnterCriticalRegion();
    ExAcquireFastMutex(&ldt_fast);
    NTOS_EXPLORE_CHECK(ExTryToAcquirePushLockExclusive(&ldt_push));
    NTOS_EXPLORE_CHECK(ExAcquireResourceExclusiveLite(&ldt_res, FALSE));
    NTOS_EXPLORE_CHECK(ExAcquireResourceSharedLite(&ldt_res, FALSE)); /* recursion, tried */
    ExReleaseResourceLite(&ldt_res);
    ExReleaseResourceLite(&ldt_res);
    ExReleasePushLockExclusive(&ldt_push);
    ExReleaseFastMutex(&ldt_fast);
    KeLeaveCriticalRegion();
    /* A spin lock tried while holding another one taken after it elsewhere. */
    static KSPIN_LOCK outer;
    KeInitializeSpinLock(&outer);
    KeRaiseIrql(DISPATCH_LEVEL, &irql);
    KeAcquireSpinLockAtDpcLevel(&outer);
    KeAcquireSpinLockAtDpcLevel(&ldt_spin); /* outer -> spin */
    KeReleaseSpinLockFromDpcLevel(&ldt_spin);
    KeReleaseSpinLockFromDpcLevel(&outer);
    KeAcquireSpinLockAtDpcLevel(&ldt_spin);
    NTOS_EXPLORE_CHECK(KeTryToAcquireSpinLockAtDpcLevel(&outer)); /* spin -> outer, tried */
    KeReleaseSpinLockFromDpcLevel(&outer);
    KeReleaseSpinLockFromDpcLevel(&ldt_spin);
    KeLowerIrql(irql);
}

VERIFY_SCENARIO(lockdep_try_in_reverse_order_not_reported, 20, 0)
{
    (void)Context;
    ldt_init();
    ldt_run(res_fast_spin_push, NULL);
    ldt_run(reverse_tries, NULL);
    NTOS_EXPLORE_CHECK(host_lockdep_edges() >= 6);
    NTOS_EXPLORE_CHECK(ExDeleteResourceLite(&ldt_res) == STATUS_SUCCESS);
}

static KEVENT owner_has_it, released_for_owner;

static VOID NTAPI owner_thread(PVOID Context)
{
    (void)Context;
    KeEnterCriticalRegion();
    ExAcquireResourceExclusiveLite(&ldt_res, TRUE);
    KeSetEvent(&owner_has_it, 0, FALSE);
    KeWaitForSingleObject(&released_for_owner, Executive, KernelMode, FALSE, NULL);
    /* No longer the owner: the fast mutex is not ordered after the resource... */
    ExAcquireFastMutex(&ldt_fast);
    ExReleaseFastMutex(&ldt_fast);
    KeLeaveCriticalRegion();
    /* ...so fast mutex -> ERESOURCE is no cycle. */
    ExAcquireFastMutex(&ldt_fast);
    ExAcquireResourceSharedLite(&ldt_res, TRUE);
    ExReleaseResourceLite(&ldt_res);
    ExReleaseFastMutex(&ldt_fast);
}

VERIFY_SCENARIO(lockdep_release_for_other_thread_drops_owner_hold, 20, 0)
{
    (void)Context;
    static KTHREAD t;
    ldt_init();
    KeInitializeEvent(&owner_has_it, NotificationEvent, FALSE);
    KeInitializeEvent(&released_for_owner, NotificationEvent, FALSE);
    vt_start(&t, owner_thread, NULL);
    KeWaitForSingleObject(&owner_has_it, Executive, KernelMode, FALSE, NULL);
    ExReleaseResourceForThreadLite(&ldt_res, (ERESOURCE_THREAD)&t);
    KeSetEvent(&released_for_owner, 0, FALSE);
    vt_join(&t);
    NTOS_EXPLORE_CHECK(ExDeleteResourceLite(&ldt_res) == STATUS_SUCCESS);
}
