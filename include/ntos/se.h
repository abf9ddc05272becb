/*
 * Security reference monitor: SIDs, ACLs, security descriptors, tokens,
 * privileges and the access check.
 *
 * The layouts here are the documented x64 ones (winnt.h/ntifs.h): a driver
 * builds a SECURITY_DESCRIPTOR with the Rtl routines and hands it to
 * IoCreateDeviceSecure, ZwCreateEvent, ... so the bytes must match.
 *
 * Ownership: src/rtl/sid.c, acl.c, sd.c implement the Rtl routines (pure
 * functions over caller memory, any IRQL unless stated); src/se/ implements
 * tokens, subject contexts and SeAccessCheck (PASSIVE_LEVEL or APC_LEVEL).
 */
#ifndef NTOS_SE_H
#define NTOS_SE_H

#include <ntos/ntdef.h>
#include <ntos/ex_pool.h>

/* ---- access masks ------------------------------------------------------------------ */

#define DELETE 0x00010000UL
#define READ_CONTROL 0x00020000UL
#define WRITE_DAC 0x00040000UL
#define WRITE_OWNER 0x00080000UL
#define SYNCHRONIZE 0x00100000UL
#define STANDARD_RIGHTS_REQUIRED 0x000F0000UL
#define STANDARD_RIGHTS_READ READ_CONTROL
#define STANDARD_RIGHTS_WRITE READ_CONTROL
#define STANDARD_RIGHTS_EXECUTE READ_CONTROL
#define STANDARD_RIGHTS_ALL 0x001F0000UL
#define SPECIFIC_RIGHTS_ALL 0x0000FFFFUL
#define ACCESS_SYSTEM_SECURITY 0x01000000UL
#define MAXIMUM_ALLOWED 0x02000000UL
#define GENERIC_READ 0x80000000UL
#define GENERIC_WRITE 0x40000000UL
#define GENERIC_EXECUTE 0x20000000UL
#define GENERIC_ALL 0x10000000UL

typedef struct _GENERIC_MAPPING {
    ACCESS_MASK GenericRead;
    ACCESS_MASK GenericWrite;
    ACCESS_MASK GenericExecute;
    ACCESS_MASK GenericAll;
} GENERIC_MAPPING, *PGENERIC_MAPPING;
NTOS_ASSERT_SIZE(GENERIC_MAPPING, 0x10);

/* ---- LUIDs and privileges ------------------------------------------------------------ */

typedef struct _LUID {
    ULONG LowPart;
    LONG HighPart;
} LUID, *PLUID;

#pragma pack(push, 4)
typedef struct _LUID_AND_ATTRIBUTES {
    LUID Luid;
    ULONG Attributes;
} LUID_AND_ATTRIBUTES, *PLUID_AND_ATTRIBUTES;
#pragma pack(pop)
NTOS_ASSERT_SIZE(LUID_AND_ATTRIBUTES, 12);

#define SE_PRIVILEGE_ENABLED_BY_DEFAULT 0x00000001UL
#define SE_PRIVILEGE_ENABLED 0x00000002UL
#define SE_PRIVILEGE_REMOVED 0x00000004UL
#define SE_PRIVILEGE_USED_FOR_ACCESS 0x80000000UL

#define PRIVILEGE_SET_ALL_NECESSARY 1
typedef struct _PRIVILEGE_SET {
    ULONG PrivilegeCount;
    ULONG Control;
    LUID_AND_ATTRIBUTES Privilege[1];
} PRIVILEGE_SET, *PPRIVILEGE_SET;
NTOS_ASSERT_SIZE(PRIVILEGE_SET, 20);

#define SE_MIN_WELL_KNOWN_PRIVILEGE 2
#define SE_CREATE_TOKEN_PRIVILEGE 2
#define SE_ASSIGNPRIMARYTOKEN_PRIVILEGE 3
#define SE_LOCK_MEMORY_PRIVILEGE 4
#define SE_INCREASE_QUOTA_PRIVILEGE 5
#define SE_MACHINE_ACCOUNT_PRIVILEGE 6
#define SE_TCB_PRIVILEGE 7
#define SE_SECURITY_PRIVILEGE 8
#define SE_TAKE_OWNERSHIP_PRIVILEGE 9
#define SE_LOAD_DRIVER_PRIVILEGE 10
#define SE_SYSTEM_PROFILE_PRIVILEGE 11
#define SE_SYSTEMTIME_PRIVILEGE 12
#define SE_PROF_SINGLE_PROCESS_PRIVILEGE 13
#define SE_INC_BASE_PRIORITY_PRIVILEGE 14
#define SE_CREATE_PAGEFILE_PRIVILEGE 15
#define SE_CREATE_PERMANENT_PRIVILEGE 16
#define SE_BACKUP_PRIVILEGE 17
#define SE_RESTORE_PRIVILEGE 18
#define SE_SHUTDOWN_PRIVILEGE 19
#define SE_DEBUG_PRIVILEGE 20
#define SE_AUDIT_PRIVILEGE 21
#define SE_SYSTEM_ENVIRONMENT_PRIVILEGE 22
#define SE_CHANGE_NOTIFY_PRIVILEGE 23
#define SE_REMOTE_SHUTDOWN_PRIVILEGE 24
#define SE_UNDOCK_PRIVILEGE 25
#define SE_SYNC_AGENT_PRIVILEGE 26
#define SE_ENABLE_DELEGATION_PRIVILEGE 27
#define SE_MANAGE_VOLUME_PRIVILEGE 28
#define SE_IMPERSONATE_PRIVILEGE 29
#define SE_CREATE_GLOBAL_PRIVILEGE 30
#define SE_TRUSTED_CREDMAN_ACCESS_PRIVILEGE 31
#define SE_RELABEL_PRIVILEGE 32
#define SE_INC_WORKING_SET_PRIVILEGE 33
#define SE_TIME_ZONE_PRIVILEGE 34
#define SE_CREATE_SYMBOLIC_LINK_PRIVILEGE 35
#define SE_MAX_WELL_KNOWN_PRIVILEGE SE_CREATE_SYMBOLIC_LINK_PRIVILEGE

/* ---- SIDs ---------------------------------------------------------------------------- */

typedef struct _SID_IDENTIFIER_AUTHORITY {
    UCHAR Value[6];
} SID_IDENTIFIER_AUTHORITY, *PSID_IDENTIFIER_AUTHORITY;

#define SID_REVISION 1
#define SID_MAX_SUB_AUTHORITIES 15
#define SECURITY_MAX_SID_SIZE (8 + SID_MAX_SUB_AUTHORITIES * 4)

typedef struct _SID {
    UCHAR Revision;
    UCHAR SubAuthorityCount;
    SID_IDENTIFIER_AUTHORITY IdentifierAuthority;
    ULONG SubAuthority[1]; /* SubAuthorityCount entries */
} SID, *PISID;
typedef PVOID PSID;
NTOS_ASSERT_OFFSET(SID, SubAuthority, 8);
NTOS_ASSERT_SIZE(SID, 12);
NTOS_ASSERT_SIZE(SID_IDENTIFIER_AUTHORITY, 6);

typedef struct _SID_AND_ATTRIBUTES {
    PSID Sid;
    ULONG Attributes;
} SID_AND_ATTRIBUTES, *PSID_AND_ATTRIBUTES;
NTOS_ASSERT_SIZE(SID_AND_ATTRIBUTES, 16);

/* Group attributes in a token. */
#define SE_GROUP_MANDATORY 0x00000001UL
#define SE_GROUP_ENABLED_BY_DEFAULT 0x00000002UL
#define SE_GROUP_ENABLED 0x00000004UL
#define SE_GROUP_OWNER 0x00000008UL
#define SE_GROUP_USE_FOR_DENY_ONLY 0x00000010UL
#define SE_GROUP_INTEGRITY 0x00000020UL
#define SE_GROUP_INTEGRITY_ENABLED 0x00000040UL
#define SE_GROUP_LOGON_ID 0xC0000000UL
#define SE_GROUP_RESOURCE 0x20000000UL

#define SECURITY_NULL_SID_AUTHORITY {0, 0, 0, 0, 0, 0}
#define SECURITY_WORLD_SID_AUTHORITY {0, 0, 0, 0, 0, 1}
#define SECURITY_LOCAL_SID_AUTHORITY {0, 0, 0, 0, 0, 2}
#define SECURITY_CREATOR_SID_AUTHORITY {0, 0, 0, 0, 0, 3}
#define SECURITY_NT_AUTHORITY {0, 0, 0, 0, 0, 5}
#define SECURITY_MANDATORY_LABEL_AUTHORITY {0, 0, 0, 0, 0, 16}

#define SECURITY_NON_UNIQUE_AUTHORITY {0, 0, 0, 0, 0, 4}

#define SECURITY_NULL_RID 0x00000000UL
#define SECURITY_WORLD_RID 0x00000000UL
#define SECURITY_LOCAL_RID 0x00000000UL
#define SECURITY_CREATOR_OWNER_RID 0x00000000UL
#define SECURITY_CREATOR_GROUP_RID 0x00000001UL
#define SECURITY_CREATOR_OWNER_RIGHTS_RID 0x00000004UL
#define SECURITY_DIALUP_RID 0x00000001UL
#define SECURITY_NETWORK_RID 0x00000002UL
#define SECURITY_BATCH_RID 0x00000003UL
#define SECURITY_INTERACTIVE_RID 0x00000004UL
#define SECURITY_SERVICE_RID 0x00000006UL
#define SECURITY_ANONYMOUS_LOGON_RID 0x00000007UL
#define SECURITY_PRINCIPAL_SELF_RID 0x0000000AUL
#define SECURITY_AUTHENTICATED_USER_RID 0x0000000BUL
#define SECURITY_RESTRICTED_CODE_RID 0x0000000CUL
#define SECURITY_PRINCIPAL_SELF_RID_ALIAS SECURITY_PRINCIPAL_SELF_RID
#define SECURITY_IUSER_RID 0x00000011UL
#define SECURITY_LOCAL_SYSTEM_RID 0x00000012UL
#define SECURITY_LOCAL_SERVICE_RID 0x00000013UL
#define SECURITY_NETWORK_SERVICE_RID 0x00000014UL
#define SECURITY_BUILTIN_DOMAIN_RID 0x00000020UL
#define DOMAIN_ALIAS_RID_ADMINS 0x00000220UL
#define DOMAIN_ALIAS_RID_USERS 0x00000221UL
#define DOMAIN_ALIAS_RID_GUESTS 0x00000222UL
#define DOMAIN_ALIAS_RID_POWER_USERS 0x00000223UL
#define DOMAIN_ALIAS_RID_ACCOUNT_OPS 0x00000224UL
#define DOMAIN_ALIAS_RID_SYSTEM_OPS 0x00000225UL
#define DOMAIN_ALIAS_RID_PRINT_OPS 0x00000226UL
#define DOMAIN_ALIAS_RID_BACKUP_OPS 0x00000227UL
#define SECURITY_MANDATORY_UNTRUSTED_RID 0x00000000UL
#define SECURITY_MANDATORY_LOW_RID 0x00001000UL
#define SECURITY_MANDATORY_MEDIUM_RID 0x00002000UL
#define SECURITY_MANDATORY_HIGH_RID 0x00003000UL
#define SECURITY_MANDATORY_SYSTEM_RID 0x00004000UL

/* ---- ACLs and ACEs ------------------------------------------------------------------- */

#define ACL_REVISION 2
#define ACL_REVISION_DS 4
#define ACL_REVISION1 1
#define ACL_REVISION2 2
#define ACL_REVISION3 3
#define ACL_REVISION4 4
#define MIN_ACL_REVISION ACL_REVISION
#define MAX_ACL_REVISION ACL_REVISION_DS

typedef struct _ACL {
    UCHAR AclRevision;
    UCHAR Sbz1;
    USHORT AclSize; /* bytes, header and ACEs */
    USHORT AceCount;
    USHORT Sbz2;
} ACL, *PACL;
NTOS_ASSERT_SIZE(ACL, 8);

typedef struct _ACE_HEADER {
    UCHAR AceType;
    UCHAR AceFlags;
    USHORT AceSize;
} ACE_HEADER, *PACE_HEADER;
NTOS_ASSERT_SIZE(ACE_HEADER, 4);

#define ACCESS_ALLOWED_ACE_TYPE 0x0
#define ACCESS_DENIED_ACE_TYPE 0x1
#define SYSTEM_AUDIT_ACE_TYPE 0x2
#define SYSTEM_ALARM_ACE_TYPE 0x3
#define ACCESS_MAX_MS_V2_ACE_TYPE 0x3
#define ACCESS_ALLOWED_COMPOUND_ACE_TYPE 0x4 /* needs ACL_REVISION3 */
#define ACCESS_MAX_MS_V3_ACE_TYPE 0x4
#define ACCESS_ALLOWED_OBJECT_ACE_TYPE 0x5   /* 0x5..0x8 need ACL_REVISION_DS */
#define ACCESS_DENIED_OBJECT_ACE_TYPE 0x6
#define SYSTEM_AUDIT_OBJECT_ACE_TYPE 0x7
#define SYSTEM_ALARM_OBJECT_ACE_TYPE 0x8
#define ACCESS_MAX_MS_V4_ACE_TYPE 0x8
#define SYSTEM_MANDATORY_LABEL_ACE_TYPE 0x11

#define OBJECT_INHERIT_ACE 0x01
#define CONTAINER_INHERIT_ACE 0x02
#define NO_PROPAGATE_INHERIT_ACE 0x04
#define INHERIT_ONLY_ACE 0x08
#define INHERITED_ACE 0x10
#define VALID_INHERIT_FLAGS 0x1F
#define SUCCESSFUL_ACCESS_ACE_FLAG 0x40
#define FAILED_ACCESS_ACE_FLAG 0x80

typedef struct _ACCESS_ALLOWED_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    ULONG SidStart; /* the SID begins here */
} ACCESS_ALLOWED_ACE, *PACCESS_ALLOWED_ACE;
typedef ACCESS_ALLOWED_ACE ACCESS_DENIED_ACE, *PACCESS_DENIED_ACE;
typedef ACCESS_ALLOWED_ACE SYSTEM_AUDIT_ACE, *PSYSTEM_AUDIT_ACE;
typedef ACCESS_ALLOWED_ACE SYSTEM_MANDATORY_LABEL_ACE, *PSYSTEM_MANDATORY_LABEL_ACE;
NTOS_ASSERT_OFFSET(ACCESS_ALLOWED_ACE, SidStart, 8);
NTOS_ASSERT_SIZE(ACCESS_ALLOWED_ACE, 12);

/* Object ACEs (ACL_REVISION_DS): the GUIDs are present only when flagged, so
 * the SID moves; SidStart is where it is when neither GUID is there. */
#define ACE_OBJECT_TYPE_PRESENT 0x1
#define ACE_INHERITED_OBJECT_TYPE_PRESENT 0x2
typedef struct _ACCESS_ALLOWED_OBJECT_ACE {
    ACE_HEADER Header;
    ACCESS_MASK Mask;
    ULONG Flags;
    UCHAR ObjectType[16];          /* GUID */
    UCHAR InheritedObjectType[16]; /* GUID */
    ULONG SidStart;
} ACCESS_ALLOWED_OBJECT_ACE, *PACCESS_ALLOWED_OBJECT_ACE;
NTOS_ASSERT_OFFSET(ACCESS_ALLOWED_OBJECT_ACE, ObjectType, 12);
NTOS_ASSERT_OFFSET(ACCESS_ALLOWED_OBJECT_ACE, SidStart, 44);

typedef enum _ACL_INFORMATION_CLASS { AclRevisionInformation = 1, AclSizeInformation } ACL_INFORMATION_CLASS;
typedef struct _ACL_REVISION_INFORMATION {
    ULONG AclRevision;
} ACL_REVISION_INFORMATION;
typedef struct _ACL_SIZE_INFORMATION {
    ULONG AceCount;
    ULONG AclBytesInUse;
    ULONG AclBytesFree;
} ACL_SIZE_INFORMATION;
NTOS_ASSERT_SIZE(ACL_REVISION_INFORMATION, 4);
NTOS_ASSERT_SIZE(ACL_SIZE_INFORMATION, 12);

/* ---- security descriptors ------------------------------------------------------------ */

#define SECURITY_DESCRIPTOR_REVISION 1
#define SECURITY_DESCRIPTOR_REVISION1 1

typedef USHORT SECURITY_DESCRIPTOR_CONTROL, *PSECURITY_DESCRIPTOR_CONTROL;
#define SE_OWNER_DEFAULTED 0x0001
#define SE_GROUP_DEFAULTED 0x0002
#define SE_DACL_PRESENT 0x0004
#define SE_DACL_DEFAULTED 0x0008
#define SE_SACL_PRESENT 0x0010
#define SE_SACL_DEFAULTED 0x0020
#define SE_DACL_UNTRUSTED 0x0040
#define SE_SERVER_SECURITY 0x0080
#define SE_DACL_AUTO_INHERIT_REQ 0x0100
#define SE_SACL_AUTO_INHERIT_REQ 0x0200
#define SE_DACL_AUTO_INHERITED 0x0400
#define SE_SACL_AUTO_INHERITED 0x0800
#define SE_DACL_PROTECTED 0x1000
#define SE_SACL_PROTECTED 0x2000
#define SE_RM_CONTROL_VALID 0x4000
#define SE_SELF_RELATIVE 0x8000

/* Absolute form: the four parts are pointers. */
typedef struct _SECURITY_DESCRIPTOR {
    UCHAR Revision;
    UCHAR Sbz1;
    SECURITY_DESCRIPTOR_CONTROL Control;
    PSID Owner;
    PSID Group;
    PACL Sacl;
    PACL Dacl;
} SECURITY_DESCRIPTOR, *PISECURITY_DESCRIPTOR;
NTOS_ASSERT_SIZE(SECURITY_DESCRIPTOR, 0x28);
NTOS_ASSERT_OFFSET(SECURITY_DESCRIPTOR, Owner, 0x08);
NTOS_ASSERT_OFFSET(SECURITY_DESCRIPTOR, Dacl, 0x20);

/* Self-relative form: the four parts are byte offsets from the start (0 = absent). */
typedef struct _SECURITY_DESCRIPTOR_RELATIVE {
    UCHAR Revision;
    UCHAR Sbz1;
    SECURITY_DESCRIPTOR_CONTROL Control;
    ULONG Owner;
    ULONG Group;
    ULONG Sacl;
    ULONG Dacl;
} SECURITY_DESCRIPTOR_RELATIVE, *PISECURITY_DESCRIPTOR_RELATIVE;
NTOS_ASSERT_SIZE(SECURITY_DESCRIPTOR_RELATIVE, 0x14);
NTOS_ASSERT_OFFSET(SECURITY_DESCRIPTOR_RELATIVE, Owner, 0x04);
NTOS_ASSERT_OFFSET(SECURITY_DESCRIPTOR_RELATIVE, Dacl, 0x10);

typedef PVOID PSECURITY_DESCRIPTOR;
#define SECURITY_DESCRIPTOR_MIN_LENGTH (sizeof(SECURITY_DESCRIPTOR))

typedef ULONG SECURITY_INFORMATION, *PSECURITY_INFORMATION;
#define OWNER_SECURITY_INFORMATION 0x00000001UL
#define GROUP_SECURITY_INFORMATION 0x00000002UL
#define DACL_SECURITY_INFORMATION 0x00000004UL
#define SACL_SECURITY_INFORMATION 0x00000008UL
#define LABEL_SECURITY_INFORMATION 0x00000010UL

/* ---- tokens and subject contexts ----------------------------------------------------- */

typedef PVOID PACCESS_TOKEN;

typedef enum _SECURITY_IMPERSONATION_LEVEL {
    SecurityAnonymous,
    SecurityIdentification,
    SecurityImpersonation,
    SecurityDelegation
} SECURITY_IMPERSONATION_LEVEL, *PSECURITY_IMPERSONATION_LEVEL;

typedef enum _TOKEN_TYPE { TokenPrimary = 1, TokenImpersonation } TOKEN_TYPE, *PTOKEN_TYPE;

/* The logon session of the SYSTEM token (ntifs.h). */
#define SYSTEM_LUID {0x3e7, 0x0}
#define ANONYMOUS_LOGON_LUID {0x3e6, 0x0}
#define LOCALSERVICE_LUID {0x3e5, 0x0}
#define NETWORKSERVICE_LUID {0x3e4, 0x0}

/* TOKEN_CONTROL-style flags kept in every token (ntifs.h values). */
#define TOKEN_HAS_TRAVERSE_PRIVILEGE 0x0001
#define TOKEN_HAS_BACKUP_PRIVILEGE 0x0002
#define TOKEN_HAS_RESTORE_PRIVILEGE 0x0004
#define TOKEN_WRITE_RESTRICTED 0x0008
#define TOKEN_IS_RESTRICTED 0x0010
#define TOKEN_IS_FILTERED 0x0800
#define TOKEN_SANDBOX_INERT 0x0040
#define TOKEN_HAS_IMPERSONATE_PRIVILEGE 0x0080

typedef BOOLEAN SECURITY_CONTEXT_TRACKING_MODE;
typedef struct _SECURITY_QUALITY_OF_SERVICE {
    ULONG Length;
    SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
    SECURITY_CONTEXT_TRACKING_MODE ContextTrackingMode;
    BOOLEAN EffectiveOnly;
} SECURITY_QUALITY_OF_SERVICE, *PSECURITY_QUALITY_OF_SERVICE;
NTOS_ASSERT_SIZE(SECURITY_QUALITY_OF_SERVICE, 12);

typedef struct _SECURITY_SUBJECT_CONTEXT {
    PACCESS_TOKEN ClientToken;
    SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
    PACCESS_TOKEN PrimaryToken;
    PVOID ProcessAuditId;
} SECURITY_SUBJECT_CONTEXT, *PSECURITY_SUBJECT_CONTEXT;
NTOS_ASSERT_SIZE(SECURITY_SUBJECT_CONTEXT, 0x20);

/* Token access rights. */
#define TOKEN_ASSIGN_PRIMARY 0x0001
#define TOKEN_DUPLICATE 0x0002
#define TOKEN_IMPERSONATE 0x0004
#define TOKEN_QUERY 0x0008
#define TOKEN_QUERY_SOURCE 0x0010
#define TOKEN_ADJUST_PRIVILEGES 0x0020
#define TOKEN_ADJUST_GROUPS 0x0040
#define TOKEN_ADJUST_DEFAULT 0x0080
#define TOKEN_ADJUST_SESSIONID 0x0100
#define TOKEN_ALL_ACCESS (STANDARD_RIGHTS_REQUIRED | 0x01FF)

typedef struct _TOKEN_GROUPS {
    ULONG GroupCount;
    SID_AND_ATTRIBUTES Groups[1];
} TOKEN_GROUPS, *PTOKEN_GROUPS;
NTOS_ASSERT_OFFSET(TOKEN_GROUPS, Groups, 8);
NTOS_ASSERT_SIZE(TOKEN_GROUPS, 0x18);

typedef struct _TOKEN_PRIVILEGES {
    ULONG PrivilegeCount;
    LUID_AND_ATTRIBUTES Privileges[1];
} TOKEN_PRIVILEGES, *PTOKEN_PRIVILEGES;
NTOS_ASSERT_SIZE(TOKEN_PRIVILEGES, 16);

/* SeFilterToken flags. */
#define DISABLE_MAX_PRIVILEGE 0x1
#define SANDBOX_INERT 0x2
#define LUA_TOKEN 0x4
#define WRITE_RESTRICTED 0x8

/*
 * ACCESS_STATE travels through an open: what is still wanted, what was
 * granted so far, and the subject. Drivers see it in IRP_MJ_CREATE
 * (IO_SECURITY_CONTEXT.AccessState); the x64 layout is pinned.
 */
typedef struct _INITIAL_PRIVILEGE_SET {
    ULONG PrivilegeCount;
    ULONG Control;
    LUID_AND_ATTRIBUTES Privilege[3];
} INITIAL_PRIVILEGE_SET;
NTOS_ASSERT_SIZE(INITIAL_PRIVILEGE_SET, 44);

typedef struct _ACCESS_STATE {
    LUID OperationID;
    BOOLEAN SecurityEvaluated;
    BOOLEAN GenerateAudit;
    BOOLEAN GenerateOnClose;
    BOOLEAN PrivilegesAllocated;
    ULONG Flags;
    ACCESS_MASK RemainingDesiredAccess;
    ACCESS_MASK PreviouslyGrantedAccess;
    ACCESS_MASK OriginalDesiredAccess;
    SECURITY_SUBJECT_CONTEXT SubjectSecurityContext;
    PSECURITY_DESCRIPTOR SecurityDescriptor;
    PVOID AuxData;
    union {
        INITIAL_PRIVILEGE_SET InitialPrivilegeSet;
        PRIVILEGE_SET PrivilegeSet;
    } Privileges;
    BOOLEAN AuditPrivileges;
    UNICODE_STRING ObjectName;
    UNICODE_STRING ObjectTypeName;
} ACCESS_STATE, *PACCESS_STATE;
NTOS_ASSERT_OFFSET(ACCESS_STATE, RemainingDesiredAccess, 0x10);
NTOS_ASSERT_OFFSET(ACCESS_STATE, SubjectSecurityContext, 0x20);
NTOS_ASSERT_OFFSET(ACCESS_STATE, SecurityDescriptor, 0x40);
NTOS_ASSERT_OFFSET(ACCESS_STATE, Privileges, 0x50);
NTOS_ASSERT_OFFSET(ACCESS_STATE, AuditPrivileges, 0x7C);
NTOS_ASSERT_OFFSET(ACCESS_STATE, ObjectName, 0x80);
NTOS_ASSERT_OFFSET(ACCESS_STATE, ObjectTypeName, 0x90);
NTOS_ASSERT_SIZE(ACCESS_STATE, 0xA0);

/*
 * The AuxData a caller of SeCreateAccessState provides. NT keeps it opaque;
 * ntos's is this (callers allocate sizeof(AUX_ACCESS_DATA)): where the
 * privileges used so far are collected (normally the access state's own
 * Privileges.PrivilegeSet) and the object type's generic mapping.
 */
typedef struct _AUX_ACCESS_DATA {
    PPRIVILEGE_SET PrivilegesUsed;
    GENERIC_MAPPING GenericMapping;
    ACCESS_MASK AccessesToAudit;
    ACCESS_MASK MaximumAuditMask;
} AUX_ACCESS_DATA, *PAUX_ACCESS_DATA;
NTOS_ASSERT_OFFSET(AUX_ACCESS_DATA, GenericMapping, 0x08);

/* ---- Rtl: SIDs ---------------------------------------------------------------------- */

NTSYSAPI BOOLEAN NTAPI RtlValidSid(PSID Sid);
NTSYSAPI ULONG NTAPI RtlLengthSid(PSID Sid);
NTSYSAPI ULONG NTAPI RtlLengthRequiredSid(ULONG SubAuthorityCount);
NTSYSAPI BOOLEAN NTAPI RtlEqualSid(PSID Sid1, PSID Sid2);
NTSYSAPI BOOLEAN NTAPI RtlEqualPrefixSid(PSID Sid1, PSID Sid2);
NTSYSAPI NTSTATUS NTAPI RtlInitializeSid(PSID Sid, PSID_IDENTIFIER_AUTHORITY IdentifierAuthority,
                                         UCHAR SubAuthorityCount);
NTSYSAPI PULONG NTAPI RtlSubAuthoritySid(PSID Sid, ULONG SubAuthority);
NTSYSAPI PUCHAR NTAPI RtlSubAuthorityCountSid(PSID Sid);
NTSYSAPI PSID_IDENTIFIER_AUTHORITY NTAPI RtlIdentifierAuthoritySid(PSID Sid);
NTSYSAPI NTSTATUS NTAPI RtlCopySid(ULONG DestinationSidLength, PSID DestinationSid, PSID SourceSid);
NTSYSAPI NTSTATUS NTAPI RtlConvertSidToUnicodeString(PUNICODE_STRING UnicodeString, PSID Sid,
                                                     BOOLEAN AllocateDestinationString);

/* ---- Rtl: ACLs ---------------------------------------------------------------------- */

NTSYSAPI NTSTATUS NTAPI RtlCreateAcl(PACL Acl, ULONG AclLength, ULONG AclRevision);
NTSYSAPI BOOLEAN NTAPI RtlValidAcl(PACL Acl);
NTSYSAPI NTSTATUS NTAPI RtlAddAccessAllowedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid);
NTSYSAPI NTSTATUS NTAPI RtlAddAccessAllowedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                                 ACCESS_MASK AccessMask, PSID Sid);
NTSYSAPI NTSTATUS NTAPI RtlAddAccessDeniedAce(PACL Acl, ULONG AceRevision, ACCESS_MASK AccessMask, PSID Sid);
NTSYSAPI NTSTATUS NTAPI RtlAddAccessDeniedAceEx(PACL Acl, ULONG AceRevision, ULONG AceFlags,
                                                ACCESS_MASK AccessMask, PSID Sid);
NTSYSAPI NTSTATUS NTAPI RtlAddAce(PACL Acl, ULONG AceRevision, ULONG StartingAceIndex, PVOID AceList,
                                  ULONG AceListLength);
NTSYSAPI NTSTATUS NTAPI RtlDeleteAce(PACL Acl, ULONG AceIndex);
NTSYSAPI NTSTATUS NTAPI RtlGetAce(PACL Acl, ULONG AceIndex, PVOID *Ace);
NTSYSAPI NTSTATUS NTAPI RtlQueryInformationAcl(PACL Acl, PVOID AclInformation, ULONG AclInformationLength,
                                               ACL_INFORMATION_CLASS AclInformationClass);

/* ---- Rtl: security descriptors ------------------------------------------------------ */

NTSYSAPI NTSTATUS NTAPI RtlCreateSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, ULONG Revision);
NTSYSAPI BOOLEAN NTAPI RtlValidSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor);
NTSYSAPI BOOLEAN NTAPI RtlValidRelativeSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptorInput,
                                                          ULONG SecurityDescriptorLength,
                                                          SECURITY_INFORMATION RequiredInformation);
NTSYSAPI ULONG NTAPI RtlLengthSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor);
NTSYSAPI NTSTATUS NTAPI RtlSetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN DaclPresent,
                                                     PACL Dacl, BOOLEAN DaclDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlGetDaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                     PBOOLEAN DaclPresent, PACL *Dacl, PBOOLEAN DaclDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlSetSaclSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, BOOLEAN SaclPresent,
                                                     PACL Sacl, BOOLEAN SaclDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlSetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Owner,
                                                      BOOLEAN OwnerDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlGetOwnerSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Owner,
                                                      PBOOLEAN OwnerDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlSetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID Group,
                                                      BOOLEAN GroupDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlGetGroupSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor, PSID *Group,
                                                      PBOOLEAN GroupDefaulted);
NTSYSAPI NTSTATUS NTAPI RtlAbsoluteToSelfRelativeSD(PSECURITY_DESCRIPTOR AbsoluteSecurityDescriptor,
                                                    PSECURITY_DESCRIPTOR SelfRelativeSecurityDescriptor,
                                                    PULONG BufferLength);
NTSYSAPI NTSTATUS NTAPI RtlGetControlSecurityDescriptor(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                                        PSECURITY_DESCRIPTOR_CONTROL Control, PULONG Revision);
NTSYSAPI VOID NTAPI RtlMapGenericMask(PACCESS_MASK AccessMask, const GENERIC_MAPPING *GenericMapping);

/* ---- Se ----------------------------------------------------------------------------- */

/* Well-known SIDs and privilege LUIDs, as drivers find them through SeExports. */
typedef struct _SE_EXPORTS {
    LUID SeCreateTokenPrivilege;
    LUID SeAssignPrimaryTokenPrivilege;
    LUID SeLockMemoryPrivilege;
    LUID SeIncreaseQuotaPrivilege;
    LUID SeUnsolicitedInputPrivilege;
    LUID SeTcbPrivilege;
    LUID SeSecurityPrivilege;
    LUID SeTakeOwnershipPrivilege;
    LUID SeLoadDriverPrivilege;
    LUID SeCreatePagefilePrivilege;
    LUID SeIncreaseBasePriorityPrivilege;
    LUID SeSystemProfilePrivilege;
    LUID SeSystemtimePrivilege;
    LUID SeProfileSingleProcessPrivilege;
    LUID SeCreatePermanentPrivilege;
    LUID SeBackupPrivilege;
    LUID SeRestorePrivilege;
    LUID SeShutdownPrivilege;
    LUID SeDebugPrivilege;
    LUID SeAuditPrivilege;
    LUID SeSystemEnvironmentPrivilege;
    LUID SeChangeNotifyPrivilege;
    LUID SeRemoteShutdownPrivilege;
    PSID SeNullSid;
    PSID SeWorldSid;
    PSID SeLocalSid;
    PSID SeCreatorOwnerSid;
    PSID SeCreatorGroupSid;
    PSID SeNtAuthoritySid;
    PSID SeDialupSid;
    PSID SeNetworkSid;
    PSID SeBatchSid;
    PSID SeInteractiveSid;
    PSID SeLocalSystemSid;
    PSID SeAliasAdminsSid;
    PSID SeAliasUsersSid;
    PSID SeAliasGuestsSid;
    PSID SeAliasPowerUsersSid;
    PSID SeAliasAccountOpsSid;
    PSID SeAliasSystemOpsSid;
    PSID SeAliasPrintOpsSid;
    PSID SeAliasBackupOpsSid;
    PSID SeAuthenticatedUsersSid;
    PSID SeRestrictedSid;
    PSID SeAnonymousLogonSid;
    LUID SeUndockPrivilege;
    LUID SeSyncAgentPrivilege;
    LUID SeEnableDelegationPrivilege;
    PSID SeLocalServiceSid;
    PSID SeNetworkServiceSid;
    LUID SeManageVolumePrivilege;
    LUID SeImpersonatePrivilege;
    LUID SeCreateGlobalPrivilege;
    LUID SeTrustedCredManAccessPrivilege;
    LUID SeRelabelPrivilege;
    LUID SeIncreaseWorkingSetPrivilege;
    LUID SeTimeZonePrivilege;
    LUID SeCreateSymbolicLinkPrivilege;
    PSID SeIUserSid;
    PSID SeUntrustedMandatorySid;
    PSID SeLowMandatorySid;
    PSID SeMediumMandatorySid;
    PSID SeHighMandatorySid;
    PSID SeSystemMandatorySid;
    PSID SeOwnerRightsSid;
} SE_EXPORTS, *PSE_EXPORTS;
extern PSE_EXPORTS SeExports;

extern struct _OBJECT_TYPE *SeTokenObjectType;

/*
 * Behaviour callers rely on (details in src/se/):
 *  - Subject contexts: ClientToken is captured only for executive threads
 *    that impersonate; a context with neither token is checked as SYSTEM.
 *    SeLockSubjectContext takes both tokens' locks shared inside a critical
 *    region; SeAccessCheck with SubjectContextLocked FALSE locks by itself.
 *    SePrivilegeCheck and SeAssignSecurity take no token lock, so they may be
 *    called with the context locked or not.
 *  - SeAccessCheck: KernelMode grants the mapped request (MAXIMUM_ALLOWED =
 *    GenericAll); otherwise a NULL descriptor is STATUS_ACCESS_DENIED, a
 *    client token below SecurityIdentification STATUS_BAD_IMPERSONATION_LEVEL,
 *    a malformed descriptor STATUS_INVALID_SECURITY_DESCR. *Privileges is set
 *    (NULL when no privilege was used); free it with SeFreePrivileges.
 *  - SeCreateAccessState accepts AuxData == NULL (NT requires it); with it,
 *    AuxData is an AUX_ACCESS_DATA. SeDeleteAccessState frees, as NT does, the
 *    ObjectName and ObjectTypeName buffers (ExFreePool) if set, and the
 *    privilege set when PrivilegesAllocated.
 *  - Descriptors Se returns (capture with copy, SeAssignSecurity,
 *    SeSetSecurityDescriptorInfo) are self-relative, packed, in pool, freed
 *    with ExFreePool (SeReleaseSecurityDescriptor, SeDeassignSecurity).
 *    SeSetSecurityDescriptorInfo replaces *ObjectsSecurityDescriptor and
 *    leaves the old descriptor to the caller to free.
 *  - Owners: SeAssignSecurity and SeSetSecurityDescriptorInfo accept an
 *    explicit owner only if the subject's token has it as user or as a group
 *    with SE_GROUP_OWNER, or has SeRestorePrivilege enabled
 *    (STATUS_INVALID_OWNER otherwise).
 *  - The SYSTEM token's default owner is Administrators, its default DACL
 *    GENERIC_ALL for SYSTEM and GENERIC_READ|GENERIC_EXECUTE|READ_CONTROL for
 *    Administrators; SeSecurity/SeTakeOwnership/SeRestore/SeBackup and a few
 *    others are present but disabled, as in a Windows SYSTEM token.
 */

NTKERNELAPI BOOLEAN NTAPI SeAccessCheck(PSECURITY_DESCRIPTOR SecurityDescriptor,
                                        PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                                        BOOLEAN SubjectContextLocked, ACCESS_MASK DesiredAccess,
                                        ACCESS_MASK PreviouslyGrantedAccess, PPRIVILEGE_SET *Privileges,
                                        PGENERIC_MAPPING GenericMapping, KPROCESSOR_MODE AccessMode,
                                        PACCESS_MASK GrantedAccess, PNTSTATUS AccessStatus);
NTKERNELAPI BOOLEAN NTAPI SeSinglePrivilegeCheck(LUID PrivilegeValue, KPROCESSOR_MODE PreviousMode);
NTKERNELAPI BOOLEAN NTAPI SePrivilegeCheck(PPRIVILEGE_SET RequiredPrivileges,
                                           PSECURITY_SUBJECT_CONTEXT SubjectSecurityContext,
                                           KPROCESSOR_MODE AccessMode);
NTKERNELAPI VOID NTAPI SeFreePrivileges(PPRIVILEGE_SET Privileges);
NTKERNELAPI VOID NTAPI SeCaptureSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext);
NTKERNELAPI VOID NTAPI SeReleaseSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext);
NTKERNELAPI VOID NTAPI SeLockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext);
NTKERNELAPI VOID NTAPI SeUnlockSubjectContext(PSECURITY_SUBJECT_CONTEXT SubjectContext);
NTKERNELAPI NTSTATUS NTAPI SeCreateAccessState(PACCESS_STATE AccessState, PVOID AuxData,
                                               ACCESS_MASK DesiredAccess, PGENERIC_MAPPING GenericMapping);
NTKERNELAPI VOID NTAPI SeDeleteAccessState(PACCESS_STATE AccessState);
NTKERNELAPI NTSTATUS NTAPI SeCaptureSecurityDescriptor(PSECURITY_DESCRIPTOR InputSecurityDescriptor,
                                                       KPROCESSOR_MODE RequestorMode, POOL_TYPE PoolType,
                                                       BOOLEAN ForceCapture,
                                                       PSECURITY_DESCRIPTOR *OutputSecurityDescriptor);
NTKERNELAPI VOID NTAPI SeReleaseSecurityDescriptor(PSECURITY_DESCRIPTOR CapturedSecurityDescriptor,
                                                   KPROCESSOR_MODE RequestorMode, BOOLEAN ForceCapture);
NTKERNELAPI NTSTATUS NTAPI SeAssignSecurity(PSECURITY_DESCRIPTOR ParentDescriptor,
                                            PSECURITY_DESCRIPTOR ExplicitDescriptor,
                                            PSECURITY_DESCRIPTOR *NewDescriptor, BOOLEAN IsDirectoryObject,
                                            PSECURITY_SUBJECT_CONTEXT SubjectContext,
                                            PGENERIC_MAPPING GenericMapping, POOL_TYPE PoolType);
NTKERNELAPI NTSTATUS NTAPI SeDeassignSecurity(PSECURITY_DESCRIPTOR *SecurityDescriptor);
NTKERNELAPI BOOLEAN NTAPI SeValidSecurityDescriptor(ULONG Length, PSECURITY_DESCRIPTOR SecurityDescriptor);
NTKERNELAPI NTSTATUS NTAPI SeQuerySecurityDescriptorInfo(PSECURITY_INFORMATION SecurityInformation,
                                                         PSECURITY_DESCRIPTOR SecurityDescriptor, PULONG Length,
                                                         PSECURITY_DESCRIPTOR *ObjectsSecurityDescriptor);
NTKERNELAPI NTSTATUS NTAPI SeSetSecurityDescriptorInfo(PVOID Object, PSECURITY_INFORMATION SecurityInformation,
                                                       PSECURITY_DESCRIPTOR ModificationDescriptor,
                                                       PSECURITY_DESCRIPTOR *ObjectsSecurityDescriptor,
                                                       POOL_TYPE PoolType, PGENERIC_MAPPING GenericMapping);
NTKERNELAPI TOKEN_TYPE NTAPI SeTokenType(PACCESS_TOKEN Token);
NTKERNELAPI BOOLEAN NTAPI SeTokenIsAdmin(PACCESS_TOKEN Token);
NTKERNELAPI BOOLEAN NTAPI SeTokenIsRestricted(PACCESS_TOKEN Token);
NTKERNELAPI NTSTATUS NTAPI SeQueryAuthenticationIdToken(PACCESS_TOKEN Token, PLUID AuthenticationId);
NTKERNELAPI NTSTATUS NTAPI SeFilterToken(PACCESS_TOKEN ExistingToken, ULONG Flags,
                                         PTOKEN_GROUPS SidsToDisable, PTOKEN_PRIVILEGES PrivilegesToDelete,
                                         PTOKEN_GROUPS RestrictedSids, PACCESS_TOKEN *FilteredToken);

/* ---- kernel-internal ---------------------------------------------------------------- */

/* Rtl helpers shared with Se (src/rtl/acl.c, sd.c). */
PSID RtlpAceSid(PACE_HEADER Ace, PULONG Room);
BOOLEAN RtlpValidAce(PACE_HEADER Ace, ULONG Available, ULONG Revision);
VOID RtlpGetSecurityDescriptorParts(PSECURITY_DESCRIPTOR Sd, PSID *Owner, PSID *Group, PACL *Sacl, PACL *Dacl);
ULONG RtlpLengthSelfRelativeSD(SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner, PSID Group, PACL Sacl, PACL Dacl);
NTSTATUS RtlpMakeSelfRelativeSD(SECURITY_DESCRIPTOR_CONTROL Control, PSID Owner, PSID Group, PACL Sacl, PACL Dacl,
                                PVOID Buffer, PULONG BufferLength);

/* Creates the token object type, the well-known SIDs (SeExports) and the
 * SYSTEM token. Called once by ObInitSystem after the core types exist. */
NTSTATUS SeInitSystem(void);
/* The SYSTEM token every system process thread runs with (referenced). */
PACCESS_TOKEN SeReferenceSystemToken(void);
/*
 * Builds a primary token for a user: User is its owner SID; Groups get the
 * given attributes; Privileges the given LUID attributes; DefaultDacl (may be
 * NULL) protects objects the token's holder creates without an explicit
 * descriptor. Everything is copied. The token is an object of
 * SeTokenObjectType with one pointer reference owned by the caller.
 */
NTSTATUS SeCreateTokenInternal(PSID User, ULONG GroupCount, const SID_AND_ATTRIBUTES *Groups,
                               ULONG PrivilegeCount, const LUID_AND_ATTRIBUTES *Privileges,
                               PSID PrimaryGroup, PACL DefaultDacl, TOKEN_TYPE Type,
                               SECURITY_IMPERSONATION_LEVEL ImpersonationLevel, PACCESS_TOKEN *Token);

#endif /* NTOS_SE_H */
