/*
 * Symbolic links for drivers: IoCreateSymbolicLink,
 * IoCreateUnprotectedSymbolicLink and IoDeleteSymbolicLink, over the object
 * manager's link objects.
 *
 * Links are permanent (a driver's \??\Foo must outlive the handle used to
 * create it) and carry a descriptor of their own: protected links may be
 * followed by everyone but changed only by SYSTEM and administrators,
 * unprotected ones by anyone (see iomgr.c). Deleting a link makes it
 * temporary and closes the only handle, which takes its name away.
 *
 * Statuses are those of the Zw services underneath: a duplicate name is
 * STATUS_OBJECT_NAME_COLLISION, a missing one STATUS_OBJECT_NAME_NOT_FOUND (or
 * STATUS_OBJECT_PATH_NOT_FOUND for a missing directory), a bad name
 * STATUS_OBJECT_NAME_INVALID.
 *
 * IRQL: PASSIVE_LEVEL.
 */
#include "iop.h"

static NTSTATUS IopCreateLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName, PSECURITY_DESCRIPTOR Sd)
{
    if (SymbolicLinkName == NULL || DeviceName == NULL)
        return STATUS_INVALID_PARAMETER;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, SymbolicLinkName, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               Sd);
    HANDLE link;
    NTSTATUS status = ZwCreateSymbolicLinkObject(&link, SYMBOLIC_LINK_ALL_ACCESS, &oa, DeviceName);
    if (NT_SUCCESS(status))
        ZwClose(link);
    return status;
}

NTSTATUS NTAPI IoCreateSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
    return IopCreateLink(SymbolicLinkName, DeviceName, IopProtectedLinkSd);
}

NTSTATUS NTAPI IoCreateUnprotectedSymbolicLink(PUNICODE_STRING SymbolicLinkName, PUNICODE_STRING DeviceName)
{
    return IopCreateLink(SymbolicLinkName, DeviceName, IopUnprotectedLinkSd);
}

NTSTATUS NTAPI IoDeleteSymbolicLink(PUNICODE_STRING SymbolicLinkName)
{
    if (SymbolicLinkName == NULL)
        return STATUS_INVALID_PARAMETER;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, SymbolicLinkName, OBJ_OPENLINK | OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL,
                               NULL);
    HANDLE link;
    NTSTATUS status = ZwOpenSymbolicLinkObject(&link, DELETE, &oa);
    if (!NT_SUCCESS(status))
        return status;
    status = ZwMakeTemporaryObject(link);
    ZwClose(link);
    return status;
}
