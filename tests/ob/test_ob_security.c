/*
 * The access check on every open: a caller whose token lacks the right gets
 * STATUS_ACCESS_DENIED and no handle; kernel-mode callers are trusted unless
 * they force the check; creation needs the right on the parent directory;
 * OBJ_PERMANENT from user mode needs SeCreatePermanentPrivilege.
 *
 * The "user" is a system thread impersonating a token made for a plain user
 * (S-1-5-21-1-2-3-1001, member of Everyone and Users, no privileges).
 */
#include "ob_test.h"

#define TEST_RIGHT_QUERY 1
#define TEST_RIGHT_MODIFY 2

static UCHAR world_sid[12], user_sid[28], users_sid[16], system_sid[12];

static void make_sids(void)
{
    SID_IDENTIFIER_AUTHORITY world = SECURITY_WORLD_SID_AUTHORITY, nt = SECURITY_NT_AUTHORITY;
    assert_int_equal(RtlInitializeSid(world_sid, &world, 1), STATUS_SUCCESS);
    *RtlSubAuthoritySid(world_sid, 0) = SECURITY_WORLD_RID;
    assert_int_equal(RtlInitializeSid(user_sid, &nt, 5), STATUS_SUCCESS);
    static const ULONG rids[5] = {21, 1, 2, 3, 1001};
    for (ULONG i = 0; i < 5; i++)
        *RtlSubAuthoritySid(user_sid, i) = rids[i];
    assert_int_equal(RtlInitializeSid(users_sid, &nt, 2), STATUS_SUCCESS);
    *RtlSubAuthoritySid(users_sid, 0) = SECURITY_BUILTIN_DOMAIN_RID;
    *RtlSubAuthoritySid(users_sid, 1) = DOMAIN_ALIAS_RID_USERS;
    assert_int_equal(RtlInitializeSid(system_sid, &nt, 1), STATUS_SUCCESS);
    *RtlSubAuthoritySid(system_sid, 0) = SECURITY_LOCAL_SYSTEM_RID;
}

static PACCESS_TOKEN make_user_token(void)
{
    make_sids();
    SID_AND_ATTRIBUTES groups[2] = {
        {world_sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED},
        {users_sid, SE_GROUP_MANDATORY | SE_GROUP_ENABLED_BY_DEFAULT | SE_GROUP_ENABLED},
    };
    PACCESS_TOKEN token = NULL;
    assert_int_equal(SeCreateTokenInternal(user_sid, 2, groups, 0, NULL, users_sid, NULL, TokenPrimary,
                                           SecurityAnonymous, &token),
                     STATUS_SUCCESS);
    return token;
}

/* Owner SYSTEM; Everyone may query; the user is denied modify; SYSTEM has all. */
static PSECURITY_DESCRIPTOR make_sd(SECURITY_DESCRIPTOR *sd, UCHAR *aclBuffer, ULONG aclSize, ACCESS_MASK Everyone)
{
    make_sids();
    PACL acl = (PACL)aclBuffer;
    assert_int_equal(RtlCreateAcl(acl, aclSize, ACL_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessDeniedAce(acl, ACL_REVISION, TEST_RIGHT_MODIFY, user_sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, Everyone, world_sid), STATUS_SUCCESS);
    assert_int_equal(RtlAddAccessAllowedAce(acl, ACL_REVISION, GENERIC_ALL, system_sid), STATUS_SUCCESS);
    assert_int_equal(RtlCreateSecurityDescriptor(sd, SECURITY_DESCRIPTOR_REVISION), STATUS_SUCCESS);
    assert_int_equal(RtlSetDaclSecurityDescriptor(sd, TRUE, acl, FALSE), STATUS_SUCCESS);
    assert_int_equal(RtlSetOwnerSecurityDescriptor(sd, system_sid, FALSE), STATUS_SUCCESS);
    assert_true(RtlValidSecurityDescriptor(sd));
    return sd;
}

typedef struct {
    PACCESS_TOKEN Token;
    NTSTATUS Results[8];
    HANDLE Handles[8];
    ACCESS_MASK Granted[8];
} AS_USER;

static NTSTATUS open_named(PCWSTR Name, ULONG Attributes, KPROCESSOR_MODE Mode, ACCESS_MASK Access, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    *Handle = (HANDLE)(ULONG_PTR)0xBAD0;
    return ObOpenObjectByName(obt_oa(&oa, &us, Name, Attributes, NULL), NULL, Mode, NULL, Access, NULL, Handle);
}

static ACCESS_MASK granted_of(HANDLE h)
{
    PUBLIC_OBJECT_BASIC_INFORMATION b;
    ULONG ret;
    if (!NT_SUCCESS(ZwQueryObject(h, ObjectBasicInformation, &b, sizeof(b), &ret)))
        return 0xFFFFFFFF;
    return b.GrantedAccess;
}

/* Runs in a system thread that impersonates the user token. No asserts here. */
static VOID NTAPI user_opens(PVOID Context)
{
    AS_USER *u = Context;
    PsImpersonateClient(PsGetCurrentThread(), u->Token, FALSE, FALSE, SecurityImpersonation);
    PCWSTR name = L"\\BaseNamedObjects\\ObSecTarget";
    u->Results[0] = open_named(name, 0, UserMode, TEST_RIGHT_QUERY, &u->Handles[0]);
    u->Results[1] = open_named(name, 0, UserMode, TEST_RIGHT_MODIFY, &u->Handles[1]);
    u->Results[2] = open_named(name, 0, UserMode, MAXIMUM_ALLOWED, &u->Handles[2]);
    u->Results[3] = open_named(name, 0, KernelMode, TEST_RIGHT_MODIFY, &u->Handles[3]);
    u->Results[4] = open_named(name, OBJ_FORCE_ACCESS_CHECK, KernelMode, TEST_RIGHT_MODIFY, &u->Handles[4]);
    /* Create in a directory that only SYSTEM may add to. */
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    OBT_OBJECT *o;
    u->Results[5] = ObCreateObject(UserMode, obt_get_type(),
                                   obt_oa(&oa, &us, L"\\BaseNamedObjects\\ObSecDir\\New", 0, NULL), UserMode, NULL,
                                   sizeof(OBT_OBJECT), 0, 0, (PVOID *)&o);
    if (NT_SUCCESS(u->Results[5])) {
        o->Magic = OBT_MAGIC;
        u->Results[5] = ObInsertObject(o, NULL, TEST_RIGHT_QUERY, 0, NULL, &u->Handles[5]);
    }
    /* A permanent object from user mode without the privilege. */
    u->Results[6] = ObCreateObject(UserMode, obt_get_type(),
                                   obt_oa(&oa, &us, L"\\BaseNamedObjects\\ObSecPerm", OBJ_PERMANENT, NULL), UserMode,
                                   NULL, sizeof(OBT_OBJECT), 0, 0, (PVOID *)&o);
    if (NT_SUCCESS(u->Results[6])) {
        o->Magic = OBT_MAGIC;
        u->Results[6] = ObInsertObject(o, NULL, TEST_RIGHT_QUERY, 0, NULL, &u->Handles[6]);
    }
    for (int i = 0; i < 7; i++)
        u->Granted[i] = NT_SUCCESS(u->Results[i]) ? granted_of(u->Handles[i]) : 0;
    PsRevertToSelf();
}

static void run_as_user(AS_USER *u)
{
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, user_opens, u), STATUS_SUCCESS);
    PVOID thread;
    assert_int_equal(ObReferenceObjectByHandle(t, SYNCHRONIZE, PsThreadType, KernelMode, &thread, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    ObDereferenceObject(thread);
    assert_int_equal(ZwClose(t), STATUS_SUCCESS);
}

static void opens_are_access_checked(void **state)
{
    (void)state;
    static AS_USER u;
    RtlZeroMemory(&u, sizeof(u));
    u.Token = make_user_token();

    SECURITY_DESCRIPTOR sd, dirSd;
    static UCHAR acl[256], dirAcl[256];
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    /* The target object, with the descriptor above. */
    obt_oa(&oa, &us, L"\\BaseNamedObjects\\ObSecTarget", 0, NULL);
    oa.SecurityDescriptor = make_sd(&sd, acl, sizeof(acl), TEST_RIGHT_QUERY | TEST_RIGHT_MODIFY | SYNCHRONIZE);
    OBT_OBJECT *o;
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, sizeof(OBT_OBJECT), 0, 0,
                                    (PVOID *)&o),
                     STATUS_SUCCESS);
    o->Magic = OBT_MAGIC;
    o->DeleteCounter = &obt_deletes;
    HANDLE target;
    assert_int_equal(ObInsertObject(o, NULL, MAXIMUM_ALLOWED, 0, NULL, &target), STATUS_SUCCESS);
    /* A directory where Everyone may only query. */
    obt_oa(&oa, &us, L"\\BaseNamedObjects\\ObSecDir", 0, NULL);
    oa.SecurityDescriptor = make_sd(&dirSd, dirAcl, sizeof(dirAcl), DIRECTORY_QUERY | DIRECTORY_TRAVERSE);
    HANDLE dir;
    assert_int_equal(ZwCreateDirectoryObject(&dir, DIRECTORY_ALL_ACCESS, &oa), STATUS_SUCCESS);

    run_as_user(&u);

    assert_int_equal(u.Results[0], STATUS_SUCCESS);
    assert_int_equal(u.Granted[0], TEST_RIGHT_QUERY);
    assert_int_equal(u.Results[1], STATUS_ACCESS_DENIED);
    assert_ptr_equal(u.Handles[1], NULL);
    assert_int_equal(u.Results[2], STATUS_SUCCESS);
    assert_int_equal(u.Granted[2], TEST_RIGHT_QUERY | SYNCHRONIZE); /* MAXIMUM_ALLOWED minus the denied right */
    assert_int_equal(u.Results[3], STATUS_SUCCESS);                 /* kernel mode is trusted */
    assert_int_equal(u.Granted[3], TEST_RIGHT_MODIFY);
    assert_int_equal(u.Results[4], STATUS_ACCESS_DENIED);           /* ...unless it forces the check */
    assert_ptr_equal(u.Handles[4], NULL);
    assert_int_equal(u.Results[5], STATUS_ACCESS_DENIED);
    assert_int_equal(u.Results[6], STATUS_PRIVILEGE_NOT_HELD);

    for (int i = 0; i < 4; i++)
        if (NT_SUCCESS(u.Results[i]))
            assert_int_equal(ZwClose(u.Handles[i]), STATUS_SUCCESS);
    PVOID none;
    UNICODE_STRING perm;
    RtlInitUnicodeString(&perm, L"\\BaseNamedObjects\\ObSecPerm");
    assert_int_equal(ObReferenceObjectByName(&perm, 0, NULL, 0, NULL, KernelMode, NULL, &none),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwClose(dir), STATUS_SUCCESS);
    assert_int_equal(ZwClose(target), STATUS_SUCCESS);
    ObDereferenceObject(u.Token);
}

static void object_keeps_a_copy_of_its_descriptor(void **state)
{
    (void)state;
    SECURITY_DESCRIPTOR sd;
    static UCHAR acl[256];
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    obt_oa(&oa, &us, NULL, 0, NULL);
    oa.SecurityDescriptor = make_sd(&sd, acl, sizeof(acl), TEST_RIGHT_QUERY);
    OBT_OBJECT *o;
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, sizeof(OBT_OBJECT), 0, 0,
                                    (PVOID *)&o),
                     STATUS_SUCCESS);
    o->Magic = OBT_MAGIC;
    PVOID obj;
    assert_int_equal(ObInsertObject(o, NULL, 0, 0, &obj, NULL), STATUS_SUCCESS);
    RtlZeroMemory(acl, sizeof(acl)); /* the caller's buffer is not the object's */
    PSECURITY_DESCRIPTOR got;
    BOOLEAN allocated;
    assert_int_equal(ObGetObjectSecurity(obj, &got, &allocated), STATUS_SUCCESS);
    assert_non_null(got);
    assert_true(RtlValidSecurityDescriptor(got));
    BOOLEAN present, defaulted;
    PACL dacl;
    assert_int_equal(RtlGetDaclSecurityDescriptor(got, &present, &dacl, &defaulted), STATUS_SUCCESS);
    assert_true(present);
    assert_int_equal(dacl->AceCount, 3);
    ObReleaseObjectSecurity(got, allocated);
    ObDereferenceObject(obj);
    /* An invalid descriptor is refused at creation. */
    SECURITY_DESCRIPTOR bad;
    RtlZeroMemory(&bad, sizeof(bad));
    bad.Revision = 7;
    oa.SecurityDescriptor = &bad;
    assert_int_equal(ObCreateObject(KernelMode, obt_get_type(), &oa, KernelMode, NULL, sizeof(OBT_OBJECT), 0, 0,
                                    (PVOID *)&o),
                     STATUS_UNKNOWN_REVISION);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(opens_are_access_checked),
    cmocka_unit_test(object_keeps_a_copy_of_its_descriptor),
};

NTOS_TEST_GROUP(ob_security, tests, NULL, NULL);
