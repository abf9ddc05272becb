/*
 * Events.
 *
 * Locking and IRQL rules: state changes and wake-ups happen under
 * KiDispatcherLock (SYNCH_LEVEL); callers run at <= DISPATCH_LEVEL. With
 * Wait=TRUE the set/pulse returns holding the lock at SYNCH_LEVEL and the
 * caller must wait next (see wait.c). A notification event stays signaled and
 * releases every waiter; a synchronization event releases exactly one waiter
 * per set and is consumed by it (auto-reset).
 */
#include "ki.h"

VOID NTAPI KeInitializeEvent(PRKEVENT Event, EVENT_TYPE Type, BOOLEAN State)
{
    Event->Header.Lock = 0;
    Event->Header.Type = (UCHAR)(Type == SynchronizationEvent ? EventSynchronizationObject : EventNotificationObject);
    Event->Header.Size = sizeof(KEVENT) / sizeof(LONG);
    Event->Header.SignalState = State ? 1 : 0;
    InitializeListHead(&Event->Header.WaitListHead);
}

/* Ends a signaling call: keep the lock for the caller's next wait, or drop it. */
static void KiEndSignal(KIRQL Old, BOOLEAN Wait)
{
    if (Wait) {
        PKTHREAD t = KeGetCurrentThread();
        t->WaitNext = TRUE;
        t->WaitIrql = Old;
    } else {
        KiReleaseDispatcherLock(Old);
    }
}

LONG NTAPI KeSetEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    KIRQL old = KiAcquireDispatcherLock();
    LONG previous = Event->Header.SignalState;
    if (previous == 0) {
        Event->Header.SignalState = 1;
        if (!IsListEmpty(&Event->Header.WaitListHead))
            KiWaitTest(Event, Increment);
    }
    KiEndSignal(old, Wait);
    return previous;
}

LONG NTAPI KePulseEvent(PRKEVENT Event, KPRIORITY Increment, BOOLEAN Wait)
{
    KIRQL old = KiAcquireDispatcherLock();
    LONG previous = Event->Header.SignalState;
    if (previous == 0) {
        Event->Header.SignalState = 1;
        KiWaitTest(Event, Increment);
    }
    Event->Header.SignalState = 0;
    KiEndSignal(old, Wait);
    return previous;
}

LONG NTAPI KeResetEvent(PRKEVENT Event)
{
    KIRQL old = KiAcquireDispatcherLock();
    LONG previous = Event->Header.SignalState;
    Event->Header.SignalState = 0;
    KiReleaseDispatcherLock(old);
    return previous;
}

VOID NTAPI KeClearEvent(PRKEVENT Event)
{
    /* Documented as the cheaper reset: no lock, the previous state is not needed. */
    __atomic_store_n(&Event->Header.SignalState, 0, __ATOMIC_RELEASE);
}

LONG NTAPI KeReadStateEvent(PRKEVENT Event)
{
    return __atomic_load_n(&Event->Header.SignalState, __ATOMIC_ACQUIRE);
}
