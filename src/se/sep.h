/*
 * Security reference monitor internals: the token object and the routines
 * the Se files share.
 *
 * A token is an object of SeTokenObjectType whose body is a TOKEN. Everything
 * variable (user and groups, restricted SIDs, privileges, primary group,
 * default DACL) lives in one pool block, VariablePart, built once by
 * SepInitializeToken and freed by the type's delete procedure.
 *
 * Mutability: a token never changes after creation except the Attributes of
 * its privileges and groups (enable/disable) and ModifiedId. Those are
 * changed only with Lock held exclusive and read either with Lock held
 * shared (SeLockSubjectContext: a consistent view for an access check) or,
 * where one value at a time is enough, with a single atomic load
 * (SepAttributes). Everything else is read without a lock.
 *
 * Lock is a push lock, so holders run in a critical region
 * (SeLockSubjectContext enters one) at IRQL <= APC_LEVEL.
 */
#ifndef NTOS_SEP_H
#define NTOS_SEP_H

#include <ntos/se.h>
#include <ntos/ex.h>
#include <ntos/rtl.h>

/* Pool tags, as they read in a pool dump. */
#define SEP_TAG_TOKEN 0x6b546553      /* "SeTk" token variable parts */
#define SEP_TAG_SD 0x64536553         /* "SeSd" descriptors Se allocates */
#define SEP_TAG_PRIVILEGES 0x72506553 /* "SePr" PRIVILEGE_SETs for callers */
#define SEP_TAG_TEMP 0x70546553       /* "SeTp" scratch */
#define SEP_TAG_EXPORTS 0x78456553    /* "SeEx" SeExports and its SIDs */

/* A token may hold at most this many groups, restricted SIDs or privileges. */
#define SEP_MAX_TOKEN_ENTRIES 1024

typedef struct _TOKEN {
    EX_PUSH_LOCK Lock;
    LUID TokenId;
    LUID AuthenticationId;      /* logon session */
    LUID ModifiedId;            /* changes whenever an enable state changes */
    LUID ParentTokenId;         /* the token a filtered token came from */
    TOKEN_TYPE TokenType;
    SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
    ULONG TokenFlags;           /* TOKEN_IS_RESTRICTED ...; TOKEN_HAS_* follow privileges (Lock) */
    ULONG UserAndGroupCount;    /* entry 0 is the user */
    ULONG RestrictedSidCount;
    ULONG PrivilegeCount;
    ULONG DefaultOwnerIndex;    /* into UserAndGroups */
    PSID_AND_ATTRIBUTES UserAndGroups;
    PSID_AND_ATTRIBUTES RestrictedSids;
    PLUID_AND_ATTRIBUTES Privileges;
    PSID PrimaryGroup;
    PACL DefaultDacl;           /* NULL: objects get no DACL by default */
    PVOID VariablePart;
    ULONG VariableLength;
} TOKEN, *PTOKEN;

/* Everything a new token is made of; SepInitializeToken copies it all. */
typedef struct _SEP_TOKEN_SPEC {
    PSID User;
    ULONG UserAttributes;       /* 0 or SE_GROUP_USE_FOR_DENY_ONLY */
    ULONG GroupCount;
    const SID_AND_ATTRIBUTES *Groups;
    ULONG RestrictedSidCount;
    const SID_AND_ATTRIBUTES *RestrictedSids;
    ULONG PrivilegeCount;
    const LUID_AND_ATTRIBUTES *Privileges;
    PSID PrimaryGroup;
    PSID DefaultOwner;          /* NULL: the user */
    PACL DefaultDacl;
    TOKEN_TYPE TokenType;
    SECURITY_IMPERSONATION_LEVEL ImpersonationLevel;
    LUID AuthenticationId;
    LUID ParentTokenId;
    ULONG TokenFlags;           /* TOKEN_IS_RESTRICTED, TOKEN_WRITE_RESTRICTED, TOKEN_IS_FILTERED, ... */
} SEP_TOKEN_SPEC, *PSEP_TOKEN_SPEC;

/* Privileges SepAccessCheckToken used (bits of its PrivilegesUsed output). */
#define SEP_USED_SECURITY_PRIVILEGE 0x1
#define SEP_USED_TAKE_OWNERSHIP_PRIVILEGE 0x2

/* Well-known SIDs as constants, usable before SeInitSystem (sids.c). */
extern PSID const SepWorldSid;              /* S-1-1-0 */
extern PSID const SepCreatorOwnerSid;       /* S-1-3-0 */
extern PSID const SepCreatorGroupSid;       /* S-1-3-1 */
extern PSID const SepOwnerRightsSid;        /* S-1-3-4 */
extern PSID const SepAuthenticatedUsersSid; /* S-1-5-11 */
extern PSID const SepLocalSystemSid;        /* S-1-5-18 */
extern PSID const SepAliasAdminsSid;        /* S-1-5-32-544 */
extern PSID const SepSystemMandatorySid;    /* S-1-16-16384 */

/* The SYSTEM token (one reference held forever once SeInitSystem ran). */
extern PTOKEN SepSystemToken;

static inline ULONG SepAttributes(const ULONG *Attributes)
{
    return __atomic_load_n(Attributes, __ATOMIC_RELAXED);
}

/*
 * Every pool allocation Se makes on a caller's behalf goes through here, so
 * tests can make the Nth one fail (SepFailAllocationAfter = N; -1, the
 * default, never) and check that each failure path reports
 * STATUS_INSUFFICIENT_RESOURCES and leaks nothing (token.c).
 */
extern volatile LONG SepFailAllocationAfter;
PVOID SepAllocatePool(POOL_TYPE PoolType, SIZE_T NumberOfBytes, ULONG Tag);

/* token.c: token bodies, independent of the object manager. */
LUID SepAllocateLuid(void);
NTSTATUS SepInitializeToken(PTOKEN Token, const SEP_TOKEN_SPEC *Spec);
VOID SepDeleteToken(PTOKEN Token);
NTSTATUS SepFilterToken(PTOKEN Existing, ULONG Flags, PTOKEN_GROUPS SidsToDisable,
                        PTOKEN_PRIVILEGES PrivilegesToDelete, PTOKEN_GROUPS RestrictedSids, PTOKEN NewToken);
BOOLEAN SepPrivilegeEnabled(PTOKEN Token, ULONG Privilege);
BOOLEAN SepSidInToken(PTOKEN Token, PSID Sid, BOOLEAN ForDeny, BOOLEAN Restricted);
BOOLEAN SepValidOwner(PTOKEN Token, PSID Owner);
NTSTATUS SepAdjustPrivilege(PTOKEN Token, LUID Privilege, BOOLEAN Enable, PBOOLEAN WasEnabled);
NTSTATUS SepAdjustGroup(PTOKEN Token, PSID Group, BOOLEAN Enable, PBOOLEAN WasEnabled);

/* access.c */
NTSTATUS SepAccessCheckToken(PSECURITY_DESCRIPTOR SecurityDescriptor, PTOKEN Token, ACCESS_MASK DesiredAccess,
                             ACCESS_MASK PreviouslyGrantedAccess, const GENERIC_MAPPING *GenericMapping,
                             PACCESS_MASK GrantedAccess, PULONG PrivilegesUsed);
PTOKEN SepEffectiveToken(PSECURITY_SUBJECT_CONTEXT SubjectContext);
VOID SepMapAcl(PACL Acl, const GENERIC_MAPPING *GenericMapping);

#endif /* NTOS_SEP_H */
