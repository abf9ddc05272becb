/*
 * ObRegisterCallbacks / ObUnRegisterCallbacks: pre- and post-operation
 * callbacks on handle creation and duplication for the object types that
 * support them (PsProcessType, PsThreadType).
 *
 * A registration holds one OBP_CALLBACK_ENTRY per OB_OPERATION_REGISTRATION,
 * linked into its object type's CallbackList in descending altitude order,
 * and is itself linked into ObpCallbackRegistrations (for the altitude
 * uniqueness check).
 *
 * Locking and IRQL
 *  ObpCallbackLock (push lock, inside a critical region) guards both lists.
 *  The handle path takes it shared only to collect the matching entries, each
 *  with a reference on its rundown protection, and calls them without it;
 *  ObUnRegisterCallbacks unlinks under the lock exclusively, then waits for
 *  each entry's rundown (calls in flight, pre through post) before freeing.
 *  ObpCallbackCount (atomic) lets the handle path skip everything when no
 *  registration exists. Registration at PASSIVE_LEVEL; callbacks are called
 *  at the IRQL of the handle operation (PASSIVE_LEVEL or APC_LEVEL).
 *
 * Validation (STATUS_INVALID_PARAMETER): version other than
 * OB_FLT_REGISTRATION_VERSION (major byte), no operations, an empty altitude,
 * an object type without callback support, no or unknown operations, neither
 * a pre nor a post routine. STATUS_FLT_INSTANCE_ALTITUDE_COLLISION for an
 * altitude already registered. (NT also requires the routines to lie in an
 * image linked with /INTEGRITYCHECK, STATUS_ACCESS_DENIED; ntos has no image
 * signing, so that rule is not enforced.)
 */
#include "obp.h"
#include <ntos/obcallback.h>
#include <ntos/ex_pool.h>

#define OBP_CALLBACK_TAG 0x6C436241 /* "AbCl" */

typedef struct _OBP_CALLBACK_REGISTRATION OBP_CALLBACK_REGISTRATION, *POBP_CALLBACK_REGISTRATION;

typedef struct _OBP_CALLBACK_ENTRY {
    LIST_ENTRY CallbackList;            /* ObjectType->CallbackList (ObpCallbackLock) */
    OB_OPERATION Operations;
    POBJECT_TYPE ObjectType;
    POB_PRE_OPERATION_CALLBACK PreOperation;
    POB_POST_OPERATION_CALLBACK PostOperation;
    EX_RUNDOWN_REF RundownProtection;
    POBP_CALLBACK_REGISTRATION Registration;
} OBP_CALLBACK_ENTRY, *POBP_CALLBACK_ENTRY;

struct _OBP_CALLBACK_REGISTRATION {
    LIST_ENTRY Link;                    /* ObpCallbackRegistrations (ObpCallbackLock) */
    PVOID RegistrationContext;
    UNICODE_STRING Altitude;            /* copy, buffer after the entries */
    USHORT Count;
    OBP_CALLBACK_ENTRY Entries[];
};

static EX_PUSH_LOCK ObpCallbackLock;
static LIST_ENTRY ObpCallbackRegistrations = {&ObpCallbackRegistrations, &ObpCallbackRegistrations};
static volatile LONG ObpCallbackCount;

USHORT NTAPI ObGetFilterVersion(void)
{
    return OB_FLT_REGISTRATION_VERSION;
}

/* Altitudes are decimal numbers as strings ("320000", "385201.5"): compares
 * the integer parts by value, then the fractions digit by digit. */
static LONG ObpCompareAltitudes(PCUNICODE_STRING A, PCUNICODE_STRING B)
{
    const UNICODE_STRING *s[2] = {A, B};
    ULONG start[2], intLen[2], len[2];
    for (int k = 0; k < 2; k++) {
        len[k] = s[k]->Length / sizeof(WCHAR);
        ULONG i = 0;
        while (i < len[k] && s[k]->Buffer[i] == L'0')
            i++;
        start[k] = i;
        while (i < len[k] && s[k]->Buffer[i] != L'.')
            i++;
        intLen[k] = i - start[k];
    }
    if (intLen[0] != intLen[1])
        return intLen[0] < intLen[1] ? -1 : 1;
    for (ULONG i = 0; i < intLen[0]; i++) {
        WCHAR a = A->Buffer[start[0] + i], b = B->Buffer[start[1] + i];
        if (a != b)
            return a < b ? -1 : 1;
    }
    /* Fractions: a missing digit counts as 0. */
    ULONG fa = start[0] + intLen[0] + 1, fb = start[1] + intLen[1] + 1;
    for (;;) {
        WCHAR a = fa < len[0] ? A->Buffer[fa] : L'0', b = fb < len[1] ? B->Buffer[fb] : L'0';
        if (fa >= len[0] && fb >= len[1])
            return 0;
        if (a != b)
            return a < b ? -1 : 1;
        fa++;
        fb++;
    }
}

static BOOLEAN ObpAltitudeValid(PCUNICODE_STRING Altitude)
{
    ULONG n = Altitude->Length / sizeof(WCHAR);
    if (n == 0 || Altitude->Buffer == NULL || (Altitude->Length & 1))
        return FALSE;
    BOOLEAN dot = FALSE;
    for (ULONG i = 0; i < n; i++) {
        WCHAR c = Altitude->Buffer[i];
        if (c == L'.' && !dot && i != 0)
            dot = TRUE;
        else if (c < L'0' || c > L'9')
            return FALSE;
    }
    return TRUE;
}

NTSTATUS NTAPI ObRegisterCallbacks(POB_CALLBACK_REGISTRATION CallbackRegistration, PVOID *RegistrationHandle)
{
    if (CallbackRegistration == NULL || RegistrationHandle == NULL)
        return STATUS_INVALID_PARAMETER;
    *RegistrationHandle = NULL;
    POB_CALLBACK_REGISTRATION r = CallbackRegistration;
    if ((r->Version & 0xFF00) != (OB_FLT_REGISTRATION_VERSION & 0xFF00) || r->OperationRegistrationCount == 0 ||
        r->OperationRegistration == NULL || !ObpAltitudeValid(&r->Altitude))
        return STATUS_INVALID_PARAMETER;
    for (USHORT i = 0; i < r->OperationRegistrationCount; i++) {
        POB_OPERATION_REGISTRATION op = &r->OperationRegistration[i];
        if (op->ObjectType == NULL || *op->ObjectType == NULL || !(*op->ObjectType)->TypeInfo.SupportsObjectCallbacks)
            return STATUS_INVALID_PARAMETER;
        if (op->Operations == 0 || (op->Operations & ~(OB_OPERATION_HANDLE_CREATE | OB_OPERATION_HANDLE_DUPLICATE)))
            return STATUS_INVALID_PARAMETER;
        if (op->PreOperation == NULL && op->PostOperation == NULL)
            return STATUS_INVALID_PARAMETER;
    }

    SIZE_T entries = (SIZE_T)r->OperationRegistrationCount * sizeof(OBP_CALLBACK_ENTRY);
    SIZE_T size = sizeof(OBP_CALLBACK_REGISTRATION) + entries + r->Altitude.Length;
    POBP_CALLBACK_REGISTRATION reg = ExAllocatePoolWithTag(NonPagedPoolNx, size, OBP_CALLBACK_TAG);
    if (reg == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(reg, size);
    reg->RegistrationContext = r->RegistrationContext;
    reg->Count = r->OperationRegistrationCount;
    reg->Altitude.Buffer = (PWSTR)((PUCHAR)reg->Entries + entries);
    reg->Altitude.Length = reg->Altitude.MaximumLength = r->Altitude.Length;
    RtlCopyMemory(reg->Altitude.Buffer, r->Altitude.Buffer, r->Altitude.Length);
    for (USHORT i = 0; i < reg->Count; i++) {
        POBP_CALLBACK_ENTRY e = &reg->Entries[i];
        POB_OPERATION_REGISTRATION op = &r->OperationRegistration[i];
        e->Operations = op->Operations;
        e->ObjectType = *op->ObjectType;
        e->PreOperation = op->PreOperation;
        e->PostOperation = op->PostOperation;
        e->Registration = reg;
        ExInitializeRundownProtection(&e->RundownProtection);
    }

    NTSTATUS status = STATUS_SUCCESS;
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&ObpCallbackLock);
    for (PLIST_ENTRY l = ObpCallbackRegistrations.Flink; l != &ObpCallbackRegistrations; l = l->Flink) {
        POBP_CALLBACK_REGISTRATION other = CONTAINING_RECORD(l, OBP_CALLBACK_REGISTRATION, Link);
        if (ObpCompareAltitudes(&other->Altitude, &reg->Altitude) == 0) {
            status = STATUS_FLT_INSTANCE_ALTITUDE_COLLISION;
            break;
        }
    }
    if (NT_SUCCESS(status)) {
        InsertTailList(&ObpCallbackRegistrations, &reg->Link);
        for (USHORT i = 0; i < reg->Count; i++) {
            POBP_CALLBACK_ENTRY e = &reg->Entries[i];
            PLIST_ENTRY head = &e->ObjectType->CallbackList, at = head->Flink;
            /* Descending altitude: the highest is called first. */
            while (at != head &&
                   ObpCompareAltitudes(&CONTAINING_RECORD(at, OBP_CALLBACK_ENTRY, CallbackList)->Registration->Altitude,
                                       &reg->Altitude) > 0)
                at = at->Flink;
            InsertTailList(at, &e->CallbackList);
        }
        __atomic_add_fetch(&ObpCallbackCount, 1, __ATOMIC_RELEASE);
    }
    ExReleasePushLockExclusive(&ObpCallbackLock);
    KeLeaveCriticalRegion();
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(reg, OBP_CALLBACK_TAG);
        return status;
    }
    *RegistrationHandle = reg;
    return STATUS_SUCCESS;
}

VOID NTAPI ObUnRegisterCallbacks(PVOID RegistrationHandle)
{
    POBP_CALLBACK_REGISTRATION reg = RegistrationHandle;
    if (reg == NULL)
        return;
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&ObpCallbackLock);
    RemoveEntryList(&reg->Link);
    for (USHORT i = 0; i < reg->Count; i++)
        RemoveEntryList(&reg->Entries[i].CallbackList);
    __atomic_sub_fetch(&ObpCallbackCount, 1, __ATOMIC_RELEASE);
    ExReleasePushLockExclusive(&ObpCallbackLock);
    KeLeaveCriticalRegion();
    /* Calls that collected an entry before it was unlinked finish first. */
    for (USHORT i = 0; i < reg->Count; i++)
        ExWaitForRundownProtectionRelease(&reg->Entries[i].RundownProtection);
    ExFreePoolWithTag(reg, OBP_CALLBACK_TAG);
}

/* ---- the handle path --------------------------------------------------------------------------- */

BOOLEAN ObpCallPreOperationCallbacks(POBP_CALLBACK_CALL Call, OB_OPERATION Operation, PVOID Object,
                                     BOOLEAN KernelHandle, PVOID SourceProcess, PVOID TargetProcess,
                                     PACCESS_MASK GrantedAccess, NTSTATUS *Status)
{
    *Status = STATUS_SUCCESS;
    if (__atomic_load_n(&ObpCallbackCount, __ATOMIC_ACQUIRE) == 0)
        return FALSE;
    POBJECT_TYPE type = ObGetObjectType(Object);
    if (!type->TypeInfo.SupportsObjectCallbacks)
        return FALSE;

    Call->Count = 0;
    Call->Entries = Call->InlineEntries;
    Call->CallContexts = Call->InlineContexts;
    ULONG capacity = OBP_CALLBACK_INLINE;
    KeEnterCriticalRegion();
    for (;;) {
        ExAcquirePushLockShared(&ObpCallbackLock);
        ULONG matching = 0;
        for (PLIST_ENTRY l = type->CallbackList.Flink; l != &type->CallbackList; l = l->Flink) {
            POBP_CALLBACK_ENTRY e = CONTAINING_RECORD(l, OBP_CALLBACK_ENTRY, CallbackList);
            if (!(e->Operations & Operation))
                continue;
            if (matching < capacity && ExAcquireRundownProtection(&e->RundownProtection))
                Call->Entries[Call->Count++] = e;
            matching++;
        }
        ExReleasePushLockShared(&ObpCallbackLock);
        if (matching <= capacity)
            break;
        /* More than fit: release, grow, collect again. */
        for (ULONG i = 0; i < Call->Count; i++)
            ExReleaseRundownProtection(&Call->Entries[i]->RundownProtection);
        if (Call->Entries != Call->InlineEntries)
            ExFreePoolWithTag(Call->Entries, OBP_CALLBACK_TAG);
        Call->Count = 0;
        capacity = matching + OBP_CALLBACK_INLINE;
        PVOID block = ExAllocatePoolWithTag(NonPagedPoolNx, capacity * 2 * sizeof(PVOID), OBP_CALLBACK_TAG);
        if (block == NULL) {
            KeLeaveCriticalRegion();
            *Status = STATUS_INSUFFICIENT_RESOURCES;
            return FALSE;
        }
        Call->Entries = block;
        Call->CallContexts = (PVOID *)block + capacity;
    }
    KeLeaveCriticalRegion();
    if (Call->Count == 0) {
        if (Call->Entries != Call->InlineEntries)
            ExFreePoolWithTag(Call->Entries, OBP_CALLBACK_TAG);
        return FALSE;
    }

    Call->Operation = Operation;
    Call->KernelHandle = KernelHandle;
    Call->Object = Object;
    Call->ObjectType = type;
    ACCESS_MASK original = *GrantedAccess;
    OB_PRE_OPERATION_PARAMETERS params;
    RtlZeroMemory(&params, sizeof(params));
    if (Operation == OB_OPERATION_HANDLE_DUPLICATE) {
        params.DuplicateHandleInformation.SourceProcess = SourceProcess;
        params.DuplicateHandleInformation.TargetProcess = TargetProcess;
    }
    ACCESS_MASK desired = original;
    for (ULONG i = 0; i < Call->Count; i++) {
        POBP_CALLBACK_ENTRY e = Call->Entries[i];
        Call->CallContexts[i] = NULL;
        if (e->PreOperation == NULL)
            continue;
        /* Both parameter forms begin with DesiredAccess, OriginalDesiredAccess. */
        params.CreateHandleInformation.DesiredAccess = desired;
        params.CreateHandleInformation.OriginalDesiredAccess = original;
        OB_PRE_OPERATION_INFORMATION info;
        RtlZeroMemory(&info, sizeof(info));
        info.Operation = Operation;
        info.KernelHandle = KernelHandle;
        info.Object = Object;
        info.ObjectType = type;
        info.Parameters = &params;
        e->PreOperation(e->Registration->RegistrationContext, &info);
        Call->CallContexts[i] = info.CallContext;
        /* A callback can take rights away, never add them. */
        desired = params.CreateHandleInformation.DesiredAccess & original;
    }
    *GrantedAccess = desired;
    return TRUE;
}

VOID ObpCallPostOperationCallbacks(POBP_CALLBACK_CALL Call, NTSTATUS ReturnStatus, ACCESS_MASK GrantedAccess)
{
    OB_POST_OPERATION_PARAMETERS params;
    params.CreateHandleInformation.GrantedAccess = NT_SUCCESS(ReturnStatus) ? GrantedAccess : 0;
    for (ULONG i = 0; i < Call->Count; i++) {
        POBP_CALLBACK_ENTRY e = Call->Entries[i];
        if (e->PostOperation != NULL) {
            OB_POST_OPERATION_INFORMATION info;
            RtlZeroMemory(&info, sizeof(info));
            info.Operation = Call->Operation;
            info.KernelHandle = Call->KernelHandle;
            info.Object = Call->Object;
            info.ObjectType = Call->ObjectType;
            info.CallContext = Call->CallContexts[i];
            info.ReturnStatus = ReturnStatus;
            info.Parameters = &params;
            e->PostOperation(e->Registration->RegistrationContext, &info);
        }
        ExReleaseRundownProtection(&e->RundownProtection);
    }
    if (Call->Entries != Call->InlineEntries)
        ExFreePoolWithTag(Call->Entries, OBP_CALLBACK_TAG);
}
