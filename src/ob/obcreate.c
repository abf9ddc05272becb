/*
 * Object creation and insertion.
 *
 * ObCreateObject allocates and captures; nothing is visible to anyone else
 * until ObInsertObject puts the object into the namespace (when named) and
 * into a handle table (when the caller wants a handle). Every failure of
 * ObInsertObject consumes the creator's reference, as on Windows, so a
 * caller never cleans up after a failed insert.
 *
 * IRQL: PASSIVE_LEVEL (both take push locks and may allocate paged pool).
 */
#include "obp.h"

#ifndef STATUS_REPARSE_POINT_ENCOUNTERED
#define STATUS_REPARSE_POINT_ENCOUNTERED ((NTSTATUS)0xC000050BL)
#endif

NTSTATUS ObpCaptureObjectName(PUNICODE_STRING Captured, PCUNICODE_STRING Name, BOOLEAN AllowEmpty)
{
    Captured->Length = Captured->MaximumLength = 0;
    Captured->Buffer = NULL;
    if (Name == NULL || Name->Length == 0) {
        /* A present-but-empty name is an unnamed object for creation. */
        return AllowEmpty ? STATUS_SUCCESS : STATUS_OBJECT_NAME_INVALID;
    }
    if ((Name->Length & 1) || Name->Length > Name->MaximumLength || Name->Buffer == NULL ||
        ((ULONG_PTR)Name->Buffer & 1))
        return STATUS_OBJECT_NAME_INVALID;
    /* One extra WCHAR keeps the copy NUL-terminated for debugging output. */
    PWSTR buf = ExAllocatePoolWithTag(PagedPool, (SIZE_T)Name->Length + sizeof(WCHAR), OB_TAG_NAME);
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(buf, Name->Buffer, Name->Length);
    buf[Name->Length / sizeof(WCHAR)] = UNICODE_NULL;
    Captured->Buffer = buf;
    Captured->Length = Name->Length;
    Captured->MaximumLength = (USHORT)(Name->Length + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

VOID ObpReleaseCapturedName(PUNICODE_STRING Captured)
{
    if (Captured->Buffer != NULL)
        ExFreePoolWithTag(Captured->Buffer, OB_TAG_NAME);
    Captured->Buffer = NULL;
    Captured->Length = Captured->MaximumLength = 0;
}

VOID ObpFreeCreateInformation(POBJECT_HEADER Header)
{
    POBJECT_CREATE_INFORMATION ci = Header->ObjectCreateInfo;
    if (ci == NULL)
        return;
    Header->ObjectCreateInfo = NULL;
    ObpReleaseCapturedName(&ci->Name);
    if (ci->SecurityDescriptor != NULL)
        SeReleaseSecurityDescriptor(ci->SecurityDescriptor, ci->ProbeMode, TRUE);
    ExFreePoolWithTag(ci, OB_TAG_CREATE);
}

NTSTATUS NTAPI ObCreateObject(KPROCESSOR_MODE ProbeMode, POBJECT_TYPE ObjectType, POBJECT_ATTRIBUTES ObjectAttributes,
                              KPROCESSOR_MODE OwnershipMode, PVOID ParseContext, ULONG ObjectBodySize,
                              ULONG PagedPoolCharge, ULONG NonPagedPoolCharge, PVOID *Object)
{
    (void)PagedPoolCharge;
    (void)NonPagedPoolCharge;
    if (Object == NULL || ObjectType == NULL)
        return STATUS_INVALID_PARAMETER;
    *Object = NULL;
    if (ObjectBodySize > 0x7FFFFFF0u - 0x100u)
        return STATUS_INSUFFICIENT_RESOURCES;

    POBJECT_CREATE_INFORMATION ci = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*ci), OB_TAG_CREATE);
    if (ci == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(ci, sizeof(*ci));
    ci->ProbeMode = ProbeMode;
    ci->ParseContext = ParseContext;

    NTSTATUS status = STATUS_SUCCESS;
    if (ObjectAttributes != NULL) {
        if (ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES) ||
            (ObjectAttributes->Attributes & ~OBJ_VALID_ATTRIBUTES) != 0 ||
            (ObjectAttributes->Attributes & ObjectType->TypeInfo.InvalidAttributes) != 0) {
            status = STATUS_INVALID_PARAMETER;
            goto fail;
        }
        ci->Attributes = ObjectAttributes->Attributes;
        /* Kernel handles are a kernel-mode privilege: user callers lose the bit. */
        if (ProbeMode != KernelMode)
            ci->Attributes &= ~OBJ_KERNEL_HANDLE;
        ci->RootDirectory = ObjectAttributes->RootDirectory;
        status = ObpCaptureObjectName(&ci->Name, ObjectAttributes->ObjectName, TRUE);
        if (!NT_SUCCESS(status))
            goto fail;
        if (ci->Name.Length == 0 && ci->RootDirectory != NULL) {
            status = STATUS_OBJECT_NAME_INVALID;
            goto fail;
        }
        if (ci->Name.Length != 0 && ObjectType->TypeInfo.UnnamedObjectsOnly) {
            status = STATUS_OBJECT_NAME_INVALID;
            goto fail;
        }
        if (ObjectAttributes->SecurityDescriptor != NULL) {
            status = SeCaptureSecurityDescriptor(ObjectAttributes->SecurityDescriptor, ProbeMode, PagedPool, TRUE,
                                                 &ci->SecurityDescriptor);
            if (!NT_SUCCESS(status))
                goto fail;
        }
        if (ObjectAttributes->SecurityQualityOfService != NULL) {
            PSECURITY_QUALITY_OF_SERVICE qos = ObjectAttributes->SecurityQualityOfService;
            ci->SecurityQos = *qos;
            ci->HasQos = TRUE;
        }
    }

    BOOLEAN named = ci->Name.Length != 0;
    UCHAR infoMask = 0;
    SIZE_T prefix = 0;
    if (ObjectType->TypeInfo.MaintainHandleCount || (ci->Attributes & OBJ_EXCLUSIVE)) {
        infoMask |= OB_INFOMASK_HANDLE;
        prefix += sizeof(OBJECT_HEADER_HANDLE_INFO);
    }
    if (named) {
        infoMask |= OB_INFOMASK_NAME;
        prefix += sizeof(OBJECT_HEADER_NAME_INFO);
    }
    if (ObjectType->TypeInfo.MaintainTypeList) {
        infoMask |= OB_INFOMASK_CREATOR_INFO;
        prefix += sizeof(OBJECT_HEADER_CREATOR_INFO);
    }
    SIZE_T total = prefix + FIELD_OFFSET(OBJECT_HEADER, Body) + ObjectBodySize;
    PUCHAR block = ExAllocatePoolWithTag(ObjectType->TypeInfo.PoolType, total, ObjectType->Key);
    if (block == NULL) {
        status = STATUS_INSUFFICIENT_RESOURCES;
        goto fail;
    }
    RtlZeroMemory(block, total);
    POBJECT_HEADER header = (POBJECT_HEADER)(block + prefix);
    header->PointerCount = 1;
    header->HandleCount = 0;
    header->TypeIndex = ObjectType->Index;
    header->InfoMask = infoMask;
    header->Flags = OB_FLAG_NEW_OBJECT;
    if (OwnershipMode == KernelMode)
        header->Flags |= OB_FLAG_KERNEL_OBJECT;
    if (ci->Attributes & OBJ_PERMANENT)
        header->Flags |= OB_FLAG_PERMANENT_OBJECT;
    if (ci->Attributes & OBJ_EXCLUSIVE)
        header->Flags |= OB_FLAG_EXCLUSIVE_OBJECT;
    header->ObjectCreateInfo = ci;
    ExInitializePushLock(&header->Lock);

    POBJECT_HEADER_CREATOR_INFO creator = ObpHeaderCreatorInfo(header);
    if (creator != NULL) {
        creator->CreatorUniqueProcess = PsGetCurrentProcessId();
        ObpLockExclusive(&ObjectType->TypeLock);
        InsertTailList(&ObjectType->TypeList, &creator->TypeList);
        ObpUnlockExclusive(&ObjectType->TypeLock);
    }

    ULONG objects = __atomic_add_fetch(&ObjectType->TotalNumberOfObjects, 1, __ATOMIC_RELAXED);
    ObpRaiseHighWater(&ObjectType->HighWaterNumberOfObjects, objects);
    *Object = ObpHeaderBody(header);
    return STATUS_SUCCESS;

fail:
    ObpReleaseCapturedName(&ci->Name);
    if (ci->SecurityDescriptor != NULL)
        SeReleaseSecurityDescriptor(ci->SecurityDescriptor, ProbeMode, TRUE);
    ExFreePoolWithTag(ci, OB_TAG_CREATE);
    return status;
}

NTSTATUS NTAPI ObInsertObject(PVOID Object, PACCESS_STATE PassedAccessState, ACCESS_MASK DesiredAccess,
                              ULONG ObjectPointerBias, PVOID *NewObject, PHANDLE Handle)
{
    POBJECT_HEADER header = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObGetObjectType(Object);
    POBJECT_CREATE_INFORMATION ci = header->ObjectCreateInfo;
    if (!(header->Flags & OB_FLAG_NEW_OBJECT) || ci == NULL)
        return STATUS_INVALID_PARAMETER; /* inserted twice: the object is not ours to drop */
    if (Handle != NULL)
        *Handle = NULL;
    if (NewObject != NULL)
        *NewObject = NULL;

    KPROCESSOR_MODE mode = ci->ProbeMode;
    ULONG attributes = ci->Attributes;
    NTSTATUS status;

    if ((attributes & OBJ_PERMANENT) && mode != KernelMode &&
        !SeSinglePrivilegeCheck((LUID){SE_CREATE_PERMANENT_PRIVILEGE, 0}, mode)) {
        ObDereferenceObject(Object);
        return STATUS_PRIVILEGE_NOT_HELD;
    }

    ACCESS_STATE localState;
    PACCESS_STATE accessState = PassedAccessState;
    if (accessState == NULL) {
        status = SeCreateAccessState(&localState, NULL, DesiredAccess, &type->TypeInfo.GenericMapping);
        if (!NT_SUCCESS(status)) {
            ObDereferenceObject(Object);
            return status;
        }
        accessState = &localState;
    }

    PVOID inserted = Object;
    BOOLEAN existing = FALSE;
    if (ci->Name.Length != 0) {
        PVOID found = NULL;
        status = ObpLookupObjectName(ci->RootDirectory, &ci->Name, attributes, type, mode, ci->ParseContext,
                                     accessState, Object, &found);
        if (status == STATUS_OBJECT_NAME_COLLISION && found != NULL && (attributes & OBJ_OPENIF)) {
            if (ObGetObjectType(found) != type) {
                ObDereferenceObject(found);
                status = STATUS_OBJECT_TYPE_MISMATCH;
            } else {
                inserted = found;
                existing = TRUE;
                status = STATUS_SUCCESS;
            }
        } else if (!NT_SUCCESS(status) && found != NULL) {
            ObDereferenceObject(found);
        } else if (NT_SUCCESS(status) && found != Object) {
            /* A parse procedure answered with another object: creation by
             * name through a parse routine is not this object's insertion. */
            if (found != NULL)
                ObDereferenceObject(found);
            status = STATUS_OBJECT_NAME_COLLISION;
        }
        if (!NT_SUCCESS(status)) {
            if (accessState == &localState)
                SeDeleteAccessState(&localState);
            ObDereferenceObject(Object);
            return status;
        }
        /* The lookup returned the object with one reference of its own. For
         * a new object that is one too many (the creation reference becomes
         * the handle's); for an existing one (OBJ_OPENIF) it is the handle's. */
        if (!existing)
            ObDereferenceObject(inserted);
    } else if (ci->SecurityDescriptor != NULL || type->TypeInfo.SecurityRequired) {
        status = ObpAssignSecurity(Object, NULL, ci->SecurityDescriptor);
        if (!NT_SUCCESS(status)) {
            if (accessState == &localState)
                SeDeleteAccessState(&localState);
            ObDereferenceObject(Object);
            return status;
        }
    }

    ACCESS_MASK granted;
    if (existing) {
        /* OBJ_OPENIF found an object: the new one goes away and the caller
         * opens the old one with an ordinary access check. */
        ObDereferenceObject(Object);
        Object = inserted;
        status = ObpCheckObjectAccess(Object, accessState, mode, DesiredAccess, &granted);
        if (!NT_SUCCESS(status)) {
            if (accessState == &localState)
                SeDeleteAccessState(&localState);
            ObDereferenceObject(Object);
            return status;
        }
    } else {
        granted = ObpMapAccess(type, DesiredAccess | accessState->PreviouslyGrantedAccess);
        header->Flags &= (UCHAR)~OB_FLAG_NEW_OBJECT;
        ObpFreeCreateInformation(header);
    }
    if (accessState == &localState)
        SeDeleteAccessState(&localState);

    for (ULONG i = 0; i < ObjectPointerBias; i++)
        ObfReferenceObject(Object);

    if (Handle != NULL) {
        /* The creation (or lookup) reference becomes the handle's. */
        status = ObpCreateHandle(existing ? ObOpenHandle : ObCreateHandle, Object, granted,
                                 attributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE | OBJ_EXCLUSIVE), mode,
                                 PsGetCurrentProcess(), Handle);
        if (!NT_SUCCESS(status)) {
            /* A named temporary object without handles leaves the namespace. */
            ObpDeleteNameCheck(Object);
            for (ULONG i = 0; i < ObjectPointerBias; i++)
                ObDereferenceObject(Object);
            ObDereferenceObject(Object);
            return status;
        }
    }
    if (NewObject != NULL)
        *NewObject = Object;
    return existing ? STATUS_OBJECT_NAME_EXISTS : STATUS_SUCCESS;
}
