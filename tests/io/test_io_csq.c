/*
 * Cancel-safe queues: initialisation, insert/remove by context, remove-next
 * with a peek context, cancellation of a queued IRP, an IRP cancelled before
 * it was inserted, IoCsqInsertIrpEx failure, and insert/remove racing
 * IoCancelIrp on several processors (every IRP ends exactly once).
 */
#include "io_irp_test.h"

typedef struct {
    IO_CSQ Csq;
    KSPIN_LOCK Lock;
    LIST_ENTRY Queue;
    volatile LONG Queued;
    volatile LONG Cancelled;
    NTSTATUS InsertStatus;
} TEST_QUEUE;

static TEST_QUEUE tq;

static VOID NTAPI q_insert(PIO_CSQ Csq, PIRP Irp)
{
    TEST_QUEUE *q = CONTAINING_RECORD(Csq, TEST_QUEUE, Csq);
    InsertTailList(&q->Queue, &Irp->Tail.Overlay.ListEntry);
    q->Queued++;
}

static NTSTATUS NTAPI q_insert_ex(PIO_CSQ Csq, PIRP Irp, PVOID InsertContext)
{
    TEST_QUEUE *q = CONTAINING_RECORD(Csq, TEST_QUEUE, Csq);
    assert_ptr_equal(InsertContext, &tq);
    if (!NT_SUCCESS(q->InsertStatus))
        return q->InsertStatus;
    q_insert(Csq, Irp);
    return q->InsertStatus;
}

static VOID NTAPI q_remove(PIO_CSQ Csq, PIRP Irp)
{
    TEST_QUEUE *q = CONTAINING_RECORD(Csq, TEST_QUEUE, Csq);
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    q->Queued--;
}

/* The next IRP after Irp (or the first) whose file object is PeekContext, if given. */
static PIRP NTAPI q_peek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    TEST_QUEUE *q = CONTAINING_RECORD(Csq, TEST_QUEUE, Csq);
    PLIST_ENTRY e = Irp == NULL ? q->Queue.Flink : Irp->Tail.Overlay.ListEntry.Flink;
    for (; e != &q->Queue; e = e->Flink) {
        PIRP candidate = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL || IoGetCurrentIrpStackLocation(candidate)->FileObject == PeekContext)
            return candidate;
    }
    return NULL;
}

static VOID NTAPI q_acquire(PIO_CSQ Csq, PKIRQL Irql)
{
    KeAcquireSpinLock(&CONTAINING_RECORD(Csq, TEST_QUEUE, Csq)->Lock, Irql);
}

static VOID NTAPI q_release(PIO_CSQ Csq, KIRQL Irql)
{
    KeReleaseSpinLock(&CONTAINING_RECORD(Csq, TEST_QUEUE, Csq)->Lock, Irql);
}

static VOID NTAPI q_complete_canceled(PIO_CSQ Csq, PIRP Irp)
{
    TEST_QUEUE *q = CONTAINING_RECORD(Csq, TEST_QUEUE, Csq);
    __atomic_add_fetch(&q->Cancelled, 1, __ATOMIC_SEQ_CST);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static int csq_setup(void **state)
{
    (void)state;
    RtlZeroMemory(&tq, sizeof(tq));
    KeInitializeSpinLock(&tq.Lock);
    InitializeListHead(&tq.Queue);
    return 0;
}

static PIRP csq_irp(PFILE_OBJECT FileObject)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_non_null(irp);
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->FileObject = FileObject;
    return irp;
}

/* Completes an IRP the test took off the queue, then frees it. */
static void finish(PIRP Irp, NTSTATUS Status)
{
    Irp->IoStatus.Status = Status;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoFreeIrp(Irp);
}

static void initialize(void **state)
{
    (void)state;
    assert_int_equal(IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release,
                                     q_complete_canceled),
                     STATUS_SUCCESS);
    assert_int_equal(tq.Csq.Type, IO_TYPE_CSQ);
    assert_ptr_equal(tq.Csq.CsqInsertIrp, q_insert);
    assert_ptr_equal(tq.Csq.CsqCompleteCanceledIrp, q_complete_canceled);
    assert_null(tq.Csq.ReservePointer);
    assert_int_equal(IoCsqInitializeEx(&tq.Csq, q_insert_ex, q_remove, q_peek, q_acquire, q_release,
                                       q_complete_canceled),
                     STATUS_SUCCESS);
    assert_int_equal(tq.Csq.Type, IO_TYPE_CSQ_EX);
    assert_ptr_equal((PVOID)tq.Csq.CsqInsertIrp, (PVOID)q_insert_ex);
}

static void insert_and_remove_by_context(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    IO_CSQ_IRP_CONTEXT c1, c2;
    PIRP a = csq_irp(NULL), b = csq_irp(NULL);
    IoCsqInsertIrp(&tq.Csq, a, &c1);
    IoCsqInsertIrp(&tq.Csq, b, &c2);
    assert_int_equal(tq.Queued, 2);
    assert_int_equal(c1.Type, IO_TYPE_CSQ_IRP_CONTEXT);
    assert_ptr_equal(c1.Irp, a);
    assert_ptr_equal(c1.Csq, &tq.Csq);
    /* Inserted IRPs are pending and cancelable. */
    assert_true(IoGetCurrentIrpStackLocation(a)->Control & SL_PENDING_RETURNED);
    assert_non_null(a->CancelRoutine);
    assert_ptr_equal(IoCsqRemoveIrp(&tq.Csq, &c2), b);
    assert_null(c2.Irp);
    assert_null(b->CancelRoutine);
    assert_null(IoCsqRemoveIrp(&tq.Csq, &c2));
    assert_int_equal(tq.Queued, 1);
    assert_ptr_equal(IoCsqRemoveIrp(&tq.Csq, &c1), a);
    assert_int_equal(tq.Queued, 0);
    finish(a, STATUS_SUCCESS);
    finish(b, STATUS_SUCCESS);
    iot_pool_check(&m);
}

static void remove_next_in_order_and_by_peek_context(void **state)
{
    (void)state;
    IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    FILE_OBJECT f1, f2;
    PIRP irps[4] = {csq_irp(&f1), csq_irp(&f2), csq_irp(&f1), csq_irp(&f2)};
    for (int i = 0; i < 4; i++)
        IoCsqInsertIrp(&tq.Csq, irps[i], NULL);
    assert_ptr_equal(IoCsqRemoveNextIrp(&tq.Csq, &f2), irps[1]);
    assert_ptr_equal(IoCsqRemoveNextIrp(&tq.Csq, NULL), irps[0]);
    assert_ptr_equal(IoCsqRemoveNextIrp(&tq.Csq, &f2), irps[3]);
    assert_null(IoCsqRemoveNextIrp(&tq.Csq, &f2));
    assert_ptr_equal(IoCsqRemoveNextIrp(&tq.Csq, NULL), irps[2]);
    assert_null(IoCsqRemoveNextIrp(&tq.Csq, NULL));
    for (int i = 0; i < 4; i++) {
        assert_null(irps[i]->CancelRoutine);
        finish(irps[i], STATUS_SUCCESS);
    }
}

static void cancelling_a_queued_irp(void **state)
{
    (void)state;
    IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    IO_CSQ_IRP_CONTEXT c;
    PIRP a = csq_irp(NULL), b = csq_irp(NULL);
    IoCsqInsertIrp(&tq.Csq, a, &c);
    IoCsqInsertIrp(&tq.Csq, b, NULL);
    assert_true(IoCancelIrp(a));
    assert_int_equal(tq.Cancelled, 1);
    assert_int_equal(a->IoStatus.Status, STATUS_CANCELLED);
    assert_null(c.Irp);
    assert_null(IoCsqRemoveIrp(&tq.Csq, &c));
    /* Without a context too. */
    assert_true(IoCancelIrp(b));
    assert_int_equal(tq.Cancelled, 2);
    assert_int_equal(tq.Queued, 0);
    assert_null(IoCsqRemoveNextIrp(&tq.Csq, NULL));
    IoFreeIrp(a);
    IoFreeIrp(b);
}

static void cancelled_before_insert(void **state)
{
    (void)state;
    IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    IO_CSQ_IRP_CONTEXT c;
    PIRP a = csq_irp(NULL);
    assert_false(IoCancelIrp(a));
    IoCsqInsertIrp(&tq.Csq, a, &c);
    /* Completed as cancelled at once, never left in the queue. */
    assert_int_equal(tq.Cancelled, 1);
    assert_int_equal(tq.Queued, 0);
    assert_null(c.Irp);
    assert_null(a->CancelRoutine);
    assert_int_equal(a->IoStatus.Status, STATUS_CANCELLED);
    IoFreeIrp(a);
}

static void insert_ex_failure_queues_nothing(void **state)
{
    (void)state;
    IoCsqInitializeEx(&tq.Csq, q_insert_ex, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    IO_CSQ_IRP_CONTEXT c;
    RtlZeroMemory(&c, sizeof(c));
    PIRP a = csq_irp(NULL);
    tq.InsertStatus = STATUS_DEVICE_BUSY;
    assert_int_equal(IoCsqInsertIrpEx(&tq.Csq, a, &c, &tq), STATUS_DEVICE_BUSY);
    assert_int_equal(tq.Queued, 0);
    assert_null(a->CancelRoutine);
    assert_null(c.Irp);
    assert_int_equal(IoGetCurrentIrpStackLocation(a)->Control & SL_PENDING_RETURNED, 0);
    tq.InsertStatus = STATUS_SUCCESS;
    assert_int_equal(IoCsqInsertIrpEx(&tq.Csq, a, &c, &tq), STATUS_SUCCESS);
    assert_ptr_equal(c.Irp, a);
    assert_ptr_equal(IoCsqRemoveIrp(&tq.Csq, &c), a);
    finish(a, STATUS_SUCCESS);
}

/* ---- concurrency: a consumer thread drains while the test thread inserts and cancels ---------------- */

#define RACE_IRPS 64
static PIRP race_irps[RACE_IRPS];
static volatile LONG race_consumed, race_stop;

static VOID NTAPI consumer(PVOID Context)
{
    (void)Context;
    for (;;) {
        PIRP irp = IoCsqRemoveNextIrp(&tq.Csq, NULL);
        if (irp != NULL) {
            irp->IoStatus.Status = STATUS_SUCCESS;
            IoCompleteRequest(irp, IO_NO_INCREMENT);
            __atomic_add_fetch(&race_consumed, 1, __ATOMIC_SEQ_CST);
            continue;
        }
        if (__atomic_load_n(&race_stop, __ATOMIC_ACQUIRE))
            return;
        arch_pause();
    }
}

static void insert_remove_cancel_race(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    IoCsqInitialize(&tq.Csq, q_insert, q_remove, q_peek, q_acquire, q_release, q_complete_canceled);
    race_consumed = race_stop = 0;
    KTHREAD t;
    kt_start(&t, consumer, NULL, 8);
    int rounds = KeQueryActiveProcessorCount(NULL) > 1 ? 20 : 3;
    LONG ended = 0;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < RACE_IRPS; i++) {
            race_irps[i] = csq_irp(NULL);
            IoCsqInsertIrp(&tq.Csq, race_irps[i], NULL);
        }
        for (int i = 0; i < RACE_IRPS; i += 2)
            IoCancelIrp(race_irps[i]);
        ended += RACE_IRPS;
        /* Every IRP ends once: consumed or cancelled (a double completion bug-checks). */
        for (int i = 0; i < 10000 && __atomic_load_n(&race_consumed, __ATOMIC_SEQ_CST) +
                                              __atomic_load_n(&tq.Cancelled, __ATOMIC_SEQ_CST) != ended;
             i++)
            kt_sleep_ms(1);
        assert_int_equal(race_consumed + tq.Cancelled, ended);
        for (int i = 0; i < RACE_IRPS; i++) {
            assert_int_equal(race_irps[i]->CurrentLocation, race_irps[i]->StackCount + 2);
            IoFreeIrp(race_irps[i]);
        }
    }
    __atomic_store_n(&race_stop, 1, __ATOMIC_RELEASE);
    kt_join(&t);
    assert_int_equal(tq.Queued, 0);
    print_message("csq race: %d consumed, %d cancelled\n", (int)race_consumed, (int)tq.Cancelled);
    iot_pool_check(&m);
}

static const struct CMUnitTest io_csq_tests[] = {
    cmocka_unit_test_setup_teardown(initialize, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(insert_and_remove_by_context, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(remove_next_in_order_and_by_peek_context, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(cancelling_a_queued_irp, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(cancelled_before_insert, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(insert_ex_failure_queues_nothing, csq_setup, NULL),
    cmocka_unit_test_setup_teardown(insert_remove_cancel_race, csq_setup, NULL),
};

NTOS_TEST_GROUP(io_csq, io_csq_tests, NULL, NULL);
