/*
 * Process and thread queries, version queries, process attach (stack and
 * classic), ZwOpenProcess/ZwOpenThread and the basic information classes.
 */
#include "ntos_test.h"
#include <ntos/ps.h>
#include <ntos/rtl.h>
#include <ntos/kuser.h>

#ifndef STATUS_INVALID_CID
#define STATUS_INVALID_CID ((NTSTATUS)0xC000000BL)
#endif

typedef struct {
    KEVENT Go;
    PEPROCESS Process;
    PETHREAD Thread;
    HANDLE ThreadId, ProcessId, ThreadProcessId;
    BOOLEAN System;
    KPROCESSOR_MODE PreviousMode;
} QUERY_CTX;

static VOID NTAPI query_thread(PVOID Context)
{
    QUERY_CTX *q = Context;
    q->Process = PspGetCurrentProcessExport();
    q->Thread = PspGetCurrentThreadExport();
    q->ThreadId = PsGetCurrentThreadId();
    q->ProcessId = PsGetCurrentProcessId();
    q->ThreadProcessId = PsGetCurrentThreadProcessId();
    q->System = PsIsSystemThread(PsGetCurrentThread());
    q->PreviousMode = PsGetCurrentThreadPreviousMode();
    KeWaitForSingleObject(&q->Go, Executive, KernelMode, FALSE, NULL);
    PsTerminateSystemThread((NTSTATUS)0x1234);
}

static PETHREAD start_thread(PKSTART_ROUTINE Routine, PVOID Context, HANDLE *Handle, CLIENT_ID *Cid)
{
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(Handle, THREAD_ALL_ACCESS, &oa, NULL, Cid, Routine, Context),
                     STATUS_SUCCESS);
    PETHREAD t;
    assert_int_equal(ObReferenceObjectByHandle(*Handle, SYNCHRONIZE, PsThreadType, KernelMode, (PVOID *)&t, NULL),
                     STATUS_SUCCESS);
    return t;
}

static void thread_and_process_accessors(void **state)
{
    (void)state;
    static QUERY_CTX q;
    RtlZeroMemory(&q, sizeof(q));
    KeInitializeEvent(&q.Go, NotificationEvent, FALSE);
    HANDLE h;
    CLIENT_ID cid;
    PETHREAD t = start_thread(query_thread, &q, &h, &cid);
    /* Before it exits the exit status is STATUS_PENDING. */
    assert_int_equal(PsGetThreadExitStatus(t), STATUS_PENDING);
    KeSetEvent(&q.Go, 0, FALSE);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_ptr_equal(q.Thread, t);
    assert_ptr_equal(q.Process, PsInitialSystemProcess);
    assert_ptr_equal(q.ThreadId, cid.UniqueThread);
    assert_ptr_equal(q.ProcessId, (HANDLE)4);
    assert_ptr_equal(q.ThreadProcessId, (HANDLE)4);
    assert_true(q.System);
    assert_int_equal(q.PreviousMode, KernelMode);
    assert_ptr_equal(PsGetThreadId(t), cid.UniqueThread);
    assert_ptr_equal(PsGetThreadProcessId(t), (HANDLE)4);
    assert_int_equal(PsGetThreadExitStatus(t), (NTSTATUS)0x1234);
    assert_true(PsGetThreadCreateTime(t) > 0);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* The System process. */
    PEPROCESS sys = PsInitialSystemProcess;
    assert_string_equal(PsGetProcessImageFileName(sys), "System");
    assert_int_equal(PsGetProcessSessionId(sys), 0);
    assert_int_equal(PsGetProcessSessionIdEx(sys), (ULONG)-1);
    assert_int_equal(PsGetCurrentProcessSessionId(), 0);
    assert_true(PsIsSystemProcess(sys));
    assert_int_equal(PsGetProcessExitStatus(sys), STATUS_PENDING);
    assert_false(PsGetProcessExitProcessCalled(sys));
    assert_true(PsGetProcessCreateTimeQuadPart(sys) > 0);
    assert_ptr_equal(PspGetCurrentProcessExport(), PsGetCurrentProcess());
    assert_ptr_equal(PsGetCurrentThreadProcess(), PsInitialSystemProcess);
    assert_ptr_equal(PsGetCurrentThreadTeb(), NULL);

    /* A created process inherits its creator's id and session. */
    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    assert_ptr_equal(PsGetProcessInheritedFromUniqueProcessId(p), (HANDLE)4);
    assert_int_equal(PsGetProcessSessionIdEx(p), (ULONG)-1);
    assert_false(PsIsSystemProcess(p));
    assert_string_equal(PsGetProcessImageFileName(p), "");
    assert_true(PsGetProcessCreateTimeQuadPart(p) >= PsGetProcessCreateTimeQuadPart(sys));
    ObDereferenceObject(p);
}

static void lookups_invalid(void **state)
{
    (void)state;
    PEPROCESS p = (PEPROCESS)(ULONG_PTR)1;
    PETHREAD t = (PETHREAD)(ULONG_PTR)1;
    assert_int_equal(PsLookupProcessByProcessId((HANDLE)0x7FFFFFF0, &p), STATUS_INVALID_PARAMETER);
    assert_null(p);
    assert_int_equal(PsLookupThreadByThreadId((HANDLE)0x7FFFFFF0, &t), STATUS_INVALID_PARAMETER);
    assert_null(t);
    assert_int_equal(PsLookupProcessByProcessId((HANDLE)4, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(PsLookupThreadByThreadId(NULL, &t), STATUS_INVALID_PARAMETER);
    /* A process id is not a thread id and vice versa. */
    assert_int_equal(PsLookupThreadByThreadId((HANDLE)4, &t), STATUS_INVALID_PARAMETER);
    /* Ids are handles: the two low tag bits are ignored, as in any handle table. */
    assert_int_equal(PsLookupProcessByProcessId((HANDLE)5, &p), STATUS_SUCCESS);
    assert_ptr_equal(p, PsInitialSystemProcess);
    ObDereferenceObject(p);
    assert_int_equal(PsLookupProcessByProcessId((HANDLE)(LONG_PTR)-1, &p), STATUS_INVALID_PARAMETER);
}

static void version(void **state)
{
    (void)state;
    ULONG major = 0, minor = 1, build = 0;
    WCHAR buf[8] = {L'x'};
    UNICODE_STRING csd = {2, sizeof(buf), buf};
    assert_false(PsGetVersion(&major, &minor, &build, &csd));
    assert_int_equal(major, 10);
    assert_int_equal(minor, 0);
    assert_int_equal(build, 19045);
    assert_int_equal(csd.Length, 0);
    assert_int_equal(buf[0], 0);
    assert_false(PsGetVersion(NULL, NULL, NULL, NULL));
    /* Consistent with KUSER_SHARED_DATA. */
    assert_int_equal(KiUserSharedData.NtMajorVersion, major);
    assert_int_equal(KiUserSharedData.NtBuildNumber & 0xFFFF, build);

    RTL_OSVERSIONINFOEXW ex;
    RtlFillMemory(&ex, sizeof(ex), 0xCC);
    ex.dwOSVersionInfoSize = sizeof(ex);
    assert_int_equal(RtlGetVersion((PRTL_OSVERSIONINFOW)&ex), STATUS_SUCCESS);
    assert_int_equal(ex.dwMajorVersion, 10);
    assert_int_equal(ex.dwBuildNumber, 19045);
    assert_int_equal(ex.dwPlatformId, VER_PLATFORM_WIN32_NT);
    assert_int_equal(ex.szCSDVersion[0], 0);
    assert_int_equal(ex.wProductType, VER_NT_WORKSTATION);
    assert_int_equal(ex.wServicePackMajor, 0);
    RTL_OSVERSIONINFOW v;
    v.dwOSVersionInfoSize = sizeof(v);
    assert_int_equal(RtlGetVersion(&v), STATUS_SUCCESS);
    assert_int_equal(v.dwMinorVersion, 0);
    v.dwOSVersionInfoSize = sizeof(v) - 1;
    assert_int_equal(RtlGetVersion(&v), STATUS_INVALID_PARAMETER);
    assert_int_equal(RtlGetVersion(NULL), STATUS_INVALID_PARAMETER);
}

static volatile LONG apc_ran;
static VOID NTAPI count_apc(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    (void)Apc, (void)Normal, (void)Context, (void)A1, (void)A2;
    __atomic_add_fetch(&apc_ran, 1, __ATOMIC_RELAXED);
}

static void stack_attach(void **state)
{
    (void)state;
    PEPROCESS p, q;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    assert_int_equal(PsCreateProcessInternal(NULL, &q), STATUS_SUCCESS);
    PEPROCESS home = PsGetCurrentProcess();
    PKTHREAD self = KeGetCurrentThread();

    /* Attaching to the process we are in changes nothing. */
    KAPC_STATE same;
    KeStackAttachProcess(&home->Pcb, &same);
    assert_false(KeIsAttachedProcess());
    assert_ptr_equal(PsGetCurrentProcess(), home);
    KeUnstackDetachProcess(&same);
    assert_ptr_equal(PsGetCurrentProcess(), home);

    /* One level, then nested. */
    KAPC_STATE s1, s2;
    KeStackAttachProcess(&p->Pcb, &s1);
    assert_true(KeIsAttachedProcess());
    assert_ptr_equal(PsGetCurrentProcess(), p);
    assert_ptr_equal(PsGetCurrentThreadProcess(), home); /* the owner does not change */
    assert_ptr_equal(PsGetCurrentProcessId(), PsGetProcessId(p));
    KeStackAttachProcess(&q->Pcb, &s2);
    assert_ptr_equal(PsGetCurrentProcess(), q);
    assert_ptr_equal(s2.Process, &p->Pcb);
    KeUnstackDetachProcess(&s2);
    assert_ptr_equal(PsGetCurrentProcess(), p);
    KeUnstackDetachProcess(&s1);
    assert_false(KeIsAttachedProcess());
    assert_ptr_equal(PsGetCurrentProcess(), home);
    assert_ptr_equal(self->ApcStatePointer[0], &self->ApcState);

    /* An APC for the original environment waits until the detach. */
    static KAPC apc;
    apc_ran = 0;
    KeStackAttachProcess(&p->Pcb, &s1);
    KeInitializeApc(&apc, self, OriginalApcEnvironment, count_apc, NULL, NULL, KernelMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    LARGE_INTEGER ms = {.QuadPart = -10000};
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    assert_int_equal(__atomic_load_n(&apc_ran, __ATOMIC_RELAXED), 0);
    KeUnstackDetachProcess(&s1);
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    assert_int_equal(__atomic_load_n(&apc_ran, __ATOMIC_RELAXED), 1);

    /* An APC for the attached environment runs while attached. */
    KeStackAttachProcess(&p->Pcb, &s1);
    KeInitializeApc(&apc, self, CurrentApcEnvironment, count_apc, NULL, NULL, KernelMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    KeDelayExecutionThread(KernelMode, FALSE, &ms);
    assert_int_equal(__atomic_load_n(&apc_ran, __ATOMIC_RELAXED), 2);
    KeUnstackDetachProcess(&s1);

    ObDereferenceObject(q);
    ObDereferenceObject(p);
}

static void classic_attach_and_misuse(void **state)
{
    (void)state;
    PEPROCESS p;
    assert_int_equal(PsCreateProcessInternal(NULL, &p), STATUS_SUCCESS);
    PEPROCESS home = PsGetCurrentProcess();
    KeAttachProcess(&p->Pcb);
    assert_ptr_equal(PsGetCurrentProcess(), p);
    /* KeAttachProcess does not nest. */
    expect_bugcheck(INVALID_PROCESS_ATTACH_ATTEMPT, KeAttachProcess(&home->Pcb));
    assert_ptr_equal(ntos_last_bugcheck.Parameter[0], &home->Pcb);
    /* A stack attach from an attached thread nests fine. */
    KAPC_STATE s;
    KeStackAttachProcess(&home->Pcb, &s);
    assert_ptr_equal(PsGetCurrentProcess(), home);
    KeUnstackDetachProcess(&s);
    assert_ptr_equal(PsGetCurrentProcess(), p);
    KeDetachProcess();
    assert_ptr_equal(PsGetCurrentProcess(), home);
    KeDetachProcess(); /* not attached: nothing */
    KeAttachProcess(&home->Pcb); /* own process: nothing */
    assert_false(KeIsAttachedProcess());
    KeDetachProcess();

    /* Detaching with nothing attached is a bug. */
    KAPC_STATE bogus;
    bogus.Process = NULL;
    expect_bugcheck(INVALID_PROCESS_DETACH_ATTEMPT, KeUnstackDetachProcess(&bogus));

    /* Detaching with an APC of the attached environment still queued. */
    static KAPC apc;
    KeStackAttachProcess(&p->Pcb, &s);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeInitializeApc(&apc, KeGetCurrentThread(), CurrentApcEnvironment, count_apc, NULL, NULL, KernelMode, NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    expect_bugcheck(INVALID_PROCESS_DETACH_ATTEMPT, KeUnstackDetachProcess(&s));
    assert_true(KeRemoveQueueApc(&apc));
    KeUnstackDetachProcess(&s);
    KeLowerIrql(old);
    assert_ptr_equal(PsGetCurrentProcess(), home);
    ObDereferenceObject(p);
}

static void open_by_client_id(void **state)
{
    (void)state;
    static QUERY_CTX q;
    RtlZeroMemory(&q, sizeof(q));
    KeInitializeEvent(&q.Go, NotificationEvent, FALSE);
    HANDLE th;
    CLIENT_ID cid;
    PETHREAD t = start_thread(query_thread, &q, &th, &cid);

    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    HANDLE h;
    CLIENT_ID byProcess = {(HANDLE)4, NULL};
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, &byProcess), STATUS_SUCCESS);
    PROCESS_BASIC_INFORMATION pbi;
    ULONG ret = 0;
    assert_int_equal(ZwQueryInformationProcess(h, ProcessBasicInformation, &pbi, sizeof(pbi), &ret), STATUS_SUCCESS);
    assert_int_equal(ret, sizeof(pbi));
    assert_int_equal(pbi.UniqueProcessId, 4);
    assert_int_equal(pbi.ExitStatus, STATUS_PENDING);
    assert_null(pbi.PebBaseAddress);
    assert_int_equal(pbi.AffinityMask, PsInitialSystemProcess->Pcb.Affinity);
    assert_int_equal(ZwQueryInformationProcess(h, ProcessBasicInformation, &pbi, sizeof(pbi) - 1, &ret),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ret, sizeof(pbi));
    assert_int_equal(ZwQueryInformationProcess(h, (PROCESSINFOCLASS)99, &pbi, sizeof(pbi), &ret),
                     STATUS_INVALID_INFO_CLASS);
    PROCESS_SESSION_INFORMATION psi;
    assert_int_equal(ZwQueryInformationProcess(h, ProcessSessionInformation, &psi, sizeof(psi), NULL),
                     STATUS_SUCCESS);
    assert_int_equal(psi.SessionId, 0);
    KERNEL_USER_TIMES kut;
    assert_int_equal(ZwQueryInformationProcess(h, ProcessTimes, &kut, sizeof(kut), NULL), STATUS_SUCCESS);
    assert_int_equal(kut.CreateTime.QuadPart, PsInitialSystemProcess->CreateTime.QuadPart);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* By thread id, with and without the right process id. */
    CLIENT_ID byThread = {NULL, cid.UniqueThread};
    assert_int_equal(ZwOpenThread(&h, THREAD_QUERY_INFORMATION, &oa, &byThread), STATUS_SUCCESS);
    THREAD_BASIC_INFORMATION tbi;
    assert_int_equal(ZwQueryInformationThread(h, ThreadBasicInformation, &tbi, sizeof(tbi), &ret), STATUS_SUCCESS);
    assert_ptr_equal(tbi.ClientId.UniqueThread, cid.UniqueThread);
    assert_ptr_equal(tbi.ClientId.UniqueProcess, (HANDLE)4);
    assert_int_equal(tbi.ExitStatus, STATUS_PENDING);
    assert_int_equal(tbi.BasePriority, 8);
    assert_int_equal(ZwQueryInformationThread(h, ThreadTimes, &kut, sizeof(kut), NULL), STATUS_SUCCESS);
    assert_int_equal(kut.CreateTime.QuadPart, PsGetThreadCreateTime(t));
    assert_int_equal(ZwQueryInformationThread(h, ThreadBasicInformation, &tbi, 8, &ret),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, &byThread), STATUS_SUCCESS);
    assert_int_equal(ZwQueryInformationProcess(h, ProcessBasicInformation, &pbi, sizeof(pbi), NULL), STATUS_SUCCESS);
    assert_int_equal(pbi.UniqueProcessId, 4);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    CLIENT_ID wrongProcess = {(HANDLE)8, cid.UniqueThread};
    assert_int_equal(ZwOpenThread(&h, THREAD_QUERY_INFORMATION, &oa, &wrongProcess), STATUS_INVALID_CID);

    /* Invalid combinations and ids. */
    CLIENT_ID none = {(HANDLE)0x7FFFFFF0, NULL};
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, &none), STATUS_INVALID_CID);
    assert_int_equal(ZwOpenThread(&h, THREAD_QUERY_INFORMATION, &oa, &byProcess), STATUS_INVALID_CID);
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, NULL), STATUS_INVALID_PARAMETER_MIX);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"\\NoSuchProcess");
    OBJECT_ATTRIBUTES named;
    InitializeObjectAttributes(&named, &name, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &named, &byProcess), STATUS_INVALID_PARAMETER_MIX);
    assert_int_equal(ZwOpenProcess(NULL, PROCESS_QUERY_INFORMATION, &oa, &byProcess), STATUS_INVALID_PARAMETER);
    /* A process handle is not a thread handle. */
    assert_int_equal(ZwOpenProcess(&h, PROCESS_QUERY_INFORMATION, &oa, &byProcess), STATUS_SUCCESS);
    assert_int_equal(ZwQueryInformationThread(h, ThreadBasicInformation, &tbi, sizeof(tbi), NULL),
                     STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    KeSetEvent(&q.Go, 0, FALSE);
    assert_int_equal(KeWaitForSingleObject(t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwOpenThread(&h, THREAD_QUERY_INFORMATION, &oa, &byThread), STATUS_SUCCESS);
    assert_int_equal(ZwQueryInformationThread(h, ThreadBasicInformation, &tbi, sizeof(tbi), NULL), STATUS_SUCCESS);
    assert_int_equal(tbi.ExitStatus, (NTSTATUS)0x1234);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    ObDereferenceObject(t);
    assert_int_equal(ZwClose(th), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(thread_and_process_accessors),
    cmocka_unit_test(lookups_invalid),
    cmocka_unit_test(version),
    cmocka_unit_test(stack_attach),
    cmocka_unit_test(classic_attach_and_misuse),
    cmocka_unit_test(open_by_client_id),
};

NTOS_TEST_GROUP(ps_query, tests, NULL, NULL);
