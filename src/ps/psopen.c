/*
 * Opening processes and threads by client id, and the basic information
 * classes of ZwQueryInformationProcess / ZwQueryInformationThread.
 *
 * IRQL: PASSIVE_LEVEL. No Ps lock is held across the Ob calls.
 */
#include "psp.h"
#include <ntos/ex_lists.h>

#ifndef STATUS_INVALID_CID
#define STATUS_INVALID_CID ((NTSTATUS)0xC000000BL)
#endif

/* Finds the object named by a CLIENT_ID: the thread (which must belong to
 * UniqueProcess, if that is given) or, for a process open without a thread
 * id, the process. Referenced. */
static NTSTATUS PspReferenceByClientId(PCLIENT_ID ClientId, BOOLEAN WantThread, PVOID *Object)
{
    if (ClientId->UniqueThread != NULL) {
        PETHREAD t;
        if (!NT_SUCCESS(PsLookupThreadByThreadId(ClientId->UniqueThread, &t)))
            return STATUS_INVALID_CID;
        if (ClientId->UniqueProcess != NULL && ClientId->UniqueProcess != t->Cid.UniqueProcess) {
            ObDereferenceObject(t);
            return STATUS_INVALID_CID;
        }
        if (WantThread) {
            *Object = t;
        } else {
            PEPROCESS p = PsGetThreadProcess(t);
            ObfReferenceObject(p);
            ObDereferenceObject(t);
            *Object = p;
        }
        return STATUS_SUCCESS;
    }
    if (WantThread)
        return STATUS_INVALID_CID;
    PEPROCESS p;
    NTSTATUS status = PsLookupProcessByProcessId(ClientId->UniqueProcess, &p);
    if (status == STATUS_INVALID_PARAMETER)
        return STATUS_INVALID_CID;
    if (NT_SUCCESS(status))
        *Object = p;
    return status;
}

static NTSTATUS PspOpen(PHANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                        PCLIENT_ID ClientId, BOOLEAN Thread, KPROCESSOR_MODE PreviousMode)
{
    if (Handle == NULL || ObjectAttributes == NULL)
        return STATUS_INVALID_PARAMETER;
    POBJECT_TYPE type = Thread ? PsThreadType : PsProcessType;
    BOOLEAN named = ObjectAttributes->ObjectName != NULL;
    /* Either a name or a client id, never both, never neither. */
    if (named == (ClientId != NULL))
        return STATUS_INVALID_PARAMETER_MIX;
    HANDLE h = NULL;
    NTSTATUS status;
    if (named) {
        status = ObOpenObjectByName(ObjectAttributes, type, PreviousMode, NULL, DesiredAccess, NULL, &h);
    } else {
        PVOID object;
        status = PspReferenceByClientId(ClientId, Thread, &object);
        if (!NT_SUCCESS(status))
            return status;
        status = ObOpenObjectByPointer(object, ObjectAttributes->Attributes, NULL, DesiredAccess, type, PreviousMode,
                                       &h);
        ObDereferenceObject(object);
    }
    if (NT_SUCCESS(status))
        *Handle = h;
    return status;
}

NTSTATUS NTAPI ZwOpenProcess(PHANDLE ProcessHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             PCLIENT_ID ClientId)
{
    return PspOpen(ProcessHandle, DesiredAccess, ObjectAttributes, ClientId, FALSE, KernelMode);
}

NTSTATUS NTAPI NtOpenProcess(PHANDLE ProcessHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                             PCLIENT_ID ClientId)
{
    return PspOpen(ProcessHandle, DesiredAccess, ObjectAttributes, ClientId, FALSE, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenThread(PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                            PCLIENT_ID ClientId)
{
    return PspOpen(ThreadHandle, DesiredAccess, ObjectAttributes, ClientId, TRUE, KernelMode);
}

NTSTATUS NTAPI NtOpenThread(PHANDLE ThreadHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                            PCLIENT_ID ClientId)
{
    return PspOpen(ThreadHandle, DesiredAccess, ObjectAttributes, ClientId, TRUE, ExGetPreviousMode());
}

/* ---- information ------------------------------------------------------------------------- */

/* Fixed-size classes: exactly the structure's size, as NT requires. */
static NTSTATUS PspCopyOut(PVOID Buffer, ULONG Length, PULONG ReturnLength, const VOID *Data, ULONG Size)
{
    if (ReturnLength != NULL)
        *ReturnLength = Size;
    if (Length != Size)
        return STATUS_INFO_LENGTH_MISMATCH;
    if (Buffer == NULL)
        return STATUS_ACCESS_VIOLATION;
    RtlCopyMemory(Buffer, Data, Size);
    return STATUS_SUCCESS;
}

static NTSTATUS PspQueryProcess(HANDLE ProcessHandle, PROCESSINFOCLASS Class, PVOID Buffer, ULONG Length,
                                PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (Class != ProcessBasicInformation && Class != ProcessSessionInformation && Class != ProcessTimes)
        return STATUS_INVALID_INFO_CLASS;
    PEPROCESS p;
    NTSTATUS status = ObReferenceObjectByHandle(ProcessHandle, PROCESS_QUERY_LIMITED_INFORMATION, PsProcessType,
                                                PreviousMode, (PVOID *)&p, NULL);
    if (!NT_SUCCESS(status))
        return status;
    if (Class == ProcessBasicInformation) {
        PROCESS_BASIC_INFORMATION info = {0};
        info.ExitStatus = PsGetProcessExitStatus(p);
        info.PebBaseAddress = NULL; /* no user mode yet: no PEB */
        info.AffinityMask = p->Pcb.Affinity;
        info.BasePriority = p->Pcb.BasePriority;
        info.UniqueProcessId = (ULONG_PTR)p->UniqueProcessId;
        info.InheritedFromUniqueProcessId = (ULONG_PTR)p->InheritedFromUniqueProcessId;
        status = PspCopyOut(Buffer, Length, ReturnLength, &info, sizeof(info));
    } else if (Class == ProcessSessionInformation) {
        PROCESS_SESSION_INFORMATION info = {PsGetProcessSessionId(p)};
        status = PspCopyOut(Buffer, Length, ReturnLength, &info, sizeof(info));
    } else {
        KERNEL_USER_TIMES info = {0};
        info.CreateTime = p->CreateTime;
        info.ExitTime = p->ExitTime;
        /* Kernel time of the threads still in the process, in 100 ns units. */
        ULONG64 ticks = 0;
        KeEnterCriticalRegion();
        ExAcquirePushLockShared(&p->ProcessLock);
        for (PLIST_ENTRY e = p->ThreadListHead.Flink; e != &p->ThreadListHead; e = e->Flink)
            ticks += __atomic_load_n(&CONTAINING_RECORD(e, ETHREAD, ThreadListEntry)->Tcb.KernelTime,
                                     __ATOMIC_RELAXED);
        ExReleasePushLockShared(&p->ProcessLock);
        KeLeaveCriticalRegion();
        info.KernelTime.QuadPart = (LONGLONG)(ticks * KeQueryTimeIncrement());
        status = PspCopyOut(Buffer, Length, ReturnLength, &info, sizeof(info));
    }
    ObDereferenceObject(p);
    return status;
}

NTSTATUS NTAPI ZwQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
                                         PVOID ProcessInformation, ULONG ProcessInformationLength,
                                         PULONG ReturnLength)
{
    return PspQueryProcess(ProcessHandle, ProcessInformationClass, ProcessInformation, ProcessInformationLength,
                           ReturnLength, KernelMode);
}

NTSTATUS NTAPI NtQueryInformationProcess(HANDLE ProcessHandle, PROCESSINFOCLASS ProcessInformationClass,
                                         PVOID ProcessInformation, ULONG ProcessInformationLength,
                                         PULONG ReturnLength)
{
    return PspQueryProcess(ProcessHandle, ProcessInformationClass, ProcessInformation, ProcessInformationLength,
                           ReturnLength, ExGetPreviousMode());
}

static NTSTATUS PspQueryThread(HANDLE ThreadHandle, THREADINFOCLASS Class, PVOID Buffer, ULONG Length,
                               PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    if (Class != ThreadBasicInformation && Class != ThreadTimes)
        return STATUS_INVALID_INFO_CLASS;
    PETHREAD t;
    NTSTATUS status = ObReferenceObjectByHandle(ThreadHandle, THREAD_QUERY_LIMITED_INFORMATION, PsThreadType,
                                                PreviousMode, (PVOID *)&t, NULL);
    if (!NT_SUCCESS(status))
        return status;
    if (Class == ThreadBasicInformation) {
        THREAD_BASIC_INFORMATION info = {0};
        info.ExitStatus = PsGetThreadExitStatus(t);
        info.TebBaseAddress = t->Tcb.Teb;
        info.ClientId = t->Cid;
        /* Scheduler fields change under the dispatcher lock: a relaxed snapshot. */
        info.AffinityMask = __atomic_load_n(&t->Tcb.Affinity, __ATOMIC_RELAXED);
        info.Priority = __atomic_load_n(&t->Tcb.Priority, __ATOMIC_RELAXED);
        info.BasePriority = __atomic_load_n(&t->Tcb.BasePriority, __ATOMIC_RELAXED);
        status = PspCopyOut(Buffer, Length, ReturnLength, &info, sizeof(info));
    } else {
        KERNEL_USER_TIMES info = {0};
        info.CreateTime = t->CreateTime;
        if (PsIsThreadTerminating(t))
            info.ExitTime = t->ExitTime;
        info.KernelTime.QuadPart =
            (LONGLONG)(__atomic_load_n(&t->Tcb.KernelTime, __ATOMIC_RELAXED) * KeQueryTimeIncrement());
        status = PspCopyOut(Buffer, Length, ReturnLength, &info, sizeof(info));
    }
    ObDereferenceObject(t);
    return status;
}

NTSTATUS NTAPI ZwQueryInformationThread(HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
                                        PVOID ThreadInformation, ULONG ThreadInformationLength, PULONG ReturnLength)
{
    return PspQueryThread(ThreadHandle, ThreadInformationClass, ThreadInformation, ThreadInformationLength,
                          ReturnLength, KernelMode);
}

NTSTATUS NTAPI NtQueryInformationThread(HANDLE ThreadHandle, THREADINFOCLASS ThreadInformationClass,
                                        PVOID ThreadInformation, ULONG ThreadInformationLength, PULONG ReturnLength)
{
    return PspQueryThread(ThreadHandle, ThreadInformationClass, ThreadInformation, ThreadInformationLength,
                          ReturnLength, ExGetPreviousMode());
}
