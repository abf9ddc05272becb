/*
 * Callback objects (ExCreateCallback / ExRegisterCallback / ExUnregisterCallback
 * / ExNotifyCallback), the standard \Callback objects, and unregistration
 * waiting for calls in flight.
 */
#include "ntos_test.h"
#include <ntos/ex_callback.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

typedef struct {
    volatile LONG Calls;
    PVOID Arg1, Arg2;
    KIRQL Irql;
} CB_SEEN;

static VOID NTAPI record_cb(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    CB_SEEN *s = Context;
    __atomic_add_fetch(&s->Calls, 1, __ATOMIC_RELAXED);
    s->Arg1 = Argument1;
    s->Arg2 = Argument2;
    s->Irql = KeGetCurrentIrql();
}

static void init_oa(OBJECT_ATTRIBUTES *oa, UNICODE_STRING *name, PCWSTR text, ULONG attributes)
{
    RtlInitUnicodeString(name, text);
    InitializeObjectAttributes(oa, name, attributes, NULL, NULL);
}

static void create_open_notify(void **state)
{
    (void)state;
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    init_oa(&oa, &name, L"\\Callback\\NtosTestCallback", OBJ_CASE_INSENSITIVE);
    PCALLBACK_OBJECT cb = NULL, again = NULL;
    /* Opening a callback that does not exist, without Create. */
    assert_int_equal(ExCreateCallback(&cb, &oa, FALSE, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_null(cb);
    assert_int_equal(ExCreateCallback(&cb, &oa, TRUE, TRUE), STATUS_SUCCESS);
    assert_non_null(cb);
    assert_ptr_equal(ObGetObjectType(cb), ExCallbackObjectType);
    /* The second create opens the same object (case-insensitively). */
    OBJECT_ATTRIBUTES oa2;
    UNICODE_STRING name2;
    init_oa(&oa2, &name2, L"\\CALLBACK\\ntostestcallback", OBJ_CASE_INSENSITIVE);
    assert_int_equal(ExCreateCallback(&again, &oa2, TRUE, FALSE), STATUS_SUCCESS);
    assert_ptr_equal(again, cb);
    ObDereferenceObject(again);

    static CB_SEEN a, b;
    RtlZeroMemory(&a, sizeof(a));
    RtlZeroMemory(&b, sizeof(b));
    PVOID ra = ExRegisterCallback(cb, record_cb, &a);
    PVOID rb = ExRegisterCallback(cb, record_cb, &b);
    assert_non_null(ra);
    assert_non_null(rb);
    ExNotifyCallback(cb, (PVOID)1, (PVOID)2);
    assert_int_equal(a.Calls, 1);
    assert_int_equal(b.Calls, 1);
    assert_ptr_equal(a.Arg1, (PVOID)1);
    assert_ptr_equal(b.Arg2, (PVOID)2);
    assert_int_equal(a.Irql, PASSIVE_LEVEL);
    /* At DISPATCH_LEVEL, callbacks run at DISPATCH_LEVEL. */
    KIRQL old;
    KeRaiseIrql(DISPATCH_LEVEL, &old);
    ExNotifyCallback(cb, NULL, NULL);
    KeLowerIrql(old);
    assert_int_equal(a.Irql, DISPATCH_LEVEL);
    assert_int_equal(b.Calls, 2);
    ExUnregisterCallback(ra);
    ExNotifyCallback(cb, NULL, NULL);
    assert_int_equal(a.Calls, 2);
    assert_int_equal(b.Calls, 3);
    ExUnregisterCallback(rb);
    ExNotifyCallback(cb, NULL, NULL);
    assert_int_equal(b.Calls, 3);
    ExNotifyCallback(NULL, NULL, NULL); /* tolerated, nothing happens */
    ObDereferenceObject(cb);
    /* Temporary object: gone with its last reference. */
    assert_int_equal(ExCreateCallback(&cb, &oa, FALSE, TRUE), STATUS_OBJECT_NAME_NOT_FOUND);
}

static void single_registration_and_invalid(void **state)
{
    (void)state;
    UNICODE_STRING name;
    OBJECT_ATTRIBUTES oa;
    init_oa(&oa, &name, L"\\Callback\\NtosTestSingle", OBJ_CASE_INSENSITIVE);
    PCALLBACK_OBJECT cb;
    assert_int_equal(ExCreateCallback(&cb, &oa, TRUE, FALSE), STATUS_SUCCESS);
    static CB_SEEN a;
    PVOID r = ExRegisterCallback(cb, record_cb, &a);
    assert_non_null(r);
    /* AllowMultipleCallbacks FALSE: a second registration is refused. */
    assert_null(ExRegisterCallback(cb, record_cb, &a));
    ExUnregisterCallback(r);
    r = ExRegisterCallback(cb, record_cb, &a);
    assert_non_null(r);
    ExUnregisterCallback(r);
    assert_null(ExRegisterCallback(cb, NULL, NULL));
    assert_null(ExRegisterCallback(NULL, record_cb, NULL));
    ObDereferenceObject(cb);

    /* Unnamed: only with Create. */
    OBJECT_ATTRIBUTES anon;
    InitializeObjectAttributes(&anon, NULL, 0, NULL, NULL);
    assert_int_equal(ExCreateCallback(&cb, &anon, FALSE, TRUE), STATUS_UNSUCCESSFUL);
    assert_int_equal(ExCreateCallback(&cb, &anon, TRUE, TRUE), STATUS_SUCCESS);
    ExNotifyCallback(cb, NULL, NULL);
    ObDereferenceObject(cb);
    assert_int_equal(ExCreateCallback(NULL, &anon, TRUE, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(ExCreateCallback(&cb, NULL, TRUE, TRUE), STATUS_INVALID_PARAMETER);
    /* A name of another object type. */
    init_oa(&oa, &name, L"\\Callback", OBJ_CASE_INSENSITIVE);
    assert_int_equal(ExCreateCallback(&cb, &oa, FALSE, TRUE), STATUS_OBJECT_TYPE_MISMATCH);
}

static void standard_callbacks(void **state)
{
    (void)state;
    static const PCWSTR names[] = {L"\\Callback\\SetSystemTime", L"\\Callback\\PowerState",
                                   L"\\Callback\\ProcessorAdd"};
    PCALLBACK_OBJECT expected[] = {ExCbSetSystemTime, ExCbPowerState, ExCbProcessorAdd};
    for (int i = 0; i < 3; i++) {
        UNICODE_STRING name;
        OBJECT_ATTRIBUTES oa;
        init_oa(&oa, &name, names[i], OBJ_CASE_INSENSITIVE);
        PCALLBACK_OBJECT cb;
        assert_int_equal(ExCreateCallback(&cb, &oa, FALSE, FALSE), STATUS_SUCCESS);
        assert_ptr_equal(cb, expected[i]);
        /* Several drivers may register on the standard callbacks. */
        static CB_SEEN s1, s2;
        s1.Calls = s2.Calls = 0;
        PVOID r1 = ExRegisterCallback(cb, record_cb, &s1), r2 = ExRegisterCallback(cb, record_cb, &s2);
        assert_non_null(r1);
        assert_non_null(r2);
        ExNotifyCallback(cb, (PVOID)(ULONG_PTR)i, NULL);
        assert_int_equal(s1.Calls, 1);
        assert_int_equal(s2.Calls, 1);
        ExUnregisterCallback(r1);
        ExUnregisterCallback(r2);
        ObDereferenceObject(cb);
    }
}

/* Unregistration waits for a call in flight on another thread. */
static KEVENT in_cb, release_cb;
static volatile LONG unregistered;

static VOID NTAPI blocking_cb(PVOID Context, PVOID A1, PVOID A2)
{
    (void)Context, (void)A1, (void)A2;
    KeSetEvent(&in_cb, 0, FALSE);
    KeWaitForSingleObject(&release_cb, Executive, KernelMode, FALSE, NULL);
}

static VOID NTAPI notifier(PVOID Context)
{
    ExNotifyCallback(Context, NULL, NULL);
}

static VOID NTAPI unregisterer(PVOID Context)
{
    ExUnregisterCallback(Context);
    __atomic_store_n(&unregistered, 1, __ATOMIC_RELEASE);
}

static PVOID start(PKSTART_ROUTINE Routine, PVOID Context)
{
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, NULL, Routine, Context), STATUS_SUCCESS);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    ZwClose(h);
    return t;
}

static void unregister_waits(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES anon;
    InitializeObjectAttributes(&anon, NULL, 0, NULL, NULL);
    PCALLBACK_OBJECT cb;
    assert_int_equal(ExCreateCallback(&cb, &anon, TRUE, TRUE), STATUS_SUCCESS);
    KeInitializeEvent(&in_cb, NotificationEvent, FALSE);
    KeInitializeEvent(&release_cb, NotificationEvent, FALSE);
    unregistered = 0;
    PVOID r = ExRegisterCallback(cb, blocking_cb, NULL);
    PVOID n = start(notifier, cb);
    KeWaitForSingleObject(&in_cb, Executive, KernelMode, FALSE, NULL);
    PVOID u = start(unregisterer, r);
    LARGE_INTEGER d = {.QuadPart = -20 * 10000};
    KeDelayExecutionThread(KernelMode, FALSE, &d);
    assert_int_equal(__atomic_load_n(&unregistered, __ATOMIC_ACQUIRE), 0);
    /* A notification meanwhile skips the registration being removed. */
    ExNotifyCallback(cb, NULL, NULL);
    KeSetEvent(&release_cb, 0, FALSE);
    KeWaitForSingleObject(u, Executive, KernelMode, FALSE, NULL);
    KeWaitForSingleObject(n, Executive, KernelMode, FALSE, NULL);
    assert_int_equal(unregistered, 1);
    ObDereferenceObject(u);
    ObDereferenceObject(n);
    ObDereferenceObject(cb);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_open_notify),
    cmocka_unit_test(single_registration_and_invalid),
    cmocka_unit_test(standard_callbacks),
    cmocka_unit_test(unregister_waits),
};

NTOS_TEST_GROUP(ex_callback, tests, NULL, NULL);
