/*
 * Process, thread and image notify routines.
 *
 * Each kind is a fixed array of EX_CALLBACK slots (64 each, NT's limits).
 * Callers reference a slot's block, call the routine and dereference it, with
 * no lock; registration and removal are serialised by PspNotifyLock (a fast
 * mutex, PASSIVE_LEVEL) so that the "already registered" check and the slot
 * choice are atomic, and removal waits on the block's rundown protection for
 * callers still inside the routine before freeing it.
 *
 * The block's Context holds the routine's flavour (PSP_NOTIFY_*), so that one
 * array holds the classic and the Ex process routines in registration order,
 * as on NT.
 *
 * Return codes, as documented: process routines STATUS_INVALID_PARAMETER
 * when already registered or when all 64 slots are taken (and when removing
 * an unregistered routine); thread and image routines
 * STATUS_INSUFFICIENT_RESOURCES when full, STATUS_PROCEDURE_NOT_FOUND when
 * removing an unregistered routine.
 *
 * Routines run at PASSIVE_LEVEL inside a critical region (normal kernel APCs
 * disabled), as NT calls them.
 */
#include "psp.h"
#include <ntos/ex_callback.h>

#define PSP_NOTIFY_CLASSIC 0x1     /* PCREATE_PROCESS_NOTIFY_ROUTINE / thread / image classic */
#define PSP_NOTIFY_EX 0x2          /* PCREATE_PROCESS_NOTIFY_ROUTINE_EX */
#define PSP_NOTIFY_SUBSYSTEMS 0x4  /* Ex2 / thread Ex with the Subsystems type */
#define PSP_NOTIFY_NONSYSTEM 0x8   /* thread Ex with the NonSystem type */
#define PSP_NOTIFY_CONFLICTING 0x10 /* image Ex with PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE */

static EX_CALLBACK PspCreateProcessNotifyRoutine[PSP_MAX_CREATE_PROCESS_NOTIFY];
static EX_CALLBACK PspCreateThreadNotifyRoutine[PSP_MAX_CREATE_THREAD_NOTIFY];
static EX_CALLBACK PspLoadImageNotifyRoutine[PSP_MAX_LOAD_IMAGE_NOTIFY];
static FAST_MUTEX PspNotifyLock;

VOID PspInitializeNotify(void)
{
    ExInitializeFastMutex(&PspNotifyLock);
}

static VOID PspLockNotify(void)
{
    ExAcquireFastMutex(&PspNotifyLock);
}

static VOID PspUnlockNotify(void)
{
    ExReleaseFastMutex(&PspNotifyLock);
}

/* Under PspNotifyLock: the slot holding Function with one of the flavours in Mask. */
static LONG PspFindRoutine(PEX_CALLBACK Array, ULONG Count, PVOID Function, ULONG_PTR Mask,
                           PEX_CALLBACK_ROUTINE_BLOCK *Block)
{
    for (ULONG i = 0; i < Count; i++) {
        PEX_CALLBACK_ROUTINE_BLOCK b = ExReferenceCallBackBlock(&Array[i]);
        if (b == NULL)
            continue;
        BOOLEAN match = b->Function == Function && ((ULONG_PTR)b->Context & Mask) != 0;
        ExDereferenceCallBackBlock(&Array[i], b);
        if (match) {
            *Block = b; /* stays valid: only a holder of PspNotifyLock removes it */
            return (LONG)i;
        }
    }
    return -1;
}

static NTSTATUS PspAddRoutine(PEX_CALLBACK Array, ULONG Count, PVOID Function, ULONG_PTR Flavour,
                              ULONG_PTR DuplicateMask, NTSTATUS FullStatus)
{
    if (Function == NULL)
        return STATUS_INVALID_PARAMETER;
    PEX_CALLBACK_ROUTINE_BLOCK block = ExAllocateCallBack(Function, (PVOID)Flavour);
    if (block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PspLockNotify();
    PEX_CALLBACK_ROUTINE_BLOCK existing;
    NTSTATUS status = FullStatus;
    if (DuplicateMask != 0 && PspFindRoutine(Array, Count, Function, DuplicateMask, &existing) >= 0) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        for (ULONG i = 0; i < Count; i++) {
            if (ExCompareExchangeCallBack(&Array[i], block, NULL)) {
                status = STATUS_SUCCESS;
                break;
            }
        }
    }
    PspUnlockNotify();
    if (!NT_SUCCESS(status))
        ExFreeCallBack(block);
    return status;
}

static NTSTATUS PspRemoveRoutine(PEX_CALLBACK Array, ULONG Count, PVOID Function, ULONG_PTR Mask,
                                 NTSTATUS NotFoundStatus)
{
    PspLockNotify();
    PEX_CALLBACK_ROUTINE_BLOCK block = NULL;
    LONG slot = PspFindRoutine(Array, Count, Function, Mask, &block);
    if (slot >= 0)
        ExCompareExchangeCallBack(&Array[slot], NULL, block);
    PspUnlockNotify();
    if (slot < 0)
        return NotFoundStatus;
    /* Documented: removal returns only once no call of the routine is in flight. */
    ExWaitForCallBacks(block);
    ExFreeCallBack(block);
    return STATUS_SUCCESS;
}

/* ---- process --------------------------------------------------------------------------------- */

NTSTATUS NTAPI PsSetCreateProcessNotifyRoutine(PCREATE_PROCESS_NOTIFY_ROUTINE NotifyRoutine, BOOLEAN Remove)
{
    if (Remove)
        return PspRemoveRoutine(PspCreateProcessNotifyRoutine, PSP_MAX_CREATE_PROCESS_NOTIFY, (PVOID)NotifyRoutine,
                                PSP_NOTIFY_CLASSIC, STATUS_INVALID_PARAMETER);
    return PspAddRoutine(PspCreateProcessNotifyRoutine, PSP_MAX_CREATE_PROCESS_NOTIFY, (PVOID)NotifyRoutine,
                         PSP_NOTIFY_CLASSIC, PSP_NOTIFY_CLASSIC, STATUS_INVALID_PARAMETER);
}

static NTSTATUS PspSetProcessNotifyEx(PVOID Routine, BOOLEAN Remove, ULONG_PTR Flavour)
{
    /* NT also demands IMAGE_DLLCHARACTERISTICS_FORCE_INTEGRITY of the
     * caller's image (STATUS_ACCESS_DENIED); ntos does not sign images. */
    if (Remove)
        return PspRemoveRoutine(PspCreateProcessNotifyRoutine, PSP_MAX_CREATE_PROCESS_NOTIFY, Routine, Flavour,
                                STATUS_INVALID_PARAMETER);
    return PspAddRoutine(PspCreateProcessNotifyRoutine, PSP_MAX_CREATE_PROCESS_NOTIFY, Routine, Flavour, Flavour,
                         STATUS_INVALID_PARAMETER);
}

NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx(PCREATE_PROCESS_NOTIFY_ROUTINE_EX NotifyRoutine, BOOLEAN Remove)
{
    return PspSetProcessNotifyEx((PVOID)NotifyRoutine, Remove, PSP_NOTIFY_EX);
}

NTSTATUS NTAPI PsSetCreateProcessNotifyRoutineEx2(PSCREATEPROCESSNOTIFYTYPE NotifyType, PVOID NotifyInformation,
                                                  BOOLEAN Remove)
{
    if (NotifyType != PsCreateProcessNotifySubsystems)
        return STATUS_INVALID_PARAMETER;
    return PspSetProcessNotifyEx(NotifyInformation, Remove, PSP_NOTIFY_EX | PSP_NOTIFY_SUBSYSTEMS);
}

/* Process create: every routine in slot order. An Ex routine may deny the
 * creation through CreationStatus; the routines after it are not called and
 * the failure is returned. */
NTSTATUS PspNotifyProcessCreate(PEPROCESS Process)
{
    PS_CREATE_NOTIFY_INFO info;
    RtlZeroMemory(&info, sizeof(info));
    info.Size = sizeof(info);
    info.ParentProcessId = Process->InheritedFromUniqueProcessId;
    info.CreatingThreadId.UniqueProcess = PsGetCurrentProcessId();
    info.CreatingThreadId.UniqueThread = PsGetCurrentThreadId();
    info.CreationStatus = STATUS_SUCCESS;
    NTSTATUS status = STATUS_SUCCESS;
    KeEnterCriticalRegion();
    for (ULONG i = 0; i < PSP_MAX_CREATE_PROCESS_NOTIFY && NT_SUCCESS(status); i++) {
        PEX_CALLBACK_ROUTINE_BLOCK b = ExReferenceCallBackBlock(&PspCreateProcessNotifyRoutine[i]);
        if (b == NULL)
            continue;
        if ((ULONG_PTR)b->Context & PSP_NOTIFY_EX) {
            ((PCREATE_PROCESS_NOTIFY_ROUTINE_EX)b->Function)(Process, Process->UniqueProcessId, &info);
            status = info.CreationStatus;
        } else {
            ((PCREATE_PROCESS_NOTIFY_ROUTINE)b->Function)(Process->InheritedFromUniqueProcessId,
                                                          Process->UniqueProcessId, TRUE);
        }
        ExDereferenceCallBackBlock(&PspCreateProcessNotifyRoutine[i], b);
    }
    KeLeaveCriticalRegion();
    return status;
}

VOID PspNotifyProcessExit(PEPROCESS Process)
{
    KeEnterCriticalRegion();
    for (ULONG i = 0; i < PSP_MAX_CREATE_PROCESS_NOTIFY; i++) {
        PEX_CALLBACK_ROUTINE_BLOCK b = ExReferenceCallBackBlock(&PspCreateProcessNotifyRoutine[i]);
        if (b == NULL)
            continue;
        if ((ULONG_PTR)b->Context & PSP_NOTIFY_EX)
            ((PCREATE_PROCESS_NOTIFY_ROUTINE_EX)b->Function)(Process, Process->UniqueProcessId, NULL);
        else
            ((PCREATE_PROCESS_NOTIFY_ROUTINE)b->Function)(Process->InheritedFromUniqueProcessId,
                                                          Process->UniqueProcessId, FALSE);
        ExDereferenceCallBackBlock(&PspCreateProcessNotifyRoutine[i], b);
    }
    KeLeaveCriticalRegion();
}

/* ---- thread ---------------------------------------------------------------------------------- */

NTSTATUS NTAPI PsSetCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    /* NT does not refuse a second registration of a thread routine: it is
     * then called twice. */
    return PspAddRoutine(PspCreateThreadNotifyRoutine, PSP_MAX_CREATE_THREAD_NOTIFY, (PVOID)NotifyRoutine,
                         PSP_NOTIFY_CLASSIC, 0, STATUS_INSUFFICIENT_RESOURCES);
}

NTSTATUS NTAPI PsSetCreateThreadNotifyRoutineEx(PSCREATETHREADNOTIFYTYPE NotifyType, PVOID NotifyInformation)
{
    ULONG_PTR flavour;
    if (NotifyType == PsCreateThreadNotifyNonSystem)
        flavour = PSP_NOTIFY_NONSYSTEM;
    else if (NotifyType == PsCreateThreadNotifySubsystems)
        flavour = PSP_NOTIFY_SUBSYSTEMS;
    else
        return STATUS_INVALID_PARAMETER;
    return PspAddRoutine(PspCreateThreadNotifyRoutine, PSP_MAX_CREATE_THREAD_NOTIFY, NotifyInformation, flavour, 0,
                         STATUS_INSUFFICIENT_RESOURCES);
}

NTSTATUS NTAPI PsRemoveCreateThreadNotifyRoutine(PCREATE_THREAD_NOTIFY_ROUTINE NotifyRoutine)
{
    return PspRemoveRoutine(PspCreateThreadNotifyRoutine, PSP_MAX_CREATE_THREAD_NOTIFY, (PVOID)NotifyRoutine,
                            ~(ULONG_PTR)0, STATUS_PROCEDURE_NOT_FOUND);
}

static VOID PspCallThreadNotify(PETHREAD Thread, BOOLEAN Create)
{
    KeEnterCriticalRegion();
    for (ULONG i = 0; i < PSP_MAX_CREATE_THREAD_NOTIFY; i++) {
        PEX_CALLBACK_ROUTINE_BLOCK b = ExReferenceCallBackBlock(&PspCreateThreadNotifyRoutine[i]);
        if (b == NULL)
            continue;
        ((PCREATE_THREAD_NOTIFY_ROUTINE)b->Function)(Thread->Cid.UniqueProcess, Thread->Cid.UniqueThread, Create);
        ExDereferenceCallBackBlock(&PspCreateThreadNotifyRoutine[i], b);
    }
    KeLeaveCriticalRegion();
}

VOID PspNotifyThreadCreate(PETHREAD Thread)
{
    PspCallThreadNotify(Thread, TRUE);
}

VOID PspNotifyThreadExit(PETHREAD Thread)
{
    PspCallThreadNotify(Thread, FALSE);
}

/* ---- image ----------------------------------------------------------------------------------- */

NTSTATUS NTAPI PsSetLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)
{
    return PspAddRoutine(PspLoadImageNotifyRoutine, PSP_MAX_LOAD_IMAGE_NOTIFY, (PVOID)NotifyRoutine,
                         PSP_NOTIFY_CLASSIC, 0, STATUS_INSUFFICIENT_RESOURCES);
}

NTSTATUS NTAPI PsSetLoadImageNotifyRoutineEx(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine, ULONG_PTR Flags)
{
    if (Flags & ~(ULONG_PTR)PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE)
        return STATUS_INVALID_PARAMETER;
    ULONG_PTR flavour = PSP_NOTIFY_CLASSIC | ((Flags & PS_IMAGE_NOTIFY_CONFLICTING_ARCHITECTURE) ? PSP_NOTIFY_CONFLICTING : 0);
    return PspAddRoutine(PspLoadImageNotifyRoutine, PSP_MAX_LOAD_IMAGE_NOTIFY, (PVOID)NotifyRoutine, flavour, 0,
                         STATUS_INSUFFICIENT_RESOURCES);
}

NTSTATUS NTAPI PsRemoveLoadImageNotifyRoutine(PLOAD_IMAGE_NOTIFY_ROUTINE NotifyRoutine)
{
    return PspRemoveRoutine(PspLoadImageNotifyRoutine, PSP_MAX_LOAD_IMAGE_NOTIFY, (PVOID)NotifyRoutine,
                            ~(ULONG_PTR)0, STATUS_PROCEDURE_NOT_FOUND);
}

VOID PspCallImageNotifyRoutines(PUNICODE_STRING FullImageName, HANDLE ProcessId, PIMAGE_INFO ImageInfo)
{
    KeEnterCriticalRegion();
    for (ULONG i = 0; i < PSP_MAX_LOAD_IMAGE_NOTIFY; i++) {
        PEX_CALLBACK_ROUTINE_BLOCK b = ExReferenceCallBackBlock(&PspLoadImageNotifyRoutine[i]);
        if (b == NULL)
            continue;
        /* An image of another architecture reaches only the routines that asked for those. */
        if (!ImageInfo->MachineTypeMismatch || ((ULONG_PTR)b->Context & PSP_NOTIFY_CONFLICTING))
            ((PLOAD_IMAGE_NOTIFY_ROUTINE)b->Function)(FullImageName, ProcessId, ImageInfo);
        ExDereferenceCallBackBlock(&PspLoadImageNotifyRoutine[i], b);
    }
    KeLeaveCriticalRegion();
}
