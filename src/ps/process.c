/*
 * Process objects: the System process, process creation for the kernel,
 * lookups by id, and primary tokens.
 *
 * The System process lives in static storage with an object header in
 * front, because its KPROCESS is where the boot thread belongs before any
 * allocator exists (Ke refers to it as KiSystemProcess). PsInitSystem stamps
 * the header once the process type exists; the object is permanent.
 *
 * IRQL: PASSIVE_LEVEL except the PsGetCurrent and PsGet...Id accessors (any IRQL) and the
 * token references (<= APC_LEVEL).
 */
#include "psp.h"

typedef struct DECLSPEC_ALIGN(16) _PSP_STATIC_PROCESS {
    UCHAR Header[FIELD_OFFSET(OBJECT_HEADER, Body)];
    EPROCESS Process;
} PSP_STATIC_PROCESS;
_Static_assert(offsetof(PSP_STATIC_PROCESS, Process) == FIELD_OFFSET(OBJECT_HEADER, Body), "body after header");

static PSP_STATIC_PROCESS PspSystemProcessStorage;
KPROCESS *const KiSystemProcessPointer = &PspSystemProcessStorage.Process.Pcb;
PEPROCESS PsInitialSystemProcess = &PspSystemProcessStorage.Process;

POBJECT_TYPE PsProcessType;
POBJECT_TYPE PsThreadType;
PHANDLE_TABLE PspCidTable;
LIST_ENTRY PspActiveProcessHead;
KSPIN_LOCK PspActiveProcessLock;

static const GENERIC_MAPPING PspProcessMapping = {
    STANDARD_RIGHTS_READ | PROCESS_VM_READ | PROCESS_QUERY_INFORMATION,
    STANDARD_RIGHTS_WRITE | PROCESS_CREATE_PROCESS | PROCESS_CREATE_THREAD | PROCESS_VM_OPERATION |
        PROCESS_VM_WRITE | PROCESS_DUP_HANDLE | PROCESS_TERMINATE | PROCESS_SET_QUOTA | PROCESS_SET_INFORMATION |
        PROCESS_SUSPEND_RESUME,
    STANDARD_RIGHTS_EXECUTE | SYNCHRONIZE,
    PROCESS_ALL_ACCESS,
};

HANDLE PspCreateCid(PVOID Object)
{
    HANDLE_TABLE_ENTRY e = {0};
    e.Value = (ULONG_PTR)Object;
    return ExCreateHandle(PspCidTable, &e);
}

VOID PspDeleteCid(HANDLE Id)
{
    if (Id == NULL)
        return;
    KeEnterCriticalRegion();
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(PspCidTable, Id);
    if (e != NULL)
        ExDestroyHandle(PspCidTable, Id, e);
    KeLeaveCriticalRegion();
}

/* Finds the object behind a client id and references it unless it is dying. */
static PVOID PspLookupCid(HANDLE Id, POBJECT_TYPE Type)
{
    if (Id == NULL || PspCidTable == NULL)
        return NULL;
    PVOID object = NULL;
    KeEnterCriticalRegion();
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(PspCidTable, Id);
    if (e != NULL) {
        PVOID candidate = (PVOID)(__atomic_load_n(&e->Value, __ATOMIC_RELAXED) & HANDLE_ENTRY_POINTER_MASK);
        if (ObGetObjectType(candidate) == Type && ObReferenceObjectSafe(candidate))
            object = candidate;
        ExUnlockHandleTableEntry(PspCidTable, e);
    }
    KeLeaveCriticalRegion();
    return object;
}

NTSTATUS NTAPI PsLookupProcessByProcessId(HANDLE ProcessId, PEPROCESS *Process)
{
    if (Process == NULL)
        return STATUS_INVALID_PARAMETER;
    PEPROCESS p = PspLookupCid(ProcessId, PsProcessType);
    *Process = p;
    if (p == NULL)
        return STATUS_INVALID_PARAMETER; /* Windows' answer for an unknown id */
    if (p->Exiting && p != PsInitialSystemProcess) {
        ObDereferenceObject(p);
        *Process = NULL;
        return STATUS_PROCESS_IS_TERMINATING;
    }
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI PsLookupThreadByThreadId(HANDLE ThreadId, PETHREAD *Thread)
{
    if (Thread == NULL)
        return STATUS_INVALID_PARAMETER;
    PETHREAD t = PspLookupCid(ThreadId, PsThreadType);
    *Thread = t;
    return t != NULL ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
}

PEPROCESS NTAPI IoGetCurrentProcess(void)
{
    return PsGetCurrentProcess();
}

HANDLE NTAPI PsGetCurrentProcessId(void)
{
    return PsGetCurrentProcess()->UniqueProcessId;
}

HANDLE NTAPI PsGetProcessId(PEPROCESS Process)
{
    return Process->UniqueProcessId;
}

/* ---- tokens -------------------------------------------------------------------------------- */

PACCESS_TOKEN NTAPI PsReferencePrimaryToken(PEPROCESS Process)
{
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&Process->ProcessLock);
    PACCESS_TOKEN token = Process->Token;
    if (token != NULL)
        ObfReferenceObject(token);
    ExReleasePushLockShared(&Process->ProcessLock);
    KeLeaveCriticalRegion();
    return token;
}

VOID NTAPI PsDereferencePrimaryToken(PACCESS_TOKEN PrimaryToken)
{
    if (PrimaryToken != NULL)
        ObDereferenceObject(PrimaryToken);
}

/* ---- process objects ------------------------------------------------------------------------ */

VOID NTAPI PspDeleteProcess(PVOID Object)
{
    PEPROCESS p = Object;
    /* The process ends with its object: the exit notification goes out while
     * its id is still allocated, to the routines that saw it created. */
    if (p->CreateReported)
        PspNotifyProcessExit(p);
    if (p->ActiveProcessLinks.Flink != NULL) {
        KIRQL irql;
        KeAcquireSpinLock(&PspActiveProcessLock, &irql);
        RemoveEntryList(&p->ActiveProcessLinks);
        KeReleaseSpinLock(&PspActiveProcessLock, irql);
    }
    PspDeleteCid(p->UniqueProcessId);
    ObpKillProcessHandleTable(p);
    if (p->Token != NULL)
        ObDereferenceObject(p->Token);
}

static VOID PspInitializeProcessFields(PEPROCESS Process)
{
    ExInitializePushLock(&Process->ProcessLock);
    ExInitializeRundownProtection(&Process->RundownProtect);
    InitializeListHead(&Process->ThreadListHead);
    KeQuerySystemTime(&Process->CreateTime);
}

NTSTATUS PsCreateProcessInternal(PACCESS_TOKEN Token, PEPROCESS *Process)
{
    if (Process == NULL)
        return STATUS_INVALID_PARAMETER;
    *Process = NULL;
    PEPROCESS p;
    NTSTATUS status = ObCreateObject(KernelMode, PsProcessType, NULL, KernelMode, NULL, sizeof(EPROCESS), 0, 0,
                                     (PVOID *)&p);
    if (!NT_SUCCESS(status))
        return status;
    KeInitializeProcess(&p->Pcb, 8, PsInitialSystemProcess->Pcb.Affinity);
    PspInitializeProcessFields(p);
    p->InheritedFromUniqueProcessId = PsGetCurrentProcessId();
    p->SessionId = PsGetCurrentProcess()->SessionId;
    p->Token = Token != NULL ? Token : PsReferencePrimaryToken(PsGetCurrentProcess());
    if (Token != NULL)
        ObfReferenceObject(Token);
    status = ObpInitializeProcessHandleTable(p);
    if (NT_SUCCESS(status)) {
        p->UniqueProcessId = PspCreateCid(p);
        if (p->UniqueProcessId == NULL)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(p); /* the delete procedure undoes what was done */
        return status;
    }
    KIRQL irql;
    KeAcquireSpinLock(&PspActiveProcessLock, &irql);
    InsertTailList(&PspActiveProcessHead, &p->ActiveProcessLinks);
    KeReleaseSpinLock(&PspActiveProcessLock, irql);
    PVOID inserted;
    status = ObInsertObject(p, NULL, PROCESS_ALL_ACCESS, 0, &inserted, NULL);
    if (!NT_SUCCESS(status))
        return status;
    /* Create notification once the process is complete; an Ex routine may
     * refuse it, and then the process goes away again (without an exit
     * notification, as it never started). */
    status = PspNotifyProcessCreate(p);
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(inserted);
        return status;
    }
    p->CreateReported = TRUE;
    *Process = inserted;
    return STATUS_SUCCESS;
}

NTSTATUS PsInitSystem(void)
{
    KeInitializeSpinLock(&PspActiveProcessLock);
    InitializeListHead(&PspActiveProcessHead);
    PspInitializeNotify();
    PspCidTable = ExCreateHandleTable(NULL);
    if (PspCidTable == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;

    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.GenericMapping = PspProcessMapping;
    init.ValidAccessMask = PROCESS_ALL_ACCESS;
    init.DeleteProcedure = PspDeleteProcess;
    init.SupportsObjectCallbacks = 1; /* ObRegisterCallbacks */
    init.InvalidAttributes = OBJ_PERMANENT | OBJ_OPENLINK;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Process");
    NTSTATUS status = ObCreateObjectType(&name, &init, NULL, &PsProcessType);
    if (!NT_SUCCESS(status))
        return status;
    status = PspInitializeThreadType();
    if (!NT_SUCCESS(status))
        return status;

    /* The System process: Ke initialised its Pcb at boot; Ob gave it its
     * handle table; now it becomes an object with an id and a token. */
    PEPROCESS sys = PsInitialSystemProcess;
    ObpInitializeStaticObject((POBJECT_HEADER)PspSystemProcessStorage.Header, PsProcessType);
    PspInitializeProcessFields(sys);
    sys->SystemProcess = TRUE;
    sys->SessionId = PSP_NO_SESSION;
    RtlCopyMemory(sys->ImageFileName, "System", 7);
    sys->Token = SeReferenceSystemToken();
    sys->UniqueProcessId = PspCreateCid(sys); /* 4, as on Windows: the first id after 0 */
    KIRQL irql;
    KeAcquireSpinLock(&PspActiveProcessLock, &irql);
    InsertTailList(&PspActiveProcessHead, &sys->ActiveProcessLinks);
    KeReleaseSpinLock(&PspActiveProcessLock, irql);
    return sys->UniqueProcessId != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}
