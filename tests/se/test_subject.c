/*
 * Subjects: SeCaptureSubjectContext/SeReleaseSubjectContext on the test
 * thread (the System process's primary token) and on system threads that
 * impersonate (client token and level), SeSinglePrivilegeCheck, the access
 * check following impersonation, and SeCreateAccessState/SeDeleteAccessState
 * (fields, AuxData, the traverse flag, what the delete frees). Token
 * reference counts must come back where they were.
 */
#include "se_test.h"
#include <ntos/ob.h>
#include <ntos/ps.h>
#include "se/sep.h"

static se_sid_buf s_user, s_world;

static LONG_PTR pointer_count(PVOID Object)
{
    return __atomic_load_n(&OBJECT_TO_OBJECT_HEADER(Object)->PointerCount, __ATOMIC_RELAXED);
}

/* A plain user token: the user and Everyone, no privileges. */
static PACCESS_TOKEN user_token(void)
{
    ULONG rids[5] = {21, 9, 9, 9, 1234};
    se_sid(&s_user, 5, 5, rids);
    se_sid1(&s_world, 1, 0);
    SID_AND_ATTRIBUTES groups[1] = {{&s_world.Sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED}};
    PACCESS_TOKEN t = NULL;
    assert_int_equal(SeCreateTokenInternal(&s_user.Sid, 1, groups, 0, NULL, &s_user.Sid, NULL, TokenImpersonation,
                                           SecurityImpersonation, &t),
                     STATUS_SUCCESS);
    return t;
}

/* Runs Routine on a new system thread and waits for it. */
static void run_system_thread(PKSTART_ROUTINE Routine, PVOID Context)
{
    HANDLE h;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&h, SYNCHRONIZE, &oa, NULL, NULL, Routine, Context), STATUS_SUCCESS);
    PVOID thread;
    assert_int_equal(ObReferenceObjectByHandle(h, SYNCHRONIZE, PsThreadType, KernelMode, &thread, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(thread);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void capture_on_test_thread(void **state)
{
    PACCESS_TOKEN primary = PsReferencePrimaryToken(PsGetCurrentProcess());
    assert_non_null(primary);
    LONG_PTR before = pointer_count(primary);

    SECURITY_SUBJECT_CONTEXT subject;
    RtlFillMemory(&subject, sizeof(subject), 0xCC);
    SeCaptureSubjectContext(&subject);
    assert_ptr_equal(subject.PrimaryToken, primary);
    assert_null(subject.ClientToken);
    assert_int_equal(subject.ImpersonationLevel, SecurityAnonymous);
    assert_ptr_equal(subject.ProcessAuditId, PsGetCurrentProcess());
    assert_int_equal(pointer_count(primary), before + 1);
    /* The System process runs as SYSTEM. */
    assert_true(RtlEqualSid(((PTOKEN)primary)->UserAndGroups[0].Sid, SeExports->SeLocalSystemSid));

    SeLockSubjectContext(&subject);
    SeUnlockSubjectContext(&subject);
    assert_int_equal(((PTOKEN)primary)->Lock.Value, 0);
    SeReleaseSubjectContext(&subject);
    assert_null(subject.PrimaryToken);
    assert_int_equal(pointer_count(primary), before);
    /* Releasing twice is harmless. */
    SeReleaseSubjectContext(&subject);
    assert_int_equal(pointer_count(primary), before);
    PsDereferencePrimaryToken(primary);
}

static void single_privilege_check(void **state)
{
    assert_true(SeSinglePrivilegeCheck((LUID){SE_TAKE_OWNERSHIP_PRIVILEGE, 0}, KernelMode));
    assert_true(SeSinglePrivilegeCheck((LUID){99, 0}, KernelMode));
    assert_true(SeSinglePrivilegeCheck(SeExports->SeChangeNotifyPrivilege, UserMode));
    assert_true(SeSinglePrivilegeCheck(SeExports->SeTcbPrivilege, UserMode));
    assert_false(SeSinglePrivilegeCheck(SeExports->SeTakeOwnershipPrivilege, UserMode));
    assert_false(SeSinglePrivilegeCheck((LUID){99, 0}, UserMode));
}

typedef struct impersonation_results {
    PACCESS_TOKEN Token;
    SECURITY_IMPERSONATION_LEVEL Level;
    NTSTATUS Impersonate;
    PACCESS_TOKEN SeenClient, SeenPrimary;
    SECURITY_IMPERSONATION_LEVEL SeenLevel;
    BOOLEAN Executive;
    BOOLEAN Allowed, AllowedAfterRevert;
    NTSTATUS Status, StatusAfterRevert;
    BOOLEAN Privilege, PrivilegeAfterRevert;
    ULONG StateFlags;
    PACCESS_TOKEN AfterRevertClient;
} impersonation_results;

static PSECURITY_DESCRIPTOR system_only_sd(void)
{
    static SECURITY_DESCRIPTOR sd;
    static se_acl_buf dacl;
    PACL acl = se_acl(&dacl);
    se_allow(acl, GENERIC_ALL, SeExports->SeLocalSystemSid, 0);
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
    RtlSetOwnerSecurityDescriptor(&sd, SeExports->SeLocalSystemSid, FALSE);
    return &sd;
}

/* No asserts on this thread: results go back to the test thread. */
static VOID NTAPI impersonating_thread(PVOID Context)
{
    impersonation_results *r = Context;
    PSECURITY_DESCRIPTOR sd = system_only_sd();
    SECURITY_SUBJECT_CONTEXT subject;
    ACCESS_MASK granted;

    r->Executive = PsIsExecutiveThread(KeGetCurrentThread());
    r->Impersonate = PsImpersonateClient(PsGetCurrentThread(), r->Token, FALSE, FALSE, r->Level);
    SeCaptureSubjectContext(&subject);
    r->SeenClient = subject.ClientToken;
    r->SeenPrimary = subject.PrimaryToken;
    r->SeenLevel = subject.ImpersonationLevel;
    r->Allowed = SeAccessCheck(sd, &subject, FALSE, SE_TEST_READ, 0, NULL, (PGENERIC_MAPPING)&se_test_mapping,
                               UserMode, &granted, &r->Status);
    SeReleaseSubjectContext(&subject);
    r->Privilege = SeSinglePrivilegeCheck(SeExports->SeChangeNotifyPrivilege, UserMode);
    ACCESS_STATE state;
    if (NT_SUCCESS(SeCreateAccessState(&state, NULL, SE_TEST_READ, (PGENERIC_MAPPING)&se_test_mapping))) {
        r->StateFlags = state.Flags;
        SeDeleteAccessState(&state);
    }

    PsRevertToSelf();
    SeCaptureSubjectContext(&subject);
    r->AfterRevertClient = subject.ClientToken;
    r->AllowedAfterRevert = SeAccessCheck(sd, &subject, FALSE, SE_TEST_READ, 0, NULL,
                                          (PGENERIC_MAPPING)&se_test_mapping, UserMode, &granted,
                                          &r->StatusAfterRevert);
    SeReleaseSubjectContext(&subject);
    r->PrivilegeAfterRevert = SeSinglePrivilegeCheck(SeExports->SeChangeNotifyPrivilege, UserMode);
}

static void impersonating_subject(void **state)
{
    static impersonation_results r;
    r = (impersonation_results){0};
    r.Token = user_token();
    r.Level = SecurityImpersonation;
    LONG_PTR before = pointer_count(r.Token);
    run_system_thread(impersonating_thread, &r);

    assert_true(r.Executive);
    assert_int_equal(r.Impersonate, STATUS_SUCCESS);
    assert_ptr_equal(r.SeenClient, r.Token);
    assert_non_null(r.SeenPrimary);
    assert_int_equal(r.SeenLevel, SecurityImpersonation);
    /* As the user: no access to a SYSTEM-only object, no traverse privilege. */
    assert_false(r.Allowed);
    assert_int_equal(r.Status, STATUS_ACCESS_DENIED);
    assert_false(r.Privilege);
    assert_int_equal(r.StateFlags & TOKEN_HAS_TRAVERSE_PRIVILEGE, 0);
    /* Back to the process token (SYSTEM). */
    assert_null(r.AfterRevertClient);
    assert_true(r.AllowedAfterRevert);
    assert_int_equal(r.StatusAfterRevert, STATUS_SUCCESS);
    assert_true(r.PrivilegeAfterRevert);
    assert_int_equal(pointer_count(r.Token), before);
    ObDereferenceObject(r.Token);
}

static void anonymous_impersonation(void **state)
{
    static impersonation_results r;
    r = (impersonation_results){0};
    r.Token = user_token();
    r.Level = SecurityAnonymous;
    run_system_thread(impersonating_thread, &r);
    assert_int_equal(r.Impersonate, STATUS_SUCCESS);
    assert_int_equal(r.SeenLevel, SecurityAnonymous);
    assert_false(r.Allowed);
    assert_int_equal(r.Status, STATUS_BAD_IMPERSONATION_LEVEL);
    assert_false(r.Privilege);
    assert_true(r.AllowedAfterRevert);
    ObDereferenceObject(r.Token);
}

static void access_state_lifecycle(void **state)
{
    ACCESS_STATE as1, as2;
    AUX_ACCESS_DATA aux;
    PACCESS_TOKEN primary = PsReferencePrimaryToken(PsGetCurrentProcess());
    LONG_PTR before = pointer_count(primary);
    LONG64 live = se_pool_live(0x74736554);

    RtlFillMemory(&as1, sizeof(as1), 0xCC);
    RtlFillMemory(&aux, sizeof(aux), 0xCC);
    assert_int_equal(SeCreateAccessState(&as1, &aux, GENERIC_READ | DELETE, (PGENERIC_MAPPING)&se_test_mapping),
                     STATUS_SUCCESS);
    assert_int_equal(as1.RemainingDesiredAccess, SE_TEST_READ | READ_CONTROL | DELETE);
    assert_int_equal(as1.OriginalDesiredAccess, SE_TEST_READ | READ_CONTROL | DELETE);
    assert_int_equal(as1.PreviouslyGrantedAccess, 0);
    assert_false(as1.SecurityEvaluated);
    assert_false(as1.PrivilegesAllocated);
    assert_null(as1.SecurityDescriptor);
    assert_ptr_equal(as1.AuxData, &aux);
    assert_ptr_equal(aux.PrivilegesUsed, &as1.Privileges.PrivilegeSet);
    assert_memory_equal(&aux.GenericMapping, &se_test_mapping, sizeof(GENERIC_MAPPING));
    assert_int_equal(aux.AccessesToAudit, 0);
    assert_int_equal(as1.Privileges.InitialPrivilegeSet.PrivilegeCount, 0);
    assert_ptr_equal(as1.SubjectSecurityContext.PrimaryToken, primary);
    assert_null(as1.SubjectSecurityContext.ClientToken);
    assert_int_equal(as1.Flags, TOKEN_HAS_TRAVERSE_PRIVILEGE); /* SYSTEM has SeChangeNotifyPrivilege */
    assert_null(as1.ObjectName.Buffer);
    assert_int_equal(pointer_count(primary), before + 1);

    /* A second state: its own operation id; no AuxData or mapping is fine too. */
    assert_int_equal(SeCreateAccessState(&as2, NULL, MAXIMUM_ALLOWED | GENERIC_WRITE, NULL), STATUS_SUCCESS);
    assert_false(as1.OperationID.LowPart == as2.OperationID.LowPart &&
                 as1.OperationID.HighPart == as2.OperationID.HighPart);
    assert_int_equal(as2.RemainingDesiredAccess, MAXIMUM_ALLOWED | GENERIC_WRITE);
    assert_null(as2.AuxData);

    /* What the delete frees: the names and an allocated privilege set. */
    as1.ObjectName.Buffer = ExAllocatePoolWithTag(PagedPool, 16, 0x74736554);
    as1.ObjectName.Length = as1.ObjectName.MaximumLength = 16;
    as1.ObjectTypeName.Buffer = ExAllocatePoolWithTag(PagedPool, 8, 0x74736554);
    aux.PrivilegesUsed = ExAllocatePoolWithTag(PagedPool, sizeof(PRIVILEGE_SET) + 24, 0x74736554);
    as1.PrivilegesAllocated = TRUE;
    assert_int_equal(se_pool_live(0x74736554), live + 3);
    SeDeleteAccessState(&as1);
    assert_int_equal(se_pool_live(0x74736554), live);
    assert_null(as1.ObjectName.Buffer);
    assert_null(as1.ObjectTypeName.Buffer);
    assert_null(as1.SubjectSecurityContext.PrimaryToken);
    SeDeleteAccessState(&as2);
    assert_int_equal(pointer_count(primary), before);

    assert_int_equal(SeCreateAccessState(NULL, NULL, 0, NULL), STATUS_INVALID_PARAMETER);
    PsDereferencePrimaryToken(primary);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(capture_on_test_thread),
    cmocka_unit_test(single_privilege_check),
    cmocka_unit_test(impersonating_subject),
    cmocka_unit_test(anonymous_impersonation),
    cmocka_unit_test(access_state_lifecycle),
};

NTOS_TEST_GROUP(se_subject, tests, NULL, NULL);
