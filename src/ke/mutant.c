/*
 * Mutants and mutexes.
 *
 * Locking and IRQL rules: KiDispatcherLock (SYNCH_LEVEL); callers at <=
 * DISPATCH_LEVEL (waits with a timeout at <= APC_LEVEL).
 *
 * SignalState is 1 when free, 0 when owned once and negative when the owner
 * re-acquired it; the owner may always acquire it again. Acquiring a KMUTEX
 * (ApcDisable = 1) also disables normal kernel APCs for the owner until the
 * release, as a critical region does. A thread that terminates while owning
 * mutants abandons them: the next acquirer gets STATUS_ABANDONED.
 * Releasing a mutant one does not own bug-checks THREAD_NOT_MUTEX_OWNER
 * (thread, mutant, owner).
 */
#include "ki.h"

VOID NTAPI KeInitializeMutant(PRKMUTANT Mutant, BOOLEAN InitialOwner)
{
    Mutant->Header.Lock = 0;
    Mutant->Header.Type = MutantObject;
    Mutant->Header.Size = sizeof(KMUTANT) / sizeof(LONG);
    InitializeListHead(&Mutant->Header.WaitListHead);
    Mutant->Abandoned = FALSE;
    Mutant->ApcDisable = 0;
    if (InitialOwner) {
        PKTHREAD t = KeGetCurrentThread();
        KIRQL old = KiAcquireDispatcherLock();
        Mutant->Header.SignalState = 0;
        Mutant->OwnerThread = t;
        InsertHeadList(&t->MutantListHead, &Mutant->MutantListEntry);
        KiReleaseDispatcherLock(old);
    } else {
        Mutant->Header.SignalState = 1;
        Mutant->OwnerThread = NULL;
    }
}

VOID NTAPI KeInitializeMutex(PRKMUTEX Mutex, ULONG Level)
{
    (void)Level; /* documented as ignored */
    KeInitializeMutant(Mutex, FALSE);
    Mutex->ApcDisable = 1;
}

LONG NTAPI KeReleaseMutant(PRKMUTANT Mutant, KPRIORITY Increment, BOOLEAN Abandoned, BOOLEAN Wait)
{
    PKTHREAD t = KeGetCurrentThread();
    KIRQL old = KiAcquireDispatcherLock();
    LONG previous = Mutant->Header.SignalState;
    BOOLEAN leaveRegion = FALSE;
    if (Abandoned) {
        /* Forced release on behalf of a dying owner: whoever owns it. */
        if (Mutant->OwnerThread != NULL) {
            RemoveEntryList(&Mutant->MutantListEntry);
            Mutant->OwnerThread->KernelApcDisable += Mutant->ApcDisable;
        }
        Mutant->Header.SignalState = 1;
        Mutant->Abandoned = TRUE;
        Mutant->OwnerThread = NULL;
    } else {
        if (Mutant->OwnerThread != t) {
            KiReleaseDispatcherLock(old);
            KeBugCheckEx(THREAD_NOT_MUTEX_OWNER, (ULONG_PTR)t, (ULONG_PTR)Mutant,
                         (ULONG_PTR)Mutant->OwnerThread, 0);
        }
        Mutant->Header.SignalState++;
        if (Mutant->Header.SignalState == 1) {
            RemoveEntryList(&Mutant->MutantListEntry);
            Mutant->OwnerThread = NULL;
            t->KernelApcDisable += Mutant->ApcDisable;
            leaveRegion = Mutant->ApcDisable != 0;
        }
    }
    if (Mutant->Header.SignalState == 1 && !IsListEmpty(&Mutant->Header.WaitListHead))
        KiWaitTest(Mutant, Increment);
    if (Wait) {
        t->WaitNext = TRUE;
        t->WaitIrql = old;
    } else {
        KiReleaseDispatcherLock(old);
        /* Leaving the mutex's implicit critical region may unblock APCs. */
        if (leaveRegion && t->KernelApcDisable == 0 && KiKernelApcQueuedUnlocked(t) &&
            arch_get_irql() < APC_LEVEL) {
            __atomic_store_n(&t->ApcState.KernelApcPending, TRUE, __ATOMIC_RELEASE);
            arch_request_software_interrupt(APC_LEVEL);
        }
    }
    return previous;
}

LONG NTAPI KeReleaseMutex(PRKMUTEX Mutex, BOOLEAN Wait)
{
    return KeReleaseMutant(Mutex, 1, FALSE, Wait);
}

LONG NTAPI KeReadStateMutant(PRKMUTANT Mutant)
{
    return __atomic_load_n(&Mutant->Header.SignalState, __ATOMIC_ACQUIRE);
}

LONG NTAPI KeReadStateMutex(PRKMUTEX Mutex)
{
    return KeReadStateMutant(Mutex);
}
