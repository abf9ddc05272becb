/*
 * Fast mutexes.
 *
 * Locking and IRQL rules
 *  - ExAcquireFastMutex / ExTryToAcquireFastMutex: IRQL <= APC_LEVEL. They
 *    raise to APC_LEVEL (which keeps every APC away from the owner) and store
 *    the previous IRQL in OldIrql; ExReleaseFastMutex must run at APC_LEVEL
 *    and lowers back to it.
 *  - ExAcquireFastMutexUnsafe / ExReleaseFastMutexUnsafe leave the IRQL alone:
 *    the caller is at APC_LEVEL already or inside a critical (or guarded)
 *    region, so no normal kernel APC can run code that takes the same mutex on
 *    the owner's stack. Calling them otherwise is the documented programming
 *    error; here it stops with FAST_ERESOURCE_PRECONDITION_VIOLATION (7, mutex,
 *    0, routine) because the owner could otherwise be suspended by an APC.
 *  - The state is Count alone, changed with interlocked operations: 1 free,
 *    0 owned, -n owned with n threads committed to waiting. An acquirer that
 *    decrements to anything but 0 waits on the synchronization event; a
 *    releaser that increments to anything but 1 sets it once, which hands the
 *    mutex to exactly one of the committed waiters. A set can never be lost or
 *    doubled: the event is set only by an owner, and the next owner exists
 *    only after consuming it.
 *  - Not recursive. NT deadlocks when the owner acquires again; here the owner
 *    is recorded and that stops with DRIVER_VERIFIER_DETECTED_VIOLATION
 *    (0x1000, mutex, thread, 0). ExTryToAcquireFastMutex by the owner cannot
 *    deadlock and simply fails, as in NT. Releasing a mutex the caller does
 *    not own stops with (0x1004, mutex, owner, thread), or (0x1007, mutex,
 *    thread, 0) when nobody owns it.
 *  - Owner is written only by the thread that just acquired and cleared by it
 *    before releasing; other threads read it (relaxed) only to compare with
 *    themselves, which cannot give a false match.
 */
#include <ntos/ex_sync.h>
#include "mutex_core.h"

#define FM_INCREMENT 1 /* priority boost for the thread the mutex is handed to */

static PKTHREAD ExpFastMutexOwner(PFAST_MUTEX FastMutex)
{
    return (PKTHREAD)__atomic_load_n(&FastMutex->Owner, __ATOMIC_RELAXED);
}

static void ExpCheckIrqlAtMost(PVOID Lock, KIRQL Max, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > Max)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Lock, irql, 0, (ULONG_PTR)Routine);
}

/* The *Unsafe forms: APC_LEVEL, or below it with normal kernel APCs disabled. */
static void ExpCheckUnsafeContext(PFAST_MUTEX FastMutex, PVOID Routine)
{
    ExpCheckIrqlAtMost(FastMutex, APC_LEVEL, Routine);
    if (KeGetCurrentIrql() < APC_LEVEL && !KeAreApcsDisabled())
        KeBugCheckEx(FAST_ERESOURCE_PRECONDITION_VIOLATION, EX_PRECONDITION_APCS_NOT_DISABLED,
                     (ULONG_PTR)FastMutex, 0, (ULONG_PTR)Routine);
}

VOID ExpMutexCheckNotOwner(PFAST_MUTEX FastMutex, PKTHREAD Thread)
{
    if (ExpFastMutexOwner(FastMutex) == Thread)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_SELF_DEADLOCK, (ULONG_PTR)FastMutex,
                     (ULONG_PTR)Thread, 0);
}

VOID ExpMutexCheckOwner(PFAST_MUTEX FastMutex, PKTHREAD Thread)
{
    PKTHREAD owner = ExpFastMutexOwner(FastMutex);
    if (owner == Thread)
        return;
    if (owner == NULL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)FastMutex,
                     (ULONG_PTR)Thread, 0);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNEXPECTED_THREAD, (ULONG_PTR)FastMutex,
                 (ULONG_PTR)owner, (ULONG_PTR)Thread);
}

VOID ExpMutexAcquire(PFAST_MUTEX FastMutex, PKTHREAD Thread, KWAIT_REASON Reason)
{
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRE, FastMutex);
    if (__atomic_sub_fetch(&FastMutex->Count, 1, __ATOMIC_ACQ_REL) != 0) {
        __atomic_fetch_add(&FastMutex->Contention, 1, __ATOMIC_RELAXED);
        KeWaitForSingleObject(&FastMutex->Event, Reason, KernelMode, FALSE, NULL);
    }
    __atomic_store_n(&FastMutex->Owner, Thread, __ATOMIC_RELAXED);
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, FastMutex);
}

BOOLEAN ExpMutexTryAcquire(PFAST_MUTEX FastMutex, PKTHREAD Thread)
{
    LONG expected = 1;
    arch_sched_point(ARCH_SP_LOCK_TRY, FastMutex);
    if (!__atomic_compare_exchange_n(&FastMutex->Count, &expected, 0, FALSE, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return FALSE;
    __atomic_store_n(&FastMutex->Owner, Thread, __ATOMIC_RELAXED);
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, FastMutex);
    return TRUE;
}

VOID ExpMutexRelease(PFAST_MUTEX FastMutex)
{
    __atomic_store_n(&FastMutex->Owner, NULL, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&FastMutex->Count, 1, __ATOMIC_ACQ_REL) != 1)
        KeSetEvent(&FastMutex->Event, FM_INCREMENT, FALSE);
    arch_sched_point(ARCH_SP_MUTEX_RELEASE, FastMutex);
}

VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex)
{
    FastMutex->Count = 1;
    FastMutex->Owner = NULL;
    FastMutex->Contention = 0;
    FastMutex->OldIrql = 0;
    KeInitializeEvent(&FastMutex->Event, SynchronizationEvent, FALSE);
}

VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpCheckIrqlAtMost(FastMutex, APC_LEVEL, (PVOID)ExAcquireFastMutex);
    ExpMutexCheckNotOwner(FastMutex, self);
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    ExpMutexAcquire(FastMutex, self, WrFastMutex);
    FastMutex->OldIrql = old;
}

BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpCheckIrqlAtMost(FastMutex, APC_LEVEL, (PVOID)ExTryToAcquireFastMutex);
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    if (!ExpMutexTryAcquire(FastMutex, self)) {
        KeLowerIrql(old);
        return FALSE;
    }
    FastMutex->OldIrql = old;
    return TRUE;
}

VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    KIRQL irql = KeGetCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)FastMutex, irql, 0, (ULONG_PTR)ExReleaseFastMutex);
    if (irql < APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, (ULONG_PTR)FastMutex, irql, APC_LEVEL,
                     (ULONG_PTR)ExReleaseFastMutex);
    ExpMutexCheckOwner(FastMutex, self);
    /* Read before the release: the next owner overwrites it. */
    KIRQL old = (KIRQL)FastMutex->OldIrql;
    ExpMutexRelease(FastMutex);
    KeLowerIrql(old);
}

VOID NTAPI ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpCheckUnsafeContext(FastMutex, (PVOID)ExAcquireFastMutexUnsafe);
    ExpMutexCheckNotOwner(FastMutex, self);
    ExpMutexAcquire(FastMutex, self, WrFastMutex);
}

VOID NTAPI ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpCheckUnsafeContext(FastMutex, (PVOID)ExReleaseFastMutexUnsafe);
    ExpMutexCheckOwner(FastMutex, self);
    ExpMutexRelease(FastMutex);
}
