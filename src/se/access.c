/*
 * The access check, privilege checks and subject-context locking.
 *
 * SeAccessCheck in NT's order:
 *  - KernelMode callers get what they ask for (generic bits mapped;
 *    MAXIMUM_ALLOWED becomes the type's GenericAll), no questions asked.
 *  - Otherwise the DACL decides, for the effective token (the client token
 *    when impersonating, else the primary token; a thread with neither runs
 *    as SYSTEM). No DACL, or a NULL DACL, grants everything; an empty DACL
 *    grants nothing. ACEs are evaluated in order, inherit-only ones skipped:
 *    an allow ACE grants the bits it names that no earlier deny ACE took, a
 *    deny ACE takes the bits it names that no earlier allow ACE granted.
 *    Allow ACEs count for the user and enabled groups; deny ACEs also for
 *    deny-only groups. Generic bits in ACE masks are mapped with the type's
 *    mapping. ACCESS_SYSTEM_SECURITY and MAXIMUM_ALLOWED are never granted by
 *    an ACE.
 *  - The owner is implicitly granted READ_CONTROL and WRITE_DAC, unless the
 *    DACL has OWNER RIGHTS (S-1-3-4) ACEs, which then say what the owner gets.
 *  - A restricted token must pass the same evaluation a second time with
 *    its restricting SIDs; only what both grant is granted (for a
 *    write-restricted token, only the write bits are restricted: the
 *    type's GenericWrite, DELETE, WRITE_DAC, WRITE_OWNER).
 *  - Privileges: SeTakeOwnershipPrivilege grants WRITE_OWNER the DACL did
 *    not; ACCESS_SYSTEM_SECURITY needs SeSecurityPrivilege
 *    (STATUS_PRIVILEGE_NOT_HELD without it). Privileges used are reported.
 *  - PreviouslyGrantedAccess is granted already and only added to the result.
 *  - MAXIMUM_ALLOWED grants everything the evaluation allows (at least one
 *    bit, and every other bit asked for); otherwise every bit asked for must
 *    be granted. Failure is STATUS_ACCESS_DENIED with GrantedAccess 0.
 *
 * IRQL: PASSIVE_LEVEL or APC_LEVEL (push locks on tokens).
 */
#include "sep.h"

#define SEP_NEVER_FROM_ACE (ACCESS_SYSTEM_SECURITY | MAXIMUM_ALLOWED)

VOID SepMapAcl(PACL Acl, const GENERIC_MAPPING *GenericMapping)
{
    if (Acl == NULL || GenericMapping == NULL)
        return;
    PUCHAR p = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < Acl->AceCount; i++) {
        PACE_HEADER ace = (PACE_HEADER)p;
        /* Inherit-only ACEs keep their generic bits: they are mapped when
         * inherited, with the child's type mapping. */
        if (ace->AceType <= ACCESS_MAX_MS_V2_ACE_TYPE && !(ace->AceFlags & INHERIT_ONLY_ACE))
            RtlMapGenericMask(&((PACCESS_ALLOWED_ACE)ace)->Mask, GenericMapping);
        p += ace->AceSize;
    }
}

/* Does the DACL say anything effective about OWNER RIGHTS? */
static BOOLEAN SepDaclHasOwnerRights(PACL Dacl)
{
    PUCHAR p = (PUCHAR)Dacl + sizeof(ACL);
    for (ULONG i = 0; i < Dacl->AceCount; i++) {
        PACE_HEADER ace = (PACE_HEADER)p;
        p += ace->AceSize;
        if (ace->AceFlags & INHERIT_ONLY_ACE)
            continue;
        if (ace->AceType != ACCESS_ALLOWED_ACE_TYPE && ace->AceType != ACCESS_DENIED_ACE_TYPE)
            continue;
        if (RtlEqualSid(&((PACCESS_ALLOWED_ACE)ace)->SidStart, SepOwnerRightsSid))
            return TRUE;
    }
    return FALSE;
}

/*
 * Everything one pass of the DACL grants (the maximum-allowed evaluation;
 * a specific request is granted iff it is a subset, because a deny ACE only
 * ever takes bits no earlier ACE granted). Restricted selects the SID list.
 */
static ACCESS_MASK SepEvaluateDacl(PACL Dacl, PSID Owner, PTOKEN Token, BOOLEAN Restricted,
                                   const GENERIC_MAPPING *GenericMapping)
{
    BOOLEAN isOwner = Owner != NULL && SepSidInToken(Token, Owner, FALSE, Restricted);
    ACCESS_MASK granted = 0, denied = 0;

    if (isOwner && !SepDaclHasOwnerRights(Dacl))
        granted = READ_CONTROL | WRITE_DAC;

    PUCHAR p = (PUCHAR)Dacl + sizeof(ACL);
    for (ULONG i = 0; i < Dacl->AceCount; i++) {
        PACE_HEADER header = (PACE_HEADER)p;
        p += header->AceSize;
        if (header->AceFlags & INHERIT_ONLY_ACE)
            continue;
        if (header->AceType != ACCESS_ALLOWED_ACE_TYPE && header->AceType != ACCESS_DENIED_ACE_TYPE)
            continue;
        PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)header;
        BOOLEAN deny = header->AceType == ACCESS_DENIED_ACE_TYPE;
        PSID sid = &ace->SidStart;
        BOOLEAN matches = RtlEqualSid(sid, SepOwnerRightsSid) ? isOwner : SepSidInToken(Token, sid, deny, Restricted);
        if (!matches)
            continue;
        ACCESS_MASK mask = ace->Mask;
        RtlMapGenericMask(&mask, GenericMapping);
        mask &= ~SEP_NEVER_FROM_ACE;
        if (deny)
            denied |= mask & ~granted;
        else
            granted |= mask & ~denied;
    }
    return granted;
}

NTSTATUS SepAccessCheckToken(PSECURITY_DESCRIPTOR SecurityDescriptor, PTOKEN Token, ACCESS_MASK DesiredAccess,
                             ACCESS_MASK PreviouslyGrantedAccess, const GENERIC_MAPPING *GenericMapping,
                             PACCESS_MASK GrantedAccess, PULONG PrivilegesUsed)
{
    ULONG used = 0;
    *GrantedAccess = 0;
    *PrivilegesUsed = 0;

    ACCESS_MASK desired = DesiredAccess;
    RtlMapGenericMask(&desired, GenericMapping);
    BOOLEAN maximum = (desired & MAXIMUM_ALLOWED) != 0;
    desired &= ~MAXIMUM_ALLOWED;

    /* Nothing left to decide: asking for nothing is not an access. */
    if (!maximum && (desired & ~PreviouslyGrantedAccess) == 0) {
        if ((desired | PreviouslyGrantedAccess) == 0)
            return STATUS_ACCESS_DENIED;
        *GrantedAccess = desired | PreviouslyGrantedAccess;
        return STATUS_SUCCESS;
    }

    if (SecurityDescriptor == NULL || !RtlValidSecurityDescriptor(SecurityDescriptor))
        return STATUS_INVALID_SECURITY_DESCR;
    PSID owner;
    PACL dacl;
    RtlpGetSecurityDescriptorParts(SecurityDescriptor, &owner, NULL, NULL, &dacl);

    ACCESS_MASK granted;
    if (dacl == NULL) {
        /* No DACL at all (or a NULL one): no protection. */
        granted = (GenericMapping->GenericAll | desired) & ~SEP_NEVER_FROM_ACE;
    } else {
        granted = SepEvaluateDacl(dacl, owner, Token, FALSE, GenericMapping);
        ULONG flags = __atomic_load_n(&Token->TokenFlags, __ATOMIC_RELAXED);
        if (flags & TOKEN_IS_RESTRICTED) {
            ACCESS_MASK restricted = SepEvaluateDacl(dacl, owner, Token, TRUE, GenericMapping);
            if (flags & TOKEN_WRITE_RESTRICTED) {
                /* Write access: the type's generic write plus the standard
                 * rights that modify; READ_CONTROL and SYNCHRONIZE (which
                 * STANDARD_RIGHTS_WRITE folds in) stay unrestricted. */
                ACCESS_MASK write = GenericMapping->GenericWrite;
                RtlMapGenericMask(&write, GenericMapping);
                write = (write | DELETE | WRITE_DAC | WRITE_OWNER) & ~(READ_CONTROL | SYNCHRONIZE);
                granted &= restricted | ~write;
            } else {
                granted &= restricted;
            }
        }
    }
    granted |= PreviouslyGrantedAccess;

    if (!(granted & WRITE_OWNER) && ((desired & WRITE_OWNER) || maximum) &&
        SepPrivilegeEnabled(Token, SE_TAKE_OWNERSHIP_PRIVILEGE)) {
        granted |= WRITE_OWNER;
        used |= SEP_USED_TAKE_OWNERSHIP_PRIVILEGE;
    }
    if ((desired & ACCESS_SYSTEM_SECURITY) && !(granted & ACCESS_SYSTEM_SECURITY)) {
        if (!SepPrivilegeEnabled(Token, SE_SECURITY_PRIVILEGE))
            return STATUS_PRIVILEGE_NOT_HELD;
        granted |= ACCESS_SYSTEM_SECURITY;
        used |= SEP_USED_SECURITY_PRIVILEGE;
    }

    if ((desired & ~granted) != 0 || (maximum && granted == 0))
        return STATUS_ACCESS_DENIED;
    *GrantedAccess = maximum ? granted : (desired | PreviouslyGrantedAccess);
    *PrivilegesUsed = used;
    return STATUS_SUCCESS;
}

PTOKEN SepEffectiveToken(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    if (SubjectContext->ClientToken != NULL)
        return SubjectContext->ClientToken;
    if (SubjectContext->PrimaryToken != NULL)
        return SubjectContext->PrimaryToken;
    return SepSystemToken;
}

/* ---- subject context locking ---------------------------------------------------------------- */

/*
 * Shared on both tokens (once if they are the same token: a second shared
 * acquire of one push lock can deadlock behind a queued writer), inside a
 * critical region as push locks require.
 */
NTKERNELAPI VOID NTAPI SeLockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    PTOKEN primary = SubjectContext->PrimaryToken;
    PTOKEN client = SubjectContext->ClientToken;
    KeEnterCriticalRegion();
    if (primary != NULL)
        ExAcquirePushLockShared(&primary->Lock);
    if (client != NULL && client != primary)
        ExAcquirePushLockShared(&client->Lock);
}

NTKERNELAPI VOID NTAPI SeUnlockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext)
{
    PTOKEN primary = SubjectContext->PrimaryToken;
    PTOKEN client = SubjectContext->ClientToken;
    if (client != NULL && client != primary)
        ExReleasePushLockShared(&client->Lock);
    if (primary != NULL)
        ExReleasePushLockShared(&primary->Lock);
    KeLeaveCriticalRegion();
}

/* ---- SeAccessCheck ----------------------------------------------------------------------- */

static PPRIVILEGE_SET SepBuildPrivilegeSet(ULONG Used)
{
    static const ULONG which[] = {SE_SECURITY_PRIVILEGE, SE_TAKE_OWNERSHIP_PRIVILEGE};
    static const ULONG bits[] = {SEP_USED_SECURITY_PRIVILEGE, SEP_USED_TAKE_OWNERSHIP_PRIVILEGE};
    ULONG count = 0;
    for (ULONG i = 0; i < RTL_NUMBER_OF(bits); i++)
        count += (Used & bits[i]) != 0;
    PPRIVILEGE_SET set = SepAllocatePool(
        PagedPool, FIELD_OFFSET(PRIVILEGE_SET, Privilege) + count * sizeof(LUID_AND_ATTRIBUTES), SEP_TAG_PRIVILEGES);
    if (set == NULL)
        return NULL;
    set->PrivilegeCount = count;
    set->Control = 0;
    ULONG n = 0;
    for (ULONG i = 0; i < RTL_NUMBER_OF(bits); i++) {
        if (Used & bits[i]) {
            set->Privilege[n].Luid = (LUID){which[i], 0};
            set->Privilege[n].Attributes = SE_PRIVILEGE_USED_FOR_ACCESS;
            n++;
        }
    }
    return set;
}

NTKERNELAPI BOOLEAN NTAPI SeAccessCheck(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                        PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                                        BOOLEAN SubjectContextLocked, ACCESS_MASK DesiredAccess,
                                        ACCESS_MASK PreviouslyGrantedAccess, PPRIVILEGE_SET *Privileges,
                                        PGENERIC_MAPPING GenericMapping, KPROCESSOR_MODE AccessMode,
                                        PACCESS_MASK GrantedAccess, PNTSTATUS AccessStatus)
{
    if (Privileges != NULL)
        *Privileges = NULL;

    if (AccessMode == KernelMode) {
        ACCESS_MASK mapped = DesiredAccess;
        RtlMapGenericMask(&mapped, GenericMapping);
        if (mapped & MAXIMUM_ALLOWED)
            mapped = (mapped & ~MAXIMUM_ALLOWED) | GenericMapping->GenericAll;
        *GrantedAccess = mapped | PreviouslyGrantedAccess;
        *AccessStatus = STATUS_SUCCESS;
        return TRUE;
    }

    *GrantedAccess = 0;
    if (SecurityDescriptor == NULL) {
        *AccessStatus = STATUS_ACCESS_DENIED;
        return FALSE;
    }
    /* Access checks need at least an identification-level client token. */
    if (SubjectSecurityContext->ClientToken != NULL &&
        SubjectSecurityContext->ImpersonationLevel < SecurityIdentification) {
        *AccessStatus = STATUS_BAD_IMPERSONATION_LEVEL;
        return FALSE;
    }

    PTOKEN token = SepEffectiveToken(SubjectSecurityContext);
    /* SeLockSubjectContext does not know about the SYSTEM fallback; lock it here. */
    BOOLEAN lockFallback = token != SubjectSecurityContext->ClientToken && token != SubjectSecurityContext->PrimaryToken;
    if (!SubjectContextLocked)
        SeLockSubjectContext(SubjectSecurityContext);
    if (lockFallback) {
        KeEnterCriticalRegion();
        ExAcquirePushLockShared(&token->Lock);
    }
    ULONG used = 0;
    ACCESS_MASK granted = 0;
    NTSTATUS status =
        SepAccessCheckToken(SecurityDescriptor, token, DesiredAccess, PreviouslyGrantedAccess, GenericMapping,
                            &granted, &used);
    if (lockFallback) {
        ExReleasePushLockShared(&token->Lock);
        KeLeaveCriticalRegion();
    }
    if (!SubjectContextLocked)
        SeUnlockSubjectContext(SubjectSecurityContext);

    if (NT_SUCCESS(status) && used != 0 && Privileges != NULL) {
        *Privileges = SepBuildPrivilegeSet(used);
        if (*Privileges == NULL)
            status = STATUS_INSUFFICIENT_RESOURCES;
    }
    if (!NT_SUCCESS(status)) {
        *AccessStatus = status;
        return FALSE;
    }
    *GrantedAccess = granted;
    *AccessStatus = STATUS_SUCCESS;
    return TRUE;
}

NTKERNELAPI VOID NTAPI SeFreePrivileges(PPRIVILEGE_SET Privileges)
{
    if (Privileges != NULL)
        ExFreePoolWithTag(Privileges, SEP_TAG_PRIVILEGES);
}

/* ---- privilege checks ---------------------------------------------------------------------- */

/*
 * Marks each privilege of the set the token has enabled with
 * SE_PRIVILEGE_USED_FOR_ACCESS. With PRIVILEGE_SET_ALL_NECESSARY all must be
 * held, otherwise any one. Reads each enable state atomically and takes no
 * lock, so callers may hold the subject context locked or not.
 */
NTKERNELAPI BOOLEAN NTAPI SePrivilegeCheck(PPRIVILEGE_SET RequiredPrivileges,
                                           PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                                           KPROCESSOR_MODE AccessMode)
{
    if (AccessMode == KernelMode)
        return TRUE;
    if (SubjectSecurityContext->ClientToken != NULL &&
        SubjectSecurityContext->ImpersonationLevel < SecurityIdentification)
        return FALSE;
    PTOKEN token = SepEffectiveToken(SubjectSecurityContext);
    ULONG held = 0;
    for (ULONG i = 0; i < RequiredPrivileges->PrivilegeCount; i++) {
        PLUID_AND_ATTRIBUTES p = &RequiredPrivileges->Privilege[i];
        if (p->Luid.HighPart == 0 && SepPrivilegeEnabled(token, p->Luid.LowPart)) {
            p->Attributes |= SE_PRIVILEGE_USED_FOR_ACCESS;
            held++;
        }
    }
    if (RequiredPrivileges->Control & PRIVILEGE_SET_ALL_NECESSARY)
        return held == RequiredPrivileges->PrivilegeCount;
    return held != 0;
}
