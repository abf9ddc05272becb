/*
 * The key and value services (Zw*: KernelMode previous mode; Nt*: the
 * caller's, from ExGetPreviousMode) and the information classes.
 *
 * Buffer rules, as documented for ZwQueryKey/ZwQueryValueKey and the
 * enumerations: *ResultLength always receives the size the complete answer
 * needs. A buffer smaller than the fixed part of the structure gets
 * STATUS_BUFFER_TOO_SMALL and nothing written; one that holds the fixed
 * part but not everything gets STATUS_BUFFER_OVERFLOW with the fixed part
 * and as much of the name as fits (value data is copied only whole). An
 * index past the end is STATUS_NO_MORE_ENTRIES; a handle to a deleted key
 * answers STATUS_KEY_DELETED to everything but close.
 *
 * Locking: CmpRegistryLock (cmp.h) shared for queries, exclusive for
 * changes; registry callbacks are called before taking it and after
 * releasing it. PASSIVE_LEVEL.
 */
#include "cmp.h"
#include <ntos/dbg.h>

/* ---- information builders ------------------------------------------------------------------- */

static VOID CmpCopyPartial(PVOID Dest, ULONG DestOffset, ULONG Length, const VOID *Src, ULONG SrcLength)
{
    if (Length <= DestOffset)
        return;
    ULONG room = Length - DestOffset;
    RtlCopyMemory((PUCHAR)Dest + DestOffset, Src, SrcLength < room ? SrcLength : room);
}

static NTSTATUS CmpQueryKeyData(PCM_KEY_NODE Node, KEY_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                PULONG ResultLength, BOOLEAN Enumerate)
{
    ULONG fixed, required;
    ULONG nameLen = Node->Name.Length;
    ULONG classLen = Node->Class.Length;
    switch (Class) {
    case KeyBasicInformation:
        fixed = FIELD_OFFSET(KEY_BASIC_INFORMATION, Name);
        required = fixed + nameLen;
        break;
    case KeyNodeInformation:
        fixed = FIELD_OFFSET(KEY_NODE_INFORMATION, Name);
        required = classLen ? (ULONG)ALIGN_UP_BY(fixed + nameLen, sizeof(ULONG)) + classLen : fixed + nameLen;
        break;
    case KeyFullInformation:
        fixed = FIELD_OFFSET(KEY_FULL_INFORMATION, Class);
        required = fixed + classLen;
        break;
    case KeyNameInformation:
        if (Enumerate)
            return STATUS_INVALID_PARAMETER;
        fixed = FIELD_OFFSET(KEY_NAME_INFORMATION, Name);
        nameLen = CmpFullNameLength(Node);
        required = fixed + nameLen;
        break;
    case KeyCachedInformation:
        if (Enumerate)
            return STATUS_INVALID_PARAMETER;
        fixed = required = sizeof(KEY_CACHED_INFORMATION);
        break;
    default:
        return STATUS_INVALID_PARAMETER;
    }
    *ResultLength = required;
    if (Length < fixed || Buffer == NULL)
        return STATUS_BUFFER_TOO_SMALL;

    ULONG maxName = 0, maxClass = 0, maxValueName = 0, maxValueData = 0;
    for (ULONG i = 0; i < Node->SubKeyCount; i++) {
        if (Node->SubKeys[i]->Name.Length > maxName)
            maxName = Node->SubKeys[i]->Name.Length;
        if (Node->SubKeys[i]->Class.Length > maxClass)
            maxClass = Node->SubKeys[i]->Class.Length;
    }
    for (ULONG i = 0; i < Node->ValueCount; i++) {
        if (Node->Values[i]->Name.Length > maxValueName)
            maxValueName = Node->Values[i]->Name.Length;
        if (Node->Values[i]->DataLength > maxValueData)
            maxValueData = Node->Values[i]->DataLength;
    }

    switch (Class) {
    case KeyBasicInformation: {
        PKEY_BASIC_INFORMATION b = Buffer;
        b->LastWriteTime = Node->LastWriteTime;
        b->TitleIndex = 0;
        b->NameLength = nameLen;
        CmpCopyPartial(Buffer, fixed, Length, Node->Name.Buffer, nameLen);
        break;
    }
    case KeyNodeInformation: {
        PKEY_NODE_INFORMATION n = Buffer;
        n->LastWriteTime = Node->LastWriteTime;
        n->TitleIndex = 0;
        n->ClassLength = classLen;
        n->ClassOffset = classLen ? (ULONG)ALIGN_UP_BY(fixed + nameLen, sizeof(ULONG)) : 0xFFFFFFFFu;
        n->NameLength = nameLen;
        CmpCopyPartial(Buffer, fixed, Length, Node->Name.Buffer, nameLen);
        if (classLen)
            CmpCopyPartial(Buffer, n->ClassOffset, Length, Node->Class.Buffer, classLen);
        break;
    }
    case KeyFullInformation: {
        PKEY_FULL_INFORMATION f = Buffer;
        f->LastWriteTime = Node->LastWriteTime;
        f->TitleIndex = 0;
        f->ClassOffset = classLen ? fixed : 0xFFFFFFFFu;
        f->ClassLength = classLen;
        f->SubKeys = Node->SubKeyCount;
        f->MaxNameLen = maxName;
        f->MaxClassLen = maxClass;
        f->Values = Node->ValueCount;
        f->MaxValueNameLen = maxValueName;
        f->MaxValueDataLen = maxValueData;
        if (classLen)
            CmpCopyPartial(Buffer, fixed, Length, Node->Class.Buffer, classLen);
        break;
    }
    case KeyNameInformation: {
        PKEY_NAME_INFORMATION n = Buffer;
        n->NameLength = nameLen;
        if (Length >= required) {
            CmpWriteFullName(Node, n->Name, nameLen);
        } else {
            /* Build it aside, then copy what fits. */
            PWCHAR tmp = ExAllocatePoolWithTag(PagedPool, nameLen ? nameLen : 1, CM_TAG_TEMP);
            if (tmp == NULL)
                return STATUS_INSUFFICIENT_RESOURCES;
            CmpWriteFullName(Node, tmp, nameLen);
            CmpCopyPartial(Buffer, fixed, Length, tmp, nameLen);
            ExFreePoolWithTag(tmp, CM_TAG_TEMP);
        }
        break;
    }
    case KeyCachedInformation: {
        PKEY_CACHED_INFORMATION c = Buffer;
        c->LastWriteTime = Node->LastWriteTime;
        c->TitleIndex = 0;
        c->SubKeys = Node->SubKeyCount;
        c->MaxNameLen = maxName;
        c->Values = Node->ValueCount;
        c->MaxValueNameLen = maxValueName;
        c->MaxValueDataLen = maxValueData;
        c->NameLength = Node->Name.Length;
        break;
    }
    default:
        break;
    }
    return Length < required ? STATUS_BUFFER_OVERFLOW : STATUS_SUCCESS;
}

static NTSTATUS CmpQueryValueData(PCM_VALUE Value, KEY_VALUE_INFORMATION_CLASS Class, PVOID Buffer, ULONG Length,
                                  PULONG ResultLength)
{
    ULONG nameLen = Value->Name.Length;
    ULONG dataLen = Value->DataLength;
    ULONG fixed, required, dataOffset = 0;
    switch (Class) {
    case KeyValueBasicInformation:
        fixed = FIELD_OFFSET(KEY_VALUE_BASIC_INFORMATION, Name);
        required = fixed + nameLen;
        break;
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64:
        fixed = FIELD_OFFSET(KEY_VALUE_FULL_INFORMATION, Name);
        if (Class == KeyValueFullInformation) {
            dataOffset = (ULONG)ALIGN_UP_BY(fixed + nameLen, sizeof(ULONG));
        } else {
            /* The data lands on an 8-byte boundary of the caller's address space. */
            ULONG_PTR base = (ULONG_PTR)Buffer;
            dataOffset = (ULONG)(ALIGN_UP_BY(base + fixed + nameLen, 8) - base);
        }
        required = dataLen ? dataOffset + dataLen : fixed + nameLen;
        break;
    case KeyValuePartialInformation:
        fixed = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION, Data);
        required = fixed + dataLen;
        break;
    case KeyValuePartialInformationAlign64:
        fixed = FIELD_OFFSET(KEY_VALUE_PARTIAL_INFORMATION_ALIGN64, Data);
        required = fixed + dataLen;
        break;
    default:
        return STATUS_INVALID_PARAMETER;
    }
    *ResultLength = required;
    if (Length < fixed || Buffer == NULL)
        return STATUS_BUFFER_TOO_SMALL;
    BOOLEAN whole = Length >= required;
    switch (Class) {
    case KeyValueBasicInformation: {
        PKEY_VALUE_BASIC_INFORMATION b = Buffer;
        b->TitleIndex = 0;
        b->Type = Value->Type;
        b->NameLength = nameLen;
        CmpCopyPartial(Buffer, fixed, Length, Value->Name.Buffer, nameLen);
        break;
    }
    case KeyValueFullInformation:
    case KeyValueFullInformationAlign64: {
        PKEY_VALUE_FULL_INFORMATION f = Buffer;
        f->TitleIndex = 0;
        f->Type = Value->Type;
        f->DataOffset = dataOffset;
        f->DataLength = dataLen;
        f->NameLength = nameLen;
        CmpCopyPartial(Buffer, fixed, Length, Value->Name.Buffer, nameLen);
        if (whole && dataLen)
            RtlCopyMemory((PUCHAR)Buffer + dataOffset, Value->Data, dataLen);
        break;
    }
    case KeyValuePartialInformation: {
        PKEY_VALUE_PARTIAL_INFORMATION p = Buffer;
        p->TitleIndex = 0;
        p->Type = Value->Type;
        p->DataLength = dataLen;
        if (whole && dataLen)
            RtlCopyMemory(p->Data, Value->Data, dataLen);
        break;
    }
    case KeyValuePartialInformationAlign64: {
        PKEY_VALUE_PARTIAL_INFORMATION_ALIGN64 p = Buffer;
        p->Type = Value->Type;
        p->DataLength = dataLen;
        if (whole && dataLen)
            RtlCopyMemory(p->Data, Value->Data, dataLen);
        break;
    }
    default:
        break;
    }
    return whole ? STATUS_SUCCESS : STATUS_BUFFER_OVERFLOW;
}

/* ---- create / open ------------------------------------------------------------------------ */

static NTSTATUS CmpOpenSameKey(PCM_KEY_BODY Root, ACCESS_MASK Desired, ULONG Attributes, KPROCESSOR_MODE Mode,
                               PHANDLE KeyHandle)
{
    KPROCESSOR_MODE checkMode = (Attributes & OBJ_FORCE_ACCESS_CHECK) ? UserMode : Mode;
    ACCESS_MASK granted;
    CmpLockShared();
    NTSTATUS status = (Root->Node->Flags & CM_KEY_DELETED)
                          ? STATUS_KEY_DELETED
                          : CmpAccessCheckNode(Root->Node, NULL, checkMode, Desired, &granted);
    CmpUnlock();
    if (!NT_SUCCESS(status))
        return status;
    PCM_KEY_BODY body;
    status = CmpCreateKeyBody(Root->Node, &body);
    if (!NT_SUCCESS(status))
        return status;
    /* The check is done; the new body carries no descriptor of its own. */
    status = ObOpenObjectByPointer(body, Attributes & (OBJ_INHERIT | OBJ_KERNEL_HANDLE), NULL, granted,
                                   CmKeyObjectType, Mode, KeyHandle);
    ObDereferenceObject(body);
    return status;
}

static NTSTATUS CmpCreateOrOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                                   ULONG TitleIndex, PUNICODE_STRING Class, ULONG Options, PULONG Disposition,
                                   BOOLEAN Create, KPROCESSOR_MODE Mode)
{
    if (KeyHandle == NULL)
        return STATUS_INVALID_PARAMETER;
    *KeyHandle = NULL;
    if (ObjectAttributes == NULL || ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES) ||
        (ObjectAttributes->Attributes & ~OBJ_VALID_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    if (Options & ~(Create ? REG_LEGAL_OPTION : REG_OPEN_LEGAL_OPTION))
        return STATUS_INVALID_PARAMETER;
    if (Create && (Options & REG_OPTION_CREATE_LINK) && (Options & REG_OPTION_OPEN_LINK))
        return STATUS_INVALID_PARAMETER;
    NTSTATUS status = CmpValidateName(Class, UNICODE_STRING_MAX_BYTES);
    if (!NT_SUCCESS(status))
        return status;
    PUNICODE_STRING name = ObjectAttributes->ObjectName;
    if (name != NULL && ((name->Length & 1) || (name->Length && name->Buffer == NULL)))
        return STATUS_OBJECT_NAME_INVALID;
    if ((name == NULL || name->Length == 0) && ObjectAttributes->RootDirectory == NULL)
        return STATUS_OBJECT_PATH_SYNTAX_BAD;

    PCM_KEY_BODY root = NULL;
    if (ObjectAttributes->RootDirectory != NULL) {
        status = CmpReferenceKeyByHandle(ObjectAttributes->RootDirectory, 0, Mode, &root);
        if (!NT_SUCCESS(status))
            return status;
    }

    ULONG disposition = 0;
    PVOID resultObject = NULL;
    REG_CREATE_KEY_INFORMATION info;
    RtlZeroMemory(&info, sizeof(info));
    info.CompleteName = name;
    info.RootObject = root;
    info.ObjectType = CmKeyObjectType;
    info.CreateOptions = Options;
    info.Class = Class;
    info.SecurityDescriptor = ObjectAttributes->SecurityDescriptor;
    info.SecurityQualityOfService = ObjectAttributes->SecurityQualityOfService;
    info.DesiredAccess = DesiredAccess;
    info.Disposition = &disposition;
    info.ResultObject = &resultObject;
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, Create ? RegNtPreCreateKeyEx : RegNtPreOpenKeyEx, &info,
                        FIELD_OFFSET(REG_CREATE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS)
        status = STATUS_NOT_SUPPORTED; /* a bypassed open must supply an object; ntos takes none */
    PSECURITY_DESCRIPTOR sd = NULL;
    if (NT_SUCCESS(status) && Create && ObjectAttributes->SecurityDescriptor != NULL)
        status = SeCaptureSecurityDescriptor(ObjectAttributes->SecurityDescriptor, Mode, PagedPool, TRUE, &sd);
    if (NT_SUCCESS(status)) {
        if (root != NULL && (name == NULL || name->Length == 0)) {
            status = CmpOpenSameKey(root, DesiredAccess, ObjectAttributes->Attributes, Mode, KeyHandle);
            disposition = REG_OPENED_EXISTING_KEY;
        } else {
            CM_PARSE_CONTEXT ctx;
            RtlZeroMemory(&ctx, sizeof(ctx));
            ctx.Create = Create;
            ctx.Options = Options;
            ctx.TitleIndex = TitleIndex;
            ctx.Class = Class;
            ctx.ExplicitSecurity = sd;
            ctx.DesiredAccess = DesiredAccess;
            OBJECT_ATTRIBUTES oa = *ObjectAttributes;
            oa.Attributes |= OBJ_CASE_INSENSITIVE;
            status = ObOpenObjectByName(&oa, CmKeyObjectType, Mode, NULL, DesiredAccess, &ctx, KeyHandle);
            disposition = ctx.Disposition;
        }
    }
    if (sd != NULL)
        SeReleaseSecurityDescriptor(sd, Mode, TRUE);
    PVOID object = NULL;
    if (NT_SUCCESS(status) && call.Called != 0)
        ObReferenceObjectByHandle(*KeyHandle, 0, CmKeyObjectType, Mode, &object, NULL);
    NTSTATUS final = CmpCallPost(&call, Create ? RegNtPostCreateKeyEx : RegNtPostOpenKeyEx, object, status, &info);
    if (object != NULL)
        ObDereferenceObject(object);
    if (NT_SUCCESS(status) && !NT_SUCCESS(final)) {
        ZwClose(*KeyHandle);
        *KeyHandle = NULL;
    }
    status = final;
    if (NT_SUCCESS(status) && Disposition != NULL)
        *Disposition = disposition;
    if (root != NULL)
        ObDereferenceObject(root);
    return status;
}

NTSTATUS NTAPI ZwCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                           ULONG TitleIndex, PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, TitleIndex, Class, CreateOptions,
                              Disposition, TRUE, KernelMode);
}

NTSTATUS NTAPI NtCreateKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                           ULONG TitleIndex, PUNICODE_STRING Class, ULONG CreateOptions, PULONG Disposition)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, TitleIndex, Class, CreateOptions,
                              Disposition, TRUE, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, 0, NULL, 0, NULL, FALSE, KernelMode);
}

NTSTATUS NTAPI NtOpenKey(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, 0, NULL, 0, NULL, FALSE,
                              ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                           ULONG OpenOptions)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, 0, NULL, OpenOptions, NULL, FALSE,
                              KernelMode);
}

NTSTATUS NTAPI NtOpenKeyEx(PHANDLE KeyHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                           ULONG OpenOptions)
{
    return CmpCreateOrOpenKey(KeyHandle, DesiredAccess, ObjectAttributes, 0, NULL, OpenOptions, NULL, FALSE,
                              ExGetPreviousMode());
}

/* ---- delete / rename / flush ---------------------------------------------------------------- */

static NTSTATUS CmpDeleteKey(HANDLE KeyHandle, KPROCESSOR_MODE Mode)
{
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, DELETE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_DELETE_KEY_INFORMATION info = {body, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreDeleteKey, &info, FIELD_OFFSET(REG_DELETE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockExclusive();
        status = CmpDeleteNode(body->Node);
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostDeleteKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwDeleteKey(HANDLE KeyHandle)
{
    return CmpDeleteKey(KeyHandle, KernelMode);
}

NTSTATUS NTAPI NtDeleteKey(HANDLE KeyHandle)
{
    return CmpDeleteKey(KeyHandle, ExGetPreviousMode());
}

static NTSTATUS CmpRenameKey(HANDLE KeyHandle, PUNICODE_STRING NewName, KPROCESSOR_MODE Mode)
{
    if (NewName == NULL || NewName->Length == 0)
        return STATUS_INVALID_PARAMETER;
    NTSTATUS status = CmpValidateName(NewName, CM_MAX_KEY_NAME_BYTES);
    if (!NT_SUCCESS(status))
        return status;
    for (USHORT i = 0; i < NewName->Length / sizeof(WCHAR); i++)
        if (NewName->Buffer[i] == L'\\')
            return STATUS_INVALID_PARAMETER;
    PCM_KEY_BODY body;
    status = CmpReferenceKeyByHandle(KeyHandle, KEY_WRITE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_RENAME_KEY_INFORMATION info = {body, NewName, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreRenameKey, &info, FIELD_OFFSET(REG_RENAME_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        PCM_KEY_NODE node = body->Node;
        /* A new node block carries the new name; the old one's identity moves over. */
        PWCHAR nameCopy = ExAllocatePoolWithTag(PagedPool, NewName->Length + sizeof(WCHAR), CM_TAG_NAME);
        if (nameCopy == NULL) {
            status = STATUS_INSUFFICIENT_RESOURCES;
        } else {
            RtlCopyMemory(nameCopy, NewName->Buffer, NewName->Length);
            nameCopy[NewName->Length / sizeof(WCHAR)] = UNICODE_NULL;
            CmpLockExclusive();
            BOOLEAN found;
            if (node->Flags & CM_KEY_DELETED) {
                status = STATUS_KEY_DELETED;
            } else if ((node->Flags & CM_KEY_NO_DELETE) || node->Parent == NULL) {
                status = STATUS_ACCESS_DENIED;
            } else {
                PCM_KEY_NODE parent = node->Parent;
                ULONG at = CmpFindSubKey(parent, NewName, &found);
                if (found && parent->SubKeys[at] != node) {
                    status = STATUS_CANNOT_DELETE; /* Windows' answer when the new name is taken */
                } else {
                    CmpRemoveSubKey(parent, node);
                    UNICODE_STRING old = node->Name;
                    node->Name.Buffer = nameCopy;
                    node->Name.Length = NewName->Length;
                    node->Name.MaximumLength = (USHORT)(NewName->Length + sizeof(WCHAR));
                    nameCopy = NULL;
                    /* Cannot fail: the array has room for the entry just removed. */
                    status = CmpInsertSubKey(parent, node);
                    /* The original name lives inside the node block; a renamed one in its own. */
                    if (old.Buffer != (PWSTR)(node + 1))
                        nameCopy = old.Buffer;
                    CmpTouch(node);
                    CmpTouch(parent);
                    CmpReportChange(parent, REG_NOTIFY_CHANGE_NAME);
                }
            }
            CmpUnlock();
            if (nameCopy != NULL)
                ExFreePoolWithTag(nameCopy, CM_TAG_NAME);
        }
    }
    status = CmpCallPost(&call, RegNtPostRenameKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwRenameKey(HANDLE KeyHandle, PUNICODE_STRING NewName)
{
    return CmpRenameKey(KeyHandle, NewName, KernelMode);
}

NTSTATUS NTAPI NtRenameKey(HANDLE KeyHandle, PUNICODE_STRING NewName)
{
    return CmpRenameKey(KeyHandle, NewName, ExGetPreviousMode());
}

static NTSTATUS CmpFlushKey(HANDLE KeyHandle, KPROCESSOR_MODE Mode)
{
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, 0, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_FLUSH_KEY_INFORMATION info = {body, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreFlushKey, &info, FIELD_OFFSET(REG_FLUSH_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        /* Hives live in pool: there is no backing store to write, only the
         * key's existence to confirm. */
        CmpLockShared();
        status = (body->Node->Flags & CM_KEY_DELETED) ? STATUS_KEY_DELETED : STATUS_SUCCESS;
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostFlushKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwFlushKey(HANDLE KeyHandle)
{
    return CmpFlushKey(KeyHandle, KernelMode);
}

NTSTATUS NTAPI NtFlushKey(HANDLE KeyHandle)
{
    return CmpFlushKey(KeyHandle, ExGetPreviousMode());
}

/* ---- values ------------------------------------------------------------------------------------ */

static NTSTATUS CmpSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type, PVOID Data,
                               ULONG DataSize, KPROCESSOR_MODE Mode)
{
    NTSTATUS status = CmpValidateName(ValueName, CM_MAX_VALUE_NAME_BYTES);
    if (!NT_SUCCESS(status))
        return status;
    if (DataSize != 0 && Data == NULL)
        return STATUS_INVALID_PARAMETER;
    PCM_KEY_BODY body;
    status = CmpReferenceKeyByHandle(KeyHandle, KEY_SET_VALUE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING empty = {0, 0, NULL};
    REG_SET_VALUE_KEY_INFORMATION info = {body, ValueName ? ValueName : &empty, TitleIndex, Type, Data, DataSize,
                                          NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreSetValueKey, &info, FIELD_OFFSET(REG_SET_VALUE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockExclusive();
        if (body->Node->Flags & CM_KEY_DELETED) {
            status = STATUS_KEY_DELETED;
        } else {
            status = CmpSetValue(body->Node, ValueName, Type, Data, DataSize);
            if (NT_SUCCESS(status))
                CmpReportChange(body->Node, REG_NOTIFY_CHANGE_LAST_SET);
        }
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostSetValueKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type, PVOID Data,
                             ULONG DataSize)
{
    return CmpSetValueKey(KeyHandle, ValueName, TitleIndex, Type, Data, DataSize, KernelMode);
}

NTSTATUS NTAPI NtSetValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, ULONG TitleIndex, ULONG Type, PVOID Data,
                             ULONG DataSize)
{
    return CmpSetValueKey(KeyHandle, ValueName, TitleIndex, Type, Data, DataSize, ExGetPreviousMode());
}

static NTSTATUS CmpDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, KPROCESSOR_MODE Mode)
{
    NTSTATUS status = CmpValidateName(ValueName, CM_MAX_VALUE_NAME_BYTES);
    if (!NT_SUCCESS(status))
        return status;
    PCM_KEY_BODY body;
    status = CmpReferenceKeyByHandle(KeyHandle, KEY_SET_VALUE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING empty = {0, 0, NULL};
    REG_DELETE_VALUE_KEY_INFORMATION info = {body, ValueName ? ValueName : &empty, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreDeleteValueKey, &info,
                        FIELD_OFFSET(REG_DELETE_VALUE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockExclusive();
        if (body->Node->Flags & CM_KEY_DELETED) {
            status = STATUS_KEY_DELETED;
        } else {
            status = CmpDeleteValue(body->Node, ValueName);
            if (NT_SUCCESS(status))
                CmpReportChange(body->Node, REG_NOTIFY_CHANGE_LAST_SET);
        }
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostDeleteValueKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    return CmpDeleteValueKey(KeyHandle, ValueName, KernelMode);
}

NTSTATUS NTAPI NtDeleteValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName)
{
    return CmpDeleteValueKey(KeyHandle, ValueName, ExGetPreviousMode());
}

static NTSTATUS CmpQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName, KEY_VALUE_INFORMATION_CLASS Class,
                                 PVOID Info, ULONG Length, PULONG ResultLength, KPROCESSOR_MODE Mode)
{
    if (ResultLength == NULL)
        return STATUS_INVALID_PARAMETER;
    *ResultLength = 0;
    NTSTATUS status = CmpValidateName(ValueName, CM_MAX_VALUE_NAME_BYTES);
    if (!NT_SUCCESS(status))
        return status;
    PCM_KEY_BODY body;
    status = CmpReferenceKeyByHandle(KeyHandle, KEY_QUERY_VALUE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING empty = {0, 0, NULL};
    REG_QUERY_VALUE_KEY_INFORMATION info = {body, ValueName ? ValueName : &empty, Class, Info, Length,
                                            ResultLength, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreQueryValueKey, &info,
                        FIELD_OFFSET(REG_QUERY_VALUE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockShared();
        if (body->Node->Flags & CM_KEY_DELETED) {
            status = STATUS_KEY_DELETED;
        } else if (Class >= MaxKeyValueInfoClass || Class == KeyValueLayerInformation) {
            status = STATUS_INVALID_PARAMETER;
        } else {
            PCM_VALUE v = CmpFindValue(body->Node, ValueName, NULL);
            status = v ? CmpQueryValueData(v, Class, Info, Length, ResultLength) : STATUS_OBJECT_NAME_NOT_FOUND;
        }
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostQueryValueKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass, PVOID KeyValueInformation,
                               ULONG Length, PULONG ResultLength)
{
    return CmpQueryValueKey(KeyHandle, ValueName, KeyValueInformationClass, KeyValueInformation, Length,
                            ResultLength, KernelMode);
}

NTSTATUS NTAPI NtQueryValueKey(HANDLE KeyHandle, PUNICODE_STRING ValueName,
                               KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass, PVOID KeyValueInformation,
                               ULONG Length, PULONG ResultLength)
{
    return CmpQueryValueKey(KeyHandle, ValueName, KeyValueInformationClass, KeyValueInformation, Length,
                            ResultLength, ExGetPreviousMode());
}

static NTSTATUS CmpEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS Class, PVOID Info,
                                     ULONG Length, PULONG ResultLength, KPROCESSOR_MODE Mode)
{
    if (ResultLength == NULL)
        return STATUS_INVALID_PARAMETER;
    *ResultLength = 0;
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, KEY_QUERY_VALUE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_ENUMERATE_VALUE_KEY_INFORMATION info = {body, Index, Class, Info, Length, ResultLength, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreEnumerateValueKey, &info,
                        FIELD_OFFSET(REG_ENUMERATE_VALUE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockShared();
        if (body->Node->Flags & CM_KEY_DELETED)
            status = STATUS_KEY_DELETED;
        else if (Class >= MaxKeyValueInfoClass || Class == KeyValueLayerInformation)
            status = STATUS_INVALID_PARAMETER;
        else if (Index >= body->Node->ValueCount)
            status = STATUS_NO_MORE_ENTRIES;
        else
            status = CmpQueryValueData(body->Node->Values[Index], Class, Info, Length, ResultLength);
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostEnumerateValueKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                   PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    return CmpEnumerateValueKey(KeyHandle, Index, KeyValueInformationClass, KeyValueInformation, Length, ResultLength,
                                KernelMode);
}

NTSTATUS NTAPI NtEnumerateValueKey(HANDLE KeyHandle, ULONG Index, KEY_VALUE_INFORMATION_CLASS KeyValueInformationClass,
                                   PVOID KeyValueInformation, ULONG Length, PULONG ResultLength)
{
    return CmpEnumerateValueKey(KeyHandle, Index, KeyValueInformationClass, KeyValueInformation, Length, ResultLength,
                                ExGetPreviousMode());
}

/* ---- key queries ------------------------------------------------------------------------------- */

static NTSTATUS CmpEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS Class, PVOID Info, ULONG Length,
                                PULONG ResultLength, KPROCESSOR_MODE Mode)
{
    if (ResultLength == NULL)
        return STATUS_INVALID_PARAMETER;
    *ResultLength = 0;
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, KEY_ENUMERATE_SUB_KEYS, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_ENUMERATE_KEY_INFORMATION info = {body, Index, Class, Info, Length, ResultLength, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreEnumerateKey, &info, FIELD_OFFSET(REG_ENUMERATE_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockShared();
        if (body->Node->Flags & CM_KEY_DELETED)
            status = STATUS_KEY_DELETED;
        else if (Class != KeyBasicInformation && Class != KeyNodeInformation && Class != KeyFullInformation)
            status = STATUS_INVALID_PARAMETER;
        else if (Index >= body->Node->SubKeyCount)
            status = STATUS_NO_MORE_ENTRIES;
        else
            status = CmpQueryKeyData(body->Node->SubKeys[Index], Class, Info, Length, ResultLength, TRUE);
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostEnumerateKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
                              PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    return CmpEnumerateKey(KeyHandle, Index, KeyInformationClass, KeyInformation, Length, ResultLength, KernelMode);
}

NTSTATUS NTAPI NtEnumerateKey(HANDLE KeyHandle, ULONG Index, KEY_INFORMATION_CLASS KeyInformationClass,
                              PVOID KeyInformation, ULONG Length, PULONG ResultLength)
{
    return CmpEnumerateKey(KeyHandle, Index, KeyInformationClass, KeyInformation, Length, ResultLength,
                           ExGetPreviousMode());
}

static NTSTATUS CmpQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS Class, PVOID Info, ULONG Length,
                            PULONG ResultLength, KPROCESSOR_MODE Mode)
{
    if (ResultLength == NULL)
        return STATUS_INVALID_PARAMETER;
    *ResultLength = 0;
    PCM_KEY_BODY body;
    /* The name needs no right (as on Windows); everything else KEY_QUERY_VALUE. */
    NTSTATUS status =
        CmpReferenceKeyByHandle(KeyHandle, Class == KeyNameInformation ? 0 : KEY_QUERY_VALUE, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_QUERY_KEY_INFORMATION info = {body, Class, Info, Length, ResultLength, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreQueryKey, &info, FIELD_OFFSET(REG_QUERY_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockShared();
        if (body->Node->Flags & CM_KEY_DELETED)
            status = STATUS_KEY_DELETED;
        else
            status = CmpQueryKeyData(body->Node, Class, Info, Length, ResultLength, FALSE);
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostQueryKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                          ULONG Length, PULONG ResultLength)
{
    return CmpQueryKey(KeyHandle, KeyInformationClass, KeyInformation, Length, ResultLength, KernelMode);
}

NTSTATUS NTAPI NtQueryKey(HANDLE KeyHandle, KEY_INFORMATION_CLASS KeyInformationClass, PVOID KeyInformation,
                          ULONG Length, PULONG ResultLength)
{
    return CmpQueryKey(KeyHandle, KeyInformationClass, KeyInformation, Length, ResultLength, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwSetInformationKey(HANDLE KeyHandle, KEY_SET_INFORMATION_CLASS KeySetInformationClass,
                                   PVOID KeySetInformation, ULONG KeySetInformationLength)
{
    if (KeySetInformationClass != KeyWriteTimeInformation)
        return STATUS_INVALID_INFO_CLASS;
    if (KeySetInformation == NULL || KeySetInformationLength != sizeof(KEY_WRITE_TIME_INFORMATION))
        return STATUS_INFO_LENGTH_MISMATCH;
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, KEY_SET_VALUE, KernelMode, &body);
    if (!NT_SUCCESS(status))
        return status;
    REG_SET_INFORMATION_KEY_INFORMATION info = {body, KeySetInformationClass, KeySetInformation,
                                                KeySetInformationLength, NULL, NULL, NULL};
    CM_CALLBACK_CALL call;
    status = CmpCallPre(&call, RegNtPreSetInformationKey, &info,
                        FIELD_OFFSET(REG_SET_INFORMATION_KEY_INFORMATION, CallContext));
    if (status == STATUS_CALLBACK_BYPASS) {
        status = STATUS_SUCCESS;
    } else if (NT_SUCCESS(status)) {
        CmpLockExclusive();
        if (body->Node->Flags & CM_KEY_DELETED) {
            status = STATUS_KEY_DELETED;
        } else {
            body->Node->LastWriteTime = ((PKEY_WRITE_TIME_INFORMATION)KeySetInformation)->LastWriteTime;
            CmpReportChange(body->Node, REG_NOTIFY_CHANGE_LAST_SET);
        }
        CmpUnlock();
    }
    status = CmpCallPost(&call, RegNtPostSetInformationKey, body, status, &info);
    ObDereferenceObject(body);
    return status;
}
