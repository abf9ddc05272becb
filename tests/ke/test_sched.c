/*
 * Threads and scheduling: start/terminate/join, priorities and the order in
 * which woken threads run, preemption of a CPU-bound thread, round robin at
 * quantum end, boosts and their decay, affinity, yield, alerts, and the
 * switch-from-DPC bug check.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

/* Pins the caller to processor 0 for tests whose ordering needs one CPU. */
static KAFFINITY pin_to_cpu0(void)
{
    return KeSetSystemAffinityThreadEx(1);
}

static void unpin(KAFFINITY previous)
{
    KeRevertToUserAffinityThreadEx(previous);
}

/* ---- lifecycle -------------------------------------------------------------------- */

static volatile LONG ran_flag;

static VOID NTAPI set_flag_routine(PVOID p)
{
    __atomic_store_n((volatile LONG *)p, 1, __ATOMIC_RELEASE);
}

static VOID NTAPI terminate_explicitly(PVOID p)
{
    __atomic_store_n((volatile LONG *)p, 2, __ATOMIC_RELEASE);
    KeTerminateThread(0x1234);
}

static void thread_start_join_and_exit_status(void **state)
{
    static KTHREAD t;
    ran_flag = 0;
    kt_start(&t, set_flag_routine, (PVOID)&ran_flag, 8);
    assert_int_equal(t.Header.Type, ThreadObject);
    kt_join(&t);
    assert_int_equal(ran_flag, 1);
    assert_true(KeReadStateThread(&t));
    assert_int_equal(kt_state(&t), Terminated);
    assert_int_equal(t.ExitStatus, STATUS_SUCCESS);

    ran_flag = 0;
    kt_start(&t, terminate_explicitly, (PVOID)&ran_flag, 8);
    kt_join(&t);
    assert_int_equal(ran_flag, 2);
    assert_int_equal(t.ExitStatus, 0x1234);
}

static void thread_init_rejects_bad_arguments(void **state)
{
    static KTHREAD t;
    assert_int_equal(KeInitializeThread(&t, NULL, 0, NULL, NULL, 8), STATUS_INVALID_PARAMETER);
    assert_int_equal(KeInitializeThread(&t, NULL, 0, set_flag_routine, NULL, 0), STATUS_INVALID_PARAMETER_4);
    assert_int_equal(KeInitializeThread(&t, NULL, 0, set_flag_routine, NULL, 32), STATUS_INVALID_PARAMETER_4);
    /* A thread that never started can be deleted; a running one cannot. */
    assert_int_equal(KeInitializeThread(&t, NULL, 0, set_flag_routine, (PVOID)&ran_flag, 8), STATUS_SUCCESS);
    assert_int_equal(KeDeleteThread(&t), STATUS_SUCCESS);
    assert_int_equal(KeDeleteThread(KeGetCurrentThread()), STATUS_INVALID_DEVICE_STATE);
}

static VOID NTAPI spawn_many_worker(PVOID p)
{
    __atomic_fetch_add((volatile LONG *)p, 1, __ATOMIC_RELAXED);
}

static void many_threads_run_and_exit(void **state)
{
    static KTHREAD t[32];
    static volatile LONG count;
    count = 0;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 32; i++)
            kt_start(&t[i], spawn_many_worker, (PVOID)&count, 1 + (i % 15));
        for (int i = 0; i < 32; i++)
            kt_join(&t[i]);
    }
    assert_int_equal(count, 96);
}

/* ---- priorities ------------------------------------------------------------------- */

static void priority_query_and_set(void **state)
{
    PKTHREAD self = KeGetCurrentThread();
    KPRIORITY old = KeQueryPriorityThread(self);
    assert_int_equal(KeSetPriorityThread(self, 12), old);
    assert_int_equal(KeQueryPriorityThread(self), 12);
    assert_int_equal(KeSetPriorityThread(self, LOW_REALTIME_PRIORITY), 12);
    assert_int_equal(KeQueryPriorityThread(self), LOW_REALTIME_PRIORITY);
    KeSetPriorityThread(self, old);
    assert_int_equal(KeQueryPriorityThread(self), old);
}

static void base_priority_increment(void **state)
{
    PKTHREAD self = KeGetCurrentThread();
    KPRIORITY old = KeQueryPriorityThread(self);
    LONG base = self->Process->BasePriority;
    KeSetPriorityThread(self, (KPRIORITY)base);
    assert_int_equal(KeSetBasePriorityThread(self, 2), 0);
    assert_int_equal(KeQueryPriorityThread(self), base + 2);
    assert_int_equal(KeSetBasePriorityThread(self, -2), 2);
    assert_int_equal(KeQueryPriorityThread(self), base - 2);
    /* Saturation stays within the variable class. */
    KeSetBasePriorityThread(self, 16);
    assert_int_equal(KeQueryPriorityThread(self), 15);
    KeSetBasePriorityThread(self, -16);
    assert_int_equal(KeQueryPriorityThread(self), 1);
    KeSetPriorityThread(self, old);
}

typedef struct order_ctx {
    PKEVENT Go;
    volatile LONG *Next;
    LONG Slot;
    KAFFINITY Affinity;
} order_ctx;

static LONG run_order[8];

static VOID NTAPI record_order(PVOID p)
{
    order_ctx *c = p;
    KeSetSystemAffinityThread(c->Affinity);
    KeWaitForSingleObject(c->Go, Executive, KernelMode, FALSE, NULL);
    run_order[__atomic_fetch_add(c->Next, 1, __ATOMIC_ACQ_REL)] = c->Slot;
}

static void woken_threads_run_in_priority_order(void **state)
{
    static KTHREAD t[3];
    static order_ctx c[3];
    static KEVENT go;
    static volatile LONG next;
    static const KPRIORITY prio[3] = {4, 12, 7};
    KAFFINITY saved = pin_to_cpu0();
    KPRIORITY old = KeSetPriorityThread(KeGetCurrentThread(), 31);
    KeInitializeEvent(&go, NotificationEvent, FALSE);
    next = 0;
    for (int i = 0; i < 3; i++) {
        c[i] = (order_ctx){.Go = &go, .Next = &next, .Slot = i, .Affinity = 1};
        kt_start(&t[i], record_order, &c[i], prio[i]);
    }
    /* Let them all block (they need the processor we hold). */
    for (int i = 0; i < 3; i++)
        while (kt_state(&t[i]) != Waiting)
            kt_sleep_ms(1);
    KeSetEvent(&go, 0, FALSE);
    for (int i = 0; i < 3; i++)
        kt_join(&t[i]);
    KeSetPriorityThread(KeGetCurrentThread(), old);
    unpin(saved);
    assert_int_equal(next, 3);
    assert_int_equal(run_order[0], 1); /* priority 12 */
    assert_int_equal(run_order[1], 2); /* priority 7 */
    assert_int_equal(run_order[2], 0); /* priority 4 */
}

typedef struct spinner_ctx {
    volatile LONG Stop;
    volatile LONG64 Count;
    volatile LONG Started;
} spinner_ctx;

static VOID NTAPI cpu_bound(PVOID p)
{
    spinner_ctx *c = p;
    KeSetSystemAffinityThread(1);
    __atomic_store_n(&c->Started, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&c->Stop, __ATOMIC_ACQUIRE)) {
        __atomic_fetch_add(&c->Count, 1, __ATOMIC_RELAXED);
        arch_pause(); /* an interruptible point: where the clock can preempt us */
    }
}

typedef struct preemptor_ctx {
    spinner_ctx *Victim;
    KTIMER Timer;
    LONG64 VictimCountWhenRun;
    LONG VictimStoppedWhenRun;
    ULONG Processor;
} preemptor_ctx;

static VOID NTAPI high_priority_on_timer(PVOID p)
{
    preemptor_ctx *c = p;
    KeSetSystemAffinityThread(1);
    KeWaitForSingleObject(&c->Timer, Executive, KernelMode, FALSE, NULL);
    /* We only get here by preempting the CPU-bound thread on processor 0. */
    c->Processor = KeGetCurrentProcessorNumber();
    c->VictimStoppedWhenRun = __atomic_load_n(&c->Victim->Stop, __ATOMIC_ACQUIRE);
    c->VictimCountWhenRun = __atomic_load_n(&c->Victim->Count, __ATOMIC_RELAXED);
    __atomic_store_n(&c->Victim->Stop, 1, __ATOMIC_RELEASE);
}

static void readied_high_priority_preempts_cpu_bound_thread(void **state)
{
    static KTHREAD low, high;
    static spinner_ctx s;
    static preemptor_ctx p;
    s = (spinner_ctx){0};
    p = (preemptor_ctx){.Victim = &s};
    KeInitializeTimer(&p.Timer);
    kt_start(&high, high_priority_on_timer, &p, 20);
    while (kt_state(&high) != Waiting)
        kt_sleep_ms(1);
    kt_start(&low, cpu_bound, &s, 4);
    /* Sleep (not spin) so that the low-priority thread gets processor 0. */
    for (int i = 0; i < 5000 && !__atomic_load_n(&s.Started, __ATOMIC_ACQUIRE); i++)
        kt_sleep_ms(1);
    assert_true(s.Started);
    LARGE_INTEGER due = kt_ms(30);
    KeSetTimer(&p.Timer, due, NULL);
    kt_join(&high);
    kt_join(&low);
    assert_int_equal(p.Processor, 0);
    assert_int_equal(p.VictimStoppedWhenRun, 0);
    assert_true(p.VictimCountWhenRun > 0);
}

static void quantum_end_round_robin(void **state)
{
    static KTHREAD t[2];
    static spinner_ctx s[2];
    KAFFINITY saved = pin_to_cpu0();
    for (int i = 0; i < 2; i++) {
        s[i] = (spinner_ctx){0};
        kt_start(&t[i], cpu_bound, &s[i], 6);
    }
    /* We (priority 8) sleep; the two equal-priority spinners share CPU 0
     * only through quantum end. */
    for (int i = 0; i < 5000 && !(s[0].Started && s[1].Started); i++)
        kt_sleep_ms(1);
    assert_true(s[0].Started && s[1].Started);
    LONG64 a0 = __atomic_load_n(&s[0].Count, __ATOMIC_RELAXED);
    LONG64 b0 = __atomic_load_n(&s[1].Count, __ATOMIC_RELAXED);
    /* Both must make progress; how soon depends on how loaded the host is,
     * so wait for the state (bounded), not for a fixed time. */
    LONG64 a = 0, b = 0;
    for (int i = 0; i < 10000 && (a <= 0 || b <= 0); i++) {
        kt_sleep_ms(1);
        a = __atomic_load_n(&s[0].Count, __ATOMIC_RELAXED) - a0;
        b = __atomic_load_n(&s[1].Count, __ATOMIC_RELAXED) - b0;
    }
    for (int i = 0; i < 2; i++)
        __atomic_store_n(&s[i].Stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 2; i++)
        kt_join(&t[i]);
    unpin(saved);
    assert_true(a > 0);
    assert_true(b > 0);
}

typedef struct boost_ctx {
    KEVENT Event;
    KPRIORITY AtWake;
    KPRIORITY Base;
} boost_ctx;

static VOID NTAPI boosted_waiter(PVOID p)
{
    boost_ctx *c = p;
    KeWaitForSingleObject(&c->Event, Executive, KernelMode, FALSE, NULL);
    c->AtWake = KeQueryPriorityThread(KeGetCurrentThread());
    c->Base = KeGetCurrentThread()->BasePriority;
}

static void wake_boost_applies_and_decays(void **state)
{
    static KTHREAD t;
    static boost_ctx c;
    KeInitializeEvent(&c.Event, SynchronizationEvent, FALSE);
    kt_start(&t, boosted_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    KeSetEvent(&c.Event, 2, FALSE);
    kt_join(&t);
    assert_int_equal(c.Base, 8);
    assert_int_equal(c.AtWake, 10);

    /* Decay: one level per quantum end back to the base. Start from base 8
     * whatever earlier tests left behind (a priority restored from a boosted
     * value moves the base too). */
    KTHREAD *self = KeGetCurrentThread();
    KeSetPriorityThread(self, 8);
    KIRQL old = KiAcquireDispatcherLock();
    KiBoostPriority(self, 3);
    /* Read before the lock drops: a quantum end may decay it right after. */
    KPRIORITY boosted = self->Priority;
    KiReleaseDispatcherLock(old);
    assert_int_equal(boosted, 11);
    ULONG64 end = arch_interrupt_time() + 50000000; /* up to 5 s: quantum ends come late on a loaded host */
    while (KeQueryPriorityThread(self) != 8 && arch_interrupt_time() < end)
        arch_pause();
    assert_int_equal(KeQueryPriorityThread(self), 8);
    /* Real-time threads are never boosted. */
    KeSetPriorityThread(self, 20);
    old = KiAcquireDispatcherLock();
    KiBoostPriority(self, 5);
    KiReleaseDispatcherLock(old);
    assert_int_equal(KeQueryPriorityThread(self), 20);
    KeSetPriorityThread(self, 8);
}

/* ---- affinity ---------------------------------------------------------------------- */

typedef struct hop_ctx {
    volatile LONG Mismatches;
    KAFFINITY AfterRevert;
    KAFFINITY Initial;
    KAFFINITY PreviousFromEx;
} hop_ctx;

/* Hops across every processor; runs in its own thread because the test
 * harness thread must stay on processor 0 (see KiProcessorStartup). */
static VOID NTAPI hop_processors(PVOID p)
{
    hop_ctx *c = p;
    ULONG n = arch_processor_count();
    c->Initial = KeGetCurrentThread()->Affinity;
    for (ULONG round = 0; round < 2; round++) {
        for (ULONG i = 0; i < n; i++) {
            KeSetSystemAffinityThread((KAFFINITY)1 << i);
            if (KeGetCurrentProcessorNumber() != i)
                c->Mismatches++;
            kt_sleep_ms(1);
            if (KeGetCurrentProcessorNumber() != i)
                c->Mismatches++;
        }
    }
    c->PreviousFromEx = KeSetSystemAffinityThreadEx(1);
    KeRevertToUserAffinityThread();
    c->AfterRevert = KeGetCurrentThread()->Affinity;
}

static void system_affinity_moves_the_thread(void **state)
{
    static KTHREAD t;
    static hop_ctx c;
    ULONG n = arch_processor_count();
    KAFFINITY active;
    assert_int_equal(KeQueryActiveProcessorCount(&active), n);
    assert_int_equal(active, KeQueryActiveProcessors());
    assert_int_equal(active, n >= 64 ? ~(KAFFINITY)0 : (((KAFFINITY)1 << n) - 1));
    c = (hop_ctx){0};
    kt_start(&t, hop_processors, &c, 8);
    kt_join(&t);
    assert_int_equal(c.Mismatches, 0);
    assert_int_equal(c.Initial, active);
    assert_int_equal(c.PreviousFromEx, (KAFFINITY)1 << (n - 1));
    assert_int_equal(c.AfterRevert, active);
    expect_bugcheck(INVALID_AFFINITY_SET, KeSetSystemAffinityThread(0));
}

typedef struct where_ctx {
    ULONG Cpu;
    KAFFINITY Affinity;
    volatile LONG Done;
} where_ctx;

static VOID NTAPI report_cpu(PVOID p)
{
    where_ctx *c = p;
    KeSetSystemAffinityThread(c->Affinity);
    for (int i = 0; i < 20; i++) {
        kt_sleep_ms(1);
        if (KeGetCurrentProcessorNumber() != (ULONG)__builtin_ctzll(c->Affinity))
            c->Cpu = 0xFFFF;
    }
    if (c->Cpu != 0xFFFF)
        c->Cpu = KeGetCurrentProcessorNumber();
}

static void threads_honour_affinity_on_every_cpu(void **state)
{
    static KTHREAD t[ARCH_MAX_CPUS];
    static where_ctx c[ARCH_MAX_CPUS];
    ULONG n = arch_processor_count();
    for (ULONG i = 0; i < n; i++) {
        c[i] = (where_ctx){.Affinity = (KAFFINITY)1 << i};
        kt_start(&t[i], report_cpu, &c[i], 9);
    }
    for (ULONG i = 0; i < n; i++) {
        kt_join(&t[i]);
        assert_int_equal(c[i].Cpu, i);
    }
}

/* ---- yield -------------------------------------------------------------------------- */

static void yield_with_and_without_competition(void **state)
{
    static KTHREAD t;
    static spinner_ctx s;
    KAFFINITY saved = pin_to_cpu0();
    /* Nobody else ready at our priority on CPU 0 may or may not hold; only
     * the status set is checked here. */
    NTSTATUS st = ZwYieldExecution();
    assert_true(st == STATUS_SUCCESS || st == STATUS_NO_YIELD_PERFORMED);
    s = (spinner_ctx){0};
    kt_start(&t, cpu_bound, &s, 8);
    assert_true(kt_spin_until(&s.Started, 5000));
    LONG64 before = __atomic_load_n(&s.Count, __ATOMIC_RELAXED);
    assert_int_equal(NtYieldExecution(), STATUS_SUCCESS);
    /* The equal-priority spinner ran while we yielded. */
    assert_true(__atomic_load_n(&s.Count, __ATOMIC_RELAXED) > before);
    __atomic_store_n(&s.Stop, 1, __ATOMIC_RELEASE);
    kt_join(&t);
    unpin(saved);
}

/* ---- alerts ------------------------------------------------------------------------- */

typedef struct alert_ctx {
    KEVENT Event;
    NTSTATUS Status;
    BOOLEAN Alertable;
} alert_ctx;

static VOID NTAPI alertable_waiter(PVOID p)
{
    alert_ctx *c = p;
    c->Status = KeWaitForSingleObject(&c->Event, Executive, KernelMode, c->Alertable, NULL);
}

static void alert_ends_alertable_wait_only(void **state)
{
    static KTHREAD t;
    static alert_ctx c;
    KeInitializeEvent(&c.Event, NotificationEvent, FALSE);
    c.Alertable = TRUE;
    kt_start(&t, alertable_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    assert_false(KeAlertThread(&t, KernelMode));
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_ALERTED);

    KeInitializeEvent(&c.Event, NotificationEvent, FALSE);
    c.Alertable = FALSE;
    kt_start(&t, alertable_waiter, &c, 8);
    while (kt_state(&t) != Waiting)
        kt_sleep_ms(1);
    assert_false(KeAlertThread(&t, KernelMode)); /* recorded, wait goes on */
    kt_sleep_ms(5);
    assert_int_equal(kt_state(&t), Waiting);
    KeSetEvent(&c.Event, 0, FALSE);
    kt_join(&t);
    assert_int_equal(c.Status, STATUS_SUCCESS);
}

static void pending_alert_returns_at_once_and_test_alert_clears(void **state)
{
    PKTHREAD self = KeGetCurrentThread();
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    assert_false(KeAlertThread(self, KernelMode));
    assert_true(KeAlertThread(self, KernelMode)); /* already alerted */
    assert_int_equal(KeWaitForSingleObject(&e, Executive, KernelMode, TRUE, NULL), STATUS_ALERTED);
    assert_false(KeTestAlertThread(KernelMode));
    KeAlertThread(self, KernelMode);
    assert_true(KeTestAlertThread(KernelMode));
    assert_false(KeTestAlertThread(KernelMode));
    LARGE_INTEGER t = kt_ms(2);
    KeAlertThread(self, KernelMode);
    assert_int_equal(KeDelayExecutionThread(KernelMode, TRUE, &t), STATUS_ALERTED);
    assert_int_equal(KeDelayExecutionThread(KernelMode, TRUE, &t), STATUS_SUCCESS);
}

/* ---- delays ------------------------------------------------------------------------ */

static void delay_execution_waits_at_least(void **state)
{
    LARGE_INTEGER t = kt_ms(15);
    ULONG64 t0 = arch_interrupt_time();
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &t), STATUS_SUCCESS);
    assert_true(arch_interrupt_time() - t0 >= 150000);
    LARGE_INTEGER zero = {.QuadPart = 0};
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, &zero), STATUS_SUCCESS);
    assert_int_equal(KeDelayExecutionThread(KernelMode, FALSE, NULL), STATUS_INVALID_PARAMETER);
}

/* ---- switching from a DPC ------------------------------------------------------------ */

static volatile LONG dpc_tried;

static VOID NTAPI dpc_that_waits(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    KEVENT e;
    KeInitializeEvent(&e, NotificationEvent, FALSE);
    dpc_tried = 1;
    KeWaitForSingleObject(&e, Executive, KernelMode, FALSE, NULL);
}

static void wait_from_dpc_bugchecks(void **state)
{
    KDPC dpc;
    KeInitializeDpc(&dpc, dpc_that_waits, NULL);
    dpc_tried = 0;
    expect_bugcheck(ATTEMPTED_SWITCH_FROM_DPC, {
        KIRQL old = KeRaiseIrqlToDpcLevel();
        KeInsertQueueDpc(&dpc, NULL, NULL);
        KeLowerIrql(old);
    });
    assert_int_equal(dpc_tried, 1);
    /* The catch abandoned the DPC mid-routine; put the processor back. */
    KiCurrentProcessor()->DpcRoutineActive = FALSE;
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(thread_start_join_and_exit_status),
    cmocka_unit_test(thread_init_rejects_bad_arguments),
    cmocka_unit_test(many_threads_run_and_exit),
    cmocka_unit_test(priority_query_and_set),
    cmocka_unit_test(base_priority_increment),
    cmocka_unit_test(woken_threads_run_in_priority_order),
    cmocka_unit_test(readied_high_priority_preempts_cpu_bound_thread),
    cmocka_unit_test(quantum_end_round_robin),
    cmocka_unit_test(wake_boost_applies_and_decays),
    cmocka_unit_test(system_affinity_moves_the_thread),
    cmocka_unit_test(threads_honour_affinity_on_every_cpu),
    cmocka_unit_test(yield_with_and_without_competition),
    cmocka_unit_test(alert_ends_alertable_wait_only),
    cmocka_unit_test(pending_alert_returns_at_once_and_test_alert_clears),
    cmocka_unit_test(delay_execution_waits_at_least),
    cmocka_unit_test(wait_from_dpc_bugchecks),
};

NTOS_TEST_GROUP(ke_sched, tests, NULL, NULL);
