/*
 * SeAccessCheck and the privilege checks, on token bodies built directly
 * (SepInitializeToken) so every token shape is easy to make: the KernelMode
 * bypass, NULL/empty DACLs, deny-before-allow ordering, generic mapping,
 * MAXIMUM_ALLOWED, the owner's implicit rights and OWNER RIGHTS, deny-only
 * and disabled groups, inherit-only ACEs, restricted and write-restricted
 * tokens, SeTakeOwnership/SeSecurity privileges and the privilege set
 * returned, PreviouslyGrantedAccess, the client/primary/SYSTEM token choice,
 * impersonation level, SePrivilegeCheck, and a randomized comparison against
 * NT's classic first-match algorithm.
 */
#include "se_test.h"
#include "se/sep.h"

/* SIDs used throughout. */
static se_sid_buf s_user, s_world, s_users, s_admins, s_deny_only, s_disabled, s_other;
static se_acl_buf acl_buf;

#define R SE_TEST_READ
#define W SE_TEST_WRITE
#define X SE_TEST_EXECUTE
#define M ((PGENERIC_MAPPING)&se_test_mapping)

static void make_sids(void)
{
    ULONG rids[5] = {21, 4, 5, 6, 1000};
    se_sid(&s_user, 5, 5, rids);
    se_sid1(&s_world, 1, 0);
    se_sid2(&s_users, 5, 32, DOMAIN_ALIAS_RID_USERS);
    se_sid2(&s_admins, 5, 32, DOMAIN_ALIAS_RID_ADMINS);
    se_sid2(&s_deny_only, 5, 32, 0x400);
    se_sid2(&s_disabled, 5, 32, 0x401);
    se_sid2(&s_other, 5, 32, 0x402);
}

static int group_setup(void **state)
{
    make_sids();
    return 0;
}

typedef struct tok_opts {
    ULONG PrivilegeCount;
    LUID_AND_ATTRIBUTES Privileges[4];
    ULONG RestrictedCount;
    PSID Restricted[3];
    ULONG Flags;
    BOOLEAN AdminsEnabled;
} tok_opts;

/* The user, Everyone, Users and (optionally) Administrators enabled; one
 * deny-only group and one disabled group. */
static void make_token(PTOKEN T, const tok_opts *O)
{
    SID_AND_ATTRIBUTES groups[5] = {
        {&s_world.Sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED},
        {&s_users.Sid, SE_GROUP_ENABLED},
        {&s_deny_only.Sid, SE_GROUP_USE_FOR_DENY_ONLY},
        {&s_disabled.Sid, 0},
        {&s_admins.Sid, (O && O->AdminsEnabled) ? SE_GROUP_ENABLED | SE_GROUP_OWNER : SE_GROUP_OWNER},
    };
    SID_AND_ATTRIBUTES restricted[3];
    SEP_TOKEN_SPEC spec = {0};
    spec.User = &s_user.Sid;
    spec.GroupCount = 5;
    spec.Groups = groups;
    spec.PrimaryGroup = &s_users.Sid;
    spec.TokenType = TokenPrimary;
    if (O != NULL) {
        spec.PrivilegeCount = O->PrivilegeCount;
        spec.Privileges = O->Privileges;
        for (ULONG i = 0; i < O->RestrictedCount; i++)
            restricted[i] = (SID_AND_ATTRIBUTES){O->Restricted[i], SE_GROUP_ENABLED | SE_GROUP_MANDATORY};
        spec.RestrictedSidCount = O->RestrictedCount;
        spec.RestrictedSids = restricted;
        spec.TokenFlags = O->Flags;
    }
    assert_int_equal(SepInitializeToken(T, &spec), STATUS_SUCCESS);
}

typedef struct sd_buf {
    SECURITY_DESCRIPTOR Sd;
} sd_buf;

/* Absolute descriptor with Owner and the DACL in acl_buf (NULL Dacl: none). */
static PSECURITY_DESCRIPTOR make_sd(sd_buf *B, PSID Owner, PACL Dacl, BOOLEAN DaclPresent)
{
    assert_int_equal(RtlCreateSecurityDescriptor(&B->Sd, SECURITY_DESCRIPTOR_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlSetOwnerSecurityDescriptor(&B->Sd, Owner, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlSetDaclSecurityDescriptor(&B->Sd, DaclPresent, Dacl, FALSE), STATUS_SUCCESS);
    return &B->Sd;
}

/* One user-mode check with the token as primary; returns the status, granted via *G. */
static NTSTATUS check(PSECURITY_DESCRIPTOR Sd, PTOKEN T, ACCESS_MASK Desired, ACCESS_MASK Previous, ACCESS_MASK *G)
{
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, T, NULL};
    ACCESS_MASK granted = 0xDEADBEEF;
    NTSTATUS status = 0x12345678;
    PPRIVILEGE_SET privileges = (PPRIVILEGE_SET)1;
    BOOLEAN ok = SeAccessCheck(Sd, &subject, FALSE, Desired, Previous, &privileges, M, UserMode, &granted, &status);
    assert_int_equal(ok, NT_SUCCESS(status));
    if (!ok)
        assert_int_equal(granted, 0);
    if (privileges != NULL)
        SeFreePrivileges(privileges);
    if (G)
        *G = granted;
    return status;
}

static void kernel_mode_bypass(void **state)
{
    TOKEN t;
    sd_buf b;
    make_token(&t, NULL);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, se_acl(&acl_buf), TRUE); /* empty DACL */
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    ACCESS_MASK g;
    NTSTATUS st;
    assert_true(SeAccessCheck(sd, &subject, FALSE, GENERIC_READ | DELETE, 0, NULL, M, KernelMode, &g, &st));
    assert_int_equal(st, STATUS_SUCCESS);
    assert_int_equal(g, se_test_mapping.GenericRead | DELETE);
    assert_true(SeAccessCheck(sd, &subject, FALSE, MAXIMUM_ALLOWED | ACCESS_SYSTEM_SECURITY, W, NULL, M, KernelMode,
                              &g, &st));
    assert_int_equal(g, SE_TEST_ALL_ACCESS | ACCESS_SYSTEM_SECURITY | W);
    /* Even without a descriptor or a token. */
    SECURITY_SUBJECT_CONTEXT none = {0};
    assert_true(SeAccessCheck(NULL, &none, FALSE, R, 0, NULL, M, KernelMode, &g, &st));
    assert_int_equal(g, R);
    SepDeleteToken(&t);
}

static void null_and_missing_dacl(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    /* No DACL at all, and a present NULL DACL: everything. */
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, NULL, FALSE);
    assert_int_equal(check(sd, &t, R | W | DELETE, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | W | DELETE);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, SE_TEST_ALL_ACCESS);
    sd = make_sd(&b, &s_other.Sid, NULL, TRUE);
    assert_int_equal(check(sd, &t, GENERIC_ALL, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, SE_TEST_ALL_ACCESS);
    /* ACCESS_SYSTEM_SECURITY still needs the privilege. */
    assert_int_equal(check(sd, &t, R | ACCESS_SYSTEM_SECURITY, 0, &g), STATUS_PRIVILEGE_NOT_HELD);
    /* No descriptor at all is a denial for user mode. */
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    NTSTATUS st;
    assert_false(SeAccessCheck(NULL, &subject, FALSE, R, 0, NULL, M, UserMode, &g, &st));
    assert_int_equal(st, STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
}

static void empty_dacl(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, se_acl(&acl_buf), TRUE);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, READ_CONTROL, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_ACCESS_DENIED);
    /* The owner still gets READ_CONTROL and WRITE_DAC. */
    sd = make_sd(&b, &s_user.Sid, &acl_buf.Acl, TRUE);
    assert_int_equal(check(sd, &t, READ_CONTROL | WRITE_DAC, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, READ_CONTROL | WRITE_DAC);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, READ_CONTROL | WRITE_DAC);
    assert_int_equal(check(sd, &t, READ_CONTROL | R, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, WRITE_OWNER, 0, &g), STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
}

static void deny_before_allow(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PACL acl = se_acl(&acl_buf);
    se_deny(acl, W, &s_user.Sid, 0);
    se_allow(acl, R | W | X, &s_world.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, R | W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | X);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED | W, 0, &g), STATUS_ACCESS_DENIED);

    /* The same ACEs the other way round: the allow came first, so it wins. */
    acl = se_acl(&acl_buf);
    se_allow(acl, R | W | X, &s_world.Sid, 0);
    se_deny(acl, W, &s_user.Sid, 0);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | W | X);

    /* Bits granted by separate ACEs add up; a deny in between takes what is left. */
    acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_users.Sid, 0);
    se_deny(acl, R | W, &s_world.Sid, 0);
    se_allow(acl, W | X, &s_user.Sid, 0);
    assert_int_equal(check(sd, &t, R | X, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | X);
    SepDeleteToken(&t);
}

static void generic_mapping_cases(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, GENERIC_READ, &s_user.Sid, 0);
    se_deny(acl, GENERIC_WRITE, &s_world.Sid, 0);
    se_allow(acl, GENERIC_ALL, &s_users.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    /* Requests and ACE masks are both mapped; the result has no generic bits. */
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, GENERIC_READ, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | READ_CONTROL);
    assert_int_equal(check(sd, &t, GENERIC_EXECUTE, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, X | READ_CONTROL | SYNCHRONIZE);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, GENERIC_ALL, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, SE_TEST_ALL_ACCESS & ~W);
    SepDeleteToken(&t);
}

static void group_kinds_and_inherit_only(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_deny_only.Sid, 0);   /* deny-only: never allows */
    se_allow(acl, W, &s_disabled.Sid, 0);    /* disabled: never counts */
    se_allow(acl, X, &s_world.Sid, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE); /* not for this object */
    se_allow(acl, DELETE, &s_admins.Sid, 0); /* present but not enabled */
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, X, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, DELETE, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_ACCESS_DENIED);

    acl = se_acl(&acl_buf);
    se_deny(acl, R, &s_deny_only.Sid, 0);    /* deny-only: denies */
    se_deny(acl, W, &s_disabled.Sid, 0);     /* disabled: does not deny */
    se_deny(acl, X, &s_world.Sid, INHERIT_ONLY_ACE | CONTAINER_INHERIT_ACE); /* skipped */
    se_allow(acl, R | W | X, &s_user.Sid, 0);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, W | X, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, W | X);

    /* Audit/alarm ACEs in a DACL and unknown types grant nothing and deny nothing. */
    acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_user.Sid, 0);
    se_deny(acl, W, &s_user.Sid, 0);
    ((PACE_HEADER)((PUCHAR)acl + 8))->AceType = SYSTEM_AUDIT_ACE_TYPE;
    PVOID second;
    assert_int_equal(RtlGetAce(acl, 1, &second), STATUS_SUCCESS);
    ((PACE_HEADER)second)->AceType = 0x42;
    se_allow(acl, W, &s_world.Sid, 0);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_SUCCESS);
    SepDeleteToken(&t);
}

static void owner_rights(void **state)
{
    TOKEN t, admin;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    tok_opts o = {0};
    o.AdminsEnabled = TRUE;
    make_token(&admin, &o);

    /* Owner by group: only while the group is enabled. */
    PACL acl = se_acl(&acl_buf);
    se_deny(acl, READ_CONTROL | WRITE_DAC, &s_user.Sid, 0); /* cannot take the implicit rights */
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_admins.Sid, acl, TRUE);
    assert_int_equal(check(sd, &admin, READ_CONTROL | WRITE_DAC, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, READ_CONTROL, 0, &g), STATUS_ACCESS_DENIED);

    /* OWNER RIGHTS ACEs replace the implicit grant. */
    acl = se_acl(&acl_buf);
    se_allow(acl, READ_CONTROL | R, SeExports->SeOwnerRightsSid, 0);
    sd = make_sd(&b, &s_user.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, READ_CONTROL | R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, WRITE_DAC, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, READ_CONTROL | R);
    /* ... and do nothing for anyone but the owner. */
    sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    /* A deny OWNER RIGHTS ACE takes even READ_CONTROL from the owner. */
    acl = se_acl(&acl_buf);
    se_deny(acl, READ_CONTROL, SeExports->SeOwnerRightsSid, 0);
    se_allow(acl, READ_CONTROL | WRITE_DAC, &s_world.Sid, 0);
    sd = make_sd(&b, &s_user.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, READ_CONTROL, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, WRITE_DAC, 0, &g), STATUS_SUCCESS);
    /* An inherit-only OWNER RIGHTS ACE does not count. */
    acl = se_acl(&acl_buf);
    se_deny(acl, READ_CONTROL, SeExports->SeOwnerRightsSid, INHERIT_ONLY_ACE | CONTAINER_INHERIT_ACE);
    assert_int_equal(check(sd, &t, READ_CONTROL | WRITE_DAC, 0, &g), STATUS_SUCCESS);
    SepDeleteToken(&admin);
    SepDeleteToken(&t);
}

static void restricted_tokens(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    tok_opts o = {0};
    o.RestrictedCount = 1;
    o.Restricted[0] = &s_world.Sid;
    make_token(&t, &o);
    assert_true(SeTokenIsRestricted(&t));

    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R | W, &s_user.Sid, 0);
    se_allow(acl, R | X, &s_world.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    /* Both passes must grant: the user's W is not granted to the restricting SIDs. */
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, R | X, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | X);

    /* A deny ACE for a restricting SID denies in the second pass. */
    acl = se_acl(&acl_buf);
    se_deny(acl, X, &s_world.Sid, 0);
    se_allow(acl, R | X, &s_user.Sid, 0);
    se_allow(acl, R | X, &s_world.Sid, 0);
    assert_int_equal(check(sd, &t, X, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_SUCCESS);

    /* The owner's implicit rights count in the restricted pass only if the owner is a restricting SID. */
    sd = make_sd(&b, &s_user.Sid, se_acl(&acl_buf), TRUE);
    assert_int_equal(check(sd, &t, READ_CONTROL, 0, &g), STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
    o.RestrictedCount = 2;
    o.Restricted[1] = &s_user.Sid;
    make_token(&t, &o);
    assert_int_equal(check(sd, &t, READ_CONTROL | WRITE_DAC, 0, &g), STATUS_SUCCESS);

    /* A NULL DACL lets restricted tokens through too. */
    sd = make_sd(&b, &s_other.Sid, NULL, TRUE);
    assert_int_equal(check(sd, &t, R | W | X, 0, &g), STATUS_SUCCESS);
    SepDeleteToken(&t);

    /* Restricted, with nothing left to restrict to: nothing passes the second check. */
    o.RestrictedCount = 0;
    o.Flags = TOKEN_IS_RESTRICTED;
    make_token(&t, &o);
    acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_user.Sid, 0);
    sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
}

static void write_restricted_tokens(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    tok_opts o = {0};
    o.RestrictedCount = 1;
    o.Restricted[0] = &s_world.Sid;
    o.Flags = TOKEN_WRITE_RESTRICTED;
    make_token(&t, &o);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R | W | X | DELETE | READ_CONTROL, &s_user.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    /* Reads and executes are not restricted; writes must pass the restricted check. */
    assert_int_equal(check(sd, &t, R | X | READ_CONTROL, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, DELETE, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, 0, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | X | READ_CONTROL);
    se_allow(acl, W, &s_world.Sid, 0);
    assert_int_equal(check(sd, &t, W | R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(sd, &t, DELETE, 0, &g), STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
}

static void privileges_in_access_check(void **state)
{
    TOKEN t, plain;
    sd_buf b;
    tok_opts o = {0};
    o.PrivilegeCount = 2;
    o.Privileges[0] = (LUID_AND_ATTRIBUTES){{SE_TAKE_OWNERSHIP_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED};
    o.Privileges[1] = (LUID_AND_ATTRIBUTES){{SE_SECURITY_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED};
    make_token(&t, &o);
    make_token(&plain, NULL);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_user.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    PPRIVILEGE_SET used = NULL;
    ACCESS_MASK g;
    NTSTATUS st;
    LONG64 live = se_pool_live(SEP_TAG_PRIVILEGES);

    assert_true(SeAccessCheck(sd, &subject, FALSE, WRITE_OWNER | R, 0, &used, M, UserMode, &g, &st));
    assert_int_equal(g, WRITE_OWNER | R);
    assert_non_null(used);
    assert_int_equal(used->PrivilegeCount, 1);
    assert_true(used->Privilege[0].Luid.LowPart == SE_TAKE_OWNERSHIP_PRIVILEGE);
    assert_int_equal(used->Privilege[0].Attributes, SE_PRIVILEGE_USED_FOR_ACCESS);
    assert_int_equal(se_pool_live(SEP_TAG_PRIVILEGES), live + 1);
    SeFreePrivileges(used);
    assert_int_equal(se_pool_live(SEP_TAG_PRIVILEGES), live);

    assert_true(SeAccessCheck(sd, &subject, FALSE, ACCESS_SYSTEM_SECURITY | WRITE_OWNER, 0, &used, M, UserMode, &g,
                              &st));
    assert_int_equal(g, ACCESS_SYSTEM_SECURITY | WRITE_OWNER);
    assert_int_equal(used->PrivilegeCount, 2);
    assert_true(used->Privilege[0].Luid.LowPart == SE_SECURITY_PRIVILEGE);
    assert_true(used->Privilege[1].Luid.LowPart == SE_TAKE_OWNERSHIP_PRIVILEGE);
    SeFreePrivileges(used);

    /* MAXIMUM_ALLOWED picks up WRITE_OWNER through the privilege, but never
     * ACCESS_SYSTEM_SECURITY unless asked for. */
    assert_true(SeAccessCheck(sd, &subject, FALSE, MAXIMUM_ALLOWED, 0, &used, M, UserMode, &g, &st));
    assert_int_equal(g, R | WRITE_OWNER);
    SeFreePrivileges(used);
    /* No privilege was needed: no set, and the caller's pointer says so. */
    used = (PPRIVILEGE_SET)1;
    assert_true(SeAccessCheck(sd, &subject, FALSE, R, 0, &used, M, UserMode, &g, &st));
    assert_null(used);
    /* Privileges == NULL is allowed. */
    assert_true(SeAccessCheck(sd, &subject, FALSE, WRITE_OWNER, 0, NULL, M, UserMode, &g, &st));
    /* An ACE granting WRITE_OWNER makes the privilege unnecessary. */
    se_allow(acl, WRITE_OWNER, &s_world.Sid, 0);
    used = (PPRIVILEGE_SET)1;
    assert_true(SeAccessCheck(sd, &subject, FALSE, WRITE_OWNER, 0, &used, M, UserMode, &g, &st));
    assert_null(used);
    assert_int_equal(se_pool_live(SEP_TAG_PRIVILEGES), live);

    /* Without the privileges. */
    ACCESS_MASK g2;
    assert_int_equal(check(sd, &plain, ACCESS_SYSTEM_SECURITY, 0, &g2), STATUS_PRIVILEGE_NOT_HELD);
    assert_int_equal(check(sd, &plain, ACCESS_SYSTEM_SECURITY | MAXIMUM_ALLOWED, 0, &g2), STATUS_PRIVILEGE_NOT_HELD);
    RtlDeleteAce(acl, 1);
    assert_int_equal(check(sd, &plain, WRITE_OWNER, 0, &g2), STATUS_ACCESS_DENIED);
    /* A held but disabled privilege does not count. */
    SepAdjustPrivilege(&t, (LUID){SE_TAKE_OWNERSHIP_PRIVILEGE, 0}, FALSE, NULL);
    assert_int_equal(check(sd, &t, WRITE_OWNER, 0, &g2), STATUS_ACCESS_DENIED);
    /* ACEs never grant ACCESS_SYSTEM_SECURITY or MAXIMUM_ALLOWED. */
    acl = se_acl(&acl_buf);
    se_allow(acl, ACCESS_SYSTEM_SECURITY | MAXIMUM_ALLOWED | R, &s_user.Sid, 0);
    assert_int_equal(check(sd, &plain, ACCESS_SYSTEM_SECURITY, 0, &g2), STATUS_PRIVILEGE_NOT_HELD);
    assert_int_equal(check(sd, &plain, MAXIMUM_ALLOWED, 0, &g2), STATUS_SUCCESS);
    assert_int_equal(g2, R);
    SepDeleteToken(&plain);
    SepDeleteToken(&t);
}

static void previously_granted(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, W, &s_user.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    assert_int_equal(check(sd, &t, R | W, R, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | W);
    assert_int_equal(check(sd, &t, R | W, 0, &g), STATUS_ACCESS_DENIED);
    /* Everything already granted: no evaluation needed, not even a valid descriptor. */
    assert_int_equal(check(sd, &t, R, R | X, &g), STATUS_SUCCESS);
    assert_int_equal(g, R | X);
    ((PISECURITY_DESCRIPTOR)sd)->Revision = 9;
    assert_int_equal(check(sd, &t, R, R, &g), STATUS_SUCCESS);
    ((PISECURITY_DESCRIPTOR)sd)->Revision = 1;
    /* Asking for nothing with nothing granted is a denial; with something granted, that is the answer. */
    assert_int_equal(check(sd, &t, 0, 0, &g), STATUS_ACCESS_DENIED);
    assert_int_equal(check(sd, &t, 0, X, &g), STATUS_SUCCESS);
    assert_int_equal(g, X);
    assert_int_equal(check(sd, &t, MAXIMUM_ALLOWED, X, &g), STATUS_SUCCESS);
    assert_int_equal(g, W | X);
    SepDeleteToken(&t);
}

static void bad_descriptors(void **state)
{
    TOKEN t;
    sd_buf b;
    ACCESS_MASK g;
    make_token(&t, NULL);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_user.Sid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);
    ((PISECURITY_DESCRIPTOR)sd)->Revision = 2;
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_INVALID_SECURITY_DESCR);
    ((PISECURITY_DESCRIPTOR)sd)->Revision = 1;
    acl->AclSize = 12; /* cuts the ACE */
    assert_int_equal(check(sd, &t, R, 0, &g), STATUS_INVALID_SECURITY_DESCR);
    acl->AclSize = sizeof(acl_buf.Bytes);

    /* The self-relative form works the same. */
    static UCHAR rel[1200] __attribute__((aligned(8)));
    ULONG len = sizeof(rel);
    assert_int_equal(RtlAbsoluteToSelfRelativeSD(sd, rel, &len), STATUS_SUCCESS);
    assert_int_equal(check(rel, &t, R, 0, &g), STATUS_SUCCESS);
    assert_int_equal(check(rel, &t, W, 0, &g), STATUS_ACCESS_DENIED);
    SepDeleteToken(&t);
}

static void token_selection_and_levels(void **state)
{
    TOKEN client, primary;
    sd_buf b;
    ACCESS_MASK g;
    NTSTATUS st;
    tok_opts o = {0};
    o.AdminsEnabled = TRUE;
    make_token(&client, NULL);
    make_token(&primary, &o);
    PACL acl = se_acl(&acl_buf);
    se_allow(acl, R, &s_admins.Sid, 0);
    se_allow(acl, W, SeExports->SeLocalSystemSid, 0);
    PSECURITY_DESCRIPTOR sd = make_sd(&b, &s_other.Sid, acl, TRUE);

    /* The client token decides when there is one. */
    SECURITY_SUBJECT_CONTEXT subject = {&client, SecurityImpersonation, &primary, NULL};
    assert_false(SeAccessCheck(sd, &subject, FALSE, R, 0, NULL, M, UserMode, &g, &st));
    assert_int_equal(st, STATUS_ACCESS_DENIED);
    subject.ImpersonationLevel = SecurityIdentification;
    assert_false(SeAccessCheck(sd, &subject, FALSE, R, 0, NULL, M, UserMode, &g, &st));
    assert_int_equal(st, STATUS_ACCESS_DENIED);
    /* An anonymous-level client token cannot be used for an access check at all. */
    subject.ImpersonationLevel = SecurityAnonymous;
    assert_false(SeAccessCheck(sd, &subject, FALSE, R, 0, NULL, M, UserMode, &g, &st));
    assert_int_equal(st, STATUS_BAD_IMPERSONATION_LEVEL);
    assert_int_equal(g, 0);
    /* Primary only. */
    subject.ClientToken = NULL;
    assert_true(SeAccessCheck(sd, &subject, FALSE, R, 0, NULL, M, UserMode, &g, &st));
    /* The same token as client and primary locks once (no self-deadlock). */
    subject.ClientToken = &primary;
    subject.ImpersonationLevel = SecurityDelegation;
    SeLockSubjectContext(&subject);
    assert_true(SeAccessCheck(sd, &subject, TRUE, R, 0, NULL, M, UserMode, &g, &st));
    SeUnlockSubjectContext(&subject);
    assert_int_equal(primary.Lock.Value, 0);
    /* No token at all: checked as SYSTEM. */
    SECURITY_SUBJECT_CONTEXT none = {0};
    assert_true(SeAccessCheck(sd, &none, FALSE, W, 0, NULL, M, UserMode, &g, &st));
    assert_false(SeAccessCheck(sd, &none, FALSE, X, 0, NULL, M, UserMode, &g, &st));
    SeLockSubjectContext(&none);
    assert_true(SeAccessCheck(sd, &none, TRUE, R | W, 0, NULL, M, UserMode, &g, &st));
    SeUnlockSubjectContext(&none);
    assert_int_equal(SepSystemToken->Lock.Value, 0);
    SepDeleteToken(&primary);
    SepDeleteToken(&client);
}

static void privilege_check(void **state)
{
    TOKEN t;
    tok_opts o = {0};
    o.PrivilegeCount = 2;
    o.Privileges[0] = (LUID_AND_ATTRIBUTES){{SE_BACKUP_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED};
    o.Privileges[1] = (LUID_AND_ATTRIBUTES){{SE_RESTORE_PRIVILEGE, 0}, 0};
    make_token(&t, &o);
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    struct {
        ULONG PrivilegeCount;
        ULONG Control;
        LUID_AND_ATTRIBUTES Privilege[2];
    } set = {2, PRIVILEGE_SET_ALL_NECESSARY, {{{SE_BACKUP_PRIVILEGE, 0}, 0}, {{SE_RESTORE_PRIVILEGE, 0}, 0}}};
    PPRIVILEGE_SET ps = (PPRIVILEGE_SET)&set;

    assert_false(SePrivilegeCheck(ps, &subject, UserMode));
    assert_int_equal(set.Privilege[0].Attributes, SE_PRIVILEGE_USED_FOR_ACCESS);
    assert_int_equal(set.Privilege[1].Attributes, 0);
    set.Control = 0; /* any one will do */
    assert_true(SePrivilegeCheck(ps, &subject, UserMode));
    SepAdjustPrivilege(&t, (LUID){SE_RESTORE_PRIVILEGE, 0}, TRUE, NULL);
    set.Control = PRIVILEGE_SET_ALL_NECESSARY;
    assert_true(SePrivilegeCheck(ps, &subject, UserMode));
    assert_int_equal(set.Privilege[1].Attributes, SE_PRIVILEGE_USED_FOR_ACCESS);
    /* Privileges the token lacks, an odd LUID, kernel mode. */
    set.Privilege[0].Luid = (LUID){SE_TCB_PRIVILEGE, 0};
    set.Privilege[1].Luid = (LUID){SE_RESTORE_PRIVILEGE, 1};
    set.Privilege[0].Attributes = set.Privilege[1].Attributes = 0;
    assert_false(SePrivilegeCheck(ps, &subject, UserMode));
    set.Control = 0;
    assert_false(SePrivilegeCheck(ps, &subject, UserMode));
    assert_true(SePrivilegeCheck(ps, &subject, KernelMode));
    /* An anonymous client token holds nothing. */
    SECURITY_SUBJECT_CONTEXT anonymous = {&t, SecurityAnonymous, &t, NULL};
    set.Privilege[0].Luid = (LUID){SE_BACKUP_PRIVILEGE, 0};
    assert_false(SePrivilegeCheck(ps, &anonymous, UserMode));
    anonymous.ImpersonationLevel = SecurityImpersonation;
    assert_true(SePrivilegeCheck(ps, &anonymous, UserMode));
    SepDeleteToken(&t);
}

/*
 * NT's documented algorithm for a specific request: walk the ACEs in order,
 * an allow ACE removes bits still wanted, a deny ACE for any bit still
 * wanted fails; the owner's READ_CONTROL|WRITE_DAC are granted first.
 */
static BOOLEAN reference_check(PACL Acl, PSID Owner, PTOKEN T, ACCESS_MASK Wanted)
{
    if (Owner != NULL && SepSidInToken(T, Owner, FALSE, FALSE))
        Wanted &= ~(READ_CONTROL | WRITE_DAC);
    PUCHAR p = (PUCHAR)Acl + sizeof(ACL);
    for (ULONG i = 0; i < Acl->AceCount && Wanted != 0; i++) {
        PACCESS_ALLOWED_ACE ace = (PACCESS_ALLOWED_ACE)p;
        p += ace->Header.AceSize;
        if (ace->Header.AceFlags & INHERIT_ONLY_ACE)
            continue;
        ACCESS_MASK mask = ace->Mask;
        RtlMapGenericMask(&mask, &se_test_mapping);
        if (ace->Header.AceType == ACCESS_ALLOWED_ACE_TYPE && SepSidInToken(T, &ace->SidStart, FALSE, FALSE))
            Wanted &= ~mask;
        else if (ace->Header.AceType == ACCESS_DENIED_ACE_TYPE && SepSidInToken(T, &ace->SidStart, TRUE, FALSE) &&
                 (mask & Wanted))
            return FALSE;
    }
    return Wanted == 0;
}

static void random_against_reference(void **state)
{
    uint64_t seed = 0xACCE55;
    TOKEN t;
    sd_buf b;
    make_token(&t, NULL);
    PSID sids[] = {&s_user.Sid, &s_world.Sid, &s_users.Sid, &s_admins.Sid, &s_deny_only.Sid, &s_disabled.Sid,
                   &s_other.Sid};
    const ACCESS_MASK bits[] = {R, W, X, DELETE, READ_CONTROL, WRITE_DAC, WRITE_OWNER, SYNCHRONIZE, GENERIC_READ,
                                GENERIC_WRITE};
    for (ULONG iter = 0; iter < 3000; iter++) {
        PACL acl = se_acl(&acl_buf);
        ULONG n = (ULONG)(ntos_test_rand(&seed) % 8);
        for (ULONG i = 0; i < n; i++) {
            ACCESS_MASK mask = 0;
            for (ULONG k = 0; k < RTL_NUMBER_OF(bits); k++)
                if (ntos_test_rand(&seed) % 4 == 0)
                    mask |= bits[k];
            PSID sid = sids[ntos_test_rand(&seed) % RTL_NUMBER_OF(sids)];
            ULONG flags = ntos_test_rand(&seed) % 6 == 0 ? INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE : 0;
            if (ntos_test_rand(&seed) % 3 == 0)
                se_deny(acl, mask, sid, flags);
            else
                se_allow(acl, mask, sid, flags);
        }
        PSID owner = sids[ntos_test_rand(&seed) % RTL_NUMBER_OF(sids)];
        PSECURITY_DESCRIPTOR sd = make_sd(&b, owner, acl, TRUE);

        ACCESS_MASK wanted = 0;
        for (ULONG k = 0; k < 8; k++)
            if (ntos_test_rand(&seed) % 3 == 0)
                wanted |= bits[k];
        if (wanted == 0)
            wanted = R;
        ACCESS_MASK g;
        NTSTATUS st = check(sd, &t, wanted, 0, &g);
        BOOLEAN expect = reference_check(acl, owner, &t, wanted);
        if (expect != NT_SUCCESS(st))
            fail_msg("iteration %u: wanted 0x%x, got 0x%x", (unsigned)iter, (unsigned)wanted, (unsigned)st);
        if (expect)
            assert_int_equal(g, wanted);

        /* MAXIMUM_ALLOWED is exactly the set of single bits the reference grants. */
        ACCESS_MASK expected = 0;
        for (ULONG bit = 0; bit < 21; bit++)
            if (reference_check(acl, owner, &t, 1u << bit))
                expected |= 1u << bit;
        st = check(sd, &t, MAXIMUM_ALLOWED, 0, &g);
        if (expected == 0) {
            assert_int_equal(st, STATUS_ACCESS_DENIED);
        } else {
            assert_int_equal(st, STATUS_SUCCESS);
            assert_int_equal(g, expected);
        }
    }
    SepDeleteToken(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(kernel_mode_bypass),
    cmocka_unit_test(null_and_missing_dacl),
    cmocka_unit_test(empty_dacl),
    cmocka_unit_test(deny_before_allow),
    cmocka_unit_test(generic_mapping_cases),
    cmocka_unit_test(group_kinds_and_inherit_only),
    cmocka_unit_test(owner_rights),
    cmocka_unit_test(restricted_tokens),
    cmocka_unit_test(write_restricted_tokens),
    cmocka_unit_test(privileges_in_access_check),
    cmocka_unit_test(previously_granted),
    cmocka_unit_test(bad_descriptors),
    cmocka_unit_test(token_selection_and_levels),
    cmocka_unit_test(privilege_check),
    cmocka_unit_test(random_against_reference),
};

NTOS_TEST_GROUP(se_access, tests, group_setup, NULL);
