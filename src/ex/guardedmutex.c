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
#include "mutex_core.h"

_Static_assert(offsetof(KGUARDED_MUTEX, Count) == offsetof(FAST_MUTEX, Count), "shared mutex core");
_Static_assert(offsetof(KGUARDED_MUTEX, Owner) == offsetof(FAST_MUTEX, Owner), "shared mutex core");
_Static_assert(offsetof(KGUARDED_MUTEX, Contention) == offsetof(FAST_MUTEX, Contention), "shared mutex core");
_Static_assert(offsetof(KGUARDED_MUTEX, Gate) == offsetof(FAST_MUTEX, Event), "shared mutex core");

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

/* The guarded mutex runs the fast mutex's state machine on the same fields. */
static PFAST_MUTEX ExpAsFastMutex(PKGUARDED_MUTEX Mutex)
{
    return (PFAST_MUTEX)Mutex;
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
    ExpMutexCheckNotOwner(ExpAsFastMutex(Mutex), self);
    KeEnterGuardedRegion();
    ExpMutexAcquire(ExpAsFastMutex(Mutex), self, WrGuardedMutex);
}

BOOLEAN NTAPI KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckIrql(Mutex, (PVOID)KeTryToAcquireGuardedMutex);
    KeEnterGuardedRegion();
    if (!ExpMutexTryAcquire(ExpAsFastMutex(Mutex), self)) {
        KeLeaveGuardedRegion();
        return FALSE;
    }
    return TRUE;
}

VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckIrql(Mutex, (PVOID)KeReleaseGuardedMutex);
    ExpMutexCheckOwner(ExpAsFastMutex(Mutex), self);
    ExpMutexRelease(ExpAsFastMutex(Mutex));
    KeLeaveGuardedRegion();
}

VOID NTAPI KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckUnsafe(FastMutex, (PVOID)KeAcquireGuardedMutexUnsafe);
    ExpMutexCheckNotOwner(ExpAsFastMutex(FastMutex), self);
    ExpMutexAcquire(ExpAsFastMutex(FastMutex), self, WrGuardedMutex);
}

VOID NTAPI KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex)
{
    PKTHREAD self = KeGetCurrentThread();
    ExpGuardedCheckUnsafe(FastMutex, (PVOID)KeReleaseGuardedMutexUnsafe);
    ExpMutexCheckOwner(ExpAsFastMutex(FastMutex), self);
    ExpMutexRelease(ExpAsFastMutex(FastMutex));
}
