/*
 * Handles: creating, looking up, closing and duplicating them, and the
 * handle counts they keep on objects.
 *
 * Which table
 *  A handle with the x64 kernel bits set (KERNEL_HANDLE_MASK) lives in the
 *  system process's table and is valid only for KernelMode callers; any
 *  other handle lives in the current process's table. -1 and -2 are the
 *  current process and thread and never live in a table.
 *
 * Counts
 *  Each handle owns one pointer reference (the reference its creator passed
 *  in). HandleCount and the per-process count (types that maintain it, and
 *  OBJ_EXCLUSIVE objects) change under the object header's lock; the close
 *  procedure sees the counts from before the close, as on Windows, so
 *  "ProcessHandleCount == 1" means "the process's last handle".
 *
 * Locking and IRQL
 *  Handle-table entry locks are taken inside a critical region and held only
 *  to read the entry and take a reference (lookups) or to check and destroy
 *  it (close). Open, close and okay-to-close procedures run without any
 *  entry lock except OkayToClose, which runs with the entry locked (it must
 *  not block). Everything here runs at <= APC_LEVEL.
 */
#include "obp.h"
#include <ntos/ex_handle.h>
#include <ntos/obcallback.h>

#ifndef STATUS_HANDLE_NOT_CLOSABLE
#define STATUS_HANDLE_NOT_CLOSABLE ((NTSTATUS)0xC0000235L)
#endif

#define OBP_CURRENT_PROCESS ((HANDLE)(LONG_PTR)-1)
#define OBP_CURRENT_THREAD ((HANDLE)(LONG_PTR)-2)

static inline BOOLEAN ObpIsKernelHandleValue(HANDLE Handle)
{
    return ((ULONG_PTR)Handle & KERNEL_HANDLE_MASK) == KERNEL_HANDLE_MASK && Handle != OBP_CURRENT_PROCESS &&
           Handle != OBP_CURRENT_THREAD;
}

BOOLEAN NTAPI ObIsKernelHandle(HANDLE Handle)
{
    return ObpIsKernelHandleValue(Handle) && ExGetPreviousMode() == KernelMode;
}

PHANDLE_TABLE ObpKernelHandleTable(void)
{
    return PsInitialSystemProcess != NULL ? PsInitialSystemProcess->ObjectTable : NULL;
}

/* The table a handle value belongs to, with the kernel bits removed; NULL if
 * the caller may not use it. */
static PHANDLE_TABLE ObpTableForHandle(HANDLE *Handle, KPROCESSOR_MODE AccessMode, PEPROCESS Process)
{
    if (ObpIsKernelHandleValue(*Handle)) {
        if (AccessMode != KernelMode)
            return NULL;
        *Handle = (HANDLE)((ULONG_PTR)*Handle & ~KERNEL_HANDLE_MASK);
        return ObpKernelHandleTable();
    }
    return Process->ObjectTable;
}

/* Other processors compare-exchange the lock bit while we read: always an
 * atomic load, although the pointer part cannot change under our lock. */
static inline ULONG_PTR ObpEntryValue(PHANDLE_TABLE_ENTRY Entry)
{
    return __atomic_load_n(&Entry->Value, __ATOMIC_RELAXED);
}

static inline PVOID ObpEntryObject(PHANDLE_TABLE_ENTRY Entry)
{
    return ObpHeaderBody((POBJECT_HEADER)(ObpEntryValue(Entry) & HANDLE_ENTRY_POINTER_MASK));
}

static ULONG ObpEntryAttributes(PHANDLE_TABLE_ENTRY Entry)
{
    ULONG a = 0;
    ULONG_PTR v = ObpEntryValue(Entry);
    if (v & HANDLE_ENTRY_INHERIT)
        a |= OBJ_INHERIT;
    if (v & HANDLE_ENTRY_PROTECT_FROM_CLOSE)
        a |= OBJ_PROTECT_CLOSE;
    if (v & HANDLE_ENTRY_AUDIT_ON_CLOSE)
        a |= OBJ_AUDIT_OBJECT_CLOSE;
    return a;
}

/* ---- handle counts --------------------------------------------------------------------- */

typedef struct {
    PVOID Object;
    ULONG Count;
} OBP_COUNT_CONTEXT;

static BOOLEAN ObpCountHandlesOfObject(PHANDLE_TABLE_ENTRY Entry, HANDLE Handle, PVOID Context)
{
    (void)Handle;
    OBP_COUNT_CONTEXT *c = Context;
    if (ObpEntryObject(Entry) == c->Object)
        c->Count++;
    ExUnlockHandleTableEntry(NULL, Entry);
    return FALSE;
}

static NTSTATUS ObpIncrementHandleCount(OB_OPEN_REASON Reason, PEPROCESS Process, PVOID Object,
                                        PACCESS_MASK GrantedAccess, ULONG Attributes, KPROCESSOR_MODE AccessMode)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObpHeaderType(h);
    POBJECT_HEADER_HANDLE_INFO hi = ObpHeaderHandleInfo(h);
    NTSTATUS status = STATUS_SUCCESS;

    ObpLockExclusive(&h->Lock);
    if ((Attributes & OBJ_EXCLUSIVE) && !(h->Flags & OB_FLAG_EXCLUSIVE_OBJECT)) {
        status = STATUS_INVALID_PARAMETER;
        goto out;
    }
    if ((h->Flags & OB_FLAG_EXCLUSIVE_OBJECT) && hi != NULL && hi->HandleCount != 0 && hi->Process != Process) {
        status = STATUS_ACCESS_DENIED;
        goto out;
    }
    ULONG processCount = 0;
    if (hi != NULL && !hi->Multi && (hi->Process == Process || hi->HandleCount == 0))
        processCount = hi->HandleCount;
    if (type->TypeInfo.OpenProcedure != NULL) {
        /* Open procedures may take their own locks but not this object's. */
        ObpUnlockExclusive(&h->Lock);
        status = type->TypeInfo.OpenProcedure(Reason, AccessMode, Process, Object, GrantedAccess, processCount + 1);
        ObpLockExclusive(&h->Lock);
        if (!NT_SUCCESS(status))
            goto out;
    }
    __atomic_add_fetch(&h->HandleCount, 1, __ATOMIC_RELEASE);
    if (hi != NULL) {
        if (hi->HandleCount == 0 && !hi->Multi) {
            hi->Process = Process;
            hi->HandleCount = 1;
        } else if (!hi->Multi && hi->Process == Process) {
            hi->HandleCount++;
        } else {
            hi->Multi = 1;
        }
    }
    ULONG handles = __atomic_add_fetch(&type->TotalNumberOfHandles, 1, __ATOMIC_RELAXED);
    ObpRaiseHighWater(&type->HighWaterNumberOfHandles, handles);
out:
    ObpUnlockExclusive(&h->Lock);
    return status;
}

static VOID ObpDecrementHandleCount(PEPROCESS Process, PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObpHeaderType(h);
    POBJECT_HEADER_HANDLE_INFO hi = ObpHeaderHandleInfo(h);

    ObpLockExclusive(&h->Lock);
    LONG_PTR systemCount = __atomic_load_n(&h->HandleCount, __ATOMIC_RELAXED);
    ULONG_PTR processCount = 0;
    BOOLEAN multi = FALSE;
    if (hi != NULL) {
        if (!hi->Multi && hi->Process == Process) {
            processCount = hi->HandleCount;
            hi->HandleCount--;
        } else {
            multi = TRUE;
        }
    }
    __atomic_sub_fetch(&h->HandleCount, 1, __ATOMIC_RELEASE);
    ObpUnlockExclusive(&h->Lock);
    __atomic_sub_fetch(&type->TotalNumberOfHandles, 1, __ATOMIC_RELAXED);

    if (type->TypeInfo.CloseProcedure != NULL) {
        if (hi == NULL) {
            processCount = (ULONG_PTR)systemCount;
        } else if (multi) {
            /* Several processes hold handles: count this one's in its table
             * (the closed handle is already gone, hence the + 1). */
            OBP_COUNT_CONTEXT c = {Object, 0};
            if (Process != NULL && Process->ObjectTable != NULL)
                ExEnumHandleTable(Process->ObjectTable, ObpCountHandlesOfObject, &c);
            processCount = c.Count + 1;
        }
        type->TypeInfo.CloseProcedure(Process, Object, processCount, (ULONG_PTR)systemCount);
    }
    if (systemCount == 1)
        ObpDeleteNameCheck(Object);
}

/* ---- create / close ---------------------------------------------------------------------- */

static NTSTATUS ObpInsertHandle(OB_OPEN_REASON Reason, PVOID Object, ACCESS_MASK GrantedAccess,
                                ULONG HandleAttributes, KPROCESSOR_MODE AccessMode, PEPROCESS Process,
                                PHANDLE_TABLE table, BOOLEAN kernel, PHANDLE Handle)
{
    NTSTATUS status = ObpIncrementHandleCount(Reason, Process, Object, &GrantedAccess, HandleAttributes, AccessMode);
    if (!NT_SUCCESS(status))
        return status;
    HANDLE_TABLE_ENTRY entry = {0};
    entry.Value = (ULONG_PTR)OBJECT_TO_OBJECT_HEADER(Object);
    if (HandleAttributes & OBJ_INHERIT)
        entry.Value |= HANDLE_ENTRY_INHERIT;
    if (HandleAttributes & OBJ_AUDIT_OBJECT_CLOSE)
        entry.Value |= HANDLE_ENTRY_AUDIT_ON_CLOSE;
    entry.GrantedAccess = GrantedAccess;
    HANDLE h = ExCreateHandle(table, &entry);
    if (h == NULL) {
        /* Undo the count without a close procedure: no handle ever existed. */
        POBJECT_HEADER oh = OBJECT_TO_OBJECT_HEADER(Object);
        POBJECT_HEADER_HANDLE_INFO hi = ObpHeaderHandleInfo(oh);
        ObpLockExclusive(&oh->Lock);
        __atomic_sub_fetch(&oh->HandleCount, 1, __ATOMIC_RELEASE);
        if (hi != NULL && !hi->Multi && hi->Process == Process)
            hi->HandleCount--;
        ObpUnlockExclusive(&oh->Lock);
        __atomic_sub_fetch(&ObpHeaderType(oh)->TotalNumberOfHandles, 1, __ATOMIC_RELAXED);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    if (kernel)
        h = (HANDLE)((ULONG_PTR)h | KERNEL_HANDLE_MASK);
    *Handle = h;
    return STATUS_SUCCESS;
}

/* Object callbacks (ObRegisterCallbacks, src/ob/obcallback.c) see every
 * handle to a type that supports them: the pre-operation callbacks may strip
 * access rights before the handle exists, the post-operation callbacks learn
 * the result. SourceProcess is the duplicate's source (NULL otherwise). */
NTSTATUS ObpCreateHandleEx(OB_OPEN_REASON Reason, PVOID Object, ACCESS_MASK GrantedAccess, ULONG HandleAttributes,
                           KPROCESSOR_MODE AccessMode, PEPROCESS Process, PEPROCESS SourceProcess, PHANDLE Handle)
{
    BOOLEAN kernel = (HandleAttributes & OBJ_KERNEL_HANDLE) && AccessMode == KernelMode;
    PHANDLE_TABLE table = kernel ? ObpKernelHandleTable() : Process->ObjectTable;
    if (kernel)
        Process = PsInitialSystemProcess;
    if (table == NULL)
        return STATUS_INVALID_PARAMETER;
    OBP_CALLBACK_CALL call;
    NTSTATUS status;
    BOOLEAN callbacks = ObpCallPreOperationCallbacks(
        &call, Reason == ObDuplicateHandle ? OB_OPERATION_HANDLE_DUPLICATE : OB_OPERATION_HANDLE_CREATE, Object,
        kernel, SourceProcess, Process, &GrantedAccess, &status);
    if (!NT_SUCCESS(status))
        return status;
    status = ObpInsertHandle(Reason, Object, GrantedAccess, HandleAttributes, AccessMode, Process, table, kernel,
                             Handle);
    if (callbacks)
        ObpCallPostOperationCallbacks(&call, status, GrantedAccess);
    return status;
}

NTSTATUS ObpCreateHandle(OB_OPEN_REASON Reason, PVOID Object, ACCESS_MASK GrantedAccess, ULONG HandleAttributes,
                         KPROCESSOR_MODE AccessMode, PEPROCESS Process, PHANDLE Handle)
{
    return ObpCreateHandleEx(Reason, Object, GrantedAccess, HandleAttributes, AccessMode, Process, NULL, Handle);
}

static NTSTATUS ObpCloseHandleInTable(PHANDLE_TABLE Table, PEPROCESS Process, HANDLE Handle,
                                      KPROCESSOR_MODE PreviousMode, BOOLEAN IgnoreProtection)
{
    KeEnterCriticalRegion();
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(Table, Handle);
    if (e == NULL) {
        KeLeaveCriticalRegion();
        return STATUS_INVALID_HANDLE;
    }
    PVOID object = ObpEntryObject(e);
    POBJECT_TYPE type = ObGetObjectType(object);
    if (!IgnoreProtection && (ObpEntryValue(e) & HANDLE_ENTRY_PROTECT_FROM_CLOSE)) {
        ExUnlockHandleTableEntry(Table, e);
        KeLeaveCriticalRegion();
        return STATUS_HANDLE_NOT_CLOSABLE;
    }
    if (!IgnoreProtection && type->TypeInfo.OkayToCloseProcedure != NULL &&
        !type->TypeInfo.OkayToCloseProcedure(Process, object, Handle, PreviousMode)) {
        ExUnlockHandleTableEntry(Table, e);
        KeLeaveCriticalRegion();
        return STATUS_HANDLE_NOT_CLOSABLE;
    }
    ExDestroyHandle(Table, Handle, e);
    KeLeaveCriticalRegion();
    ObpDecrementHandleCount(Process, object);
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}

NTSTATUS ObpCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode)
{
    PEPROCESS process = PsGetCurrentProcess();
    BOOLEAN kernel = ObpIsKernelHandleValue(Handle) && PreviousMode == KernelMode;
    PHANDLE_TABLE table = ObpTableForHandle(&Handle, PreviousMode, process);
    if (table == NULL)
        return STATUS_INVALID_HANDLE;
    return ObpCloseHandleInTable(table, kernel ? PsInitialSystemProcess : process, Handle, PreviousMode, FALSE);
}

NTSTATUS NTAPI ObCloseHandle(HANDLE Handle, KPROCESSOR_MODE PreviousMode)
{
    return ObpCloseHandle(Handle, PreviousMode);
}

NTSTATUS NTAPI NtClose(HANDLE Handle)
{
    return ObpCloseHandle(Handle, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwClose(HANDLE Handle)
{
    return ObpCloseHandle(Handle, KernelMode);
}

/* ---- reference by handle ---------------------------------------------------------------- */

/* The pseudo-handles for the caller's own process and thread. Out of line
 * (and ms_abi) so the table path below calls only ms_abi functions. */
static __attribute__((noinline)) NTSTATUS NTAPI ObpReferencePseudoHandle(HANDLE Handle, POBJECT_TYPE ObjectType,
                                                                         PVOID *Object,
                                                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    PVOID target;
    POBJECT_TYPE targetType;
    ACCESS_MASK all;
    if (Handle == OBP_CURRENT_PROCESS) {
        target = PsGetCurrentProcess();
        targetType = PsProcessType;
        all = PROCESS_ALL_ACCESS;
    } else {
        if (!PsIsExecutiveThread(KeGetCurrentThread()))
            return STATUS_INVALID_HANDLE;
        target = PsGetCurrentThread();
        targetType = PsThreadType;
        all = THREAD_ALL_ACCESS;
    }
    if (ObjectType != NULL && ObjectType != targetType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    if (targetType == NULL)
        return STATUS_INVALID_HANDLE;
    ObfReferenceObject(target);
    if (HandleInformation != NULL) {
        HandleInformation->GrantedAccess = all;
        HandleInformation->HandleAttributes = 0;
    }
    *Object = target;
    return STATUS_SUCCESS;
}

/*
 * The lookup every Zw service and driver handle goes through; both exports
 * inline it (a thin forwarding wrapper re-copies the stack arguments and
 * stalls on the store forwarding). The fast path calls only ms_abi
 * functions, so no xmm6-15 saves, and takes two locked instructions: the
 * entry lock and the reference (the unlock is a release store).
 */
static inline __attribute__((always_inline)) NTSTATUS ObpReferenceObjectByHandle(
    HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode, PVOID *Object,
    POBJECT_HANDLE_INFORMATION HandleInformation)
{
    *Object = NULL;
    if (Handle == OBP_CURRENT_PROCESS || Handle == OBP_CURRENT_THREAD)
        return ObpReferencePseudoHandle(Handle, ObjectType, Object, HandleInformation);

    PHANDLE_TABLE table;
    if (ObpIsKernelHandleValue(Handle)) {
        if (AccessMode != KernelMode || PsInitialSystemProcess == NULL)
            return STATUS_INVALID_HANDLE;
        Handle = (HANDLE)((ULONG_PTR)Handle & ~KERNEL_HANDLE_MASK);
        table = PsInitialSystemProcess->ObjectTable;
    } else {
        table = PsGetCurrentProcess()->ObjectTable;
    }
    if (table == NULL)
        return STATUS_INVALID_HANDLE;
    PKTHREAD thread = KeGetCurrentThread();
    KiEnterCriticalRegionThread(thread);
    ULONG_PTR value;
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointerFast(table, Handle, &value);
    if (e == NULL) {
        KiLeaveCriticalRegionThread(thread);
        return STATUS_INVALID_HANDLE;
    }
    POBJECT_HEADER h = (POBJECT_HEADER)(value & HANDLE_ENTRY_POINTER_MASK);
    POBJECT_TYPE type = ObTypeIndexTable[h->TypeIndex];
    NTSTATUS status = STATUS_SUCCESS;
    if (ObjectType != NULL && type != ObjectType) {
        status = STATUS_OBJECT_TYPE_MISMATCH;
    } else if (AccessMode != KernelMode) {
        ACCESS_MASK desired = DesiredAccess;
        if (desired & (GENERIC_READ | GENERIC_WRITE | GENERIC_EXECUTE | GENERIC_ALL))
            RtlMapGenericMask(&desired, &type->TypeInfo.GenericMapping);
        if (desired & ~e->GrantedAccess)
            status = STATUS_ACCESS_DENIED;
    }
    if (NT_SUCCESS(status)) {
        /* The locked entry holds a reference, so the count is above zero. */
        __atomic_add_fetch(&h->PointerCount, 1, __ATOMIC_RELAXED);
        if (HandleInformation != NULL) {
            HandleInformation->GrantedAccess = e->GrantedAccess;
            HandleInformation->HandleAttributes = ObpEntryAttributes(e);
        }
        *Object = ObpHeaderBody(h);
    }
    ExUnlockHandleTableEntryValue(e, value);
    KiLeaveCriticalRegionThread(thread);
    return status;
}

NTSTATUS NTAPI ObReferenceObjectByHandleWithTag(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                                KPROCESSOR_MODE AccessMode, ULONG Tag, PVOID *Object,
                                                POBJECT_HANDLE_INFORMATION HandleInformation)
{
    (void)Tag;
    return ObpReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object, HandleInformation);
}

NTSTATUS NTAPI ObReferenceObjectByHandle(HANDLE Handle, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                         KPROCESSOR_MODE AccessMode, PVOID *Object,
                                         POBJECT_HANDLE_INFORMATION HandleInformation)
{
    return ObpReferenceObjectByHandle(Handle, DesiredAccess, ObjectType, AccessMode, Object, HandleInformation);
}

/* Looks Handle up in Process's context; returns the object referenced and the entry's data. */
static NTSTATUS ObpReferenceHandleEntry(PEPROCESS Process, HANDLE Handle, KPROCESSOR_MODE AccessMode, PVOID *Object,
                                        ACCESS_MASK *Granted, ULONG *Attributes)
{
    if ((Handle == OBP_CURRENT_PROCESS || Handle == OBP_CURRENT_THREAD) && Process == PsGetCurrentProcess()) {
        /* The pseudo-handles stand for the caller's own process and thread. */
        OBJECT_HANDLE_INFORMATION info;
        NTSTATUS status = ObReferenceObjectByHandle(Handle, 0, NULL, AccessMode, Object, &info);
        if (NT_SUCCESS(status)) {
            *Granted = info.GrantedAccess;
            *Attributes = info.HandleAttributes;
        }
        return status;
    }
    PHANDLE_TABLE table = ObpTableForHandle(&Handle, AccessMode, Process);
    if (table == NULL)
        return STATUS_INVALID_HANDLE;
    KeEnterCriticalRegion();
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(table, Handle);
    if (e == NULL) {
        KeLeaveCriticalRegion();
        return STATUS_INVALID_HANDLE;
    }
    PVOID object = ObpEntryObject(e);
    ObfReferenceObject(object);
    *Object = object;
    *Granted = e->GrantedAccess;
    *Attributes = ObpEntryAttributes(e);
    ExUnlockHandleTableEntry(table, e);
    KeLeaveCriticalRegion();
    return STATUS_SUCCESS;
}

/* ---- handle information -------------------------------------------------------------------- */

NTSTATUS ObpQueryHandleEntry(HANDLE Handle, KPROCESSOR_MODE AccessMode, PVOID *Object, ACCESS_MASK *Granted,
                             ULONG *Attributes)
{
    return ObpReferenceHandleEntry(PsGetCurrentProcess(), Handle, AccessMode, Object, Granted, Attributes);
}

NTSTATUS ObpSetHandleAttributes(HANDLE Handle, KPROCESSOR_MODE AccessMode, BOOLEAN Inherit, BOOLEAN ProtectFromClose)
{
    PHANDLE_TABLE table = ObpTableForHandle(&Handle, AccessMode, PsGetCurrentProcess());
    if (table == NULL)
        return STATUS_INVALID_HANDLE;
    KeEnterCriticalRegion();
    PHANDLE_TABLE_ENTRY e = ExMapHandleToPointer(table, Handle);
    if (e == NULL) {
        KeLeaveCriticalRegion();
        return STATUS_INVALID_HANDLE;
    }
    ULONG_PTR v = ObpEntryValue(e) & ~(HANDLE_ENTRY_INHERIT | HANDLE_ENTRY_PROTECT_FROM_CLOSE);
    if (Inherit)
        v |= HANDLE_ENTRY_INHERIT;
    if (ProtectFromClose)
        v |= HANDLE_ENTRY_PROTECT_FROM_CLOSE;
    /* Still locked: the store keeps the lock bit, the unlock clears it. */
    __atomic_store_n(&e->Value, v | HANDLE_ENTRY_LOCK_BIT, __ATOMIC_RELAXED);
    ExUnlockHandleTableEntry(table, e);
    KeLeaveCriticalRegion();
    return STATUS_SUCCESS;
}

/* ---- duplication ------------------------------------------------------------------------- */

static NTSTATUS ObpDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                   PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes,
                                   ULONG Options, KPROCESSOR_MODE PreviousMode)
{
    if (Options & ~(DUPLICATE_CLOSE_SOURCE | DUPLICATE_SAME_ACCESS | DUPLICATE_SAME_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    if (TargetHandle != NULL)
        *TargetHandle = NULL;
    PEPROCESS source;
    NTSTATUS status = ObReferenceObjectByHandle(SourceProcessHandle, PROCESS_DUP_HANDLE, PsProcessType, PreviousMode,
                                                (PVOID *)&source, NULL);
    if (!NT_SUCCESS(status))
        return status;

    PVOID object = NULL;
    ACCESS_MASK sourceAccess = 0;
    ULONG sourceAttributes = 0;
    status = ObpReferenceHandleEntry(source, SourceHandle, PreviousMode, &object, &sourceAccess, &sourceAttributes);
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(source);
        return status;
    }

    if (TargetProcessHandle == NULL) {
        /* Only a close of the source was asked for. */
        ObDereferenceObject(object);
        status = (Options & DUPLICATE_CLOSE_SOURCE) ? STATUS_SUCCESS : STATUS_INVALID_PARAMETER;
        goto close_source;
    }
    PEPROCESS target;
    status = ObReferenceObjectByHandle(TargetProcessHandle, PROCESS_DUP_HANDLE, PsProcessType, PreviousMode,
                                       (PVOID *)&target, NULL);
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(object);
        goto close_source;
    }
    if (TargetHandle == NULL) {
        ObDereferenceObject(target);
        ObDereferenceObject(object);
        status = STATUS_INVALID_PARAMETER;
        goto close_source;
    }

    POBJECT_TYPE type = ObGetObjectType(object);
    ACCESS_MASK granted;
    if (Options & DUPLICATE_SAME_ACCESS) {
        granted = sourceAccess;
    } else {
        ACCESS_MASK wanted = ObpMapAccess(type, DesiredAccess);
        if ((wanted & ~sourceAccess) == 0 || PreviousMode == KernelMode) {
            granted = wanted; /* narrowing, or a trusted caller */
        } else {
            status = ObpCheckObjectAccess(object, NULL, PreviousMode, DesiredAccess, &granted);
            if (!NT_SUCCESS(status)) {
                ObDereferenceObject(target);
                ObDereferenceObject(object);
                goto close_source;
            }
        }
    }
    ULONG attributes = (Options & DUPLICATE_SAME_ATTRIBUTES) ? (sourceAttributes & OBJ_INHERIT)
                                                               : (HandleAttributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE));
    /* OBJ_KERNEL_HANDLE from a kernel-mode caller makes a kernel handle (in
     * the system table) whatever process the caller is attached to or names
     * as the target: it is how a driver running in a user process's context
     * turns a handle into one that process cannot use (OBJECT_ATTRIBUTES,
     * InitializeObjectAttributes). From user mode the flag is ignored. */
    if ((attributes & OBJ_KERNEL_HANDLE) && PreviousMode != KernelMode)
        attributes &= ~OBJ_KERNEL_HANDLE;
    HANDLE h = NULL;
    status = ObpCreateHandleEx(ObDuplicateHandle, object, granted, attributes, PreviousMode, target, source, &h);
    if (NT_SUCCESS(status))
        *TargetHandle = h;
    else
        ObDereferenceObject(object);
    ObDereferenceObject(target);

close_source:
    if (Options & DUPLICATE_CLOSE_SOURCE) {
        /* Windows closes the source even when the duplicate failed. */
        HANDLE sh = SourceHandle;
        PHANDLE_TABLE table = ObpTableForHandle(&sh, PreviousMode, source);
        BOOLEAN kernel = ObpIsKernelHandleValue(SourceHandle) && PreviousMode == KernelMode;
        if (table != NULL)
            ObpCloseHandleInTable(table, kernel ? PsInitialSystemProcess : source, sh, PreviousMode, FALSE);
    }
    ObDereferenceObject(source);
    return status;
}

NTSTATUS NTAPI ZwDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                 PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options)
{
    return ObpDuplicateObject(SourceProcessHandle, SourceHandle, TargetProcessHandle, TargetHandle, DesiredAccess,
                              HandleAttributes, Options, KernelMode);
}

NTSTATUS NTAPI NtDuplicateObject(HANDLE SourceProcessHandle, HANDLE SourceHandle, HANDLE TargetProcessHandle,
                                 PHANDLE TargetHandle, ACCESS_MASK DesiredAccess, ULONG HandleAttributes, ULONG Options)
{
    return ObpDuplicateObject(SourceProcessHandle, SourceHandle, TargetProcessHandle, TargetHandle, DesiredAccess,
                              HandleAttributes, Options, ExGetPreviousMode());
}

/* ---- process handle tables ------------------------------------------------------------- */

NTSTATUS ObpInitializeProcessHandleTable(PEPROCESS Process)
{
    Process->ObjectTable = ExCreateHandleTable(Process);
    return Process->ObjectTable != NULL ? STATUS_SUCCESS : STATUS_INSUFFICIENT_RESOURCES;
}

static VOID ObpDestroyHandleProcedure(PHANDLE_TABLE_ENTRY Entry, HANDLE Handle, PVOID Context)
{
    PEPROCESS process = Context;
    PVOID object = ObpEntryObject(Entry);
    ExDestroyHandle(process->ObjectTable, Handle, Entry);
    ObpDecrementHandleCount(process, object);
    ObDereferenceObject(object);
}

/* Closes every handle a dying process still has, protected or not. */
VOID ObpKillProcessHandleTable(PEPROCESS Process)
{
    PHANDLE_TABLE table = Process->ObjectTable;
    if (table == NULL)
        return;
    KeEnterCriticalRegion();
    ExDestroyHandleTable(table, ObpDestroyHandleProcedure, Process);
    KeLeaveCriticalRegion();
    Process->ObjectTable = NULL;
}
