/*
 * Once-a-second device timers: IoInitializeTimer, IoStartTimer, IoStopTimer.
 *
 * One periodic KTIMER with a DPC, owned by the I/O manager, fires every
 * second and calls the timer routine of every started device timer at
 * DISPATCH_LEVEL (the documented environment of an IO_TIMER_ROUTINE). It is
 * armed by the first IoInitializeTimer and runs from then on, as in NT.
 *
 * Locking and IRQL rules
 *  - IopTimerLock (a spin lock) guards the list of IO_TIMERs; the DPC walks
 *    the list holding it and calls the routines under it, so a routine must
 *    not initialise or remove timers (it may start and stop them: TimerFlag
 *    is read and written atomically, without the lock).
 *  - IoInitializeTimer: PASSIVE_LEVEL (it allocates). IoStartTimer and
 *    IoStopTimer: <= DISPATCH_LEVEL. IopRemoveDeviceTimer: <= DISPATCH_LEVEL;
 *    once it returns the routine is never called again: it unlinks under the
 *    lock the DPC walks under, so a walk in progress has finished.
 *  - Initialisation is lazy: a 0 -> 1 -> 2 state word; the winner initialises
 *    the lock, list, timer and DPC and publishes 2.
 */
#include "iop.h"

typedef struct _IO_TIMER {
    CSHORT Type;
    volatile CSHORT TimerFlag;
    LIST_ENTRY TimerList;
    PIO_TIMER_ROUTINE TimerRoutine;
    PVOID Context;
    PDEVICE_OBJECT DeviceObject;
} IO_TIMER;

static KSPIN_LOCK IopTimerLock;
static LIST_ENTRY IopTimerQueueHead;
static KTIMER IopTimer;
static KDPC IopTimerDpc;
static volatile LONG IopTimerState;

static VOID NTAPI IopTimerDispatch(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc;
    (void)Context;
    (void)A1;
    (void)A2;
    KeAcquireSpinLockAtDpcLevel(&IopTimerLock);
    for (PLIST_ENTRY e = IopTimerQueueHead.Flink; e != &IopTimerQueueHead; e = e->Flink) {
        IO_TIMER *t = CONTAINING_RECORD(e, IO_TIMER, TimerList);
        if (__atomic_load_n(&t->TimerFlag, __ATOMIC_ACQUIRE))
            t->TimerRoutine(t->DeviceObject, t->Context);
    }
    KeReleaseSpinLockFromDpcLevel(&IopTimerLock);
}

static VOID IopEnsureTimer(void)
{
    LONG expected = 0;
    if (__atomic_compare_exchange_n(&IopTimerState, &expected, 1, FALSE, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        KeInitializeSpinLock(&IopTimerLock);
        InitializeListHead(&IopTimerQueueHead);
        KeInitializeDpc(&IopTimerDpc, IopTimerDispatch, NULL);
        KeInitializeTimerEx(&IopTimer, SynchronizationTimer);
        LARGE_INTEGER due;
        due.QuadPart = -10 * 1000 * 1000; /* one second */
        KeSetTimerEx(&IopTimer, due, 1000, &IopTimerDpc);
        __atomic_store_n(&IopTimerState, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&IopTimerState, __ATOMIC_ACQUIRE) != 2)
        KeYieldProcessor();
}

NTSTATUS NTAPI IoInitializeTimer(PDEVICE_OBJECT DeviceObject, PIO_TIMER_ROUTINE TimerRoutine, PVOID Context)
{
    if (TimerRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    IopEnsureTimer();
    IO_TIMER *t = DeviceObject->Timer;
    if (t != NULL) {
        /* NT reuses the device's timer; a new routine replaces the old one
         * under the lock so the DPC never sees a half-updated pair. */
        KIRQL irql;
        KeAcquireSpinLock(&IopTimerLock, &irql);
        t->TimerRoutine = TimerRoutine;
        t->Context = Context;
        KeReleaseSpinLock(&IopTimerLock, irql);
        return STATUS_SUCCESS;
    }
    t = ExAllocatePoolZero(NonPagedPoolNx, sizeof(IO_TIMER), IOP_TIMER_TAG);
    if (t == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    t->Type = IO_TYPE_TIMER;
    t->TimerRoutine = TimerRoutine;
    t->Context = Context;
    t->DeviceObject = DeviceObject;
    KIRQL irql;
    KeAcquireSpinLock(&IopTimerLock, &irql);
    InsertTailList(&IopTimerQueueHead, &t->TimerList);
    KeReleaseSpinLock(&IopTimerLock, irql);
    DeviceObject->Timer = t;
    return STATUS_SUCCESS;
}

VOID NTAPI IoStartTimer(PDEVICE_OBJECT DeviceObject)
{
    IO_TIMER *t = DeviceObject->Timer;
    if (t != NULL)
        __atomic_store_n(&t->TimerFlag, TRUE, __ATOMIC_RELEASE);
}

VOID NTAPI IoStopTimer(PDEVICE_OBJECT DeviceObject)
{
    IO_TIMER *t = DeviceObject->Timer;
    if (t != NULL)
        __atomic_store_n(&t->TimerFlag, FALSE, __ATOMIC_RELEASE);
}

VOID IopRemoveDeviceTimer(PDEVICE_OBJECT DeviceObject)
{
    IO_TIMER *t = DeviceObject->Timer;
    if (t == NULL)
        return;
    DeviceObject->Timer = NULL;
    KIRQL irql;
    KeAcquireSpinLock(&IopTimerLock, &irql);
    RemoveEntryList(&t->TimerList);
    KeReleaseSpinLock(&IopTimerLock, irql);
    /* A DPC already past the unlink on another processor finished its walk
     * before the lock was ours; none can reach t now. */
    ExFreePoolWithTag(t, IOP_TIMER_TAG);
}
