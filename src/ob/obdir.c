/*
 * Directory and symbolic-link objects and their services.
 *
 * A directory's entries each belong to a named child; the child's name
 * holds a reference on the directory, so a directory with entries cannot be
 * deleted. Enumeration order is bucket order, then chain order: stable
 * between calls while the directory does not change, which is what the
 * ZwQueryDirectoryObject context (an entry index) relies on.
 *
 * IRQL: PASSIVE_LEVEL.
 */
#include "obp.h"

const GENERIC_MAPPING ObpDirectoryMapping = {
    STANDARD_RIGHTS_READ | DIRECTORY_QUERY | DIRECTORY_TRAVERSE,
    STANDARD_RIGHTS_WRITE | DIRECTORY_CREATE_OBJECT | DIRECTORY_CREATE_SUBDIRECTORY,
    STANDARD_RIGHTS_EXECUTE | DIRECTORY_QUERY | DIRECTORY_TRAVERSE,
    DIRECTORY_ALL_ACCESS,
};

/* ---- directories ------------------------------------------------------------------------ */

static NTSTATUS ObpCreateDirectory(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                   POBJECT_ATTRIBUTES ObjectAttributes, KPROCESSOR_MODE PreviousMode)
{
    if (DirectoryHandle == NULL)
        return STATUS_INVALID_PARAMETER;
    *DirectoryHandle = NULL;
    PVOID dir;
    NTSTATUS status = ObCreateObject(PreviousMode, ObDirectoryObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(OBJECT_DIRECTORY), 0, 0, &dir);
    if (!NT_SUCCESS(status))
        return status;
    return ObInsertObject(dir, NULL, DesiredAccess, 0, NULL, DirectoryHandle);
}

NTSTATUS NTAPI ZwCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ObpCreateDirectory(DirectoryHandle, DesiredAccess, ObjectAttributes, KernelMode);
}

NTSTATUS NTAPI NtCreateDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                       POBJECT_ATTRIBUTES ObjectAttributes)
{
    return ObpCreateDirectory(DirectoryHandle, DesiredAccess, ObjectAttributes, ExGetPreviousMode());
}

NTSTATUS NTAPI ZwOpenDirectoryObject(PHANDLE DirectoryHandle, ACCESS_MASK DesiredAccess,
                                     POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (DirectoryHandle == NULL)
        return STATUS_INVALID_PARAMETER;
    return ObOpenObjectByName(ObjectAttributes, ObDirectoryObjectType, KernelMode, NULL, DesiredAccess, NULL,
                              DirectoryHandle);
}

NTSTATUS NTAPI ZwQueryDirectoryObject(HANDLE DirectoryHandle, PVOID Buffer, ULONG Length, BOOLEAN ReturnSingleEntry,
                                      BOOLEAN RestartScan, PULONG Context, PULONG ReturnLength)
{
    if (Context == NULL)
        return STATUS_INVALID_PARAMETER;
    POBJECT_DIRECTORY dir;
    NTSTATUS status = ObReferenceObjectByHandle(DirectoryHandle, DIRECTORY_QUERY, ObDirectoryObjectType, KernelMode,
                                                (PVOID *)&dir, NULL);
    if (!NT_SUCCESS(status))
        return status;
    ULONG start = RestartScan ? 0 : *Context;
    ULONG dummy;
    if (ReturnLength == NULL)
        ReturnLength = &dummy;
    *ReturnLength = 0;

    ObpLockShared(&ObpNamespaceLock);
    /* Pass 1: how many entries from `start` fit (the array needs one extra,
     * all-zero entry as its terminator; names follow the array). */
    ULONG index = 0, count = 0, arrayBytes = sizeof(OBJECT_DIRECTORY_INFORMATION), stringBytes = 0;
    ULONG firstNeeded = 0;
    BOOLEAN more = FALSE, any = FALSE;
    for (ULONG b = 0; b < OBP_DIRECTORY_BUCKETS && !more; b++) {
        for (POBJECT_DIRECTORY_ENTRY e = dir->HashBuckets[b]; e != NULL; e = e->ChainLink, index++) {
            if (index < start)
                continue;
            POBJECT_HEADER oh = OBJECT_TO_OBJECT_HEADER(e->Object);
            POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(oh);
            POBJECT_TYPE t = ObpHeaderType(oh);
            ULONG strings = ni->Name.Length + sizeof(WCHAR) + t->Name.Length + sizeof(WCHAR);
            ULONG total = arrayBytes + sizeof(OBJECT_DIRECTORY_INFORMATION) + stringBytes + strings;
            if (!any) {
                any = TRUE;
                firstNeeded = total;
            }
            if ((ReturnSingleEntry && count == 1) || total > Length) {
                more = TRUE;
                break;
            }
            count++;
            arrayBytes += sizeof(OBJECT_DIRECTORY_INFORMATION);
            stringBytes += strings;
        }
    }
    if (!any) {
        status = STATUS_NO_MORE_ENTRIES;
    } else if (count == 0) {
        *ReturnLength = firstNeeded;
        status = STATUS_BUFFER_TOO_SMALL;
    } else if (Buffer == NULL) {
        status = STATUS_INVALID_PARAMETER;
    } else {
        /* Pass 2: fill the first `count` entries from `start`. */
        POBJECT_DIRECTORY_INFORMATION info = Buffer;
        PUCHAR strings = (PUCHAR)Buffer + arrayBytes;
        ULONG n = 0;
        index = 0;
        for (ULONG b = 0; b < OBP_DIRECTORY_BUCKETS && n < count; b++) {
            for (POBJECT_DIRECTORY_ENTRY e = dir->HashBuckets[b]; e != NULL && n < count; e = e->ChainLink, index++) {
                if (index < start)
                    continue;
                POBJECT_HEADER oh = OBJECT_TO_OBJECT_HEADER(e->Object);
                POBJECT_HEADER_NAME_INFO ni = ObpHeaderNameInfo(oh);
                POBJECT_TYPE t = ObpHeaderType(oh);
                info[n].Name.Buffer = (PWSTR)strings;
                info[n].Name.Length = ni->Name.Length;
                info[n].Name.MaximumLength = (USHORT)(ni->Name.Length + sizeof(WCHAR));
                RtlCopyMemory(strings, ni->Name.Buffer, ni->Name.Length);
                strings += ni->Name.Length;
                *(PWCHAR)strings = UNICODE_NULL;
                strings += sizeof(WCHAR);
                info[n].TypeName.Buffer = (PWSTR)strings;
                info[n].TypeName.Length = t->Name.Length;
                info[n].TypeName.MaximumLength = (USHORT)(t->Name.Length + sizeof(WCHAR));
                RtlCopyMemory(strings, t->Name.Buffer, t->Name.Length);
                strings += t->Name.Length;
                *(PWCHAR)strings = UNICODE_NULL;
                strings += sizeof(WCHAR);
                n++;
            }
        }
        RtlZeroMemory(&info[count], sizeof(OBJECT_DIRECTORY_INFORMATION));
        *ReturnLength = arrayBytes + stringBytes;
        *Context = start + count;
        status = more ? STATUS_MORE_ENTRIES : STATUS_SUCCESS;
    }
    ObpUnlockShared(&ObpNamespaceLock);
    ObDereferenceObject(dir);
    return status;
}

/* ---- symbolic links ------------------------------------------------------------------------ */

VOID NTAPI ObpSymbolicLinkDeleteProcedure(PVOID Object)
{
    POBJECT_SYMBOLIC_LINK link = Object;
    if (link->LinkTarget.Buffer != NULL)
        ExFreePoolWithTag(link->LinkTarget.Buffer, OB_TAG_LINK);
}

static NTSTATUS ObpCreateSymbolicLink(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                      POBJECT_ATTRIBUTES ObjectAttributes, PUNICODE_STRING LinkTarget,
                                      KPROCESSOR_MODE PreviousMode)
{
    if (LinkHandle == NULL || LinkTarget == NULL)
        return STATUS_INVALID_PARAMETER;
    *LinkHandle = NULL;
    if ((LinkTarget->Length & 1) || LinkTarget->Length > LinkTarget->MaximumLength ||
        (LinkTarget->Length != 0 && LinkTarget->Buffer == NULL))
        return STATUS_INVALID_PARAMETER;
    PWSTR target = ExAllocatePoolWithTag(PagedPool, (SIZE_T)LinkTarget->Length + sizeof(WCHAR), OB_TAG_LINK);
    if (target == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    if (LinkTarget->Length != 0)
        RtlCopyMemory(target, LinkTarget->Buffer, LinkTarget->Length);
    target[LinkTarget->Length / sizeof(WCHAR)] = UNICODE_NULL;

    POBJECT_SYMBOLIC_LINK link;
    NTSTATUS status = ObCreateObject(PreviousMode, ObSymbolicLinkObjectType, ObjectAttributes, PreviousMode, NULL,
                                     sizeof(OBJECT_SYMBOLIC_LINK), 0, 0, (PVOID *)&link);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(target, OB_TAG_LINK);
        return status;
    }
    KeQuerySystemTime(&link->CreationTime);
    link->LinkTarget.Buffer = target;
    link->LinkTarget.Length = LinkTarget->Length;
    link->LinkTarget.MaximumLength = (USHORT)(LinkTarget->Length + sizeof(WCHAR));
    return ObInsertObject(link, NULL, DesiredAccess, 0, NULL, LinkHandle);
}

NTSTATUS NTAPI ZwCreateSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                          POBJECT_ATTRIBUTES ObjectAttributes, PUNICODE_STRING LinkTarget)
{
    return ObpCreateSymbolicLink(LinkHandle, DesiredAccess, ObjectAttributes, LinkTarget, KernelMode);
}

NTSTATUS NTAPI ZwOpenSymbolicLinkObject(PHANDLE LinkHandle, ACCESS_MASK DesiredAccess,
                                        POBJECT_ATTRIBUTES ObjectAttributes)
{
    if (LinkHandle == NULL)
        return STATUS_INVALID_PARAMETER;
    *LinkHandle = NULL;
    if (ObjectAttributes == NULL || ObjectAttributes->Length != sizeof(OBJECT_ATTRIBUTES))
        return STATUS_INVALID_PARAMETER;
    /* Opening a link opens the link itself, never its target. */
    OBJECT_ATTRIBUTES oa = *ObjectAttributes;
    oa.Attributes |= OBJ_OPENLINK;
    return ObOpenObjectByName(&oa, ObSymbolicLinkObjectType, KernelMode, NULL, DesiredAccess, NULL, LinkHandle);
}

NTSTATUS NTAPI ZwQuerySymbolicLinkObject(HANDLE LinkHandle, PUNICODE_STRING LinkTarget, PULONG ReturnedLength)
{
    if (LinkTarget == NULL)
        return STATUS_INVALID_PARAMETER;
    POBJECT_SYMBOLIC_LINK link;
    NTSTATUS status = ObReferenceObjectByHandle(LinkHandle, SYMBOLIC_LINK_QUERY, ObSymbolicLinkObjectType, KernelMode,
                                                (PVOID *)&link, NULL);
    if (!NT_SUCCESS(status))
        return status;
    USHORT len = link->LinkTarget.Length;
    ULONG needed = (ULONG)len + sizeof(WCHAR);
    if (ReturnedLength != NULL)
        *ReturnedLength = needed;
    if (LinkTarget->MaximumLength != 0 && LinkTarget->Buffer == NULL) {
        status = STATUS_ACCESS_VIOLATION; /* a claimed buffer that is not there */
    } else if (LinkTarget->MaximumLength < len) {
        status = STATUS_BUFFER_TOO_SMALL;
    } else {
        RtlCopyMemory(LinkTarget->Buffer, link->LinkTarget.Buffer, len);
        LinkTarget->Length = len;
        /* The terminator is a courtesy when there is room for it. */
        if (LinkTarget->MaximumLength >= needed)
            LinkTarget->Buffer[len / sizeof(WCHAR)] = UNICODE_NULL;
        else if (ReturnedLength != NULL)
            *ReturnedLength = len;
        status = STATUS_SUCCESS;
    }
    ObDereferenceObject(link);
    return status;
}

NTSTATUS ObpCreateSymbolicLinkInternal(PCWSTR Path, PCWSTR Target)
{
    UNICODE_STRING name, target;
    RtlInitUnicodeString(&name, Path);
    RtlInitUnicodeString(&target, Target);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &name, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE, NULL, NULL);
    PWSTR buffer = ExAllocatePoolWithTag(PagedPool, (SIZE_T)target.Length + sizeof(WCHAR), OB_TAG_LINK);
    if (buffer == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(buffer, target.Buffer, target.Length + sizeof(WCHAR));
    POBJECT_SYMBOLIC_LINK link;
    NTSTATUS status = ObCreateObject(KernelMode, ObSymbolicLinkObjectType, &oa, KernelMode, NULL,
                                     sizeof(OBJECT_SYMBOLIC_LINK), 0, 0, (PVOID *)&link);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(buffer, OB_TAG_LINK);
        return status;
    }
    KeQuerySystemTime(&link->CreationTime);
    link->LinkTarget.Buffer = buffer;
    link->LinkTarget.Length = target.Length;
    link->LinkTarget.MaximumLength = (USHORT)(target.Length + sizeof(WCHAR));
    PVOID inserted;
    status = ObInsertObject(link, NULL, 0, 0, &inserted, NULL);
    if (NT_SUCCESS(status))
        ObDereferenceObject(inserted);
    return status;
}
