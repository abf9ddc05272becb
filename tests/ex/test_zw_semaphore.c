/*
 * Semaphore objects through handles: ZwCreateSemaphore/ZwOpenSemaphore/
 * ZwReleaseSemaphore/ZwQuerySemaphore and their Nt forms: parameter
 * validation, STATUS_SEMAPHORE_LIMIT_EXCEEDED instead of Ke's raise (also
 * under concurrent releasers), waits taking units, releases waking exactly as
 * many waiters as units, named semaphores and access checks.
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

static SEMAPHORE_BASIC_INFORMATION query_sem(HANDLE Handle)
{
    SEMAPHORE_BASIC_INFORMATION i;
    ULONG r = 0;
    assert_int_equal(ZwQuerySemaphore(Handle, SemaphoreBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(r, sizeof(i));
    return i;
}

static HANDLE create_sem(LONG Initial, LONG Maximum)
{
    HANDLE h = NULL;
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, Initial, Maximum), STATUS_SUCCESS);
    return h;
}

static void semaphore_type_is_exported_with_documented_rights(void **state)
{
    (void)state;
    POBJECT_TYPE t = ExSemaphoreObjectType;
    assert_non_null(t);
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"Semaphore");
    assert_true(RtlEqualUnicodeString(&t->Name, &name, FALSE));
    assert_int_equal(t->TypeInfo.ValidAccessMask, 0x1F0003);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericRead, READ_CONTROL | SEMAPHORE_QUERY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericWrite, READ_CONTROL | SEMAPHORE_MODIFY_STATE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericExecute, READ_CONTROL | SYNCHRONIZE);
    assert_int_equal(t->TypeInfo.GenericMapping.GenericAll, SEMAPHORE_ALL_ACCESS);
    assert_ptr_equal(t->DefaultObject, NULL);

    /* The body is a KSEMAPHORE. */
    HANDLE h = create_sem(1, 3);
    PKSEMAPHORE s = NULL;
    assert_int_equal(ObReferenceObjectByHandle(h, 0, ExSemaphoreObjectType, KernelMode, (PVOID *)&s, NULL),
                     STATUS_SUCCESS);
    assert_int_equal(s->Header.Type, SemaphoreObject);
    assert_int_equal(KeReadStateSemaphore(s), 1);
    assert_int_equal(s->Limit, 3);
    assert_int_equal(KeReleaseSemaphore(s, 0, 1, FALSE), 1);
    assert_int_equal(query_sem(h).CurrentCount, 2);
    ObDereferenceObject(s);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void create_validates_counts(void **state)
{
    (void)state;
    HANDLE h = (HANDLE)(ULONG_PTR)0x4444;
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, 0, 0), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, 0, -1), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, -1, 5), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, 6, 5), STATUS_INVALID_PARAMETER);
    assert_int_equal(NtCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, NULL, MINLONG, MINLONG), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwCreateSemaphore(NULL, SEMAPHORE_ALL_ACCESS, NULL, 0, 1), STATUS_ACCESS_VIOLATION);
    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, NULL, OBJ_OPENLINK, NULL, NULL);
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, &oa, 0, 1), STATUS_INVALID_PARAMETER);
    assert_ptr_equal(h, (HANDLE)(ULONG_PTR)0x4444);

    /* The boundaries that are allowed. */
    HANDLE a = create_sem(0, 1), b = create_sem(5, 5), c = create_sem(MAXLONG, MAXLONG);
    assert_int_equal(query_sem(a).CurrentCount, 0);
    assert_int_equal(query_sem(b).CurrentCount, 5);
    assert_int_equal(query_sem(c).CurrentCount, MAXLONG);
    assert_int_equal(query_sem(c).MaximumCount, MAXLONG);
    assert_int_equal(ZwClose(a), STATUS_SUCCESS);
    assert_int_equal(ZwClose(b), STATUS_SUCCESS);
    assert_int_equal(ZwClose(c), STATUS_SUCCESS);
}

static void release_reports_previous_and_refuses_the_limit(void **state)
{
    (void)state;
    HANDLE h = create_sem(2, 5);
    SEMAPHORE_BASIC_INFORMATION i = query_sem(h);
    assert_int_equal(i.CurrentCount, 2);
    assert_int_equal(i.MaximumCount, 5);
    LONG prev = -1;
    assert_int_equal(ZwReleaseSemaphore(h, 1, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 2);
    assert_int_equal(ZwReleaseSemaphore(h, 2, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 3);
    assert_int_equal(query_sem(h).CurrentCount, 5);
    prev = -1;
    assert_int_equal(ZwReleaseSemaphore(h, 1, &prev), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(prev, -1);
    assert_int_equal(query_sem(h).CurrentCount, 5);

    /* A release that would overshoot changes nothing, even if part would fit. */
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(query_sem(h).CurrentCount, 3);
    assert_int_equal(ZwReleaseSemaphore(h, 3, NULL), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(ZwReleaseSemaphore(h, MAXLONG, NULL), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(query_sem(h).CurrentCount, 3);
    assert_int_equal(ZwReleaseSemaphore(h, 2, NULL), STATUS_SUCCESS);
    assert_int_equal(query_sem(h).CurrentCount, 5);

    /* Counts that are not releases at all. */
    assert_int_equal(ZwReleaseSemaphore(h, 0, &prev), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwReleaseSemaphore(h, -1, &prev), STATUS_INVALID_PARAMETER);
    assert_int_equal(NtReleaseSemaphore(h, MINLONG, &prev), STATUS_INVALID_PARAMETER);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void release_up_to_maxlong(void **state)
{
    (void)state;
    HANDLE h = create_sem(0, MAXLONG);
    LONG prev = -1;
    assert_int_equal(ZwReleaseSemaphore(h, MAXLONG, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(ZwReleaseSemaphore(h, 1, &prev), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(ZwReleaseSemaphore(h, MAXLONG, &prev), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(query_sem(h).CurrentCount, MAXLONG);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwReleaseSemaphore(h, 1, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, MAXLONG - 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void waits_take_units(void **state)
{
    (void)state;
    HANDLE h = create_sem(2, 2);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_WAIT_0);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &zero), STATUS_TIMEOUT);
    LARGE_INTEGER t = kt_ms(5);
    assert_int_equal(ZwWaitForSingleObject(h, FALSE, &t), STATUS_TIMEOUT);
    assert_int_equal(query_sem(h).CurrentCount, 0);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void errors_by_handle(void **state)
{
    (void)state;
    LONG prev = 7;
    SEMAPHORE_BASIC_INFORMATION i;
    assert_int_equal(ZwReleaseSemaphore(BOGUS_HANDLE, 1, &prev), STATUS_INVALID_HANDLE);
    assert_int_equal(ZwQuerySemaphore(BOGUS_HANDLE, SemaphoreBasicInformation, &i, sizeof(i), NULL),
                     STATUS_INVALID_HANDLE);
    HANDLE e = NULL;
    assert_int_equal(ZwCreateEvent(&e, EVENT_ALL_ACCESS, NULL, NotificationEvent, FALSE), STATUS_SUCCESS);
    assert_int_equal(ZwReleaseSemaphore(e, 1, &prev), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(ZwQuerySemaphore(e, SemaphoreBasicInformation, &i, sizeof(i), NULL), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(prev, 7);
    assert_int_equal(ZwClose(e), STATUS_SUCCESS);

    HANDLE h = create_sem(1, 2);
    ULONG r = 99;
    assert_int_equal(ZwQuerySemaphore(h, (SEMAPHORE_INFORMATION_CLASS)1, &i, sizeof(i), &r), STATUS_INVALID_INFO_CLASS);
    assert_int_equal(ZwQuerySemaphore(h, SemaphoreBasicInformation, &i, sizeof(i) - 1, &r),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQuerySemaphore(h, SemaphoreBasicInformation, &i, sizeof(i) + 4, &r),
                     STATUS_INFO_LENGTH_MISMATCH);
    assert_int_equal(ZwQuerySemaphore(h, SemaphoreBasicInformation, NULL, sizeof(i), &r), STATUS_ACCESS_VIOLATION);
    assert_int_equal(r, 99);
    assert_int_equal(NtQuerySemaphore(h, SemaphoreBasicInformation, &i, sizeof(i), &r), STATUS_SUCCESS);
    assert_int_equal(i.CurrentCount, 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ZwReleaseSemaphore(h, 1, NULL), STATUS_INVALID_HANDLE);
}

static void user_mode_access(void **state)
{
    (void)state;
    HANDLE q = NULL, m = NULL;
    assert_int_equal(AS_USER(NtCreateSemaphore(&q, SEMAPHORE_QUERY_STATE, NULL, 0, 3)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtCreateSemaphore(&m, SEMAPHORE_MODIFY_STATE, NULL, 0, 3)), STATUS_SUCCESS);
    SEMAPHORE_BASIC_INFORMATION i;
    LONG prev;
    assert_int_equal(AS_USER(NtReleaseSemaphore(q, 1, &prev)), STATUS_ACCESS_DENIED);
    assert_int_equal(AS_USER(NtQuerySemaphore(q, SemaphoreBasicInformation, &i, sizeof(i), NULL)), STATUS_SUCCESS);
    assert_int_equal(i.CurrentCount, 0);
    assert_int_equal(AS_USER(NtReleaseSemaphore(m, 2, &prev)), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    assert_int_equal(AS_USER(NtQuerySemaphore(m, SemaphoreBasicInformation, &i, sizeof(i), NULL)),
                     STATUS_ACCESS_DENIED);
    /* The limit still wins over the access. */
    assert_int_equal(AS_USER(NtReleaseSemaphore(m, 2, &prev)), STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    /* Kernel-mode callers are trusted. */
    assert_int_equal(ZwReleaseSemaphore(q, 1, &prev), STATUS_SUCCESS);

    static const struct {
        ACCESS_MASK Asked, Granted;
    } cases[] = {
        {GENERIC_READ, READ_CONTROL | SEMAPHORE_QUERY_STATE},
        {GENERIC_WRITE, READ_CONTROL | SEMAPHORE_MODIFY_STATE},
        {GENERIC_EXECUTE, READ_CONTROL | SYNCHRONIZE},
        {GENERIC_ALL, SEMAPHORE_ALL_ACCESS},
    };
    for (ULONG k = 0; k < RTL_NUMBER_OF(cases); k++) {
        HANDLE h = NULL;
        assert_int_equal(AS_USER(NtCreateSemaphore(&h, cases[k].Asked, NULL, 0, 1)), STATUS_SUCCESS);
        assert_int_equal(basic_info(h).GrantedAccess, cases[k].Granted);
        assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    }
    assert_int_equal(ZwClose(q), STATUS_SUCCESS);
    assert_int_equal(ZwClose(m), STATUS_SUCCESS);
}

#define SEM_NAME L"\\BaseNamedObjects\\ZwTestSemaphore_Named"

static void named_semaphore(void **state)
{
    (void)state;
    OBJECT_ATTRIBUTES oa;
    UNICODE_STRING us;
    name_oa(&oa, &us, SEM_NAME, 0);
    HANDLE h = NULL, h2 = NULL, h3 = NULL;
    ULONG objects = ExSemaphoreObjectType->TotalNumberOfObjects;
    assert_int_equal(ZwCreateSemaphore(&h, SEMAPHORE_ALL_ACCESS, &oa, 1, 4), STATUS_SUCCESS);
    assert_int_equal(ZwCreateSemaphore(&h2, SEMAPHORE_ALL_ACCESS, &oa, 0, 9), STATUS_OBJECT_NAME_COLLISION);
    assert_int_equal(ZwOpenSemaphore(&h2, SEMAPHORE_ALL_ACCESS, &oa), STATUS_SUCCESS);
    assert_int_equal(ZwReleaseSemaphore(h2, 1, NULL), STATUS_SUCCESS);
    assert_int_equal(query_sem(h).CurrentCount, 2);

    /* OPENIF ignores the new counts. */
    name_oa(&oa, &us, SEM_NAME, OBJ_OPENIF);
    assert_int_equal(ZwCreateSemaphore(&h3, SEMAPHORE_QUERY_STATE, &oa, 0, 9), STATUS_OBJECT_NAME_EXISTS);
    SEMAPHORE_BASIC_INFORMATION i = query_sem(h3);
    assert_int_equal(i.CurrentCount, 2);
    assert_int_equal(i.MaximumCount, 4);
    assert_int_equal(basic_info(h).HandleCount, 3);
    assert_int_equal(ExSemaphoreObjectType->TotalNumberOfObjects, objects + 1);
    /* Invalid counts are refused before the name is looked at. */
    assert_int_equal(ZwCreateSemaphore(&h3, SEMAPHORE_QUERY_STATE, &oa, 5, 4), STATUS_INVALID_PARAMETER);

    /* Open as an event: wrong type. Open with NtOpenSemaphore as user mode. */
    HANDLE e = NULL, u = NULL;
    name_oa(&oa, &us, SEM_NAME, 0);
    assert_int_equal(ZwOpenEvent(&e, EVENT_ALL_ACCESS, &oa), STATUS_OBJECT_TYPE_MISMATCH);
    assert_int_equal(AS_USER(NtOpenSemaphore(&u, SEMAPHORE_QUERY_STATE, &oa)), STATUS_SUCCESS);
    assert_int_equal(AS_USER(NtReleaseSemaphore(u, 1, NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(ZwClose(u), STATUS_SUCCESS);

    name_oa(&oa, &us, L"\\BaseNamedObjects\\ZwTestSemaphore_Missing", 0);
    assert_int_equal(ZwOpenSemaphore(&u, SEMAPHORE_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
    assert_int_equal(ZwOpenSemaphore(NULL, SEMAPHORE_ALL_ACCESS, &oa), STATUS_ACCESS_VIOLATION);

    assert_int_equal(ZwClose(h3), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h2), STATUS_SUCCESS);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
    assert_int_equal(ExSemaphoreObjectType->TotalNumberOfObjects, objects);
    name_oa(&oa, &us, SEM_NAME, 0);
    assert_int_equal(ZwOpenSemaphore(&h, SEMAPHORE_ALL_ACCESS, &oa), STATUS_OBJECT_NAME_NOT_FOUND);
}

/* ---- threads -------------------------------------------------------------------------------- */

typedef struct sem_waiter {
    HANDLE Handle;
    NTSTATUS Status;
    volatile LONG Done;
} sem_waiter;

static VOID NTAPI sem_waiter_main(PVOID Context)
{
    sem_waiter *w = Context;
    w->Status = ZwWaitForSingleObject(w->Handle, FALSE, NULL);
    __atomic_store_n(&w->Done, 1, __ATOMIC_RELEASE);
}

static LONG done_count(sem_waiter *W, int N)
{
    LONG n = 0;
    for (int i = 0; i < N; i++)
        n += __atomic_load_n(&W[i].Done, __ATOMIC_ACQUIRE);
    return n;
}

static void release_wakes_as_many_waiters_as_units(void **state)
{
    (void)state;
    static KTHREAD threads[3];
    static sem_waiter w[3];
    HANDLE h = create_sem(0, 3);
    for (int i = 0; i < 3; i++) {
        w[i] = (sem_waiter){.Handle = h};
        kt_start(&threads[i], sem_waiter_main, &w[i], 8);
    }
    for (int i = 0; i < 3; i++)
        WAIT_UNTIL(waiting_on(&threads[i], h));
    LONG prev = -1;
    assert_int_equal(ZwReleaseSemaphore(h, 2, &prev), STATUS_SUCCESS);
    assert_int_equal(prev, 0);
    WAIT_UNTIL(done_count(w, 3) == 2);
    kt_sleep_ms(5);
    assert_int_equal(done_count(w, 3), 2);
    assert_int_equal(query_sem(h).CurrentCount, 0);
    assert_int_equal(ZwReleaseSemaphore(h, 1, &prev), STATUS_SUCCESS);
    for (int i = 0; i < 3; i++) {
        kt_join(&threads[i]);
        assert_int_equal(w[i].Status, STATUS_WAIT_0);
    }
    assert_int_equal(query_sem(h).CurrentCount, 0);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

#define STRESS_THREADS 4
#define STRESS_ROUNDS 300
#define STRESS_LIMIT 3

typedef struct releaser {
    HANDLE Handle;
    LONG Released;
    LONG Refused;
    LONG Taken;
    LONG Bad; /* previous counts outside [0, limit) or unexpected statuses */
} releaser;

static VOID NTAPI releaser_main(PVOID Context)
{
    releaser *r = Context;
    LARGE_INTEGER zero = {.QuadPart = 0};
    for (int i = 0; i < STRESS_ROUNDS; i++) {
        LONG prev = -1;
        NTSTATUS s = ZwReleaseSemaphore(r->Handle, 1 + (i % 2), &prev);
        if (s == STATUS_SUCCESS) {
            r->Released += 1 + (i % 2);
            if (prev < 0 || prev + 1 + (i % 2) > STRESS_LIMIT)
                r->Bad++;
        } else if (s == STATUS_SEMAPHORE_LIMIT_EXCEEDED) {
            r->Refused++;
        } else {
            r->Bad++;
        }
        /* Take a unit back now and then so the count moves both ways. */
        if (i % 3 == 0 && ZwWaitForSingleObject(r->Handle, FALSE, &zero) == STATUS_WAIT_0)
            r->Taken++;
    }
}

static void concurrent_releases_never_pass_the_limit(void **state)
{
    (void)state;
    static KTHREAD threads[STRESS_THREADS];
    static releaser r[STRESS_THREADS];
    HANDLE h = create_sem(0, STRESS_LIMIT);
    for (int i = 0; i < STRESS_THREADS; i++) {
        r[i] = (releaser){.Handle = h};
        kt_start(&threads[i], releaser_main, &r[i], 8);
    }
    LONG released = 0, taken = 0, refused = 0;
    for (int i = 0; i < STRESS_THREADS; i++) {
        kt_join(&threads[i]);
        assert_int_equal(r[i].Bad, 0);
        released += r[i].Released;
        taken += r[i].Taken;
        refused += r[i].Refused;
    }
    /* Every unit is accounted for: what is left is what was released and not taken. */
    LONG left = query_sem(h).CurrentCount;
    assert_in_range(left, 0, STRESS_LIMIT);
    assert_int_equal(released - taken, left);
    assert_true(refused > 0);
    print_message("semaphore stress: %d released, %d taken, %d refused\n", (int)released, (int)taken, (int)refused);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static void handle_and_pointer_counts(void **state)
{
    (void)state;
    HANDLE h = create_sem(0, 1);
    PUBLIC_OBJECT_BASIC_INFORMATION b = basic_info(h);
    assert_int_equal(b.HandleCount, 1);
    assert_int_equal(b.PointerCount, 1);
    assert_int_equal(b.GrantedAccess, SEMAPHORE_ALL_ACCESS);
    HANDLE d = NULL;
    assert_int_equal(ZwDuplicateObject(NtCurrentProcess(), h, NtCurrentProcess(), &d, SEMAPHORE_QUERY_STATE, 0, 0),
                     STATUS_SUCCESS);
    b = basic_info(h);
    assert_int_equal(b.HandleCount, 2);
    assert_int_equal(b.PointerCount, 2);
    assert_int_equal(basic_info(d).GrantedAccess, SEMAPHORE_QUERY_STATE);
    /* The narrowed handle cannot release from user mode. */
    assert_int_equal(AS_USER(NtReleaseSemaphore(d, 1, NULL)), STATUS_ACCESS_DENIED);
    assert_int_equal(ZwClose(d), STATUS_SUCCESS);
    b = basic_info(h);
    assert_int_equal(b.HandleCount, 1);
    assert_int_equal(b.PointerCount, 1);
    assert_int_equal(ZwClose(h), STATUS_SUCCESS);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(semaphore_type_is_exported_with_documented_rights),
    cmocka_unit_test(create_validates_counts),
    cmocka_unit_test(release_reports_previous_and_refuses_the_limit),
    cmocka_unit_test(release_up_to_maxlong),
    cmocka_unit_test(waits_take_units),
    cmocka_unit_test(errors_by_handle),
    cmocka_unit_test(user_mode_access),
    cmocka_unit_test(named_semaphore),
    cmocka_unit_test(release_wakes_as_many_waiters_as_units),
    cmocka_unit_test(concurrent_releases_never_pass_the_limit),
    cmocka_unit_test(handle_and_pointer_counts),
};

NTOS_TEST_GROUP(ex_zw_semaphore, tests, NULL, NULL);
