/*
 * Tokens as objects, SeExports and Se's boot-time initialisation.
 *
 * SeInitSystem (called once by ObInitSystem) builds SeExports with its
 * well-known SIDs in pool, creates the Token object type and the SYSTEM
 * token. A token object is created fully built: the body is assembled and
 * validated first (SepInitializeToken), then copied into a fresh object, so
 * no half-made token is ever visible and the delete procedure only ever sees
 * complete ones.
 *
 * The SYSTEM token: user S-1-5-18 (also its primary group), Administrators
 * (enabled, owner: the default owner of what SYSTEM creates), Everyone and
 * Authenticated Users (mandatory), the system integrity level, every
 * privilege present with the ones a SYSTEM token normally runs with enabled,
 * and a default DACL of GENERIC_ALL for SYSTEM and read/execute for
 * Administrators. Its logon session is SYSTEM_LUID.
 */
#include "sep.h"
#include <ntos/ob.h>

POBJECT_TYPE SeTokenObjectType;
PSE_EXPORTS SeExports;

static VOID NTAPI SepTokenDeleteProcedure(PVOID Object)
{
    SepDeleteToken(Object);
}

static NTSTATUS SepCreateTokenObject(const SEP_TOKEN_SPEC *Spec, PTOKEN *Token)
{
    TOKEN body;
    PVOID object = NULL;
    *Token = NULL;
    if (SeTokenObjectType == NULL)
        return STATUS_INVALID_DEVICE_STATE;
    NTSTATUS status = SepInitializeToken(&body, Spec);
    if (!NT_SUCCESS(status))
        return status;
    status = ObCreateObject(KernelMode, SeTokenObjectType, NULL, KernelMode, NULL, sizeof(TOKEN), 0, 0, &object);
    if (!NT_SUCCESS(status)) {
        SepDeleteToken(&body);
        return status;
    }
    RtlCopyMemory(object, &body, sizeof(TOKEN));
    *Token = object;
    return STATUS_SUCCESS;
}

NTSTATUS SeCreateTokenInternal(PSID User, ULONG GroupCount, const SID_AND_ATTRIBUTES *Groups,
                               ULONG PrivilegeCount, const LUID_AND_ATTRIBUTES *Privileges,
                               PSID PrimaryGroup, PACL DefaultDacl, TOKEN_TYPE Type,
                               SECURITY_IMPERSONATION_LEVEL ImpersonationLevel, PACCESS_TOKEN *Token)
{
    if (Token == NULL)
        return STATUS_INVALID_PARAMETER;
    *Token = NULL;
    SEP_TOKEN_SPEC spec = {0};
    spec.User = User;
    spec.GroupCount = GroupCount;
    spec.Groups = Groups;
    spec.PrivilegeCount = PrivilegeCount;
    spec.Privileges = Privileges;
    spec.PrimaryGroup = PrimaryGroup;
    spec.DefaultDacl = DefaultDacl;
    spec.TokenType = Type;
    spec.ImpersonationLevel = ImpersonationLevel;
    /* Each such token is its own logon session. */
    spec.AuthenticationId = SepAllocateLuid();
    return SepCreateTokenObject(&spec, (PTOKEN *)Token);
}

NTKERNELAPI NTSTATUS NTAPI SeFilterToken(PACCESS_TOKEN ExistingToken, ULONG Flags, PTOKEN_GROUPS SidsToDisable,
                                         PTOKEN_PRIVILEGES PrivilegesToDelete, PTOKEN_GROUPS RestrictedSids,
                                         PACCESS_TOKEN *FilteredToken)
{
    TOKEN body;
    PVOID object = NULL;
    if (FilteredToken == NULL || ExistingToken == NULL)
        return STATUS_INVALID_PARAMETER;
    *FilteredToken = NULL;
    NTSTATUS status = SepFilterToken(ExistingToken, Flags, SidsToDisable, PrivilegesToDelete, RestrictedSids, &body);
    if (!NT_SUCCESS(status))
        return status;
    status = ObCreateObject(KernelMode, SeTokenObjectType, NULL, KernelMode, NULL, sizeof(TOKEN), 0, 0, &object);
    if (!NT_SUCCESS(status)) {
        SepDeleteToken(&body);
        return status;
    }
    RtlCopyMemory(object, &body, sizeof(TOKEN));
    *FilteredToken = object;
    return STATUS_SUCCESS;
}

PACCESS_TOKEN SeReferenceSystemToken(void)
{
    ObReferenceObject(SepSystemToken);
    return SepSystemToken;
}

/* ---- SeExports ------------------------------------------------------------------------- */

typedef struct _SEP_EXPORT_SID {
    USHORT Field;   /* offset of the PSID in SE_EXPORTS */
    UCHAR Authority;
    UCHAR Count;
    ULONG Rid[2];
} SEP_EXPORT_SID;

#define SEP_X(field, auth, count, r0, r1) {offsetof(SE_EXPORTS, field), auth, count, {r0, r1}}
static const SEP_EXPORT_SID SepExportSids[] = {
    SEP_X(SeNullSid, 0, 1, SECURITY_NULL_RID, 0),
    SEP_X(SeWorldSid, 1, 1, SECURITY_WORLD_RID, 0),
    SEP_X(SeLocalSid, 2, 1, SECURITY_LOCAL_RID, 0),
    SEP_X(SeCreatorOwnerSid, 3, 1, SECURITY_CREATOR_OWNER_RID, 0),
    SEP_X(SeCreatorGroupSid, 3, 1, SECURITY_CREATOR_GROUP_RID, 0),
    SEP_X(SeNtAuthoritySid, 5, 0, 0, 0),
    SEP_X(SeDialupSid, 5, 1, SECURITY_DIALUP_RID, 0),
    SEP_X(SeNetworkSid, 5, 1, SECURITY_NETWORK_RID, 0),
    SEP_X(SeBatchSid, 5, 1, SECURITY_BATCH_RID, 0),
    SEP_X(SeInteractiveSid, 5, 1, SECURITY_INTERACTIVE_RID, 0),
    SEP_X(SeLocalSystemSid, 5, 1, SECURITY_LOCAL_SYSTEM_RID, 0),
    SEP_X(SeAliasAdminsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS),
    SEP_X(SeAliasUsersSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_USERS),
    SEP_X(SeAliasGuestsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_GUESTS),
    SEP_X(SeAliasPowerUsersSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_POWER_USERS),
    SEP_X(SeAliasAccountOpsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ACCOUNT_OPS),
    SEP_X(SeAliasSystemOpsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_SYSTEM_OPS),
    SEP_X(SeAliasPrintOpsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_PRINT_OPS),
    SEP_X(SeAliasBackupOpsSid, 5, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_BACKUP_OPS),
    SEP_X(SeAuthenticatedUsersSid, 5, 1, SECURITY_AUTHENTICATED_USER_RID, 0),
    SEP_X(SeRestrictedSid, 5, 1, SECURITY_RESTRICTED_CODE_RID, 0),
    SEP_X(SeAnonymousLogonSid, 5, 1, SECURITY_ANONYMOUS_LOGON_RID, 0),
    SEP_X(SeLocalServiceSid, 5, 1, SECURITY_LOCAL_SERVICE_RID, 0),
    SEP_X(SeNetworkServiceSid, 5, 1, SECURITY_NETWORK_SERVICE_RID, 0),
    SEP_X(SeIUserSid, 5, 1, SECURITY_IUSER_RID, 0),
    SEP_X(SeUntrustedMandatorySid, 16, 1, SECURITY_MANDATORY_UNTRUSTED_RID, 0),
    SEP_X(SeLowMandatorySid, 16, 1, SECURITY_MANDATORY_LOW_RID, 0),
    SEP_X(SeMediumMandatorySid, 16, 1, SECURITY_MANDATORY_MEDIUM_RID, 0),
    SEP_X(SeHighMandatorySid, 16, 1, SECURITY_MANDATORY_HIGH_RID, 0),
    SEP_X(SeSystemMandatorySid, 16, 1, SECURITY_MANDATORY_SYSTEM_RID, 0),
    SEP_X(SeOwnerRightsSid, 3, 1, SECURITY_CREATOR_OWNER_RIGHTS_RID, 0),
};
#undef SEP_X

typedef struct _SEP_EXPORT_PRIVILEGE {
    USHORT Field;
    ULONG Value;
} SEP_EXPORT_PRIVILEGE;

#define SEP_P(field, value) {offsetof(SE_EXPORTS, field), value}
static const SEP_EXPORT_PRIVILEGE SepExportPrivileges[] = {
    SEP_P(SeCreateTokenPrivilege, SE_CREATE_TOKEN_PRIVILEGE),
    SEP_P(SeAssignPrimaryTokenPrivilege, SE_ASSIGNPRIMARYTOKEN_PRIVILEGE),
    SEP_P(SeLockMemoryPrivilege, SE_LOCK_MEMORY_PRIVILEGE),
    SEP_P(SeIncreaseQuotaPrivilege, SE_INCREASE_QUOTA_PRIVILEGE),
    /* NT's SE_UNSOLICITED_INPUT_PRIVILEGE shares the value 6 with machine accounts. */
    SEP_P(SeUnsolicitedInputPrivilege, SE_MACHINE_ACCOUNT_PRIVILEGE),
    SEP_P(SeTcbPrivilege, SE_TCB_PRIVILEGE),
    SEP_P(SeSecurityPrivilege, SE_SECURITY_PRIVILEGE),
    SEP_P(SeTakeOwnershipPrivilege, SE_TAKE_OWNERSHIP_PRIVILEGE),
    SEP_P(SeLoadDriverPrivilege, SE_LOAD_DRIVER_PRIVILEGE),
    SEP_P(SeCreatePagefilePrivilege, SE_CREATE_PAGEFILE_PRIVILEGE),
    SEP_P(SeIncreaseBasePriorityPrivilege, SE_INC_BASE_PRIORITY_PRIVILEGE),
    SEP_P(SeSystemProfilePrivilege, SE_SYSTEM_PROFILE_PRIVILEGE),
    SEP_P(SeSystemtimePrivilege, SE_SYSTEMTIME_PRIVILEGE),
    SEP_P(SeProfileSingleProcessPrivilege, SE_PROF_SINGLE_PROCESS_PRIVILEGE),
    SEP_P(SeCreatePermanentPrivilege, SE_CREATE_PERMANENT_PRIVILEGE),
    SEP_P(SeBackupPrivilege, SE_BACKUP_PRIVILEGE),
    SEP_P(SeRestorePrivilege, SE_RESTORE_PRIVILEGE),
    SEP_P(SeShutdownPrivilege, SE_SHUTDOWN_PRIVILEGE),
    SEP_P(SeDebugPrivilege, SE_DEBUG_PRIVILEGE),
    SEP_P(SeAuditPrivilege, SE_AUDIT_PRIVILEGE),
    SEP_P(SeSystemEnvironmentPrivilege, SE_SYSTEM_ENVIRONMENT_PRIVILEGE),
    SEP_P(SeChangeNotifyPrivilege, SE_CHANGE_NOTIFY_PRIVILEGE),
    SEP_P(SeRemoteShutdownPrivilege, SE_REMOTE_SHUTDOWN_PRIVILEGE),
    SEP_P(SeUndockPrivilege, SE_UNDOCK_PRIVILEGE),
    SEP_P(SeSyncAgentPrivilege, SE_SYNC_AGENT_PRIVILEGE),
    SEP_P(SeEnableDelegationPrivilege, SE_ENABLE_DELEGATION_PRIVILEGE),
    SEP_P(SeManageVolumePrivilege, SE_MANAGE_VOLUME_PRIVILEGE),
    SEP_P(SeImpersonatePrivilege, SE_IMPERSONATE_PRIVILEGE),
    SEP_P(SeCreateGlobalPrivilege, SE_CREATE_GLOBAL_PRIVILEGE),
    SEP_P(SeTrustedCredManAccessPrivilege, SE_TRUSTED_CREDMAN_ACCESS_PRIVILEGE),
    SEP_P(SeRelabelPrivilege, SE_RELABEL_PRIVILEGE),
    SEP_P(SeIncreaseWorkingSetPrivilege, SE_INC_WORKING_SET_PRIVILEGE),
    SEP_P(SeTimeZonePrivilege, SE_TIME_ZONE_PRIVILEGE),
    SEP_P(SeCreateSymbolicLinkPrivilege, SE_CREATE_SYMBOLIC_LINK_PRIVILEGE),
};
#undef SEP_P

/* SE_EXPORTS followed by the SIDs it points to, in one pool block that lives forever. */
static NTSTATUS SepInitializeExports(void)
{
    SIZE_T size = sizeof(SE_EXPORTS);
    for (ULONG i = 0; i < RTL_NUMBER_OF(SepExportSids); i++)
        size += RtlLengthRequiredSid(SepExportSids[i].Count);
    PUCHAR block = ExAllocatePoolWithTag(NonPagedPool, size, SEP_TAG_EXPORTS);
    if (block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(block, size);
    PSE_EXPORTS exports = (PSE_EXPORTS)block;
    PUCHAR cursor = block + sizeof(SE_EXPORTS);
    for (ULONG i = 0; i < RTL_NUMBER_OF(SepExportSids); i++) {
        const SEP_EXPORT_SID *x = &SepExportSids[i];
        SID_IDENTIFIER_AUTHORITY authority = {{0, 0, 0, 0, 0, x->Authority}};
        PSID sid = cursor;
        RtlInitializeSid(sid, &authority, x->Count);
        for (ULONG r = 0; r < x->Count; r++)
            *RtlSubAuthoritySid(sid, r) = x->Rid[r];
        *(PSID *)(block + x->Field) = sid;
        cursor += RtlLengthSid(sid);
    }
    for (ULONG i = 0; i < RTL_NUMBER_OF(SepExportPrivileges); i++)
        *(PLUID)(block + SepExportPrivileges[i].Field) = (LUID){SepExportPrivileges[i].Value, 0};
    SeExports = exports;
    return STATUS_SUCCESS;
}

/* ---- the SYSTEM token -------------------------------------------------------------------- */

/* Enabled by default in a SYSTEM token; every other well-known privilege is present but off. */
static BOOLEAN SepSystemPrivilegeEnabled(ULONG Privilege)
{
    switch (Privilege) {
    case SE_LOCK_MEMORY_PRIVILEGE:
    case SE_TCB_PRIVILEGE:
    case SE_SYSTEM_PROFILE_PRIVILEGE:
    case SE_PROF_SINGLE_PROCESS_PRIVILEGE:
    case SE_INC_BASE_PRIORITY_PRIVILEGE:
    case SE_CREATE_PAGEFILE_PRIVILEGE:
    case SE_CREATE_PERMANENT_PRIVILEGE:
    case SE_DEBUG_PRIVILEGE:
    case SE_AUDIT_PRIVILEGE:
    case SE_CHANGE_NOTIFY_PRIVILEGE:
    case SE_IMPERSONATE_PRIVILEGE:
    case SE_CREATE_GLOBAL_PRIVILEGE:
    case SE_INC_WORKING_SET_PRIVILEGE:
    case SE_TIME_ZONE_PRIVILEGE:
    case SE_CREATE_SYMBOLIC_LINK_PRIVILEGE:
        return TRUE;
    default:
        return FALSE;
    }
}

static NTSTATUS SepCreateSystemToken(void)
{
    union {
        ACL Acl;
        UCHAR Bytes[64];
    } dacl;
    LUID_AND_ATTRIBUTES privileges[SE_MAX_WELL_KNOWN_PRIVILEGE - SE_MIN_WELL_KNOWN_PRIVILEGE + 1];
    const ULONG enabled = SE_PRIVILEGE_ENABLED | SE_PRIVILEGE_ENABLED_BY_DEFAULT;
    const SID_AND_ATTRIBUTES groups[] = {
        {SepAliasAdminsSid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_OWNER},
        {SepWorldSid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT},
        {SepAuthenticatedUsersSid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT},
        {SepSystemMandatorySid, SE_GROUP_INTEGRITY | SE_GROUP_INTEGRITY_ENABLED},
    };

    for (ULONG i = 0; i < RTL_NUMBER_OF(privileges); i++) {
        ULONG value = SE_MIN_WELL_KNOWN_PRIVILEGE + i;
        privileges[i].Luid = (LUID){value, 0};
        privileges[i].Attributes = SepSystemPrivilegeEnabled(value) ? enabled : 0;
    }
    RtlCreateAcl(&dacl.Acl, sizeof(dacl), ACL_REVISION);
    RtlAddAccessAllowedAce(&dacl.Acl, ACL_REVISION, GENERIC_ALL, SepLocalSystemSid);
    RtlAddAccessAllowedAce(&dacl.Acl, ACL_REVISION, GENERIC_READ | GENERIC_EXECUTE | READ_CONTROL, SepAliasAdminsSid);

    SEP_TOKEN_SPEC spec = {0};
    spec.User = SepLocalSystemSid;
    spec.GroupCount = RTL_NUMBER_OF(groups);
    spec.Groups = groups;
    spec.PrivilegeCount = RTL_NUMBER_OF(privileges);
    spec.Privileges = privileges;
    spec.PrimaryGroup = SepLocalSystemSid;
    spec.DefaultOwner = SepAliasAdminsSid;
    spec.DefaultDacl = &dacl.Acl;
    spec.TokenType = TokenPrimary;
    spec.ImpersonationLevel = SecurityAnonymous;
    spec.AuthenticationId = (LUID)SYSTEM_LUID;
    PTOKEN token;
    NTSTATUS status = SepCreateTokenObject(&spec, &token);
    if (NT_SUCCESS(status))
        SepSystemToken = token;
    return status;
}

NTSTATUS SeInitSystem(void)
{
    if (SepSystemToken != NULL)
        return STATUS_SUCCESS;
    NTSTATUS status = SeExports != NULL ? STATUS_SUCCESS : SepInitializeExports();
    if (!NT_SUCCESS(status))
        return status;

    if (SeTokenObjectType == NULL) {
        OBJECT_TYPE_INITIALIZER init;
        UNICODE_STRING name;
        RtlZeroMemory(&init, sizeof(init));
        init.Length = sizeof(init);
        init.GenericMapping = (GENERIC_MAPPING){
            STANDARD_RIGHTS_READ | TOKEN_QUERY,
            STANDARD_RIGHTS_WRITE | TOKEN_ADJUST_PRIVILEGES | TOKEN_ADJUST_GROUPS | TOKEN_ADJUST_DEFAULT,
            STANDARD_RIGHTS_EXECUTE | TOKEN_IMPERSONATE,
            TOKEN_ALL_ACCESS,
        };
        init.ValidAccessMask = TOKEN_ALL_ACCESS;
        init.PoolType = PagedPool;
        init.InvalidAttributes = OBJ_OPENLINK;
        init.SecurityRequired = TRUE;
        /* Not waitable: a wait on a token waits on the default object. */
        init.UseDefaultObject = TRUE;
        init.DeleteProcedure = SepTokenDeleteProcedure;
        RtlInitUnicodeString(&name, L"Token");
        status = ObCreateObjectType(&name, &init, NULL, &SeTokenObjectType);
        if (!NT_SUCCESS(status))
            return status;
    }
    return SepCreateSystemToken();
}
