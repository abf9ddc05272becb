/*
 * Timer objects through handles: ZwCreateTimer/ZwOpenTimer/ZwSetTimer/
 * ZwCancelTimer/ZwQueryTimer and their Nt forms: relative, absolute, past and
 * periodic due times, notification and synchronization timers, timer APCs
 * (thread, IRQL, arguments, periodic delivery, the reference a queued APC
 * holds, cancellation and re-setting dequeuing it, an executive thread kept
 * alive by its timer), deletion of a set timer, errors and access.
 */
#include "zw_test.h"
#include <ntos/ex_objects.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

#define LONG_WAIT_MS 10000

static TIMER_BASIC_INFORMATION query_timer(HANDLE Handle)
{
    TIMER_BASIC_INFORMATION i;
    ULONG r = 0;
    assert_int_equal(ZwQueryTimer(Handle, TimerBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(i));
    return i;
}

static HANDLE create_timer(TIMER_TYPE Type)
{
    HANDLE h = NULL;
    assert_int_equal(ZwCreateTimer(&h, TIMER_ALL_ACCESS, NULL, Type), STATUS_SUCCESS);
    return h;
}

static NTSTATUS wait_ms(HANDLE Handle, LONG Ms)
{
    LARGE_INTEGER t = kt_ms(Ms);
    return ZwWaitForSingleObject(Handle, FALSE, &t);
}

static void timer_type_is_exported_with_documented_rights(void **state)
{
    (void)state;
    POBJECT_TYPE t = ExTimerObjectType;
    assert_non_null(t);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Timer");
    assert_true(RtlEqualUnicodeString(&t->Name, &name, FALSE));
    assert_int_equal(t->TypeInfo.ValidAccessMask, 0x1F0003);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericRead, READ_CONTROL | TIMER_QUERY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericWrite, READ_CONTROL | TIMER_MODIFY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericExecute, READ_CONTROL | SYNCHRONIZE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericAll, TIMER_ALL_ACCESS);
    assert_ptr_equal(t->DefaultObject, NULL);
    assert_non_null(t->TypeInfo.DeleteProcedure);

    HANDLE h = create_timer(SynchronizationTimer);
    PKTIMER k = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExTimerObjectType, KernelMode, (PVOID *)&k, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(k->Header.Type, TimerSynchronizationObject);
    /* A driver may set it through the pointer; the handle sees it. */
    LARGE_INTEGER due = {.QuadPart = -1};
    KeSetTimer(k, due, NULL);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    ObDereferenceObject(k);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void notification_timer_set_wait_query(void **state)
{
    (void)state;
    HANDLE h = create_timer(NotificationTimer);
    TIMER_BASIC_INFORMATION i = query_timer(h);
    assert_int_equal(i.RemainingTime.QuadPart, 0);
    assert_false(i.TimerState);

    /* Far enough out that a loaded host cannot reach it before the query. */
    BOOLEAN prev = TRUE;
    LARGE_INTEGER due = kt_ms(LONG_WAIT_MS);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, &prev), STATUS_SUCCESS);
    assert_false(prev);
    i = query_timer(h);
    assert_in_range(i.RemainingTime.QuadPart, 1, (ULONGLONG)LONG_WAIT_MS * 10000);
    assert_false(i.TimerState);
    due = kt_ms(3);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, &prev), STATUS_SUCCESS);
    assert_false(prev);
    assert_in_range(query_timer(h).RemainingTime.QuadPart, 0, 3 * 10000);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, NULL), STATUS_WAIT_0);
    i = query_timer(h);
    assert_true(i.TimerState);
    assert_int_equal(i.RemainingTime.QuadPart, 0);
    /* Notification timers stay signaled through waits. */
    assert_int_equal(wait_ms(h, 0), STATUS_WAIT_0);

    /* Setting again reports the old state and clears it. */
    due = kt_ms(LONG_WAIT_MS);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, &prev), STATUS_SUCCESS);
    assert_true(prev);
    assert_false(query_timer(h).TimerState);
    assert_int_equal(wait_ms(h, 0), STATUS_TIMEOUT);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, &prev), STATUS_SUCCESS);
    assert_false(prev);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    BOOLEAN cur = TRUE;
    assert_int_equal(ZwCancelTimer(h, &cur), STATUS_SUCCESS);
    assert_false(cur);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void absolute_and_past_due_times(void **state)
{
    (void)state;
    HANDLE h = create_timer(NotificationTimer);
    LARGE_INTEGER now, due;
    KeQuerySystemTime(&now);
    due.QuadPart = now.QuadPart + 20 * 10000;
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    LARGE_INTEGER after;
    KeQuerySystemTimePrecise(&after);
    assert_true(after.QuadPart >= due.QuadPart);

    /* A due time already past fires at once. */
    due.QuadPart = now.QuadPart - 10 * 10000000LL;
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, 0), STATUS_WAIT_0);
    due.QuadPart = -1;
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void cancel_stops_a_set_timer(void **state)
{
    (void)state;
    HANDLE h = create_timer(NotificationTimer);
    LARGE_INTEGER due = kt_ms(LONG_WAIT_MS);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_true(query_timer(h).RemainingTime.QuadPart > 0);
    BOOLEAN cur = TRUE;
    assert_int_equal(ZwCancelTimer(h, &cur), STATUS_SUCCESS);
    assert_false(cur);
    assert_int_equal(query_timer(h).RemainingTime.QuadPart, 0);
    assert_int_equal(wait_ms(h, 50), STATUS_TIMEOUT);
    /* Cancelling an idle or expired timer is fine and reports its state. */
    assert_int_equal(ZwCancelTimer(h, NULL), STATUS_SUCCESS);
    due.QuadPart = -1;
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    assert_int_equal(NtCancelTimer(h, &cur), STATUS_SUCCESS);
    assert_true(cur);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void synchronization_timer_and_period(void **state)
{
    (void)state;
    HANDLE h = create_timer(SynchronizationTimer);
    LARGE_INTEGER due = {.QuadPart = -1};
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    /* Consumed by the wait. */
    assert_int_equal(wait_ms(h, 0), STATUS_TIMEOUT);
    assert_false(query_timer(h).TimerState);

    /* Periodic: signals again every period until cancelled. */
    due = kt_ms(2);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 2, NULL), STATUS_SUCCESS);
    for (int k = 0; k < 4; k++)
        assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    assert_true(query_timer(h).RemainingTime.QuadPart >= 0);
    assert_int_equal(ZwCancelTimer(h, NULL), STATUS_SUCCESS);
    /* One expiry may have landed between the last wait and the cancel. */
    wait_ms(h, 0);
    assert_int_equal(wait_ms(h, 20), STATUS_TIMEOUT);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void resume_timer_is_ignored_but_the_timer_is_set(void **state)
{
    (void)state;
    HANDLE h = create_timer(NotificationTimer);
    LARGE_INTEGER due = kt_ms(1);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, TRUE, 0, NULL), STATUS_TIMER_RESUME_IGNORED);
    assert_true(NT_SUCCESS(STATUS_TIMER_RESUME_IGNORED));
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void parameter_and_handle_errors(void **state)
{
    (void)state;
    HANDLE h = (HANDLE)(ULONG_PTR)0x4444;
    assert_int_equal(ZwCreateTimer(&h, TIMER_ALL_ACCESS, NULL, (TIMER_TYPE)2), STATUS_INVALID_PARAMETER_4);
    assert_int_equal(NtCreateTimer(&h, TIMER_ALL_ACCESS, NULL, (TIMER_TYPE)-1), STATUS_INVALID_PARAMETER_4);
    assert_int_equal(ZwCreateTimer(NULL, TIMER_ALL_ACCESS, NULL, NotificationTimer), STATUS_ACCESS_VIOLATION);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x4444);

    LARGE_INTEGER due = kt_ms(1);
    BOOLEAN b = 7;
    TIMER_BASIC_INFORMATION i;
    assert_int_equal(ZwSetTimer(BOGUS_HANDLE, &due, NULL, NULL, FALSE, 0, &b), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwCancelTimer(BOGUS_HANDLE, &b), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwQueryTimer(BOGUS_HANDLE, TimerBasicInformation, &i, sizeof(i), NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(b, 7);

    HANDLE e = NULL;
    assert_int_equal(ZwCreateEvent(&e, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(ZwSetTimer(e, &due, NULL, NULL, FALSE, 0, &b), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwCancelTimer(e, &b), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwQueryTimer(e, TimerBasicInformation, &i, sizeof(i), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);

    h = create_timer(NotificationTimer);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, -1, &b), STATUS_INVALID_PARAMETER_6);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, MINLONG, &b), STATUS_INVALID_PARAMETER_6);
    assert_int_equal(ZwSetTimer(h, NULL, NULL, NULL, FALSE, 0, &b), STATUS_ACCESS_VIOLATION);
    assert_int_equal(b, 7);
    assert_int_equal(query_timer(h).RemainingTime.QuadPart, 0); /* nothing was set */
    ULONG r = 99;
    assert_int_equal(ZwQueryTimer(h, (TIMER_INFORMATION_CLASS)1, &i, sizeof(i), &r), STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryTimer(h, TimerBasicInformation, &i, sizeof(i) - 1, &r), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryTimer(h, TimerBasicInformation, NULL, sizeof(i), &r), STATUS_ACCESS_VIOLATION);
    assert_int_equal(r, 99);
    assert_int_equal(NtQueryTimer(h, TimerBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwCancelTimer(h, NULL), STATUS_INVALID_HANDLE);
}

static VOID NTAPI never_called_apc(PVOID Context, ULONG Low, LONG High)
{
    (void)Low, (void)High;
    __atomic_add_fetch((volatile LONG *)Context, 1, __ATOMIC_SEQ_CST);
}

static void user_mode_access_and_apcs(void **state)
{
    (void)state;
    HANDLE q = NULL, m = NULL;
    assert_int_equal(AS_USER(NtCreateTimer(&q, TIMER_QUERY_STATE, NULL, NotificationTimer)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateTimer(&m, TIMER_MODIFY_STATE, NULL, NotificationTimer)), STATUS_SUCCESS);
    LARGE_INTEGER due = kt_ms(LONG_WAIT_MS);
    TIMER_BASIC_INFORMATION i;
    assert_int_equal(AS_USER(NtSetTimer(q, &due, NULL, NULL, FALSE, 0, NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtCancelTimer(q, NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtQueryTimer(q, TimerBasicInformation, &i, sizeof(i), NULL)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSetTimer(m, &due, NULL, NULL, FALSE, 0, NULL)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtQueryTimer(m, TimerBasicInformation, &i, sizeof(i), NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtCancelTimer(m, NULL)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtWaitForSingleObject(m, FALSE, NULL)), STATUS_ACCESS_DENIED);

    /* No user-mode APC delivery: refused before anything is set. */
    static volatile LONG calls;
    calls = 0;
    due = kt_ms(1);
    assert_int_equal(AS_USER(NtSetTimer(m, &due, never_called_apc, (PVOID)&calls, FALSE, 0, NULL)),
                     STATUS_NOT_SUPPORTED);
    assert_int_equal(query_timer(m).RemainingTime.QuadPart, 0);

    static const struct {
        ACCESS_MASK Asked, Granted;
    } cases[] = {
        {GENERIC_READ, READ_CONTROL | TIMER_QUERY_STATE},
        {GENERIC_WRITE, READ_CONTROL | TIMER_MODIFY_STATE},
        {GENERIC_EXECUTE, READ_CONTROL | SYNCHRONIZE},
        {GENERIC_ALL, TIMER_ALL_ACCESS},
    };
    for (ULONG k = 0; k < RTL_NUMBER_OF(cases); k++) {
        HANDLE h = NULL;
        assert_int_equal(AS_USER(NtCreateTimer(&h, cases[k].Asked, NULL, NotificationTimer)), STATUS_SUCCESS);
        assert_int_equal(basic_info(h).GrantedAccess, cases[k].Granted);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
    assert_int_equal(ZwClose(q), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
    kt_sleep_ms(3);
    assert_int_equal(calls, 0);
}

#define TMR_NAME L"\\BaseNamedObjects\\ZwTestTimer_Named"

typedef struct timer_opener {
    NTSTATUS OpenStatus;
    NTSTATUS WaitStatus;
} timer_opener;

static VOID NTAPI timer_opener_main(PVOID Context)
{
    timer_opener *o = Context;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, TMR_NAME, 0);
    HANDLE h = NULL;
    o->OpenStatus = ZwOpenTimer(&h, SYNCHRONIZE, &oa);
    if (NT_SUCCESS(o->OpenStatus)) {
        o->WaitStatus = ZwWaitForSingleObject(h, FALSE, NULL);
        ZwClose(h);
    }
}

static void named_timer(void **state)
{
    (void)state;
    static KTHREAD thread;
    static timer_opener o;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, TMR_NAME, 0);
    HANDLE h = NULL, h2 = NULL;
    ULONG objects = ExTimerObjectType->TotalNumberOfObjects;
    assert_int_equal(ZwCreateTimer(&h, TIMER_ALL_ACCESS, &oa, NotificationTimer), STATUS_SUCCESS);
    assert_int_equal(ZwCreateTimer(&h2, TIMER_ALL_ACCESS, &oa, NotificationTimer), STATUS_OBJECT_NAME_COLLISION);
    name_oa(&oa, &us, TMR_NAME, OBJ_OPENIF);
    assert_int_equal(ZwCreateTimer(&h2, TIMER_ALL_ACCESS, &oa, SynchronizationTimer), STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(basic_info(h).HandleCount, 2);
    assert_int_equal(ExTimerObjectType->TotalNumberOfObjects, objects + 1);

    o = (timer_opener){0};
    kt_start(&thread, timer_opener_main, &o, 8);
    LARGE_INTEGER due = kt_ms(5);
    assert_int_equal(ZwSetTimer(h2, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    kt_join(&thread);
    assert_int_equal(o.OpenStatus, STATUS_SUCCESS);
    assert_int_equal(o.WaitStatus, STATUS_WAIT_0);

    HANDLE x = NULL;
    name_oa(&oa, &us, TMR_NAME, 0);
    assert_int_equal(ZwOpenEvent(&x, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwOpenMutant(&x, MUTANT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(AS_USER(NtOpenTimer(&x, TIMER_QUERY_STATE, &oa)), STATUS_SUCCESS);
    assert_int_equal(basic_info(x).GrantedAccess, TIMER_QUERY_STATE);
    assert_int_equal(ZwClose(x), STATUS_SUCCESS);
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestTimer_Missing", 0);
    assert_int_equal(ZwOpenTimer(&x, TIMER_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwOpenTimer(NULL, TIMER_ALL_ACCESS, &oa), STATUS_ACCESS_VIOLATION);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExTimerObjectType->TotalNumberOfObjects, objects);
}

/* ---- APCs --------------------------------------------------------------------------------------- */

typedef struct apc_log {
    volatile LONG Calls;
    PKTHREAD Thread;
    KIRQL Irql;
    ULONG Low;
    LONG High;
    PVOID Context;
    KEVENT Fired;
} apc_log;

static apc_log apc_a, apc_b;

static VOID NTAPI timer_apc(PVOID Context, ULONG Low, LONG High)
{
    apc_log *l = Context;
    l->Thread = KeGetCurrentThread();
    l->Irql = KeGetCurrentIrql();
    l->Low = Low;
    l->High = High;
    l->Context = Context;
    __atomic_add_fetch(&l->Calls, 1, __ATOMIC_SEQ_CST);
    KeSetEvent(&l->Fired, 0, FALSE);
}

static void reset_log(apc_log *L)
{
    RtlZeroMemory(L, sizeof(*L));
    KeInitializeEvent(&L->Fired, SynchronizationEvent, FALSE);
}

static void apc_runs_in_the_setting_thread(void **state)
{
    (void)state;
    reset_log(&apc_a);
    HANDLE h = create_timer(NotificationTimer);
    ULONG pointers = basic_info(h).PointerCount;
    LARGE_INTEGER before;
    KeQuerySystemTime(&before);
    LARGE_INTEGER due = kt_ms(3);
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 0, NULL), STATUS_SUCCESS);
    /* The APC interrupts this wait (at PASSIVE_LEVEL, not alertable) and sets Fired. */
    LARGE_INTEGER t = kt_ms(LONG_WAIT_MS);
    assert_int_equal(KeWaitForSingleObject(&apc_a.Fired, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
    assert_int_equal(apc_a.Calls, 1);
    assert_ptr_equal(apc_a.Thread, KeGetCurrentThread());
    assert_int_equal(apc_a.Irql, PASSIVE_LEVEL);
    assert_ptr_equal(apc_a.Context, &apc_a);
    LARGE_INTEGER fired;
    fired.LowPart = apc_a.Low;
    fired.HighPart = apc_a.High;
    LARGE_INTEGER after;
    KeQuerySystemTimePrecise(&after);
    assert_true(fired.QuadPart >= before.QuadPart);
    assert_true(fired.QuadPart <= after.QuadPart);
    assert_true(query_timer(h).TimerState);
    /* The APC's reference on the timer is gone again. */
    assert_int_equal(basic_info(h).PointerCount, pointers);
    kt_sleep_ms(5);
    assert_int_equal(apc_a.Calls, 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void periodic_apc_until_cancelled(void **state)
{
    (void)state;
    reset_log(&apc_a);
    HANDLE h = create_timer(SynchronizationTimer);
    LARGE_INTEGER due = kt_ms(2);
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 2, NULL), STATUS_SUCCESS);
    WAIT_UNTIL(__atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST) >= 3);
    assert_int_equal(ZwCancelTimer(h, NULL), STATUS_SUCCESS);
    LONG calls = __atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST);
    kt_sleep_ms(20);
    assert_int_equal(__atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST), calls);
    assert_int_equal(basic_info(h).PointerCount, 1);

    /* Re-set without an APC: the timer fires, no APC. */
    due.QuadPart = -1;
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    kt_sleep_ms(5);
    assert_int_equal(__atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST), calls);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* With normal kernel APCs held off by a critical region, the expiry's APC
 * stays queued and holds a reference on the timer; cancelling or re-setting
 * the timer takes it out of the queue again. */
static void queued_apc_reference_and_its_removal(void **state)
{
    (void)state;
    reset_log(&apc_a);
    reset_log(&apc_b);
    HANDLE h = create_timer(NotificationTimer);
    ULONG pointers = basic_info(h).PointerCount;
    LARGE_INTEGER due = {.QuadPart = -1};

    KeEnterCriticalRegion();
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    KeFlushQueuedDpcs(); /* the expiry's DPC has queued the APC */
    assert_int_equal(basic_info(h).PointerCount, pointers + 1);
    BOOLEAN cur = FALSE;
    assert_int_equal(ZwCancelTimer(h, &cur), STATUS_SUCCESS);
    assert_true(cur);
    assert_int_equal(basic_info(h).PointerCount, pointers);
    KeLeaveCriticalRegion();
    kt_sleep_ms(3);
    assert_int_equal(apc_a.Calls, 0);

    /* Re-set with another routine while the old APC is queued: only the new one runs. */
    KeEnterCriticalRegion();
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    KeFlushQueuedDpcs();
    assert_int_equal(basic_info(h).PointerCount, pointers + 1);
    due = kt_ms(2);
    BOOLEAN prev = FALSE;
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_b, FALSE, 0, &prev), STATUS_SUCCESS);
    assert_true(prev);
    assert_int_equal(basic_info(h).PointerCount, pointers);
    KeLeaveCriticalRegion();
    LARGE_INTEGER t = kt_ms(LONG_WAIT_MS);
    assert_int_equal(KeWaitForSingleObject(&apc_b.Fired, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
    assert_int_equal(apc_a.Calls, 0);
    assert_int_equal(apc_b.Calls, 1);
    assert_int_equal(basic_info(h).PointerCount, pointers);

    /* Closing the last handle with an APC queued: the APC keeps the timer
     * alive, runs, and the timer goes with it. */
    ULONG objects = ExTimerObjectType->TotalNumberOfObjects;
    reset_log(&apc_a);
    due.QuadPart = -1;
    KeEnterCriticalRegion();
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 0, NULL), STATUS_SUCCESS);
    assert_int_equal(wait_ms(h, LONG_WAIT_MS), STATUS_WAIT_0);
    KeFlushQueuedDpcs();
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExTimerObjectType->TotalNumberOfObjects, objects);
    KeLeaveCriticalRegion();
    assert_int_equal(KeWaitForSingleObject(&apc_a.Fired, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
    assert_int_equal(apc_a.Calls, 1);
    assert_int_equal(ExTimerObjectType->TotalNumberOfObjects, objects - 1);
}

static void delete_a_running_periodic_apc_timer(void **state)
{
    (void)state;
    reset_log(&apc_a);
    ULONG objects = ExTimerObjectType->TotalNumberOfObjects;
    HANDLE h = create_timer(NotificationTimer);
    LARGE_INTEGER due = kt_ms(1);
    assert_int_equal(ZwSetTimer(h, &due, timer_apc, &apc_a, FALSE, 1, NULL), STATUS_SUCCESS);
    WAIT_UNTIL(__atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST) >= 2);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    /* Gone once any APC in flight has run; then no more expiries. */
    WAIT_UNTIL(ExTimerObjectType->TotalNumberOfObjects == objects);
    LONG calls = __atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST);
    kt_sleep_ms(10);
    assert_int_equal(__atomic_load_n(&apc_a.Calls, __ATOMIC_SEQ_CST), calls);

    /* Deleting a set timer without an APC cancels it. */
    h = create_timer(SynchronizationTimer);
    due = kt_ms(5);
    assert_int_equal(ZwSetTimer(h, &due, NULL, NULL, FALSE, 1, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExTimerObjectType->TotalNumberOfObjects, objects);
    kt_sleep_ms(10);
}

typedef struct system_setter {
    HANDLE Timer;
    NTSTATUS Status;
} system_setter;

static VOID NTAPI system_setter_main(PVOID Context)
{
    system_setter *s = Context;
    LARGE_INTEGER due = kt_ms(60 * 60 * 1000); /* never during the test */
    s->Status = ZwSetTimer(s->Timer, &due, never_called_apc, NULL, FALSE, 0, NULL);
}

static void executive_thread_is_kept_by_its_apc_timer(void **state)
{
    (void)state;
    static system_setter s;
    HANDLE timer = create_timer(NotificationTimer);
    ULONG threads = PsThreadType->TotalNumberOfObjects;
    s = (system_setter){.Timer = timer};
    HANDLE th = NULL;
    assert_int_equal(PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, system_setter_main, &s),
                     STATUS_SUCCESS);
    /* A thread handle is waitable through the same services. */
    assert_int_equal(ZwWaitForSingleObject(th, FALSE, NULL), STATUS_WAIT_0);
    assert_int_equal(s.Status, STATUS_SUCCESS);
    assert_int_equal(ZwClose(th), STATUS_SUCCESS);
    /* Exited and unreferenced by handles, but the timer still targets it. */
    assert_int_equal(PsThreadType->TotalNumberOfObjects, threads + 1);
    BOOLEAN cur = TRUE;
    assert_int_equal(ZwCancelTimer(timer, &cur), STATUS_SUCCESS);
    assert_false(cur);
    WAIT_UNTIL(PsThreadType->TotalNumberOfObjects == threads);

    /* Same again, ended by deleting the timer instead of cancelling it. */
    assert_int_equal(PsCreateSystemThread(&th, THREAD_ALL_ACCESS, NULL, NULL, NULL, system_setter_main, &s),
                     STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(th, FALSE, NULL), STATUS_WAIT_0);
    assert_int_equal(ZwClose(th), STATUS_SUCCESS);
    assert_int_equal(PsThreadType->TotalNumberOfObjects, threads + 1);
    assert_int_equal(ZwClose(timer), STATUS_SUCCESS);
    WAIT_UNTIL(PsThreadType->TotalNumberOfObjects == threads);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(timer_type_is_exported_with_documented_rights),
    cmocka_unit_test(notification_timer_set_wait_query),
    cmocka_unit_test(absolute_and_past_due_times),
    cmocka_unit_test(cancel_stops_a_set_timer),
    cmocka_unit_test(synchronization_timer_and_period),
    cmocka_unit_test(resume_timer_is_ignored_but_the_timer_is_set),
    cmocka_unit_test(parameter_and_handle_errors),
    cmocka_unit_test(user_mode_access_and_apcs),
    cmocka_unit_test(named_timer),
    cmocka_unit_test(apc_runs_in_the_setting_thread),
    cmocka_unit_test(periodic_apc_until_cancelled),
    cmocka_unit_test(queued_apc_reference_and_its_removal),
    cmocka_unit_test(delete_a_running_periodic_apc_timer),
    cmocka_unit_test(executive_thread_is_kept_by_its_apc_timer),
};

NTOS_TEST_GROUP(ex_zw_timer, tests, NULL, NULL);
