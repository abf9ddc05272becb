/*
 * Event objects through handles: ZwCreateEvent/ZwOpenEvent/ZwSetEvent/
 * ZwResetEvent/ZwClearEvent/ZwPulseEvent/ZwQueryEvent and their Nt forms,
 * the Event type's mapping and access mask, named events (OBJ_OPENIF,
 * collisions, case, type mismatches, temporary names), access checks for
 * user-mode callers and handle/pointer counts.
 *
 * A "user-mode caller" is the current thread with PreviousMode = UserMode
 * around one Nt* call (AS_USER). Multi-threaded steps wait for observable
 * state (a thread in the Waiting state, a flag) rather than for time.
 */
#include "zw_test.h"
#include <ntos/ex_objects.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

static inline EVENT_BASIC_INFORMATION query_event(HANDLE Handle)
{
    EVENT_BASIC_INFORMATION i;
    ULONG r = 0;
    assert_int_equal(ZwQueryEvent(Handle, EventBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(i));
    return i;
}

/* Thread is blocked in a wait whose first object is the one Handle refers to. */
static inline BOOLEAN waiting_on(PKTHREAD Thread, HANDLE Handle)
{
    PVOID body = NULL;
    if (!NT_SUCCESS(ObReferenceObjectByHandle(Handle, 0, NULL, KernelMode, &body, NULL)))
        return FALSE;
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN waiting = Thread->State == Waiting && Thread->WaitBlockCount >= 1 &&
                      Thread->WaitBlockList[0].Object == body;
    KiReleaseDispatcherLock(old);
    ObDereferenceObject(body);
    return waiting;
}

static HANDLE create_event(EVENT_TYPE Type, BOOLEAN State)
{
    HANDLE h = NULL;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, Type, State), STATUS_SUCCESS);
    assert_non_null(h);
    return h;
}

/* ---- the type ------------------------------------------------------------------------------- */

static void event_type_is_exported_with_documented_rights(void **state)
{
    (void)state;
    POBJECT_TYPE t = ExEventObjectType;
    assert_non_null(t);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Event");
    assert_true(RtlEqualUnicodeString(&t->Name, &name, FALSE));
    assert_int_equal(t->TypeInfo.ValidAccessMask, 0x1F0003);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericRead, READ_CONTROL | EVENT_QUERY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericWrite, READ_CONTROL | EVENT_MODIFY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericExecute, READ_CONTROL | SYNCHRONIZE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericAll, EVENT_ALL_ACCESS);
    /* Waits use the body: offset 0, not the default object. */
    assert_ptr_equal(t->DefaultObject, NULL);
    assert_int_equal(t->TypeInfo.PoolType, NonPagedPoolNx);

    /* Listed in \ObjectTypes. */
    UNICODE_STRING path;
    RtlInitUnicodeString(&path, L"\\ObjectTypes\\Event");
    PVOID found = NULL;
    assert_int_equal(ObReferenceObjectByName(&path, OBJ_CASE_INSENSITIVE, NULL, 0, NULL, KernelMode, NULL, &found),
                     STATUS_SUCCESS);
    assert_ptr_equal(found, t);
    ObDereferenceObject(found);
}

static void body_is_a_kevent(void **state)
{
    (void)state;
    HANDLE h = create_event(NotificationEvent, FALSE);
    PKEVENT e = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, EVENT_MODIFY_STATE, ExEventObjectType, KernelMode, (PVOID *)&e, NULL),
                     STATUS_SUCCESS);
    assert_ptr_equal(ObGetObjectType(e), ExEventObjectType);
    /* A driver may drive the object with Ke calls; the handle sees it. */
    KeSetEvent(e, 0, FALSE);
    assert_int_equal(query_event(h).EventState, 1);
    assert_int_equal(KeWaitForSingleObject(e, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(e);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* ---- state changes --------------------------------------------------------------------------- */

static void notification_event_set_reset_clear_pulse(void **state)
{
    (void)state;
    HANDLE h = create_event(NotificationEvent, FALSE);
    EVENT_BASIC_INFORMATION i = query_event(h);
    assert_int_equal(i.EventType, NotificationEvent);
    assert_int_equal(i.EventState, 0);

    LONG prev = -1;
    assert_int_equal(ZwSetEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(query_event(h).EventState, 1);
    assert_int_equal(ZwSetEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 1);
    assert_int_equal(ZwSetEvent(h, NULL), STATUS_SUCCESS);

    /* A notification event stays signaled through waits. */
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);

    assert_int_equal(ZwResetEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 1);
    assert_int_equal(query_event(h).EventState, 0);
    assert_int_equal(ZwResetEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(ZwResetEvent(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_TIMEOUT);

    assert_int_equal(ZwSetEvent(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClearEvent(h), STATUS_SUCCESS);
    assert_int_equal(query_event(h).EventState, 0);

    /* Pulse on a non-signaled event without waiters: previous 0, still 0. */
    assert_int_equal(ZwPulseEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(query_event(h).EventState, 0);
    /* Pulse on a signaled event: previous 1, then reset. */
    assert_int_equal(ZwSetEvent(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwPulseEvent(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 1);
    assert_int_equal(query_event(h).EventState, 0);
    assert_int_equal(ZwPulseEvent(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void synchronization_event_is_consumed_by_a_wait(void **state)
{
    (void)state;
    HANDLE h = create_event(SynchronizationEvent, TRUE);
    EVENT_BASIC_INFORMATION i = query_event(h);
    assert_int_equal(i.EventType, SynchronizationEvent);
    assert_int_equal(i.EventState, 1);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(query_event(h).EventState, 0);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* ---- errors ------------------------------------------------------------------------------------ */

static void create_rejects_bad_parameters(void **state)
{
    (void)state;
    HANDLE h = (HANDLE)(ULONG_PTR)0x1234;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, (EVENT_TYPE)2, FALSE), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x1234); /* untouched on failure */
    assert_int_equal(ZwCreateEvent(NULL, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_ACCESS_VIOLATION);
    assert_int_equal(NtCreateEvent(NULL, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_ACCESS_VIOLATION);

    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
    oa.Length = sizeof(oa) - 1;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_INVALID_PARAMETER);
    /* OBJ_OPENLINK is invalid for events. */
    InitializeObjectAttributes(&oa, NULL, OBJ_OPENLINK, NULL, NULL);
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_INVALID_PARAMETER);
    InitializeObjectAttributes(&oa, NULL, 0x80000000UL, NULL, NULL);
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x1234);
}

static void bad_and_closed_handles(void **state)
{
    (void)state;
    LONG prev = 7;
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(ZwSetEvent(BOGUS_HANDLE, &prev), STATUS_INVALID_HANDLE);
    assert_int_equal(prev, 7);
    assert_int_equal(ZwResetEvent(BOGUS_HANDLE, &prev), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwClearEvent(BOGUS_HANDLE), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwPulseEvent(BOGUS_HANDLE, &prev), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwQueryEvent(BOGUS_HANDLE, EventBasicInformation, &i, sizeof(i), NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwSetEvent(NULL, NULL), STATUS_INVALID_HANDLE);

    HANDLE h = create_event(NotificationEvent, FALSE);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwSetEvent(h, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwResetEvent(h, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwClearEvent(h), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwPulseEvent(h, NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwQueryEvent(h, EventBasicInformation, &i, sizeof(i), NULL), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwClose(h), STATUS_INVALID_HANDLE);
}

static void wrong_object_type(void **state)
{
    (void)state;
    HANDLE s = NULL;
    assert_int_equal(ZwCreateSemaphore(&s, SEMAPHORE_ALL_ACCESS, NULL, 0, 1), STATUS_SUCCESS);
    LONG prev = 7;
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(ZwSetEvent(s, &prev), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(prev, 7);
    assert_int_equal(ZwResetEvent(s, &prev), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClearEvent(s), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwPulseEvent(s, &prev), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwQueryEvent(s, EventBasicInformation, &i, sizeof(i), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
}

static void query_rejects_bad_class_and_length(void **state)
{
    (void)state;
    HANDLE h = create_event(NotificationEvent, TRUE);
    UCHAR buf[32];
    ULONG r = 99;
    assert_int_equal(ZwQueryEvent(h, (EVENT_INFORMATION_CLASS)1, buf, sizeof(EVENT_BASIC_INFORMATION), &r),
                     STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryEvent(h, EventBasicInformation, buf, sizeof(EVENT_BASIC_INFORMATION) - 1, &r),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryEvent(h, EventBasicInformation, buf, sizeof(EVENT_BASIC_INFORMATION) + 1, &r),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryEvent(h, EventBasicInformation, NULL, sizeof(EVENT_BASIC_INFORMATION), &r),
                     STATUS_ACCESS_VIOLATION);
    assert_int_equal(r, 99);
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(ZwQueryEvent(h, EventBasicInformation, &i, sizeof(i), NULL), STATUS_SUCCESS);
    assert_int_equal(i.EventState, 1);
    assert_int_equal(NtQueryEvent(h, EventBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(i));
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* ---- access ------------------------------------------------------------------------------------- */

static void user_mode_needs_the_right_access(void **state)
{
    (void)state;
    HANDLE q = NULL, m = NULL;
    assert_int_equal(AS_USER(NtCreateEvent(&q, EVENT_QUERY_STATE, NULL, NotificationEvent, FALSE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateEvent(&m, EVENT_MODIFY_STATE, NULL, NotificationEvent, FALSE)), STATUS_SUCCESS);
    /* User handles are not kernel handles. */
    assert_int_not_equal((ULONG_PTR)q & KERNEL_HANDLE_MASK, KERNEL_HANDLE_MASK);
    assert_int_equal(basic_info(q).GrantedAccess, EVENT_QUERY_STATE);
    assert_int_equal(basic_info(m).GrantedAccess, EVENT_MODIFY_STATE);

    LONG prev;
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(AS_USER(NtSetEvent(q, &prev)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtResetEvent(q, &prev)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtClearEvent(q)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtPulseEvent(q, &prev)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtQueryEvent(q, EventBasicInformation, &i, sizeof(i), NULL)), STATUS_SUCCESS);

    assert_int_equal(AS_USER(NtSetEvent(m, &prev)), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(AS_USER(NtResetEvent(m, &prev)), STATUS_SUCCESS);
    assert_int_equal(prev, 1);
    assert_int_equal(AS_USER(NtClearEvent(m)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtPulseEvent(m, &prev)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtQueryEvent(m, EventBasicInformation, &i, sizeof(i), NULL)), STATUS_ACCESS_DENIED);

    /* Kernel-mode callers are trusted whatever the handle grants. */
    assert_int_equal(ZwSetEvent(q, &prev), STATUS_SUCCESS);
    assert_int_equal(NtSetEvent(q, &prev), STATUS_SUCCESS); /* previous mode is KernelMode here */
    assert_int_equal(prev, 1);
    assert_int_equal(ZwQueryEvent(m, EventBasicInformation, &i, sizeof(i), NULL), STATUS_SUCCESS);

    assert_int_equal(AS_USER(NtClose(q)), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
}

static void generic_rights_are_mapped(void **state)
{
    (void)state;
    static const struct {
        ACCESS_MASK Asked, Granted;
    } cases[] = {
        {GENERIC_READ, READ_CONTROL | EVENT_QUERY_STATE},
        {GENERIC_WRITE, READ_CONTROL | EVENT_MODIFY_STATE},
        {GENERIC_EXECUTE, READ_CONTROL | SYNCHRONIZE},
        {GENERIC_ALL, EVENT_ALL_ACCESS},
        {MAXIMUM_ALLOWED, EVENT_ALL_ACCESS},
        {EVENT_ALL_ACCESS, EVENT_ALL_ACCESS},
        {0x0000FFFF, EVENT_QUERY_STATE | EVENT_MODIFY_STATE}, /* bits outside the valid mask drop */
    };
    for (ULONG k = 0; k < RTL_NUMBER_OF(cases); k++) {
        HANDLE h = NULL;
        assert_int_equal(AS_USER(NtCreateEvent(&h, cases[k].Asked, NULL, NotificationEvent, FALSE)), STATUS_SUCCESS);
        assert_int_equal(basic_info(h).GrantedAccess, cases[k].Granted);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
        assert_int_equal(ZwCreateEvent(&h, cases[k].Asked, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
        assert_int_equal(basic_info(h).GrantedAccess, cases[k].Granted);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
}

static void kernel_handles_are_for_kernel_callers(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE k = NULL;
    assert_int_equal(ZwCreateEvent(&k, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal((ULONG_PTR)k & KERNEL_HANDLE_MASK, KERNEL_HANDLE_MASK);
    assert_int_equal(ZwSetEvent(k, NULL), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSetEvent(k, NULL)), STATUS_INVALID_HANDLE);
    assert_int_equal(AS_USER(NtClose(k)), STATUS_INVALID_HANDLE);

    /* A user-mode caller asking for a kernel handle gets an ordinary one. */
    HANDLE u = NULL;
    assert_int_equal(AS_USER(NtCreateEvent(&u, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE)), STATUS_SUCCESS);
    assert_int_not_equal((ULONG_PTR)u & KERNEL_HANDLE_MASK, KERNEL_HANDLE_MASK);
    assert_int_equal(AS_USER(NtSetEvent(u, NULL)), STATUS_SUCCESS);
    assert_int_equal(ZwClose(u), STATUS_SUCCESS);
    assert_int_equal(ZwClose(k), STATUS_SUCCESS);
}

/* ---- names ---------------------------------------------------------------------------------- */

#define EVT_NAME L"\\BaseNamedObjects\\ZwTestEvent_Named"
#define EVT_NAME_UPPER L"\\BaseNamedObjects\\ZWTESTEVENT_NAMED"

typedef struct opener {
    PCWSTR Name;
    ACCESS_MASK Access;
    NTSTATUS OpenStatus;
    NTSTATUS WaitStatus;
    LONG HandleCountSeen;
    volatile LONG Opened;
    KEVENT Close;
} opener;

static VOID NTAPI opener_main(PVOID Context)
{
    opener *o = Context;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, o->Name, 0);
    HANDLE h = NULL;
    o->OpenStatus = ZwOpenEvent(&h, o->Access, &oa);
    if (!NT_SUCCESS(o->OpenStatus)) {
        __atomic_store_n(&o->Opened, 1, __ATOMIC_RELEASE);
        return;
    }
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    if (NT_SUCCESS(ZwQueryObject(h, ObjectBasicInformation, &b, sizeof(b), NULL)))
        o->HandleCountSeen = (LONG)b.HandleCount;
    __atomic_store_n(&o->Opened, 1, __ATOMIC_RELEASE);
    o->WaitStatus = ZwWaitForSingleObject(h, FALSE, NULL);
    KeWaitForSingleObject(&o->Close, Executive, KernelMode, FALSE, NULL);
    ZwClose(h);
}

static void named_event_opened_by_another_thread(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, EVT_NAME, 0);
    HANDLE h = NULL;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    PUBLIC_OBJECT_BASIC_INFORMATION b = basic_info(h);
    assert_int_equal(b.HandleCount, 1);
    ULONG basePointers = b.PointerCount;

    static KTHREAD thread;
    static opener o;
    o = (opener){.Name = EVT_NAME, .Access = SYNCHRONIZE | EVENT_QUERY_STATE};
    KeInitializeEvent(&o.Close, NotificationEvent, FALSE);
    kt_start(&thread, opener_main, &o, 8);
    WAIT_UNTIL(__atomic_load_n(&o.Opened, __ATOMIC_ACQUIRE));
    assert_int_equal(o.OpenStatus, STATUS_SUCCESS);
    assert_int_equal(o.HandleCountSeen, 2);
    b = basic_info(h);
    assert_int_equal(b.HandleCount, 2);
    WAIT_UNTIL(waiting_on(&thread, h));
    /* The other handle and the wait each hold a reference. */
    assert_int_equal(basic_info(h).PointerCount, basePointers + 2);

    assert_int_equal(ZwSetEvent(h, NULL), STATUS_SUCCESS);
    KeSetEvent(&o.Close, 0, FALSE);
    kt_join(&thread);
    assert_int_equal(o.WaitStatus, STATUS_WAIT_0);
    b = basic_info(h);
    assert_int_equal(b.HandleCount, 1);
    assert_int_equal(b.PointerCount, basePointers);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void open_if_returns_the_existing_event(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, EVT_NAME, 0);
    HANDLE h1 = NULL, h2 = NULL, h3 = NULL;
    ULONG objects = ExEventObjectType->TotalNumberOfObjects;
    assert_int_equal(ZwCreateEvent(&h1, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects + 1);

    /* Without OBJ_OPENIF the name is taken. */
    h2 = (HANDLE)(ULONG_PTR)0x4444;
    assert_int_equal(ZwCreateEvent(&h2, EVENT_ALL_ACCESS, &oa, NotificationEvent, TRUE),
                     STATUS_OBJECT_NAME_COLLISION);
    assert_ptr_equal(h2, (HANDLE)(ULONG_PTR)0x4444);

    /* With it the existing event is opened; the new one's type and initial
     * state are ignored and the new object is gone again. */
    name_oa(&oa, &us, EVT_NAME, OBJ_OPENIF);
    assert_int_equal(ZwCreateEvent(&h2, EVENT_ALL_ACCESS, &oa, SynchronizationEvent, TRUE), STATUS_OBJECT_NAME_EXISTS);
    assert_ptr_not_equal(h2, h1);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects + 1);
    EVENT_BASIC_INFORMATION i = query_event(h2);
    assert_int_equal(i.EventType, NotificationEvent);
    assert_int_equal(i.EventState, 0);
    assert_int_equal(ZwSetEvent(h2, NULL), STATUS_SUCCESS);
    assert_int_equal(query_event(h1).EventState, 1);
    assert_int_equal(basic_info(h1).HandleCount, 2);

    /* The OPENIF access is what this caller asked for. */
    assert_int_equal(ZwCreateEvent(&h3, SYNCHRONIZE, &oa, NotificationEvent, FALSE), STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(basic_info(h3).GrantedAccess, SYNCHRONIZE);
    assert_int_equal(basic_info(h1).HandleCount, 3);

    /* OBJ_OPENIF on a new name just creates. */
    HANDLE h4 = NULL;
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestEvent_OpenIfNew", OBJ_OPENIF);
    assert_int_equal(ZwCreateEvent(&h4, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);

    assert_int_equal(ZwClose(h4), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h3), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h1), STATUS_SUCCESS);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects);
}

static void open_errors_and_type_mismatch(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    HANDLE h = (HANDLE)(ULONG_PTR)0x4444;
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestEvent_Missing", 0);
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(NtOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x4444);
    name_oa(&oa, &us, L"\\NoSuchDirectory\\ZwTestEvent", 0);
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_PATH_NOT_FOUND);
    assert_int_equal(ZwOpenEvent(NULL, EVENT_ALL_ACCESS, &oa), STATUS_ACCESS_VIOLATION);

    /* A semaphore's name opened as an event, or "created" as one with OPENIF. */
    HANDLE s = NULL;
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestEvent_IsSemaphore", 0);
    assert_int_equal(ZwCreateSemaphore(&s, SEMAPHORE_ALL_ACCESS, &oa, 1, 1), STATUS_SUCCESS);
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_OBJECT_NAME_COLLISION);
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestEvent_IsSemaphore", OBJ_OPENIF);
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_OBJECT_TYPE_MISMATCH);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x4444);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
}

static void names_are_case_sensitive_unless_asked(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    HANDLE h = NULL, h2 = NULL;
    name_oa(&oa, &us, EVT_NAME, 0);
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    name_oa(&oa, &us, EVT_NAME_UPPER, 0);
    assert_int_equal(ZwOpenEvent(&h2, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    name_oa(&oa, &us, EVT_NAME_UPPER, OBJ_CASE_INSENSITIVE);
    assert_int_equal(ZwOpenEvent(&h2, EVENT_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(ZwSetEvent(h2, NULL), STATUS_SUCCESS);
    assert_int_equal(query_event(h).EventState, 1);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void name_goes_with_the_last_handle(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, EVT_NAME, 0);
    ULONG objects = ExEventObjectType->TotalNumberOfObjects;
    HANDLE h = NULL, h2 = NULL;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(ZwOpenEvent(&h2, EVENT_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    /* Still named while a handle is open. */
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects);

    /* A pointer reference keeps the object but not the name. */
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    PVOID body = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExEventObjectType, KernelMode, &body, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwOpenEvent(&h, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects + 1);
    ObDereferenceObject(body);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects);
}

static void user_mode_open_checks_access_mapping(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, EVT_NAME, 0);
    HANDLE h = NULL, u = NULL;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtOpenEvent(&u, GENERIC_READ, &oa)), STATUS_SUCCESS);
    assert_int_equal(basic_info(u).GrantedAccess, READ_CONTROL | EVENT_QUERY_STATE);
    assert_int_equal(AS_USER(NtSetEvent(u, NULL)), STATUS_ACCESS_DENIED);
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(AS_USER(NtQueryEvent(u, EventBasicInformation, &i, sizeof(i), NULL)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtClose(u)), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* ---- waiters -------------------------------------------------------------------------------- */

typedef struct waiter {
    HANDLE Handle;
    NTSTATUS Status;
    volatile LONG Done;
} waiter;

static VOID NTAPI waiter_main(PVOID Context)
{
    waiter *w = Context;
    w->Status = ZwWaitForSingleObject(w->Handle, FALSE, NULL);
    __atomic_store_n(&w->Done, 1, __ATOMIC_RELEASE);
}

static void pulse_releases_current_waiters(void **state)
{
    (void)state;
    static KTHREAD threads[3];
    static waiter w[3];
    /* Notification: a pulse releases every waiter and leaves the event reset. */
    HANDLE n = create_event(NotificationEvent, FALSE);
    for (int i = 0; i < 3; i++) {
        w[i] = (waiter){.Handle = n};
        kt_start(&threads[i], waiter_main, &w[i], 8);
    }
    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(waiting_on(&threads[i], n));
    LONG prev = -1;
    assert_int_equal(ZwPulseEvent(n, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    for (int i = 0; i < 3; i++) {
        kt_join(&threads[i]);
        assert_int_equal(w[i].Status, STATUS_WAIT_0);
    }
    assert_int_equal(query_event(n).EventState, 0);
    assert_int_equal(ZwClose(n), STATUS_SUCCESS);

    /* Synchronization: a pulse (or a set) releases exactly one. */
    HANDLE s = create_event(SynchronizationEvent, FALSE);
    for (int i = 0; i < 2; i++) {
        w[i] = (waiter){.Handle = s};
        kt_start(&threads[i], waiter_main, &w[i], 8);
    }
    for (int i = 0; i < 2; i++)
        WAIT_UNTIL(waiting_on(&threads[i], s));
    assert_int_equal(ZwPulseEvent(s, NULL), STATUS_SUCCESS);
    WAIT_UNTIL(__atomic_load_n(&w[0].Done, __ATOMIC_ACQUIRE) + __atomic_load_n(&w[1].Done, __ATOMIC_ACQUIRE) == 1);
    kt_sleep_ms(5);
    assert_int_equal(__atomic_load_n(&w[0].Done, __ATOMIC_ACQUIRE) + __atomic_load_n(&w[1].Done, __ATOMIC_ACQUIRE), 1);
    assert_int_equal(query_event(s).EventState, 0);
    assert_int_equal(ZwSetEvent(s, NULL), STATUS_SUCCESS);
    for (int i = 0; i < 2; i++) {
        kt_join(&threads[i]);
        assert_int_equal(w[i].Status, STATUS_WAIT_0);
    }
    /* The set was consumed by the second waiter. */
    assert_int_equal(query_event(s).EventState, 0);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
}

static void close_while_another_thread_waits(void **state)
{
    (void)state;
    /* The wait holds its own reference: closing the only handle does not
     * free the event under the waiter, and the waiter still gets the set
     * a driver makes through a pointer it kept. */
    static KTHREAD thread;
    static waiter w;
    HANDLE h = create_event(NotificationEvent, FALSE);
    PKEVENT e = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExEventObjectType, KernelMode, (PVOID *)&e, NULL),
                     STATUS_SUCCESS);
    w = (waiter){.Handle = h};
    kt_start(&thread, waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, h));
    ULONG objects = ExEventObjectType->TotalNumberOfObjects;
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects);
    KeSetEvent(e, 0, FALSE);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_WAIT_0);
    ObDereferenceObject(e);
    assert_int_equal(ExEventObjectType->TotalNumberOfObjects, objects - 1);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(event_type_is_exported_with_documented_rights),
    cmocka_unit_test(body_is_a_kevent),
    cmocka_unit_test(notification_event_set_reset_clear_pulse),
    cmocka_unit_test(synchronization_event_is_consumed_by_a_wait),
    cmocka_unit_test(create_rejects_bad_parameters),
    cmocka_unit_test(bad_and_closed_handles),
    cmocka_unit_test(wrong_object_type),
    cmocka_unit_test(query_rejects_bad_class_and_length),
    cmocka_unit_test(user_mode_needs_the_right_access),
    cmocka_unit_test(generic_rights_are_mapped),
    cmocka_unit_test(kernel_handles_are_for_kernel_callers),
    cmocka_unit_test(named_event_opened_by_another_thread),
    cmocka_unit_test(open_if_returns_the_existing_event),
    cmocka_unit_test(open_errors_and_type_mismatch),
    cmocka_unit_test(names_are_case_sensitive_unless_asked),
    cmocka_unit_test(name_goes_with_the_last_handle),
    cmocka_unit_test(user_mode_open_checks_access_mapping),
    cmocka_unit_test(pulse_releases_current_waiters),
    cmocka_unit_test(close_while_another_thread_waits),
};

NTOS_TEST_GROUP(ex_zw_event, tests, NULL, NULL);
