/*
 * Who may open what (a restricted token against the default descriptors and
 * an explicit one), change notifications (synchronous, event, work item,
 * watch tree, cleanup on close, deleted key) and registry callbacks (order
 * by altitude, blocking, bypass, post status, call contexts).
 */
#include "cm_test.h"
#include <ntos/ex_objects.h>

#define ROOT L"\\REGISTRY\\MACHINE\\CmTestEvents"

/* ---- access ------------------------------------------------------------------------------- */

static UCHAR world_sid[12], user_sid[28], users_sid[16];

static PACCESS_TOKEN make_user_token(void)
{
    SID_IDENTIFIER_AUTHORITY world = SECURITY_WORLD_SID_AUTHORITY, nt = SECURITY_NT_AUTHORITY;
    RtlInitializeSid(world_sid, &world, 1);
    *RtlSubAuthoritySid(world_sid, 0) = SECURITY_WORLD_RID;
    RtlInitializeSid(user_sid, &nt, 5);
    static const ULONG rids[5] = {21, 7, 8, 9, 1001};
    for (ULONG i = 0; i < 5; i++)
        *RtlSubAuthoritySid(user_sid, i) = rids[i];
    RtlInitializeSid(users_sid, &nt, 2);
    *RtlSubAuthoritySid(users_sid, 0) = SECURITY_BUILTIN_DOMAIN_RID;
    *RtlSubAuthoritySid(users_sid, 1) = DOMAIN_ALIAS_RID_USERS;
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

typedef struct {
    PACCESS_TOKEN Token;
    NTSTATUS Status[8];
} AS_USER;

static NTSTATUS user_open(PCWSTR Name, ACCESS_MASK Access, PHANDLE Handle)
{
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    cmt_oa(&oa, &us, Name, NULL);
    oa.Attributes |= OBJ_FORCE_ACCESS_CHECK;
    return ZwOpenKey(Handle, Access, &oa);
}

static VOID NTAPI user_thread(PVOID Context)
{
    AS_USER *u = Context;
    PsImpersonateClient(PsGetCurrentThread(), u->Token, FALSE, FALSE, SecurityImpersonation);
    HANDLE h;
    u->Status[0] = user_open(ROOT, KEY_READ, &h);
    if (NT_SUCCESS(u->Status[0]))
        ZwClose(h);
    u->Status[1] = user_open(ROOT, KEY_SET_VALUE, &h);
    u->Status[2] = user_open(ROOT L"\\Private", KEY_READ, &h);
    u->Status[3] = user_open(ROOT, MAXIMUM_ALLOWED, &h);
    if (NT_SUCCESS(u->Status[3])) {
        /* The handle has read rights only: a write through it is refused by Ob. */
        u->Status[4] = cmt_set_dword(h, L"x", 1);
        ZwClose(h);
    }
    /* Creating below a key the user may only read. */
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    cmt_oa(&oa, &us, ROOT L"\\New", NULL);
    oa.Attributes |= OBJ_FORCE_ACCESS_CHECK;
    u->Status[5] = ZwCreateKey(&h, KEY_READ, &oa, 0, NULL, 0, NULL);
    /* The same through the Nt entry with a kernel previous mode is trusted. */
    u->Status[6] = cmt_open(ROOT L"\\Private", NULL, &h);
    if (NT_SUCCESS(u->Status[6]))
        ZwClose(h);
    PsRevertToSelf();
}

static void access_is_checked(void **state)
{
    (void)state;
    HANDLE k, p;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    /* Private: only SYSTEM. */
    UCHAR aclBuf[128];
    PACL acl = (PACL)aclBuf;
    RtlCreateAcl(acl, sizeof(aclBuf), ACL_REVISION);
    RtlAddAccessAllowedAce(acl, ACL_REVISION, KEY_ALL_ACCESS, SeExports->SeLocalSystemSid);
    SECURITY_DESCRIPTOR sd;
    RtlCreateSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
    RtlSetDaclSecurityDescriptor(&sd, TRUE, acl, FALSE);
    UNICODE_STRING us;
    OBJECT_ATTRIBUTES oa;
    cmt_oa(&oa, &us, L"Private", k);
    oa.SecurityDescriptor = &sd;
    assert_int_equal(ZwCreateKey(&p, KEY_ALL_ACCESS, &oa, 0, NULL, 0, NULL), STATUS_SUCCESS);
    ZwClose(p);

    static AS_USER u;
    RtlZeroMemory(&u, sizeof(u));
    u.Token = make_user_token();
    HANDLE t;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, user_thread, &u), STATUS_SUCCESS);
    PVOID thread;
    assert_int_equal(ObReferenceObjectByHandle(t, SYNCHRONIZE, PsThreadType, KernelMode, &thread, NULL),
                     STATUS_SUCCESS);
    KeWaitForSingleObject(thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(thread);
    ZwClose(t);
    ObDereferenceObject(u.Token);

    assert_int_equal(u.Status[0], STATUS_SUCCESS);       /* Everyone may read (inherited from MACHINE) */
    assert_int_equal(u.Status[1], STATUS_ACCESS_DENIED); /* ...not write */
    assert_int_equal(u.Status[2], STATUS_ACCESS_DENIED); /* explicit descriptor: SYSTEM only */
    assert_int_equal(u.Status[3], STATUS_SUCCESS);
    assert_int_equal(u.Status[5], STATUS_ACCESS_DENIED); /* no KEY_CREATE_SUB_KEY on the parent */
    assert_int_equal(u.Status[6], STATUS_SUCCESS);
    assert_int_equal(cmt_open(L"New", k, &p), STATUS_OBJECT_NAME_NOT_FOUND);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestEvents");
}

/* ---- notifications ------------------------------------------------------------------------ */

typedef struct {
    HANDLE Key;
    BOOLEAN Tree;
    ULONG Filter;
    IO_STATUS_BLOCK Iosb;
    NTSTATUS Status;
    volatile LONG Started;
} WAITER;

static VOID NTAPI sync_waiter(PVOID Context)
{
    WAITER *w = Context;
    __atomic_store_n(&w->Started, 1, __ATOMIC_SEQ_CST);
    w->Status = ZwNotifyChangeKey(w->Key, NULL, NULL, NULL, &w->Iosb, w->Filter, w->Tree, NULL, 0, FALSE);
}

static PVOID start_thread(PKSTART_ROUTINE Routine, PVOID Context)
{
    HANDLE t;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(PsCreateSystemThread(&t, SYNCHRONIZE, &oa, NULL, NULL, Routine, Context), STATUS_SUCCESS);
    PVOID thread;
    assert_int_equal(ObReferenceObjectByHandle(t, SYNCHRONIZE, PsThreadType, KernelMode, &thread, NULL),
                     STATUS_SUCCESS);
    ZwClose(t);
    return thread;
}

static void notifications(void **state)
{
    (void)state;
    HANDLE k, c;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    assert_int_equal(cmt_create(L"Child", k, 0, &c, NULL), STATUS_SUCCESS);

    /* Synchronous: a value set wakes the waiter. */
    static WAITER w;
    RtlZeroMemory(&w, sizeof(w));
    w.Key = k;
    w.Filter = REG_NOTIFY_CHANGE_LAST_SET;
    PVOID th = start_thread(sync_waiter, &w);
    /* Wait (not spin: the host takes interrupts only at such points) until
     * the waiter has started, then give it time to block. */
    LARGE_INTEGER d = {.QuadPart = -10000};
    while (!__atomic_load_n(&w.Started, __ATOMIC_SEQ_CST))
        KeDelayExecutionThread(KernelMode, FALSE, &d);
    /* Change the key until the waiter returns: a loaded host may not have
     * blocked it yet at the first change. */
    d.QuadPart = -100000;
    do
        assert_int_equal(cmt_set_dword(k, L"v", 1), STATUS_SUCCESS);
    while (KeWaitForSingleObject(th, Executive, KernelMode, FALSE, &d) == STATUS_TIMEOUT);
    ObDereferenceObject(th);
    assert_int_equal(w.Status, STATUS_SUCCESS);
    assert_int_equal(w.Iosb.Status, STATUS_SUCCESS);

    /* Event form: the subkey's change reaches a WatchTree request on the parent only. */
    HANDLE ev;
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    assert_int_equal(ZwCreateEvent(&ev, EVENT_ALL_ACCESS, &oa, NotificationEvent, FALSE), STATUS_SUCCESS);
    PKEVENT event;
    assert_int_equal(ObReferenceObjectByHandle(ev, 0, ExEventObjectType, KernelMode, (PVOID *)&event, NULL),
                     STATUS_SUCCESS);
    IO_STATUS_BLOCK iosb, iosb2;
    assert_int_equal(ZwNotifyChangeKey(k, ev, NULL, NULL, &iosb, REG_NOTIFY_CHANGE_LAST_SET, TRUE, NULL, 0, TRUE),
                     STATUS_PENDING);
    assert_int_equal(iosb.Status, STATUS_PENDING);
    assert_int_equal(ZwNotifyChangeKey(k, NULL, NULL, NULL, &iosb2, REG_NOTIFY_CHANGE_NAME, FALSE, NULL, 0, TRUE),
                     STATUS_PENDING);
    assert_int_equal(cmt_set_dword(c, L"deep", 1), STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(event), 1);
    assert_int_equal(iosb.Status, STATUS_SUCCESS);
    assert_int_equal(iosb2.Status, STATUS_PENDING); /* a name filter on the key itself: not this */
    /* A new subkey is a name change of its parent. */
    HANDLE n;
    assert_int_equal(cmt_create(L"New", k, 0, &n, NULL), STATUS_SUCCESS);
    assert_int_equal(iosb2.Status, STATUS_SUCCESS);
    ZwClose(n);

    /* Closing the last handle ends pending requests with STATUS_NOTIFY_CLEANUP. */
    HANDLE k2;
    assert_int_equal(cmt_open(ROOT, NULL, &k2), STATUS_SUCCESS);
    assert_int_equal(ZwNotifyChangeKey(k2, NULL, NULL, NULL, &iosb, REG_NOTIFY_CHANGE_NAME, FALSE, NULL, 0, TRUE),
                     STATUS_PENDING);
    ZwClose(k2);
    assert_int_equal(iosb.Status, STATUS_NOTIFY_CLEANUP);
    /* Deleting the key ends them with STATUS_KEY_DELETED. */
    assert_int_equal(ZwNotifyChangeKey(c, NULL, NULL, NULL, &iosb, REG_NOTIFY_CHANGE_LAST_SET, FALSE, NULL, 0, TRUE),
                     STATUS_PENDING);
    assert_int_equal(ZwDeleteKey(c), STATUS_SUCCESS);
    assert_int_equal(iosb.Status, STATUS_KEY_DELETED);
    assert_int_equal(ZwNotifyChangeKey(c, NULL, NULL, NULL, &iosb, REG_NOTIFY_CHANGE_LAST_SET, FALSE, NULL, 0, TRUE),
                     STATUS_KEY_DELETED);
    /* Bad requests. */
    assert_int_equal(ZwNotifyChangeKey(k, NULL, NULL, NULL, &iosb, 0, FALSE, NULL, 0, TRUE), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwNotifyChangeKey(k, NULL, NULL, NULL, &iosb, 0x100, FALSE, NULL, 0, TRUE),
                     STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwNotifyChangeKey(k, NULL, NULL, NULL, NULL, 1, FALSE, NULL, 0, TRUE), STATUS_INVALID_PARAMETER);
    ObDereferenceObject(event);
    ZwClose(ev);
    ZwClose(c);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestEvents");
}

/* ---- callbacks --------------------------------------------------------------------------- */

typedef struct {
    char Log[64];
    volatile LONG N;
    ULONG Id;
    NTSTATUS PreResult;
    NTSTATUS LastPostStatus;
    PVOID SeenCallContext;
} CB;

static CB *cb_log_owner;

static NTSTATUS NTAPI callback(PVOID Context, PVOID Argument1, PVOID Argument2)
{
    CB *cb = Context;
    REG_NOTIFY_CLASS cls = (REG_NOTIFY_CLASS)(ULONG_PTR)Argument1;
    if (cls == RegNtPreSetValueKey) {
        PREG_SET_VALUE_KEY_INFORMATION i = Argument2;
        /* Only the test's own values. */
        if (i->ValueName->Length < 2 || i->ValueName->Buffer[0] != L'#')
            return STATUS_SUCCESS;
        LONG n = __atomic_fetch_add(&cb_log_owner->N, 1, __ATOMIC_SEQ_CST);
        cb_log_owner->Log[n] = (char)('A' + cb->Id);
        i->CallContext = (PVOID)(ULONG_PTR)(0x100 + cb->Id);
        return cb->PreResult;
    }
    if (cls == RegNtPostSetValueKey) {
        PREG_POST_OPERATION_INFORMATION p = Argument2;
        PREG_SET_VALUE_KEY_INFORMATION pre = p->PreInformation;
        if (pre->ValueName->Length < 2 || pre->ValueName->Buffer[0] != L'#')
            return STATUS_SUCCESS;
        LONG n = __atomic_fetch_add(&cb_log_owner->N, 1, __ATOMIC_SEQ_CST);
        cb_log_owner->Log[n] = (char)('a' + cb->Id);
        cb->LastPostStatus = p->Status;
        cb->SeenCallContext = p->CallContext;
    }
    return STATUS_SUCCESS;
}

static void callbacks(void **state)
{
    (void)state;
    static CB log, c0, c1, c2;
    RtlZeroMemory(&log, sizeof(log));
    cb_log_owner = &log;
    CB *cbs[3] = {&c0, &c1, &c2};
    static const PCWSTR alts[3] = {L"320000", L"385100.5", L"40000"};
    LARGE_INTEGER cookies[3];
    for (ULONG i = 0; i < 3; i++) {
        RtlZeroMemory(cbs[i], sizeof(CB));
        cbs[i]->Id = i;
        UNICODE_STRING a;
        RtlInitUnicodeString(&a, alts[i]);
        assert_int_equal(CmRegisterCallbackEx(callback, &a, NULL, cbs[i], &cookies[i], NULL), STATUS_SUCCESS);
    }
    UNICODE_STRING dup, bad;
    RtlInitUnicodeString(&dup, L"320000.0");
    RtlInitUnicodeString(&bad, L"12a");
    LARGE_INTEGER extra;
    PEX_CALLBACK_FUNCTION fn = callback;
    assert_int_equal(CmRegisterCallbackEx(fn, &dup, NULL, &c0, &extra, NULL), STATUS_FLT_INSTANCE_ALTITUDE_COLLISION);
    assert_int_equal(CmRegisterCallbackEx(fn, &bad, NULL, &c0, &extra, NULL), STATUS_INVALID_PARAMETER);

    HANDLE k;
    assert_int_equal(cmt_create(ROOT, NULL, 0, &k, NULL), STATUS_SUCCESS);
    /* Pre from the highest altitude down (385100.5, 320000, 40000), post back up. */
    assert_int_equal(cmt_set_dword(k, L"#1", 1), STATUS_SUCCESS);
    assert_int_equal(log.N, 6);
    assert_memory_equal(log.Log, "BACcab", 6);
    assert_int_equal(c0.LastPostStatus, STATUS_SUCCESS);
    assert_ptr_equal(c0.SeenCallContext, (PVOID)0x100);
    assert_ptr_equal(c1.SeenCallContext, (PVOID)0x101);

    /* The middle one blocks: the operation fails with its status, the one above gets the post. */
    log.N = 0;
    c0.PreResult = STATUS_ACCESS_DENIED;
    assert_int_equal(cmt_set_dword(k, L"#2", 2), STATUS_ACCESS_DENIED);
    assert_int_equal(log.N, 3);
    assert_memory_equal(log.Log, "BAb", 3);
    assert_int_equal(c1.LastPostStatus, STATUS_ACCESS_DENIED);
    ULONG rl;
    UCHAR buf[32];
    assert_int_equal(cmt_query(k, L"#2", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);

    /* Bypass: the operation is skipped and reported a success. */
    log.N = 0;
    c0.PreResult = STATUS_CALLBACK_BYPASS;
    assert_int_equal(cmt_set_dword(k, L"#3", 3), STATUS_SUCCESS);
    assert_int_equal(cmt_query(k, L"#3", KeyValuePartialInformation, buf, sizeof(buf), &rl),
                     STATUS_OBJECT_NAME_NOT_FOUND);
    c0.PreResult = STATUS_SUCCESS;

    /* Unregistered callbacks are no longer called. */
    assert_int_equal(CmUnRegisterCallback(cookies[1]), STATUS_SUCCESS);
    assert_int_equal(CmUnRegisterCallback(cookies[1]), STATUS_INVALID_PARAMETER);
    log.N = 0;
    assert_int_equal(cmt_set_dword(k, L"#4", 4), STATUS_SUCCESS);
    assert_memory_equal(log.Log, "ACca", 4);
    assert_int_equal(CmUnRegisterCallback(cookies[0]), STATUS_SUCCESS);
    assert_int_equal(CmUnRegisterCallback(cookies[2]), STATUS_SUCCESS);
    ZwClose(k);
    cmt_delete_tree("HKEY_LOCAL_MACHINE\\CmTestEvents");
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(access_is_checked),
    cmocka_unit_test(notifications),
    cmocka_unit_test(callbacks),
};

NTOS_TEST_GROUP(cm_events, tests, NULL, NULL);
