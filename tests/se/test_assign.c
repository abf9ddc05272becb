/*
 * Object descriptors: SeCaptureSecurityDescriptor/SeReleaseSecurityDescriptor,
 * SeAssignSecurity (defaults from the token, explicit parts, owner checks,
 * inheritance for objects and containers with CREATOR OWNER substitution,
 * NO_PROPAGATE and INHERIT_ONLY, SACLs, protection, the size limit),
 * SeDeassignSecurity, SeValidSecurityDescriptor, SeQuerySecurityDescriptorInfo
 * and SeSetSecurityDescriptorInfo, each error status included, and no pool
 * left behind.
 */
#include "se_test.h"
#include "se/sep.h"

static se_sid_buf s_user, s_world, s_users, s_admins, s_other;

static int group_setup(void **state)
{
    ULONG rids[5] = {21, 4, 5, 6, 1000};
    se_sid(&s_user, 5, 5, rids);
    se_sid1(&s_world, 1, 0);
    se_sid2(&s_users, 5, 32, DOMAIN_ALIAS_RID_USERS);
    se_sid2(&s_admins, 5, 32, DOMAIN_ALIAS_RID_ADMINS);
    se_sid2(&s_other, 5, 32, 0x402);
    return 0;
}

#define M ((PGENERIC_MAPPING)&se_test_mapping)

/* The user with Everyone, Users (primary group) and Administrators (owner-capable). */
static void make_token(PTOKEN T, BOOLEAN WithDefaultDacl, BOOLEAN Restore)
{
    static se_acl_buf dacl;
    SID_AND_ATTRIBUTES groups[3] = {
        {&s_world.Sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED},
        {&s_users.Sid, SE_GROUP_ENABLED},
        {&s_admins.Sid, SE_GROUP_ENABLED | SE_GROUP_OWNER},
    };
    LUID_AND_ATTRIBUTES restore = {{SE_RESTORE_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED};
    PACL acl = se_acl(&dacl);
    se_allow(acl, GENERIC_ALL, &s_user.Sid, 0);
    se_allow(acl, GENERIC_READ, &s_admins.Sid, 0);
    acl->AclSize = 8 + 36 + 24; /* the two ACEs, no slack */
    SEP_TOKEN_SPEC spec = {0};
    spec.User = &s_user.Sid;
    spec.GroupCount = 3;
    spec.Groups = groups;
    spec.PrimaryGroup = &s_users.Sid;
    spec.DefaultDacl = WithDefaultDacl ? acl : NULL;
    spec.TokenType = TokenPrimary;
    spec.PrivilegeCount = Restore ? 1 : 0;
    spec.Privileges = &restore;
    assert_int_equal(SepInitializeToken(T, &spec), STATUS_SUCCESS);
}

typedef struct parts {
    PSID Owner, Group;
    PACL Sacl, Dacl;
    SECURITY_DESCRIPTOR_CONTROL Control;
} parts;

static parts parts_of(PSECURITY_DESCRIPTOR Sd)
{
    parts p;
    RtlpGetSecurityDescriptorParts(Sd, &p.Owner, &p.Group, &p.Sacl, &p.Dacl);
    p.Control = ((PISECURITY_DESCRIPTOR)Sd)->Control;
    return p;
}

static PACCESS_ALLOWED_ACE ace_at(PACL Acl, ULONG Index)
{
    PVOID ace = NULL;
    assert_int_equal(RtlGetAce(Acl, Index, &ace), STATUS_SUCCESS);
    return ace;
}

static void expect_ace(PACL Acl, ULONG Index, UCHAR Type, UCHAR Flags, ACCESS_MASK Mask, PSID Sid)
{
    PACCESS_ALLOWED_ACE ace = ace_at(Acl, Index);
    if (ace->Header.AceType != Type || ace->Header.AceFlags != Flags || ace->Mask != Mask ||
        !RtlEqualSid(&ace->SidStart, Sid))
        fail_msg("ACE %u: type %u flags 0x%x mask 0x%x (expected %u 0x%x 0x%x)", (unsigned)Index,
                 ace->Header.AceType, ace->Header.AceFlags, (unsigned)ace->Mask, Type, Flags, (unsigned)Mask);
}

static PSECURITY_DESCRIPTOR assign(PSECURITY_DESCRIPTOR Parent, PSECURITY_DESCRIPTOR Explicit, BOOLEAN Dir,
                                   PTOKEN T)
{
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, T, NULL};
    PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)1;
    assert_int_equal(SeAssignSecurity(Parent, Explicit, &sd, Dir, &subject, M, PagedPool), STATUS_SUCCESS);
    assert_non_null(sd);
    assert_true(SeValidSecurityDescriptor(RtlLengthSecurityDescriptor(sd), sd));
    return sd;
}

static void capture_and_release(void **state)
{
    SECURITY_DESCRIPTOR abs;
    se_acl_buf dacl;
    PSECURITY_DESCRIPTOR out = (PSECURITY_DESCRIPTOR)1;
    LONG64 live = se_pool_live(SEP_TAG_SD);

    assert_int_equal(SeCaptureSecurityDescriptor(NULL, UserMode, PagedPool, FALSE, &out), STATUS_SUCCESS);
    assert_null(out);

    RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
    PACL acl = se_acl(&dacl);
    se_allow(acl, GENERIC_READ, &s_world.Sid, 0);
    RtlSetDaclSecurityDescriptor(&abs, TRUE, acl, TRUE);
    RtlSetOwnerSecurityDescriptor(&abs, &s_user.Sid, FALSE);
    abs.Sacl = (PACL)0x1234; /* stale, not present */

    /* Kernel callers that do not force a capture get their own pointer back. */
    assert_int_equal(SeCaptureSecurityDescriptor(&abs, KernelMode, PagedPool, FALSE, &out), STATUS_SUCCESS);
    assert_ptr_equal(out, &abs);
    SeReleaseSecurityDescriptor(out, KernelMode, FALSE);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);

    KPROCESSOR_MODE modes[2] = {KernelMode, UserMode};
    for (ULONG i = 0; i < 2; i++) {
        assert_int_equal(SeCaptureSecurityDescriptor(&abs, modes[i], PagedPool, i == 0, &out), STATUS_SUCCESS);
        assert_ptr_not_equal(out, &abs);
        assert_int_equal(se_pool_live(SEP_TAG_SD), live + 1);
        PISECURITY_DESCRIPTOR_RELATIVE rel = out;
        assert_int_equal(rel->Control, SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_DACL_DEFAULTED);
        ULONG length = RtlLengthSecurityDescriptor(out);
        assert_int_equal(length, 20 + dacl.Acl.AclSize + 28);
        assert_true(RtlValidRelativeSecurityDescriptor(out, length, OWNER_SECURITY_INFORMATION));
        parts p = parts_of(out);
        assert_true(RtlEqualSid(p.Owner, &s_user.Sid));
        assert_null(p.Group);
        assert_null(p.Sacl);
        /* Captured as given: generic bits stay (mapping happens at assignment). */
        assert_int_equal(ace_at(p.Dacl, 0)->Mask, GENERIC_READ);

        /* A self-relative input is captured into a fresh compact copy too. */
        PSECURITY_DESCRIPTOR again;
        assert_int_equal(SeCaptureSecurityDescriptor(out, UserMode, NonPagedPool, FALSE, &again), STATUS_SUCCESS);
        assert_int_equal(RtlLengthSecurityDescriptor(again), length);
        assert_memory_equal(again, out, length);
        SeReleaseSecurityDescriptor(again, UserMode, FALSE);
        SeReleaseSecurityDescriptor(out, modes[i], i == 0);
        assert_int_equal(se_pool_live(SEP_TAG_SD), live);
    }

    abs.Revision = 3;
    assert_int_equal(SeCaptureSecurityDescriptor(&abs, UserMode, PagedPool, FALSE, &out), STATUS_UNKNOWN_REVISION);
    assert_null(out);
    abs.Revision = 1;
    dacl.Acl.AclRevision = 1;
    assert_int_equal(SeCaptureSecurityDescriptor(&abs, UserMode, PagedPool, FALSE, &out),
                     STATUS_INVALID_SECURITY_DESCR);
    assert_null(out);
    SeReleaseSecurityDescriptor(NULL, UserMode, TRUE);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);
}

static void assign_defaults(void **state)
{
    TOKEN t, bare;
    make_token(&t, TRUE, FALSE);
    make_token(&bare, FALSE, FALSE);
    LONG64 live = se_pool_live(SEP_TAG_SD);

    /* Nothing given: owner, group and DACL come from the token; the DACL is mapped. */
    PSECURITY_DESCRIPTOR sd = assign(NULL, NULL, FALSE, &t);
    parts p = parts_of(sd);
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_OWNER_DEFAULTED | SE_GROUP_DEFAULTED | SE_DACL_PRESENT |
                                    SE_DACL_DEFAULTED);
    assert_true(RtlEqualSid(p.Owner, &s_user.Sid));
    assert_true(RtlEqualSid(p.Group, &s_users.Sid));
    assert_null(p.Sacl);
    assert_int_equal(p.Dacl->AceCount, 2);
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, 0, SE_TEST_ALL_ACCESS, &s_user.Sid);
    expect_ace(p.Dacl, 1, ACCESS_ALLOWED_ACE_TYPE, 0, SE_TEST_READ | READ_CONTROL, &s_admins.Sid);
    /* The token's own default DACL is untouched. */
    assert_int_equal(ace_at(t.DefaultDacl, 0)->Mask, GENERIC_ALL);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live + 1);
    assert_int_equal(SeDeassignSecurity(&sd), STATUS_SUCCESS);
    assert_null(sd);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);

    /* A token without a default DACL: no DACL at all (open to everyone). */
    sd = assign(NULL, NULL, TRUE, &bare);
    p = parts_of(sd);
    assert_int_equal(p.Control & (SE_DACL_PRESENT | SE_SACL_PRESENT), 0);
    assert_null(p.Dacl);
    SeDeassignSecurity(&sd);

    /* Deassigning nothing is fine; a NULL pointer is not. */
    assert_int_equal(SeDeassignSecurity(&sd), STATUS_SUCCESS);
    assert_int_equal(SeDeassignSecurity(NULL), STATUS_INVALID_PARAMETER);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);
    SepDeleteToken(&bare);
    SepDeleteToken(&t);
}

static void assign_explicit(void **state)
{
    TOKEN t, restore;
    make_token(&t, TRUE, FALSE);
    make_token(&restore, TRUE, TRUE);
    SECURITY_DESCRIPTOR ex;
    se_acl_buf dacl, sacl;
    LONG64 live = se_pool_live(SEP_TAG_SD);

    RtlCreateSecurityDescriptor(&ex, SECURITY_DESCRIPTOR_REVISION);
    PACL acl = se_acl(&dacl);
    se_allow(acl, GENERIC_WRITE, &s_world.Sid, 0);
    se_allow(acl, GENERIC_READ, &s_world.Sid, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE);
    PACL audit = se_acl(&sacl);
    se_allow(audit, GENERIC_ALL, &s_world.Sid, 0);
    ((PACE_HEADER)((PUCHAR)audit + 8))->AceType = SYSTEM_AUDIT_ACE_TYPE;
    ((PACE_HEADER)((PUCHAR)audit + 8))->AceFlags = FAILED_ACCESS_ACE_FLAG;
    RtlSetDaclSecurityDescriptor(&ex, TRUE, acl, FALSE);
    RtlSetSaclSecurityDescriptor(&ex, TRUE, audit, FALSE);
    RtlSetOwnerSecurityDescriptor(&ex, &s_admins.Sid, FALSE);
    RtlSetGroupSecurityDescriptor(&ex, &s_world.Sid, FALSE);
    ex.Control |= SE_DACL_PROTECTED;

    PSECURITY_DESCRIPTOR sd = assign(NULL, &ex, FALSE, &t);
    parts p = parts_of(sd);
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_DACL_PRESENT | SE_SACL_PRESENT | SE_DACL_PROTECTED);
    assert_true(RtlEqualSid(p.Owner, &s_admins.Sid)); /* an owner-capable group */
    assert_true(RtlEqualSid(p.Group, &s_world.Sid));
    /* Effective ACEs mapped, inherit-only ones kept generic for the children. */
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, 0, SE_TEST_WRITE | READ_CONTROL, &s_world.Sid);
    expect_ace(p.Dacl, 1, ACCESS_ALLOWED_ACE_TYPE, INHERIT_ONLY_ACE | OBJECT_INHERIT_ACE, GENERIC_READ, &s_world.Sid);
    expect_ace(p.Sacl, 0, SYSTEM_AUDIT_ACE_TYPE, FAILED_ACCESS_ACE_FLAG, SE_TEST_ALL_ACCESS, &s_world.Sid);
    SeDeassignSecurity(&sd);

    /* An explicit NULL DACL stays a NULL DACL. */
    RtlSetDaclSecurityDescriptor(&ex, TRUE, NULL, FALSE);
    sd = assign(NULL, &ex, FALSE, &t);
    p = parts_of(sd);
    assert_int_not_equal(p.Control & SE_DACL_PRESENT, 0);
    assert_null(p.Dacl);
    SeDeassignSecurity(&sd);

    /* Owners the subject may not assign. */
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    RtlSetOwnerSecurityDescriptor(&ex, &s_other.Sid, FALSE);
    sd = (PSECURITY_DESCRIPTOR)1;
    assert_int_equal(SeAssignSecurity(NULL, &ex, &sd, FALSE, &subject, M, PagedPool), STATUS_INVALID_OWNER);
    assert_null(sd);
    RtlSetOwnerSecurityDescriptor(&ex, &s_users.Sid, FALSE); /* a group without SE_GROUP_OWNER */
    assert_int_equal(SeAssignSecurity(NULL, &ex, &sd, FALSE, &subject, M, PagedPool), STATUS_INVALID_OWNER);
    /* ... unless SeRestorePrivilege is enabled. */
    subject.PrimaryToken = &restore;
    assert_int_equal(SeAssignSecurity(NULL, &ex, &sd, FALSE, &subject, M, PagedPool), STATUS_SUCCESS);
    assert_true(RtlEqualSid(parts_of(sd).Owner, &s_users.Sid));
    SeDeassignSecurity(&sd);

    /* Malformed inputs. */
    ex.Revision = 2;
    assert_int_equal(SeAssignSecurity(NULL, &ex, &sd, FALSE, &subject, M, PagedPool), STATUS_UNKNOWN_REVISION);
    assert_int_equal(SeAssignSecurity(&ex, NULL, &sd, FALSE, &subject, M, PagedPool), STATUS_UNKNOWN_REVISION);
    ex.Revision = 1;
    audit->AclSize = 9;
    assert_int_equal(SeAssignSecurity(NULL, &ex, &sd, FALSE, &subject, M, PagedPool), STATUS_INVALID_SECURITY_DESCR);
    assert_int_equal(SeAssignSecurity(NULL, NULL, NULL, FALSE, &subject, M, PagedPool), STATUS_INVALID_PARAMETER);
    assert_int_equal(SeAssignSecurity(NULL, NULL, &sd, FALSE, NULL, M, PagedPool), STATUS_INVALID_PARAMETER);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);
    assert_int_equal(se_pool_live(SEP_TAG_TEMP), 0);
    SepDeleteToken(&restore);
    SepDeleteToken(&t);
}

/* The parent of the inheritance cases (see each expectation). */
static PSECURITY_DESCRIPTOR inheritable_parent(SECURITY_DESCRIPTOR *Sd, se_acl_buf *Dacl, se_acl_buf *Sacl)
{
    PACL acl = se_acl(Dacl);
    se_allow(acl, GENERIC_READ, &s_world.Sid, OBJECT_INHERIT_ACE);                                      /* A1 */
    se_allow(acl, GENERIC_ALL, SeExports->SeCreatorOwnerSid, CONTAINER_INHERIT_ACE);                    /* A2 */
    se_deny(acl, SE_TEST_WRITE, &s_user.Sid, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE); /* A3 */
    se_allow(acl, SE_TEST_READ, &s_admins.Sid, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE); /* A4 */
    se_allow(acl, SE_TEST_WRITE, &s_world.Sid, 0);                                                      /* A5 */
    se_allow(acl, READ_CONTROL, SeExports->SeCreatorGroupSid, OBJECT_INHERIT_ACE | NO_PROPAGATE_INHERIT_ACE); /* A6 */
    PACL audit = se_acl(Sacl);
    se_allow(audit, GENERIC_WRITE, &s_world.Sid, OBJECT_INHERIT_ACE);
    ((PACE_HEADER)((PUCHAR)audit + 8))->AceType = SYSTEM_AUDIT_ACE_TYPE;
    ((PACE_HEADER)((PUCHAR)audit + 8))->AceFlags |= SUCCESSFUL_ACCESS_ACE_FLAG;
    RtlCreateSecurityDescriptor(Sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetOwnerSecurityDescriptor(Sd, &s_other.Sid, FALSE);
    RtlSetDaclSecurityDescriptor(Sd, TRUE, acl, FALSE);
    RtlSetSaclSecurityDescriptor(Sd, TRUE, audit, FALSE);
    return Sd;
}

static void inherit_object(void **state)
{
    TOKEN t;
    SECURITY_DESCRIPTOR parent;
    se_acl_buf pd, ps;
    make_token(&t, TRUE, FALSE);
    inheritable_parent(&parent, &pd, &ps);

    PSECURITY_DESCRIPTOR sd = assign(&parent, NULL, FALSE, &t);
    parts p = parts_of(sd);
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_OWNER_DEFAULTED | SE_GROUP_DEFAULTED | SE_DACL_PRESENT |
                                    SE_SACL_PRESENT);
    /* A1 mapped; A2 is for containers only; A3 effective; A4 effective (inherit-only
     * was for this child); A5 not inheritable; A6 with CREATOR GROUP -> the group. */
    assert_int_equal(p.Dacl->AceCount, 4);
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, SE_TEST_READ | READ_CONTROL, &s_world.Sid);
    expect_ace(p.Dacl, 1, ACCESS_DENIED_ACE_TYPE, INHERITED_ACE, SE_TEST_WRITE, &s_user.Sid);
    expect_ace(p.Dacl, 2, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, SE_TEST_READ, &s_admins.Sid);
    expect_ace(p.Dacl, 3, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, READ_CONTROL, &s_users.Sid);
    assert_int_equal(p.Sacl->AceCount, 1);
    expect_ace(p.Sacl, 0, SYSTEM_AUDIT_ACE_TYPE, INHERITED_ACE | SUCCESSFUL_ACCESS_ACE_FLAG,
               SE_TEST_WRITE | READ_CONTROL, &s_world.Sid);
    assert_int_equal(p.Dacl->AclRevision, ACL_REVISION);
    SeDeassignSecurity(&sd);
    SepDeleteToken(&t);
}

static void inherit_container(void **state)
{
    TOKEN t;
    SECURITY_DESCRIPTOR parent;
    se_acl_buf pd, ps;
    make_token(&t, TRUE, FALSE);
    inheritable_parent(&parent, &pd, &ps);

    PSECURITY_DESCRIPTOR sd = assign(&parent, NULL, TRUE, &t);
    parts p = parts_of(sd);
    /* A1 (object-inherit only): inherit-only for the container's children.
     * A2 CREATOR OWNER: split into the effective ACE for the owner and an
     * inherit-only copy. A3 (no-propagate): effective only. A4: one ACE that
     * applies here and keeps propagating. A5: nothing. A6: object-only and
     * no-propagate: nothing. */
    assert_int_equal(p.Dacl->AceCount, 5);
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE,
               GENERIC_READ, &s_world.Sid);
    expect_ace(p.Dacl, 1, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, SE_TEST_ALL_ACCESS, &s_user.Sid);
    expect_ace(p.Dacl, 2, ACCESS_ALLOWED_ACE_TYPE, CONTAINER_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE,
               GENERIC_ALL, SeExports->SeCreatorOwnerSid);
    expect_ace(p.Dacl, 3, ACCESS_DENIED_ACE_TYPE, INHERITED_ACE, SE_TEST_WRITE, &s_user.Sid);
    expect_ace(p.Dacl, 4, ACCESS_ALLOWED_ACE_TYPE, OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE | INHERITED_ACE,
               SE_TEST_READ, &s_admins.Sid);
    expect_ace(p.Sacl, 0, SYSTEM_AUDIT_ACE_TYPE,
               OBJECT_INHERIT_ACE | INHERIT_ONLY_ACE | INHERITED_ACE | SUCCESSFUL_ACCESS_ACE_FLAG, GENERIC_WRITE,
               &s_world.Sid);

    /* A grandchild object of that container inherits through it. */
    PSECURITY_DESCRIPTOR grandchild = assign(sd, NULL, FALSE, &t);
    parts g = parts_of(grandchild);
    assert_int_equal(g.Dacl->AceCount, 2);
    expect_ace(g.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, SE_TEST_READ | READ_CONTROL, &s_world.Sid);
    expect_ace(g.Dacl, 1, ACCESS_ALLOWED_ACE_TYPE, INHERITED_ACE, SE_TEST_READ, &s_admins.Sid);
    SeDeassignSecurity(&grandchild);
    SeDeassignSecurity(&sd);
    SepDeleteToken(&t);
}

static void inherit_preferences(void **state)
{
    TOKEN t;
    SECURITY_DESCRIPTOR parent, ex;
    se_acl_buf pd, ps, ed;
    make_token(&t, TRUE, FALSE);
    inheritable_parent(&parent, &pd, &ps);
    RtlCreateSecurityDescriptor(&ex, SECURITY_DESCRIPTOR_REVISION);
    PACL acl = se_acl(&ed);
    se_allow(acl, SE_TEST_EXECUTE, &s_other.Sid, 0);

    /* A defaulted explicit DACL loses to inherited ACEs ... */
    RtlSetDaclSecurityDescriptor(&ex, TRUE, acl, TRUE);
    PSECURITY_DESCRIPTOR sd = assign(&parent, &ex, FALSE, &t);
    assert_int_equal(parts_of(sd).Dacl->AceCount, 4);
    SeDeassignSecurity(&sd);
    /* ... but wins over the token default when nothing is inheritable ... */
    SECURITY_DESCRIPTOR barren;
    RtlCreateSecurityDescriptor(&barren, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&barren, TRUE, NULL, FALSE);
    sd = assign(&barren, &ex, FALSE, &t);
    parts p = parts_of(sd);
    assert_int_equal(p.Dacl->AceCount, 1);
    assert_int_not_equal(p.Control & SE_DACL_DEFAULTED, 0);
    SeDeassignSecurity(&sd);
    /* ... and a protected descriptor blocks inheritance. */
    ex.Control |= SE_DACL_PROTECTED;
    sd = assign(&parent, &ex, FALSE, &t);
    p = parts_of(sd);
    assert_int_equal(p.Dacl->AceCount, 1);
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, 0, SE_TEST_EXECUTE, &s_other.Sid);
    /* The SACL is still inherited (only the DACL is protected). */
    assert_int_equal(p.Sacl->AceCount, 1);
    SeDeassignSecurity(&sd);
    /* A non-defaulted explicit DACL always wins. */
    ex.Control &= (SECURITY_DESCRIPTOR_CONTROL)~SE_DACL_PROTECTED;
    RtlSetDaclSecurityDescriptor(&ex, TRUE, acl, FALSE);
    sd = assign(&parent, &ex, TRUE, &t);
    assert_int_equal(parts_of(sd).Dacl->AceCount, 1);
    SeDeassignSecurity(&sd);
    /* A parent with nothing inheritable: the token default. */
    sd = assign(&barren, NULL, FALSE, &t);
    p = parts_of(sd);
    assert_int_equal(p.Dacl->AceCount, 2);
    assert_int_not_equal(p.Control & SE_DACL_DEFAULTED, 0);
    SeDeassignSecurity(&sd);
    SepDeleteToken(&t);
}

static void inherit_too_big(void **state)
{
    TOKEN t;
    make_token(&t, TRUE, FALSE);
    /* Every parent ACE splits in two on a container child: the child's ACL
     * would exceed 64 KB. */
    PACL acl = ExAllocatePoolWithTag(PagedPool, 0xFFFC, 0x74736554);
    assert_int_equal(RtlCreateAcl(acl, 0xFFFC, ACL_REVISION), STATUS_SUCCESS);
    while (RtlAddAccessAllowedAceEx(acl, ACL_REVISION, CONTAINER_INHERIT_ACE, GENERIC_ALL,
                                    SeExports->SeCreatorOwnerSid) == STATUS_SUCCESS)
        ;
    SECURITY_DESCRIPTOR parent;
    RtlCreateSecurityDescriptor(&parent, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&parent, TRUE, acl, FALSE);
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &t, NULL};
    PSECURITY_DESCRIPTOR sd = (PSECURITY_DESCRIPTOR)1;
    LONG64 live = se_pool_live(SEP_TAG_SD);
    assert_int_equal(SeAssignSecurity(&parent, NULL, &sd, TRUE, &subject, M, PagedPool), STATUS_BAD_INHERITANCE_ACL);
    assert_null(sd);
    /* A non-container child only gets nothing from container-inherit ACEs. */
    assert_int_equal(SeAssignSecurity(&parent, NULL, &sd, FALSE, &subject, M, PagedPool), STATUS_SUCCESS);
    assert_int_equal(parts_of(sd).Dacl->AceCount, 2); /* the token default */
    SeDeassignSecurity(&sd);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live);
    ExFreePoolWithTag(acl, 0x74736554);
    SepDeleteToken(&t);
}

static void valid_descriptor(void **state)
{
    TOKEN t;
    make_token(&t, TRUE, FALSE);
    PSECURITY_DESCRIPTOR sd = assign(NULL, NULL, FALSE, &t);
    ULONG length = RtlLengthSecurityDescriptor(sd);
    assert_true(SeValidSecurityDescriptor(length, sd));
    assert_false(SeValidSecurityDescriptor(length - 1, sd));
    assert_false(SeValidSecurityDescriptor(19, sd));
    /* An owner is required. */
    ULONG owner = ((PISECURITY_DESCRIPTOR_RELATIVE)sd)->Owner;
    ((PISECURITY_DESCRIPTOR_RELATIVE)sd)->Owner = 0;
    assert_false(SeValidSecurityDescriptor(length, sd));
    ((PISECURITY_DESCRIPTOR_RELATIVE)sd)->Owner = owner;
    /* Absolute descriptors are not self-relative. */
    SECURITY_DESCRIPTOR abs;
    RtlCreateSecurityDescriptor(&abs, SECURITY_DESCRIPTOR_REVISION);
    RtlSetOwnerSecurityDescriptor(&abs, &s_user.Sid, FALSE);
    assert_false(SeValidSecurityDescriptor(sizeof(abs), &abs));
    SeDeassignSecurity(&sd);
    SepDeleteToken(&t);
}

static void query_info(void **state)
{
    TOKEN t;
    SECURITY_DESCRIPTOR parent;
    se_acl_buf pd, ps;
    make_token(&t, TRUE, FALSE);
    inheritable_parent(&parent, &pd, &ps);
    PSECURITY_DESCRIPTOR sd = assign(&parent, NULL, FALSE, &t);
    parts full = parts_of(sd);
    static UCHAR out[2048] __attribute__((aligned(8)));
    SECURITY_INFORMATION info;
    ULONG length;

    info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION |
           SACL_SECURITY_INFORMATION;
    length = sizeof(out);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &sd), STATUS_SUCCESS);
    assert_int_equal(length, RtlLengthSecurityDescriptor(sd));
    assert_memory_equal(out, sd, length);

    /* Only the DACL: the owner/group defaulted bits go with their parts. */
    info = DACL_SECURITY_INFORMATION;
    length = sizeof(out);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &sd), STATUS_SUCCESS);
    parts p = parts_of(out);
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_DACL_PRESENT);
    assert_null(p.Owner);
    assert_null(p.Group);
    assert_null(p.Sacl);
    assert_memory_equal(p.Dacl, full.Dacl, full.Dacl->AclSize);
    assert_int_equal(length, 20 + full.Dacl->AclSize);

    info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION;
    length = sizeof(out);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &sd), STATUS_SUCCESS);
    p = parts_of(out);
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_OWNER_DEFAULTED | SE_GROUP_DEFAULTED);
    assert_true(RtlEqualSid(p.Owner, &s_user.Sid));
    assert_true(RtlEqualSid(p.Group, &s_users.Sid));
    assert_int_equal(length, 20 + 28 + 16);

    /* Too small: the size needed, nothing copied. */
    info = SACL_SECURITY_INFORMATION;
    ULONG needed = 20 + full.Sacl->AclSize;
    length = needed - 1;
    RtlFillMemory(out, sizeof(out), 0xAB);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &sd), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(length, needed);
    assert_int_equal(out[0], 0xAB);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &sd), STATUS_SUCCESS);
    assert_int_equal(parts_of(out).Control, SE_SELF_RELATIVE | SE_SACL_PRESENT);

    /* An object without a descriptor: an empty one. */
    PSECURITY_DESCRIPTOR none = NULL;
    info = DACL_SECURITY_INFORMATION | OWNER_SECURITY_INFORMATION;
    length = sizeof(out);
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &none), STATUS_SUCCESS);
    assert_int_equal(length, 20);
    assert_int_equal(parts_of(out).Control, SE_SELF_RELATIVE);
    length = 0;
    assert_int_equal(SeQuerySecurityDescriptorInfo(&info, out, &length, &none), STATUS_BUFFER_TOO_SMALL);
    assert_int_equal(length, 20);
    SeDeassignSecurity(&sd);
    SepDeleteToken(&t);
}

/* SeSetSecurityDescriptorInfo checks owners against the current subject: the
 * test thread runs as SYSTEM (owner-capable: SYSTEM and Administrators). */
static void set_info(void **state)
{
    TOKEN t;
    make_token(&t, TRUE, FALSE);
    PSECURITY_DESCRIPTOR object = assign(NULL, NULL, FALSE, &t);
    LONG64 live = se_pool_live(SEP_TAG_SD);
    SECURITY_DESCRIPTOR mod;
    se_acl_buf md;
    RtlCreateSecurityDescriptor(&mod, SECURITY_DESCRIPTOR_REVISION);
    PACL acl = se_acl(&md);
    se_allow(acl, GENERIC_EXECUTE, &s_world.Sid, 0);
    RtlSetDaclSecurityDescriptor(&mod, TRUE, acl, FALSE);
    RtlSetOwnerSecurityDescriptor(&mod, SeExports->SeAliasAdminsSid, TRUE);
    RtlSetGroupSecurityDescriptor(&mod, SeExports->SeLocalSystemSid, FALSE);

    /* Only the DACL changes; the old descriptor stays for the caller to free. */
    SECURITY_INFORMATION info = DACL_SECURITY_INFORMATION;
    PSECURITY_DESCRIPTOR current = object;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M), STATUS_SUCCESS);
    assert_ptr_not_equal(current, object);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live + 1);
    parts p = parts_of(current);
    assert_true(RtlEqualSid(p.Owner, &s_user.Sid));
    assert_true(RtlEqualSid(p.Group, &s_users.Sid));
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_OWNER_DEFAULTED | SE_GROUP_DEFAULTED | SE_DACL_PRESENT);
    assert_int_equal(p.Dacl->AceCount, 1);
    expect_ace(p.Dacl, 0, ACCESS_ALLOWED_ACE_TYPE, 0, SE_TEST_EXECUTE | READ_CONTROL | SYNCHRONIZE, &s_world.Sid);
    assert_int_equal(parts_of(object).Dacl->AceCount, 2);
    SeDeassignSecurity(&object);
    object = current;

    /* Owner and group. */
    info = OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, NonPagedPool, M), STATUS_SUCCESS);
    p = parts_of(current);
    assert_true(RtlEqualSid(p.Owner, SeExports->SeAliasAdminsSid));
    assert_true(RtlEqualSid(p.Group, SeExports->SeLocalSystemSid));
    assert_int_equal(p.Control, SE_SELF_RELATIVE | SE_OWNER_DEFAULTED | SE_DACL_PRESENT);
    SeDeassignSecurity(&object);
    object = current;

    /* Removing the DACL (not present) and adding a SACL. */
    RtlSetDaclSecurityDescriptor(&mod, FALSE, NULL, FALSE);
    RtlSetSaclSecurityDescriptor(&mod, TRUE, acl, FALSE);
    info = DACL_SECURITY_INFORMATION | SACL_SECURITY_INFORMATION;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M), STATUS_SUCCESS);
    p = parts_of(current);
    assert_null(p.Dacl);
    assert_int_equal(p.Control & SE_DACL_PRESENT, 0);
    assert_int_equal(p.Sacl->AceCount, 1);
    SeDeassignSecurity(&object);
    object = current;

    /* Errors. */
    RtlSetOwnerSecurityDescriptor(&mod, &s_other.Sid, FALSE);
    info = OWNER_SECURITY_INFORMATION;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M), STATUS_INVALID_OWNER);
    RtlSetOwnerSecurityDescriptor(&mod, NULL, FALSE);
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M), STATUS_INVALID_OWNER);
    RtlSetGroupSecurityDescriptor(&mod, NULL, FALSE);
    info = GROUP_SECURITY_INFORMATION;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M),
                     STATUS_INVALID_PRIMARY_GROUP);
    mod.Revision = 5;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M), STATUS_UNKNOWN_REVISION);
    mod.Revision = 1;
    acl->AclRevision = 0;
    info = SACL_SECURITY_INFORMATION;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool, M),
                     STATUS_INVALID_SECURITY_DESCR);
    assert_ptr_equal(current, object);
    PSECURITY_DESCRIPTOR nothing = NULL;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &nothing, PagedPool, M),
                     STATUS_NO_SECURITY_ON_OBJECT);
    PSECURITY_DESCRIPTOR absolute = &mod;
    assert_int_equal(SeSetSecurityDescriptorInfo(NULL, &info, &mod, &absolute, PagedPool, M),
                     STATUS_BAD_DESCRIPTOR_FORMAT);
    SeDeassignSecurity(&object);
    assert_int_equal(se_pool_live(SEP_TAG_SD), live - 1);
    SepDeleteToken(&t);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(capture_and_release),
    cmocka_unit_test(assign_defaults),
    cmocka_unit_test(assign_explicit),
    cmocka_unit_test(inherit_object),
    cmocka_unit_test(inherit_container),
    cmocka_unit_test(inherit_preferences),
    cmocka_unit_test(inherit_too_big),
    cmocka_unit_test(valid_descriptor),
    cmocka_unit_test(query_info),
    cmocka_unit_test(set_info),
};

NTOS_TEST_GROUP(se_assign, tests, group_setup, NULL);
