/*
 * Timers.
 *
 * Locking and IRQL rules
 *  - The timer list (sorted by due interrupt time) and every timer's state are
 *    guarded by KiDispatcherLock (SYNCH_LEVEL). KeSetTimer(Ex) and
 *    KeCancelTimer run at <= DISPATCH_LEVEL.
 *  - The clock interrupt on processor 0 never takes the lock: it compares the
 *    interrupt time with KiTimerTable.NextDue (published with release ordering
 *    whenever the list head changes) and queues KiTimerExpirationDpc, which
 *    expires timers at DISPATCH_LEVEL under the lock.
 *  - An expiring timer is signaled (waking its waiters) and its DPC is queued
 *    while the lock is still held, so a KeCancelTimer that returns TRUE has
 *    removed the timer before that expiry: its DPC is not queued by it.
 *  - Due times: negative = relative in 100 ns units, positive = absolute
 *    system time; stored as an absolute interrupt time. Period is in ms.
 *
 * The list lives in a KI_TIMER_TABLE, and the work under the lock takes the
 * table and the current interrupt time as parameters (KiSetTimerInTable,
 * KiRemoveTimerFromTable, KiExpireTimers): the exported routines and the
 * expiration DPC pass the system table and arch_interrupt_time(). The split
 * exists so that tests/verify/test_model_timerqueue.c can run the same code on
 * a private table at interrupt times it chooses, deterministically, without
 * firing the system's own timers early.
 */
#include "ki.h"

#define KI_TIMER_INSERTED 0x01 /* in TimerMiscFlags */

/* The system's timer list; wait timeouts (wait.c) live here too. */
static KI_TIMER_TABLE KiTimerTable = {{&KiTimerTable.ListHead, &KiTimerTable.ListHead}, ~0ULL};
static KDPC KiTimerExpirationDpc;

VOID KiInitializeTimerTable(PKI_TIMER_TABLE Table)
{
    InitializeListHead(&Table->ListHead);
    Table->NextDue = ~0ULL;
}

static void KiPublishNextDue(PKI_TIMER_TABLE Table)
{
    ULONG64 due = ~0ULL;
    if (!IsListEmpty(&Table->ListHead))
        due = CONTAINING_RECORD(Table->ListHead.Flink, KTIMER, TimerListEntry)->DueTime.QuadPart;
    __atomic_store_n(&Table->NextDue, due, __ATOMIC_RELEASE);
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

BOOLEAN KiRemoveTimerFromTable(PKI_TIMER_TABLE Table, PKTIMER Timer)
{
    if (!(Timer->Header.TimerMiscFlags & KI_TIMER_INSERTED))
        return FALSE;
    BOOLEAN wasHead = Table->ListHead.Flink == &Timer->TimerListEntry;
    RemoveEntryList(&Timer->TimerListEntry);
    InitializeListHead(&Timer->TimerListEntry);
    Timer->Header.TimerMiscFlags &= ~KI_TIMER_INSERTED;
    if (wasHead)
        KiPublishNextDue(Table);
    return TRUE;
}

BOOLEAN KiRemoveTimer(PKTIMER Timer)
{
    return KiRemoveTimerFromTable(&KiTimerTable, Timer);
}

/* Inserts at absolute interrupt time DueTime; FALSE (not inserted) if that
 * time has already come at interrupt time Now. */
static BOOLEAN KiInsertTimerInTable(PKI_TIMER_TABLE Table, PKTIMER Timer, LONGLONG DueTime, ULONG64 Now)
{
    if ((ULONG64)DueTime <= Now)
        return FALSE;
    Timer->DueTime.QuadPart = (ULONGLONG)DueTime;
    PLIST_ENTRY e = Table->ListHead.Blink;
    while (e != &Table->ListHead &&
           CONTAINING_RECORD(e, KTIMER, TimerListEntry)->DueTime.QuadPart > (ULONGLONG)DueTime)
        e = e->Blink;
    /* Insert after e: equal due times expire in the order they were set. */
    InsertHeadList(e, &Timer->TimerListEntry);
    Timer->Header.TimerMiscFlags |= KI_TIMER_INSERTED;
    if (Table->ListHead.Flink == &Timer->TimerListEntry)
        KiPublishNextDue(Table);
    return TRUE;
}

BOOLEAN KiInsertTimer(PKTIMER Timer, LONGLONG DueTime)
{
    return KiInsertTimerInTable(&KiTimerTable, Timer, DueTime, arch_interrupt_time());
}

/* A KeSetTimerEx due time as an absolute interrupt time, Now being the current one. */
static ULONG64 KiTimerDue(LONGLONG DueTime, ULONG64 Now)
{
    if (DueTime < 0) {
        ULONG64 delta = (ULONG64)(-(DueTime + 1)) + 1;
        return Now + delta < Now ? ~0ULL - 1 : Now + delta;
    }
    ULONG64 boot = arch_boot_system_time();
    return (ULONG64)DueTime <= boot ? 0 : (ULONG64)DueTime - boot;
}

/*
 * Signals an expired timer, queues its DPC and re-arms a periodic one. Now is
 * the interrupt time the expiry runs for; the next due time is always after
 * it, so the re-insertion cannot fail even when the pass runs late (the clock
 * has moved past Now + Period meanwhile: the timer is then simply due at the
 * next tick instead of being dropped).
 */
static void KiFireTimer(PKI_TIMER_TABLE Table, PKTIMER Timer, ULONG64 Now)
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
        KiInsertTimerInTable(Table, Timer, (LONGLONG)next, Now);
    }
}

VOID KiExpireTimers(PKI_TIMER_TABLE Table, ULONG64 Now)
{
    while (!IsListEmpty(&Table->ListHead)) {
        PKTIMER t = CONTAINING_RECORD(Table->ListHead.Flink, KTIMER, TimerListEntry);
        if (t->DueTime.QuadPart > Now)
            break;
        KiRemoveTimerFromTable(Table, t);
        KiFireTimer(Table, t, Now);
    }
    KiPublishNextDue(Table);
}

static VOID NTAPI KiTimerExpiration(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    (void)Dpc, (void)Context, (void)A1, (void)A2;
    KIRQL old = KiAcquireDispatcherLock();
    KiExpireTimers(&KiTimerTable, arch_interrupt_time());
    KiReleaseDispatcherLock(old);
}

ULONG64 KiNextTimerDueTime(void)
{
    return __atomic_load_n(&KiTimerTable.NextDue, __ATOMIC_ACQUIRE);
}

VOID KiInitializeTimers(void)
{
    KeInitializeDpc(&KiTimerExpirationDpc, KiTimerExpiration, NULL);
    KeSetImportanceDpc(&KiTimerExpirationDpc, HighImportance);
}

VOID KiCheckTimers(void)
{
    if (arch_interrupt_time() >= __atomic_load_n(&KiTimerTable.NextDue, __ATOMIC_ACQUIRE))
        KeInsertQueueDpc(&KiTimerExpirationDpc, NULL, NULL);
}

BOOLEAN KiSetTimerInTable(PKI_TIMER_TABLE Table, PKTIMER Timer, LONGLONG DueTime, LONG Period, PKDPC Dpc,
                          ULONG64 Now)
{
    BOOLEAN wasInserted = KiRemoveTimerFromTable(Table, Timer);
    Timer->Dpc = Dpc;
    Timer->Period = (ULONG)Period;
    Timer->Header.SignalState = 0;
    ULONG64 due = KiTimerDue(DueTime, Now);
    if (!KiInsertTimerInTable(Table, Timer, (LONGLONG)due, Now)) {
        /* Already due: expires now, as if the clock had just seen it. */
        Timer->DueTime.QuadPart = due;
        KiFireTimer(Table, Timer, Now);
    }
    return wasInserted;
}

BOOLEAN NTAPI KeSetTimerEx(PKTIMER Timer, LARGE_INTEGER DueTime, LONG Period, PKDPC Dpc)
{
    if (Period < 0)
        KeBugCheckEx(TIMER_OR_DPC_INVALID, 0, (ULONG_PTR)Timer, (ULONG_PTR)Period, 0);
    arch_sched_point(ARCH_SP_TIMER_INSERT, Timer);
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN wasInserted = KiSetTimerInTable(&KiTimerTable, Timer, DueTime.QuadPart, Period, Dpc,
                                            arch_interrupt_time());
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
