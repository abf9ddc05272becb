/*
 * Timers: one-shot and periodic, notification and synchronization, DPCs,
 * cancel before expiry, re-arming, relative and absolute due times.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

static void timer_init(void **state)
{
    KTIMER t;
    KeInitializeTimer(&t);
    assert_int_equal(t.Header.Type, TimerNotificationObject);
    assert_int_equal(t.Header.Size, sizeof(KTIMER) / 4);
    assert_false(KeReadStateTimer(&t));
    KeInitializeTimerEx(&t, SynchronizationTimer);
    assert_int_equal(t.Header.Type, TimerSynchronizationObject);
    assert_false(KeCancelTimer(&t)); /* never set */
}

static void notification_timer_signals_and_stays(void **state)
{
    KTIMER t;
    KeInitializeTimer(&t);
    LARGE_INTEGER due = kt_ms(10);
    ULONG64 t0 = arch_interrupt_time();
    assert_false(KeSetTimer(&t, due, NULL));
    assert_int_equal(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_true(arch_interrupt_time() - t0 >= 100000);
    assert_true(KeReadStateTimer(&t));
    /* Still signaled for the next waiter. */
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_false(KeCancelTimer(&t)); /* already expired */
}

static void synchronization_timer_auto_resets(void **state)
{
    KTIMER t;
    KeInitializeTimerEx(&t, SynchronizationTimer);
    LARGE_INTEGER due = kt_ms(5);
    KeSetTimer(&t, due, NULL);
    assert_int_equal(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_false(KeReadStateTimer(&t));
}

static void set_resets_state_and_reports_previous_insertion(void **state)
{
    KTIMER t;
    KeInitializeTimer(&t);
    LARGE_INTEGER soon = kt_ms(2);
    KeSetTimer(&t, soon, NULL);
    KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL);
    assert_true(KeReadStateTimer(&t));
    LARGE_INTEGER later = kt_ms(1000);
    assert_false(KeSetTimer(&t, later, NULL)); /* was not in the queue */
    assert_false(KeReadStateTimer(&t));        /* setting resets the state */
    assert_true(KeSetTimer(&t, later, NULL));  /* was in the queue */
    assert_true(KeCancelTimer(&t));
    assert_false(KeCancelTimer(&t));
}

typedef struct dpc_count {
    volatile LONG Count;
    volatile LONG Processor;
    volatile LONG WrongIrql;
    PVOID A1, A2;
} dpc_count;

static VOID NTAPI count_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    dpc_count *c = Context;
    c->A1 = A1;
    c->A2 = A2;
    c->Processor = (LONG)KeGetCurrentProcessorNumber();
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        c->WrongIrql = 1;
    __atomic_fetch_add(&c->Count, 1, __ATOMIC_ACQ_REL);
}

static void timer_dpc_runs_with_expiry_time(void **state)
{
    KTIMER t;
    KDPC d;
    static dpc_count c;
    c = (dpc_count){0};
    KeInitializeTimer(&t);
    KeInitializeDpc(&d, count_dpc, &c);
    LARGE_INTEGER before;
    KeQuerySystemTimePrecise(&before);
    LARGE_INTEGER due = kt_ms(5);
    KeSetTimer(&t, due, &d);
    KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL);
    assert_true(kt_spin_until(&c.Count, 5000));
    assert_int_equal(c.Count, 1);
    assert_int_equal(c.WrongIrql, 0);
    /* SystemArgument1/2 carry the expiry as a system time. */
    ULONG64 when = ((ULONG64)(ULONG_PTR)c.A2 << 32) | (ULONG)(ULONG_PTR)c.A1;
    assert_true(when >= (ULONG64)before.QuadPart);
}

static void cancel_before_expiry_never_fires(void **state)
{
    KTIMER t;
    KDPC d;
    static dpc_count c;
    c = (dpc_count){0};
    KeInitializeTimer(&t);
    KeInitializeDpc(&d, count_dpc, &c);
    for (int i = 0; i < 50; i++) {
        LARGE_INTEGER due = kt_ms(20);
        KeSetTimer(&t, due, &d);
        assert_true(KeCancelTimer(&t));
    }
    kt_sleep_ms(40);
    assert_int_equal(c.Count, 0);
    assert_false(KeReadStateTimer(&t));
}

static void periodic_timer_fires_repeatedly_until_cancelled(void **state)
{
    KTIMER t;
    KDPC d;
    static dpc_count c;
    c = (dpc_count){0};
    KeInitializeTimerEx(&t, SynchronizationTimer);
    KeInitializeDpc(&d, count_dpc, &c);
    LARGE_INTEGER due = kt_ms(2);
    KeSetTimerEx(&t, due, 3, &d);
    for (int i = 0; i < 4; i++)
        assert_int_equal(KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL), STATUS_SUCCESS);
    assert_true(KeCancelTimer(&t)); /* a periodic timer stays queued */
    LONG fired = __atomic_load_n(&c.Count, __ATOMIC_ACQUIRE);
    assert_true(fired >= 3);
    kt_sleep_ms(20);
    /* At most a DPC already queued at cancel time may still have run. */
    assert_in_range(__atomic_load_n(&c.Count, __ATOMIC_ACQUIRE), fired, fired + 1);
    expect_bugcheck(TIMER_OR_DPC_INVALID, KeSetTimerEx(&t, due, -1, NULL));
}

static void absolute_and_past_due_times(void **state)
{
    KTIMER t;
    KeInitializeTimer(&t);
    LARGE_INTEGER abs;
    KeQuerySystemTimePrecise(&abs);
    abs.QuadPart += 100000; /* 10 ms from now */
    ULONG64 t0 = arch_interrupt_time();
    KeSetTimer(&t, abs, NULL);
    KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL);
    assert_true(arch_interrupt_time() - t0 >= 50000);
    /* A due time already past signals at once. */
    KTIMER p;
    KDPC d;
    static dpc_count c;
    c = (dpc_count){0};
    KeInitializeTimer(&p);
    KeInitializeDpc(&d, count_dpc, &c);
    LARGE_INTEGER past;
    KeQuerySystemTimePrecise(&past);
    past.QuadPart -= 10000000;
    assert_false(KeSetTimer(&p, past, &d));
    assert_true(KeReadStateTimer(&p));
    assert_true(kt_spin_until(&c.Count, 5000));
}

static void many_timers_expire_in_order(void **state)
{
    static KTIMER t[16];
    static KDPC d[16];
    static volatile LONG order[16];
    static volatile LONG next;
    next = 0;
    for (int i = 0; i < 16; i++) {
        KeInitializeTimer(&t[i]);
        order[i] = -1;
    }
    /* Set in reverse so the queue must sort them. */
    for (int i = 15; i >= 0; i--) {
        LARGE_INTEGER due = kt_ms(5 + i * 2);
        KeSetTimer(&t[i], due, NULL);
    }
    for (int i = 0; i < 16; i++) {
        KeWaitForSingleObject(&t[i], Executive, KernelMode, FALSE, NULL);
        order[next++] = i;
    }
    for (int i = 0; i < 16; i++)
        assert_int_equal(order[i], i);
    (void)d;
}

typedef struct timer_stress_ctx {
    LONG Rounds;
    volatile LONG Fired;
} timer_stress_ctx;

static VOID NTAPI timer_hammer(PVOID p)
{
    timer_stress_ctx *c = p;
    KTIMER t;
    KeInitializeTimerEx(&t, SynchronizationTimer);
    for (LONG i = 0; i < c->Rounds; i++) {
        LARGE_INTEGER due = kt_ms(1 + (i % 3));
        KeSetTimer(&t, due, NULL);
        if (i % 4 == 0) {
            if (!KeCancelTimer(&t))
                KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL);
        } else {
            KeWaitForSingleObject(&t, Executive, KernelMode, FALSE, NULL);
            __atomic_fetch_add(&c->Fired, 1, __ATOMIC_RELAXED);
        }
    }
}

static void timer_stress_many_threads(void **state)
{
    static KTHREAD th[4];
    static timer_stress_ctx c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (timer_stress_ctx){.Rounds = 40};
        kt_start(&th[i], timer_hammer, &c[i], 8 + i);
    }
    for (int i = 0; i < 4; i++) {
        kt_join(&th[i]);
        assert_int_equal(c[i].Fired, 30);
    }
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(timer_init),
    cmocka_unit_test(notification_timer_signals_and_stays),
    cmocka_unit_test(synchronization_timer_auto_resets),
    cmocka_unit_test(set_resets_state_and_reports_previous_insertion),
    cmocka_unit_test(timer_dpc_runs_with_expiry_time),
    cmocka_unit_test(cancel_before_expiry_never_fires),
    cmocka_unit_test(periodic_timer_fires_repeatedly_until_cancelled),
    cmocka_unit_test(absolute_and_past_due_times),
    cmocka_unit_test(many_timers_expire_in_order),
    cmocka_unit_test(timer_stress_many_threads),
};

NTOS_TEST_GROUP(ke_timer, tests, NULL, NULL);
