/*
 * System threads and processes: PsCreateSystemThread, PsTerminateSystemThread,
 * thread objects as waitable handles, client ids and lookups, impersonation.
 */
#include "ntos_test.h"
#include <ntos/ps.h>
#include <ntos/rtl.h>

typedef struct {
    volatile LONG Ran;
    PETHREAD Self;
    HANDLE Id;
    NTSTATUS Exit;
    BOOLEAN UseTerminate;
    BOOLEAN WasExecutive;
    KEVENT Go;
} START;

static VOID NTAPI system_thread(PVOID Context)
{
    START *s = Context;
    s->Self = PsGetCurrentThread();
    s->Id = PsGetCurrentThreadId();
    s->WasExecutive = PsIsExecutiveThread(KeGetCurrentThread());
    KeWaitForSingleObject(&s->Go, Executive, KernelMode, FALSE, NULL);
    __atomic_store_n(&s->Ran, 1, __ATOMIC_RELEASE);
    if (s->UseTerminate) {
        PsTerminateSystemThread(s->Exit);
        __atomic_store_n(&s->Ran, 99, __ATOMIC_RELEASE); /* never reached */
    }
}

static void create_wait_and_close(void **state)
{
    (void)state;
    for (int variant = 0; variant < 2; variant++) {
        static START s;
        RtlZeroMemory(&s, sizeof(s));
        KeInitializeEvent(&s.Go, NotificationEvent, FALSE);
        s.UseTerminate = variant == 1;
        s.Exit = (NTSTATUS)0x12345;
        OBJECT_ATTRIBUTES oa;
        InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
        HANDLE h;
        CLIENT_ID cid;
        assert_int_equal(PsCreateSystemThread(&h, THREAD_ALL_ACCESS, &oa, NULL, &cid, system_thread, &s),
                         STATUS_SUCCESS);
        assert_true(ObIsKernelHandle(h));
        assert_ptr_equal(cid.UniqueProcess, PsGetCurrentProcessId());
        assert_non_null(cid.UniqueThread);
        PETHREAD t;
        assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, (PVOID *)&t, NULL),
                         STATUS_SUCCESS);
        PETHREAD looked;
        assert_int_equal(PsLookupThreadByThreadId(cid.UniqueThread, &looked), STATUS_SUCCESS);
        assert_ptr_equal(looked, t);
        ObDereferenceObject(looked);
        assert_ptr_equal(PsGetThreadId(t), cid.UniqueThread);
        assert_ptr_equal(PsGetThreadProcess(t), PsInitialSystemProcess);
        assert_true(PsIsSystemThread(t));
        KeSetEvent(&s.Go, 0, FALSE);
        assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
        assert_int_equal(__atomic_load_n(&s.Ran, __ATOMIC_ACQUIRE), 1);
        assert_ptr_equal(s.Self, t);
        assert_ptr_equal(s.Id, cid.UniqueThread);
        assert_true(s.WasExecutive);
        assert_int_equal(t->Tcb.ExitStatus, variant == 1 ? (NTSTATUS)0x12345 : STATUS_SUCCESS);
        assert_true(PsIsThreadTerminating(t));
        ObDereferenceObject(t);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
        /* Once the object is gone, so is its id. */
        for (int i = 0; i < 2000; i++) {
            if (!NT_SUCCESS(PsLookupThreadByThreadId(cid.UniqueThread, &looked)))
                break;
            ObDereferenceObject(looked);
            LARGE_INTEGER ms = {.QuadPart = -10000};
            KeDelayExecutionThread(KernelMode, FALSE, &ms);
        }
        assert_int_equal(PsLookupThreadByThreadId(cid.UniqueThread, &looked), STATUS_INVALID_PARAMETER);
    }
}

static void create_errors(void **state)
{
    (void)state;
    HANDLE h;
    assert_int_equal(PsCreateSystemThread(NULL, 0, NULL, NULL, NULL, system_thread, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsCreateSystemThread(&h, 0, NULL, NULL, NULL, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsCreateSystemThread(&h, 0, NULL, (HANDLE)0x7774, NULL, system_thread, NULL),
                     STATUS_INVALID_HANDLE);
    /* Terminating a thread that is not a system thread object is refused. */
    if (!PsIsExecutiveThread(KeGetCurrentThread()))
        assert_int_equal(PsTerminateSystemThread(STATUS_SUCCESS), STATUS_INVALID_PARAMETER);
}

static void processes_and_ids(void **state)
{
    (void)state;
    PEPROCESS sys;
    assert_int_equal(PsLookupProcessByProcessId(PsGetProcessId(PsInitialSystemProcess), &sys), STATUS_SUCCESS);
    assert_ptr_equal(sys, PsInitialSystemProcess);
    ObDereferenceObject(sys);
    assert_ptr_equal(IoGetCurrentProcess(), PsInitialSystemProcess);
    assert_ptr_equal(PsGetCurrentProcess(), PsInitialSystemProcess);
    assert_int_equal((ULONG_PTR)PsGetProcessId(PsInitialSystemProcess), 4);
    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    HANDLE id = PsGetProcessId(p);
    assert_true(id != PsGetProcessId(PsInitialSystemProcess));
    PEPROCESS q;
    assert_int_equal(PsLookupProcessByProcessId(id, &q), STATUS_SUCCESS);
    assert_ptr_equal(p, q);
    ObDereferenceObject(q);
    /* The new process got a reference to its creator's token. */
    PACCESS_TOKEN t1 = PsReferencePrimaryToken(p), t2 = PsReferencePrimaryToken(PsInitialSystemProcess);
    assert_ptr_equal(t1, t2);
    PsDereferencePrimaryToken(t1);
    PsDereferencePrimaryToken(t2);
    ObDereferenceObject(p);
    assert_int_equal(PsLookupProcessByProcessId(id, &q), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsLookupProcessByProcessId(NULL, &q), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsLookupThreadByThreadId(id, (PETHREAD *)&q), STATUS_INVALID_PARAMETER);
}

typedef struct {
    PACCESS_TOKEN Token;
    PACCESS_TOKEN Seen;
    PACCESS_TOKEN SeenAfterRevert;
    SECURITY_IMPERSONATION_LEVEL Level;
    NTSTATUS ImpersonateStatus;
} IMP;

static VOID NTAPI impersonating_thread(PVOID Context)
{
    IMP *i = Context;
    /* No asserts here: the test framework's state belongs to the harness thread. */
    i->ImpersonateStatus = PsImpersonateClient(PsGetCurrentThread(), i->Token, FALSE, FALSE, SecurityImpersonation);
    BOOLEAN copy, eff;
    i->Seen = PsReferenceImpersonationToken(PsGetCurrentThread(), &copy, &eff, &i->Level);
    PsRevertToSelf();
    i->SeenAfterRevert = PsReferenceImpersonationToken(PsGetCurrentThread(), &copy, &eff, &i->Level);
}

static void impersonation(void **state)
{
    (void)state;
    static IMP imp;
    imp.Token = PsReferencePrimaryToken(PsInitialSystemProcess);
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&h, SYNCHRONIZE, &oa, NULL, NULL, impersonating_thread, &imp),
                     STATUS_SUCCESS);
    PVOID t;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &t, NULL), STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(imp.ImpersonateStatus, STATUS_SUCCESS);
    assert_ptr_equal(imp.Seen, imp.Token);
    assert_int_equal(imp.Level, SecurityImpersonation);
    assert_null(imp.SeenAfterRevert);
    PsDereferenceImpersonationToken(imp.Seen);
    PsDereferencePrimaryToken(imp.Token);
    /* A bare kernel thread cannot impersonate. */
    if (!PsIsExecutiveThread(KeGetCurrentThread()))
        assert_int_equal(PsImpersonateClient((PETHREAD)KeGetCurrentThread(), NULL, FALSE, FALSE, SecurityAnonymous),
                         STATUS_INVALID_PARAMETER);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(create_wait_and_close),
    cmocka_unit_test(create_errors),
    cmocka_unit_test(processes_and_ids),
    cmocka_unit_test(impersonation),
};

NTOS_TEST_GROUP(ps_thread, tests, NULL, NULL);
