/*
 * DPCs: object initialisation, queueing and removal, delivery when the IRQL
 * drops below DISPATCH_LEVEL, ordering by importance, targeted and threaded
 * DPCs, flushing, the bug check for a routine returning at the wrong IRQL, and
 * a cross-CPU stress of insert/remove/run.
 *
 * DPC routines only record what they see (atomically: some run on other
 * processors); the test body asserts afterwards, since an assertion may only
 * fail on the thread running the test.
 */
#include "ntos_test.h"

#define WAIT_TIMEOUT_100NS (20ULL * 10000000ULL) /* 20 s */

/* ---- helpers ---------------------------------------------------------------------- */

static LONG load(volatile LONG *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void store(volatile LONG *p, LONG v)
{
    __atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static void inc(volatile LONG *p)
{
    __atomic_fetch_add(p, 1, __ATOMIC_ACQ_REL);
}

/* Spins (an interruptible point, so DPCs keep flowing) until *p >= value. */
static BOOLEAN wait_at_least(volatile LONG *p, LONG value)
{
    ULONG64 deadline = arch_interrupt_time() + WAIT_TIMEOUT_100NS;
    while (load(p) < value) {
        if (arch_interrupt_time() > deadline)
            return FALSE;
        arch_pause();
    }
    return TRUE;
}

static void fill_bytes(void *p, SIZE_T n, UCHAR v)
{
    volatile UCHAR *b = p;
    for (SIZE_T i = 0; i < n; i++)
        b[i] = v;
}

/* What one run of a DPC routine saw. */
typedef struct {
    volatile LONG Runs;
    volatile LONG Cpu;
    volatile LONG Irql;
    volatile LONG Executing;
    PVOID volatile Thread;
    PVOID volatile Dpc;
    PVOID volatile Context;
    PVOID volatile Arg1;
    PVOID volatile Arg2;
} RECORD;

static void record_reset(RECORD *r)
{
    store(&r->Runs, 0);
    store(&r->Cpu, -1);
    store(&r->Irql, -1);
    store(&r->Executing, -1);
    __atomic_store_n(&r->Thread, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Dpc, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Context, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Arg1, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Arg2, NULL, __ATOMIC_RELEASE);
}

/* Context = RECORD *. */
static VOID NTAPI record_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    RECORD *r = Context;
    store(&r->Cpu, (LONG)KeGetCurrentProcessorNumber());
    store(&r->Irql, KeGetCurrentIrql());
    store(&r->Executing, KeIsExecutingDpc());
    __atomic_store_n(&r->Thread, KeGetCurrentThread(), __ATOMIC_RELEASE);
    __atomic_store_n(&r->Dpc, Dpc, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Context, Context, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Arg1, Arg1, __ATOMIC_RELEASE);
    __atomic_store_n(&r->Arg2, Arg2, __ATOMIC_RELEASE);
    inc(&r->Runs);
}

static VOID NTAPI unused_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg1, (void)Arg2;
}

/* ---- object ------------------------------------------------------------------------- */

static void init_fields_and_layout(void **state)
{
    (void)state;
    assert_int_equal(sizeof(KDPC), 0x40);
    assert_int_equal(offsetof(KDPC, Type), 0x00);
    assert_int_equal(offsetof(KDPC, Importance), 0x01);
    assert_int_equal(offsetof(KDPC, Number), 0x02);
    assert_int_equal(offsetof(KDPC, DpcListEntry), 0x08);
    assert_int_equal(offsetof(KDPC, ProcessorHistory), 0x10);
    assert_int_equal(offsetof(KDPC, DeferredRoutine), 0x18);
    assert_int_equal(offsetof(KDPC, DeferredContext), 0x20);
    assert_int_equal(offsetof(KDPC, SystemArgument1), 0x28);
    assert_int_equal(offsetof(KDPC, SystemArgument2), 0x30);
    assert_int_equal(offsetof(KDPC, DpcData), 0x38);

    KDPC d;
    fill_bytes(&d, sizeof(d), 0xA5);
    KeInitializeDpc(&d, unused_routine, (PVOID)0x1234);
    assert_int_equal(d.Type, DpcObject);
    assert_int_equal(d.Type, 0x13);
    assert_int_equal(d.Importance, MediumImportance);
    assert_int_equal(d.Number, 0);
    assert_null(d.DpcData);
    assert_ptr_equal(d.DeferredRoutine, unused_routine);
    assert_ptr_equal(d.DeferredContext, (PVOID)0x1234);
    assert_null(d.SystemArgument1);
    assert_null(d.SystemArgument2);

    fill_bytes(&d, sizeof(d), 0x5A);
    KeInitializeThreadedDpc(&d, unused_routine, NULL);
    assert_int_equal(d.Type, ThreadedDpcObject);
    assert_int_equal(d.Importance, MediumImportance);
    assert_int_equal(d.Number, 0);
    assert_null(d.DpcData);

    KeSetImportanceDpc(&d, HighImportance);
    assert_int_equal(d.Importance, HighImportance);
    KeSetImportanceDpc(&d, LowImportance);
    assert_int_equal(d.Importance, LowImportance);

    /* A target, even processor 0, is distinguishable from "no target". */
    KeSetTargetProcessorDpc(&d, 0);
    assert_int_not_equal(d.Number, 0);
    USHORT zero = d.Number;
    if (arch_processor_count() > 1) {
        KeSetTargetProcessorDpc(&d, 1);
        assert_int_equal(d.Number, zero + 1);
    }
}

static void target_out_of_range_bugchecks(void **state)
{
    (void)state;
    KDPC d;
    KeInitializeDpc(&d, unused_routine, NULL);
    ULONG count = arch_processor_count();
    expect_bugcheck(INVALID_AFFINITY_SET, KeSetTargetProcessorDpc(&d, (CCHAR)count));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], count);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], count);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[2], &d);
    expect_bugcheck(INVALID_AFFINITY_SET, KeSetTargetProcessorDpc(&d, (CCHAR)-1));
    assert_int_equal(d.Number, 0);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* ---- delivery ----------------------------------------------------------------------- */

static void runs_when_irql_drops(void **state)
{
    (void)state;
    static RECORD r;
    record_reset(&r);
    KDPC d;
    KeInitializeDpc(&d, record_routine, &r);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG cpu = KeGetCurrentProcessorNumber();
    assert_true(KeInsertQueueDpc(&d, (PVOID)11, (PVOID)22));
    assert_non_null(d.DpcData);
    KeStallExecutionProcessor(200); /* interruptible, but DISPATCH_LEVEL masks the DPC */
    assert_int_equal(load(&r.Runs), 0);
    KeLowerIrql(old);

    assert_int_equal(load(&r.Runs), 1);
    assert_int_equal(load(&r.Cpu), cpu);
    assert_int_equal(load(&r.Irql), DISPATCH_LEVEL);
    assert_int_equal(load(&r.Executing), TRUE);
    assert_ptr_equal(r.Dpc, &d);
    assert_ptr_equal(r.Context, &r);
    assert_ptr_equal(r.Arg1, (PVOID)11);
    assert_ptr_equal(r.Arg2, (PVOID)22);
    assert_null(d.DpcData);
    assert_false(KeIsExecutingDpc());
}

static void insert_at_passive_runs_before_return(void **state)
{
    (void)state;
    static RECORD r;
    record_reset(&r);
    KDPC d;
    KeInitializeDpc(&d, record_routine, &r);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* Below DISPATCH_LEVEL the software interrupt is taken at once. */
    assert_true(KeInsertQueueDpc(&d, (PVOID)1, NULL));
    assert_int_equal(load(&r.Runs), 1);
    assert_int_equal(load(&r.Irql), DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    /* Run and no longer queued: it can be inserted again. */
    assert_true(KeInsertQueueDpc(&d, (PVOID)2, NULL));
    assert_int_equal(load(&r.Runs), 2);
    assert_ptr_equal(r.Arg1, (PVOID)2);
}

static void insert_twice_returns_false(void **state)
{
    (void)state;
    static RECORD r;
    record_reset(&r);
    KDPC d;
    KeInitializeDpc(&d, record_routine, &r);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&d, (PVOID)1, (PVOID)2));
    /* Already queued: nothing happens, the first arguments stay. */
    assert_false(KeInsertQueueDpc(&d, (PVOID)3, (PVOID)4));
    assert_false(KeInsertQueueDpc(&d, (PVOID)5, (PVOID)6));
    KeLowerIrql(old);

    assert_int_equal(load(&r.Runs), 1);
    assert_ptr_equal(r.Arg1, (PVOID)1);
    assert_ptr_equal(r.Arg2, (PVOID)2);
}

static void remove_cancels(void **state)
{
    (void)state;
    static RECORD r;
    record_reset(&r);
    KDPC a, b, c;
    KeInitializeDpc(&a, record_routine, &r);
    KeInitializeDpc(&b, record_routine, &r);
    KeInitializeDpc(&c, record_routine, &r);

    assert_false(KeRemoveQueueDpc(&a)); /* never queued */

    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&a, NULL, NULL));
    assert_true(KeInsertQueueDpc(&b, NULL, NULL));
    assert_true(KeInsertQueueDpc(&c, NULL, NULL));
    /* Middle, tail and head of the queue. */
    assert_true(KeRemoveQueueDpc(&b));
    assert_null(b.DpcData);
    assert_false(KeRemoveQueueDpc(&b));
    assert_true(KeRemoveQueueDpc(&c));
    assert_true(KeRemoveQueueDpc(&a));
    /* The queue is consistent after removing its tail: a new tail insert works. */
    assert_true(KeInsertQueueDpc(&b, (PVOID)7, NULL));
    KeLowerIrql(old);

    assert_int_equal(load(&r.Runs), 1);
    assert_ptr_equal(r.Dpc, &b);
    assert_ptr_equal(r.Arg1, (PVOID)7);
    assert_false(KeRemoveQueueDpc(&b)); /* already run */

    /* Removed, then inserted again: runs once. */
    old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&a, NULL, NULL));
    assert_true(KeRemoveQueueDpc(&a));
    assert_true(KeInsertQueueDpc(&a, (PVOID)8, NULL));
    KeLowerIrql(old);
    assert_int_equal(load(&r.Runs), 2);
    assert_ptr_equal(r.Dpc, &a);
}

/* ---- ordering ------------------------------------------------------------------------- */

static volatile LONG order_log[16];
static volatile LONG order_count;

static VOID NTAPI order_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Arg1, (void)Arg2;
    LONG i = __atomic_fetch_add(&order_count, 1, __ATOMIC_ACQ_REL);
    if (i < 16)
        store(&order_log[i], (LONG)(ULONG_PTR)Context);
}

static void ordering_by_importance(void **state)
{
    (void)state;
    store(&order_count, 0);
    /* HighImportance goes to the head (the last one inserted runs first);
     * every other importance appends to the tail, in insertion order. */
    KDPC d[7];
    static const KDPC_IMPORTANCE imp[7] = {MediumImportance, LowImportance,  HighImportance,
                                           MediumImportance, MediumHighImportance, HighImportance,
                                           MediumImportance};
    for (int i = 0; i < 7; i++) {
        KeInitializeDpc(&d[i], order_routine, (PVOID)(ULONG_PTR)i);
        KeSetImportanceDpc(&d[i], imp[i]);
    }
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (int i = 0; i < 7; i++)
        assert_true(KeInsertQueueDpc(&d[i], NULL, NULL));
    assert_int_equal(load(&order_count), 0);
    KeLowerIrql(old);

    static const LONG expected[7] = {5, 2, 0, 1, 3, 4, 6};
    assert_int_equal(load(&order_count), 7);
    for (int i = 0; i < 7; i++)
        assert_int_equal(load(&order_log[i]), expected[i]);
}

static void fifo_within_medium(void **state)
{
    (void)state;
    store(&order_count, 0);
    KDPC d[16];
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (int i = 0; i < 16; i++) {
        KeInitializeDpc(&d[i], order_routine, (PVOID)(ULONG_PTR)i);
        assert_true(KeInsertQueueDpc(&d[i], NULL, NULL));
    }
    KeLowerIrql(old);
    assert_int_equal(load(&order_count), 16);
    for (int i = 0; i < 16; i++)
        assert_int_equal(load(&order_log[i]), i);
}

/* ---- routines that queue ------------------------------------------------------------------ */

static volatile LONG requeue_runs;
static volatile LONG requeue_reinserted;

static VOID NTAPI requeue_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Arg2;
    LONG n = __atomic_add_fetch(&requeue_runs, 1, __ATOMIC_ACQ_REL);
    if (n != (LONG)(ULONG_PTR)Arg1 + 1)
        return; /* arguments must be those of the insertion that queued this run */
    if (n < (LONG)(ULONG_PTR)Context) {
        /* The DPC is not queued while its routine runs, so this succeeds. */
        if (KeInsertQueueDpc(Dpc, (PVOID)(ULONG_PTR)n, NULL))
            inc(&requeue_reinserted);
    }
}

static void dpc_requeues_itself(void **state)
{
    (void)state;
    store(&requeue_runs, 0);
    store(&requeue_reinserted, 0);
    KDPC d;
    KeInitializeDpc(&d, requeue_routine, (PVOID)10);
    assert_true(KeInsertQueueDpc(&d, (PVOID)0, NULL));
    assert_int_equal(load(&requeue_runs), 10);
    assert_int_equal(load(&requeue_reinserted), 9);
    assert_null(d.DpcData);
}

/* ---- KeIsExecutingDpc ------------------------------------------------------------------------ */

static void is_executing_dpc(void **state)
{
    (void)state;
    assert_false(KeIsExecutingDpc());
    KIRQL old = KeRaiseIrqlToDpcLevel();
    /* DISPATCH_LEVEL alone is not "executing a DPC". */
    assert_false(KeIsExecutingDpc());
    KeLowerIrql(old);

    static RECORD r;
    record_reset(&r);
    KDPC d;
    KeInitializeDpc(&d, record_routine, &r);
    assert_true(KeInsertQueueDpc(&d, NULL, NULL));
    assert_int_equal(load(&r.Runs), 1);
    assert_int_equal(load(&r.Executing), TRUE);
    assert_false(KeIsExecutingDpc());
}

/* ---- threaded DPCs -------------------------------------------------------------------------- */

/*
 * Threaded DPCs run at PASSIVE_LEVEL in their processor's threaded-DPC thread;
 * the first KeInitializeThreadedDpc at PASSIVE_LEVEL starts those threads, so
 * in these tests (a thread at PASSIVE_LEVEL) they always exist.
 */
static void threaded_dpc_runs_at_passive_in_its_thread(void **state)
{
    (void)state;
    static RECORD r;
    record_reset(&r);
    KDPC d;
    KeInitializeThreadedDpc(&d, record_routine, &r);
    /* At DISPATCH_LEVEL neither this processor's DPC queue nor its threaded-DPC
     * thread can run, so the DPC stays queued. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG cpu = KeGetCurrentProcessorNumber();
    assert_true(KeInsertQueueDpc(&d, (PVOID)5, (PVOID)6));
    assert_non_null(d.DpcData);
    assert_false(KeInsertQueueDpc(&d, NULL, NULL));
    KeStallExecutionProcessor(200);
    assert_int_equal(load(&r.Runs), 0);
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    assert_int_equal(load(&r.Runs), 1);
    assert_int_equal(load(&r.Irql), PASSIVE_LEVEL);
    assert_int_equal(load(&r.Cpu), cpu);
    assert_int_equal(load(&r.Executing), TRUE);
    assert_non_null(r.Thread);
    assert_ptr_not_equal(r.Thread, KeGetCurrentThread());
    assert_ptr_equal(r.Dpc, &d);
    assert_ptr_equal(r.Arg1, (PVOID)5);
    assert_ptr_equal(r.Arg2, (PVOID)6);
    assert_null(d.DpcData);
    assert_false(KeIsExecutingDpc());

    /* Removal from the threaded queue. */
    record_reset(&r);
    old = KeRaiseIrqlToDpcLevel();
    assert_true(KeInsertQueueDpc(&d, NULL, NULL));
    assert_true(KeRemoveQueueDpc(&d));
    assert_false(KeRemoveQueueDpc(&d));
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    assert_int_equal(load(&r.Runs), 0);
    assert_null(d.DpcData);
}

static void threaded_dpc_targeted(void **state)
{
    (void)state;
    ULONG count = arch_processor_count();
    static RECORD r;
    KDPC d;
    KeInitializeThreadedDpc(&d, record_routine, &r);
    PVOID first = NULL;
    for (ULONG n = 0; n < count; n++) {
        record_reset(&r);
        KeSetTargetProcessorDpc(&d, (CCHAR)n);
        assert_true(KeInsertQueueDpc(&d, (PVOID)(ULONG_PTR)n, NULL));
        assert_true(wait_at_least(&r.Runs, 1));
        assert_int_equal(load(&r.Cpu), n);
        assert_int_equal(load(&r.Irql), PASSIVE_LEVEL);
        assert_int_equal(load(&r.Executing), TRUE);
        /* One thread per processor. */
        assert_ptr_not_equal(r.Thread, first);
        first = r.Thread;
    }
    KeFlushQueuedDpcs();
}

/* An ordinary DPC preempts a threaded DPC routine on the same processor. */
static RECORD preempt_inner;
static volatile LONG preempt_ran_before_return;
static volatile LONG preempt_executing_after;
static volatile LONG preempt_done;

static VOID NTAPI preempt_threaded_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Arg1, (void)Arg2;
    KeInsertQueueDpc((PKDPC)Context, NULL, NULL); /* untargeted: this processor */
    store(&preempt_ran_before_return, load(&preempt_inner.Runs));
    store(&preempt_executing_after, KeIsExecutingDpc());
    inc(&preempt_done);
}

static void ordinary_dpc_preempts_threaded(void **state)
{
    (void)state;
    record_reset(&preempt_inner);
    store(&preempt_ran_before_return, -1);
    store(&preempt_executing_after, -1);
    store(&preempt_done, 0);
    KDPC inner, outer;
    KeInitializeDpc(&inner, record_routine, &preempt_inner);
    KeInitializeThreadedDpc(&outer, preempt_threaded_routine, &inner);
    assert_true(KeInsertQueueDpc(&outer, NULL, NULL));
    assert_true(wait_at_least(&preempt_done, 1));
    KeFlushQueuedDpcs();
    assert_int_equal(load(&preempt_ran_before_return), 1);
    assert_int_equal(load(&preempt_inner.Irql), DISPATCH_LEVEL);
    assert_int_equal(load(&preempt_inner.Executing), TRUE);
    assert_int_equal(load(&preempt_executing_after), TRUE);
}

/* ---- targeted DPCs ----------------------------------------------------------------------- */

static void targeted_dpc_runs_on_target(void **state)
{
    (void)state;
    ULONG count = arch_processor_count();
    static RECORD r;
    KDPC d;
    KeInitializeDpc(&d, record_routine, &r);

    /* Targeted at the current processor: still deferred until the IRQL drops. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    ULONG self = KeGetCurrentProcessorNumber();
    record_reset(&r);
    KeSetTargetProcessorDpc(&d, (CCHAR)self);
    assert_true(KeInsertQueueDpc(&d, (PVOID)1, NULL));
    assert_int_equal(load(&r.Runs), 0);
    KeLowerIrql(old);
    assert_int_equal(load(&r.Runs), 1);
    assert_int_equal(load(&r.Cpu), self);

    if (count == 1) {
        print_message("1 processor: cross-processor targeting not exercised\n");
        return;
    }

    for (int pass = 0; pass < 2; pass++) {
        for (ULONG n = 0; n < count; n++) {
            /* At DISPATCH_LEVEL this processor cannot run it, and is pinned:
             * the target runs it on its own, woken by the IPI. */
            old = KeRaiseIrqlToDpcLevel();
            self = KeGetCurrentProcessorNumber();
            if (n == self) {
                KeLowerIrql(old);
                continue;
            }
            record_reset(&r);
            KeSetTargetProcessorDpc(&d, (CCHAR)n);
            KeSetImportanceDpc(&d, pass == 0 ? MediumImportance : LowImportance);
            assert_true(KeInsertQueueDpc(&d, (PVOID)(ULONG_PTR)n, (PVOID)2));
            assert_true(wait_at_least(&r.Runs, 1));
            KeLowerIrql(old);
            assert_int_equal(load(&r.Runs), 1);
            assert_int_equal(load(&r.Cpu), n);
            assert_int_equal(load(&r.Irql), DISPATCH_LEVEL);
            assert_int_equal(load(&r.Executing), TRUE);
            assert_ptr_equal(r.Arg1, (PVOID)(ULONG_PTR)n);
        }
    }
}

/* A DPC targeted at processor n that queues an untargeted one there: it runs on n. */
static RECORD chain_record;
static KDPC chain_inner;

static VOID NTAPI chain_outer_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg2;
    KeInsertQueueDpc(&chain_inner, Arg1, (PVOID)(ULONG_PTR)KeGetCurrentProcessorNumber());
}

static void targeted_dpc_queues_on_its_processor(void **state)
{
    (void)state;
    ULONG count = arch_processor_count();
    if (count == 1) {
        print_message("1 processor: nothing to chain across\n");
        return;
    }
    KDPC outer;
    KeInitializeDpc(&outer, chain_outer_routine, NULL);
    KeInitializeDpc(&chain_inner, record_routine, &chain_record);
    for (ULONG n = 0; n < count; n++) {
        record_reset(&chain_record);
        KeSetTargetProcessorDpc(&outer, (CCHAR)n);
        assert_true(KeInsertQueueDpc(&outer, (PVOID)(ULONG_PTR)(n + 100), NULL));
        assert_true(wait_at_least(&chain_record.Runs, 1));
        assert_int_equal(load(&chain_record.Cpu), n);
        assert_ptr_equal(chain_record.Arg1, (PVOID)(ULONG_PTR)(n + 100));
        assert_ptr_equal(chain_record.Arg2, (PVOID)(ULONG_PTR)n);
    }
    KeFlushQueuedDpcs();
}

/* ---- flushing ------------------------------------------------------------------------------- */

static volatile LONG slow_runs;

static VOID NTAPI slow_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg1, (void)Arg2;
    KeStallExecutionProcessor(300);
    inc(&slow_runs);
}

static void flush_waits_for_all(void **state)
{
    (void)state;
    KeFlushQueuedDpcs(); /* nothing queued: returns */

    ULONG count = arch_processor_count();
    enum { PER_CPU = 8 };
    static KDPC d[ARCH_MAX_CPUS][PER_CPU];
    store(&slow_runs, 0);
    LONG queued = 0;
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG n = 0; n < count; n++) {
        for (int i = 0; i < PER_CPU; i++) {
            if (i % 2)
                KeInitializeThreadedDpc(&d[n][i], slow_routine, NULL);
            else
                KeInitializeDpc(&d[n][i], slow_routine, NULL);
            KeSetTargetProcessorDpc(&d[n][i], (CCHAR)n);
            if (i == PER_CPU - 1)
                KeSetImportanceDpc(&d[n][i], LowImportance);
            assert_true(KeInsertQueueDpc(&d[n][i], NULL, NULL));
            queued++;
        }
    }
    KeLowerIrql(old);
    KeFlushQueuedDpcs();
    assert_int_equal(load(&slow_runs), queued);
    for (ULONG n = 0; n < count; n++)
        for (int i = 0; i < PER_CPU; i++)
            assert_null(d[n][i].DpcData);
    KeFlushQueuedDpcs();
    assert_int_equal(load(&slow_runs), queued);
}

static void flush_at_dispatch_bugchecks(void **state)
{
    (void)state;
    expect_bugcheck(IRQL_NOT_LESS_OR_EQUAL, {
        KeRaiseIrqlToDpcLevel();
        KeFlushQueuedDpcs();
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
}

/* ---- a routine returning at the wrong IRQL ---------------------------------------------------- */

static RECORD after_record;

static VOID NTAPI lowers_irql_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg1, (void)Arg2;
    KeLowerIrql(PASSIVE_LEVEL);
}

static VOID NTAPI raises_irql_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg1, (void)Arg2;
    KfRaiseIrql(HIGH_LEVEL);
}

static void wrong_irql_bugchecks(void **state)
{
    (void)state;
    KDPC bad, after;
    KeInitializeDpc(&after, record_routine, &after_record);

    /*
     * The bug check unwinds out of the DISPATCH_LEVEL interrupt back to here,
     * with IRQL and interrupt flag as at arm time. dpc.c clears the per-CPU
     * "routine active" state before bug-checking and re-requests the interrupt
     * for what is still queued, so the processor keeps working afterwards.
     */
    KeInitializeDpc(&bad, lowers_irql_routine, (PVOID)0x77);
    record_reset(&after_record);
    expect_bugcheck(IRQL_UNEXPECTED_VALUE, {
        KeRaiseIrqlToDpcLevel();
        KeInsertQueueDpc(&bad, NULL, NULL);
        KeInsertQueueDpc(&after, (PVOID)9, NULL); /* queued behind the bad one */
        KeLowerIrql(PASSIVE_LEVEL);
    });
    assert_int_equal(ntos_last_bugcheck.Parameter[0],
                     (PASSIVE_LEVEL << 16) | (DISPATCH_LEVEL << 8) | DpcObject);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[1], lowers_irql_routine);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[2], &bad);
    assert_ptr_equal(ntos_last_bugcheck.Parameter[3], (PVOID)0x77);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_true(arch_interrupts_enabled());
    assert_false(KeIsExecutingDpc());
    assert_null(bad.DpcData);
    /* The DPC queued behind it still runs (the re-requested interrupt is
     * taken at the next interruptible point at PASSIVE_LEVEL). */
    arch_pause();
    KeFlushQueuedDpcs();
    assert_int_equal(load(&after_record.Runs), 1);
    assert_ptr_equal(after_record.Arg1, (PVOID)9);

    KeInitializeDpc(&bad, raises_irql_routine, NULL);
    expect_bugcheck(IRQL_UNEXPECTED_VALUE, KeInsertQueueDpc(&bad, NULL, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0],
                     (HIGH_LEVEL << 16) | (DISPATCH_LEVEL << 8) | DpcObject);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_false(KeIsExecutingDpc());

    /* DPCs still work normally. */
    record_reset(&after_record);
    assert_true(KeInsertQueueDpc(&after, (PVOID)10, NULL));
    assert_int_equal(load(&after_record.Runs), 1);
    assert_ptr_equal(after_record.Arg1, (PVOID)10);
}

/* ---- stress ------------------------------------------------------------------------------------- */

#define STRESS_WORKERS 48
#define STRESS_ROUNDS 40
#define STRESS_OPS 50
#define STRESS_MAIN_OPS 2000

static KDPC stress_worker[STRESS_WORKERS];
static LONG stress_target[STRESS_WORKERS]; /* -1 = untargeted; written before the run */
static volatile LONG stress_inserted[STRESS_WORKERS];
static volatile LONG stress_removed[STRESS_WORKERS];
static volatile LONG stress_ran[STRESS_WORKERS];
static volatile LONG stress_wrong_cpu;
static volatile LONG stress_wrong_irql;
static volatile LONG stress_drivers_done;
static KDPC stress_driver[ARCH_MAX_CPUS];
static LONG stress_driver_rounds[ARCH_MAX_CPUS]; /* each touched by its own processor only */
static uint64_t stress_seed[ARCH_MAX_CPUS];

static VOID NTAPI stress_worker_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Arg2;
    LONG k = (LONG)(ULONG_PTR)Context;
    /* Targeted: runs on the target; untargeted: on the inserting processor,
     * which passed its number as SystemArgument1. */
    LONG expected = stress_target[k] >= 0 ? stress_target[k] : (LONG)(ULONG_PTR)Arg1;
    if ((LONG)KeGetCurrentProcessorNumber() != expected)
        inc(&stress_wrong_cpu);
    if (KeGetCurrentIrql() != (Dpc->Type == ThreadedDpcObject ? PASSIVE_LEVEL : DISPATCH_LEVEL))
        inc(&stress_wrong_irql);
    inc(&stress_ran[k]);
}

static void stress_op(uint64_t *seed)
{
    uint64_t r = ntos_test_rand(seed);
    LONG k = (LONG)(r % STRESS_WORKERS);
    if ((r >> 32) % 3 != 0) {
        if (KeInsertQueueDpc(&stress_worker[k], (PVOID)(ULONG_PTR)KeGetCurrentProcessorNumber(), NULL))
            inc(&stress_inserted[k]);
    } else {
        if (KeRemoveQueueDpc(&stress_worker[k]))
            inc(&stress_removed[k]);
    }
}

/* Targeted at processor n: a batch of operations, then it queues itself again
 * behind what the batch queued there, for a bounded number of rounds. */
static VOID NTAPI stress_driver_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Arg1, (void)Arg2;
    ULONG n = (ULONG)(ULONG_PTR)Context;
    for (int i = 0; i < STRESS_OPS; i++)
        stress_op(&stress_seed[n]);
    if (++stress_driver_rounds[n] < STRESS_ROUNDS)
        KeInsertQueueDpc(Dpc, NULL, NULL);
    else
        inc(&stress_drivers_done);
}

static void stress_insert_remove_run(void **state)
{
    (void)state;
    ULONG count = arch_processor_count();
    for (LONG k = 0; k < STRESS_WORKERS; k++) {
        if (k % 4 == 3)
            KeInitializeThreadedDpc(&stress_worker[k], stress_worker_routine, (PVOID)(ULONG_PTR)k);
        else
            KeInitializeDpc(&stress_worker[k], stress_worker_routine, (PVOID)(ULONG_PTR)k);
        stress_target[k] = (k % 3 == 0) ? (LONG)((ULONG)(k / 3) % count) : -1;
        if (stress_target[k] >= 0)
            KeSetTargetProcessorDpc(&stress_worker[k], (CCHAR)stress_target[k]);
        if (k % 5 == 1)
            KeSetImportanceDpc(&stress_worker[k], HighImportance);
        else if (k % 5 == 2)
            KeSetImportanceDpc(&stress_worker[k], LowImportance);
        store(&stress_inserted[k], 0);
        store(&stress_removed[k], 0);
        store(&stress_ran[k], 0);
    }
    store(&stress_wrong_cpu, 0);
    store(&stress_wrong_irql, 0);
    store(&stress_drivers_done, 0);

    for (ULONG n = 0; n < count; n++) {
        stress_driver_rounds[n] = 0;
        stress_seed[n] = 0x9E3779B97F4A7C15ULL * (n + 1);
        KeInitializeDpc(&stress_driver[n], stress_driver_routine, (PVOID)(ULONG_PTR)n);
        KeSetTargetProcessorDpc(&stress_driver[n], (CCHAR)n);
    }
    /* Start them together, from DISPATCH_LEVEL, so they overlap. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG n = 0; n < count; n++)
        assert_true(KeInsertQueueDpc(&stress_driver[n], NULL, NULL));
    KeLowerIrql(old);

    /* Meanwhile this thread works too, alternating PASSIVE_LEVEL (where an
     * untargeted insertion runs at once) and DISPATCH_LEVEL batches. */
    uint64_t seed = 12345;
    for (int i = 0; i < STRESS_MAIN_OPS; i += 10) {
        if ((i / 10) % 2) {
            old = KeRaiseIrqlToDpcLevel();
            for (int j = 0; j < 10; j++)
                stress_op(&seed);
            KeLowerIrql(old);
        } else {
            for (int j = 0; j < 10; j++)
                stress_op(&seed);
        }
    }
    assert_true(wait_at_least(&stress_drivers_done, (LONG)count));
    KeFlushQueuedDpcs();

    LONG total_inserted = 0, total_removed = 0, total_ran = 0;
    for (LONG k = 0; k < STRESS_WORKERS; k++) {
        LONG ins = load(&stress_inserted[k]), rem = load(&stress_removed[k]), ran = load(&stress_ran[k]);
        if (ins != rem + ran)
            fail_msg("worker %d: %d inserted, %d removed, %d ran", (int)k, (int)ins, (int)rem, (int)ran);
        assert_null(stress_worker[k].DpcData);
        total_inserted += ins;
        total_removed += rem;
        total_ran += ran;
    }
    assert_int_equal(load(&stress_wrong_cpu), 0);
    assert_int_equal(load(&stress_wrong_irql), 0);
    assert_true(total_ran > 0);
    print_message("stress on %u processors: %d inserted, %d removed, %d ran\n", (unsigned)count,
                  (int)total_inserted, (int)total_removed, (int)total_ran);
}

/* Every processor races to insert the same DPC: at most one insertion wins
 * per run, and every successful insertion leads to exactly one run or removal. */
static KDPC race_dpc;
static volatile LONG race_inserted, race_removed, race_ran, race_done;
static KDPC race_driver[ARCH_MAX_CPUS];

static VOID NTAPI race_target_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Context, (void)Arg1, (void)Arg2;
    inc(&race_ran);
}

static VOID NTAPI race_driver_routine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc, (void)Arg1, (void)Arg2;
    ULONG n = (ULONG)(ULONG_PTR)Context;
    for (int i = 0; i < 500; i++) {
        if (KeInsertQueueDpc(&race_dpc, NULL, NULL))
            inc(&race_inserted);
        if (((ULONG)i + n) % 4 == 0 && KeRemoveQueueDpc(&race_dpc))
            inc(&race_removed);
        arch_pause();
    }
    inc(&race_done);
}

static void same_dpc_from_all_processors(void **state)
{
    (void)state;
    ULONG count = arch_processor_count();
    KeInitializeDpc(&race_dpc, race_target_routine, NULL);
    store(&race_inserted, 0);
    store(&race_removed, 0);
    store(&race_ran, 0);
    store(&race_done, 0);
    for (ULONG n = 0; n < count; n++) {
        KeInitializeDpc(&race_driver[n], race_driver_routine, (PVOID)(ULONG_PTR)n);
        KeSetTargetProcessorDpc(&race_driver[n], (CCHAR)n);
    }
    KIRQL old = KeRaiseIrqlToDpcLevel();
    for (ULONG n = 0; n < count; n++)
        assert_true(KeInsertQueueDpc(&race_driver[n], NULL, NULL));
    KeLowerIrql(old);
    assert_true(wait_at_least(&race_done, (LONG)count));
    KeFlushQueuedDpcs();
    assert_int_equal(load(&race_inserted), load(&race_removed) + load(&race_ran));
    assert_true(load(&race_inserted) > 0);
    assert_null(race_dpc.DpcData);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(init_fields_and_layout),
    cmocka_unit_test(target_out_of_range_bugchecks),
    cmocka_unit_test(runs_when_irql_drops),
    cmocka_unit_test(insert_at_passive_runs_before_return),
    cmocka_unit_test(insert_twice_returns_false),
    cmocka_unit_test(remove_cancels),
    cmocka_unit_test(ordering_by_importance),
    cmocka_unit_test(fifo_within_medium),
    cmocka_unit_test(dpc_requeues_itself),
    cmocka_unit_test(is_executing_dpc),
    cmocka_unit_test(threaded_dpc_runs_at_passive_in_its_thread),
    cmocka_unit_test(threaded_dpc_targeted),
    cmocka_unit_test(ordinary_dpc_preempts_threaded),
    cmocka_unit_test(targeted_dpc_runs_on_target),
    cmocka_unit_test(targeted_dpc_queues_on_its_processor),
    cmocka_unit_test(flush_waits_for_all),
    cmocka_unit_test(flush_at_dispatch_bugchecks),
    cmocka_unit_test(wrong_irql_bugchecks),
    cmocka_unit_test(stress_insert_remove_run),
    cmocka_unit_test(same_dpc_from_all_processors),
};

/*
 * The tests run pinned to the processor they start on: threaded-DPC threads
 * (priority 31) preempt the test thread, and another processor could then
 * resume it, but the host runner's (CMocka's) state is per Linux thread, and
 * several tests rely on "the current processor" staying put.
 */
static KAFFINITY saved_affinity;

static int pin_test_thread(void **state)
{
    (void)state;
    saved_affinity = KeSetSystemAffinityThreadEx((KAFFINITY)1 << KeGetCurrentProcessorNumber());
    /* A DPC on every processor before anything else. The first test starts
     * the threaded-DPC threads, and readying them reads the other processors'
     * startup state (their idle threads); the host marks a processor started
     * before KiProcessorStartup runs there, so nothing orders those startup
     * writes before this thread's reads (ThreadSanitizer reports it) unless a
     * round trip through every processor, like this flush, happened first. */
    KeFlushQueuedDpcs();
    return 0;
}

static int unpin_test_thread(void **state)
{
    (void)state;
    KeRevertToUserAffinityThreadEx(saved_affinity);
    return 0;
}

NTOS_TEST_GROUP(ke_dpc, tests, pin_test_thread, unpin_test_thread);
