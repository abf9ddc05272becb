/*
 * Security on objects: the descriptor every object may carry, assigned at
 * insertion (from the creator's explicit descriptor, the parent directory's
 * inheritable ACEs and the creator's token), and the access check on open.
 *
 * Kernel-mode opens are trusted (NT's rule: AccessMode == KernelMode skips
 * the check unless the caller forces it with OBJ_FORCE_ACCESS_CHECK, which
 * callers express by passing UserMode). An object without a descriptor is
 * open to everyone.
 *
 * IRQL: PASSIVE_LEVEL (tokens are locked with push locks).
 */
#include "obp.h"

ACCESS_MASK ObpMapAccess(POBJECT_TYPE Type, ACCESS_MASK Access)
{
    if (Access & MAXIMUM_ALLOWED) {
        Access &= ~MAXIMUM_ALLOWED;
        Access |= Type->TypeInfo.GenericMapping.GenericAll;
    }
    RtlMapGenericMask(&Access, &Type->TypeInfo.GenericMapping);
    if (Type->TypeInfo.ValidAccessMask != 0)
        Access &= Type->TypeInfo.ValidAccessMask | ACCESS_SYSTEM_SECURITY;
    return Access;
}

NTSTATUS ObpCheckObjectAccess(PVOID Object, PACCESS_STATE AccessState, KPROCESSOR_MODE AccessMode,
                              ACCESS_MASK DesiredAccess, PACCESS_MASK GrantedAccess)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObpHeaderType(h);
    *GrantedAccess = 0;
    if (AccessMode == KernelMode || h->SecurityDescriptor == NULL) {
        *GrantedAccess = ObpMapAccess(type, DesiredAccess);
        return STATUS_SUCCESS;
    }
    SECURITY_SUBJECT_CONTEXT local;
    PSECURITY_SUBJECT_CONTEXT subject;
    if (AccessState != NULL) {
        subject = &AccessState->SubjectSecurityContext;
    } else {
        SeCaptureSubjectContext(&local);
        subject = &local;
    }
    ACCESS_MASK desired = DesiredAccess;
    RtlMapGenericMask(&desired, &type->TypeInfo.GenericMapping);
    ACCESS_MASK granted = 0;
    NTSTATUS status = STATUS_ACCESS_DENIED;
    SeLockSubjectContext(subject);
    BOOLEAN ok = SeAccessCheck(h->SecurityDescriptor, subject, TRUE, desired, 0, NULL,
                               &type->TypeInfo.GenericMapping, AccessMode, &granted, &status);
    SeUnlockSubjectContext(subject);
    if (subject == &local)
        SeReleaseSubjectContext(&local);
    if (!ok)
        return NT_SUCCESS(status) ? STATUS_ACCESS_DENIED : status;
    if (type->TypeInfo.ValidAccessMask != 0)
        granted &= type->TypeInfo.ValidAccessMask | ACCESS_SYSTEM_SECURITY;
    *GrantedAccess = granted;
    return STATUS_SUCCESS;
}

NTSTATUS ObpAssignSecurity(PVOID Object, POBJECT_DIRECTORY Parent, PSECURITY_DESCRIPTOR Explicit)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    POBJECT_TYPE type = ObpHeaderType(h);
    PSECURITY_DESCRIPTOR parentSd = NULL;
    if (Parent != NULL)
        parentSd = OBJECT_TO_OBJECT_HEADER(Parent)->SecurityDescriptor;
    if (parentSd == NULL && Explicit == NULL && !type->TypeInfo.SecurityRequired)
        return STATUS_SUCCESS; /* nothing to inherit, nothing asked: open to all */
    SECURITY_SUBJECT_CONTEXT subject;
    SeCaptureSubjectContext(&subject);
    PSECURITY_DESCRIPTOR sd = NULL;
    NTSTATUS status = SeAssignSecurity(parentSd, Explicit, &sd, type == ObDirectoryObjectType, &subject,
                                       &type->TypeInfo.GenericMapping, PagedPool);
    SeReleaseSubjectContext(&subject);
    if (!NT_SUCCESS(status))
        return status;
    PSECURITY_DESCRIPTOR old = h->SecurityDescriptor;
    h->SecurityDescriptor = sd;
    if (old != NULL)
        SeDeassignSecurity(&old);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ObGetObjectSecurity(PVOID Object, PSECURITY_DESCRIPTOR *SecurityDescriptor, PBOOLEAN MemoryAllocated)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    *SecurityDescriptor = NULL;
    *MemoryAllocated = FALSE;
    PSECURITY_DESCRIPTOR sd = h->SecurityDescriptor;
    if (sd == NULL)
        return STATUS_SUCCESS;
    /* A private copy: the object's descriptor may be replaced while the
     * caller looks at it. */
    ULONG len = RtlLengthSecurityDescriptor(sd);
    PVOID copy = ExAllocatePoolWithTag(PagedPool, len, OB_TAG_TEMP);
    if (copy == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(copy, sd, len);
    *SecurityDescriptor = copy;
    *MemoryAllocated = TRUE;
    return STATUS_SUCCESS;
}

VOID NTAPI ObReleaseObjectSecurity(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN MemoryAllocated)
{
    if (SecurityDescriptor != NULL && MemoryAllocated)
        ExFreePoolWithTag(SecurityDescriptor, OB_TAG_TEMP);
}
