/*
 * Guarded mutexes.
 *
 * Locking and IRQL rules
 *  - Same state machine as the fast mutex (fastmutex.c): Count 1 free, 0
 *    owned, -n owned with n committed waiters; a contended release sets the
 *    synchronization gate once, handing the mutex to one waiter.
 *  - KeAcquireGuardedMutex / KeTryToAcquireGuardedMutex run at IRQL <=
 *    APC_LEVEL and enter a guarded region instead of raising the IRQL, so the
 *    owner gets no APC at all (not even special kernel APCs) until
 *    KeReleaseGuardedMutex leaves it. The region is entered before the mutex
 *    is taken and left after it is released, so no APC can run while it is
 *    held.
 *  - The *Unsafe forms change nothing but the mutex: the caller is in a
 *    guarded region or at APC_LEVEL (KeAreAllApcsDisabled), as documented.
 *    Otherwise they stop with FAST_ERESOURCE_PRECONDITION_VIOLATION (7, mutex,
 *    0, routine).
 *  - Misuse is checked before any thread state changes, so a caught bug check
 *    leaves the caller's APC-disable counts intact: re-acquiring by the owner
 *    stops with DRIVER_VERIFIER_DETECTED_VIOLATION (0x1000, mutex, thread, 0);
 *    releasing a mutex owned by another thread with (0x1004, mutex, owner,
 *    thread), one owned by nobody with (0x1007, mutex, thread, 0); above
 *    APC_LEVEL with IRQL_NOT_LESS_OR_EQUAL (mutex, IRQL, 0, routine).
 *  - KernelApcDisable/SpecialApcDisable in the structure are kept zero; ntos
 *    tracks the region in the thread, where KeAreAllApcsDisabled looks.
 */
#include <ntos/ex_sync.h>

#define GM_INCREMENT 1

static PKTHREAD ExpGuardedOwner(PKGUARDED_MUTEX Mutex)
{
    return __atomic_load_n(&Mutex->Owner, __ATOMIC_RELAXED);
}

static void ExpGuardedCheckIrql(PKGUARDED_MUTEX Mutex, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Mutex, irql, 0, (ULONG_PTR)Routine);
}

static void ExpGuardedCheckUnsafe(PKGUARDED_MUTEX Mutex, PVOID Routine)
{
    ExpGuardedCheckIrql(Mutex, Routine);
    if (!KeAreAllApcsDisabled())
        KeBugCheckEx(FAST_ERESOURCE_PRECONDITION_VIOLATION, EX_PRECONDITION_APCS_NOT_DISABLED, (ULONG_PTR)Mutex,
                     0, (ULONG_PTR)Routine);
}

static void ExpGuardedCheckNotOwner(PKGUARDED_MUTEX Mutex, PKTHREAD Thread)
{
    if (ExpGuardedOwner(Mutex) == Thread)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_SELF_DEADLOCK, (ULONG_PTR)Mutex,
                     (ULONG_PTR)Thread, 0);
}

static void ExpGuardedCheckOwner(PKGUARDED_MUTEX Mutex, PKTHREAD Thread)
{
    PKTHREAD owner = ExpGuardedOwner(Mutex);
    if (owner == Thread)
        return;
    if (owner == NULL)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)Mutex,
                     (ULONG_PTR)Thread, 0);
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNEXPECTED_THREAD, (ULONG_PTR)Mutex,
                 (ULONG_PTR)owner, (ULONG_PTR)Thread);
}

static void ExpGuardedAcquire(PKGUARDED_MUTEX Mutex, PKTHREAD Thread)
{
    if (__atomic_sub_fetch(&Mutex->Count, 1, __ATOMIC_ACQ_REL) != 0) {
        __atomic_fetch_add(&Mutex->Contention, 1, __ATOMIC_RELAXED);
        KeWaitForSingleObject(&Mutex->Gate, WrGuardedMutex, KernelMode, FALSE, NULL);
    }
    __atomic_store_n(&Mutex->Owner, Thread, __ATOMIC_RELAXED);
}

static void ExpGuardedRelease(PKGUARDED_MUTEX Mutex)
{
    __atomic_store_n(&Mutex->Owner, NULL, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&Mutex->Count, 1, __ATOMIC_ACQ_REL) != 1)
        KeSetEvent(&Mutex->Gate, GM_INCREMENT, FALSE);
}

VOID NTAPI KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    Mutex->Count = 1;
    Mutex->Owner = NULL;
    Mutex->Contention = 0;
    Mutex->CombinedApcDisable = 0;
    KeInitializeEvent(&Mutex->Gate, SynchronizationEvent, FALSE);
}

VOID NTAPI KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckIrql(Mutex, (PVOID)KeAcquireGuardedMutex);
    ExpGuardedCheckNotOwner(Mutex, self);
    KeEnterGuardedRegion();
    ExpGuardedAcquire(Mutex, self);
}

BOOLEAN NTAPI KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckIrql(Mutex, (PVOID)KeTryToAcquireGuardedMutex);
    KeEnterGuardedRegion();
    LONG expected = 1;
    if (!__atomic_compare_exchange_n(&Mutex->Count, &expected, 0, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        KeLeaveGuardedRegion();
        return FALSE;
    }
    __atomic_store_n(&Mutex->Owner, self, __ATOMIC_RELAXED);
    return TRUE;
}

VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckIrql(Mutex, (PVOID)KeReleaseGuardedMutex);
    ExpGuardedCheckOwner(Mutex, self);
    ExpGuardedRelease(Mutex);
    KeLeaveGuardedRegion();
}

VOID NTAPI KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckUnsafe(FastMutex, (PVOID)KeAcquireGuardedMutexUnsafe);
    ExpGuardedCheckNotOwner(FastMutex, self);
    ExpGuardedAcquire(FastMutex, self);
}

VOID NTAPI KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckUnsafe(FastMutex, (PVOID)KeReleaseGuardedMutexUnsafe);
    ExpGuardedCheckOwner(FastMutex, self);
    ExpGuardedRelease(FastMutex);
}
