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
 *
 * Connected objects: each device vector (ARCH_DEVICE_VECTOR_FIRST..LAST, IRQL
 * vector >> 4) has a chain of the objects connected to it, guarded by the
 * vector's lock, which is taken at the vector's IRQL: by KeConnectInterrupt
 * and KeDisconnectInterrupt (raising to it from <= DISPATCH_LEVEL) and by
 * KiDeviceInterrupt (already there), which holds it while it calls the
 * service routines. So once KeDisconnectInterrupt returns, the object's
 * service routine is not running on any processor and will not run again.
 * Lock order: vector lock, then an object's ActualLock (inside
 * KiInvokeInterruptServiceRoutine); nothing takes them the other way. The
 * first connect on a vector unmasks its source (arch_device_interrupt_enable),
 * the last disconnect masks it.
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

/* ---- connecting to device vectors --------------------------------------------------------------- */

#define KI_DEVICE_VECTORS (ARCH_DEVICE_VECTOR_LAST - ARCH_DEVICE_VECTOR_FIRST + 1)

typedef struct _KI_INTERRUPT_VECTOR {
    KSPIN_LOCK Lock;
    LIST_ENTRY Objects;     /* KINTERRUPT.InterruptListEntry; Flink NULL until first use */
    ULONG Unclaimed;        /* interrupts no service routine claimed */
} KI_INTERRUPT_VECTOR;

static KI_INTERRUPT_VECTOR KiInterruptVectors[KI_DEVICE_VECTORS];

static KI_INTERRUPT_VECTOR *KiVectorOf(ULONG Vector)
{
    if (Vector < ARCH_DEVICE_VECTOR_FIRST || Vector > ARCH_DEVICE_VECTOR_LAST)
        return NULL;
    return &KiInterruptVectors[Vector - ARCH_DEVICE_VECTOR_FIRST];
}

/* Raises to the vector's IRQL and takes its lock. */
static KIRQL KiLockVector(KI_INTERRUPT_VECTOR *V, ULONG Vector)
{
    KIRQL old = KfRaiseIrql((KIRQL)(Vector >> 4));
    KiAcquireSpinLockRaw(&V->Lock);
    if (V->Objects.Flink == NULL)
        InitializeListHead(&V->Objects);
    return old;
}

static VOID KiUnlockVector(KI_INTERRUPT_VECTOR *V, KIRQL Old)
{
    KiReleaseSpinLockRaw(&V->Lock);
    KeLowerIrql(Old);
}

/*
 * Connects Interrupt to its vector. FALSE (nothing changed) when the object is
 * already connected, the vector is not a device vector, the object's Irql is
 * not the vector's (vector >> 4: the level the interrupt arrives at), or the
 * vector already has objects and either side does not share or the modes
 * differ; also when the backend cannot deliver the vector. IRQL <= DISPATCH_LEVEL.
 */
BOOLEAN NTAPI KeConnectInterrupt(PKINTERRUPT Interrupt)
{
    KI_INTERRUPT_VECTOR *v = KiVectorOf(Interrupt->Vector);
    if (v == NULL || Interrupt->Connected || Interrupt->Irql != (KIRQL)(Interrupt->Vector >> 4) ||
        Interrupt->SynchronizeIrql < Interrupt->Irql || Interrupt->ServiceRoutine == NULL)
        return FALSE;
    KIRQL old = KiLockVector(v, Interrupt->Vector);
    BOOLEAN ok = TRUE;
    if (!IsListEmpty(&v->Objects)) {
        PKINTERRUPT first = CONTAINING_RECORD(v->Objects.Flink, KINTERRUPT, InterruptListEntry);
        ok = first->ShareVector && Interrupt->ShareVector && first->Mode == Interrupt->Mode;
    } else {
        ok = arch_device_interrupt_enable(Interrupt->Vector, TRUE, (ULONG)Interrupt->Mode);
    }
    if (ok) {
        InsertTailList(&v->Objects, &Interrupt->InterruptListEntry);
        Interrupt->Connected = TRUE;
    }
    KiUnlockVector(v, old);
    return ok;
}

/* Disconnects Interrupt; FALSE if it was not connected. IRQL <= DISPATCH_LEVEL. */
BOOLEAN NTAPI KeDisconnectInterrupt(PKINTERRUPT Interrupt)
{
    KI_INTERRUPT_VECTOR *v = KiVectorOf(Interrupt->Vector);
    if (v == NULL)
        return FALSE;
    KIRQL old = KiLockVector(v, Interrupt->Vector);
    BOOLEAN was = Interrupt->Connected;
    if (was) {
        RemoveEntryList(&Interrupt->InterruptListEntry);
        InitializeListHead(&Interrupt->InterruptListEntry);
        Interrupt->Connected = FALSE;
        if (IsListEmpty(&v->Objects))
            arch_device_interrupt_enable(Interrupt->Vector, FALSE, (ULONG)Interrupt->Mode);
    }
    KiUnlockVector(v, old);
    return was;
}

/*
 * The backend's device-interrupt upcall, at IRQL Vector >> 4 with the EOI
 * sent. Level-sensitive chains stop at the first routine that claims the
 * interrupt (the line stays asserted if another device also wants service,
 * so it comes back); latched (edge) chains call every routine, since an
 * edge from a second device during the first routine would otherwise be lost.
 */
void KiDeviceInterrupt(ULONG Vector)
{
    KI_INTERRUPT_VECTOR *v = KiVectorOf(Vector);
    if (v == NULL)
        return;
    KiAcquireSpinLockRaw(&v->Lock);
    BOOLEAN claimed = FALSE;
    if (v->Objects.Flink != NULL) {
        for (PLIST_ENTRY e = v->Objects.Flink; e != &v->Objects; e = e->Flink) {
            PKINTERRUPT i = CONTAINING_RECORD(e, KINTERRUPT, InterruptListEntry);
            if (KiInvokeInterruptServiceRoutine(i)) {
                claimed = TRUE;
                if (i->Mode == LevelSensitive)
                    break;
            }
        }
    }
    if (!claimed)
        v->Unclaimed++;
    KiReleaseSpinLockRaw(&v->Lock);
}

ULONG KiDeviceInterruptUnclaimed(ULONG Vector)
{
    KI_INTERRUPT_VECTOR *v = KiVectorOf(Vector);
    return v ? __atomic_load_n(&v->Unclaimed, __ATOMIC_RELAXED) : 0;
}
