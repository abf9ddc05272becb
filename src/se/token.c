/*
 * Token bodies: building one from a specification, filtering (restricted
 * tokens), the membership and privilege queries the access check uses, and
 * enabling/disabling privileges and groups. Nothing here knows that tokens
 * are objects (tokenobj.c wraps these in SeTokenObjectType objects), so the
 * access check can be exercised on bare TOKEN bodies.
 *
 * Normalisation at creation (NT's rules for token groups): a deny-only group
 * is never enabled, and a mandatory group that is not deny-only is always
 * enabled. The user entry carries only SE_GROUP_USE_FOR_DENY_ONLY (a
 * filtered token's user may be deny-only); otherwise the user always counts.
 */
#include "sep.h"

PTOKEN SepSystemToken;
volatile LONG SepFailAllocationAfter = -1;

PVOID SepAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag)
{
    LONG countdown = __atomic_load_n(&SepFailAllocationAfter, __ATOMIC_ACQUIRE);
    if (countdown >= 0) {
        if (countdown == 0) {
            __atomic_store_n(&SepFailAllocationAfter, -1, __ATOMIC_RELEASE);
            return NULL;
        }
        __atomic_fetch_sub(&SepFailAllocationAfter, 1, __ATOMIC_ACQ_REL);
    }
    return ExAllocatePoolWithTag(PoolType, NumberOfBytes, Tag);
}

/* NT's allocated LUIDs start above the well-known logon sessions (0x3e4..0x3e7). */
static volatile LONG64 SepLuidSource = 0x1000;

LUID SepAllocateLuid(void)
{
    LONG64 v = __atomic_add_fetch(&SepLuidSource, 1, __ATOMIC_RELAXED);
    LUID luid = {(ULONG)v, (LONG)(v >> 32)};
    return luid;
}

static BOOLEAN SepValidPrivilegeLuid(LUID Luid)
{
    return Luid.HighPart == 0 && Luid.LowPart >= SE_MIN_WELL_KNOWN_PRIVILEGE &&
           Luid.LowPart <= SE_MAX_WELL_KNOWN_PRIVILEGE;
}

static ULONG SepNormalizeGroupAttributes(ULONG Attributes)
{
    if (Attributes & SE_GROUP_USE_FOR_DENY_ONLY)
        return Attributes & ~(SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT);
    if (Attributes & SE_GROUP_MANDATORY)
        return Attributes | SE_GROUP_ENABLED;
    return Attributes;
}

/* Recomputes the TOKEN_HAS_* bits from the privileges' enable state. Runs
 * at creation and with Lock held exclusive. */
static VOID SepUpdatePrivilegeFlags(PTOKEN Token)
{
    static const struct {
        ULONG Privilege;
        ULONG Flag;
    } map[] = {
        {SE_CHANGE_NOTIFY_PRIVILEGE, TOKEN_HAS_TRAVERSE_PRIVILEGE},
        {SE_BACKUP_PRIVILEGE, TOKEN_HAS_BACKUP_PRIVILEGE},
        {SE_RESTORE_PRIVILEGE, TOKEN_HAS_RESTORE_PRIVILEGE},
        {SE_IMPERSONATE_PRIVILEGE, TOKEN_HAS_IMPERSONATE_PRIVILEGE},
    };
    ULONG set = 0, all = 0;
    for (ULONG i = 0; i < RTL_NUMBER_OF(map); i++) {
        all |= map[i].Flag;
        if (SepPrivilegeEnabled(Token, map[i].Privilege))
            set |= map[i].Flag;
    }
    __atomic_fetch_and(&Token->TokenFlags, ~all, __ATOMIC_RELAXED);
    __atomic_fetch_or(&Token->TokenFlags, set, __ATOMIC_RELAXED);
}

static BOOLEAN SepValidSidArray(ULONG Count, const SID_AND_ATTRIBUTES *Array)
{
    for (ULONG i = 0; i < Count; i++) {
        if (!RtlValidSid(Array[i].Sid))
            return FALSE;
    }
    return TRUE;
}

static PUCHAR SepPlace(PUCHAR *Cursor, const VOID *Source, ULONG Length)
{
    PUCHAR at = *Cursor;
    RtlCopyMemory(at, Source, Length);
    *Cursor = at + ALIGN_UP_BY(Length, sizeof(ULONG));
    return at;
}

NTSTATUS SepInitializeToken(PTOKEN Token, const SEP_TOKEN_SPEC *Spec)
{
    RtlZeroMemory(Token, sizeof(*Token));

    if (!RtlValidSid(Spec->User))
        return STATUS_INVALID_SID;
    if (Spec->GroupCount > SEP_MAX_TOKEN_ENTRIES || Spec->RestrictedSidCount > SEP_MAX_TOKEN_ENTRIES ||
        Spec->PrivilegeCount > SEP_MAX_TOKEN_ENTRIES || (Spec->GroupCount != 0 && Spec->Groups == NULL) ||
        (Spec->RestrictedSidCount != 0 && Spec->RestrictedSids == NULL) ||
        (Spec->PrivilegeCount != 0 && Spec->Privileges == NULL))
        return STATUS_INVALID_PARAMETER;
    if (!SepValidSidArray(Spec->GroupCount, Spec->Groups) ||
        !SepValidSidArray(Spec->RestrictedSidCount, Spec->RestrictedSids))
        return STATUS_INVALID_SID;
    if (Spec->TokenType != TokenPrimary && Spec->TokenType != TokenImpersonation)
        return STATUS_BAD_TOKEN_TYPE;
    if ((ULONG)Spec->ImpersonationLevel > SecurityDelegation)
        return STATUS_BAD_IMPERSONATION_LEVEL;
    for (ULONG i = 0; i < Spec->PrivilegeCount; i++) {
        if (!SepValidPrivilegeLuid(Spec->Privileges[i].Luid))
            return STATUS_NO_SUCH_PRIVILEGE;
    }
    if (Spec->DefaultDacl != NULL && !RtlValidAcl(Spec->DefaultDacl))
        return STATUS_INVALID_ACL;

    /* The primary group must be the user or one of the groups (NtCreateToken's rule). */
    BOOLEAN primaryFound = Spec->PrimaryGroup != NULL && RtlValidSid(Spec->PrimaryGroup) &&
                           RtlEqualSid(Spec->PrimaryGroup, Spec->User);
    for (ULONG i = 0; !primaryFound && Spec->PrimaryGroup != NULL && i < Spec->GroupCount; i++)
        primaryFound = RtlValidSid(Spec->PrimaryGroup) && RtlEqualSid(Spec->PrimaryGroup, Spec->Groups[i].Sid);
    if (!primaryFound)
        return STATUS_INVALID_PRIMARY_GROUP;

    /* The default owner must be the user or a group the token may assign as owner. */
    ULONG ownerIndex = 0;
    if (Spec->DefaultOwner != NULL && !(RtlValidSid(Spec->DefaultOwner) &&
                                        RtlEqualSid(Spec->DefaultOwner, Spec->User))) {
        ownerIndex = MAXULONG;
        for (ULONG i = 0; i < Spec->GroupCount && RtlValidSid(Spec->DefaultOwner); i++) {
            ULONG a = SepNormalizeGroupAttributes(Spec->Groups[i].Attributes);
            if ((a & SE_GROUP_OWNER) && !(a & SE_GROUP_USE_FOR_DENY_ONLY) &&
                RtlEqualSid(Spec->DefaultOwner, Spec->Groups[i].Sid)) {
                ownerIndex = i + 1;
                break;
            }
        }
        if (ownerIndex == MAXULONG)
            return STATUS_INVALID_OWNER;
    }

    /* One block: the arrays (8-aligned), then every SID and the DACL (4-aligned). */
    ULONG entries = 1 + Spec->GroupCount;
    SIZE_T size = (SIZE_T)(entries + Spec->RestrictedSidCount) * sizeof(SID_AND_ATTRIBUTES) +
                  ALIGN_UP_BY((SIZE_T)Spec->PrivilegeCount * sizeof(LUID_AND_ATTRIBUTES), 8);
    size += RtlLengthSid(Spec->User) + RtlLengthSid(Spec->PrimaryGroup);
    for (ULONG i = 0; i < Spec->GroupCount; i++)
        size += RtlLengthSid(Spec->Groups[i].Sid);
    for (ULONG i = 0; i < Spec->RestrictedSidCount; i++)
        size += RtlLengthSid(Spec->RestrictedSids[i].Sid);
    if (Spec->DefaultDacl != NULL)
        size += ALIGN_UP_BY(Spec->DefaultDacl->AclSize, sizeof(ULONG));

    PUCHAR block = SepAllocatePool(PagedPool, size, SEP_TAG_TOKEN);
    if (block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PUCHAR cursor = block;
    Token->UserAndGroups = (PSID_AND_ATTRIBUTES)cursor;
    cursor += entries * sizeof(SID_AND_ATTRIBUTES);
    Token->RestrictedSids = Spec->RestrictedSidCount ? (PSID_AND_ATTRIBUTES)cursor : NULL;
    cursor += Spec->RestrictedSidCount * sizeof(SID_AND_ATTRIBUTES);
    Token->Privileges = Spec->PrivilegeCount ? (PLUID_AND_ATTRIBUTES)cursor : NULL;
    cursor += ALIGN_UP_BY(Spec->PrivilegeCount * sizeof(LUID_AND_ATTRIBUTES), 8);

    Token->UserAndGroups[0].Sid = SepPlace(&cursor, Spec->User, RtlLengthSid(Spec->User));
    Token->UserAndGroups[0].Attributes = Spec->UserAttributes & SE_GROUP_USE_FOR_DENY_ONLY;
    for (ULONG i = 0; i < Spec->GroupCount; i++) {
        Token->UserAndGroups[i + 1].Sid = SepPlace(&cursor, Spec->Groups[i].Sid, RtlLengthSid(Spec->Groups[i].Sid));
        Token->UserAndGroups[i + 1].Attributes = SepNormalizeGroupAttributes(Spec->Groups[i].Attributes);
    }
    for (ULONG i = 0; i < Spec->RestrictedSidCount; i++) {
        Token->RestrictedSids[i].Sid =
            SepPlace(&cursor, Spec->RestrictedSids[i].Sid, RtlLengthSid(Spec->RestrictedSids[i].Sid));
        Token->RestrictedSids[i].Attributes = SepNormalizeGroupAttributes(Spec->RestrictedSids[i].Attributes);
    }
    for (ULONG i = 0; i < Spec->PrivilegeCount; i++) {
        Token->Privileges[i].Luid = Spec->Privileges[i].Luid;
        Token->Privileges[i].Attributes =
            Spec->Privileges[i].Attributes & (SE_PRIVILEGE_ENABLED | SE_PRIVILEGE_ENABLED_BY_DEFAULT);
    }
    Token->PrimaryGroup = SepPlace(&cursor, Spec->PrimaryGroup, RtlLengthSid(Spec->PrimaryGroup));
    if (Spec->DefaultDacl != NULL)
        Token->DefaultDacl = (PACL)SepPlace(&cursor, Spec->DefaultDacl, Spec->DefaultDacl->AclSize);

    Token->VariablePart = block;
    Token->VariableLength = (ULONG)size;
    Token->UserAndGroupCount = entries;
    Token->RestrictedSidCount = Spec->RestrictedSidCount;
    Token->PrivilegeCount = Spec->PrivilegeCount;
    Token->DefaultOwnerIndex = ownerIndex;
    Token->TokenType = Spec->TokenType;
    Token->ImpersonationLevel = Spec->ImpersonationLevel;
    Token->AuthenticationId = Spec->AuthenticationId;
    Token->ParentTokenId = Spec->ParentTokenId;
    Token->TokenId = SepAllocateLuid();
    Token->ModifiedId = Token->TokenId;
    Token->TokenFlags = Spec->TokenFlags & (TOKEN_IS_RESTRICTED | TOKEN_WRITE_RESTRICTED | TOKEN_IS_FILTERED |
                                            TOKEN_SANDBOX_INERT);
    if (Spec->RestrictedSidCount != 0)
        Token->TokenFlags |= TOKEN_IS_RESTRICTED;
    ExInitializePushLock(&Token->Lock);
    SepUpdatePrivilegeFlags(Token);
    return STATUS_SUCCESS;
}

VOID SepDeleteToken(PTOKEN Token)
{
    if (Token->VariablePart != NULL)
        ExFreePoolWithTag(Token->VariablePart, SEP_TAG_TOKEN);
    Token->VariablePart = NULL;
    Token->UserAndGroups = Token->RestrictedSids = NULL;
    Token->Privileges = NULL;
    Token->PrimaryGroup = NULL;
    Token->DefaultDacl = NULL;
    Token->UserAndGroupCount = Token->RestrictedSidCount = Token->PrivilegeCount = 0;
}

/* ---- queries -------------------------------------------------------------------------- */

BOOLEAN SepPrivilegeEnabled(PTOKEN Token, ULONG Privilege)
{
    for (ULONG i = 0; i < Token->PrivilegeCount; i++) {
        PLUID_AND_ATTRIBUTES p = &Token->Privileges[i];
        if (p->Luid.LowPart == Privilege && p->Luid.HighPart == 0)
            return (SepAttributes(&p->Attributes) & SE_PRIVILEGE_ENABLED) != 0;
    }
    return FALSE;
}

/*
 * Whether Sid counts for this token. For an allow ACE (ForDeny FALSE) a SID
 * counts if it is the user or an enabled group; for a deny ACE deny-only
 * groups count too (that is what deny-only means). Restricted selects the
 * restricted-SID list instead of the user and groups.
 */
BOOLEAN SepSidInToken(PTOKEN Token, PSID Sid, BOOLEAN ForDeny, BOOLEAN Restricted)
{
    PSID_AND_ATTRIBUTES list = Restricted ? Token->RestrictedSids : Token->UserAndGroups;
    ULONG count = Restricted ? Token->RestrictedSidCount : Token->UserAndGroupCount;

    for (ULONG i = 0; i < count; i++) {
        ULONG a = SepAttributes(&list[i].Attributes);
        BOOLEAN usable;
        if (a & SE_GROUP_USE_FOR_DENY_ONLY)
            usable = ForDeny;
        else
            usable = (!Restricted && i == 0) || (a & SE_GROUP_ENABLED) != 0;
        if (usable && RtlEqualSid(list[i].Sid, Sid))
            return TRUE;
    }
    return FALSE;
}

/*
 * Whether the token may make Owner an object's owner: its user, a group it
 * holds with SE_GROUP_OWNER (not deny-only), or anything at all with
 * SeRestorePrivilege enabled (NT's rule for explicit owners).
 */
BOOLEAN SepValidOwner(PTOKEN Token, PSID Owner)
{
    for (ULONG i = 0; i < Token->UserAndGroupCount; i++) {
        ULONG a = SepAttributes(&Token->UserAndGroups[i].Attributes);
        if (a & SE_GROUP_USE_FOR_DENY_ONLY)
            continue;
        if ((i == 0 || (a & SE_GROUP_OWNER)) && RtlEqualSid(Token->UserAndGroups[i].Sid, Owner))
            return TRUE;
    }
    return SepPrivilegeEnabled(Token, SE_RESTORE_PRIVILEGE);
}

/* ---- enable state ---------------------------------------------------------------------- */

static VOID SepLockTokenExclusive(PTOKEN Token)
{
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusive(&Token->Lock);
}

static VOID SepUnlockTokenExclusive(PTOKEN Token)
{
    ExReleasePushLockExclusive(&Token->Lock);
    KeLeaveCriticalRegion();
}

/* STATUS_NOT_ALL_ASSIGNED when the token does not hold the privilege at all,
 * as NtAdjustPrivilegesToken reports it. */
NTSTATUS SepAdjustPrivilege(PTOKEN Token, LUID Privilege, BOOLEAN Enable, PBOOLEAN WasEnabled)
{
    NTSTATUS status = STATUS_NOT_ALL_ASSIGNED;
    SepLockTokenExclusive(Token);
    for (ULONG i = 0; i < Token->PrivilegeCount; i++) {
        PLUID_AND_ATTRIBUTES p = &Token->Privileges[i];
        if (p->Luid.LowPart != Privilege.LowPart || p->Luid.HighPart != Privilege.HighPart)
            continue;
        ULONG old = p->Attributes;
        ULONG updated = Enable ? (old | SE_PRIVILEGE_ENABLED) : (old & ~SE_PRIVILEGE_ENABLED);
        if (WasEnabled != NULL)
            *WasEnabled = (old & SE_PRIVILEGE_ENABLED) != 0;
        if (updated != old) {
            __atomic_store_n(&p->Attributes, updated, __ATOMIC_RELAXED);
            Token->ModifiedId = SepAllocateLuid();
            SepUpdatePrivilegeFlags(Token);
        }
        status = STATUS_SUCCESS;
        break;
    }
    SepUnlockTokenExclusive(Token);
    return status;
}

/* Groups only (not the user): a mandatory group cannot be disabled and a
 * deny-only group cannot be enabled, as NtAdjustGroupsToken enforces. */
NTSTATUS SepAdjustGroup(PTOKEN Token, PSID Group, BOOLEAN Enable, PBOOLEAN WasEnabled)
{
    NTSTATUS status = STATUS_NOT_ALL_ASSIGNED;
    if (!RtlValidSid(Group))
        return STATUS_INVALID_SID;
    SepLockTokenExclusive(Token);
    for (ULONG i = 1; i < Token->UserAndGroupCount; i++) {
        PSID_AND_ATTRIBUTES g = &Token->UserAndGroups[i];
        if (!RtlEqualSid(g->Sid, Group))
            continue;
        ULONG old = g->Attributes;
        if (!Enable && (old & SE_GROUP_MANDATORY)) {
            status = STATUS_CANT_DISABLE_MANDATORY;
            break;
        }
        if (Enable && (old & SE_GROUP_USE_FOR_DENY_ONLY)) {
            status = STATUS_CANT_ENABLE_DENY_ONLY;
            break;
        }
        if (WasEnabled != NULL)
            *WasEnabled = (old & SE_GROUP_ENABLED) != 0;
        ULONG updated = Enable ? (old | SE_GROUP_ENABLED) : (old & ~SE_GROUP_ENABLED);
        if (updated != old) {
            __atomic_store_n(&g->Attributes, updated, __ATOMIC_RELAXED);
            Token->ModifiedId = SepAllocateLuid();
        }
        status = STATUS_SUCCESS;
        break;
    }
    SepUnlockTokenExclusive(Token);
    return status;
}

/* ---- filtering ------------------------------------------------------------------------ */

static BOOLEAN SepSidInGroups(PTOKEN_GROUPS Groups, PSID Sid)
{
    for (ULONG i = 0; Groups != NULL && i < Groups->GroupCount; i++) {
        if (RtlEqualSid(Groups->Groups[i].Sid, Sid))
            return TRUE;
    }
    return FALSE;
}

static BOOLEAN SepPrivilegeListed(PTOKEN_PRIVILEGES Privileges, LUID Luid)
{
    for (ULONG i = 0; Privileges != NULL && i < Privileges->PrivilegeCount; i++) {
        if (Privileges->Privileges[i].Luid.LowPart == Luid.LowPart &&
            Privileges->Privileges[i].Luid.HighPart == Luid.HighPart)
            return TRUE;
    }
    return FALSE;
}

static NTSTATUS SepCheckGroupList(PTOKEN_GROUPS Groups, BOOLEAN AttributesMustBeZero)
{
    if (Groups == NULL)
        return STATUS_SUCCESS;
    if (Groups->GroupCount > SEP_MAX_TOKEN_ENTRIES)
        return STATUS_INVALID_PARAMETER;
    for (ULONG i = 0; i < Groups->GroupCount; i++) {
        if (!RtlValidSid(Groups->Groups[i].Sid))
            return STATUS_INVALID_SID;
        if (AttributesMustBeZero && Groups->Groups[i].Attributes != 0)
            return STATUS_INVALID_PARAMETER;
    }
    return STATUS_SUCCESS;
}

/*
 * CreateRestrictedToken's semantics on a token body:
 *  - SidsToDisable: matching user/groups become deny-only (mandatory ones too).
 *  - PrivilegesToDelete / DISABLE_MAX_PRIVILEGE: removed privileges
 *    (DISABLE_MAX_PRIVILEGE keeps only SeChangeNotifyPrivilege).
 *  - RestrictedSids: the new token is restricted; if the existing one was
 *    already, its restricting SIDs are the intersection of both lists.
 *    WRITE_RESTRICTED limits the restricting check to write access, but never
 *    weakens a token that is fully restricted already.
 * The new token gets its own TokenId and keeps the logon session.
 */
NTSTATUS SepFilterToken(PTOKEN Existing, ULONG Flags, PTOKEN_GROUPS SidsToDisable,
                        PTOKEN_PRIVILEGES PrivilegesToDelete, PTOKEN_GROUPS RestrictedSids, PTOKEN NewToken)
{
    NTSTATUS status;
    if (Existing == NULL || NewToken == NULL || (Flags & ~(DISABLE_MAX_PRIVILEGE | SANDBOX_INERT | WRITE_RESTRICTED)))
        return STATUS_INVALID_PARAMETER;
    status = SepCheckGroupList(SidsToDisable, FALSE);
    if (!NT_SUCCESS(status))
        return status;
    status = SepCheckGroupList(RestrictedSids, TRUE);
    if (!NT_SUCCESS(status))
        return status;
    if (PrivilegesToDelete != NULL && PrivilegesToDelete->PrivilegeCount > SEP_MAX_TOKEN_ENTRIES)
        return STATUS_INVALID_PARAMETER;

    ULONG groupCount = Existing->UserAndGroupCount - 1;
    ULONG newRestricted = RestrictedSids != NULL ? RestrictedSids->GroupCount : 0;
    ULONG restrictedRoom = newRestricted > Existing->RestrictedSidCount ? newRestricted : Existing->RestrictedSidCount;
    SIZE_T scratch = (SIZE_T)(groupCount + restrictedRoom) * sizeof(SID_AND_ATTRIBUTES) +
                     (SIZE_T)Existing->PrivilegeCount * sizeof(LUID_AND_ATTRIBUTES);
    PUCHAR block = SepAllocatePool(PagedPool, scratch ? scratch : 1, SEP_TAG_TEMP);
    if (block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    PSID_AND_ATTRIBUTES groups = (PSID_AND_ATTRIBUTES)block;
    PSID_AND_ATTRIBUTES restricted = groups + groupCount;
    PLUID_AND_ATTRIBUTES privileges = (PLUID_AND_ATTRIBUTES)(restricted + restrictedRoom);

    SEP_TOKEN_SPEC spec = {0};
    ULONG existingFlags = __atomic_load_n(&Existing->TokenFlags, __ATOMIC_RELAXED);
    BOOLEAN wasRestricted = (existingFlags & TOKEN_IS_RESTRICTED) != 0;

    /* The enable states are read together, under the lock. */
    KeEnterCriticalRegion();
    ExAcquirePushLockShared(&Existing->Lock);
    spec.User = Existing->UserAndGroups[0].Sid;
    spec.UserAttributes = Existing->UserAndGroups[0].Attributes;
    if (SepSidInGroups(SidsToDisable, spec.User))
        spec.UserAttributes |= SE_GROUP_USE_FOR_DENY_ONLY;
    BOOLEAN ownerDisabled = FALSE;
    for (ULONG i = 0; i < groupCount; i++) {
        groups[i] = Existing->UserAndGroups[i + 1];
        if (SepSidInGroups(SidsToDisable, groups[i].Sid)) {
            groups[i].Attributes = (groups[i].Attributes & ~(SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT)) |
                                   SE_GROUP_USE_FOR_DENY_ONLY;
            if (i + 1 == Existing->DefaultOwnerIndex)
                ownerDisabled = TRUE;
        }
    }
    ULONG privilegeCount = 0;
    for (ULONG i = 0; i < Existing->PrivilegeCount; i++) {
        LUID_AND_ATTRIBUTES p = Existing->Privileges[i];
        if (SepPrivilegeListed(PrivilegesToDelete, p.Luid))
            continue;
        if ((Flags & DISABLE_MAX_PRIVILEGE) && !(p.Luid.LowPart == SE_CHANGE_NOTIFY_PRIVILEGE && p.Luid.HighPart == 0))
            continue;
        privileges[privilegeCount++] = p;
    }
    ExReleasePushLockShared(&Existing->Lock);
    KeLeaveCriticalRegion();

    ULONG restrictedCount = 0;
    const ULONG restrictedAttributes = SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED;
    if (newRestricted != 0) {
        for (ULONG i = 0; i < newRestricted; i++) {
            PSID sid = RestrictedSids->Groups[i].Sid;
            if (wasRestricted) {
                BOOLEAN inBoth = FALSE;
                for (ULONG j = 0; j < Existing->RestrictedSidCount && !inBoth; j++)
                    inBoth = RtlEqualSid(Existing->RestrictedSids[j].Sid, sid);
                if (!inBoth)
                    continue;
            }
            restricted[restrictedCount].Sid = sid;
            restricted[restrictedCount++].Attributes = restrictedAttributes;
        }
    } else {
        for (ULONG i = 0; i < Existing->RestrictedSidCount; i++)
            restricted[restrictedCount++] = Existing->RestrictedSids[i];
    }

    ULONG flags = (existingFlags & (TOKEN_IS_RESTRICTED | TOKEN_WRITE_RESTRICTED | TOKEN_SANDBOX_INERT)) |
                  TOKEN_IS_FILTERED;
    if (newRestricted != 0) {
        BOOLEAN fullyRestricted = wasRestricted && !(existingFlags & TOKEN_WRITE_RESTRICTED);
        flags |= TOKEN_IS_RESTRICTED;
        if (!(Flags & WRITE_RESTRICTED) || fullyRestricted)
            flags &= ~TOKEN_WRITE_RESTRICTED;
        else
            flags |= TOKEN_WRITE_RESTRICTED;
    }
    if (Flags & SANDBOX_INERT)
        flags |= TOKEN_SANDBOX_INERT;

    spec.GroupCount = groupCount;
    spec.Groups = groups;
    spec.RestrictedSidCount = restrictedCount;
    spec.RestrictedSids = restricted;
    spec.PrivilegeCount = privilegeCount;
    spec.Privileges = privileges;
    spec.PrimaryGroup = Existing->PrimaryGroup;
    /* A default owner that just became deny-only falls back to the user. */
    spec.DefaultOwner = (Existing->DefaultOwnerIndex == 0 || ownerDisabled)
                            ? NULL
                            : Existing->UserAndGroups[Existing->DefaultOwnerIndex].Sid;
    spec.DefaultDacl = Existing->DefaultDacl;
    spec.TokenType = Existing->TokenType;
    spec.ImpersonationLevel = Existing->ImpersonationLevel;
    spec.AuthenticationId = Existing->AuthenticationId;
    spec.ParentTokenId = Existing->TokenId;
    spec.TokenFlags = flags;
    status = SepInitializeToken(NewToken, &spec);
    ExFreePoolWithTag(block, SEP_TAG_TEMP);
    return status;
}

/* ---- exported queries ------------------------------------------------------------------- */

NTKERNELAPI TOKEN_TYPE NTAPI SeTokenType(PACCESS_TOKEN Token)
{
    return ((PTOKEN)Token)->TokenType;
}

/* Administrators present and enabled (a deny-only Administrators group, as in a
 * filtered admin token, does not make the token an admin's). */
NTKERNELAPI BOOLEAN NTAPI SeTokenIsAdmin(PACCESS_TOKEN Token)
{
    PTOKEN token = Token;
    for (ULONG i = 1; i < token->UserAndGroupCount; i++) {
        ULONG a = SepAttributes(&token->UserAndGroups[i].Attributes);
        if ((a & SE_GROUP_ENABLED) && !(a & SE_GROUP_USE_FOR_DENY_ONLY) &&
            RtlEqualSid(token->UserAndGroups[i].Sid, SepAliasAdminsSid))
            return TRUE;
    }
    return FALSE;
}

NTKERNELAPI BOOLEAN NTAPI SeTokenIsRestricted(PACCESS_TOKEN Token)
{
    return (__atomic_load_n(&((PTOKEN)Token)->TokenFlags, __ATOMIC_RELAXED) & TOKEN_IS_RESTRICTED) != 0;
}

NTKERNELAPI NTSTATUS NTAPI SeQueryAuthenticationIdToken(PACCESS_TOKEN Token, PLUID AuthenticationId)
{
    *AuthenticationId = ((PTOKEN)Token)->AuthenticationId;
    return STATUS_SUCCESS;
}
