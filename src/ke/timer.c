/*
 * Timers.
 *
 * Locking and IRQL rules
 *  - The timer list (sorted by due interrupt time) and every timer's state are
 *    guarded by KiDispatcherLock (SYNCH_LEVEL). KeSetTimer(Ex) and
 *    KeCancelTimer run at <= DISPATCH_LEVEL.
 *  - The clock interrupt on processor 0 never takes the lock: it compares the
 *    interrupt time with KiNextTimerDue (published with release ordering
 *    whenever the list head changes) and queues KiTimerExpirationDpc, which
 *    expires timers at DISPATCH_LEVEL under the lock.
 *  - An expiring timer is signaled (waking its waiters) and its DPC is queued
 *    while the lock is still held, so a KeCancelTimer that returns TRUE has
 *    removed the timer before that expiry: its DPC is not queued by it.
 *  - Due times: negative = relative in 100 ns units, positive = absolute
 *    system time; stored as an absolute interrupt time. Period is in ms.
 */
#include "ki.h"

#define KI_TIMER_INSERTED 0x01 /* in TimerMiscFlags */

static LIST_ENTRY KiTimerListHead = {&KiTimerListHead, &KiTimerListHead};
static volatile ULONG64 KiNextTimerDue = ~0ULL;
static KDPC KiTimerExpirationDpc;

static void KiPublishNextDue(void)
{
    ULONG64 due = ~0ULL;
    if (!IsListEmpty(&KiTimerListHead))
        due = CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart;
    __atomic_store_n(&KiNextTimerDue, due, __ATOMIC_RELEASE);
}

VOID NTAPI KeInitializeTimerEx(PKTIMER Timer, TIMER_TYPE Type)
{
    Timer->Header.Lock = 0;
    Timer->Header.Type = (UCHAR)(Type == SynchronizationTimer ? TimerSynchronizationObject : TimerNotificationObject);
    Timer->Header.Size = sizeof(KTIMER) / sizeof(LONG);
    Timer->Header.SignalState = 0;
    InitializeListHead(&Timer->Header.WaitListHead);
    Timer->DueTime.QuadPart = 0;
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Dpc = NULL;
    Timer->Processor = 0;
    Timer->Period = 0;
}

VOID NTAPI KeInitializeTimer(PKTIMER Timer)
{
    KeInitializeTimerEx(Timer, NotificationTimer);
}

BOOLEAN KiRemoveTimer(PKTIMER Timer)
{
    if (!(Timer->Header.TimerMiscFlags & KI_TIMER_INSERTED))
        return FALSE;
    BOOLEAN wasHead = KiTimerListHead.Flink == &Timer->TimerListEntry;
    RemoveEntryList(&Timer->TimerListEntry);
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Header.TimerMiscFlags &= ~KI_TIMER_INSERTED;
    if (wasHead)
        KiPublishNextDue();
    return TRUE;
}

/* Inserts at absolute interrupt time DueTime; FALSE (not inserted) if that
 * time has already come. */
BOOLEAN KiInsertTimer(PKTIMER Timer, LONGLONG DueTime)
{
    if ((ULONG64)DueTime <= arch_interrupt_time())
        return FALSE;
    Timer->DueTime.QuadPart = (ULONGLONG)DueTime;
    PLIST_ENTRY e = KiTimerListHead.Blink;
    while (e != &KiTimerListHead &&
           CONTAINING_RECORD(e, KTIMER, TimerListEntry)->DueTime.QuadPart > (ULONGLONG)DueTime)
        e = e->Blink;
    /* Insert after e: equal due times expire in the order they were set. */
    InsertHeadList(e, &Timer->TimerListEntry);
    Timer->Header.TimerMiscFlags |= KI_TIMER_INSERTED;
    if (KiTimerListHead.Flink == &Timer->TimerListEntry)
        KiPublishNextDue();
    return TRUE;
}

static ULONG64 KiTimerDue(LONGLONG DueTime)
{
    ULONG64 now = arch_interrupt_time();
    if (DueTime < 0) {
        ULONG64 delta = (ULONG64)(-(DueTime + 1)) + 1;
        return now + delta < now ? ~0ULL - 1 : now + delta;
    }
    ULONG64 boot = arch_boot_system_time();
    return (ULONG64)DueTime <= boot ? 0 : (ULONG64)DueTime - boot;
}

/* Signals an expired timer, queues its DPC and re-arms a periodic one. */
static void KiFireTimer(PKTIMER Timer, ULONG64 Now)
{
    ULARGE_INTEGER systemTime;
    systemTime.QuadPart = arch_boot_system_time() + Now;
    Timer->Header.SignalState = 1;
    if (!IsListEmpty(&Timer->Header.WaitListHead))
        KiWaitTest(Timer, 0);
    if (Timer->Dpc != NULL)
        KeInsertQueueDpc(Timer->Dpc, (PVOID)(ULONG_PTR)systemTime.LowPart, (PVOID)(ULONG_PTR)systemTime.HighPart);
    if (Timer->Period != 0) {
        ULONG64 period = (ULONG64)Timer->Period * 10000;
        ULONG64 next = Timer->DueTime.QuadPart + period;
        if (next <= Now)
            next = Now + period;
        KiInsertTimer(Timer, (LONGLONG)next);
    }
}

static VOID NTAPI KiTimerExpiration(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    KIRQL old = KiAcquireDispatcherLock();
    ULONG64 now = arch_interrupt_time();
    while (!IsListEmpty(&KiTimerListHead)) {
        PKTIMER t = CONTAINING_RECORD(KiTimerListHead.Flink, KTIMER, TimerListEntry);
        if (t->DueTime.QuadPart > now)
            break;
        KiRemoveTimer(t);
        KiFireTimer(t, now);
    }
    KiPublishNextDue();
    KiReleaseDispatcherLock(old);
}

ULONG64 KiNextTimerDueTime(void)
{
    return __atomic_load_n(&KiNextTimerDue, __ATOMIC_ACQUIRE);
}

VOID KiInitializeTimers(void)
{
    KeInitializeDpc(&KiTimerExpirationDpc, KiTimerExpiration, NULL);
    KeSetImportanceDpc(&KiTimerExpirationDpc, HighImportance);
}

VOID KiCheckTimers(void)
{
    if (arch_interrupt_time() >= __atomic_load_n(&KiNextTimerDue, __ATOMIC_ACQUIRE))
        KeInsertQueueDpc(&KiTimerExpirationDpc, NULL, NULL);
}

BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    if (Period < 0)
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 0, (ULONG_PTR)Timer, (ULONG_PTR)Period, 0);
    arch_sched_point(ARCH_SP_TIMER_INSERT, Timer);
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN wasInserted = KiRemoveTimer(Timer);
    Timer->Dpc = Dpc;
    Timer->Period = (ULONG)Period;
    Timer->Header.SignalState = 0;
    ULONG64 due = KiTimerDue(DueTime.QuadPart);
    if (!KiInsertTimer(Timer, (LONGLONG)due)) {
        /* Already due: expires now, as if the clock had just seen it. */
        Timer->DueTime.QuadPart = due;
        KiFireTimer(Timer, arch_interrupt_time());
    }
    KiReleaseDispatcherLock(old);
    return wasInserted;
}

BOOLEAN NTAPI KeSetTimer(PKTIMER Timer, LARGE_INTEGER DueTime, PKDPC Dpc)
{
    return KeSetTimerEx(Timer, DueTime, 0, Dpc);
}

BOOLEAN NTAPI KeCancelTimer(PKTIMER Timer)
{
    arch_sched_point(ARCH_SP_TIMER_REMOVE, Timer);
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN wasInserted = KiRemoveTimer(Timer);
    KiReleaseDispatcherLock(old);
    return wasInserted;
}

BOOLEAN NTAPI KeReadStateTimer(PKTIMER Timer)
{
    return __atomic_load_n(&Timer->Header.SignalState, __ATOMIC_ACQUIRE) != 0;
}
