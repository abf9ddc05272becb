/*
 * Push locks: the lock word, exclusive and shared holding, try-acquire, the
 * waiting writer that holds off new readers, wake-ups of many waiters, both
 * name sets, the misuse bug checks and a reader/writer stress.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_sync.h>

#define WAIT_UNTIL(cond)                                                                             \
    do {                                                                                             \
        for (int wait_i_ = 0; wait_i_ < 20000 && !(cond); wait_i_++)                                 \
            kt_sleep_ms(1);                                                                          \
        assert_true(cond);                                                                           \
    } while (0)

#define PL_EXCLUSIVE 1
#define PL_WAITERS 2
#define PL_SHARE_INC 4

static ULONG_PTR word(PEX_PUSH_LOCK L)
{
    return __atomic_load_n(&L->Value, __ATOMIC_ACQUIRE);
}

/* A thread that takes the lock, reports, holds it until told, then releases. */
typedef struct pl_actor {
    PEX_PUSH_LOCK Lock;
    BOOLEAN Exclusive;
    volatile LONG Acquired;
    volatile LONG Done;
    KEVENT Go;
} pl_actor;

static VOID NTAPI pl_actor_main(PVOID p)
{
    pl_actor *a = p;
    KeEnterCriticalRegion();
    if (a->Exclusive)
        ExAcquirePushLockExclusiveEx(a->Lock, EX_DEFAULT_PUSH_LOCK_FLAGS);
    else
        ExAcquirePushLockSharedEx(a->Lock, EX_DEFAULT_PUSH_LOCK_FLAGS);
    __atomic_store_n(&a->Acquired, 1, __ATOMIC_RELEASE);
    KeWaitForSingleObject(&a->Go, Executive, KernelMode, FALSE, NULL);
    ExReleasePushLockEx(a->Lock, EX_DEFAULT_PUSH_LOCK_FLAGS);
    KeLeaveCriticalRegion();
    __atomic_store_n(&a->Done, 1, __ATOMIC_RELEASE);
}

static void pl_actor_start(PKTHREAD T, pl_actor *A, PEX_PUSH_LOCK L, BOOLEAN Exclusive, BOOLEAN Go)
{
    *A = (pl_actor){.Lock = L, .Exclusive = Exclusive};
    KeInitializeEvent(&A->Go, NotificationEvent, Go);
    kt_start(T, pl_actor_main, A, 8);
}

static BOOLEAN acquired(pl_actor *A)
{
    return __atomic_load_n(&A->Acquired, __ATOMIC_ACQUIRE) != 0;
}

/* ---- normal use --------------------------------------------------------------------------------- */

static void exclusive_and_shared_word(void **state)
{
    EX_PUSH_LOCK l;
    l.Value = 0x55;
    ExInitializePushLock(&l);
    assert_int_equal(word(&l), 0);
    KeEnterCriticalRegion();

    ExAcquirePushLockExclusiveEx(&l, 0);
    assert_int_equal(word(&l), PL_EXCLUSIVE);
    assert_false(ExTryAcquirePushLockExclusiveEx(&l, 0));
    assert_false(ExTryAcquirePushLockSharedEx(&l, 0));
    ExReleasePushLockExclusiveEx(&l, 0);
    assert_int_equal(word(&l), 0);

    ExAcquirePushLockSharedEx(&l, 0);
    ExAcquirePushLockSharedEx(&l, 0);
    assert_true(ExTryAcquirePushLockSharedEx(&l, 0));
    assert_int_equal(word(&l), 3 * PL_SHARE_INC);
    assert_false(ExTryAcquirePushLockExclusiveEx(&l, 0));
    ExReleasePushLockSharedEx(&l, 0);
    ExReleasePushLockEx(&l, 0); /* the generic release finds the mode */
    ExReleasePushLockShared(&l);
    assert_int_equal(word(&l), 0);

    assert_true(ExTryAcquirePushLockExclusiveEx(&l, 0));
    ExReleasePushLockEx(&l, 0);
    assert_int_equal(word(&l), 0);
    KeLeaveCriticalRegion();
}

static void classic_names(void **state)
{
    EX_PUSH_LOCK l;
    ExInitializePushLock(&l);
    KeEnterGuardedRegion(); /* a guarded region disables normal APCs too */
    ExAcquirePushLockExclusive(&l);
    assert_false(ExTryToAcquirePushLockShared(&l));
    ExReleasePushLockExclusive(&l);
    ExAcquirePushLockShared(&l);
    assert_false(ExTryToAcquirePushLockExclusive(&l));
    assert_true(ExTryToAcquirePushLockShared(&l));
    ExReleasePushLock(&l);
    ExReleasePushLockShared(&l);
    assert_true(ExTryToAcquirePushLockExclusive(&l));
    ExReleasePushLock(&l);
    KeLeaveGuardedRegion();
    /* At APC_LEVEL no region is needed. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    ExAcquirePushLockExclusive(&l);
    ExReleasePushLockExclusive(&l);
    KeLowerIrql(old);
    assert_int_equal(word(&l), 0);
}

static void waiting_writer_holds_off_new_readers(void **state)
{
    static KTHREAD tw, tr;
    static pl_actor w, r;
    static EX_PUSH_LOCK l;
    ExInitializePushLock(&l);
    KeEnterCriticalRegion();
    ExAcquirePushLockSharedEx(&l, 0);

    pl_actor_start(&tw, &w, &l, TRUE, FALSE);
    WAIT_UNTIL(word(&l) & PL_WAITERS); /* the writer is queued */
    assert_false(acquired(&w));
    /* New readers (even this reader again) now wait behind the writer. */
    assert_false(ExTryAcquirePushLockSharedEx(&l, 0));
    pl_actor_start(&tr, &r, &l, FALSE, TRUE);
    kt_sleep_ms(5);
    assert_false(acquired(&r));

    ExReleasePushLockSharedEx(&l, 0); /* last reader: wakes the queue */
    KeLeaveCriticalRegion();
    WAIT_UNTIL(acquired(&w) || acquired(&r));
    /* Whoever won, both get through once the writer is told to release. */
    KeSetEvent(&w.Go, 0, FALSE);
    kt_join(&tw);
    kt_join(&tr);
    assert_true(acquired(&w) && acquired(&r));
    assert_int_equal(word(&l), 0);
}

static void many_waiters_all_wake(void **state)
{
    static KTHREAD t[6];
    static pl_actor a[6];
    static EX_PUSH_LOCK l;
    ExInitializePushLock(&l);
    KeEnterCriticalRegion();
    ExAcquirePushLockExclusiveEx(&l, 0);
    for (int i = 0; i < 6; i++)
        pl_actor_start(&t[i], &a[i], &l, (i % 3) == 0, TRUE); /* 2 writers, 4 readers */
    WAIT_UNTIL(word(&l) & PL_WAITERS);
    kt_sleep_ms(5);
    for (int i = 0; i < 6; i++)
        assert_false(acquired(&a[i]));
    ExReleasePushLockExclusiveEx(&l, 0);
    KeLeaveCriticalRegion();
    for (int i = 0; i < 6; i++) {
        kt_join(&t[i]);
        assert_true(a[i].Done);
    }
    assert_int_equal(word(&l), 0);
}

/* ---- misuse ------------------------------------------------------------------------------------- */

static void release_not_held_bugchecks(void **state)
{
    EX_PUSH_LOCK l;
    ExInitializePushLock(&l);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleasePushLockExclusiveEx(&l, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_VERIFIER_UNACQUIRED_RELEASE);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&l);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleasePushLockSharedEx(&l, 0));
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleasePushLock(&l));

    KeEnterCriticalRegion();
    ExAcquirePushLockExclusiveEx(&l, 0);
    /* Held exclusive, released as shared. */
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleasePushLockSharedEx(&l, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[2], PL_EXCLUSIVE);
    ExReleasePushLockExclusiveEx(&l, 0);
    ExAcquirePushLockSharedEx(&l, 0);
    expect_bugcheck(DRIVER_VERIFIER_DETECTED_VIOLATION, ExReleasePushLockExclusiveEx(&l, 0));
    ExReleasePushLockSharedEx(&l, 0);
    KeLeaveCriticalRegion();
    assert_int_equal(word(&l), 0);
}

static void acquire_context_rules_bugcheck(void **state)
{
    EX_PUSH_LOCK l;
    ExInitializePushLock(&l);
    assert_false(KeAreApcsDisabled());
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquirePushLockExclusiveEx(&l, 0));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], EX_PRECONDITION_APCS_NOT_DISABLED);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&l);
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExAcquirePushLockShared(&l));
    expect_bugcheck(FAST_ERESOURCE_PRECONDITION_VIOLATION, ExTryAcquirePushLockSharedEx(&l, 0));
    KeEnterCriticalRegion();
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        ExAcquirePushLockSharedEx(&l, 0);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    KeLeaveCriticalRegion();
    assert_int_equal(word(&l), 0);
}

/* ---- stress ------------------------------------------------------------------------------------- */

typedef struct pl_stress_ctx {
    PEX_PUSH_LOCK Lock;
    volatile LONG *Readers;
    volatile LONG *Writers;
    volatile LONG *Data;
    LONG Rounds;
    LONG Seed;
    LONG Writes;
    volatile LONG Violations;
} pl_stress_ctx;

static VOID NTAPI pl_hammer(PVOID p)
{
    pl_stress_ctx *c = p;
    uint64_t seed = (uint64_t)c->Seed * 6364136223846793005ULL + 1;
    KeEnterCriticalRegion();
    for (LONG i = 0; i < c->Rounds; i++) {
        ULONG pick = (ULONG)(ntos_test_rand(&seed) % 8);
        if (pick < 3) {
            if (pick == 2) {
                if (!ExTryAcquirePushLockExclusiveEx(c->Lock, 0))
                    continue;
            } else {
                ExAcquirePushLockExclusiveEx(c->Lock, 0);
            }
            if (__atomic_fetch_add(c->Writers, 1, __ATOMIC_ACQ_REL) != 0 ||
                __atomic_load_n(c->Readers, __ATOMIC_ACQUIRE) != 0)
                __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
            *c->Data = *c->Data + 1;
            c->Writes++;
            arch_pause();
            __atomic_fetch_sub(c->Writers, 1, __ATOMIC_ACQ_REL);
            if (pick == 0)
                ExReleasePushLockExclusiveEx(c->Lock, 0);
            else
                ExReleasePushLockEx(c->Lock, 0);
        } else {
            if (pick == 7) {
                if (!ExTryAcquirePushLockSharedEx(c->Lock, 0))
                    continue;
            } else {
                ExAcquirePushLockSharedEx(c->Lock, 0);
            }
            __atomic_fetch_add(c->Readers, 1, __ATOMIC_ACQ_REL);
            if (__atomic_load_n(c->Writers, __ATOMIC_ACQUIRE) != 0)
                __atomic_fetch_add(&c->Violations, 1, __ATOMIC_RELAXED);
            LONG seen = *c->Data;
            (void)seen;
            arch_pause();
            __atomic_fetch_sub(c->Readers, 1, __ATOMIC_ACQ_REL);
            ExReleasePushLockSharedEx(c->Lock, 0);
        }
    }
    KeLeaveCriticalRegion();
}

#define PL_THREADS 8
#define PL_ROUNDS 500

static void push_lock_stress(void **state)
{
    static KTHREAD t[PL_THREADS];
    static pl_stress_ctx c[PL_THREADS];
    static EX_PUSH_LOCK l;
    static volatile LONG readers, writers, data;
    readers = writers = data = 0;
    ExInitializePushLock(&l);
    for (int i = 0; i < PL_THREADS; i++) {
        c[i] = (pl_stress_ctx){.Lock = &l, .Readers = &readers, .Writers = &writers, .Data = &data,
                               .Rounds = PL_ROUNDS, .Seed = i + 11};
        kt_start(&t[i], pl_hammer, &c[i], 8);
    }
    LONG writes = 0;
    for (int i = 0; i < PL_THREADS; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Violations, 0);
        writes += c[i].Writes;
    }
    assert_int_equal(data, writes);
    assert_int_equal(word(&l), 0);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(exclusive_and_shared_word),
    cmocka_unit_test(classic_names),
    cmocka_unit_test(waiting_writer_holds_off_new_readers),
    cmocka_unit_test(many_waiters_all_wake),
    cmocka_unit_test(release_not_held_bugchecks),
    cmocka_unit_test(acquire_context_rules_bugcheck),
    cmocka_unit_test(push_lock_stress),
};

NTOS_TEST_GROUP(ex_pushlock, tests, NULL, NULL);
