/*
 * Opening objects by name and by pointer, temporary/permanent objects, and
 * the object query services.
 *
 * An open is: resolve (ObpLookupObjectName), check the type, check access
 * against the object's descriptor for non-kernel callers, create the handle.
 * An object a parse procedure produced (a file object for a device) was
 * access-checked by that procedure, which says so by setting
 * AccessState->SecurityEvaluated; its handle gets what the procedure granted.
 *
 * IRQL: PASSIVE_LEVEL.
 */
#include "obp.h"

NTSTATUS ObpQueryHandleEntry(HANDLE Handle, KPROCESSOR_MODE AccessMode, PVOID *Object, ACCESS_MASK *Granted,
                             ULONG *Attributes);
NTSTATUS ObpSetHandleAttributes(HANDLE Handle, KPROCESSOR_MODE AccessMode, BOOLEAN Inherit, BOOLEAN ProtectFromClose);

static NTSTATUS ObpValidateAttributes(POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (ObjectAttributes == NULL || ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES) ||
        (ObjectAttributes->Attributes & ~OBJ_VALID_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    return STATUS_SUCCESS;
}

/* Resolves a name to a referenced object with access granted; shared by the by-name entry points. */
static NTSTATUS ObpOpenByName(PUNICODE_STRING Name, HANDLE Root, ULONG Attributes, POBJECT_TYPE ObjectType,
                              KPROCESSOR_MODE AccessMode, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                              PVOID ParseContext, PVOID *Object, PACCESS_MASK Granted)
{
    *Object = NULL;
    UNICODE_STRING captured;
    NTSTATUS status = ObpCaptureObjectName(&captured, Name, Root != NULL);
    if (!NT_SUCCESS(status))
        return status;
    KPROCESSOR_MODE checkMode = (Attributes & OBJ_FORCE_ACCESS_CHECK) ? UserMode : AccessMode;
    if (AccessMode != KernelMode)
        Attributes &= ~OBJ_KERNEL_HANDLE;

    ACCESS_STATE local;
    PACCESS_STATE state = PassedAccessState;
    if (state == NULL) {
        status = SeCreateAccessState(&local, NULL, DesiredAccess,
                                     ObjectType ? &ObjectType->TypeInfo.GenericMapping : NULL);
        if (!NT_SUCCESS(status)) {
            ObpReleaseCapturedName(&captured);
            return status;
        }
        state = &local;
    }
    PVOID found = NULL;
    status = ObpLookupObjectName(Root, &captured, Attributes, ObjectType, checkMode, ParseContext, state, NULL, &found);
    if (NT_SUCCESS(status)) {
        if (ObjectType != NULL && ObGetObjectType(found) != ObjectType) {
            status = STATUS_OBJECT_TYPE_MISMATCH;
        } else if (state->SecurityEvaluated) {
            *Granted = state->PreviouslyGrantedAccess;
        } else {
            status = ObpCheckObjectAccess(found, state, checkMode, DesiredAccess, Granted);
        }
        if (NT_SUCCESS(status)) {
            *Object = found;
            found = NULL;
        }
    }
    if (found != NULL)
        ObDereferenceObject(found);
    if (state == &local)
        SeDeleteAccessState(&local);
    ObpReleaseCapturedName(&captured);
    return status;
}

NTSTATUS NTAPI ObOpenObjectByName(POBJECT_ATTRIBUTES ObjectAttributes, POBJECT_TYPE ObjectType,
                                  KPROCESSOR_MODE AccessMode, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                                  PVOID ParseContext, PHANDLE Handle)
{
    if (Handle == NULL)
        return STATUS_INVALID_PARAMETER;
    *Handle = NULL;
    NTSTATUS status = ObpValidateAttributes(ObjectAttributes);
    if (!NT_SUCCESS(status))
        return status;
    if (ObjectAttributes->ObjectName == NULL && ObjectAttributes->RootDirectory == NULL)
        return STATUS_OBJECT_NAME_INVALID;
    ULONG attributes = ObjectAttributes->Attributes;
    if (AccessMode != KernelMode)
        attributes &= ~OBJ_KERNEL_HANDLE;
    PVOID object;
    ACCESS_MASK granted = 0;
    status = ObpOpenByName(ObjectAttributes->ObjectName, ObjectAttributes->RootDirectory, attributes, ObjectType,
                           AccessMode, PassedAccessState, DesiredAccess, ParseContext, &object, &granted);
    if (!NT_SUCCESS(status))
        return status;
    status = ObpCreateHandle(ObOpenHandle, object, granted, attributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE | OBJ_EXCLUSIVE),
                             AccessMode, PsGetCurrentProcess(), Handle);
    if (!NT_SUCCESS(status))
        ObDereferenceObject(object);
    return status;
}

NTSTATUS NTAPI ObReferenceObjectByName(PUNICODE_STRING ObjectName, ULONG Attributes, PACCESS_STATE PassedAccessState,
                                       ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                       PVOID ParseContext, PVOID *Object)
{
    if (Object == NULL)
        return STATUS_INVALID_PARAMETER;
    *Object = NULL;
    if (ObjectName == NULL)
        return STATUS_OBJECT_NAME_INVALID;
    if (Attributes & ~OBJ_VALID_ATTRIBUTES)
        return STATUS_INVALID_PARAMETER;
    ACCESS_MASK granted;
    return ObpOpenByName(ObjectName, NULL, Attributes, ObjectType, AccessMode, PassedAccessState, DesiredAccess,
                         ParseContext, Object, &granted);
}

NTSTATUS NTAPI ObOpenObjectByPointer(PVOID Object, ULONG HandleAttributes, PACCESS_STATE PassedAccessState,
                                     ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType, KPROCESSOR_MODE AccessMode,
                                     PHANDLE Handle)
{
    if (Handle == NULL || Object == NULL)
        return STATUS_INVALID_PARAMETER;
    *Handle = NULL;
    if (HandleAttributes & ~OBJ_VALID_ATTRIBUTES)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS status = ObReferenceObjectByPointer(Object, 0, ObjectType, AccessMode);
    if (!NT_SUCCESS(status))
        return status;
    KPROCESSOR_MODE checkMode = (HandleAttributes & OBJ_FORCE_ACCESS_CHECK) ? UserMode : AccessMode;
    ACCESS_MASK granted;
    if (PassedAccessState != NULL && PassedAccessState->SecurityEvaluated)
        granted = PassedAccessState->PreviouslyGrantedAccess;
    else
        status = ObpCheckObjectAccess(Object, PassedAccessState, checkMode, DesiredAccess, &granted);
    if (NT_SUCCESS(status)) {
        ULONG attributes = HandleAttributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE | OBJ_EXCLUSIVE);
        if (AccessMode != KernelMode)
            attributes &= ~OBJ_KERNEL_HANDLE;
        status = ObpCreateHandle(ObOpenHandle, Object, granted, attributes, AccessMode, PsGetCurrentProcess(), Handle);
    }
    if (!NT_SUCCESS(status))
        ObDereferenceObject(Object);
    return status;
}

/* ---- temporary and permanent objects ------------------------------------------------------ */

VOID NTAPI ObMakeTemporaryObject(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    ObpLockExclusive(&ObpNamespaceLock);
    __atomic_and_fetch(&h->Flags, (UCHAR)~OB_FLAG_PERMANENT_OBJECT, __ATOMIC_RELAXED);
    ObpUnlockExclusive(&ObpNamespaceLock);
    ObpDeleteNameCheck(Object);
}

static NTSTATUS ObpMakeTemporary(HANDLE Handle, KPROCESSOR_MODE PreviousMode)
{
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, DELETE, NULL, PreviousMode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ObMakeTemporaryObject(object);
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ZwMakeTemporaryObject(HANDLE Handle)
{
    return ObpMakeTemporary(Handle, KernelMode);
}

NTSTATUS NTAPI NtMakeTemporaryObject(HANDLE Handle)
{
    return ObpMakeTemporary(Handle, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwMakePermanentObject(HANDLE Handle)
{
    PVOID object;
    NTSTATUS status = ObReferenceObjectByHandle(Handle, 0, NULL, KernelMode, &object, NULL);
    if (!NT_SUCCESS(status))
        return status;
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(object);
    ObpLockExclusive(&ObpNamespaceLock);
    __atomic_or_fetch(&h->Flags, (UCHAR)OB_FLAG_PERMANENT_OBJECT, __ATOMIC_RELAXED);
    ObpUnlockExclusive(&ObpNamespaceLock);
    ObDereferenceObject(object);
    return STATUS_SUCCESS;
}

/* ---- names ------------------------------------------------------------------------------ */

/* Length in bytes of the object's full path ("\A\B"); 0 for an unnamed object. */
static ULONG ObpFullNameLength(PVOID Object)
{
    if (Object == ObpRootDirectoryObject)
        return sizeof(WCHAR);
    ULONG len = 0;
    PVOID o = Object;
    while (o != ObpRootDirectoryObject) {
        POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(OBJECT_TO_OBJECT_HEADER(o));
        if (ni == NULL || ni->Directory == NULL)
            return 0;
        len += sizeof(WCHAR) + ni->Name.Length;
        o = ni->Directory;
    }
    return len;
}

NTSTATUS NTAPI ObQueryNameString(PVOID Object, POBJECT_NAME_INFORMATION ObjectNameInfo, ULONG Length,
                                 PULONG ReturnLength)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObGetObjectType(Object);
    ULONG dummy;
    if (ReturnLength == NULL)
        ReturnLength = &dummy;
    if (type->TypeInfo.QueryNameProcedure != NULL) {
        return type->TypeInfo.QueryNameProcedure(Object, ObpHeaderNameInfo(h) != NULL, ObjectNameInfo, Length,
                                                 ReturnLength, KernelMode);
    }
    ObpLockShared(&ObpNamespaceLock);
    ULONG nameLen = ObpFullNameLength(Object);
    if (nameLen > UNICODE_STRING_MAX_BYTES - sizeof(WCHAR)) {
        /* Nested names can outgrow what one UNICODE_STRING can describe. */
        ObpUnlockShared(&ObpNamespaceLock);
        *ReturnLength = 0;
        return STATUS_NAME_TOO_LONG;
    }
    ULONG needed = sizeof(OBJECT_NAME_INFORMATION) + nameLen + (nameLen ? sizeof(WCHAR) : 0);
    *ReturnLength = needed;
    if (Length < needed || ObjectNameInfo == NULL) {
        ObpUnlockShared(&ObpNamespaceLock);
        return STATUS_INFO_LENGTH_MISMATCH;
    }
    PWSTR buf = (PWSTR)(ObjectNameInfo + 1);
    if (nameLen == 0) {
        ObjectNameInfo->Name.Length = ObjectNameInfo->Name.MaximumLength = 0;
        ObjectNameInfo->Name.Buffer = NULL;
    } else {
        /* Fill from the end: the object's own name last. */
        PWSTR end = (PWSTR)((PUCHAR)buf + nameLen);
        *end = UNICODE_NULL;
        if (Object == ObpRootDirectoryObject) {
            buf[0] = L'\\';
        } else {
            PVOID o = Object;
            while (o != ObpRootDirectoryObject) {
                POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(OBJECT_TO_OBJECT_HEADER(o));
                end = (PWSTR)((PUCHAR)end - ni->Name.Length);
                RtlCopyMemory(end, ni->Name.Buffer, ni->Name.Length);
                *--end = L'\\';
                o = ni->Directory;
            }
        }
        ObjectNameInfo->Name.Buffer = buf;
        ObjectNameInfo->Name.Length = (USHORT)nameLen;
        ObjectNameInfo->Name.MaximumLength = (USHORT)(nameLen + sizeof(WCHAR));
    }
    ObpUnlockShared(&ObpNamespaceLock);
    return STATUS_SUCCESS;
}

/* ---- ZwQueryObject / ZwSetInformationObject ------------------------------------------------ */

static NTSTATUS ObpQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS Class, PVOID Info, ULONG Length,
                               PULONG ReturnLength, KPROCESSOR_MODE PreviousMode)
{
    PVOID object;
    ACCESS_MASK granted;
    ULONG attributes;
    ULONG dummy;
    if (ReturnLength == NULL)
        ReturnLength = &dummy;
    *ReturnLength = 0;
    NTSTATUS status = ObpQueryHandleEntry(Handle, PreviousMode, &object, &granted, &attributes);
    if (!NT_SUCCESS(status))
        return status;
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(object);
    POBJECT_TYPE type = ObGetObjectType(object);
    switch (Class) {
    case ObjectBasicInformation: {
        *ReturnLength = sizeof(PUBLIC_OBJECT_BASIC_INFORMATION);
        if (Length != sizeof(PUBLIC_OBJECT_BASIC_INFORMATION) || Info == NULL) {
            status = STATUS_INFO_LENGTH_MISMATCH;
            break;
        }
        PPUBLIC_OBJECT_BASIC_INFORMATION b = Info;
        RtlZeroMemory(b, sizeof(*b));
        b->Attributes = attributes | ((h->Flags & OB_FLAG_PERMANENT_OBJECT) ? OBJ_PERMANENT : 0) |
                        ((h->Flags & OB_FLAG_EXCLUSIVE_OBJECT) ? OBJ_EXCLUSIVE : 0);
        b->GrantedAccess = granted;
        b->HandleCount = (ULONG)h->HandleCount;
        b->PointerCount = (ULONG)(h->PointerCount - 1); /* without this query's own reference */
        break;
    }
    case ObjectNameInformation:
        status = ObQueryNameString(object, Info, Info ? Length : 0, ReturnLength);
        break;
    case ObjectTypeInformation: {
        ULONG needed = sizeof(PUBLIC_OBJECT_TYPE_INFORMATION) + type->Name.Length + sizeof(WCHAR);
        *ReturnLength = needed;
        if (Length < needed || Info == NULL) {
            status = STATUS_INFO_LENGTH_MISMATCH;
            break;
        }
        PPUBLIC_OBJECT_TYPE_INFORMATION t = Info;
        RtlZeroMemory(t, sizeof(*t));
        PWSTR buf = (PWSTR)(t + 1);
        RtlCopyMemory(buf, type->Name.Buffer, type->Name.Length);
        buf[type->Name.Length / sizeof(WCHAR)] = UNICODE_NULL;
        t->TypeName.Buffer = buf;
        t->TypeName.Length = type->Name.Length;
        t->TypeName.MaximumLength = (USHORT)(type->Name.Length + sizeof(WCHAR));
        break;
    }
    case ObjectHandleFlagInformation: {
        *ReturnLength = sizeof(OBJECT_HANDLE_FLAG_INFORMATION);
        if (Length != sizeof(OBJECT_HANDLE_FLAG_INFORMATION) || Info == NULL) {
            status = STATUS_INFO_LENGTH_MISMATCH;
            break;
        }
        POBJECT_HANDLE_FLAG_INFORMATION f = Info;
        f->Inherit = (attributes & OBJ_INHERIT) != 0;
        f->ProtectFromClose = (attributes & OBJ_PROTECT_CLOSE) != 0;
        break;
    }
    default:
        status = STATUS_INVALID_INFO_CLASS;
        break;
    }
    ObDereferenceObject(object);
    return status;
}

NTSTATUS NTAPI ZwQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass, PVOID ObjectInformation,
                             ULONG ObjectInformationLength, PULONG ReturnLength)
{
    return ObpQueryObject(Handle, ObjectInformationClass, ObjectInformation, ObjectInformationLength, ReturnLength,
                          KernelMode);
}

NTSTATUS NTAPI NtQueryObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass, PVOID ObjectInformation,
                             ULONG ObjectInformationLength, PULONG ReturnLength)
{
    return ObpQueryObject(Handle, ObjectInformationClass, ObjectInformation, ObjectInformationLength, ReturnLength,
                          ExGetPreviousMode());
}

NTSTATUS NTAPI ZwSetInformationObject(HANDLE Handle, OBJECT_INFORMATION_CLASS ObjectInformationClass,
                                      PVOID ObjectInformation, ULONG ObjectInformationLength)
{
    if (ObjectInformationClass != ObjectHandleFlagInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (ObjectInformation == NULL || ObjectInformationLength != sizeof(OBJECT_HANDLE_FLAG_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    POBJECT_HANDLE_FLAG_INFORMATION f = ObjectInformation;
    return ObpSetHandleAttributes(Handle, KernelMode, f->Inherit, f->ProtectFromClose);
}
