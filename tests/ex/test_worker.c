/*
 * System worker threads: where and how items run (worker thread, PASSIVE_LEVEL,
 * the queue's priority), every queue type including custom priorities, FIFO
 * order, items from many threads and from DISPATCH_LEVEL, requeueing from the
 * routine, and the misuse bug checks.
 *
 * The checks a worker makes after a routine returns bug-check on the worker
 * thread, where a test cannot catch them (a catch frame belongs to the thread
 * that armed it); they are tested by calling ExpCheckWorkerReturn, the
 * function the worker calls, on the test thread. Likewise the dequeue check
 * through ExpRemoveWorkItem on a list of the test's own.
 */
#include "ntos_ke_test.h"
#include <ntos/ex_lists.h>

#define WAIT_MS 20000

static void wait_event(PKEVENT Event)
{
    LARGE_INTEGER t = kt_ms(WAIT_MS);
    assert_int_equal(KeWaitForSingleObject(Event, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
}

/* ---- layout and initialisation ----------------------------------------------------------- */

static VOID NTAPI nop_routine(PVOID Parameter)
{
    UNREFERENCED_PARAMETER(Parameter);
}

static void work_item_layout_and_init(void **state)
{
    assert_int_equal(sizeof(WORK_QUEUE_ITEM), 0x20);
    assert_int_equal(offsetof(WORK_QUEUE_ITEM, List), 0);
    assert_int_equal(offsetof(WORK_QUEUE_ITEM, WorkerRoutine), 0x10);
    assert_int_equal(offsetof(WORK_QUEUE_ITEM, Parameter), 0x18);
    assert_int_equal(CriticalWorkQueue, 0);
    assert_int_equal(DelayedWorkQueue, 1);
    assert_int_equal(HyperCriticalWorkQueue, 2);
    assert_int_equal(MaximumWorkQueue, 7);
    assert_int_equal(CustomPriorityWorkQueue, 32);

    WORK_QUEUE_ITEM item;
    item.List.Flink = (PLIST_ENTRY)&item;
    item.List.Blink = (PLIST_ENTRY)&item;
    ExInitializeWorkItem(&item, nop_routine, (PVOID)0x1234);
    assert_null(item.List.Flink);
    assert_ptr_equal(item.WorkerRoutine, nop_routine);
    assert_ptr_equal(item.Parameter, (PVOID)0x1234);

    /* The documented priorities. */
    static const KPRIORITY prio[MaximumWorkQueue] = {13, 12, 15, 8, 7, 18, 14};
    for (ULONG q = 0; q < MaximumWorkQueue; q++) {
        assert_int_equal(ExpWorkerPriority((WORK_QUEUE_TYPE)q), prio[q]);
        assert_true(ExpWorkerThreadCount((WORK_QUEUE_TYPE)q) >= 1);
    }
    assert_int_equal(ExpWorkerThreadCount(HyperCriticalWorkQueue), 1);
}

/* ---- where items run ---------------------------------------------------------------------- */

typedef struct run_record {
    WORK_QUEUE_ITEM Item;
    KEVENT Done;
    PKTHREAD Thread;
    KIRQL Irql;
    KPRIORITY BasePriority;
    BOOLEAN ApcsDisabled;
    BOOLEAN InterruptsEnabled;
    BOOLEAN FlinkWasNull;
    KPROCESSOR_MODE PreviousMode;
} run_record;

static VOID NTAPI record_routine(PVOID Parameter)
{
    run_record *r = Parameter;
    r->Thread = KeGetCurrentThread();
    r->Irql = KeGetCurrentIrql();
    r->BasePriority = r->Thread->BasePriority;
    r->ApcsDisabled = KeAreApcsDisabled();
    r->InterruptsEnabled = arch_interrupts_enabled();
    r->FlinkWasNull = __atomic_load_n(&r->Item.List.Flink, __ATOMIC_ACQUIRE) == NULL;
    r->PreviousMode = ExGetPreviousMode();
    KeSetEvent(&r->Done, 0, FALSE);
}

static void run_one(run_record *r, WORK_QUEUE_TYPE Type)
{
    *r = (run_record){0};
    KeInitializeEvent(&r->Done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&r->Item, record_routine, r);
    ExQueueWorkItem(&r->Item, Type);
    wait_event(&r->Done);
}

static void work_items_run_in_workers_at_passive(void **state)
{
    static run_record r;
    for (ULONG q = 0; q < MaximumWorkQueue; q++) {
        run_one(&r, (WORK_QUEUE_TYPE)q);
        assert_non_null(r.Thread);
        assert_ptr_not_equal(r.Thread, KeGetCurrentThread());
        assert_true(r.Thread->SystemThread);
        assert_int_equal(r.Irql, PASSIVE_LEVEL);
        assert_int_equal(r.BasePriority, ExpWorkerPriority((WORK_QUEUE_TYPE)q));
        assert_false(r.ApcsDisabled);
        assert_true(r.InterruptsEnabled);
        assert_true(r.FlinkWasNull);
        assert_int_equal(r.PreviousMode, KernelMode);
    }
}

static void work_items_custom_priority(void **state)
{
    static run_record r;
    /* Highest standard queue priority not above the one asked for. */
    static const struct {
        KPRIORITY Asked, Runs;
    } cases[] = {{1, 7}, {7, 7}, {8, 8}, {11, 8}, {12, 12}, {13, 13}, {14, 14}, {15, 15}, {17, 15},
                 {18, 18}, {31, 18}};
    for (ULONG i = 0; i < RTL_NUMBER_OF(cases); i++) {
        run_one(&r, (WORK_QUEUE_TYPE)(CustomPriorityWorkQueue + cases[i].Asked));
        assert_int_equal(r.Irql, PASSIVE_LEVEL);
        assert_int_equal(r.BasePriority, cases[i].Runs);
    }
}

static VOID NTAPI queue_at_dispatch_dpc(PKDPC Dpc, PVOID Context, PVOID A1, PVOID A2)
{
    run_record *r = Context;
    ExQueueWorkItem(&r->Item, DelayedWorkQueue);
}

static void work_items_queued_at_dispatch_level(void **state)
{
    static run_record r;
    static KDPC dpc;
    r = (run_record){0};
    KeInitializeEvent(&r.Done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&r.Item, record_routine, &r);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ExQueueWorkItem(&r.Item, CriticalWorkQueue);
    KeLowerIrql(old);
    wait_event(&r.Done);
    assert_int_equal(r.Irql, PASSIVE_LEVEL);
    assert_int_equal(r.BasePriority, 13);

    /* From a DPC routine. */
    r = (run_record){0};
    KeInitializeEvent(&r.Done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&r.Item, record_routine, &r);
    KeInitializeDpc(&dpc, queue_at_dispatch_dpc, &r);
    KeInsertQueueDpc(&dpc, NULL, NULL);
    wait_event(&r.Done);
    assert_int_equal(r.Irql, PASSIVE_LEVEL);
    assert_int_equal(r.BasePriority, 12);
}

/* ---- FIFO order --------------------------------------------------------------------------- */

#define FIFO_ITEMS 64

static WORK_QUEUE_ITEM fifo_items[FIFO_ITEMS];
static volatile LONG fifo_next;
static LONG fifo_order[FIFO_ITEMS];
static KEVENT fifo_done;
static KEVENT gate_started, gate_open;
static WORK_QUEUE_ITEM gate_item;
static volatile BOOLEAN gate_closed;

static VOID NTAPI fifo_routine(PVOID Parameter)
{
    LONG slot = __atomic_fetch_add(&fifo_next, 1, __ATOMIC_RELAXED);
    fifo_order[slot] = (LONG)(ULONG_PTR)Parameter;
    if (slot == FIFO_ITEMS - 1)
        KeSetEvent(&fifo_done, 0, FALSE);
}

static VOID NTAPI gate_routine(PVOID Parameter)
{
    KeSetEvent(&gate_started, 0, FALSE);
    KeWaitForSingleObject(&gate_open, Executive, KernelMode, FALSE, NULL);
}

/* Occupies the only worker of a one-thread queue until open_gate. */
static void close_gate(WORK_QUEUE_TYPE Type)
{
    assert_int_equal(ExpWorkerThreadCount(Type), 1);
    KeInitializeEvent(&gate_started, NotificationEvent, FALSE);
    KeInitializeEvent(&gate_open, NotificationEvent, FALSE);
    ExInitializeWorkItem(&gate_item, gate_routine, NULL);
    gate_closed = TRUE;
    ExQueueWorkItem(&gate_item, Type);
    wait_event(&gate_started);
}

static void open_gate(void)
{
    gate_closed = FALSE;
    KeSetEvent(&gate_open, 0, FALSE);
}

/* A test that fails between close_gate and open_gate must not leave the
 * queue's only worker blocked for good: later groups (io_workitem's
 * background-queue test) would time out waiting for it, and the next
 * close_gate would reinitialise an event the worker still waits on. */
static int gate_teardown(void **state)
{
    (void)state;
    if (gate_closed)
        open_gate();
    return 0;
}

static void work_items_fifo_within_a_queue(void **state)
{
    static const WORK_QUEUE_TYPE single[] = {HyperCriticalWorkQueue, BackgroundWorkQueue, RealTimeWorkQueue,
                                             SuperCriticalWorkQueue};
    for (ULONG q = 0; q < RTL_NUMBER_OF(single); q++) {
        /* The whole batch is queued behind a blocked item, so the worker
         * sees a full queue and must take it in order. */
        close_gate(single[q]);
        fifo_next = 0;
        KeInitializeEvent(&fifo_done, NotificationEvent, FALSE);
        for (ULONG i = 0; i < FIFO_ITEMS; i++) {
            ExInitializeWorkItem(&fifo_items[i], fifo_routine, (PVOID)(ULONG_PTR)i);
            ExQueueWorkItem(&fifo_items[i], single[q]);
        }
        assert_int_equal(fifo_next, 0);
        open_gate();
        wait_event(&fifo_done);
        for (ULONG i = 0; i < FIFO_ITEMS; i++)
            assert_int_equal(fifo_order[i], i);
    }
}

/* ---- many items from many threads ----------------------------------------------------------- */

#define MANY_THREADS 4
#define MANY_PER_THREAD 150
#define MANY_TOTAL (MANY_THREADS * MANY_PER_THREAD)

static WORK_QUEUE_ITEM many_items[MANY_TOTAL];
static volatile LONG many_runs[MANY_TOTAL];
static volatile LONG many_done_count;
static volatile LONG many_bad;
static KEVENT many_done;
static PKTHREAD many_queuers[MANY_THREADS];

static VOID NTAPI many_routine(PVOID Parameter)
{
    ULONG index = (ULONG)(ULONG_PTR)Parameter;
    __atomic_fetch_add(&many_runs[index], 1, __ATOMIC_RELAXED);
    PKTHREAD self = KeGetCurrentThread();
    for (ULONG t = 0; t < MANY_THREADS; t++)
        if (self == many_queuers[t])
            __atomic_fetch_add(&many_bad, 1, __ATOMIC_RELAXED);
    if (KeGetCurrentIrql() != PASSIVE_LEVEL)
        __atomic_fetch_add(&many_bad, 1, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&many_done_count, 1, __ATOMIC_ACQ_REL) == MANY_TOTAL)
        KeSetEvent(&many_done, 0, FALSE);
}

static VOID NTAPI many_queuer(PVOID Context)
{
    ULONG t = (ULONG)(ULONG_PTR)Context;
    for (ULONG i = 0; i < MANY_PER_THREAD; i++) {
        ULONG index = t * MANY_PER_THREAD + i;
        ExInitializeWorkItem(&many_items[index], many_routine, (PVOID)(ULONG_PTR)index);
        ExQueueWorkItem(&many_items[index], (WORK_QUEUE_TYPE)((t + i) % MaximumWorkQueue));
        if ((i & 7) == 0)
            arch_pause();
    }
}

static void work_items_many_from_many_threads(void **state)
{
    static KTHREAD threads[MANY_THREADS];
    many_done_count = 0;
    many_bad = 0;
    for (ULONG i = 0; i < MANY_TOTAL; i++)
        many_runs[i] = 0;
    KeInitializeEvent(&many_done, NotificationEvent, FALSE);
    for (ULONG t = 0; t < MANY_THREADS; t++)
        many_queuers[t] = &threads[t];
    for (ULONG t = 0; t < MANY_THREADS; t++)
        kt_start(&threads[t], many_queuer, (PVOID)(ULONG_PTR)t, 8);
    for (ULONG t = 0; t < MANY_THREADS; t++)
        kt_join(&threads[t]);
    wait_event(&many_done);
    assert_int_equal(many_bad, 0);
    for (ULONG i = 0; i < MANY_TOTAL; i++) {
        assert_int_equal(many_runs[i], 1);
        assert_null(__atomic_load_n(&many_items[i].List.Flink, __ATOMIC_ACQUIRE));
    }
}

/* ---- requeue from the routine ------------------------------------------------------------- */

#define REQUEUE_TIMES 10

static WORK_QUEUE_ITEM requeue_item;
static volatile LONG requeue_runs;
static volatile LONG requeue_bad;
static KEVENT requeue_done;

static VOID NTAPI requeue_routine(PVOID Parameter)
{
    /* The item is already marked not queued when its routine runs. */
    if (__atomic_load_n(&requeue_item.List.Flink, __ATOMIC_ACQUIRE) != NULL)
        __atomic_fetch_add(&requeue_bad, 1, __ATOMIC_RELAXED);
    if (__atomic_add_fetch(&requeue_runs, 1, __ATOMIC_RELAXED) <= REQUEUE_TIMES)
        ExQueueWorkItem(&requeue_item, CriticalWorkQueue);
    else
        KeSetEvent(&requeue_done, 0, FALSE);
}

static void work_item_requeues_itself(void **state)
{
    requeue_runs = 0;
    requeue_bad = 0;
    KeInitializeEvent(&requeue_done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&requeue_item, requeue_routine, NULL);
    ExQueueWorkItem(&requeue_item, CriticalWorkQueue);
    wait_event(&requeue_done);
    assert_int_equal(requeue_runs, REQUEUE_TIMES + 1);
    assert_int_equal(requeue_bad, 0);
}

/* ---- misuse --------------------------------------------------------------------------------- */

static void queue_active_item_bugchecks(void **state)
{
    static WORK_QUEUE_ITEM item;
    static run_record r;

    /* An item whose Flink is not NULL counts as queued. */
    ExInitializeWorkItem(&item, nop_routine, NULL);
    item.List.Flink = &item.List;
    expect_bugcheck(WORKER_INVALID, ExQueueWorkItem(&item, DelayedWorkQueue));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&item);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], DelayedWorkQueue);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);

    /* Really queued: behind a blocked worker, then queued again. */
    close_gate(HyperCriticalWorkQueue);
    r = (run_record){0};
    KeInitializeEvent(&r.Done, NotificationEvent, FALSE);
    ExInitializeWorkItem(&r.Item, record_routine, &r);
    ExQueueWorkItem(&r.Item, HyperCriticalWorkQueue);
    assert_non_null(r.Item.List.Flink);
    expect_bugcheck(WORKER_INVALID, ExQueueWorkItem(&r.Item, HyperCriticalWorkQueue));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 1);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&r.Item);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], HyperCriticalWorkQueue);
    /* Also to another queue. */
    expect_bugcheck(WORKER_INVALID, ExQueueWorkItem(&r.Item, CriticalWorkQueue));
    open_gate();
    wait_event(&r.Done);
    /* It ran once, and can be queued again now. */
    assert_int_equal(r.Irql, PASSIVE_LEVEL);
    KeClearEvent(&r.Done);
    ExQueueWorkItem(&r.Item, HyperCriticalWorkQueue);
    wait_event(&r.Done);
}

static void queue_invalid_type_or_routine_bugchecks(void **state)
{
    static WORK_QUEUE_ITEM item;
    static const ULONG bad_types[] = {MaximumWorkQueue, 8, 31, CustomPriorityWorkQueue,
                                      CustomPriorityWorkQueue + 32, 0xFFFFFFFF};
    ExInitializeWorkItem(&item, nop_routine, NULL);
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad_types); i++) {
        expect_bugcheck(WORKER_INVALID, ExQueueWorkItem(&item, (WORK_QUEUE_TYPE)bad_types[i]));
        assert_int_equal(ntos_last_bugcheck.Parameter[0], 6);
        assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&item);
        assert_int_equal(ntos_last_bugcheck.Parameter[2], bad_types[i]);
        assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
        assert_null(item.List.Flink); /* not claimed */
    }
    ExInitializeWorkItem(&item, NULL, NULL);
    expect_bugcheck(WORKER_INVALID, ExQueueWorkItem(&item, CriticalWorkQueue));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 7);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&item);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], CriticalWorkQueue);
    assert_null(item.List.Flink);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

static void worker_return_checks(void **state)
{
    static WORK_QUEUE_ITEM item;
    PVOID param = (PVOID)0x5678;
    ExInitializeWorkItem(&item, nop_routine, param);

    /* Clean return: nothing happens. */
    ExpCheckWorkerReturn(nop_routine, param, &item);

    static const KIRQL bad[] = {APC_LEVEL, DISPATCH_LEVEL};
    for (ULONG i = 0; i < RTL_NUMBER_OF(bad); i++) {
        KIRQL old = KfRaiseIrql(bad[i]);
        expect_bugcheck(WORKER_THREAD_RETURNED_AT_BAD_IRQL, ExpCheckWorkerReturn(nop_routine, param, &item));
        assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)nop_routine);
        assert_int_equal(ntos_last_bugcheck.Parameter[1], bad[i]);
        assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)param);
        assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)&item);
        assert_int_equal(KeGetCurrentIrql(), bad[i]); /* restored to the arming IRQL */
        KeLowerIrql(old);
    }

    KeEnterCriticalRegion();
    expect_bugcheck(APC_INDEX_MISMATCH, ExpCheckWorkerReturn(nop_routine, param, &item));
    KeLeaveCriticalRegion();
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)nop_routine);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 0x0000FFFF);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 1);

    KeEnterGuardedRegion();
    expect_bugcheck(APC_INDEX_MISMATCH, ExpCheckWorkerReturn(nop_routine, param, &item));
    KeLeaveGuardedRegion();
    assert_int_equal(ntos_last_bugcheck.Parameter[2], 0xFFFF0000);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 1);

    /* IRQL is checked first. */
    KeEnterCriticalRegion();
    KIRQL old = KfRaiseIrql(APC_LEVEL);
    expect_bugcheck(WORKER_THREAD_RETURNED_AT_BAD_IRQL, ExpCheckWorkerReturn(nop_routine, param, &item));
    KeLowerIrql(old);
    KeLeaveCriticalRegion();
    assert_false(KeAreApcsDisabled());
}

static void worker_dequeue_of_reinitialised_item_bugchecks(void **state)
{
    static WORK_QUEUE_ITEM a, b;
    LIST_ENTRY queue;
    InitializeListHead(&queue);
    ExInitializeWorkItem(&a, nop_routine, NULL);
    ExInitializeWorkItem(&b, nop_routine, NULL);
    InsertTailList(&queue, &a.List);
    InsertTailList(&queue, &b.List);
    assert_ptr_equal(ExpRemoveWorkItem(&queue), &a);
    /* b is reinitialised while still queued: its Flink is NULL now. */
    ExInitializeWorkItem(&b, nop_routine, NULL);
    expect_bugcheck(INVALID_WORK_QUEUE_ITEM, ExpRemoveWorkItem(&queue));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&b.List);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&queue);
    assert_int_not_equal(ntos_last_bugcheck.Parameter[2], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)nop_routine);
}

static const struct CMUnitTest worker_tests[] = {
    cmocka_unit_test(work_item_layout_and_init),
    cmocka_unit_test(work_items_run_in_workers_at_passive),
    cmocka_unit_test(work_items_custom_priority),
    cmocka_unit_test(work_items_queued_at_dispatch_level),
    cmocka_unit_test_setup_teardown(work_items_fifo_within_a_queue, NULL, gate_teardown),
    cmocka_unit_test(work_items_many_from_many_threads),
    cmocka_unit_test(work_item_requeues_itself),
    cmocka_unit_test_setup_teardown(queue_active_item_bugchecks, NULL, gate_teardown),
    cmocka_unit_test(queue_invalid_type_or_routine_bugchecks),
    cmocka_unit_test(worker_return_checks),
    cmocka_unit_test(worker_dequeue_of_reinitialised_item_bugchecks),
};

NTOS_TEST_GROUP(ex_worker, worker_tests, NULL, NULL);
