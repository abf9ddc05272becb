/*
 * Tokens: the SYSTEM token and SeExports built at boot, SeCreateTokenInternal
 * with its validation errors, group attribute normalisation, SeFilterToken
 * (deny-only SIDs, deleted privileges, DISABLE_MAX_PRIVILEGE, restricted and
 * write-restricted tokens, intersection on re-filtering), the queries,
 * privilege/group enable changes, token object lifetime (no pool left
 * behind) and concurrent enable changes against access checks.
 */
#include "se_test.h"
#include "ntos_ke_test.h"
#include <ntos/ob.h>
#include "se/sep.h"

static BOOLEAN luid_is(LUID L, ULONG Value)
{
    return L.LowPart == Value && L.HighPart == 0;
}

static ULONG privilege_attributes(PTOKEN T, ULONG Value)
{
    for (ULONG i = 0; i < T->PrivilegeCount; i++) {
        if (luid_is(T->Privileges[i].Luid, Value))
            return T->Privileges[i].Attributes | 0x100; /* 0x100: present */
    }
    return 0;
}

static ULONG group_attributes(PTOKEN T, PSID Sid)
{
    for (ULONG i = 1; i < T->UserAndGroupCount; i++) {
        if (RtlEqualSid(T->UserAndGroups[i].Sid, Sid))
            return T->UserAndGroups[i].Attributes | 0x100000; /* present */
    }
    return 0;
}

/* A plain user: S-1-5-21-7-8-9-1001, Everyone (mandatory), Users, a
 * disabled optional group, an owner-capable group, a few privileges. */
typedef struct user_fixture {
    se_sid_buf User, World, Users, Optional, OwnerGroup, Other;
    SID_AND_ATTRIBUTES Groups[4];
    LUID_AND_ATTRIBUTES Privileges[3];
    se_acl_buf Dacl;
} user_fixture;

static void user_fixture_init(user_fixture *F)
{
    ULONG rids[5] = {21, 7, 8, 9, 1001};
    se_sid(&F->User, 5, 5, rids);
    se_sid1(&F->World, 1, 0);
    se_sid2(&F->Users, 5, 32, DOMAIN_ALIAS_RID_USERS);
    se_sid2(&F->Optional, 5, 32, 0x300);
    se_sid2(&F->OwnerGroup, 5, 32, 0x301);
    se_sid2(&F->Other, 5, 32, 0x302);
    F->Groups[0] = (SID_AND_ATTRIBUTES){&F->World.Sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT};
    F->Groups[1] = (SID_AND_ATTRIBUTES){&F->Users.Sid, SE_GROUP_ENABLED | SE_GROUP_ENABLED_BY_DEFAULT};
    F->Groups[2] = (SID_AND_ATTRIBUTES){&F->Optional.Sid, 0};
    F->Groups[3] = (SID_AND_ATTRIBUTES){&F->OwnerGroup.Sid, SE_GROUP_ENABLED | SE_GROUP_OWNER};
    F->Privileges[0] = (LUID_AND_ATTRIBUTES){{SE_CHANGE_NOTIFY_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED | SE_PRIVILEGE_ENABLED_BY_DEFAULT};
    F->Privileges[1] = (LUID_AND_ATTRIBUTES){{SE_SHUTDOWN_PRIVILEGE, 0}, 0};
    F->Privileges[2] = (LUID_AND_ATTRIBUTES){{SE_BACKUP_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED | SE_PRIVILEGE_USED_FOR_ACCESS};
    PACL dacl = se_acl(&F->Dacl);
    se_allow(dacl, GENERIC_ALL, &F->User.Sid, 0);
}

static PTOKEN user_token(user_fixture *F)
{
    PACCESS_TOKEN token = NULL;
    assert_int_equal(SeCreateTokenInternal(&F->User.Sid, 4, F->Groups, 3, F->Privileges, &F->Users.Sid,
                                           &F->Dacl.Acl, TokenPrimary, SecurityAnonymous, &token),
                     STATUS_SUCCESS);
    assert_non_null(token);
    return token;
}

static void system_token_shape(void **state)
{
    PTOKEN sys = SeReferenceSystemToken();
    assert_ptr_equal(sys, SepSystemToken);
    assert_int_equal(SeTokenType(sys), TokenPrimary);
    assert_true(SeTokenIsAdmin(sys));
    assert_false(SeTokenIsRestricted(sys));
    LUID auth;
    assert_int_equal(SeQueryAuthenticationIdToken(sys, &auth), STATUS_SUCCESS);
    assert_true(luid_is(auth, 0x3e7));

    assert_true(RtlEqualSid(sys->UserAndGroups[0].Sid, SeExports->SeLocalSystemSid));
    assert_true(RtlEqualSid(sys->PrimaryGroup, SeExports->SeLocalSystemSid));
    ULONG on = SE_GROUP_ENABLED | 0x100000;
    assert_int_equal(group_attributes(sys, SeExports->SeAliasAdminsSid) & (on | SE_GROUP_OWNER), on | SE_GROUP_OWNER);
    assert_int_equal(group_attributes(sys, SeExports->SeWorldSid) & on, on);
    assert_int_equal(group_attributes(sys, SeExports->SeAuthenticatedUsersSid) & on, on);
    assert_int_not_equal(group_attributes(sys, SeExports->SeSystemMandatorySid) & SE_GROUP_INTEGRITY, 0);
    assert_true(RtlEqualSid(sys->UserAndGroups[sys->DefaultOwnerIndex].Sid, SeExports->SeAliasAdminsSid));

    /* Every well-known privilege is present; the usual ones are enabled. */
    assert_int_equal(sys->PrivilegeCount, SE_MAX_WELL_KNOWN_PRIVILEGE - SE_MIN_WELL_KNOWN_PRIVILEGE + 1);
    for (ULONG p = SE_MIN_WELL_KNOWN_PRIVILEGE; p <= SE_MAX_WELL_KNOWN_PRIVILEGE; p++)
        assert_int_not_equal(privilege_attributes(sys, p), 0);
    assert_true(SepPrivilegeEnabled(sys, SE_TCB_PRIVILEGE));
    assert_true(SepPrivilegeEnabled(sys, SE_CHANGE_NOTIFY_PRIVILEGE));
    assert_true(SepPrivilegeEnabled(sys, SE_DEBUG_PRIVILEGE));
    assert_true(SepPrivilegeEnabled(sys, SE_CREATE_PERMANENT_PRIVILEGE));
    assert_false(SepPrivilegeEnabled(sys, SE_TAKE_OWNERSHIP_PRIVILEGE));
    assert_false(SepPrivilegeEnabled(sys, SE_SECURITY_PRIVILEGE));
    assert_false(SepPrivilegeEnabled(sys, SE_RESTORE_PRIVILEGE));
    assert_int_not_equal(sys->TokenFlags & TOKEN_HAS_TRAVERSE_PRIVILEGE, 0);
    assert_int_not_equal(sys->TokenFlags & TOKEN_HAS_IMPERSONATE_PRIVILEGE, 0);
    assert_int_equal(sys->TokenFlags & TOKEN_HAS_BACKUP_PRIVILEGE, 0);

    /* Default DACL: SYSTEM all, Administrators read/execute. */
    assert_non_null(sys->DefaultDacl);
    assert_int_equal(sys->DefaultDacl->AceCount, 2);
    PACCESS_ALLOWED_ACE a0, a1;
    assert_int_equal(RtlGetAce(sys->DefaultDacl, 0, (PVOID *)&a0), STATUS_SUCCESS);
    assert_int_equal(RtlGetAce(sys->DefaultDacl, 1, (PVOID *)&a1), STATUS_SUCCESS);
    assert_int_equal(a0->Mask, GENERIC_ALL);
    assert_true(RtlEqualSid(&a0->SidStart, SeExports->SeLocalSystemSid));
    assert_int_equal(a1->Mask, GENERIC_READ | GENERIC_EXECUTE | READ_CONTROL);
    assert_true(RtlEqualSid(&a1->SidStart, SeExports->SeAliasAdminsSid));

    /* It is a Token object, and the reference we took is ours to drop. */
    assert_ptr_equal(ObGetObjectType(sys), SeTokenObjectType);
    ObDereferenceObject(sys);
}

static void exports_and_type(void **state)
{
    assert_non_null(SeExports);
    se_sid_buf b;
    assert_true(RtlEqualSid(SeExports->SeNullSid, se_sid1(&b, 0, 0)));
    assert_true(RtlEqualSid(SeExports->SeWorldSid, se_sid1(&b, 1, 0)));
    assert_true(RtlEqualSid(SeExports->SeLocalSid, se_sid1(&b, 2, 0)));
    assert_true(RtlEqualSid(SeExports->SeCreatorOwnerSid, se_sid1(&b, 3, 0)));
    assert_true(RtlEqualSid(SeExports->SeCreatorGroupSid, se_sid1(&b, 3, 1)));
    assert_true(RtlEqualSid(SeExports->SeOwnerRightsSid, se_sid1(&b, 3, 4)));
    assert_true(RtlEqualSid(SeExports->SeNtAuthoritySid, se_sid(&b, 5, 0, NULL)));
    assert_true(RtlEqualSid(SeExports->SeNetworkSid, se_sid1(&b, 5, 2)));
    assert_true(RtlEqualSid(SeExports->SeInteractiveSid, se_sid1(&b, 5, 4)));
    assert_true(RtlEqualSid(SeExports->SeAnonymousLogonSid, se_sid1(&b, 5, 7)));
    assert_true(RtlEqualSid(SeExports->SeAuthenticatedUsersSid, se_sid1(&b, 5, 11)));
    assert_true(RtlEqualSid(SeExports->SeRestrictedSid, se_sid1(&b, 5, 12)));
    assert_true(RtlEqualSid(SeExports->SeIUserSid, se_sid1(&b, 5, 17)));
    assert_true(RtlEqualSid(SeExports->SeLocalSystemSid, se_sid1(&b, 5, 18)));
    assert_true(RtlEqualSid(SeExports->SeLocalServiceSid, se_sid1(&b, 5, 19)));
    assert_true(RtlEqualSid(SeExports->SeNetworkServiceSid, se_sid1(&b, 5, 20)));
    assert_true(RtlEqualSid(SeExports->SeAliasAdminsSid, se_sid2(&b, 5, 32, 544)));
    assert_true(RtlEqualSid(SeExports->SeAliasUsersSid, se_sid2(&b, 5, 32, 545)));
    assert_true(RtlEqualSid(SeExports->SeAliasGuestsSid, se_sid2(&b, 5, 32, 546)));
    assert_true(RtlEqualSid(SeExports->SeAliasBackupOpsSid, se_sid2(&b, 5, 32, 551)));
    assert_true(RtlEqualSid(SeExports->SeLowMandatorySid, se_sid1(&b, 16, 0x1000)));
    assert_true(RtlEqualSid(SeExports->SeSystemMandatorySid, se_sid1(&b, 16, 0x4000)));
    /* Every SID field is set and valid. */
    PSID *sids[] = {&SeExports->SeNullSid, &SeExports->SeDialupSid, &SeExports->SeBatchSid,
                    &SeExports->SeAliasPowerUsersSid, &SeExports->SeAliasAccountOpsSid,
                    &SeExports->SeAliasSystemOpsSid, &SeExports->SeAliasPrintOpsSid,
                    &SeExports->SeUntrustedMandatorySid, &SeExports->SeMediumMandatorySid,
                    &SeExports->SeHighMandatorySid};
    for (ULONG i = 0; i < RTL_NUMBER_OF(sids); i++)
        assert_true(RtlValidSid(*sids[i]));

    assert_true(luid_is(SeExports->SeCreateTokenPrivilege, 2));
    assert_true(luid_is(SeExports->SeTcbPrivilege, 7));
    assert_true(luid_is(SeExports->SeSecurityPrivilege, 8));
    assert_true(luid_is(SeExports->SeTakeOwnershipPrivilege, 9));
    assert_true(luid_is(SeExports->SeChangeNotifyPrivilege, 23));
    assert_true(luid_is(SeExports->SeImpersonatePrivilege, 29));
    assert_true(luid_is(SeExports->SeCreateSymbolicLinkPrivilege, 35));

    /* The Token type, as documented. */
    assert_non_null(SeTokenObjectType);
    assert_int_equal(SeTokenObjectType->TypeInfo.ValidAccessMask, TOKEN_ALL_ACCESS);
    assert_int_equal(SeTokenObjectType->TypeInfo.GenericMapping.GenericRead, STANDARD_RIGHTS_READ | TOKEN_QUERY);
    assert_int_equal(SeTokenObjectType->TypeInfo.GenericMapping.GenericWrite,
                     STANDARD_RIGHTS_WRITE | TOKEN_ADJUST_PRIVILEGES | TOKEN_ADJUST_GROUPS | TOKEN_ADJUST_DEFAULT);
    assert_int_equal(SeTokenObjectType->TypeInfo.GenericMapping.GenericExecute,
                     STANDARD_RIGHTS_EXECUTE | TOKEN_IMPERSONATE);
    assert_int_equal(SeTokenObjectType->TypeInfo.GenericMapping.GenericAll, TOKEN_ALL_ACCESS);
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"Token");
    assert_true(RtlEqualUnicodeString(&SeTokenObjectType->Name, &name, FALSE));
    /* A second initialisation is a no-op. */
    PSE_EXPORTS before = SeExports;
    assert_int_equal(SeInitSystem(), STATUS_SUCCESS);
    assert_ptr_equal(SeExports, before);
}

static void create_user_token(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    LONG64 live = se_pool_live(SEP_TAG_TOKEN);
    PTOKEN t = user_token(&f);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live + 1);

    assert_ptr_equal(ObGetObjectType(t), SeTokenObjectType);
    assert_int_equal(SeTokenType(t), TokenPrimary);
    assert_false(SeTokenIsAdmin(t));
    assert_false(SeTokenIsRestricted(t));
    assert_int_equal(t->UserAndGroupCount, 5);
    assert_true(RtlEqualSid(t->UserAndGroups[0].Sid, &f.User.Sid));
    assert_int_equal(t->UserAndGroups[0].Attributes, 0);
    assert_ptr_not_equal(t->UserAndGroups[0].Sid, &f.User.Sid); /* copied */
    assert_true(RtlEqualSid(t->PrimaryGroup, &f.Users.Sid));
    assert_int_equal(t->DefaultOwnerIndex, 0);
    assert_int_equal(t->PrivilegeCount, 3);
    /* Only the enable bits are kept. */
    assert_int_equal(privilege_attributes(t, SE_BACKUP_PRIVILEGE), 0x100 | SE_PRIVILEGE_ENABLED);
    assert_int_not_equal(t->TokenFlags & TOKEN_HAS_BACKUP_PRIVILEGE, 0);
    assert_int_equal(t->DefaultDacl->AceCount, 1);
    assert_ptr_not_equal(t->DefaultDacl, &f.Dacl.Acl);
    assert_int_equal(t->RestrictedSidCount, 0);
    assert_int_equal(t->ImpersonationLevel, SecurityAnonymous);

    /* Each token is its own logon session and has its own id. */
    PTOKEN t2 = user_token(&f);
    LUID a1, a2;
    SeQueryAuthenticationIdToken(t, &a1);
    SeQueryAuthenticationIdToken(t2, &a2);
    assert_false(a1.LowPart == a2.LowPart && a1.HighPart == a2.HighPart);
    assert_false(t->TokenId.LowPart == t2->TokenId.LowPart && t->TokenId.HighPart == t2->TokenId.HighPart);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live + 2);
    ObDereferenceObject(t2);
    ObDereferenceObject(t);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live);

    /* Impersonation tokens keep their level; no default DACL is fine. */
    PACCESS_TOKEN imp;
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 0, NULL, 0, NULL, &f.User.Sid, NULL, TokenImpersonation,
                                           SecurityDelegation, &imp),
                     STATUS_SUCCESS);
    assert_int_equal(SeTokenType(imp), TokenImpersonation);
    assert_int_equal(((PTOKEN)imp)->ImpersonationLevel, SecurityDelegation);
    assert_null(((PTOKEN)imp)->DefaultDacl);
    assert_int_equal(((PTOKEN)imp)->TokenFlags & TOKEN_HAS_TRAVERSE_PRIVILEGE, 0);
    ObDereferenceObject(imp);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live);
}

static void create_token_errors(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    PACCESS_TOKEN t = (PACCESS_TOKEN)1;
    LONG64 live = se_pool_live(SEP_TAG_TOKEN);
    se_sid_buf bad;
    se_sid1(&bad, 5, 1);
    bad.Sid.Revision = 2;

    assert_int_equal(SeCreateTokenInternal(&bad.Sid, 4, f.Groups, 3, f.Privileges, &f.Users.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_SID);
    assert_null(t);
    SID_AND_ATTRIBUTES badGroups[2] = {f.Groups[0], {&bad.Sid, SE_GROUP_ENABLED}};
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 2, badGroups, 0, NULL, &f.User.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_SID);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &f.Users.Sid, NULL,
                                           (TOKEN_TYPE)3, SecurityAnonymous, &t),
                     STATUS_BAD_TOKEN_TYPE);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &f.Users.Sid, NULL,
                                           (TOKEN_TYPE)0, SecurityAnonymous, &t),
                     STATUS_BAD_TOKEN_TYPE);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &f.Users.Sid, NULL,
                                           TokenImpersonation, (SECURITY_IMPERSONATION_LEVEL)4, &t),
                     STATUS_BAD_IMPERSONATION_LEVEL);
    LUID_AND_ATTRIBUTES badPrivileges[3][1] = {{{{1, 0}, 0}}, {{{36, 0}, 0}}, {{{SE_TCB_PRIVILEGE, 1}, 0}}};
    for (ULONG i = 0; i < 3; i++)
        assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 1, badPrivileges[i], &f.Users.Sid, NULL,
                                               TokenPrimary, SecurityAnonymous, &t),
                         STATUS_NO_SUCH_PRIVILEGE);
    f.Dacl.Acl.AclRevision = 9;
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &f.Users.Sid, &f.Dacl.Acl,
                                           TokenPrimary, SecurityAnonymous, &t),
                     STATUS_INVALID_ACL);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &f.Other.Sid, NULL,
                                           TokenPrimary, SecurityAnonymous, &t),
                     STATUS_INVALID_PRIMARY_GROUP);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, NULL, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_PRIMARY_GROUP);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 4, f.Groups, 3, f.Privileges, &bad.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_PRIMARY_GROUP);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, SEP_MAX_TOKEN_ENTRIES + 1, f.Groups, 0, NULL, &f.User.Sid,
                                           NULL, TokenPrimary, SecurityAnonymous, &t),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 2, NULL, 0, NULL, &f.User.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 0, NULL, 2, NULL, &f.User.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &t),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(SeCreateTokenInternal(&f.User.Sid, 0, NULL, 0, NULL, &f.User.Sid, NULL, TokenPrimary,
                                           SecurityAnonymous, NULL),
                     STATUS_INVALID_PARAMETER);

    /* The default owner must be the user or an owner-capable, usable group. */
    SEP_TOKEN_SPEC spec = {0};
    TOKEN body;
    spec.User = &f.User.Sid;
    spec.GroupCount = 4;
    spec.Groups = f.Groups;
    spec.PrimaryGroup = &f.User.Sid;
    spec.TokenType = TokenPrimary;
    spec.DefaultOwner = &f.Users.Sid;
    assert_int_equal(SepInitializeToken(&body, &spec), STATUS_INVALID_OWNER);
    spec.DefaultOwner = &f.Other.Sid;
    assert_int_equal(SepInitializeToken(&body, &spec), STATUS_INVALID_OWNER);
    spec.DefaultOwner = &f.OwnerGroup.Sid;
    assert_int_equal(SepInitializeToken(&body, &spec), STATUS_SUCCESS);
    assert_int_equal(body.DefaultOwnerIndex, 4);
    SepDeleteToken(&body);
    spec.DefaultOwner = &f.User.Sid;
    assert_int_equal(SepInitializeToken(&body, &spec), STATUS_SUCCESS);
    assert_int_equal(body.DefaultOwnerIndex, 0);
    SepDeleteToken(&body);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live);
}

static void group_normalisation(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    SID_AND_ATTRIBUTES groups[3] = {
        {&f.World.Sid, SE_GROUP_MANDATORY},                                   /* mandatory: forced on */
        {&f.Users.Sid, SE_GROUP_USE_FOR_DENY_ONLY | SE_GROUP_ENABLED},        /* deny-only: forced off */
        {&f.Optional.Sid, SE_GROUP_ENABLED_BY_DEFAULT},                       /* neither: as given */
    };
    SEP_TOKEN_SPEC spec = {0};
    TOKEN body;
    spec.User = &f.User.Sid;
    spec.UserAttributes = SE_GROUP_ENABLED | SE_GROUP_OWNER;
    spec.GroupCount = 3;
    spec.Groups = groups;
    spec.PrimaryGroup = &f.Users.Sid;
    spec.TokenType = TokenPrimary;
    assert_int_equal(SepInitializeToken(&body, &spec), STATUS_SUCCESS);
    assert_int_equal(body.UserAndGroups[0].Attributes, 0);
    assert_int_equal(body.UserAndGroups[1].Attributes, SE_GROUP_MANDATORY | SE_GROUP_ENABLED);
    assert_int_equal(body.UserAndGroups[2].Attributes, SE_GROUP_USE_FOR_DENY_ONLY);
    assert_int_equal(body.UserAndGroups[3].Attributes, SE_GROUP_ENABLED_BY_DEFAULT);

    assert_true(SepSidInToken(&body, &f.User.Sid, FALSE, FALSE));
    assert_true(SepSidInToken(&body, &f.World.Sid, FALSE, FALSE));
    assert_false(SepSidInToken(&body, &f.Users.Sid, FALSE, FALSE));
    assert_true(SepSidInToken(&body, &f.Users.Sid, TRUE, FALSE));
    assert_false(SepSidInToken(&body, &f.Optional.Sid, FALSE, FALSE));
    assert_false(SepSidInToken(&body, &f.Optional.Sid, TRUE, FALSE));
    assert_false(SepSidInToken(&body, &f.Other.Sid, TRUE, FALSE));
    assert_false(SepSidInToken(&body, &f.User.Sid, FALSE, TRUE)); /* no restricted SIDs */
    SepDeleteToken(&body);
}

static void filter_token(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    LONG64 live = se_pool_live(SEP_TAG_TOKEN);
    PTOKEN t = user_token(&f);

    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[2];
    } disable = {2, {{&f.Users.Sid, 0}, {&f.World.Sid, 0}}}; /* World is mandatory: disabled anyway */
    struct {
        ULONG PrivilegeCount;
        LUID_AND_ATTRIBUTES Privileges[1];
    } remove = {1, {{{SE_BACKUP_PRIVILEGE, 0}, 0}}};

    PACCESS_TOKEN ft = (PACCESS_TOKEN)1;
    assert_int_equal(SeFilterToken(t, 0, (PTOKEN_GROUPS)&disable, (PTOKEN_PRIVILEGES)&remove, NULL, &ft),
                     STATUS_SUCCESS);
    PTOKEN f1 = ft;
    assert_ptr_equal(ObGetObjectType(f1), SeTokenObjectType);
    assert_int_equal(group_attributes(f1, &f.Users.Sid) & ~0x100000, SE_GROUP_USE_FOR_DENY_ONLY);
    assert_int_equal(group_attributes(f1, &f.World.Sid) & ~0x100000, SE_GROUP_USE_FOR_DENY_ONLY | SE_GROUP_MANDATORY);
    assert_int_equal(group_attributes(f1, &f.OwnerGroup.Sid) & ~0x100000, SE_GROUP_ENABLED | SE_GROUP_OWNER);
    assert_int_equal(f1->UserAndGroups[0].Attributes, 0);
    assert_int_equal(privilege_attributes(f1, SE_BACKUP_PRIVILEGE), 0);
    assert_int_not_equal(privilege_attributes(f1, SE_SHUTDOWN_PRIVILEGE), 0);
    assert_int_equal(f1->TokenFlags & TOKEN_HAS_BACKUP_PRIVILEGE, 0);
    assert_int_not_equal(f1->TokenFlags & TOKEN_IS_FILTERED, 0);
    assert_false(SeTokenIsRestricted(f1));
    /* Same logon session, new identity, parent recorded. */
    LUID a, b;
    SeQueryAuthenticationIdToken(t, &a);
    SeQueryAuthenticationIdToken(f1, &b);
    assert_true(a.LowPart == b.LowPart && a.HighPart == b.HighPart);
    assert_false(f1->TokenId.LowPart == t->TokenId.LowPart && f1->TokenId.HighPart == t->TokenId.HighPart);
    assert_true(f1->ParentTokenId.LowPart == t->TokenId.LowPart);
    assert_true(RtlEqualSid(f1->PrimaryGroup, t->PrimaryGroup));
    assert_int_equal(f1->DefaultDacl->AclSize, t->DefaultDacl->AclSize);

    /* The user itself can become deny-only. */
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } disableUser = {1, {{&f.User.Sid, 0}}};
    PACCESS_TOKEN ft2;
    assert_int_equal(SeFilterToken(t, DISABLE_MAX_PRIVILEGE, (PTOKEN_GROUPS)&disableUser, NULL, NULL, &ft2),
                     STATUS_SUCCESS);
    PTOKEN f2 = ft2;
    assert_int_equal(f2->UserAndGroups[0].Attributes, SE_GROUP_USE_FOR_DENY_ONLY);
    assert_false(SepSidInToken(f2, &f.User.Sid, FALSE, FALSE));
    assert_true(SepSidInToken(f2, &f.User.Sid, TRUE, FALSE));
    /* DISABLE_MAX_PRIVILEGE keeps only SeChangeNotifyPrivilege. */
    assert_int_equal(f2->PrivilegeCount, 1);
    assert_true(luid_is(f2->Privileges[0].Luid, SE_CHANGE_NOTIFY_PRIVILEGE));

    ObDereferenceObject(f2);
    ObDereferenceObject(f1);
    ObDereferenceObject(t);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live);
}

static void filter_restricted(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    LONG64 live = se_pool_live(SEP_TAG_TOKEN);
    PTOKEN t = user_token(&f);

    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[2];
    } restrict1 = {2, {{&f.World.Sid, 0}, {&f.Other.Sid, 0}}},
      restrict2 = {2, {{&f.Other.Sid, 0}, {&f.Users.Sid, 0}}};
    PACCESS_TOKEN r1, r2, r3, w1, w2;
    assert_int_equal(SeFilterToken(t, SANDBOX_INERT, NULL, NULL, (PTOKEN_GROUPS)&restrict1, &r1), STATUS_SUCCESS);
    assert_true(SeTokenIsRestricted(r1));
    PTOKEN rt1 = r1;
    assert_int_equal(rt1->RestrictedSidCount, 2);
    assert_int_equal(rt1->RestrictedSids[0].Attributes, SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED);
    assert_true(SepSidInToken(rt1, &f.Other.Sid, FALSE, TRUE));
    assert_false(SepSidInToken(rt1, &f.User.Sid, FALSE, TRUE));
    assert_int_not_equal(rt1->TokenFlags & TOKEN_SANDBOX_INERT, 0);
    assert_int_equal(rt1->TokenFlags & TOKEN_WRITE_RESTRICTED, 0);

    /* Restricting a restricted token intersects the lists. */
    assert_int_equal(SeFilterToken(r1, 0, NULL, NULL, (PTOKEN_GROUPS)&restrict2, &r2), STATUS_SUCCESS);
    PTOKEN rt2 = r2;
    assert_int_equal(rt2->RestrictedSidCount, 1);
    assert_true(RtlEqualSid(rt2->RestrictedSids[0].Sid, &f.Other.Sid));
    assert_int_not_equal(rt2->TokenFlags & TOKEN_SANDBOX_INERT, 0); /* inherited */
    /* Filtering without new restricting SIDs keeps the old ones. */
    assert_int_equal(SeFilterToken(r2, 0, NULL, NULL, NULL, &r3), STATUS_SUCCESS);
    assert_true(SeTokenIsRestricted(r3));
    assert_int_equal(((PTOKEN)r3)->RestrictedSidCount, 1);

    /* Write-restricted; and a fully restricted token is never weakened to it. */
    assert_int_equal(SeFilterToken(t, WRITE_RESTRICTED, NULL, NULL, (PTOKEN_GROUPS)&restrict1, &w1), STATUS_SUCCESS);
    assert_int_not_equal(((PTOKEN)w1)->TokenFlags & TOKEN_WRITE_RESTRICTED, 0);
    assert_true(SeTokenIsRestricted(w1));
    assert_int_equal(SeFilterToken(r1, WRITE_RESTRICTED, NULL, NULL, (PTOKEN_GROUPS)&restrict1, &w2), STATUS_SUCCESS);
    assert_int_equal(((PTOKEN)w2)->TokenFlags & TOKEN_WRITE_RESTRICTED, 0);

    /* Restricting SIDs that intersect to nothing still leave a restricted token. */
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } disjoint = {1, {{&f.User.Sid, 0}}};
    PACCESS_TOKEN empty;
    assert_int_equal(SeFilterToken(r2, 0, NULL, NULL, (PTOKEN_GROUPS)&disjoint, &empty), STATUS_SUCCESS);
    assert_true(SeTokenIsRestricted(empty));
    assert_int_equal(((PTOKEN)empty)->RestrictedSidCount, 0);

    PACCESS_TOKEN all[] = {empty, w2, w1, r3, r2, r1, t};
    for (ULONG i = 0; i < RTL_NUMBER_OF(all); i++)
        ObDereferenceObject(all[i]);
    assert_int_equal(se_pool_live(SEP_TAG_TOKEN), live);
}

static void filter_errors_and_owner_fallback(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    PTOKEN t = user_token(&f);
    PACCESS_TOKEN out = (PACCESS_TOKEN)1;
    se_sid_buf bad;
    se_sid1(&bad, 1, 0);
    bad.Sid.SubAuthorityCount = 20;
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } badSids = {1, {{&bad.Sid, 0}}}, withAttributes = {1, {{&f.World.Sid, SE_GROUP_ENABLED}}},
      tooMany = {SEP_MAX_TOKEN_ENTRIES + 1, {{&f.World.Sid, 0}}};

    assert_int_equal(SeFilterToken(NULL, 0, NULL, NULL, NULL, &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(SeFilterToken(t, 0, NULL, NULL, NULL, NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(SeFilterToken(t, 0x10, NULL, NULL, NULL, &out), STATUS_INVALID_PARAMETER);
    assert_null(out);
    assert_int_equal(SeFilterToken(t, LUA_TOKEN, NULL, NULL, NULL, &out), STATUS_INVALID_PARAMETER);
    assert_int_equal(SeFilterToken(t, 0, (PTOKEN_GROUPS)&badSids, NULL, NULL, &out), STATUS_INVALID_SID);
    assert_int_equal(SeFilterToken(t, 0, NULL, NULL, (PTOKEN_GROUPS)&badSids, &out), STATUS_INVALID_SID);
    assert_int_equal(SeFilterToken(t, 0, NULL, NULL, (PTOKEN_GROUPS)&withAttributes, &out),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(SeFilterToken(t, 0, (PTOKEN_GROUPS)&tooMany, NULL, NULL, &out), STATUS_INVALID_PARAMETER);
    struct {
        ULONG PrivilegeCount;
        LUID_AND_ATTRIBUTES Privileges[1];
    } tooManyPrivileges = {SEP_MAX_TOKEN_ENTRIES + 1, {{{2, 0}, 0}}};
    assert_int_equal(SeFilterToken(t, 0, NULL, (PTOKEN_PRIVILEGES)&tooManyPrivileges, NULL, &out),
                     STATUS_INVALID_PARAMETER);
    ObDereferenceObject(t);

    /* SYSTEM with Administrators disabled: no longer admin, and its objects are
     * owned by the user instead of the now deny-only group. */
    PTOKEN sys = SeReferenceSystemToken();
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } noAdmins = {1, {{SeExports->SeAliasAdminsSid, 0}}};
    assert_int_equal(SeFilterToken(sys, 0, (PTOKEN_GROUPS)&noAdmins, NULL, NULL, &out), STATUS_SUCCESS);
    assert_false(SeTokenIsAdmin(out));
    assert_int_equal(((PTOKEN)out)->DefaultOwnerIndex, 0);
    assert_false(SepValidOwner(out, SeExports->SeAliasAdminsSid));
    assert_true(SepValidOwner(sys, SeExports->SeAliasAdminsSid));
    ObDereferenceObject(out);
    ObDereferenceObject(sys);
}

static void adjust_privileges_and_groups(void **state)
{
    user_fixture f;
    user_fixture_init(&f);
    PTOKEN t = user_token(&f);
    BOOLEAN was = 7;
    LUID modified = t->ModifiedId;

    assert_false(SepPrivilegeEnabled(t, SE_SHUTDOWN_PRIVILEGE));
    assert_int_equal(SepAdjustPrivilege(t, (LUID){SE_SHUTDOWN_PRIVILEGE, 0}, TRUE, &was), STATUS_SUCCESS);
    assert_false(was);
    assert_true(SepPrivilegeEnabled(t, SE_SHUTDOWN_PRIVILEGE));
    assert_false(t->ModifiedId.LowPart == modified.LowPart);
    modified = t->ModifiedId;
    /* No change, no new ModifiedId. */
    assert_int_equal(SepAdjustPrivilege(t, (LUID){SE_SHUTDOWN_PRIVILEGE, 0}, TRUE, &was), STATUS_SUCCESS);
    assert_true(was);
    assert_true(t->ModifiedId.LowPart == modified.LowPart);
    assert_int_equal(SepAdjustPrivilege(t, (LUID){SE_CHANGE_NOTIFY_PRIVILEGE, 0}, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(t->TokenFlags & TOKEN_HAS_TRAVERSE_PRIVILEGE, 0);
    assert_int_equal(SepAdjustPrivilege(t, (LUID){SE_CHANGE_NOTIFY_PRIVILEGE, 0}, TRUE, NULL), STATUS_SUCCESS);
    assert_int_not_equal(t->TokenFlags & TOKEN_HAS_TRAVERSE_PRIVILEGE, 0);
    assert_int_equal(SepAdjustPrivilege(t, (LUID){SE_TCB_PRIVILEGE, 0}, TRUE, &was), STATUS_NOT_ALL_ASSIGNED);
    assert_false(SepPrivilegeEnabled(t, SE_TCB_PRIVILEGE));

    assert_int_equal(SepAdjustGroup(t, &f.World.Sid, FALSE, &was), STATUS_CANT_DISABLE_MANDATORY);
    assert_true(SepSidInToken(t, &f.World.Sid, FALSE, FALSE));
    assert_int_equal(SepAdjustGroup(t, &f.Users.Sid, FALSE, &was), STATUS_SUCCESS);
    assert_true(was);
    assert_false(SepSidInToken(t, &f.Users.Sid, FALSE, FALSE));
    assert_false(SepSidInToken(t, &f.Users.Sid, TRUE, FALSE));
    assert_int_equal(SepAdjustGroup(t, &f.Optional.Sid, TRUE, &was), STATUS_SUCCESS);
    assert_false(was);
    assert_true(SepSidInToken(t, &f.Optional.Sid, FALSE, FALSE));
    assert_int_equal(SepAdjustGroup(t, &f.Other.Sid, TRUE, &was), STATUS_NOT_ALL_ASSIGNED);
    assert_int_equal(SepAdjustGroup(t, &f.User.Sid, FALSE, &was), STATUS_NOT_ALL_ASSIGNED); /* the user is no group */
    se_sid_buf bad;
    se_sid1(&bad, 1, 0);
    bad.Sid.Revision = 0;
    assert_int_equal(SepAdjustGroup(t, &bad.Sid, TRUE, &was), STATUS_INVALID_SID);

    /* A deny-only group cannot be enabled. */
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } disable = {1, {{&f.Optional.Sid, 0}}};
    PACCESS_TOKEN filtered;
    assert_int_equal(SeFilterToken(t, 0, (PTOKEN_GROUPS)&disable, NULL, NULL, &filtered), STATUS_SUCCESS);
    assert_int_equal(SepAdjustGroup(filtered, &f.Optional.Sid, TRUE, &was), STATUS_CANT_ENABLE_DENY_ONLY);
    ObDereferenceObject(filtered);
    ObDereferenceObject(t);
}

/* Writers toggle a privilege and a group while readers run access checks
 * under the subject-context lock: the sanitizers see every access. */
typedef struct stress_ctx {
    PTOKEN Token;
    user_fixture *F;
    PSECURITY_DESCRIPTOR Sd;
    volatile LONG Checks;
    volatile LONG Errors;
} stress_ctx;

static VOID NTAPI stress_writer(PVOID Context)
{
    stress_ctx *c = Context;
    for (ULONG i = 0; i < 300; i++) {
        SepAdjustPrivilege(c->Token, (LUID){SE_SHUTDOWN_PRIVILEGE, 0}, (i & 1) != 0, NULL);
        SepAdjustGroup(c->Token, &c->F->Optional.Sid, (i & 2) != 0, NULL);
    }
}

static VOID NTAPI stress_reader(PVOID Context)
{
    stress_ctx *c = Context;
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, c->Token, NULL};
    /* A fixed amount of work: readers that spin until the writer is done can
     * starve it on one CPU (nothing preempts a reader inside its quantum). */
    for (ULONG i = 0; i < 1500; i++) {
        ACCESS_MASK granted;
        NTSTATUS status;
        SeLockSubjectContext(&subject);
        BOOLEAN ok = SeAccessCheck(c->Sd, &subject, TRUE, SE_TEST_READ, 0, NULL, (PGENERIC_MAPPING)&se_test_mapping,
                                   UserMode, &granted, &status);
        SeUnlockSubjectContext(&subject);
        /* READ is granted to the user outright, whatever the optional group does. */
        if (!ok || granted != SE_TEST_READ)
            __atomic_fetch_add(&c->Errors, 1, __ATOMIC_RELAXED);
        ok = SeAccessCheck(c->Sd, &subject, FALSE, SE_TEST_WRITE, 0, NULL, (PGENERIC_MAPPING)&se_test_mapping,
                           UserMode, &granted, &status);
        if (ok != (granted == SE_TEST_WRITE))
            __atomic_fetch_add(&c->Errors, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&c->Checks, 1, __ATOMIC_RELAXED);
    }
}

static void concurrent_adjust_and_check(void **state)
{
    static user_fixture f;
    static stress_ctx c;
    static KTHREAD writer, readers[2];
    static SECURITY_DESCRIPTOR sd;
    static se_acl_buf dacl;
    user_fixture_init(&f);
    c = (stress_ctx){0};
    c.Token = user_token(&f);
    c.F = &f;
    PACL acl = se_acl(&dacl);
    se_allow(acl, SE_TEST_READ, &f.User.Sid, 0);
    se_allow(acl, SE_TEST_WRITE, &f.Optional.Sid, 0);
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
    c.Sd = &sd;

    kt_start(&readers[0], stress_reader, &c, 8);
    kt_start(&readers[1], stress_reader, &c, 8);
    kt_start(&writer, stress_writer, &c, 8);
    kt_join(&writer);
    kt_join(&readers[0]);
    kt_join(&readers[1]);
    assert_int_equal(c.Errors, 0);
    assert_int_equal(c.Checks, 2 * 1500);
    assert_int_equal(c.Token->Lock.Value, 0);
    ObDereferenceObject(c.Token);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(system_token_shape),
    cmocka_unit_test(exports_and_type),
    cmocka_unit_test(create_user_token),
    cmocka_unit_test(create_token_errors),
    cmocka_unit_test(group_normalisation),
    cmocka_unit_test(filter_token),
    cmocka_unit_test(filter_restricted),
    cmocka_unit_test(filter_errors_and_owner_fallback),
    cmocka_unit_test(adjust_privileges_and_groups),
    cmocka_unit_test(concurrent_adjust_and_check),
};

NTOS_TEST_GROUP(se_token, tests, NULL, NULL);
