/*
 * Semaphores.
 *
 * Locking and IRQL rules: KiDispatcherLock (SYNCH_LEVEL); callers at <=
 * DISPATCH_LEVEL; Wait=TRUE keeps the lock for the caller's next wait. Each
 * satisfied wait takes one unit of the count.
 *
 * A release beyond Limit raises STATUS_SEMAPHORE_LIMIT_EXCEEDED. Until
 * structured exception handling exists in the kernel an unhandled raise is
 * what it would become anyway: bug check KMODE_EXCEPTION_NOT_HANDLED with the
 * status as parameter 1. The semaphore is left unchanged.
 */
#include "ki.h"

VOID NTAPI KeInitializeSemaphore(PRKSEMAPHORE Semaphore, LONG Count, LONG Limit)
{
    Semaphore->Header.Lock = 0;
    Semaphore->Header.Type = SemaphoreObject;
    Semaphore->Header.Size = sizeof(KSEMAPHORE) / sizeof(LONG);
    Semaphore->Header.SignalState = Count;
    InitializeListHead(&Semaphore->Header.WaitListHead);
    Semaphore->Limit = Limit;
}

LONG NTAPI KeReleaseSemaphore(PRKSEMAPHORE Semaphore, KPRIORITY Increment, LONG Adjustment, BOOLEAN Wait)
{
    KIRQL old = KiAcquireDispatcherLock();
    LONG previous = Semaphore->Header.SignalState;
    if (Adjustment <= 0 || Semaphore->Limit - previous < Adjustment) {
        KiReleaseDispatcherLock(old);
        KeBugCheckEx(KMODE_EXCEPTION_NOT_HANDLED, (ULONG_PTR)STATUS_SEMAPHORE_LIMIT_EXCEEDED,
                     (ULONG_PTR)Semaphore, (ULONG_PTR)Adjustment, (ULONG_PTR)previous);
    }
    Semaphore->Header.SignalState = previous + Adjustment;
    if (previous == 0 && !IsListEmpty(&Semaphore->Header.WaitListHead))
        KiWaitTest(Semaphore, Increment);
    if (Wait) {
        PKTHREAD t = KeGetCurrentThread();
        t->WaitNext = TRUE;
        t->WaitIrql = old;
    } else {
        KiReleaseDispatcherLock(old);
    }
    return previous;
}

LONG NTAPI KeReadStateSemaphore(PRKSEMAPHORE Semaphore)
{
    return __atomic_load_n(&Semaphore->Header.SignalState, __ATOMIC_ACQUIRE);
}
