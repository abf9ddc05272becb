/*
 * Dispatcher objects and waits: events, semaphores, mutexes/mutants, wait
 * outcomes (STATUS_WAIT_n, STATUS_ABANDONED_WAIT_n, STATUS_TIMEOUT), the
 * Wait=TRUE protocol and the misuse bug checks.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

/* ---- events ------------------------------------------------------------------------ */

static void event_init_and_state(void **state)
{
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_int_equal(e.Header.Type, EventNotificationObject);
    assert_int_equal(e.Header.Size, sizeof(KEVENT) / 4);
    assert_int_equal(KeReadStateEvent(&e), 0);
    assert_int_equal(KeSetEvent(&e, 0, FALSE), 0);
    assert_int_equal(KeReadStateEvent(&e), 1);
    assert_int_equal(KeSetEvent(&e, 0, FALSE), 1);
    assert_int_equal(KeResetEvent(&e), 1);
    assert_int_equal(KeResetEvent(&e), 0);
    KeSetEvent(&e, 0, FALSE);
    KeClearEvent(&e);
    assert_int_equal(KeReadStateEvent(&e), 0);
    KeInitializeEvent(&e, SynchronizationEvent, TRUE);
    assert_int_equal(e.Header.Type, EventSynchronizationObject);
    assert_int_equal(KeReadStateEvent(&e), 1);
    /* A pulse with no waiter leaves the event reset. */
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_int_equal(KePulseEvent(&e, 0, FALSE), 0);
    assert_int_equal(KeReadStateEvent(&e), 0);
}

static void event_wait_signaled_and_poll(void **state)
{
    KEVENT n, s;
    LARGE_INTEGER zero = {.QuadPart = 0};
    KeInitializeEvent(&n, NotificationEvent, TRUE);
    KeInitializeEvent(&s, SynchronizationEvent, TRUE);
    assert_int_equal(KeWaitForSingleObject(&n, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&n), 1); /* notification stays set */
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeReadStateEvent(&s), 0); /* synchronization is consumed */
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    /* A zero-timeout poll is allowed at DISPATCH_LEVEL. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    KeLowerIrql(old);
}

static void wait_timeout_relative_and_absolute(void **state)
{
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    LARGE_INTEGER t = kt_ms(20);
    ULONG64 t0 = arch_interrupt_time();
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t), STATUS_TIMEOUT);
    assert_true(arch_interrupt_time() - t0 >= 200000);
    /* Absolute system time in the past: times out at once. */
    LARGE_INTEGER past;
    KeQuerySystemTimePrecise(&past);
    past.QuadPart -= 10000000;
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &past), STATUS_TIMEOUT);
    /* Absolute system time 15 ms ahead. */
    LARGE_INTEGER future;
    KeQuerySystemTimePrecise(&future);
    future.QuadPart += 150000;
    t0 = arch_interrupt_time();
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &future), STATUS_TIMEOUT);
    assert_true(arch_interrupt_time() - t0 >= 100000);
}

typedef struct waiter_ctx {
    PVOID Object;
    volatile LONG Woke;
    volatile LONG Ready;
    NTSTATUS Status;
    LARGE_INTEGER Timeout;
    BOOLEAN UseTimeout;
} waiter_ctx;

static VOID NTAPI waiter(PVOID p)
{
    waiter_ctx *c = p;
    __atomic_store_n(&c->Ready, 1, __ATOMIC_RELEASE);
    c->Status = KeWaitForSingleObject(c->Object, Executive, KernelMode, FALSE, c->UseTimeout ? &c->Timeout : NULL);
    __atomic_store_n(&c->Woke, 1, __ATOMIC_RELEASE);
}

static LONG count_woken(waiter_ctx *c, int n)
{
    LONG w = 0;
    for (int i = 0; i < n; i++)
        w += __atomic_load_n(&c[i].Woke, __ATOMIC_ACQUIRE);
    return w;
}

static void wait_for_blocked(PKTHREAD t)
{
    /* Until the thread is really blocked (its state is Waiting). */
    for (int i = 0; i < 100000 && kt_state(t) != Waiting; i++)
        kt_sleep_ms(1);
    assert_int_equal(kt_state(t), Waiting);
}

static void event_notification_wakes_all(void **state)
{
    static KTHREAD t[4];
    static waiter_ctx c[4];
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    for (int i = 0; i < 4; i++) {
        c[i] = (waiter_ctx){.Object = &e};
        kt_start(&t[i], waiter, &c[i], 8);
    }
    for (int i = 0; i < 4; i++)
        wait_for_blocked(&t[i]);
    assert_int_equal(count_woken(c, 4), 0);
    assert_int_equal(KeSetEvent(&e, 1, FALSE), 0);
    for (int i = 0; i < 4; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Status, STATUS_SUCCESS);
    }
    assert_int_equal(KeReadStateEvent(&e), 1);
}

static void event_synchronization_wakes_exactly_one(void **state)
{
    static KTHREAD t[3];
    static waiter_ctx c[3];
    KEVENT e;
    KeInitializeEvent(&e, SynchronizationEvent, FALSE);
    for (int i = 0; i < 3; i++) {
        c[i] = (waiter_ctx){.Object = &e};
        kt_start(&t[i], waiter, &c[i], 8);
    }
    for (int i = 0; i < 3; i++)
        wait_for_blocked(&t[i]);
    for (int round = 1; round <= 3; round++) {
        KeSetEvent(&e, 0, FALSE);
        /* Give the woken thread (and any wrongly woken one) time to run. */
        for (int spin = 0; spin < 5000 && count_woken(c, 3) < round; spin++)
            kt_sleep_ms(1);
        kt_sleep_ms(5);
        assert_int_equal(count_woken(c, 3), round);
        /* The waiter consumed the event. */
        assert_int_equal(KeReadStateEvent(&e), 0);
    }
    for (int i = 0; i < 3; i++)
        kt_join(&t[i]);
}

static void event_pulse_wakes_waiters_and_resets(void **state)
{
    static KTHREAD t[2];
    static waiter_ctx c[2];
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    for (int i = 0; i < 2; i++) {
        c[i] = (waiter_ctx){.Object = &e};
        kt_start(&t[i], waiter, &c[i], 8);
        wait_for_blocked(&t[i]);
    }
    assert_int_equal(KePulseEvent(&e, 0, FALSE), 0);
    assert_int_equal(KeReadStateEvent(&e), 0);
    for (int i = 0; i < 2; i++)
        kt_join(&t[i]);
    assert_int_equal(count_woken(c, 2), 2);
}

/* ---- the Wait=TRUE protocol ------------------------------------------------------------ */

static void set_event_wait_true_holds_dispatcher_lock(void **state)
{
    KEVENT a, b;
    KeInitializeEvent(&a, NotificationEvent, FALSE);
    KeInitializeEvent(&b, NotificationEvent, TRUE);
    assert_int_equal(KeSetEvent(&a, 0, TRUE), 0);
    /* Returned at SYNCH_LEVEL holding the lock, ready for the wait. */
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL);
    assert_true(KeGetCurrentThread()->WaitNext);
    assert_int_equal(KeWaitForSingleObject(&b, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_false(KeGetCurrentThread()->WaitNext);
    assert_int_equal(KeReadStateEvent(&a), 1);
}

/* ---- semaphores ---------------------------------------------------------------------- */

static void semaphore_counts_and_limit(void **state)
{
    KSEMAPHORE s;
    LARGE_INTEGER zero = {.QuadPart = 0};
    KeInitializeSemaphore(&s, 2, 3);
    assert_int_equal(s.Header.Type, SemaphoreObject);
    assert_int_equal(KeReadStateSemaphore(&s), 2);
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeWaitForSingleObject(&s, Executive, KernelMode, FALSE, &zero), STATUS_TIMEOUT);
    assert_int_equal(KeReleaseSemaphore(&s, 0, 3, FALSE), 0);
    assert_int_equal(KeReadStateSemaphore(&s), 3);
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, KeReleaseSemaphore(&s, 0, 1, FALSE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)(LONG_PTR)STATUS_SEMAPHORE_LIMIT_EXCEEDED);
    assert_int_equal(KeReadStateSemaphore(&s), 3); /* unchanged */
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, KeReleaseSemaphore(&s, 0, 0, FALSE));
    expect_bugcheck(KMODE_EXCEPTION_NOT_HANDLED, KeReleaseSemaphore(&s, 0, -1, FALSE));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void semaphore_release_wakes_that_many(void **state)
{
    static KTHREAD t[3];
    static waiter_ctx c[3];
    KSEMAPHORE s;
    KeInitializeSemaphore(&s, 0, 10);
    for (int i = 0; i < 3; i++) {
        c[i] = (waiter_ctx){.Object = &s};
        kt_start(&t[i], waiter, &c[i], 8);
    }
    for (int i = 0; i < 3; i++)
        wait_for_blocked(&t[i]);
    assert_int_equal(KeReleaseSemaphore(&s, 0, 2, FALSE), 0);
    for (int spin = 0; spin < 5000 && count_woken(c, 3) < 2; spin++)
        kt_sleep_ms(1);
    kt_sleep_ms(5);
    assert_int_equal(count_woken(c, 3), 2);
    assert_int_equal(KeReadStateSemaphore(&s), 0);
    KeReleaseSemaphore(&s, 0, 1, FALSE);
    for (int i = 0; i < 3; i++)
        kt_join(&t[i]);
    assert_int_equal(KeReadStateSemaphore(&s), 0);
}

/* ---- mutexes ------------------------------------------------------------------------ */

static void mutex_recursion_and_apc_disable(void **state)
{
    KMUTEX m;
    KeInitializeMutex(&m, 0);
    assert_int_equal(m.Header.Type, MutantObject);
    assert_int_equal(KeReadStateMutex(&m), 1);
    assert_false(KeAreApcsDisabled());
    for (int i = 0; i < 3; i++)
        assert_int_equal(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_ptr_equal(m.OwnerThread, KeGetCurrentThread());
    assert_int_equal(KeReadStateMutex(&m), -2);
    /* Owning a mutex is a critical region. */
    assert_true(KeAreApcsDisabled());
    assert_int_equal(KeReleaseMutex(&m, FALSE), -2);
    assert_int_equal(KeReleaseMutex(&m, FALSE), -1);
    assert_true(KeAreApcsDisabled());
    assert_int_equal(KeReleaseMutex(&m, FALSE), 0);
    assert_int_equal(KeReadStateMutex(&m), 1);
    assert_null(m.OwnerThread);
    assert_false(KeAreApcsDisabled());
}

static void mutex_release_by_non_owner_bugchecks(void **state)
{
    KMUTEX m;
    KeInitializeMutex(&m, 0);
    expect_bugcheck(THREAD_NOT_MUTEX_OWNER, KeReleaseMutex(&m, FALSE));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)KeGetCurrentThread());
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&m);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void mutant_initial_owner(void **state)
{
    KMUTANT m;
    KeInitializeMutant(&m, TRUE);
    assert_ptr_equal(m.OwnerThread, KeGetCurrentThread());
    assert_int_equal(KeReadStateMutant(&m), 0);
    assert_false(KeAreApcsDisabled()); /* mutants do not disable APCs */
    assert_int_equal(KeReleaseMutant(&m, 0, FALSE, FALSE), 0);
    assert_int_equal(KeReadStateMutant(&m), 1);
}

typedef struct mutex_owner_ctx {
    PKMUTANT Mutant;
    KEVENT Acquired;
} mutex_owner_ctx;

static VOID NTAPI acquire_and_exit(PVOID p)
{
    mutex_owner_ctx *c = p;
    KeWaitForSingleObject(c->Mutant, Executive, KernelMode, FALSE, NULL);
    KeSetEvent(&c->Acquired, 0, FALSE);
    /* Terminates while owning the mutant: it is abandoned. */
}

static void mutant_abandoned_by_terminating_owner(void **state)
{
    static KTHREAD t;
    static KMUTANT m;
    static mutex_owner_ctx c;
    KeInitializeMutant(&m, FALSE);
    c.Mutant = &m;
    KeInitializeEvent(&c.Acquired, NotificationEvent, FALSE);
    kt_start(&t, acquire_and_exit, &c, 8);
    KeWaitForSingleObject(&c.Acquired, Executive, KernelMode, FALSE, NULL);
    kt_join(&t);
    assert_true(m.Abandoned);
    assert_int_equal(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL), STATUS_ABANDONED);
    assert_false(m.Abandoned);
    KeReleaseMutant(&m, 0, FALSE, FALSE);
    assert_int_equal(KeWaitForSingleObject(&m, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    KeReleaseMutant(&m, 0, FALSE, FALSE);

    /* In a WaitAny, the abandoned index is reported. */
    KEVENT never;
    KeInitializeEvent(&never, NotificationEvent, FALSE);
    KeInitializeEvent(&c.Acquired, NotificationEvent, FALSE);
    kt_start(&t, acquire_and_exit, &c, 8);
    KeWaitForSingleObject(&c.Acquired, Executive, KernelMode, FALSE, NULL);
    kt_join(&t);
    PVOID objs[2] = {&never, &m};
    assert_int_equal(KeWaitForMultipleObjects(2, objs, WaitAny, Executive, KernelMode, FALSE, NULL, NULL),
                     STATUS_ABANDONED_WAIT_0 + 1);
    KeReleaseMutant(&m, 0, FALSE, FALSE);
}

typedef struct handoff_ctx {
    PKMUTEX Mutex;
    volatile LONG *Inside;
    volatile LONG Violations;
    LONG Rounds;
} handoff_ctx;

static VOID NTAPI mutex_hammer(PVOID p)
{
    handoff_ctx *c = p;
    for (LONG i = 0; i < c->Rounds; i++) {
        KeWaitForSingleObject(c->Mutex, Executive, KernelMode, FALSE, NULL);
        if (__atomic_fetch_add(c->Inside, 1, __ATOMIC_ACQ_REL) != 0)
            __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
        arch_pause();
        __atomic_fetch_sub(c->Inside, 1, __ATOMIC_ACQ_REL);
        KeReleaseMutex(c->Mutex, FALSE);
    }
}

static void mutex_mutual_exclusion_stress(void **state)
{
    static KTHREAD t[4];
    static handoff_ctx c[4];
    static KMUTEX m;
    static volatile LONG inside;
    KeInitializeMutex(&m, 0);
    inside = 0;
    for (int i = 0; i < 4; i++) {
        c[i] = (handoff_ctx){.Mutex = &m, .Inside = &inside, .Rounds = 300};
        kt_start(&t[i], mutex_hammer, &c[i], 8);
    }
    for (int i = 0; i < 4; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Violations, 0);
    }
    assert_int_equal(KeReadStateMutex(&m), 1);
}

/* ---- multiple objects ------------------------------------------------------------------ */

static void wait_multiple_any_and_all(void **state)
{
    KEVENT e[3];
    LARGE_INTEGER zero = {.QuadPart = 0};
    for (int i = 0; i < 3; i++)
        KeInitializeEvent(&e[i], NotificationEvent, FALSE);
    PVOID objs[3] = {&e[0], &e[1], &e[2]};
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_TIMEOUT);
    KeSetEvent(&e[2], 0, FALSE);
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_WAIT_2);
    KeSetEvent(&e[1], 0, FALSE);
    /* WaitAny reports the lowest signaled index. */
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_WAIT_1);
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_TIMEOUT);
    KeSetEvent(&e[0], 0, FALSE);
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_WAIT_0);

    /* WaitAll consumes every synchronization object only when all are ready. */
    KEVENT s[2];
    KeInitializeEvent(&s[0], SynchronizationEvent, TRUE);
    KeInitializeEvent(&s[1], SynchronizationEvent, FALSE);
    PVOID sobjs[2] = {&s[0], &s[1]};
    assert_int_equal(KeWaitForMultipleObjects(2, sobjs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_TIMEOUT);
    assert_int_equal(KeReadStateEvent(&s[0]), 1);
    KeSetEvent(&s[1], 0, FALSE);
    assert_int_equal(KeWaitForMultipleObjects(2, sobjs, WaitAll, Executive, KernelMode, FALSE, &zero, NULL),
                     STATUS_WAIT_0);
    assert_int_equal(KeReadStateEvent(&s[0]), 0);
    assert_int_equal(KeReadStateEvent(&s[1]), 0);
}

typedef struct multi_ctx {
    ULONG Count;
    PVOID *Objects;
    WAIT_TYPE Type;
    PKWAIT_BLOCK Blocks;
    NTSTATUS Status;
} multi_ctx;

static VOID NTAPI multi_waiter(PVOID p)
{
    multi_ctx *c = p;
    c->Status = KeWaitForMultipleObjects(c->Count, c->Objects, c->Type, Executive, KernelMode, FALSE, NULL, c->Blocks);
}

static void wait_multiple_blocking_with_caller_blocks(void **state)
{
    static KEVENT e[10];
    static PVOID objs[10];
    static KWAIT_BLOCK blocks[10];
    static KTHREAD t;
    static multi_ctx c;
    for (int i = 0; i < 10; i++) {
        KeInitializeEvent(&e[i], NotificationEvent, FALSE);
        objs[i] = &e[i];
    }
    c = (multi_ctx){.Count = 10, .Objects = objs, .Type = WaitAll, .Blocks = blocks};
    kt_start(&t, multi_waiter, &c, 8);
    wait_for_blocked(&t);
    for (int i = 0; i < 9; i++)
        KeSetEvent(&e[i], 0, FALSE);
    kt_sleep_ms(5);
    assert_int_equal(kt_state(&t), Waiting);
    KeSetEvent(&e[9], 0, FALSE);
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_WAIT_0);

    for (int i = 0; i < 10; i++)
        KeResetEvent(&e[i]);
    c = (multi_ctx){.Count = 10, .Objects = objs, .Type = WaitAny, .Blocks = blocks};
    kt_start(&t, multi_waiter, &c, 8);
    wait_for_blocked(&t);
    KeSetEvent(&e[7], 0, FALSE);
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_WAIT_0 + 7);
    /* The wait blocks were unlinked from every object. */
    for (int i = 0; i < 10; i++)
        assert_true(IsListEmpty(&e[i].Header.WaitListHead));
}

static void wait_multiple_limits_bugcheck(void **state)
{
    static KEVENT e[65];
    static PVOID objs[65];
    static KWAIT_BLOCK blocks[65];
    for (int i = 0; i < 65; i++) {
        KeInitializeEvent(&e[i], NotificationEvent, TRUE);
        objs[i] = &e[i];
    }
    expect_bugcheck(MAXIMUM_WAIT_OBJECTS_EXCEEDED,
                    KeWaitForMultipleObjects(4, objs, WaitAny, Executive, KernelMode, FALSE, NULL, NULL));
    expect_bugcheck(MAXIMUM_WAIT_OBJECTS_EXCEEDED,
                    KeWaitForMultipleObjects(65, objs, WaitAny, Executive, KernelMode, FALSE, NULL, blocks));
    assert_int_equal(KeWaitForMultipleObjects(64, objs, WaitAll, Executive, KernelMode, FALSE, NULL, blocks),
                     STATUS_WAIT_0);
    assert_int_equal(KeWaitForMultipleObjects(3, objs, WaitAny, Executive, KernelMode, FALSE, NULL, NULL),
                     STATUS_WAIT_0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void wait_at_dispatch_with_timeout_bugchecks(void **state)
{
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    LARGE_INTEGER t = kt_ms(1);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, &t);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&e);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* The failed wait left nothing linked on the event. */
    assert_true(IsListEmpty(&e.Header.WaitListHead));
}

/* ---- stress -------------------------------------------------------------------------- */

typedef struct pingpong_ctx {
    KEVENT Ping, Pong;
    LONG Rounds;
} pingpong_ctx;

static VOID NTAPI ponger(PVOID p)
{
    pingpong_ctx *c = p;
    for (LONG i = 0; i < c->Rounds; i++) {
        KeWaitForSingleObject(&c->Ping, Executive, KernelMode, FALSE, NULL);
        KeSetEvent(&c->Pong, 1, FALSE);
    }
}

static void event_ping_pong_stress(void **state)
{
    static KTHREAD t;
    static pingpong_ctx c;
    KeInitializeEvent(&c.Ping, SynchronizationEvent, FALSE);
    KeInitializeEvent(&c.Pong, SynchronizationEvent, FALSE);
    c.Rounds = 2000;
    kt_start(&t, ponger, &c, 8);
    for (LONG i = 0; i < c.Rounds; i++) {
        /* Set-and-wait atomically, the Wait=TRUE way. */
        KeSetEvent(&c.Ping, 1, TRUE);
        assert_int_equal(KeWaitForSingleObject(&c.Pong, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    }
    kt_join(&t);
}

typedef struct sem_stress_ctx {
    PKSEMAPHORE Sem;
    volatile LONG *Taken;
    LONG Rounds;
} sem_stress_ctx;

static VOID NTAPI sem_consumer(PVOID p)
{
    sem_stress_ctx *c = p;
    for (LONG i = 0; i < c->Rounds; i++) {
        KeWaitForSingleObject(c->Sem, Executive, KernelMode, FALSE, NULL);
        __atomic_fetch_add(c->Taken, 1, __ATOMIC_RELAXED);
    }
}

static void semaphore_producer_consumer_stress(void **state)
{
    static KTHREAD t[3];
    static sem_stress_ctx c[3];
    static KSEMAPHORE s;
    static volatile LONG taken;
    taken = 0;
    KeInitializeSemaphore(&s, 0, 1000000);
    for (int i = 0; i < 3; i++) {
        c[i] = (sem_stress_ctx){.Sem = &s, .Taken = &taken, .Rounds = 500};
        kt_start(&t[i], sem_consumer, &c[i], 8);
    }
    for (int i = 0; i < 1500; i++) {
        KeReleaseSemaphore(&s, 1, 1, FALSE);
        if ((i & 31) == 0)
            arch_pause();
    }
    for (int i = 0; i < 3; i++)
        kt_join(&t[i]);
    assert_int_equal(taken, 1500);
    assert_int_equal(KeReadStateSemaphore(&s), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(event_init_and_state),
    cmocka_unit_test(event_wait_signaled_and_poll),
    cmocka_unit_test(wait_timeout_relative_and_absolute),
    cmocka_unit_test(event_notification_wakes_all),
    cmocka_unit_test(event_synchronization_wakes_exactly_one),
    cmocka_unit_test(event_pulse_wakes_waiters_and_resets),
    cmocka_unit_test(set_event_wait_true_holds_dispatcher_lock),
    cmocka_unit_test(semaphore_counts_and_limit),
    cmocka_unit_test(semaphore_release_wakes_that_many),
    cmocka_unit_test(mutex_recursion_and_apc_disable),
    cmocka_unit_test(mutex_release_by_non_owner_bugchecks),
    cmocka_unit_test(mutant_initial_owner),
    cmocka_unit_test(mutant_abandoned_by_terminating_owner),
    cmocka_unit_test(mutex_mutual_exclusion_stress),
    cmocka_unit_test(wait_multiple_any_and_all),
    cmocka_unit_test(wait_multiple_blocking_with_caller_blocks),
    cmocka_unit_test(wait_multiple_limits_bugcheck),
    cmocka_unit_test(wait_at_dispatch_with_timeout_bugchecks),
    cmocka_unit_test(event_ping_pong_stress),
    cmocka_unit_test(semaphore_producer_consumer_stress),
};

NTOS_TEST_GROUP(ke_dispatcher, tests, NULL, NULL);
