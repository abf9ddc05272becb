/*
 * Fast mutexes and guarded mutexes: initial state, IRQL and APC behaviour of
 * the safe and unsafe forms, try-acquire, hand-off to a waiter, the misuse bug
 * checks, and a mutual-exclusion stress with every acquire flavour.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_sync.h>
#include <ntos/rtl.h>

/* ---- helpers ----------------------------------------------------------------------------- */

static volatile LONG apc_runs;

static VOID NTAPI count_apc(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    __atomic_fetch_add(&apc_runs, 1, __ATOMIC_RELEASE);
}

static void queue_special_apc_to_self(PKAPC Apc)
{
    KeInitializeApc(Apc, KeGetCurrentThread(), OriginalApcEnvironment, count_apc, NULL, NULL, KernelMode, NULL);
    assert_true(KeInsertQueueApc(Apc, NULL, NULL, 0));
}

#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

static LONG loaded(volatile LONG *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

/* A thread that takes a mutex, reports, and holds it until told to release. */
typedef struct holder_ctx {
    PFAST_MUTEX Fast;
    PKGUARDED_MUTEX Guarded;
    KEVENT Release;
    volatile LONG Acquired;
    volatile LONG Done;
} holder_ctx;

static VOID NTAPI holder(PVOID p)
{
    holder_ctx *c = p;
    if (c->Fast)
        ExAcquireFastMutex(c->Fast);
    else
        KeAcquireGuardedMutex(c->Guarded);
    __atomic_store_n(&c->Acquired, 1, __ATOMIC_RELEASE);
    KeWaitForSingleObject(&c->Release, Executive, KernelMode, FALSE, NULL);
    if (c->Fast)
        ExReleaseFastMutex(c->Fast);
    else
        KeReleaseGuardedMutex(c->Guarded);
    __atomic_store_n(&c->Done, 1, __ATOMIC_RELEASE);
}

static void holder_start(PKTHREAD t, holder_ctx *c, PFAST_MUTEX f, PKGUARDED_MUTEX g)
{
    *c = (holder_ctx){.Fast = f, .Guarded = g};
    KeInitializeEvent(&c->Release, NotificationEvent, FALSE);
    kt_start(t, holder, c, 8);
}

static void holder_finish(PKTHREAD t, holder_ctx *c)
{
    KeSetEvent(&c->Release, 0, FALSE);
    kt_join(t);
}

/* ---- fast mutex: normal use ------------------------------------------------------------------- */

static void fast_mutex_initial_state(void **state)
{
    FAST_MUTEX m;
    RtlFillMemory(&m, sizeof(m), 0xAB);
    ExInitializeFastMutex(&m);
    assert_int_equal(m.Count, 1);
    assert_null(m.Owner);
    assert_int_equal(m.Contention, 0);
    assert_int_equal(m.Event.Header.Type, EventSynchronizationObject);
    assert_int_equal(KeReadStateEvent(&m.Event), 0);
    assert_int_equal(sizeof(FAST_MUTEX), 0x38);
    assert_int_equal(offsetof(FAST_MUTEX, OldIrql), 0x30);
}

static void fast_mutex_raises_to_apc_and_restores(void **state)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);
    PKTHREAD self = KeGetCurrentThread();

    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    ExAcquireFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    assert_ptr_equal(m.Owner, self);
    assert_int_equal(m.Count, 0);
    assert_int_equal(m.OldIrql, PASSIVE_LEVEL);
    ExReleaseFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_null(m.Owner);
    assert_int_equal(m.Count, 1);

    /* Acquired at APC_LEVEL: the release stays there. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutex(&m);
    assert_int_equal(m.OldIrql, APC_LEVEL);
    ExReleaseFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    KeLowerIrql(old);
}

static void fast_mutex_holds_off_apcs(void **state)
{
    FAST_MUTEX m;
    KAPC apc;
    ExInitializeFastMutex(&m);
    apc_runs = 0;
    ExAcquireFastMutex(&m);
    queue_special_apc_to_self(&apc);
    assert_int_equal(apc_runs, 0); /* APC_LEVEL keeps even special APCs away */
    ExReleaseFastMutex(&m);
    assert_int_equal(apc_runs, 1);
}

static void fast_mutex_try(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static FAST_MUTEX m;
    ExInitializeFastMutex(&m);

    assert_true(ExTryToAcquireFastMutex(&m));
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    assert_ptr_equal(m.Owner, KeGetCurrentThread());
    /* The owner's try cannot deadlock: it just fails, IRQL unchanged. */
    assert_false(ExTryToAcquireFastMutex(&m));
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    ExReleaseFastMutex(&m);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    holder_start(&t, &c, &m, NULL);
    WAIT_UNTIL(loaded(&c.Acquired));
    assert_false(ExTryToAcquireFastMutex(&m));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(m.Contention, 0); /* a failed try is not contention */
    holder_finish(&t, &c);
    assert_true(ExTryToAcquireFastMutex(&m));
    ExReleaseFastMutex(&m);
}

static void fast_mutex_unsafe_keeps_irql(void **state)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&m);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_ptr_equal(m.Owner, KeGetCurrentThread());
    ExReleaseFastMutexUnsafe(&m);
    assert_int_equal(m.Count, 1);
    KeLeaveCriticalRegion();

    /* At APC_LEVEL no region is needed; a guarded region also qualifies. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquireFastMutexUnsafe(&m);
    ExReleaseFastMutexUnsafe(&m);
    KeLowerIrql(old);
    KeEnterGuardedRegion();
    ExAcquireFastMutexUnsafe(&m);
    ExReleaseFastMutexUnsafe(&m);
    KeLeaveGuardedRegion();
}

static void fast_mutex_contended_handoff(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static FAST_MUTEX m;
    ExInitializeFastMutex(&m);

    ExAcquireFastMutex(&m);
    holder_start(&t, &c, &m, NULL);
    /* Until the holder is committed to waiting. */
    WAIT_UNTIL(__atomic_load_n(&m.Count, __ATOMIC_ACQUIRE) == -1);
    assert_int_equal(loaded(&c.Acquired), 0);
    ExReleaseFastMutex(&m);
    WAIT_UNTIL(loaded(&c.Acquired));
    assert_int_equal(m.Contention, 1);
    assert_ptr_equal(__atomic_load_n(&m.Owner, __ATOMIC_ACQUIRE), &t);
    holder_finish(&t, &c);
    assert_int_equal(m.Count, 1);
    assert_null(m.Owner);
}

/* ---- fast mutex: misuse ----------------------------------------------------------------------- */

static void fast_mutex_recursive_acquire_bugchecks(void **state)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);
    PKTHREAD self = KeGetCurrentThread();
    ExAcquireFastMutex(&m);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExAcquireFastMutex(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_SELF_DEADLOCK);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&m);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)self);
    /* Nothing changed: still ours, once. */
    assert_int_equal(m.Count, 0);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    ExReleaseFastMutex(&m);

    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&m);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExAcquireFastMutexUnsafe(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_SELF_DEADLOCK);
    ExReleaseFastMutexUnsafe(&m);
    KeLeaveCriticalRegion();
    assert_int_equal(m.Count, 1);
}

static void fast_mutex_release_not_owner_bugchecks(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static FAST_MUTEX m;
    PKTHREAD self = KeGetCurrentThread();
    ExInitializeFastMutex(&m);

    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseFastMutex(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&m);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)self);
    KeLowerIrql(old);
    assert_int_equal(m.Count, 1);

    holder_start(&t, &c, &m, NULL);
    WAIT_UNTIL(loaded(&c.Acquired));
    KeEnterCriticalRegion();
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseFastMutexUnsafe(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNEXPECTED_THREAD);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&m);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)&t);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)self);
    KeLeaveCriticalRegion();
    holder_finish(&t, &c);
    assert_int_equal(m.Count, 1);
}

static void fast_mutex_irql_and_region_rules(void **state)
{
    FAST_MUTEX m;
    ExInitializeFastMutex(&m);

    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        ExAcquireFastMutex(&m);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&m);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        ExTryToAcquireFastMutex(&m);
    });
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(m.Count, 1);

    /* Unsafe at PASSIVE_LEVEL outside any region. */
    assert_false(KeAreApcsDisabled());
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquireFastMutexUnsafe(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_PRECONDITION_APCS_NOT_DISABLED);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&m);
    assert_int_equal(m.Count, 1);

    /* The safe release of an unsafe acquisition runs below APC_LEVEL. */
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&m);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, ExReleaseFastMutex(&m));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], PASSIVE_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], APC_LEVEL);
    ExReleaseFastMutexUnsafe(&m);
    KeLeaveCriticalRegion();
    /* And the unsafe release outside the region. */
    KeEnterCriticalRegion();
    ExAcquireFastMutexUnsafe(&m);
    KeLeaveCriticalRegion();
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExReleaseFastMutexUnsafe(&m));
    KeEnterCriticalRegion();
    ExReleaseFastMutexUnsafe(&m);
    KeLeaveCriticalRegion();
    assert_int_equal(m.Count, 1);
}

/* ---- guarded mutex ------------------------------------------------------------------------------ */

static void guarded_mutex_enters_guarded_region(void **state)
{
    KGUARDED_MUTEX g;
    KAPC apc;
    KeInitializeGuardedMutex(&g);
    assert_int_equal(g.Count, 1);
    assert_null(g.Owner);
    assert_int_equal(g.Gate.Header.Type, EventSynchronizationObject);
    assert_int_equal(sizeof(KGUARDED_MUTEX), 0x38);

    apc_runs = 0;
    assert_false(KeAreAllApcsDisabled());
    KeAcquireGuardedMutex(&g);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL); /* a region, not an IRQL raise */
    assert_true(KeAreAllApcsDisabled());
    assert_ptr_equal(g.Owner, KeGetCurrentThread());
    queue_special_apc_to_self(&apc);
    assert_int_equal(apc_runs, 0);
    KeReleaseGuardedMutex(&g);
    assert_int_equal(apc_runs, 1); /* delivered when the region ends */
    assert_false(KeAreAllApcsDisabled());
    assert_int_equal(g.Count, 1);
}

static void guarded_mutex_try_and_unsafe(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static KGUARDED_MUTEX g;
    KeInitializeGuardedMutex(&g);

    assert_true(KeTryToAcquireGuardedMutex(&g));
    assert_true(KeAreAllApcsDisabled());
    assert_false(KeTryToAcquireGuardedMutex(&g)); /* the owner's try just fails */
    assert_true(KeAreAllApcsDisabled());
    KeReleaseGuardedMutex(&g);
    assert_false(KeAreAllApcsDisabled());

    holder_start(&t, &c, NULL, &g);
    WAIT_UNTIL(loaded(&c.Acquired));
    assert_false(KeTryToAcquireGuardedMutex(&g));
    assert_false(KeAreAllApcsDisabled()); /* the failed try left the region */
    holder_finish(&t, &c);

    KeEnterGuardedRegion();
    KeAcquireGuardedMutexUnsafe(&g);
    assert_ptr_equal(g.Owner, KeGetCurrentThread());
    KeReleaseGuardedMutexUnsafe(&g);
    KeLeaveGuardedRegion();
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeAcquireGuardedMutexUnsafe(&g);
    KeReleaseGuardedMutexUnsafe(&g);
    KeLowerIrql(old);
    assert_int_equal(g.Count, 1);
}

static void guarded_mutex_contended_handoff(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static KGUARDED_MUTEX g;
    KeInitializeGuardedMutex(&g);
    KeAcquireGuardedMutex(&g);
    holder_start(&t, &c, NULL, &g);
    WAIT_UNTIL(__atomic_load_n(&g.Count, __ATOMIC_ACQUIRE) == -1);
    KeReleaseGuardedMutex(&g);
    WAIT_UNTIL(loaded(&c.Acquired));
    assert_int_equal(g.Contention, 1);
    holder_finish(&t, &c);
    assert_int_equal(g.Count, 1);
}

static void guarded_mutex_misuse_bugchecks(void **state)
{
    static KTHREAD t;
    static holder_ctx c;
    static KGUARDED_MUTEX g;
    PKTHREAD self = KeGetCurrentThread();
    KeInitializeGuardedMutex(&g);

    KeAcquireGuardedMutex(&g);
    SHORT special = self->SpecialApcDisable;
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, KeAcquireGuardedMutex(&g));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_SELF_DEADLOCK);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&g);
    assert_int_equal(self->SpecialApcDisable, special); /* checked before entering the region */
    KeReleaseGuardedMutex(&g);

    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, KeReleaseGuardedMutex(&g));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_false(KeAreAllApcsDisabled());

    holder_start(&t, &c, NULL, &g);
    WAIT_UNTIL(loaded(&c.Acquired));
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, KeReleaseGuardedMutex(&g));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNEXPECTED_THREAD);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)&t);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)self);
    holder_finish(&t, &c);

    /* Unsafe needs a guarded region (or APC_LEVEL); a critical region is not enough. */
    KeEnterCriticalRegion();
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, KeAcquireGuardedMutexUnsafe(&g));
    KeLeaveCriticalRegion();
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_PRECONDITION_APCS_NOT_DISABLED);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        KeAcquireGuardedMutex(&g);
    });
    assert_false(KeAreAllApcsDisabled());
    assert_int_equal(g.Count, 1);
}

/* ---- stress ----------------------------------------------------------------------------------- */

typedef struct stress_ctx {
    PFAST_MUTEX Fast;
    PKGUARDED_MUTEX Guarded;
    volatile LONG *Inside;
    volatile LONG *Total;
    LONG Rounds;
    LONG Seed;
    volatile LONG Violations;
} stress_ctx;

static void stress_body(stress_ctx *c)
{
    if (__atomic_fetch_add(c->Inside, 1, __ATOMIC_ACQ_REL) != 0)
        __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
    /* A plain read-modify-write: only the mutex keeps it exact (and TSan quiet). */
    *c->Total = *c->Total + 1;
    arch_pause();
    __atomic_fetch_sub(c->Inside, 1, __ATOMIC_ACQ_REL);
}

static VOID NTAPI fast_hammer(PVOID p)
{
    stress_ctx *c = p;
    uint64_t seed = (uint64_t)c->Seed * 7919 + 1;
    for (LONG i = 0; i < c->Rounds; i++) {
        switch (ntos_test_rand(&seed) % 3) {
        case 0:
            ExAcquireFastMutex(c->Fast);
            stress_body(c);
            ExReleaseFastMutex(c->Fast);
            break;
        case 1:
            KeEnterCriticalRegion();
            ExAcquireFastMutexUnsafe(c->Fast);
            stress_body(c);
            ExReleaseFastMutexUnsafe(c->Fast);
            KeLeaveCriticalRegion();
            break;
        default:
            if (ExTryToAcquireFastMutex(c->Fast)) {
                stress_body(c);
                ExReleaseFastMutex(c->Fast);
            } else {
                i--; /* count only entries */
                arch_pause();
            }
            break;
        }
    }
}

static VOID NTAPI guarded_hammer(PVOID p)
{
    stress_ctx *c = p;
    uint64_t seed = (uint64_t)c->Seed * 104729 + 3;
    for (LONG i = 0; i < c->Rounds; i++) {
        switch (ntos_test_rand(&seed) % 3) {
        case 0:
            KeAcquireGuardedMutex(c->Guarded);
            stress_body(c);
            KeReleaseGuardedMutex(c->Guarded);
            break;
        case 1:
            KeEnterGuardedRegion();
            KeAcquireGuardedMutexUnsafe(c->Guarded);
            stress_body(c);
            KeReleaseGuardedMutexUnsafe(c->Guarded);
            KeLeaveGuardedRegion();
            break;
        default:
            if (KeTryToAcquireGuardedMutex(c->Guarded)) {
                stress_body(c);
                KeReleaseGuardedMutex(c->Guarded);
            } else {
                i--;
                arch_pause();
            }
            break;
        }
    }
}

#define STRESS_THREADS 6
#define STRESS_ROUNDS 400

static void mutex_stress(BOOLEAN Guarded)
{
    static KTHREAD t[STRESS_THREADS];
    static stress_ctx c[STRESS_THREADS];
    static FAST_MUTEX m;
    static KGUARDED_MUTEX g;
    static volatile LONG inside, total;
    ExInitializeFastMutex(&m);
    KeInitializeGuardedMutex(&g);
    inside = 0;
    total = 0;
    for (int i = 0; i < STRESS_THREADS; i++) {
        c[i] = (stress_ctx){.Fast = &m, .Guarded = &g, .Inside = &inside, .Total = &total,
                            .Rounds = STRESS_ROUNDS, .Seed = i + 1};
        kt_start(&t[i], Guarded ? guarded_hammer : fast_hammer, &c[i], 8);
    }
    for (int i = 0; i < STRESS_THREADS; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Violations, 0);
    }
    assert_int_equal(total, STRESS_THREADS * STRESS_ROUNDS);
    if (Guarded) {
        assert_int_equal(g.Count, 1);
        assert_null(g.Owner);
    } else {
        assert_int_equal(m.Count, 1);
        assert_null(m.Owner);
    }
}

static void fast_mutex_stress(void **state)
{
    mutex_stress(FALSE);
}

static void guarded_mutex_stress(void **state)
{
    mutex_stress(TRUE);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(fast_mutex_initial_state),
    cmocka_unit_test(fast_mutex_raises_to_apc_and_restores),
    cmocka_unit_test(fast_mutex_holds_off_apcs),
    cmocka_unit_test(fast_mutex_try),
    cmocka_unit_test(fast_mutex_unsafe_keeps_irql),
    cmocka_unit_test(fast_mutex_contended_handoff),
    cmocka_unit_test(fast_mutex_recursive_acquire_bugchecks),
    cmocka_unit_test(fast_mutex_release_not_owner_bugchecks),
    cmocka_unit_test(fast_mutex_irql_and_region_rules),
    cmocka_unit_test(guarded_mutex_enters_guarded_region),
    cmocka_unit_test(guarded_mutex_try_and_unsafe),
    cmocka_unit_test(guarded_mutex_contended_handoff),
    cmocka_unit_test(guarded_mutex_misuse_bugchecks),
    cmocka_unit_test(fast_mutex_stress),
    cmocka_unit_test(guarded_mutex_stress),
};

NTOS_TEST_GROUP(ex_fastmutex, tests, NULL, NULL);
