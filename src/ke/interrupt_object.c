/*
 * Interrupt objects and interrupt spin locks.
 *
 * Locking and IRQL rules: an interrupt object's service routine runs at the
 * object's SynchronizeIrql (>= its Irql) holding ActualLock (the object's own
 * SpinLock, or a lock shared by several interrupt objects). Code that shares
 * data with the service routine takes the same lock at the same IRQL:
 * KeAcquireInterruptSpinLock / KeSynchronizeExecution, callable at IRQL <=
 * SynchronizeIrql. Acquiring from above SynchronizeIrql is a caller bug
 * (IRQL_NOT_GREATER_OR_EQUAL from the raise); the spin lock's own owner checks
 * catch recursion and foreign releases.
 */
#include "ki.h"

VOID NTAPI KeInitializeInterrupt(PKINTERRUPT Interrupt, PKSERVICE_ROUTINE ServiceRoutine, PVOID ServiceContext,
                                 PKSPIN_LOCK SpinLock, ULONG Vector, KIRQL Irql, KIRQL SynchronizeIrql,
                                 KINTERRUPT_MODE InterruptMode, BOOLEAN ShareVector, CCHAR ProcessorNumber,
                                 BOOLEAN FloatingSave)
{
    RtlZeroMemory(Interrupt, sizeof(*Interrupt));
    Interrupt->Type = InterruptObject;
    Interrupt->Size = sizeof(KINTERRUPT);
    InitializeListHead(&Interrupt->InterruptListEntry);
    Interrupt->ServiceRoutine = ServiceRoutine;
    Interrupt->ServiceContext = ServiceContext;
    KeInitializeSpinLock(&Interrupt->SpinLock);
    Interrupt->ActualLock = SpinLock ? SpinLock : &Interrupt->SpinLock;
    Interrupt->Vector = Vector;
    Interrupt->Irql = Irql;
    /* The synchronisation level can only be at or above the interrupt's own. */
    Interrupt->SynchronizeIrql = SynchronizeIrql < Irql ? Irql : SynchronizeIrql;
    Interrupt->Mode = InterruptMode;
    Interrupt->ShareVector = ShareVector;
    Interrupt->Number = ProcessorNumber;
    Interrupt->FloatingSave = FloatingSave;
}

KIRQL NTAPI KeAcquireInterruptSpinLock(PKINTERRUPT Interrupt)
{
    KIRQL old = KfRaiseIrql(Interrupt->SynchronizeIrql);
    KeAcquireSpinLockAtDpcLevel(Interrupt->ActualLock);
    return old;
}

VOID NTAPI KeReleaseInterruptSpinLock(PKINTERRUPT Interrupt, KIRQL OldIrql)
{
    KeReleaseSpinLockFromDpcLevel(Interrupt->ActualLock);
    KeLowerIrql(OldIrql);
}

BOOLEAN NTAPI KeSynchronizeExecution(PKINTERRUPT Interrupt, PKSYNCHRONIZE_ROUTINE SynchronizeRoutine,
                                     PVOID SynchronizeContext)
{
    KIRQL old = KeAcquireInterruptSpinLock(Interrupt);
    BOOLEAN result = SynchronizeRoutine(SynchronizeContext);
    KeReleaseInterruptSpinLock(Interrupt, old);
    return result;
}

BOOLEAN KiInvokeInterruptServiceRoutine(PKINTERRUPT Interrupt)
{
    KIRQL old = KeAcquireInterruptSpinLock(Interrupt);
    BOOLEAN handled = Interrupt->ServiceRoutine(Interrupt, Interrupt->ServiceContext);
    Interrupt->ServiceCount++;
    KeReleaseInterruptSpinLock(Interrupt, old);
    return handled;
}
