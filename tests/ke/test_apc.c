/*
 * APCs: special and normal kernel APCs, delivery when the IRQL drops, the
 * critical and guarded regions that block them, APCs to waiting threads,
 * user APCs ending alertable user-mode waits, removal and rundown.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

typedef struct apc_log {
    volatile LONG Kernel;
    volatile LONG Normal;
    KIRQL KernelIrql;
    KIRQL NormalIrql;
    PVOID A1, A2, Context;
    volatile LONG Rundown;
    LONG Order[8];
    volatile LONG Count;
} apc_log;

static apc_log logbook;

static VOID NTAPI kernel_routine(PKAPC Apc, PKNORMAL_ROUTINE *Normal, PVOID *Context, PVOID *A1, PVOID *A2)
{
    logbook.KernelIrql = KeGetCurrentIrql();
    logbook.A1 = *A1;
    logbook.A2 = *A2;
    logbook.Order[__atomic_fetch_add(&logbook.Count, 1, __ATOMIC_ACQ_REL) & 7] = (LONG)(ULONG_PTR)*A1;
    __atomic_fetch_add(&logbook.Kernel, 1, __ATOMIC_RELEASE);
}

static VOID NTAPI normal_routine(PVOID Context, PVOID A1, PVOID A2)
{
    logbook.NormalIrql = KeGetCurrentIrql();
    logbook.Context = Context;
    __atomic_fetch_add(&logbook.Normal, 1, __ATOMIC_RELEASE);
}

static VOID NTAPI rundown_routine(PKAPC Apc)
{
    __atomic_fetch_add(&logbook.Rundown, 1, __ATOMIC_RELEASE);
}

static int reset(void **state)
{
    logbook = (apc_log){0};
    return 0;
}

static void apc_init_layout(void **state)
{
    KAPC apc;
    PKTHREAD self = KeGetCurrentThread();
    KeInitializeApc(&apc, self, OriginalApcEnvironment, kernel_routine, NULL, NULL, UserMode, (PVOID)5);
    assert_int_equal(apc.Type, ApcObject);
    assert_int_equal(apc.Size, sizeof(KAPC));
    assert_ptr_equal(apc.Thread, self);
    /* No normal routine: a special kernel APC, whatever mode was asked. */
    assert_int_equal(apc.ApcMode, KernelMode);
    assert_null(apc.NormalContext);
    assert_false(apc.Inserted);
    KeInitializeApc(&apc, self, OriginalApcEnvironment, kernel_routine, rundown_routine, normal_routine,
                    KernelMode, (PVOID)5);
    assert_ptr_equal(apc.NormalContext, (PVOID)5);
    assert_ptr_equal(apc.RundownRoutine, rundown_routine);
}

static void special_apc_runs_when_irql_drops(void **state)
{
    KAPC apc;
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode,
                    NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    assert_true(KeInsertQueueApc(&apc, (PVOID)1, (PVOID)2, 0));
    assert_true(apc.Inserted);
    assert_false(KeInsertQueueApc(&apc, NULL, NULL, 0)); /* already queued */
    assert_int_equal(logbook.Kernel, 0);
    assert_true(KeAreAllApcsDisabled());
    KeLowerIrql(PASSIVE_LEVEL);
    assert_int_equal(logbook.Kernel, 1);
    assert_int_equal(logbook.KernelIrql, APC_LEVEL);
    assert_ptr_equal(logbook.A1, (PVOID)1);
    assert_ptr_equal(logbook.A2, (PVOID)2);
    assert_false(apc.Inserted);
    (void)old;
}

static void normal_apc_runs_normal_routine_at_passive(void **state)
{
    KAPC apc;
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, normal_routine,
                    KernelMode, (PVOID)0x77);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeInsertQueueApc(&apc, (PVOID)3, NULL, 0);
    KeLowerIrql(old);
    assert_int_equal(logbook.Kernel, 1);
    assert_int_equal(logbook.Normal, 1);
    assert_int_equal(logbook.NormalIrql, PASSIVE_LEVEL);
    assert_ptr_equal(logbook.Context, (PVOID)0x77);
}

static void critical_region_blocks_normal_not_special(void **state)
{
    KAPC normal, special;
    PKTHREAD self = KeGetCurrentThread();
    KeInitializeApc(&normal, self, OriginalApcEnvironment, kernel_routine, NULL, normal_routine, KernelMode, NULL);
    KeInitializeApc(&special, self, OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode, NULL);
    KeEnterCriticalRegion();
    assert_true(KeAreApcsDisabled());
    assert_false(KeAreAllApcsDisabled());
    KeInsertQueueApc(&normal, (PVOID)10, NULL, 0);
    assert_int_equal(logbook.Normal, 0);
    KeInsertQueueApc(&special, (PVOID)11, NULL, 0);
    assert_int_equal(logbook.Kernel, 1); /* the special one ran */
    KeLeaveCriticalRegion();
    assert_int_equal(logbook.Normal, 1); /* delivered on leaving */
    assert_int_equal(logbook.Kernel, 2);
    assert_false(KeAreApcsDisabled());
}

static void guarded_region_blocks_all(void **state)
{
    KAPC special;
    KeInitializeApc(&special, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL,
                    KernelMode, NULL);
    KeEnterGuardedRegion();
    assert_true(KeAreApcsDisabled());
    assert_true(KeAreAllApcsDisabled());
    KeInsertQueueApc(&special, NULL, NULL, 0);
    assert_int_equal(logbook.Kernel, 0);
    KeEnterGuardedRegion(); /* nests */
    KeLeaveGuardedRegion();
    assert_int_equal(logbook.Kernel, 0);
    KeLeaveGuardedRegion();
    assert_int_equal(logbook.Kernel, 1);
    assert_false(KeAreAllApcsDisabled());
}

static void special_apcs_before_normal_in_queue_order(void **state)
{
    static KAPC a[4];
    PKTHREAD self = KeGetCurrentThread();
    KeInitializeApc(&a[0], self, OriginalApcEnvironment, kernel_routine, NULL, normal_routine, KernelMode, NULL);
    KeInitializeApc(&a[1], self, OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode, NULL);
    KeInitializeApc(&a[2], self, OriginalApcEnvironment, kernel_routine, NULL, normal_routine, KernelMode, NULL);
    KeInitializeApc(&a[3], self, OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode, NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    for (int i = 0; i < 4; i++)
        KeInsertQueueApc(&a[i], (PVOID)(ULONG_PTR)i, NULL, 0);
    KeLowerIrql(old);
    assert_int_equal(logbook.Count, 4);
    assert_int_equal(logbook.Order[0], 1);
    assert_int_equal(logbook.Order[1], 3);
    assert_int_equal(logbook.Order[2], 0);
    assert_int_equal(logbook.Order[3], 2);
}

static void remove_queued_apc(void **state)
{
    KAPC apc;
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode,
                    NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    KeInsertQueueApc(&apc, NULL, NULL, 0);
    assert_true(KeRemoveQueueApc(&apc));
    assert_false(KeRemoveQueueApc(&apc));
    KeLowerIrql(old);
    assert_int_equal(logbook.Kernel, 0);
}

typedef struct apc_waiter_ctx {
    KEVENT Event;
    NTSTATUS Status;
    volatile LONG ApcSeenBeforeWake;
    KPROCESSOR_MODE Mode;
    BOOLEAN Alertable;
} apc_waiter_ctx;

static VOID NTAPI event_waiter(PVOID p)
{
    apc_waiter_ctx *c = p;
    c->Status = KeWaitForSingleObject(&c->Event, Executive, c->Mode, c->Alertable, NULL);
    c->ApcSeenBeforeWake = logbook.Kernel;
}

static void kernel_apc_to_waiting_thread_runs_and_wait_resumes(void **state)
{
    static KTHREAD t;
    static apc_waiter_ctx c;
    static KAPC apc;
    c = (apc_waiter_ctx){.Mode = KernelMode};
    KeInitializeEvent(&c.Event, NotificationEvent, FALSE);
    kt_start(&t, event_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    KeInitializeApc(&apc, &t, OriginalApcEnvironment, kernel_routine, NULL, normal_routine, KernelMode, NULL);
    assert_true(KeInsertQueueApc(&apc, (PVOID)9, NULL, 0));
    for (int i = 0; i < 5000 && __atomic_load_n(&logbook.Normal, __ATOMIC_ACQUIRE) == 0; i++)
        kt_sleep_ms(1);
    assert_int_equal(logbook.Kernel, 1);
    assert_int_equal(logbook.Normal, 1);
    /* The APC did not end the wait: the thread is waiting again. */
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    KeSetEvent(&c.Event, 0, FALSE);
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_SUCCESS);
    assert_int_equal(c.ApcSeenBeforeWake, 1);
}

static void user_apc_ends_alertable_user_wait(void **state)
{
    static KTHREAD t;
    static apc_waiter_ctx c;
    static KAPC apc;
    c = (apc_waiter_ctx){.Mode = UserMode, .Alertable = TRUE};
    KeInitializeEvent(&c.Event, NotificationEvent, FALSE);
    kt_start(&t, event_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    KeInitializeApc(&apc, &t, OriginalApcEnvironment, kernel_routine, rundown_routine, normal_routine, UserMode,
                    NULL);
    assert_true(KeInsertQueueApc(&apc, NULL, NULL, 0));
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_USER_APC);
    /* A system thread never returns to user mode: the APC was run down at exit. */
    assert_int_equal(logbook.Rundown, 1);
    assert_int_equal(logbook.Normal, 0);
    assert_false(KeInsertQueueApc(&apc, NULL, NULL, 0)); /* thread is gone */
}

static void user_apc_does_not_end_kernel_or_nonalertable_wait(void **state)
{
    static KTHREAD t;
    static apc_waiter_ctx c;
    static KAPC apc;
    c = (apc_waiter_ctx){.Mode = KernelMode, .Alertable = TRUE};
    KeInitializeEvent(&c.Event, NotificationEvent, FALSE);
    kt_start(&t, event_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    KeInitializeApc(&apc, &t, OriginalApcEnvironment, kernel_routine, rundown_routine, normal_routine, UserMode,
                    NULL);
    KeInsertQueueApc(&apc, NULL, NULL, 0);
    kt_sleep_ms(5);
    assert_int_equal(kt_state(&t), Waiting);
    KeSetEvent(&c.Event, 0, FALSE);
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_SUCCESS);
    assert_int_equal(logbook.Rundown, 1);
}


static void exit_inside_critical_region_bugchecks(void **state)
{
    /* Run on the caller (caught), not a new thread: a bug check is caught
     * only on the thread that armed the catch. */
    KeEnterCriticalRegion();
    expect_bugcheck(KERNEL_APC_PENDING_DURING_EXIT, KeTerminateThread(STATUS_SUCCESS));
    KeLeaveCriticalRegion();
    assert_false(KeAreApcsDisabled());
}

/*
 * The APC interrupt belongs to the processor, not the thread: if the thread
 * that queued an APC to itself at APC_LEVEL is switched out before lowering
 * its IRQL, whatever runs meanwhile at PASSIVE_LEVEL (here the idle thread)
 * takes the interrupt and finds nothing. The APC must still run when the
 * thread, back on the processor, lowers its IRQL.
 */
static void special_apc_survives_a_switch_at_apc_level(void **state)
{
    KAPC apc;
    KeInitializeApc(&apc, KeGetCurrentThread(), OriginalApcEnvironment, kernel_routine, NULL, NULL, KernelMode,
                    NULL);
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    assert_true(KeInsertQueueApc(&apc, (PVOID)3, (PVOID)4, 0));
    LARGE_INTEGER ms = kt_ms(2);
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &ms), STATUS_SUCCESS);
    assert_int_equal(logbook.Kernel, 0);
    KeLowerIrql(PASSIVE_LEVEL);
    assert_int_equal(logbook.Kernel, 1);
    assert_ptr_equal(logbook.A1, (PVOID)3);
    (void)old;
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup(special_apc_survives_a_switch_at_apc_level, reset),
    cmocka_unit_test_setup(apc_init_layout, reset),
    cmocka_unit_test_setup(special_apc_runs_when_irql_drops, reset),
    cmocka_unit_test_setup(normal_apc_runs_normal_routine_at_passive, reset),
    cmocka_unit_test_setup(critical_region_blocks_normal_not_special, reset),
    cmocka_unit_test_setup(guarded_region_blocks_all, reset),
    cmocka_unit_test_setup(special_apcs_before_normal_in_queue_order, reset),
    cmocka_unit_test_setup(remove_queued_apc, reset),
    cmocka_unit_test_setup(kernel_apc_to_waiting_thread_runs_and_wait_resumes, reset),
    cmocka_unit_test_setup(user_apc_ends_alertable_user_wait, reset),
    cmocka_unit_test_setup(user_apc_does_not_end_kernel_or_nonalertable_wait, reset),
    cmocka_unit_test_setup(exit_inside_critical_region_bugchecks, reset),
};

NTOS_TEST_GROUP(ke_apc, tests, NULL, NULL);
