/*
 * Pool exhaustion in Se: every allocation Se makes is failed in turn
 * (SepFailAllocationAfter) for assignment with inheritance, capture,
 * SeSetSecurityDescriptorInfo, the privilege set of an access check, token
 * creation and filtering. Each failure must report
 * STATUS_INSUFFICIENT_RESOURCES, leave the outputs empty and free whatever
 * was allocated before it.
 */
#include "se_test.h"
#include <ntos/ob.h>
#include "se/sep.h"

static const ULONG tags[] = {SEP_TAG_SD, SEP_TAG_TEMP, SEP_TAG_TOKEN, SEP_TAG_PRIVILEGES};

typedef struct live_snapshot {
    LONG64 Live[RTL_NUMBER_OF(tags)];
} live_snapshot;

static live_snapshot snapshot(void)
{
    live_snapshot s;
    for (ULONG i = 0; i < RTL_NUMBER_OF(tags); i++)
        s.Live[i] = se_pool_live(tags[i]);
    return s;
}

static void expect_same(const live_snapshot *A, ULONG Step)
{
    live_snapshot b = snapshot();
    for (ULONG i = 0; i < RTL_NUMBER_OF(tags); i++) {
        if (A->Live[i] != b.Live[i])
            fail_msg("step %u: tag %u: %lld blocks before, %lld after", (unsigned)Step, (unsigned)i,
                     (long long)A->Live[i], (long long)b.Live[i]);
    }
}

typedef NTSTATUS (*se_op)(PVOID Context, PVOID *Result);
typedef void (*se_undo)(PVOID Result);

/* Fails allocation 0, 1, 2, ... until the operation succeeds; returns how many failed. */
static ULONG fail_each_allocation(se_op Op, se_undo Undo, PVOID Context)
{
    for (ULONG n = 0; n < 16; n++) {
        live_snapshot before = snapshot();
        PVOID result = (PVOID)1;
        __atomic_store_n(&SepFailAllocationAfter, (LONG)n, __ATOMIC_RELEASE);
        NTSTATUS status = Op(Context, &result);
        __atomic_store_n(&SepFailAllocationAfter, -1, __ATOMIC_RELEASE);
        if (NT_SUCCESS(status)) {
            Undo(result);
            expect_same(&before, n);
            return n;
        }
        assert_int_equal(status, STATUS_INSUFFICIENT_RESOURCES);
        assert_null(result);
        expect_same(&before, n);
    }
    fail_msg("the operation never succeeded");
    return 0;
}

static se_sid_buf s_user, s_world;
static se_acl_buf d_parent, d_mod;
static SECURITY_DESCRIPTOR parent, mod;
static TOKEN body;

static int group_setup(void **state)
{
    ULONG rids[5] = {21, 4, 5, 6, 1000};
    se_sid(&s_user, 5, 5, rids);
    se_sid1(&s_world, 1, 0);
    SID_AND_ATTRIBUTES groups[1] = {{&s_world.Sid, SE_GROUP_ENABLED}};
    LUID_AND_ATTRIBUTES privileges[1] = {{{SE_SECURITY_PRIVILEGE, 0}, SE_PRIVILEGE_ENABLED}};
    SEP_TOKEN_SPEC spec = {0};
    spec.User = &s_user.Sid;
    spec.GroupCount = 1;
    spec.Groups = groups;
    spec.PrivilegeCount = 1;
    spec.Privileges = privileges;
    spec.PrimaryGroup = &s_world.Sid;
    spec.TokenType = TokenPrimary;
    if (!NT_SUCCESS(SepInitializeToken(&body, &spec)))
        return -1;

    PACL acl = se_acl(&d_parent);
    se_allow(acl, GENERIC_ALL, SeExports->SeCreatorOwnerSid, CONTAINER_INHERIT_ACE | OBJECT_INHERIT_ACE);
    RtlCreateSecurityDescriptor(&parent, SECURITY_DESCRIPTOR_REVISION);
    RtlSetOwnerSecurityDescriptor(&parent, &s_user.Sid, FALSE);
    RtlSetDaclSecurityDescriptor(&parent, TRUE, acl, FALSE);
    RtlSetSaclSecurityDescriptor(&parent, TRUE, acl, FALSE); /* inheritable SACL too: three allocations */
    acl = se_acl(&d_mod);
    se_allow(acl, GENERIC_READ, &s_world.Sid, 0);
    RtlCreateSecurityDescriptor(&mod, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&mod, TRUE, acl, FALSE);
    return 0;
}

static int group_teardown(void **state)
{
    SepDeleteToken(&body);
    return 0;
}

static void undo_sd(PVOID Sd)
{
    SeDeassignSecurity(&Sd);
}

static NTSTATUS op_assign(PVOID Context, PVOID *Result)
{
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &body, NULL};
    return SeAssignSecurity(&parent, NULL, Result, TRUE, &subject, (PGENERIC_MAPPING)&se_test_mapping, PagedPool);
}

static void assign_failures(void **state)
{
    assert_int_equal(fail_each_allocation(op_assign, undo_sd, NULL), 3);
}

static NTSTATUS op_capture(PVOID Context, PVOID *Result)
{
    return SeCaptureSecurityDescriptor(&parent, UserMode, PagedPool, FALSE, Result);
}

static void capture_failures(void **state)
{
    assert_int_equal(fail_each_allocation(op_capture, undo_sd, NULL), 1);
}

static PSECURITY_DESCRIPTOR set_target;

static NTSTATUS op_set(PVOID Context, PVOID *Result)
{
    SECURITY_INFORMATION info = DACL_SECURITY_INFORMATION;
    PSECURITY_DESCRIPTOR current = set_target;
    NTSTATUS status = SeSetSecurityDescriptorInfo(NULL, &info, &mod, &current, PagedPool,
                                                  (PGENERIC_MAPPING)&se_test_mapping);
    /* On failure the object's descriptor pointer is left alone. */
    *Result = NT_SUCCESS(status) ? current : NULL;
    if (!NT_SUCCESS(status) && current != set_target)
        return STATUS_UNSUCCESSFUL;
    return status;
}

static void set_failures(void **state)
{
    assert_int_equal(op_capture(NULL, (PVOID *)&set_target), STATUS_SUCCESS);
    assert_int_equal(fail_each_allocation(op_set, undo_sd, NULL), 1);
    SeReleaseSecurityDescriptor(set_target, UserMode, FALSE);
}

static void undo_privileges(PVOID Set)
{
    SeFreePrivileges(Set);
}

static NTSTATUS op_access(PVOID Context, PVOID *Result)
{
    SECURITY_SUBJECT_CONTEXT subject = {NULL, SecurityAnonymous, &body, NULL};
    ACCESS_MASK granted;
    NTSTATUS status;
    PPRIVILEGE_SET set = NULL;
    BOOLEAN ok = SeAccessCheck(&parent, &subject, FALSE, ACCESS_SYSTEM_SECURITY, 0, &set,
                               (PGENERIC_MAPPING)&se_test_mapping, UserMode, &granted, &status);
    if (ok != NT_SUCCESS(status) || (!ok && granted != 0))
        return STATUS_UNSUCCESSFUL;
    *Result = set;
    return status;
}

static void access_check_failures(void **state)
{
    assert_int_equal(fail_each_allocation(op_access, undo_privileges, NULL), 1);
}

static void undo_object(PVOID Object)
{
    ObDereferenceObject(Object);
}

static NTSTATUS op_create_token(PVOID Context, PVOID *Result)
{
    SID_AND_ATTRIBUTES groups[1] = {{&s_world.Sid, SE_GROUP_ENABLED}};
    return SeCreateTokenInternal(&s_user.Sid, 1, groups, 0, NULL, &s_world.Sid, &d_mod.Acl, TokenPrimary,
                                 SecurityAnonymous, Result);
}

static void create_token_failures(void **state)
{
    assert_int_equal(fail_each_allocation(op_create_token, undo_object, NULL), 1);
}

static PACCESS_TOKEN filter_source;

static NTSTATUS op_filter(PVOID Context, PVOID *Result)
{
    struct {
        ULONG GroupCount;
        SID_AND_ATTRIBUTES Groups[1];
    } restricting = {1, {{&s_world.Sid, 0}}};
    return SeFilterToken(filter_source, DISABLE_MAX_PRIVILEGE, NULL, NULL, (PTOKEN_GROUPS)&restricting, Result);
}

static void filter_failures(void **state)
{
    assert_int_equal(op_create_token(NULL, &filter_source), STATUS_SUCCESS);
    assert_int_equal(fail_each_allocation(op_filter, undo_object, NULL), 2);
    ObDereferenceObject(filter_source);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(assign_failures),
    cmocka_unit_test(capture_failures),
    cmocka_unit_test(set_failures),
    cmocka_unit_test(access_check_failures),
    cmocka_unit_test(create_token_failures),
    cmocka_unit_test(filter_failures),
};

NTOS_TEST_GROUP(se_alloc_failure, tests, group_setup, group_teardown);
