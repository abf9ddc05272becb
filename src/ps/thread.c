/*
 * System threads: PsCreateSystemThread / PsTerminateSystemThread, thread
 * objects and impersonation.
 *
 * Lifetime. A running thread holds a reference on its own object, taken
 * before it starts and dropped (deferred, by a worker) just before it leaves
 * through KeTerminateThread. The delete procedure can therefore run while
 * the dying thread is still on its way out; it waits for the thread object
 * to be signaled (the thread is off its stack for good) before freeing the
 * stack. A thread object also references its process.
 *
 * IRQL: PASSIVE_LEVEL.
 */
#include "psp.h"
#include "io/iop.h"

#define PSP_SYSTEM_THREAD_STACK (64 * 1024)

static const GENERIC_MAPPING PspThreadMapping = {
    STANDARD_RIGHTS_READ | THREAD_GET_CONTEXT | THREAD_QUERY_INFORMATION,
    STANDARD_RIGHTS_WRITE | THREAD_TERMINATE | THREAD_SUSPEND_RESUME | THREAD_ALERT | THREAD_SET_INFORMATION |
        THREAD_SET_CONTEXT,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    THREAD_ALL_ACCESS,
};

BOOLEAN PsIsExecutiveThread(PKTHREAD Thread)
{
    return Thread != NULL && Thread->ExecutiveThread;
}

HANDLE NTAPI PsGetCurrentThreadId(void)
{
    PKTHREAD t = KeGetCurrentThread();
    return t->ExecutiveThread ? ((PETHREAD)t)->Cid.UniqueThread : NULL;
}

HANDLE NTAPI PsGetThreadId(PETHREAD Thread)
{
    return Thread->Cid.UniqueThread;
}

HANDLE NTAPI PsGetThreadProcessId(PETHREAD Thread)
{
    return Thread->Cid.UniqueProcess;
}

PEPROCESS NTAPI PsGetThreadProcess(PETHREAD Thread)
{
    return (PEPROCESS)Thread->Tcb.Process;
}

BOOLEAN NTAPI PsIsSystemThread(PETHREAD Thread)
{
    return Thread->Tcb.SystemThread;
}

BOOLEAN NTAPI PsIsThreadTerminating(PETHREAD Thread)
{
    return Thread->Tcb.ExecutiveThread ? Thread->Terminated : Thread->Tcb.Terminating;
}

VOID NTAPI PspDeleteThread(PVOID Object)
{
    PETHREAD t = Object;
    if (t->Tcb.State != Initialized) {
        /* Started: wait until it has left its stack for good. */
        KeWaitForSingleObject(&t->Tcb, Executive, KernelMode, FALSE, NULL);
    }
    KeDeleteThread(&t->Tcb);
    PspDeleteCid(t->Cid.UniqueThread);
    PEPROCESS p = (PEPROCESS)t->Tcb.Process;
    if (t->ThreadListEntry.Flink != NULL) {
        KeEnterCriticalRegion();
        ExAcquirePushLockExclusive(&p->ProcessLock);
        RemoveEntryList(&t->ThreadListEntry);
        p->ActiveThreads--;
        ExReleasePushLockExclusive(&p->ProcessLock);
        KeLeaveCriticalRegion();
    }
    if (t->ImpersonationToken != NULL)
        ObDereferenceObject(t->ImpersonationToken);
    if (p != NULL && p != PsInitialSystemProcess)
        ObDereferenceObject(p);
}

NTSTATUS PspInitializeThreadType(void)
{
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = PspThreadMapping;
    init.ValidAccessMask = THREAD_ALL_ACCESS;
    init.DeleteProcedure = PspDeleteThread;
    init.SupportsObjectCallbacks = 1; /* ObRegisterCallbacks */
    init.InvalidAttributes = OBJ_PERMANENT | OBJ_OPENLINK;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Thread");
    return ObCreateObjectType(&name, &init, NULL, &PsThreadType);
}

static VOID NTAPI PspSystemThreadStartup(PVOID Context)
{
    PETHREAD t = Context;
    t->StartAddress(t->StartContext);
    /* Returning from a system thread's routine is an implicit successful exit. */
    PsTerminateSystemThread(STATUS_SUCCESS);
}

NTSTATUS NTAPI PsCreateSystemThread(PHANDLE ThreadHandle, ULONG DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                    HANDLE ProcessHandle, PCLIENT_ID ClientId, PKSTART_ROUTINE StartRoutine,
                                    PVOID StartContext)
{
    if (ThreadHandle == NULL || StartRoutine == NULL)
        return STATUS_INVALID_PARAMETER;
    *ThreadHandle = NULL;
    PEPROCESS process = PsInitialSystemProcess;
    NTSTATUS status;
    if (ProcessHandle != NULL) {
        status = ObReferenceObjectByHandle(ProcessHandle, PROCESS_CREATE_THREAD, PsProcessType, KernelMode,
                                           (PVOID *)&process, NULL);
        if (!NT_SUCCESS(status))
            return status;
    }
    PETHREAD t;
    status = ObCreateObject(KernelMode, PsThreadType, ObjectAttributes, KernelMode, NULL, sizeof(ETHREAD), 0, 0,
                            (PVOID *)&t);
    if (!NT_SUCCESS(status)) {
        if (process != PsInitialSystemProcess)
            ObDereferenceObject(process);
        return status;
    }
    t->StartAddress = StartRoutine;
    t->StartContext = StartContext;
    ExInitializePushLock(&t->ThreadLock);
    ExInitializeRundownProtection(&t->RundownProtect);
    InitializeListHead(&t->IrpList);
    status = KeInitializeThread(&t->Tcb, &process->Pcb, PSP_SYSTEM_THREAD_STACK, PspSystemThreadStartup, t, 8);
    if (!NT_SUCCESS(status)) {
        /* The delete procedure must not drop the process reference too. */
        t->Tcb.Process = NULL;
        if (process != PsInitialSystemProcess)
            ObDereferenceObject(process);
        ObDereferenceObject(t);
        return status;
    }
    t->Tcb.ExecutiveThread = TRUE;
    t->Tcb.SystemThread = TRUE;
    KeQuerySystemTime(&t->CreateTime);
    t->Cid.UniqueProcess = process->UniqueProcessId;
    t->Cid.UniqueThread = PspCreateCid(t);
    if (t->Cid.UniqueThread == NULL) {
        ObDereferenceObject(t);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&process->ProcessLock);
    InsertTailList(&process->ThreadListHead, &t->ThreadListEntry);
    process->ActiveThreads++;
    ExReleasePushLockExclusive(&process->ProcessLock);
    KeLeaveCriticalRegion();

    /* One extra reference for the running thread itself. */
    PVOID self = NULL;
    status = ObInsertObject(t, NULL, DesiredAccess, 1, &self, ThreadHandle);
    if (!NT_SUCCESS(status))
        return status; /* the insert consumed the object; it never ran */
    if (ClientId != NULL)
        *ClientId = t->Cid;
    /* Thread-create routines run in the creator's context before the thread does. */
    PspNotifyThreadCreate(t);
    KeStartThread(&t->Tcb);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI PsTerminateSystemThread(NTSTATUS ExitStatus)
{
    PKTHREAD kt = KeGetCurrentThread();
    if (!kt->ExecutiveThread || !kt->SystemThread)
        return STATUS_INVALID_PARAMETER;
    PETHREAD t = (PETHREAD)kt;
    /* Thread-exit routines run in the exiting thread's context. */
    PspNotifyThreadExit(t);
    /* Outstanding I/O is cancelled while the thread can still take the
     * completion APCs. */
    IopCancelThreadIo();
    t->Terminated = TRUE;
    KeQuerySystemTime(&t->ExitTime);
    if (t->ImpersonationToken != NULL)
        PsRevertToSelf();
    /* The object may be deleted as soon as this reference is gone, but the
     * delete procedure waits for the signal KeTerminateThread gives. */
    ObDereferenceObjectDeferDelete(t);
    KeTerminateThread(ExitStatus);
}

/* ---- impersonation ------------------------------------------------------------------------- */

PACCESS_TOKEN NTAPI PsReferenceImpersonationToken(PETHREAD Thread, PBOOLEAN CopyOnOpen, PBOOLEAN EffectiveOnly,
                                                  PSECURITY_IMPERSONATION_LEVEL ImpersonationLevel)
{
    if (Thread == NULL || !Thread->Tcb.ExecutiveThread)
        return NULL;
    PACCESS_TOKEN token = NULL;
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&Thread->ThreadLock);
    if (Thread->ActiveImpersonationInfo && Thread->ImpersonationToken != NULL) {
        token = Thread->ImpersonationToken;
        ObfReferenceObject(token);
        if (CopyOnOpen != NULL)
            *CopyOnOpen = Thread->CopyOnOpen;
        if (EffectiveOnly != NULL)
            *EffectiveOnly = Thread->EffectiveOnly;
        if (ImpersonationLevel != NULL)
            *ImpersonationLevel = Thread->ImpersonationLevel;
    }
    ExReleasePushLockShared(&Thread->ThreadLock);
    KeLeaveCriticalRegion();
    return token;
}

VOID NTAPI PsDereferenceImpersonationToken(PACCESS_TOKEN ImpersonationToken)
{
    if (ImpersonationToken != NULL)
        ObDereferenceObject(ImpersonationToken);
}

NTSTATUS NTAPI PsImpersonateClient(PETHREAD Thread, PACCESS_TOKEN Token, BOOLEAN CopyOnOpen, BOOLEAN EffectiveOnly,
                                   SECURITY_IMPERSONATION_LEVEL ImpersonationLevel)
{
    if (Thread == NULL || !Thread->Tcb.ExecutiveThread)
        return STATUS_INVALID_PARAMETER;
    if (Token != NULL)
        ObfReferenceObject(Token);
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&Thread->ThreadLock);
    PACCESS_TOKEN old = Thread->ImpersonationToken;
    Thread->ImpersonationToken = Token;
    Thread->ActiveImpersonationInfo = Token != NULL;
    Thread->CopyOnOpen = CopyOnOpen;
    Thread->EffectiveOnly = EffectiveOnly;
    Thread->ImpersonationLevel = ImpersonationLevel;
    ExReleasePushLockExclusive(&Thread->ThreadLock);
    KeLeaveCriticalRegion();
    if (old != NULL)
        ObDereferenceObject(old);
    return STATUS_SUCCESS;
}

VOID NTAPI PsRevertToSelf(void)
{
    PKTHREAD kt = KeGetCurrentThread();
    if (kt->ExecutiveThread)
        PsImpersonateClient((PETHREAD)kt, NULL, FALSE, FALSE, SecurityAnonymous);
}
