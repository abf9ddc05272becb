/*
 * Run-down protection: reference counting in the word, acquires failing once
 * a run-down starts, the wait returning exactly when the last reference goes,
 * re-initialization, the misuse bug checks, and a stress where many threads
 * take references while another runs the object down.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_sync.h>

#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

static ULONG_PTR count_of(PEX_RUNDOWN_REF R)
{
    return __atomic_load_n(&R->Count, __ATOMIC_ACQUIRE);
}

/* Runs ExWaitForRundownProtectionRelease on its own thread. */
typedef struct rundown_waiter {
    PEX_RUNDOWN_REF Ref;
    volatile LONG Started;
    volatile LONG Done;
} rundown_waiter;

static VOID NTAPI rundown_waiter_main(PVOID p)
{
    rundown_waiter *w = p;
    __atomic_store_n(&w->Started, 1, __ATOMIC_RELEASE);
    ExWaitForRundownProtectionRelease(w->Ref);
    __atomic_store_n(&w->Done, 1, __ATOMIC_RELEASE);
}

static BOOLEAN waiter_done(rundown_waiter *W)
{
    return __atomic_load_n(&W->Done, __ATOMIC_ACQUIRE) != 0;
}

/* ---- normal use --------------------------------------------------------------------------------- */

static void references_in_the_word(void **state)
{
    EX_RUNDOWN_REF r;
    r.Count = 77;
    ExInitializeRundownProtection(&r);
    assert_int_equal(count_of(&r), 0);
    assert_true(ExAcquireRundownProtection(&r));
    assert_int_equal(count_of(&r), EX_RUNDOWN_COUNT_INC);
    assert_true(ExAcquireRundownProtectionEx(&r, 5));
    assert_int_equal(count_of(&r), 6 * EX_RUNDOWN_COUNT_INC);
    assert_true(ExAcquireRundownProtectionEx(&r, 0)); /* no-op */
    ExReleaseRundownProtectionEx(&r, 5);
    ExReleaseRundownProtection(&r);
    assert_int_equal(count_of(&r), 0);
}

static void rundown_without_references_completes_at_once(void **state)
{
    EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    ExWaitForRundownProtectionRelease(&r);
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
    assert_false(ExAcquireRundownProtection(&r));
    assert_false(ExAcquireRundownProtectionEx(&r, 3));
    /* Waiting again on a run-down object returns at once. */
    ExWaitForRundownProtectionRelease(&r);
    ExRundownCompleted(&r);
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
    ExReInitializeRundownProtection(&r);
    assert_int_equal(count_of(&r), 0);
    assert_true(ExAcquireRundownProtection(&r));
    ExReleaseRundownProtection(&r);
    /* A wait at APC_LEVEL is allowed. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExWaitForRundownProtectionRelease(&r);
    KeLowerIrql(old);
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
}

static void rundown_waits_for_last_reference(void **state)
{
    static KTHREAD t;
    static rundown_waiter w;
    static EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    assert_true(ExAcquireRundownProtection(&r));
    assert_true(ExAcquireRundownProtectionEx(&r, 3));

    w = (rundown_waiter){.Ref = &r};
    kt_start(&t, rundown_waiter_main, &w, 8);
    /* The run-down has begun once the word carries the active bit. */
    WAIT_UNTIL(count_of(&r) & EX_RUNDOWN_ACTIVE);
    assert_int_not_equal(count_of(&r), EX_RUNDOWN_ACTIVE); /* its wait block */
    assert_false(ExAcquireRundownProtection(&r)); /* new references are refused */
    assert_false(ExAcquireRundownProtectionEx(&r, 2));

    ExReleaseRundownProtectionEx(&r, 2);
    kt_sleep_ms(5);
    assert_false(waiter_done(&w));
    ExReleaseRundownProtection(&r);
    kt_sleep_ms(5);
    assert_false(waiter_done(&w)); /* one reference is still out */
    ExReleaseRundownProtection(&r);
    kt_join(&t);
    assert_true(waiter_done(&w));
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
    assert_false(ExAcquireRundownProtection(&r));

    ExReInitializeRundownProtection(&r);
    assert_true(ExAcquireRundownProtection(&r));
    ExReleaseRundownProtection(&r);
}

/* ---- misuse ------------------------------------------------------------------------------------- */

static void release_without_reference_bugchecks(void **state)
{
    static KTHREAD t;
    static rundown_waiter w;
    static EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseRundownProtection(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&r);
    assert_true(ExAcquireRundownProtectionEx(&r, 2));
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseRundownProtectionEx(&r, 3));
    assert_int_equal(count_of(&r), 2 * EX_RUNDOWN_COUNT_INC); /* unchanged */

    /* During a run-down: more releases than references out. */
    w = (rundown_waiter){.Ref = &r};
    kt_start(&t, rundown_waiter_main, &w, 8);
    WAIT_UNTIL(count_of(&r) & EX_RUNDOWN_ACTIVE);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseRundownProtectionEx(&r, 3));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 2); /* references still out */
    kt_sleep_ms(5);
    assert_false(waiter_done(&w)); /* the refused release took nothing */
    ExReleaseRundownProtectionEx(&r, 2);
    kt_join(&t);
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);

    /* After the run-down completed there is nothing to release. */
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleaseRundownProtection(&r));
}

static void wait_above_apc_level_bugchecks(void **state)
{
    EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        ExWaitForRundownProtectionRelease(&r);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&r);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(count_of(&r), 0);
    /* Acquire and release are fine at DISPATCH_LEVEL. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(ExAcquireRundownProtection(&r));
    ExReleaseRundownProtection(&r);
    KeLowerIrql(old);
}

static void second_waiter_bugchecks(void **state)
{
    static KTHREAD t;
    static rundown_waiter w;
    static EX_RUNDOWN_REF r;
    ExInitializeRundownProtection(&r);
    assert_true(ExAcquireRundownProtection(&r));
    w = (rundown_waiter){.Ref = &r};
    kt_start(&t, rundown_waiter_main, &w, 8);
    WAIT_UNTIL(count_of(&r) & EX_RUNDOWN_ACTIVE);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExWaitForRundownProtectionRelease(&r));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNEXPECTED_THREAD);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)KeGetCurrentThread());
    ExReleaseRundownProtection(&r);
    kt_join(&t);
    assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
}

/* ---- stress ------------------------------------------------------------------------------------- */

typedef struct users_ctx {
    PEX_RUNDOWN_REF Ref;
    volatile LONG *Inside;
    volatile LONG *RunDown; /* set once the wait has returned */
    LONG Seed;
    LONG Uses;
    volatile LONG Violations;
} users_ctx;

/* Takes references until refused; while holding one, the run-down must not have finished. */
static VOID NTAPI user_main(PVOID p)
{
    users_ctx *c = p;
    uint64_t seed = (uint64_t)c->Seed * 0x9E3779B97F4A7C15ULL + 5;
    for (;;) {
        ULONG n = 1 + (ULONG)(ntos_test_rand(&seed) % 3);
        BOOLEAN ok = n == 1 ? ExAcquireRundownProtection(c->Ref) : ExAcquireRundownProtectionEx(c->Ref, n);
        if (!ok)
            break;
        __atomic_fetch_add(c->Inside, 1, __ATOMIC_ACQ_REL);
        if (__atomic_load_n(c->RunDown, __ATOMIC_ACQUIRE))
            __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
        arch_pause();
        c->Uses++;
        __atomic_fetch_sub(c->Inside, 1, __ATOMIC_ACQ_REL);
        if (n == 1)
            ExReleaseRundownProtection(c->Ref);
        else
            ExReleaseRundownProtectionEx(c->Ref, n);
        if ((ntos_test_rand(&seed) & 15) == 0)
            arch_pause();
    }
}

#define USERS 7

static void rundown_stress(void **state)
{
    static KTHREAD t[USERS];
    static users_ctx c[USERS];
    static EX_RUNDOWN_REF r;
    static volatile LONG inside, run_down;
    for (int round = 0; round < 3; round++) {
        inside = run_down = 0;
        ExInitializeRundownProtection(&r);
        for (int i = 0; i < USERS; i++) {
            c[i] = (users_ctx){.Ref = &r, .Inside = &inside, .RunDown = &run_down, .Seed = round * 31 + i};
            kt_start(&t[i], user_main, &c[i], 8);
        }
        kt_sleep_ms(2 + round * 3);
        ExWaitForRundownProtectionRelease(&r);
        /* Every reference is gone and none can be taken any more. */
        assert_int_equal(__atomic_load_n(&inside, __ATOMIC_ACQUIRE), 0);
        __atomic_store_n(&run_down, 1, __ATOMIC_RELEASE);
        assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
        for (int i = 0; i < USERS; i++) {
            kt_join(&t[i]);
            assert_int_equal(c[i].Violations, 0);
        }
        assert_int_equal(count_of(&r), EX_RUNDOWN_ACTIVE);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(references_in_the_word),
    cmocka_unit_test(rundown_without_references_completes_at_once),
    cmocka_unit_test(rundown_waits_for_last_reference),
    cmocka_unit_test(release_without_reference_bugchecks),
    cmocka_unit_test(wait_above_apc_level_bugchecks),
    cmocka_unit_test(second_waiter_bugchecks),
    cmocka_unit_test(rundown_stress),
};

NTOS_TEST_GROUP(ex_rundown, tests, NULL, NULL);
