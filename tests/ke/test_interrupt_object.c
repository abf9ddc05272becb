/*
 * Interrupt objects: initialisation, the interrupt spin lock at
 * SynchronizeIrql, KeSynchronizeExecution, shared locks, and misuse.
 */
#include "ntos_ke_test.h"

static KIRQL seen_irql;
static volatile LONG isr_calls;

static BOOLEAN NTAPI isr(PKINTERRUPT Interrupt, PVOID Context)
{
    seen_irql = KeGetCurrentIrql();
    __atomic_fetch_add(&isr_calls, 1, __ATOMIC_RELAXED);
    return Context == (PVOID)0x1234;
}

static BOOLEAN NTAPI sync_routine(PVOID Context)
{
    seen_irql = KeGetCurrentIrql();
    (*(LONG *)Context)++;
    return TRUE;
}

static void init_fields(void **state)
{
    KINTERRUPT i;
    KeInitializeInterrupt(&i, isr, (PVOID)0x1234, NULL, 0x51, 5, 7, LevelSensitive, FALSE, 0, FALSE);
    assert_int_equal(i.Type, InterruptObject);
    assert_int_equal(i.Size, sizeof(KINTERRUPT));
    assert_ptr_equal(i.ActualLock, &i.SpinLock);
    assert_int_equal(i.Irql, 5);
    assert_int_equal(i.SynchronizeIrql, 7);
    assert_int_equal(i.Vector, 0x51);
    /* SynchronizeIrql below Irql is raised to it. */
    KeInitializeInterrupt(&i, isr, NULL, NULL, 0x51, 6, 3, Latched, TRUE, 0, FALSE);
    assert_int_equal(i.SynchronizeIrql, 6);
}

static void lock_raises_to_synchronize_irql(void **state)
{
    KINTERRUPT i;
    KeInitializeInterrupt(&i, isr, NULL, NULL, 0x61, 6, 8, LevelSensitive, FALSE, 0, FALSE);
    KIRQL old = KeAcquireInterruptSpinLock(&i);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), 8);
    assert_false(KeTestSpinLock(i.ActualLock));
    KeReleaseInterruptSpinLock(&i, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(KeTestSpinLock(i.ActualLock));
}

static void synchronize_execution_and_isr(void **state)
{
    KINTERRUPT i;
    KSPIN_LOCK shared;
    KeInitializeSpinLock(&shared);
    KeInitializeInterrupt(&i, isr, (PVOID)0x1234, &shared, 0x71, 5, 9, LevelSensitive, FALSE, 0, FALSE);
    assert_ptr_equal(i.ActualLock, &shared);
    LONG counter = 0;
    assert_true(KeSynchronizeExecution(&i, sync_routine, &counter));
    assert_int_equal(counter, 1);
    assert_int_equal(seen_irql, 9);
    isr_calls = 0;
    assert_true(KiInvokeInterruptServiceRoutine(&i));
    assert_int_equal(isr_calls, 1);
    assert_int_equal(seen_irql, 9);
    assert_int_equal(i.ServiceCount, 1);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void misuse_bugchecks(void **state)
{
    KINTERRUPT i;
    KeInitializeInterrupt(&i, isr, NULL, NULL, 0x81, 4, 4, LevelSensitive, FALSE, 0, FALSE);
    /* Acquiring from above SynchronizeIrql. */
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, {
        KfRaiseIrql(6);
        KeAcquireInterruptSpinLock(&i);
    });
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* Recursion on the interrupt lock. */
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, {
        KeAcquireInterruptSpinLock(&i);
        KeAcquireInterruptSpinLock(&i);
    });
    KeInitializeSpinLock(&i.SpinLock);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

typedef struct isr_race_ctx {
    PKINTERRUPT Interrupt;
    LONG Rounds;
    volatile LONG *Shared;
} isr_race_ctx;

static BOOLEAN NTAPI bump(PVOID Context)
{
    LONG *v = Context;
    LONG x = *v;
    arch_pause();
    *v = x + 1;
    return TRUE;
}

static VOID NTAPI hammer(PVOID p)
{
    isr_race_ctx *c = p;
    for (LONG i = 0; i < c->Rounds; i++)
        KeSynchronizeExecution(c->Interrupt, bump, (PVOID)c->Shared);
}

static void synchronize_execution_excludes_across_cpus(void **state)
{
    static KINTERRUPT i;
    static KTHREAD t[4];
    static isr_race_ctx c[4];
    static volatile LONG shared;
    shared = 0;
    KeInitializeInterrupt(&i, isr, NULL, NULL, 0x91, 5, 5, LevelSensitive, FALSE, 0, FALSE);
    for (int k = 0; k < 4; k++) {
        c[k] = (isr_race_ctx){.Interrupt = &i, .Rounds = 2000, .Shared = &shared};
        kt_start(&t[k], hammer, &c[k], 8);
    }
    for (int k = 0; k < 4; k++)
        kt_join(&t[k]);
    assert_int_equal(shared, 8000);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(init_fields),
    cmocka_unit_test(lock_raises_to_synchronize_irql),
    cmocka_unit_test(synchronize_execution_and_isr),
    cmocka_unit_test(misuse_bugchecks),
    cmocka_unit_test(synchronize_execution_excludes_across_cpus),
};

NTOS_TEST_GROUP(ke_interrupt_object, tests, NULL, NULL);
