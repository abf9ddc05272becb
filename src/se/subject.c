/*
 * Subject contexts and access states: who is asking.
 *
 * A subject context holds references to the current process's primary token
 * and, when the current thread is an executive thread that impersonates, to
 * its client token. Bare kernel threads (idle, boot, KeInitializeThread
 * threads) have no Ps impersonation state, so only the primary token is
 * captured for them; a context with no token at all is checked as SYSTEM.
 *
 * IRQL: PASSIVE_LEVEL or APC_LEVEL.
 */
#include "sep.h"
#include <ntos/ps.h>

NTKERNELAPI VOID NTAPI SeCaptureSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    PEPROCESS process = PsGetCurrentProcess();
    SubjectContext->ProcessAuditId = process;
    SubjectContext->ClientToken = NULL;
    SubjectContext->ImpersonationLevel = SecurityAnonymous;
    if (PsIsExecutiveThread(KeGetCurrentThread())) {
        BOOLEAN copyOnOpen = FALSE, effectiveOnly = FALSE;
        SECURITY_IMPERSONATION_LEVEL level = SecurityAnonymous;
        SubjectContext->ClientToken =
            PsReferenceImpersonationToken(PsGetCurrentThread(), &copyOnOpen, &effectiveOnly, &level);
        if (SubjectContext->ClientToken != NULL)
            SubjectContext->ImpersonationLevel = level;
    }
    SubjectContext->PrimaryToken = PsReferencePrimaryToken(process);
}

NTKERNELAPI VOID NTAPI SeReleaseSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    if (SubjectContext->PrimaryToken != NULL)
        PsDereferencePrimaryToken(SubjectContext->PrimaryToken);
    if (SubjectContext->ClientToken != NULL)
        PsDereferenceImpersonationToken(SubjectContext->ClientToken);
    SubjectContext->PrimaryToken = NULL;
    SubjectContext->ClientToken = NULL;
}

/* KernelMode is trusted outright; otherwise the current subject must hold the
 * privilege enabled. */
NTKERNELAPI BOOLEAN NTAPI SeSinglePrivilegeCheck(LUID PrivilegeValue, KPROCESSOR_MODE PreviousMode)
{
    if (PreviousMode == KernelMode)
        return TRUE;
    SECURITY_SUBJECT_CONTEXT subject;
    PRIVILEGE_SET set;
    set.PrivilegeCount = 1;
    set.Control = PRIVILEGE_SET_ALL_NECESSARY;
    set.Privilege[0].Luid = PrivilegeValue;
    set.Privilege[0].Attributes = 0;
    SeCaptureSubjectContext(&subject);
    BOOLEAN held = SePrivilegeCheck(&set, &subject, PreviousMode);
    SeReleaseSubjectContext(&subject);
    return held;
}

/*
 * The access state starts with the mapped desired access still to be
 * granted, nothing granted, the captured subject and an empty privilege
 * set. AuxData (optional here; NT requires it) records where privileges
 * used go and the type's mapping. Flags gets TOKEN_HAS_TRAVERSE_PRIVILEGE
 * when the subject may traverse directories without a check, as in NT.
 */
NTKERNELAPI NTSTATUS NTAPI SeCreateAccessState(PACCESS_STATE AccessState, PVOID AuxData,
                                               ACCESS_MASK DesiredAccess, PGENERIC_MAPPING GenericMapping)
{
    if (AccessState == NULL)
        return STATUS_INVALID_PARAMETER;
    RtlZeroMemory(AccessState, sizeof(*AccessState));
    ACCESS_MASK desired = DesiredAccess;
    if (GenericMapping != NULL)
        RtlMapGenericMask(&desired, GenericMapping);

    SeCaptureSubjectContext(&AccessState->SubjectSecurityContext);
    AccessState->OperationID = SepAllocateLuid();
    AccessState->RemainingDesiredAccess = desired;
    AccessState->OriginalDesiredAccess = desired;
    AccessState->PreviouslyGrantedAccess = 0;
    AccessState->AuxData = AuxData;
    AccessState->Privileges.InitialPrivilegeSet.PrivilegeCount = 0;
    AccessState->Privileges.InitialPrivilegeSet.Control = 0;
    if (AuxData != NULL) {
        PAUX_ACCESS_DATA aux = AuxData;
        RtlZeroMemory(aux, sizeof(*aux));
        aux->PrivilegesUsed = &AccessState->Privileges.PrivilegeSet;
        if (GenericMapping != NULL)
            aux->GenericMapping = *GenericMapping;
    }
    PTOKEN token = SepEffectiveToken(&AccessState->SubjectSecurityContext);
    if (token != NULL && SepPrivilegeEnabled(token, SE_CHANGE_NOTIFY_PRIVILEGE))
        AccessState->Flags |= TOKEN_HAS_TRAVERSE_PRIVILEGE;
    return STATUS_SUCCESS;
}

/*
 * Releases everything the access state owns: the subject context, a
 * privilege set allocated beyond the initial one (PrivilegesAllocated), and
 * the ObjectName/ObjectTypeName buffers, which NT frees here too (whoever
 * fills them must use pool).
 */
NTKERNELAPI VOID NTAPI SeDeleteAccessState(PACCESS_STATE AccessState)
{
    PAUX_ACCESS_DATA aux = AccessState->AuxData;
    if (AccessState->PrivilegesAllocated && aux != NULL && aux->PrivilegesUsed != NULL &&
        aux->PrivilegesUsed != &AccessState->Privileges.PrivilegeSet) {
        ExFreePool(aux->PrivilegesUsed);
        aux->PrivilegesUsed = NULL;
    }
    AccessState->PrivilegesAllocated = FALSE;
    if (AccessState->ObjectName.Buffer != NULL) {
        ExFreePool(AccessState->ObjectName.Buffer);
        AccessState->ObjectName.Buffer = NULL;
    }
    if (AccessState->ObjectTypeName.Buffer != NULL) {
        ExFreePool(AccessState->ObjectTypeName.Buffer);
        AccessState->ObjectTypeName.Buffer = NULL;
    }
    SeReleaseSubjectContext(&AccessState->SubjectSecurityContext);
}
