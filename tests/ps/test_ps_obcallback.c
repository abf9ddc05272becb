/*
 * ObRegisterCallbacks / ObUnRegisterCallbacks: registration validation,
 * altitude uniqueness and order, pre/post callbacks on process and thread
 * handle creation and duplication, and access stripping honoured by the
 * handle that results.
 */
#include "ntos_test.h"
#include <ntos/obcallback.h>
#include <ntos/ps.h>
#include <ntos/rtl.h>

static struct {
    PVOID Watch;            /* only this object is looked at */
    ACCESS_MASK Strip;
    ACCESS_MASK Add;
    LONG Pre, Post;
    OB_OPERATION PreOperation, PostOperation;
    ULONG KernelHandle;
    POBJECT_TYPE Type;
    ACCESS_MASK Original, PostGranted;
    PVOID Source, Target;
    PVOID PostContext;
    NTSTATUS PostStatus;
    PVOID RegistrationContext;
    char Order[8];
    LONG OrderLen;
} cb;

static OB_PREOP_CALLBACK_STATUS NTAPI pre_strip(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    if (Info->Object != cb.Watch)
        return OB_PREOP_SUCCESS;
    cb.Pre++;
    cb.RegistrationContext = Context;
    cb.PreOperation = Info->Operation;
    cb.KernelHandle = Info->KernelHandle;
    cb.Type = Info->ObjectType;
    if (Info->Operation == OB_OPERATION_HANDLE_CREATE) {
        cb.Original = Info->Parameters->CreateHandleInformation.OriginalDesiredAccess;
        Info->Parameters->CreateHandleInformation.DesiredAccess &= ~cb.Strip;
        Info->Parameters->CreateHandleInformation.DesiredAccess |= cb.Add;
    } else {
        cb.Original = Info->Parameters->DuplicateHandleInformation.OriginalDesiredAccess;
        cb.Source = Info->Parameters->DuplicateHandleInformation.SourceProcess;
        cb.Target = Info->Parameters->DuplicateHandleInformation.TargetProcess;
        Info->Parameters->DuplicateHandleInformation.DesiredAccess &= ~cb.Strip;
    }
    Info->CallContext = (PVOID)0xC0FFEE;
    return OB_PREOP_SUCCESS;
}

static VOID NTAPI post_record(PVOID Context, POB_POST_OPERATION_INFORMATION Info)
{
    (void)Context;
    if (Info->Object != cb.Watch)
        return;
    cb.Post++;
    cb.PostOperation = Info->Operation;
    cb.PostContext = Info->CallContext;
    cb.PostStatus = Info->ReturnStatus;
    cb.PostGranted = Info->Parameters->CreateHandleInformation.GrantedAccess;
}

static void make_registration(OB_CALLBACK_REGISTRATION *r, OB_OPERATION_REGISTRATION *op, PCWSTR altitude)
{
    RtlZeroMemory(r, sizeof(*r));
    r->Version = OB_FLT_REGISTRATION_VERSION;
    r->OperationRegistrationCount = 1;
    RtlInitUnicodeString(&r->Altitude, altitude);
    r->RegistrationContext = (PVOID)0x1234;
    r->OperationRegistration = op;
    op->ObjectType = &PsProcessType;
    op->Operations = OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE;
    op->PreOperation = pre_strip;
    op->PostOperation = post_record;
}

static void validation(void **state)
{
    (void)state;
    assert_int_equal(ObGetFilterVersion(), 0x0100);
    OB_CALLBACK_REGISTRATION r;
    OB_OPERATION_REGISTRATION op;
    PVOID h = (PVOID)1;
    make_registration(&r, &op, L"320000");
    assert_int_equal(ObRegisterCallbacks(NULL, &h), STATUS_INVALID_PARAMETER);
    assert_int_equal(ObRegisterCallbacks(&r, NULL), STATUS_INVALID_PARAMETER);
    r.Version = 0x0200;
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    assert_null(h);
    r.Version = OB_FLT_REGISTRATION_VERSION;
    r.OperationRegistrationCount = 0;
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    r.OperationRegistrationCount = 1;
    RtlInitUnicodeString(&r.Altitude, L"");
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    RtlInitUnicodeString(&r.Altitude, L"32x000");
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    RtlInitUnicodeString(&r.Altitude, L"320000");
    op.ObjectType = &ExEventObjectType; /* no callback support */
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    op.ObjectType = &PsProcessType;
    op.Operations = 0;
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    op.Operations = 4;
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    op.Operations = OB_OPERATION_HANDLE_CREATE;
    op.PreOperation = NULL;
    op.PostOperation = NULL;
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_INVALID_PARAMETER);
    op.PostOperation = post_record; /* a post routine alone is fine */
    assert_int_equal(ObRegisterCallbacks(&r, &h), STATUS_SUCCESS);
    assert_non_null(h);
    /* The same altitude, however written, collides. */
    PVOID h2 = NULL;
    OB_CALLBACK_REGISTRATION r2;
    OB_OPERATION_REGISTRATION op2;
    make_registration(&r2, &op2, L"0320000.0");
    assert_int_equal(ObRegisterCallbacks(&r2, &h2), STATUS_FLT_INSTANCE_ALTITUDE_COLLISION);
    assert_null(h2);
    ObUnRegisterCallbacks(h);
    assert_int_equal(ObRegisterCallbacks(&r2, &h2), STATUS_SUCCESS);
    ObUnRegisterCallbacks(h2);
}

static void process_create_and_duplicate(void **state)
{
    (void)state;
    RtlZeroMemory(&cb, sizeof(cb));
    cb.Watch = PsInitialSystemProcess;
    cb.Strip = PROCESS_TERMINATE | PROCESS_VM_WRITE;
    OB_CALLBACK_REGISTRATION r;
    OB_OPERATION_REGISTRATION op;
    make_registration(&r, &op, L"385201.5");
    PVOID reg;
    assert_int_equal(ObRegisterCallbacks(&r, &reg), STATUS_SUCCESS);

    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    CLIENT_ID id = {(HANDLE)4, NULL};
    HANDLE h;
    assert_int_equal(ZwOpenProcess(&h, PROCESS_ALL_ACCESS, &oa, &id), STATUS_SUCCESS);
    assert_int_equal(cb.Pre, 1);
    assert_int_equal(cb.Post, 1);
    assert_int_equal(cb.PreOperation, OB_OPERATION_HANDLE_CREATE);
    assert_int_equal(cb.PostOperation, OB_OPERATION_HANDLE_CREATE);
    assert_int_equal(cb.KernelHandle, 1);
    assert_ptr_equal(cb.Type, PsProcessType);
    assert_ptr_equal(cb.RegistrationContext, (PVOID)0x1234);
    assert_int_equal(cb.Original, PROCESS_ALL_ACCESS);
    assert_int_equal(cb.PostStatus, STATUS_SUCCESS);
    assert_ptr_equal(cb.PostContext, (PVOID)0xC0FFEE);
    assert_int_equal(cb.PostGranted, PROCESS_ALL_ACCESS & ~(PROCESS_TERMINATE | PROCESS_VM_WRITE));
    /* The handle really lacks the stripped rights. */
    PVOID obj;
    OBJECT_HANDLE_INFORMATION hi;
    assert_int_equal(ObReferenceObjectByHandle(h, PROCESS_QUERY_INFORMATION, PsProcessType, KernelMode, &obj, &hi),
                     STATUS_SUCCESS);
    ObDereferenceObject(obj);
    assert_int_equal(hi.GrantedAccess, PROCESS_ALL_ACCESS & ~(PROCESS_TERMINATE | PROCESS_VM_WRITE));

    /* Duplication: the source and target processes are reported. */
    HANDLE dup;
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &dup, PROCESS_TERMINATE |
                                       PROCESS_QUERY_INFORMATION, OBJ_KERNEL_HANDLE, 0),
                     STATUS_SUCCESS);
    assert_int_equal(cb.Pre, 2);
    assert_int_equal(cb.PreOperation, OB_OPERATION_HANDLE_DUPLICATE);
    assert_int_equal(cb.PostOperation, OB_OPERATION_HANDLE_DUPLICATE);
    assert_ptr_equal(cb.Source, PsInitialSystemProcess);
    assert_ptr_equal(cb.Target, PsInitialSystemProcess);
    assert_int_equal(cb.Original, PROCESS_TERMINATE | PROCESS_QUERY_INFORMATION);
    assert_int_equal(cb.PostGranted, PROCESS_QUERY_INFORMATION);
    assert_int_equal(ZwClose(dup), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* A callback cannot add rights. */
    cb.Strip = 0;
    cb.Add = PROCESS_TERMINATE;
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, &id), STATUS_SUCCESS);
    assert_int_equal(cb.PostGranted, PROCESS_QUERY_INFORMATION);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* Unregistered: no more calls. */
    ObUnRegisterCallbacks(reg);
    LONG before = cb.Pre;
    assert_int_equal(ZwOpenProcess(&h, PROCESS_ALL_ACCESS, &oa, &id), STATUS_SUCCESS);
    assert_int_equal(cb.Pre, before);
    assert_int_equal(ObReferenceObjectByHandle(h, PROCESS_TERMINATE, PsProcessType, KernelMode, &obj, &hi),
                     STATUS_SUCCESS);
    ObDereferenceObject(obj);
    assert_int_equal(hi.GrantedAccess, PROCESS_ALL_ACCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static OB_PREOP_CALLBACK_STATUS NTAPI pre_order_a(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    (void)Context;
    if (Info->Object == cb.Watch && cb.OrderLen < 7)
        cb.Order[cb.OrderLen++] = 'a';
    return OB_PREOP_SUCCESS;
}

static OB_PREOP_CALLBACK_STATUS NTAPI pre_order_b(PVOID Context, POB_PRE_OPERATION_INFORMATION Info)
{
    (void)Context;
    if (Info->Object == cb.Watch && cb.OrderLen < 7)
        cb.Order[cb.OrderLen++] = 'b';
    return OB_PREOP_SUCCESS;
}

static VOID NTAPI short_thread(PVOID Context)
{
    (void)Context;
}

static void threads_and_altitude_order(void **state)
{
    (void)state;
    RtlZeroMemory(&cb, sizeof(cb));
    OB_CALLBACK_REGISTRATION ra, rb;
    OB_OPERATION_REGISTRATION opa, opb;
    make_registration(&ra, &opa, L"1000");
    make_registration(&rb, &opb, L"2000.25");
    opa.ObjectType = opb.ObjectType = &PsThreadType;
    opa.PreOperation = pre_order_a;
    opb.PreOperation = pre_order_b;
    opa.PostOperation = opb.PostOperation = NULL;
    PVOID ha, hb;
    assert_int_equal(ObRegisterCallbacks(&ra, &ha), STATUS_SUCCESS);
    assert_int_equal(ObRegisterCallbacks(&rb, &hb), STATUS_SUCCESS);
    /* The current thread handle, if this is a thread object; else a new thread. */
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    CLIENT_ID cid;
    assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, &cid, short_thread, NULL),
                     STATUS_SUCCESS);
    PETHREAD t;
    assert_int_equal(PsLookupThreadByThreadId(cid.UniqueThread, &t), STATUS_SUCCESS);
    cb.Watch = t;
    CLIENT_ID byThread = {NULL, cid.UniqueThread};
    HANDLE h2;
    assert_int_equal(ZwOpenThread(&h2, THREAD_QUERY_INFORMATION, &oa, &byThread), STATUS_SUCCESS);
    cb.Order[cb.OrderLen] = 0;
    assert_string_equal(cb.Order, "ba"); /* 2000.25 before 1000 */
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    ObUnRegisterCallbacks(hb);
    cb.OrderLen = 0;
    assert_int_equal(ZwOpenThread(&h2, THREAD_QUERY_INFORMATION, &oa, &byThread), STATUS_SUCCESS);
    cb.Order[cb.OrderLen] = 0;
    assert_string_equal(cb.Order, "a");
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    ObUnRegisterCallbacks(ha);
    KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(validation),
    cmocka_unit_test(process_create_and_duplicate),
    cmocka_unit_test(threads_and_altitude_order),
};

NTOS_TEST_GROUP(ps_obcallback, tests, NULL, NULL);
