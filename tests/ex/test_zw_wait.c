/*
 * Waits through handles: ZwWaitForSingleObject, ZwWaitForMultipleObjects,
 * ZwSignalAndWaitForSingleObject and their Nt forms: every documented status
 * (STATUS_WAIT_n, STATUS_ABANDONED_WAIT_n, STATUS_TIMEOUT, STATUS_ALERTED,
 * STATUS_USER_APC) and error (STATUS_INVALID_PARAMETER_1/_3/_MIX,
 * STATUS_INVALID_HANDLE, STATUS_ACCESS_DENIED, STATUS_OBJECT_TYPE_MISMATCH,
 * the signal errors), default-object types, objects that are not waitable,
 * wait references in the pointer count, 64-object waits, WaitAll across
 * threads and the atomicity of signal-and-wait.
 */
#include "zw_test.h"
#include <ntos/ex_objects.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>
#include "ob/obp.h" /* ObpDefaultObject */

#define LONG_WAIT_MS 10000

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

static HANDLE event(EVENT_TYPE Type, BOOLEAN State)
{
    HANDLE h = NULL;
    assert_int_equal(ZwCreateEvent(&h, EVENT_ALL_ACCESS, NULL, Type, State), STATUS_SUCCESS);
    return h;
}

static LONG event_state(HANDLE Handle)
{
    EVENT_BASIC_INFORMATION i;
    assert_int_equal(ZwQueryEvent(Handle, EventBasicInformation, &i, sizeof(i), NULL), STATUS_SUCCESS);
    return i.EventState;
}

static LARGE_INTEGER zero_timeout(void)
{
    LARGE_INTEGER t = {.QuadPart = 0};
    return t;
}

/* ---- single ------------------------------------------------------------------------------------ */

static void single_signaled_unsignaled_and_timeouts(void **state)
{
    (void)state;
    HANDLE s = event(NotificationEvent, TRUE), n = event(NotificationEvent, FALSE);
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForSingleObject(s, FALSE, NULL), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(s, TRUE, &zero), STATUS_WAIT_0);
    assert_int_equal(NtWaitForSingleObject(s, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(n, FALSE, &zero), STATUS_TIMEOUT);
    LARGE_INTEGER t = kt_ms(5);
    ULONG64 start = KeQueryInterruptTimePrecise(NULL);
    assert_int_equal(ZwWaitForSingleObject(n, FALSE, &t), STATUS_TIMEOUT);
    assert_true(KeQueryInterruptTimePrecise(NULL) - start >= 5 * 10000);
    /* An absolute timeout in the past is a poll. */
    LARGE_INTEGER past;
    KeQuerySystemTime(&past);
    past.QuadPart -= 10000000;
    assert_int_equal(ZwWaitForSingleObject(n, FALSE, &past), STATUS_TIMEOUT);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
    assert_int_equal(ZwClose(n), STATUS_SUCCESS);
}

static void single_handle_errors(void **state)
{
    (void)state;
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForSingleObject(BOGUS_HANDLE, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwWaitForSingleObject(NULL, FALSE, &zero), STATUS_INVALID_HANDLE);
    HANDLE h = event(NotificationEvent, TRUE);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_INVALID_HANDLE);
    /* A bare kernel thread is not an executive thread: no thread pseudo-handle. */
    if (!PsIsExecutiveThread(KeGetCurrentThread()))
        assert_int_equal(ZwWaitForSingleObject(NtCurrentThread(), FALSE, &zero), STATUS_INVALID_HANDLE);
    /* The current process: a process object, not signaled while it lives. */
    assert_int_equal(ZwWaitForSingleObject(NtCurrentProcess(), FALSE, &zero), STATUS_TIMEOUT);
}

static void user_mode_needs_synchronize(void **state)
{
    (void)state;
    HANDLE m = NULL, s = NULL;
    assert_int_equal(AS_USER(NtCreateEvent(&m, EVENT_MODIFY_STATE, NULL, NotificationEvent, TRUE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateEvent(&s, SYNCHRONIZE, NULL, NotificationEvent, TRUE)), STATUS_SUCCESS);
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(AS_USER(NtWaitForSingleObject(m, FALSE, &zero)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtWaitForSingleObject(s, FALSE, &zero)), STATUS_WAIT_0);
    HANDLE both[2] = {s, m};
    assert_int_equal(AS_USER(NtWaitForMultipleObjects(2, both, WaitAny, FALSE, &zero)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtWaitForMultipleObjects(1, both, WaitAny, FALSE, &zero)), STATUS_WAIT_0);
    /* Kernel callers are trusted; generic execute maps to SYNCHRONIZE. */
    assert_int_equal(ZwWaitForSingleObject(m, FALSE, &zero), STATUS_WAIT_0);
    HANDLE g = NULL;
    assert_int_equal(AS_USER(NtCreateEvent(&g, GENERIC_EXECUTE, NULL, NotificationEvent, TRUE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtWaitForSingleObject(g, FALSE, &zero)), STATUS_WAIT_0);
    assert_int_equal(ZwClose(g), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
}

static void default_object_types_wait_at_once(void **state)
{
    (void)state;
    HANDLE d = NULL;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&d, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_ptr_equal(ObDirectoryObjectType->DefaultObject, &ObpDefaultObject);
    assert_int_equal(ZwWaitForSingleObject(d, FALSE, NULL), STATUS_WAIT_0);
    HANDLE e = event(NotificationEvent, FALSE), d2 = NULL;
    assert_int_equal(ZwCreateDirectoryObject(&d2, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);
    HANDLE any[2] = {e, d};
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForMultipleObjects(2, any, WaitAny, FALSE, &zero), STATUS_WAIT_1);
    /* Two directories share the default object; that is not a duplicate. */
    HANDLE all[3] = {d, d2, e};
    assert_int_equal(ZwWaitForMultipleObjects(3, all, WaitAll, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(ZwSetEvent(e, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(3, all, WaitAll, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwClose(d2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
}

/* A type whose body claims (DefaultObject offset 0, no default object) to
 * start with a dispatcher header but does not. */
typedef struct not_waitable {
    ULONG Magic;
} not_waitable;

static POBJECT_TYPE not_waitable_type(void)
{
    static POBJECT_TYPE type;
    if (type != NULL)
        return type;
    UNICODE_STRING path;
    RtlInitUnicodeString(&path, L"\\ObjectTypes\\ZwTestNotWaitable");
    PVOID found = NULL;
    if (NT_SUCCESS(ObReferenceObjectByName(&path, OBJ_CASE_INSENSITIVE, NULL, 0, NULL, KernelMode, NULL, &found))) {
        ObDereferenceObject(found);
        type = found;
        return type;
    }
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = (GENERIC_MAPPING){READ_CONTROL, READ_CONTROL, READ_CONTROL | SYNCHRONIZE,
                                            STANDARD_RIGHTS_ALL};
    init.ValidAccessMask = STANDARD_RIGHTS_ALL;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"ZwTestNotWaitable");
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &type), STATUS_SUCCESS);
    return type;
}

static void objects_that_are_not_waitable(void **state)
{
    (void)state;
    not_waitable *o = NULL;
    assert_int_equal(ObCreateObject(KernelMode, not_waitable_type(), NULL, KernelMode, NULL, sizeof(*o), 0, 0,
                                    (PVOID *)&o),
                     STATUS_SUCCESS);
    o->Magic = 0xFFFFFFFF; /* no dispatcher type has this first byte */
    HANDLE h = NULL, e = event(NotificationEvent, TRUE);
    assert_int_equal(ObInsertObject(o, NULL, STANDARD_RIGHTS_ALL, 0, NULL, &h), STATUS_SUCCESS);
    LARGE_INTEGER zero = zero_timeout();
    ULONG pointers = basic_info(h).PointerCount;
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    HANDLE two[2] = {e, h};
    assert_int_equal(ZwWaitForMultipleObjects(2, two, WaitAny, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwSignalAndWaitForSingleObject(e, h, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwSignalAndWaitForSingleObject(h, e, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(basic_info(h).PointerCount, pointers);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
}

/* ---- multiple ------------------------------------------------------------------------------------ */

static void multiple_parameter_errors(void **state)
{
    (void)state;
    HANDLE e = event(NotificationEvent, TRUE), s = NULL;
    assert_int_equal(ZwCreateSemaphore(&s, SEMAPHORE_ALL_ACCESS, NULL, 1, 1), STATUS_SUCCESS);
    HANDLE hs[MAXIMUM_WAIT_OBJECTS + 1];
    for (ULONG i = 0; i < RTL_NUMBER_OF(hs); i++)
        hs[i] = e;
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForMultipleObjects(0, hs, WaitAny, FALSE, &zero), STATUS_INVALID_PARAMETER_1);
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS + 1, hs, WaitAny, FALSE, &zero),
                     STATUS_INVALID_PARAMETER_1);
    assert_int_equal(NtWaitForMultipleObjects(~0u, hs, WaitAll, FALSE, &zero), STATUS_INVALID_PARAMETER_1);
    assert_int_equal(ZwWaitForMultipleObjects(1, hs, (WAIT_TYPE)2, FALSE, &zero), STATUS_INVALID_PARAMETER_3);
    assert_int_equal(ZwWaitForMultipleObjects(1, hs, (WAIT_TYPE)7, FALSE, &zero), STATUS_INVALID_PARAMETER_3);
    assert_int_equal(ZwWaitForMultipleObjects(2, NULL, WaitAny, FALSE, &zero), STATUS_ACCESS_VIOLATION);

    /* The same object twice: fine for WaitAny, refused for WaitAll, by handle value or by object. */
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, hs, WaitAny, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForMultipleObjects(2, hs, WaitAll, FALSE, &zero), STATUS_INVALID_PARAMETER_MIX);
    HANDLE d = NULL;
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), s, NtCurrentProcess(), &d, 0, 0, DUPLICATE_SAME_ACCESS),
                     STATUS_SUCCESS);
    HANDLE sd[3] = {e, s, d};
    ULONG pointers = basic_info(s).PointerCount;
    assert_int_equal(ZwWaitForMultipleObjects(3, sd, WaitAll, FALSE, &zero), STATUS_INVALID_PARAMETER_MIX);
    /* The semaphore was not taken (twice or at all). */
    SEMAPHORE_BASIC_INFORMATION si;
    assert_int_equal(ZwQuerySemaphore(s, SemaphoreBasicInformation, &si, sizeof(si), NULL), STATUS_SUCCESS);
    assert_int_equal(si.CurrentCount, 1);
    assert_int_equal(ZwWaitForMultipleObjects(3, sd, WaitAny, FALSE, &zero), STATUS_WAIT_0);

    /* A bad handle anywhere fails the wait and leaks no reference. */
    HANDLE bad[3] = {e, BOGUS_HANDLE, s};
    assert_int_equal(ZwWaitForMultipleObjects(3, bad, WaitAny, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwWaitForMultipleObjects(3, bad, WaitAll, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(basic_info(s).PointerCount, pointers);
    HANDLE many[10];
    for (int i = 0; i < 10; i++)
        many[i] = e;
    many[9] = BOGUS_HANDLE;
    assert_int_equal(ZwWaitForMultipleObjects(10, many, WaitAny, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
}

static void wait_any_reports_the_first_signaled_index(void **state)
{
    (void)state;
    HANDLE e[MAXIMUM_WAIT_OBJECTS];
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        e[i] = event(SynchronizationEvent, FALSE);
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForMultipleObjects(3, e, WaitAny, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(ZwSetEvent(e[1], NULL), STATUS_SUCCESS);
    assert_int_equal(ZwSetEvent(e[2], NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(3, e, WaitAny, FALSE, &zero), STATUS_WAIT_1);
    assert_int_equal(ZwWaitForMultipleObjects(3, e, WaitAny, FALSE, &zero), STATUS_WAIT_2);
    assert_int_equal(ZwWaitForMultipleObjects(3, e, WaitAny, FALSE, &zero), STATUS_TIMEOUT);

    /* The full 64, beyond the thread's built-in wait blocks. */
    assert_int_equal(ZwSetEvent(e[63], NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, WaitAny, FALSE, &zero), STATUS_WAIT_63);
    assert_int_equal(ZwSetEvent(e[40], NULL), STATUS_SUCCESS);
    LARGE_INTEGER t = kt_ms(LONG_WAIT_MS);
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, WaitAny, FALSE, &t), STATUS_WAIT_0 + 40);
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, WaitAny, FALSE, &zero), STATUS_TIMEOUT);
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        assert_int_equal(ZwSetEvent(e[i], NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, WaitAll, FALSE, &zero), STATUS_WAIT_0);
    /* WaitAll consumed every synchronization event. */
    assert_int_equal(ZwWaitForMultipleObjects(MAXIMUM_WAIT_OBJECTS, e, WaitAny, FALSE, &zero), STATUS_TIMEOUT);
    for (int i = 0; i < MAXIMUM_WAIT_OBJECTS; i++)
        assert_int_equal(ZwClose(e[i]), STATUS_SUCCESS);
}

static void wait_all_takes_everything_or_nothing(void **state)
{
    (void)state;
    HANDLE e = event(SynchronizationEvent, TRUE), s = NULL, m = NULL;
    assert_int_equal(ZwCreateSemaphore(&s, SEMAPHORE_ALL_ACCESS, NULL, 0, 2), STATUS_SUCCESS);
    assert_int_equal(ZwCreateMutant(&m, MUTANT_ALL_ACCESS, NULL, FALSE), STATUS_SUCCESS);
    HANDLE all[3] = {e, s, m};
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForMultipleObjects(3, all, WaitAll, FALSE, &zero), STATUS_TIMEOUT);
    /* Nothing taken by the failed attempt. */
    assert_int_equal(event_state(e), 1);
    MUTANT_BASIC_INFORMATION mi;
    assert_int_equal(ZwQueryMutant(m, MutantBasicInformation, &mi, sizeof(mi), NULL), STATUS_SUCCESS);
    assert_int_equal(mi.CurrentCount, 1);
    assert_int_equal(ZwReleaseSemaphore(s, 1, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(3, all, WaitAll, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(event_state(e), 0);
    assert_int_equal(ZwQueryMutant(m, MutantBasicInformation, &mi, sizeof(mi), NULL), STATUS_SUCCESS);
    assert_true(mi.OwnedByCaller);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
}

typedef struct multi_waiter {
    ULONG Count;
    HANDLE Handles[4];
    WAIT_TYPE Type;
    BOOLEAN Alertable;
    BOOLEAN User;
    NTSTATUS Status;
    volatile LONG Done;
} multi_waiter;

static VOID NTAPI multi_waiter_main(PVOID Context)
{
    multi_waiter *w = Context;
    if (w->User) {
        KeGetCurrentThread()->PreviousMode = UserMode;
        w->Status = NtWaitForMultipleObjects(w->Count, w->Handles, w->Type, w->Alertable, NULL);
        KeGetCurrentThread()->PreviousMode = KernelMode;
    } else {
        w->Status = ZwWaitForMultipleObjects(w->Count, w->Handles, w->Type, w->Alertable, NULL);
    }
    __atomic_store_n(&w->Done, 1, __ATOMIC_RELEASE);
}

static void wait_all_across_threads_and_its_references(void **state)
{
    (void)state;
    static KTHREAD thread;
    static multi_waiter w;
    HANDLE a = event(NotificationEvent, FALSE), b = event(NotificationEvent, FALSE);
    ULONG pa = basic_info(a).PointerCount, pb = basic_info(b).PointerCount;
    w = (multi_waiter){.Count = 2, .Handles = {a, b}, .Type = WaitAll};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, a));
    /* The wait holds a reference on each object, not a handle. */
    assert_int_equal(basic_info(a).PointerCount, pa + 1);
    assert_int_equal(basic_info(b).PointerCount, pb + 1);
    assert_int_equal(basic_info(a).HandleCount, 1);
    assert_int_equal(ZwSetEvent(a, NULL), STATUS_SUCCESS);
    kt_sleep_ms(5);
    assert_false(__atomic_load_n(&w.Done, __ATOMIC_ACQUIRE));
    assert_int_equal(ZwSetEvent(b, NULL), STATUS_SUCCESS);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_WAIT_0);
    assert_int_equal(basic_info(a).PointerCount, pa);
    assert_int_equal(basic_info(b).PointerCount, pb);
    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    assert_int_equal(ZwClose(b), STATUS_SUCCESS);
}

typedef struct grabber {
    HANDLE Mutant;
} grabber;

static VOID NTAPI grab_and_exit(PVOID Context)
{
    grabber *g = Context;
    ZwWaitForSingleObject(g->Mutant, FALSE, NULL);
}

static void abandoned_mutant_status_carries_the_index(void **state)
{
    (void)state;
    static KTHREAD thread;
    static grabber g;
    HANDLE e = event(NotificationEvent, FALSE), m = NULL;
    assert_int_equal(ZwCreateMutant(&m, MUTANT_ALL_ACCESS, NULL, FALSE), STATUS_SUCCESS);
    g.Mutant = m;
    kt_start(&thread, grab_and_exit, &g, 8);
    kt_join(&thread);
    HANDLE two[2] = {e, m};
    LARGE_INTEGER zero = zero_timeout();
    assert_int_equal(ZwWaitForMultipleObjects(2, two, WaitAny, FALSE, &zero), STATUS_ABANDONED_WAIT_0 + 1);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);
    /* Single waits report STATUS_ABANDONED_WAIT_0 (== STATUS_ABANDONED). */
    kt_start(&thread, grab_and_exit, &g, 8);
    kt_join(&thread);
    assert_int_equal(ZwWaitForSingleObject(m, FALSE, &zero), STATUS_ABANDONED);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);
    /* WaitAll reports it as STATUS_ABANDONED_WAIT_0 whatever the position. */
    kt_start(&thread, grab_and_exit, &g, 8);
    kt_join(&thread);
    assert_int_equal(ZwSetEvent(e, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForMultipleObjects(2, two, WaitAll, FALSE, &zero), STATUS_ABANDONED_WAIT_0);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
}

/* ---- alerts and user APCs --------------------------------------------------------------------- */

static void alerts_end_alertable_waits(void **state)
{
    (void)state;
    HANDLE e = event(NotificationEvent, FALSE);
    LARGE_INTEGER zero = zero_timeout();
    /* A pending alert ends an alertable wait before it blocks, and only that. */
    KeAlertThread(KeGetCurrentThread(), KernelMode);
    assert_int_equal(ZwWaitForSingleObject(e, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(ZwWaitForSingleObject(e, TRUE, &zero), STATUS_ALERTED);
    assert_int_equal(ZwWaitForSingleObject(e, TRUE, &zero), STATUS_TIMEOUT);
    HANDLE two[2] = {e, e};
    KeAlertThread(KeGetCurrentThread(), KernelMode);
    assert_int_equal(ZwWaitForMultipleObjects(2, two, WaitAny, TRUE, &zero), STATUS_ALERTED);

    /* An alert for a blocked thread. */
    static KTHREAD thread;
    static multi_waiter w;
    w = (multi_waiter){.Count = 1, .Handles = {e}, .Type = WaitAny, .Alertable = TRUE};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, e));
    /* A user-mode alert does not end a kernel-mode wait. */
    KeAlertThread(&thread, UserMode);
    kt_sleep_ms(5);
    assert_false(__atomic_load_n(&w.Done, __ATOMIC_ACQUIRE));
    KeAlertThread(&thread, KernelMode);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_ALERTED);

    /* A user-mode wait ends on a user-mode alert. */
    w = (multi_waiter){.Count = 1, .Handles = {e}, .Type = WaitAny, .Alertable = TRUE, .User = TRUE};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, e));
    KeAlertThread(&thread, UserMode);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_ALERTED);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
}

static volatile LONG user_apc_rundowns;

static VOID NTAPI user_apc_kernel(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                                  PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    (void)Apc, (void)NormalRoutine, (void)NormalContext, (void)SystemArgument1, (void)SystemArgument2;
}

static VOID NTAPI user_apc_rundown(PKAPC Apc)
{
    (void)Apc;
    __atomic_add_fetch(&user_apc_rundowns, 1, __ATOMIC_SEQ_CST);
}

static VOID NTAPI user_apc_normal(PVOID Context, PVOID A1, PVOID A2)
{
    (void)Context, (void)A1, (void)A2;
}

static void user_apc_ends_an_alertable_user_wait(void **state)
{
    (void)state;
    static KTHREAD thread;
    static multi_waiter w;
    static KAPC apc;
    HANDLE e = event(NotificationEvent, FALSE);
    user_apc_rundowns = 0;

    /* Not alertable: the APC waits in the queue, the wait goes on. */
    w = (multi_waiter){.Count = 1, .Handles = {e}, .Type = WaitAny, .Alertable = FALSE, .User = TRUE};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, e));
    KeInitializeApc(&apc, &thread, OriginalApcEnvironment, user_apc_kernel, user_apc_rundown, user_apc_normal,
                    UserMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    kt_sleep_ms(5);
    assert_false(__atomic_load_n(&w.Done, __ATOMIC_ACQUIRE));
    assert_int_equal(ZwSetEvent(e, NULL), STATUS_SUCCESS);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_WAIT_0);
    /* Never delivered (no return to user mode): run down at exit. */
    assert_int_equal(user_apc_rundowns, 1);
    assert_int_equal(ZwResetEvent(e, NULL), STATUS_SUCCESS);

    /* Alertable user-mode wait: ended with STATUS_USER_APC. */
    w = (multi_waiter){.Count = 1, .Handles = {e}, .Type = WaitAny, .Alertable = TRUE, .User = TRUE};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, e));
    KeInitializeApc(&apc, &thread, OriginalApcEnvironment, user_apc_kernel, user_apc_rundown, user_apc_normal,
                    UserMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_USER_APC);
    assert_int_equal(user_apc_rundowns, 2);

    /* An alertable kernel-mode wait is not ended by a user APC. */
    w = (multi_waiter){.Count = 1, .Handles = {e}, .Type = WaitAny, .Alertable = TRUE};
    kt_start(&thread, multi_waiter_main, &w, 8);
    WAIT_UNTIL(waiting_on(&thread, e));
    KeInitializeApc(&apc, &thread, OriginalApcEnvironment, user_apc_kernel, user_apc_rundown, user_apc_normal,
                    UserMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    kt_sleep_ms(5);
    assert_false(__atomic_load_n(&w.Done, __ATOMIC_ACQUIRE));
    assert_int_equal(ZwSetEvent(e, NULL), STATUS_SUCCESS);
    kt_join(&thread);
    assert_int_equal(w.Status, STATUS_WAIT_0);
    assert_int_equal(user_apc_rundowns, 3);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);
}

/* ---- signal and wait ---------------------------------------------------------------------------- */

static void signal_and_wait_each_signal_kind(void **state)
{
    (void)state;
    LARGE_INTEGER zero = zero_timeout();
    HANDLE sig = event(SynchronizationEvent, FALSE), on = event(NotificationEvent, FALSE);
    /* Event: set, then the wait (a poll here) proceeds. */
    assert_int_equal(ZwSignalAndWaitForSingleObject(sig, on, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(event_state(sig), 1);
    assert_int_equal(ZwSetEvent(on, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwSignalAndWaitForSingleObject(sig, on, FALSE, NULL), STATUS_WAIT_0);
    /* Signal and wait on the same synchronization event: set, then consumed. */
    assert_int_equal(ZwResetEvent(sig, NULL), STATUS_SUCCESS);
    assert_int_equal(NtSignalAndWaitForSingleObject(sig, sig, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(event_state(sig), 0);

    /* Semaphore: released by one. */
    HANDLE s = NULL;
    assert_int_equal(ZwCreateSemaphore(&s, SEMAPHORE_ALL_ACCESS, NULL, 0, 1), STATUS_SUCCESS);
    assert_int_equal(ZwSignalAndWaitForSingleObject(s, on, FALSE, &zero), STATUS_WAIT_0);
    SEMAPHORE_BASIC_INFORMATION si;
    assert_int_equal(ZwQuerySemaphore(s, SemaphoreBasicInformation, &si, sizeof(si), NULL), STATUS_SUCCESS);
    assert_int_equal(si.CurrentCount, 1);
    /* At its maximum: the limit error, and no wait. */
    assert_int_equal(ZwSignalAndWaitForSingleObject(s, on, FALSE, &zero), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(ZwSignalAndWaitForSingleObject(s, s, FALSE, &zero), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(ZwWaitForSingleObject(s, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwSignalAndWaitForSingleObject(s, s, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwQuerySemaphore(s, SemaphoreBasicInformation, &si, sizeof(si), NULL), STATUS_SUCCESS);
    assert_int_equal(si.CurrentCount, 0);

    /* Mutant: released by its owner; anyone else gets the not-owned error and no wait. */
    HANDLE m = NULL;
    assert_int_equal(ZwCreateMutant(&m, MUTANT_ALL_ACCESS, NULL, TRUE), STATUS_SUCCESS);
    assert_int_equal(ZwSignalAndWaitForSingleObject(m, on, FALSE, &zero), STATUS_WAIT_0);
    MUTANT_BASIC_INFORMATION mi;
    assert_int_equal(ZwQueryMutant(m, MutantBasicInformation, &mi, sizeof(mi), NULL), STATUS_SUCCESS);
    assert_int_equal(mi.CurrentCount, 1);
    assert_false(mi.OwnedByCaller);
    assert_int_equal(ZwSignalAndWaitForSingleObject(m, on, FALSE, &zero), STATUS_MUTANT_NOT_OWNED);
    /* Release and re-acquire the same mutant in one call. */
    assert_int_equal(ZwWaitForSingleObject(m, FALSE, NULL), STATUS_WAIT_0);
    assert_int_equal(ZwSignalAndWaitForSingleObject(m, m, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwQueryMutant(m, MutantBasicInformation, &mi, sizeof(mi), NULL), STATUS_SUCCESS);
    assert_true(mi.OwnedByCaller);
    assert_int_equal(mi.CurrentCount, 0);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);

    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
    assert_int_equal(ZwClose(s), STATUS_SUCCESS);
    assert_int_equal(ZwClose(sig), STATUS_SUCCESS);
    assert_int_equal(ZwClose(on), STATUS_SUCCESS);
}

static void signal_and_wait_errors(void **state)
{
    (void)state;
    LARGE_INTEGER zero = zero_timeout();
    HANDLE sig = event(NotificationEvent, FALSE), on = event(NotificationEvent, TRUE), t = NULL, d = NULL;
    assert_int_equal(ZwCreateTimer(&t, TIMER_ALL_ACCESS, NULL, NotificationTimer), STATUS_SUCCESS);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, 0, NULL, NULL);
    assert_int_equal(ZwCreateDirectoryObject(&d, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);

    /* Only events, semaphores and mutants can be signaled. */
    assert_int_equal(ZwSignalAndWaitForSingleObject(t, on, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwSignalAndWaitForSingleObject(d, on, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwSignalAndWaitForSingleObject(NtCurrentProcess(), on, FALSE, &zero), STATUS_OBJECT_TYPE_MISMATCH);
    /* But anything waitable can be waited on. */
    assert_int_equal(ZwSignalAndWaitForSingleObject(sig, d, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwSignalAndWaitForSingleObject(sig, t, FALSE, &zero), STATUS_TIMEOUT);

    /* Bad handles: nothing is signaled when the wait handle is bad. */
    assert_int_equal(ZwResetEvent(sig, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwSignalAndWaitForSingleObject(BOGUS_HANDLE, on, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwSignalAndWaitForSingleObject(sig, BOGUS_HANDLE, FALSE, &zero), STATUS_INVALID_HANDLE);
    assert_int_equal(event_state(sig), 0);

    /* User mode: the signal needs the modify right, the wait SYNCHRONIZE. */
    HANDLE usig = NULL, usync = NULL, usem = NULL, umut = NULL;
    assert_int_equal(AS_USER(NtCreateEvent(&usig, SYNCHRONIZE, NULL, NotificationEvent, FALSE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateEvent(&usync, EVENT_MODIFY_STATE, NULL, NotificationEvent, FALSE)),
                     STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(usig, on, FALSE, &zero)), STATUS_ACCESS_DENIED);
    assert_int_equal(event_state(usig), 0);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(usync, usig, FALSE, &zero)), STATUS_TIMEOUT);
    assert_int_equal(event_state(usync), 1);
    assert_int_equal(ZwResetEvent(usync, NULL), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(usync, usync, FALSE, &zero)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtCreateSemaphore(&usem, SYNCHRONIZE, NULL, 0, 1)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(usem, usig, FALSE, &zero)), STATUS_ACCESS_DENIED);
    /* A mutant needs no right beyond ownership. */
    assert_int_equal(AS_USER(NtCreateMutant(&umut, SYNCHRONIZE, NULL, TRUE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(umut, usig, FALSE, &zero)), STATUS_TIMEOUT);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(umut, usig, FALSE, &zero)), STATUS_MUTANT_NOT_OWNED);
    /* Kernel handles are not for user-mode callers. */
    HANDLE k = NULL;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwCreateEvent(&k, EVENT_ALL_ACCESS, &oa, NotificationEvent, TRUE), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtWaitForSingleObject(k, FALSE, &zero)), STATUS_INVALID_HANDLE);
    assert_int_equal(AS_USER(NtSignalAndWaitForSingleObject(k, usig, FALSE, &zero)), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwWaitForSingleObject(k, FALSE, &zero), STATUS_WAIT_0);

    HANDLE all[] = {sig, on, t, d, usig, usync, usem, umut, k};
    for (ULONG i = 0; i < RTL_NUMBER_OF(all); i++)
        assert_int_equal(ZwClose(all[i]), STATUS_SUCCESS);
}

/*
 * Atomicity: the partner answers each signal with a pulse, which only a
 * thread already waiting can see. Signal-and-wait must therefore have this
 * thread waiting before the partner can run its pulse, every time.
 */
#define PING_ROUNDS 40

typedef struct partner {
    HANDLE Go;      /* event or mutant the main thread signals */
    HANDLE Reply;   /* notification event the partner pulses */
    HANDLE Ack;     /* with a mutant: the main thread has it again */
    BOOLEAN Mutant; /* Go is a mutant: take it, pulse, give it back */
    LONG Errors;
} partner;

static VOID NTAPI partner_main(PVOID Context)
{
    partner *p = Context;
    for (int i = 0; i < PING_ROUNDS; i++) {
        if (ZwWaitForSingleObject(p->Go, FALSE, NULL) != STATUS_WAIT_0)
            p->Errors++;
        if (ZwPulseEvent(p->Reply, NULL) != STATUS_SUCCESS)
            p->Errors++;
        if (p->Mutant) {
            if (ZwReleaseMutant(p->Go, NULL) != STATUS_SUCCESS)
                p->Errors++;
            /* Not back on the mutant before the main thread holds it again. */
            if (ZwWaitForSingleObject(p->Ack, FALSE, NULL) != STATUS_WAIT_0)
                p->Errors++;
        }
    }
}

static void signal_and_wait_is_atomic_for_events_and_mutants(void **state)
{
    (void)state;
    static KTHREAD thread;
    static partner p;
    LARGE_INTEGER t = kt_ms(LONG_WAIT_MS);

    /* Above this thread's priority, the woken partner would run (and pulse)
     * the moment a non-atomic signal dropped the dispatcher lock. */
    KPRIORITY priority = KeQueryPriorityThread(KeGetCurrentThread()) + 2;
    if (priority >= LOW_REALTIME_PRIORITY)
        priority = LOW_REALTIME_PRIORITY - 1;
    HANDLE go = event(SynchronizationEvent, FALSE), reply = event(NotificationEvent, FALSE);
    p = (partner){.Go = go, .Reply = reply};
    kt_start(&thread, partner_main, &p, priority);
    for (int i = 0; i < PING_ROUNDS; i++)
        assert_int_equal(ZwSignalAndWaitForSingleObject(go, reply, FALSE, &t), STATUS_WAIT_0);
    kt_join(&thread);
    assert_int_equal(p.Errors, 0);
    assert_int_equal(ZwClose(go), STATUS_SUCCESS);

    HANDLE m = NULL, ack = event(SynchronizationEvent, FALSE);
    assert_int_equal(ZwCreateMutant(&m, MUTANT_ALL_ACCESS, NULL, TRUE), STATUS_SUCCESS);
    p = (partner){.Go = m, .Reply = reply, .Ack = ack, .Mutant = TRUE};
    kt_start(&thread, partner_main, &p, priority);
    for (int i = 0; i < PING_ROUNDS; i++) {
        /* The release hands the mutant straight to the blocked partner. */
        WAIT_UNTIL(waiting_on(&thread, m));
        assert_int_equal(ZwSignalAndWaitForSingleObject(m, reply, FALSE, &t), STATUS_WAIT_0);
        assert_int_equal(ZwWaitForSingleObject(m, FALSE, &t), STATUS_WAIT_0);
        assert_int_equal(ZwSetEvent(ack, NULL), STATUS_SUCCESS);
    }
    kt_join(&thread);
    assert_int_equal(p.Errors, 0);
    assert_int_equal(ZwReleaseMutant(m, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
    assert_int_equal(ZwClose(ack), STATUS_SUCCESS);
    assert_int_equal(ZwClose(reply), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(single_signaled_unsignaled_and_timeouts),
    cmocka_unit_test(single_handle_errors),
    cmocka_unit_test(user_mode_needs_synchronize),
    cmocka_unit_test(default_object_types_wait_at_once),
    cmocka_unit_test(objects_that_are_not_waitable),
    cmocka_unit_test(multiple_parameter_errors),
    cmocka_unit_test(wait_any_reports_the_first_signaled_index),
    cmocka_unit_test(wait_all_takes_everything_or_nothing),
    cmocka_unit_test(wait_all_across_threads_and_its_references),
    cmocka_unit_test(abandoned_mutant_status_carries_the_index),
    cmocka_unit_test(alerts_end_alertable_waits),
    cmocka_unit_test(user_apc_ends_an_alertable_user_wait),
    cmocka_unit_test(signal_and_wait_each_signal_kind),
    cmocka_unit_test(signal_and_wait_errors),
    cmocka_unit_test(signal_and_wait_is_atomic_for_events_and_mutants),
};

NTOS_TEST_GROUP(ex_zw_wait, tests, NULL, NULL);
