/*
 * Mutant objects through handles: ZwCreateMutant/ZwOpenMutant/ZwReleaseMutant/
 * ZwQueryMutant and their Nt forms: initial ownership, recursion,
 * STATUS_MUTANT_NOT_OWNED instead of Ke's bug check, abandonment (owner exits,
 * object deleted while owned), OBJ_OPENIF not granting ownership, access
 * rules and mutual exclusion under contention.
 */
#include "zw_test.h"
#include <ntos/ex_objects.h>
#include <ntos/rtl.h>

static inline BOOLEAN waiting_on(PKTHREAD Thread, HANDLE Handle)
{
    PVOID body = NULL;
    if (!NT_SUCCESS(ObReferenceObjectByHandle(Handle, 0, NULL, KernelMode, &body, NULL)))
        return FALSE;
    KIRQL old = KiAcquireDispatcherLock();
    BOOLEAN waiting = Thread->State == Waiting && Thread->WaitBlockCount >= 1 &&
                      Thread->WaitBlockList[0].Object == body;
    KiReleaseDispatcherLock(old);
    ObDereferenceObject(body);
    return waiting;
}

/* Mutants the thread owns (its owned-mutant list), read under the lock that guards it. */
static ULONG owned_mutants(PKTHREAD Thread)
{
    ULONG n = 0;
    KIRQL old = KiAcquireDispatcherLock();
    for (PLIST_ENTRY e = Thread->MutantListHead.Flink; e != &Thread->MutantListHead; e = e->Flink)
        n++;
    KiReleaseDispatcherLock(old);
    return n;
}

static MUTANT_BASIC_INFORMATION query_mutant(HANDLE Handle)
{
    MUTANT_BASIC_INFORMATION i;
    ULONG r = 0;
    assert_int_equal(ZwQueryMutant(Handle, MutantBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(i));
    return i;
}

static HANDLE create_mutant(BOOLEAN Owner)
{
    HANDLE h = NULL;
    assert_int_equal(ZwCreateMutant(&h, MUTANT_ALL_ACCESS, NULL, Owner), STATUS_SUCCESS);
    return h;
}

static void mutant_type_is_exported_with_documented_rights(void **state)
{
    (void)state;
    POBJECT_TYPE t = ExMutantObjectType;
    assert_non_null(t);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Mutant");
    assert_true(RtlEqualUnicodeString(&t->Name, &name, FALSE));
    assert_int_equal(t->TypeInfo.ValidAccessMask, 0x1F0001);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericRead, READ_CONTROL | MUTANT_QUERY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericWrite, READ_CONTROL);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericExecute, READ_CONTROL | SYNCHRONIZE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericAll, MUTANT_ALL_ACCESS);
    assert_ptr_equal(t->DefaultObject, NULL);
    assert_non_null(t->TypeInfo.DeleteProcedure);

    HANDLE h = create_mutant(TRUE);
    PKMUTANT m = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExMutantObjectType, KernelMode, (PVOID *)&m, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(m->Header.Type, MutantObject);
    assert_ptr_equal(m->OwnerThread, KeGetCurrentThread());
    assert_int_equal(KeReadStateMutant(m), 0);
    /* A driver may release it through the pointer. */
    assert_int_equal(KeReleaseMutant(m, 1, FALSE, FALSE), 0);
    assert_int_equal(query_mutant(h).CurrentCount, 1);
    ObDereferenceObject(m);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void initial_owner_release_and_not_owned(void **state)
{
    (void)state;
    ULONG before = owned_mutants(KeGetCurrentThread());
    HANDLE h = create_mutant(TRUE);
    MUTANT_BASIC_INFORMATION i = query_mutant(h);
    assert_int_equal(i.CurrentCount, 0);
    assert_true(i.OwnedByCaller);
    assert_false(i.AbandonedState);
    assert_int_equal(owned_mutants(KeGetCurrentThread()), before + 1);

    LONG prev = 7;
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    i = query_mutant(h);
    assert_int_equal(i.CurrentCount, 1);
    assert_false(i.OwnedByCaller);
    assert_int_equal(owned_mutants(KeGetCurrentThread()), before);

    prev = 7;
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(NtReleaseMutant(h, NULL), STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(prev, 7);
    assert_int_equal(query_mutant(h).CurrentCount, 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* Not owned from the start. */
    h = create_mutant(FALSE);
    i = query_mutant(h);
    assert_int_equal(i.CurrentCount, 1);
    assert_false(i.OwnedByCaller);
    assert_int_equal(ZwReleaseMutant(h, NULL), STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void recursive_acquire_and_release(void **state)
{
    (void)state;
    HANDLE h = create_mutant(FALSE);
    LARGE_INTEGER zero = {.QuadPart = 0};
    for (int k = 0; k < 3; k++)
        assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    MUTANT_BASIC_INFORMATION i = query_mutant(h);
    assert_int_equal(i.CurrentCount, -2);
    assert_true(i.OwnedByCaller);
    LONG prev;
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, -2);
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, -1);
    assert_true(query_mutant(h).OwnedByCaller);
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_false(query_mutant(h).OwnedByCaller);
    assert_int_equal(ZwReleaseMutant(h, &prev), STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

/* ---- other threads -------------------------------------------------------------------------- */

typedef struct mutant_actor {
    HANDLE Handle;
    BOOLEAN Acquire;       /* wait for it first */
    BOOLEAN Release;       /* release before exiting */
    NTSTATUS WaitStatus;
    NTSTATUS ReleaseStatus;
    MUTANT_BASIC_INFORMATION Info;
    NTSTATUS QueryStatus;
} mutant_actor;

static VOID NTAPI mutant_actor_main(PVOID Context)
{
    mutant_actor *a = Context;
    if (a->Acquire)
        a->WaitStatus = ZwWaitForSingleObject(a->Handle, FALSE, NULL);
    a->QueryStatus = ZwQueryMutant(a->Handle, MutantBasicInformation, &a->Info, sizeof(a->Info), NULL);
    if (a->Release)
        a->ReleaseStatus = ZwReleaseMutant(a->Handle, NULL);
}

static void only_the_owner_may_release(void **state)
{
    (void)state;
    static KTHREAD thread;
    static mutant_actor a;
    HANDLE h = create_mutant(TRUE);
    a = (mutant_actor){.Handle = h, .Release = TRUE};
    kt_start(&thread, mutant_actor_main, &a, 8);
    kt_join(&thread);
    assert_int_equal(a.ReleaseStatus, STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(a.QueryStatus, STATUS_SUCCESS);
    assert_false(a.Info.OwnedByCaller);
    assert_int_equal(a.Info.CurrentCount, 0);
    /* Still ours. */
    assert_true(query_mutant(h).OwnedByCaller);
    assert_int_equal(ZwReleaseMutant(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void owner_exit_abandons(void **state)
{
    (void)state;
    static KTHREAD thread;
    static mutant_actor a;
    HANDLE h = create_mutant(FALSE);
    a = (mutant_actor){.Handle = h, .Acquire = TRUE};
    kt_start(&thread, mutant_actor_main, &a, 8);
    kt_join(&thread);
    assert_int_equal(a.WaitStatus, STATUS_WAIT_0);
    assert_true(a.Info.OwnedByCaller);

    MUTANT_BASIC_INFORMATION i = query_mutant(h);
    assert_int_equal(i.CurrentCount, 1);
    assert_false(i.OwnedByCaller);
    assert_true(i.AbandonedState);
    /* The next owner learns of it once, through the wait status. */
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, NULL), STATUS_ABANDONED_WAIT_0);
    i = query_mutant(h);
    assert_true(i.OwnedByCaller);
    assert_false(i.AbandonedState);
    assert_int_equal(ZwReleaseMutant(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, NULL), STATUS_WAIT_0);
    assert_int_equal(ZwReleaseMutant(h, NULL), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void owner_exit_wakes_a_waiter_with_abandoned(void **state)
{
    (void)state;
    static KTHREAD owner, waiter;
    static mutant_actor a, b;
    static KEVENT hold;
    HANDLE h = create_mutant(FALSE);
    KeInitializeEvent(&hold, NotificationEvent, FALSE);
    /* owner: acquires and exits without releasing; waiter: blocks meanwhile. */
    a = (mutant_actor){.Handle = h, .Acquire = TRUE};
    b = (mutant_actor){.Handle = h, .Acquire = TRUE, .Release = TRUE};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, NULL), STATUS_WAIT_0);
    kt_start(&owner, mutant_actor_main, &a, 8);
    WAIT_UNTIL(waiting_on(&owner, h));
    kt_start(&waiter, mutant_actor_main, &b, 8);
    WAIT_UNTIL(waiting_on(&waiter, h));
    /* Hand it to the first waiter (the owner thread), which exits holding it. */
    assert_int_equal(ZwReleaseMutant(h, NULL), STATUS_SUCCESS);
    kt_join(&owner);
    kt_join(&waiter);
    assert_int_equal(a.WaitStatus, STATUS_WAIT_0);
    assert_int_equal(b.WaitStatus, STATUS_ABANDONED_WAIT_0);
    assert_true(b.Info.OwnedByCaller);
    assert_false(b.Info.AbandonedState);
    assert_int_equal(b.ReleaseStatus, STATUS_SUCCESS);
    assert_int_equal(query_mutant(h).CurrentCount, 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void delete_while_owned_releases_it(void **state)
{
    (void)state;
    PKTHREAD self = KeGetCurrentThread();
    ULONG before = owned_mutants(self);
    ULONG objects = ExMutantObjectType->TotalNumberOfObjects;
    HANDLE h = create_mutant(TRUE);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0); /* recursion too */
    assert_int_equal(owned_mutants(self), before + 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    /* Gone, and no longer in this thread's owned list (which would otherwise
     * point into freed memory). */
    assert_int_equal(ExMutantObjectType->TotalNumberOfObjects, objects);
    assert_int_equal(owned_mutants(self), before);

    /* The same with the object kept alive by a pointer: the handle close
     * alone does not release it. */
    h = create_mutant(TRUE);
    PKMUTANT m = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExMutantObjectType, KernelMode, (PVOID *)&m, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(owned_mutants(self), before + 1);
    ObDereferenceObject(m);
    assert_int_equal(owned_mutants(self), before);
    assert_int_equal(ExMutantObjectType->TotalNumberOfObjects, objects);
}

#define MUT_NAME L"\\BaseNamedObjects\\ZwTestMutant_Named"

static void open_if_does_not_grant_ownership(void **state)
{
    (void)state;
    static KTHREAD thread;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, MUT_NAME, 0);
    HANDLE h = NULL;
    ULONG objects = ExMutantObjectType->TotalNumberOfObjects;
    assert_int_equal(ZwCreateMutant(&h, MUTANT_ALL_ACCESS, &oa, FALSE), STATUS_SUCCESS);
    assert_int_equal(ZwCreateMutant(&h, MUTANT_ALL_ACCESS, &oa, TRUE), STATUS_OBJECT_NAME_COLLISION);

    /* This thread asks to own the new one with OBJ_OPENIF and gets the old,
     * unowned; the discarded new mutant gives its ownership back. */
    PKTHREAD self = KeGetCurrentThread();
    ULONG before = owned_mutants(self);
    HANDLE h2 = NULL;
    name_oa(&oa, &us, MUT_NAME, OBJ_OPENIF);
    assert_int_equal(ZwCreateMutant(&h2, MUTANT_ALL_ACCESS, &oa, TRUE), STATUS_OBJECT_NAME_EXISTS);
    assert_int_equal(owned_mutants(self), before);
    MUTANT_BASIC_INFORMATION i = query_mutant(h2);
    assert_false(i.OwnedByCaller);
    assert_int_equal(i.CurrentCount, 1);
    assert_int_equal(ExMutantObjectType->TotalNumberOfObjects, objects + 1);

    /* Another thread opens it by name, takes it and releases it. */
    static mutant_actor a;
    HANDLE h3 = NULL;
    name_oa(&oa, &us, MUT_NAME, 0);
    assert_int_equal(ZwOpenMutant(&h3, SYNCHRONIZE | MUTANT_QUERY_STATE, &oa), STATUS_SUCCESS);
    a = (mutant_actor){.Handle = h3, .Acquire = TRUE, .Release = TRUE};
    kt_start(&thread, mutant_actor_main, &a, 8);
    kt_join(&thread);
    assert_int_equal(a.WaitStatus, STATUS_WAIT_0);
    assert_true(a.Info.OwnedByCaller);
    assert_int_equal(a.ReleaseStatus, STATUS_SUCCESS);

    HANDLE e = NULL;
    assert_int_equal(ZwOpenEvent(&e, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwOpenSemaphore(&e, SEMAPHORE_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestMutant_Missing", 0);
    assert_int_equal(ZwOpenMutant(&e, MUTANT_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(NtOpenMutant(NULL, MUTANT_ALL_ACCESS, &oa), STATUS_ACCESS_VIOLATION);

    assert_int_equal(ZwClose(h3), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExMutantObjectType->TotalNumberOfObjects, objects);
}

static void errors_and_access(void **state)
{
    (void)state;
    LONG prev = 7;
    MUTANT_BASIC_INFORMATION i;
    assert_int_equal(ZwCreateMutant(NULL, MUTANT_ALL_ACCESS, NULL, FALSE), STATUS_ACCESS_VIOLATION);
    assert_int_equal(ZwReleaseMutant(BOGUS_HANDLE, &prev), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwQueryMutant(BOGUS_HANDLE, MutantBasicInformation, &i, sizeof(i), NULL), STATUS_INVALID_HANDLE);
    HANDLE e = NULL;
    assert_int_equal(ZwCreateEvent(&e, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(ZwReleaseMutant(e, &prev), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwQueryMutant(e, MutantBasicInformation, &i, sizeof(i), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(prev, 7);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);

    HANDLE h = create_mutant(FALSE);
    ULONG r = 99;
    assert_int_equal(ZwQueryMutant(h, (MUTANT_INFORMATION_CLASS)2, &i, sizeof(i), &r), STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQueryMutant(h, MutantBasicInformation, &i, sizeof(i) - 1, &r), STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQueryMutant(h, MutantBasicInformation, NULL, sizeof(i), &r), STATUS_ACCESS_VIOLATION);
    assert_int_equal(r, 99);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);

    /* User mode: SYNCHRONIZE alone is enough to wait and release (ownership is
     * the check); querying needs MUTANT_QUERY_STATE. */
    HANDLE u = NULL;
    assert_int_equal(AS_USER(NtCreateMutant(&u, SYNCHRONIZE, NULL, FALSE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtWaitForSingleObject(u, FALSE, NULL)), STATUS_WAIT_0);
    assert_int_equal(AS_USER(NtQueryMutant(u, MutantBasicInformation, &i, sizeof(i), NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtReleaseMutant(u, &prev)), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(AS_USER(NtReleaseMutant(u, &prev)), STATUS_MUTANT_NOT_OWNED);
    assert_int_equal(ZwClose(u), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateMutant(&u, MUTANT_QUERY_STATE, NULL, TRUE)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtQueryMutant(u, MutantBasicInformation, &i, sizeof(i), NULL)), STATUS_SUCCESS);
    assert_true(i.OwnedByCaller);
    assert_int_equal(AS_USER(NtWaitForSingleObject(u, FALSE, NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtReleaseMutant(u, NULL)), STATUS_SUCCESS);
    assert_int_equal(ZwClose(u), STATUS_SUCCESS);

    static const struct {
        ACCESS_MASK Asked, Granted;
    } cases[] = {
        {GENERIC_READ, READ_CONTROL | MUTANT_QUERY_STATE},
        {GENERIC_WRITE, READ_CONTROL},
        {GENERIC_EXECUTE, READ_CONTROL | SYNCHRONIZE},
        {GENERIC_ALL, MUTANT_ALL_ACCESS},
        {0xFFFF, MUTANT_QUERY_STATE},
    };
    for (ULONG k = 0; k < RTL_NUMBER_OF(cases); k++) {
        assert_int_equal(AS_USER(NtCreateMutant(&u, cases[k].Asked, NULL, FALSE)), STATUS_SUCCESS);
        PUBLIC_OBJECT_BASIC_INFORMATION b;
        assert_int_equal(ZwQueryObject(u, ObjectBasicInformation, &b, sizeof(b), NULL), STATUS_SUCCESS);
        assert_int_equal(b.GrantedAccess, cases[k].Granted);
        assert_int_equal(ZwClose(u), STATUS_SUCCESS);
    }
}

#define CONTENDERS 4
#define CONTENDER_ROUNDS 200

typedef struct contender {
    HANDLE Handle;
    LONG Rounds;
    LONG Errors;
} contender;

static volatile LONG inside;
static LONG shared_counter;

static VOID NTAPI contender_main(PVOID Context)
{
    contender *c = Context;
    for (int i = 0; i < CONTENDER_ROUNDS; i++) {
        if (ZwWaitForSingleObject(c->Handle, FALSE, NULL) != STATUS_WAIT_0) {
            c->Errors++;
            continue;
        }
        if (__atomic_add_fetch(&inside, 1, __ATOMIC_ACQ_REL) != 1)
            c->Errors++;
        LONG v = shared_counter;
        if (i % 16 == 0)
            KeYieldProcessor();
        shared_counter = v + 1;
        __atomic_sub_fetch(&inside, 1, __ATOMIC_ACQ_REL);
        if (ZwReleaseMutant(c->Handle, NULL) != STATUS_SUCCESS)
            c->Errors++;
        c->Rounds++;
    }
}

static void mutual_exclusion_under_contention(void **state)
{
    (void)state;
    static KTHREAD threads[CONTENDERS];
    static contender c[CONTENDERS];
    HANDLE h = create_mutant(FALSE);
    shared_counter = 0;
    for (int i = 0; i < CONTENDERS; i++) {
        c[i] = (contender){.Handle = h};
        kt_start(&threads[i], contender_main, &c[i], 8);
    }
    for (int i = 0; i < CONTENDERS; i++) {
        kt_join(&threads[i]);
        assert_int_equal(c[i].Errors, 0);
        assert_int_equal(c[i].Rounds, CONTENDER_ROUNDS);
    }
    assert_int_equal(shared_counter, CONTENDERS * CONTENDER_ROUNDS);
    MUTANT_BASIC_INFORMATION i = query_mutant(h);
    assert_int_equal(i.CurrentCount, 1);
    assert_false(i.AbandonedState);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(mutant_type_is_exported_with_documented_rights),
    cmocka_unit_test(initial_owner_release_and_not_owned),
    cmocka_unit_test(recursive_acquire_and_release),
    cmocka_unit_test(only_the_owner_may_release),
    cmocka_unit_test(owner_exit_abandons),
    cmocka_unit_test(owner_exit_wakes_a_waiter_with_abandoned),
    cmocka_unit_test(delete_while_owned_releases_it),
    cmocka_unit_test(open_if_does_not_grant_ownership),
    cmocka_unit_test(errors_and_access),
    cmocka_unit_test(mutual_exclusion_under_contention),
};

NTOS_TEST_GROUP(ex_zw_mutant, tests, NULL, NULL);
