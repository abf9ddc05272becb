/*
 * Ke device queues (busy state, FIFO and by-key order, removal rules,
 * DEVICE_QUEUE_NOT_BUSY) and the StartIo machinery over them: IoStartPacket
 * (immediate start, queueing, keys, cancel functions, an IRP cancelled before
 * it is queued), IoStartNextPacket(ByKey), and IoSetStartIoAttributes
 * (non-cancelable started packets, deferred StartIo without recursion).
 */
#include "io_irp_test.h"

/* ---- device queues ------------------------------------------------------------------------------- */

static void device_queue_fifo(void **state)
{
    (void)state;
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY e[3];
    KeInitializeDeviceQueue(&q);
    assert_int_equal(q.Type, DeviceQueueObject);
    assert_int_equal(q.Size, sizeof(KDEVICE_QUEUE));
    assert_false(q.Busy);
    assert_true(IsListEmpty(&q.DeviceListHead));
    /* Idle: the first entry is not queued, the queue becomes busy. */
    assert_false(KeInsertDeviceQueue(&q, &e[0]));
    assert_true(q.Busy);
    assert_false(e[0].Inserted);
    assert_true(KeInsertDeviceQueue(&q, &e[1]));
    assert_true(KeInsertDeviceQueue(&q, &e[2]));
    assert_true(e[1].Inserted);
    assert_ptr_equal(KeRemoveDeviceQueue(&q), &e[1]);
    assert_false(e[1].Inserted);
    assert_true(KeRemoveEntryDeviceQueue(&q, &e[2]));
    assert_false(KeRemoveEntryDeviceQueue(&q, &e[2]));
    assert_true(q.Busy);
    /* Busy and empty: NULL, and the queue goes idle. */
    assert_null(KeRemoveDeviceQueue(&q));
    assert_false(q.Busy);
    expect_bugcheck(DEVICE_QUEUE_NOT_BUSY, KeRemoveDeviceQueue(&q));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&q);
    expect_bugcheck(DEVICE_QUEUE_NOT_BUSY, KeRemoveByKeyDeviceQueue(&q, 0));
    assert_null(KeRemoveByKeyDeviceQueueIfBusy(&q, 0));
    assert_false(q.Busy);
    assert_int_equal(q.Lock, 0);
}

static void device_queue_by_key(void **state)
{
    (void)state;
    KDEVICE_QUEUE q;
    KDEVICE_QUEUE_ENTRY busy, e[5];
    static const ULONG keys[5] = {5, 1, 5, 3, 9};
    KeInitializeDeviceQueue(&q);
    assert_false(KeInsertByKeyDeviceQueue(&q, &busy, 7));
    for (int i = 0; i < 5; i++)
        assert_true(KeInsertByKeyDeviceQueue(&q, &e[i], keys[i]));
    assert_int_equal(e[0].SortKey, 5);
    /* Sorted ascending, equal keys in arrival order: 1, 3, 5(a), 5(b), 9. */
    PLIST_ENTRY l = q.DeviceListHead.Flink;
    static const int order[5] = {1, 3, 0, 2, 4};
    for (int i = 0; i < 5; i++, l = l->Flink)
        assert_ptr_equal(l, &e[order[i]].DeviceListEntry);
    /* The first entry with a key >= the one asked for. */
    assert_ptr_equal(KeRemoveByKeyDeviceQueue(&q, 4), &e[0]);
    assert_ptr_equal(KeRemoveByKeyDeviceQueueIfBusy(&q, 5), &e[2]);
    /* None >= 10: the first entry. */
    assert_ptr_equal(KeRemoveByKeyDeviceQueue(&q, 10), &e[1]);
    assert_ptr_equal(KeRemoveByKeyDeviceQueue(&q, 0), &e[3]);
    assert_ptr_equal(KeRemoveDeviceQueue(&q), &e[4]);
    assert_null(KeRemoveByKeyDeviceQueue(&q, 0));
    assert_false(q.Busy);
}

/* ---- StartIo ------------------------------------------------------------------------------------------ */

static struct {
    PDRIVER_OBJECT driver;
    PDEVICE_OBJECT device;
    DEVOBJ_EXTENSION ext;
    PIRP started[16];
    int nstarted;
    BOOLEAN startedCancelable[16];
    KIRQL startIrql;
    /* inline mode: StartIo completes the packet and starts the next itself */
    BOOLEAN completeInline;
    int depth, maxDepth;
    volatile LONG cancelled;
} so;

static NTSTATUS NTAPI startio_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static VOID NTAPI start_io(PDEVICE_OBJECT Device, PIRP Irp)
{
    assert_ptr_equal(Device->CurrentIrp, Irp);
    so.startIrql = KeGetCurrentIrql();
    so.startedCancelable[so.nstarted] = Irp->CancelRoutine != NULL;
    so.started[so.nstarted++] = Irp;
    if (!so.completeInline)
        return;
    so.depth++;
    if (so.depth > so.maxDepth)
        so.maxDepth = so.depth;
    IoSetCancelRoutine(Irp, NULL);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    IoStartNextPacket(Device, FALSE);
    so.depth--;
}

static VOID NTAPI startio_cancel(PDEVICE_OBJECT Device, PIRP Irp)
{
    if (Irp == Device->CurrentIrp) {
        IoReleaseCancelSpinLock(Irp->CancelIrql);
        KIRQL old = KeRaiseIrqlToDpcLevel();
        IoStartNextPacket(Device, TRUE);
        KeLowerIrql(old);
    } else {
        assert_true(KeRemoveEntryDeviceQueue(&Device->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry));
        IoReleaseCancelSpinLock(Irp->CancelIrql);
    }
    __atomic_add_fetch(&so.cancelled, 1, __ATOMIC_SEQ_CST);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static int startio_setup(void **state)
{
    (void)state;
    RtlZeroMemory(&so, sizeof(so));
    so.driver = iot_driver(startio_dispatch);
    so.driver->DriverStartIo = start_io;
    so.device = iot_device(so.driver, NULL, NULL);
    return 0;
}

static int startio_teardown(void **state)
{
    (void)state;
    iot_free(so.device);
    iot_free(so.driver);
    return 0;
}

static PIRP startio_irp(void)
{
    PIRP irp = IoAllocateIrp(1, FALSE);
    assert_non_null(irp);
    IoSetNextIrpStackLocation(irp);
    IoGetCurrentIrpStackLocation(irp)->DeviceObject = so.device;
    IoMarkIrpPending(irp);
    return irp;
}

/* The driver's DPC side: finish the current packet and start the next. */
static void finish_current(BOOLEAN Cancelable, BOOLEAN ByKey, ULONG Key)
{
    PIRP irp = so.device->CurrentIrp;
    assert_non_null(irp);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    IoSetCancelRoutine(irp, NULL);
    irp->IoStatus.Status = STATUS_SUCCESS;
    IoCompleteRequest(irp, IO_NO_INCREMENT);
    if (ByKey)
        IoStartNextPacketByKey(so.device, Cancelable, Key);
    else
        IoStartNextPacket(so.device, Cancelable);
    KeLowerIrql(old);
}

static void start_packet_serialises(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PIRP irps[3];
    for (int i = 0; i < 3; i++) {
        irps[i] = startio_irp();
        IoStartPacket(so.device, irps[i], NULL, NULL);
    }
    assert_int_equal(so.nstarted, 1);
    assert_int_equal(so.startIrql, DISPATCH_LEVEL);
    assert_ptr_equal(so.device->CurrentIrp, irps[0]);
    assert_true(so.device->DeviceQueue.Busy);
    finish_current(FALSE, FALSE, 0);
    assert_int_equal(so.nstarted, 2);
    assert_ptr_equal(so.started[1], irps[1]);
    finish_current(FALSE, FALSE, 0);
    finish_current(FALSE, FALSE, 0);
    assert_int_equal(so.nstarted, 3);
    assert_ptr_equal(so.started[2], irps[2]);
    assert_null(so.device->CurrentIrp);
    assert_false(so.device->DeviceQueue.Busy);
    for (int i = 0; i < 3; i++)
        IoFreeIrp(irps[i]);
    iot_pool_check(&m);
}

static void start_packet_by_key(void **state)
{
    (void)state;
    PIRP first = startio_irp(), irps[3];
    ULONG keys[3] = {30, 10, 20};
    ULONG k0 = 0;
    IoStartPacket(so.device, first, &k0, NULL);
    for (int i = 0; i < 3; i++) {
        irps[i] = startio_irp();
        IoStartPacket(so.device, irps[i], &keys[i], NULL);
    }
    finish_current(FALSE, TRUE, 15); /* first key >= 15: 20 */
    assert_ptr_equal(so.device->CurrentIrp, irps[2]);
    finish_current(FALSE, FALSE, 0); /* FIFO over the sorted queue: 10 */
    assert_ptr_equal(so.device->CurrentIrp, irps[1]);
    finish_current(FALSE, TRUE, 99); /* none >= 99: the first, 30 */
    assert_ptr_equal(so.device->CurrentIrp, irps[0]);
    finish_current(FALSE, FALSE, 0);
    assert_false(so.device->DeviceQueue.Busy);
    IoFreeIrp(first);
    for (int i = 0; i < 3; i++)
        IoFreeIrp(irps[i]);
}

static void cancelling_queued_and_current_packets(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PIRP irps[3];
    for (int i = 0; i < 3; i++) {
        irps[i] = startio_irp();
        IoStartPacket(so.device, irps[i], NULL, startio_cancel);
    }
    assert_true(so.startedCancelable[0]);
    /* A queued packet: taken out of the device queue by the cancel routine. */
    assert_true(IoCancelIrp(irps[1]));
    assert_int_equal(so.cancelled, 1);
    assert_int_equal(irps[1]->IoStatus.Status, STATUS_CANCELLED);
    /* The current packet: the routine starts the next one. */
    assert_true(IoCancelIrp(irps[0]));
    assert_int_equal(so.cancelled, 2);
    assert_ptr_equal(so.device->CurrentIrp, irps[2]);
    finish_current(TRUE, FALSE, 0);
    assert_false(so.device->DeviceQueue.Busy);
    assert_int_equal(so.nstarted, 2);

    /* Cancelled before IoStartPacket queued it: IoStartPacket cancels it. */
    PIRP busy = startio_irp(), late = startio_irp();
    IoStartPacket(so.device, busy, NULL, startio_cancel);
    assert_false(IoCancelIrp(late));
    IoStartPacket(so.device, late, NULL, startio_cancel);
    assert_int_equal(so.cancelled, 3);
    assert_int_equal(late->IoStatus.Status, STATUS_CANCELLED);
    assert_false(KeRemoveEntryDeviceQueue(&so.device->DeviceQueue, &late->Tail.Overlay.DeviceQueueEntry));
    finish_current(TRUE, FALSE, 0);
    assert_false(so.device->DeviceQueue.Busy);
    for (int i = 0; i < 3; i++)
        IoFreeIrp(irps[i]);
    IoFreeIrp(busy);
    IoFreeIrp(late);
    iot_pool_check(&m);
}

static void non_cancelable_start_io(void **state)
{
    (void)state;
    so.device->DeviceObjectExtension = &so.ext;
    so.ext.DeviceObject = so.device;
    IoSetStartIoAttributes(so.device, FALSE, TRUE);
    PIRP a = startio_irp(), b = startio_irp();
    IoStartPacket(so.device, a, NULL, startio_cancel);
    IoStartPacket(so.device, b, NULL, startio_cancel);
    /* Started packets lose their cancel routine; queued ones keep it. */
    assert_false(so.startedCancelable[0]);
    assert_null(a->CancelRoutine);
    assert_non_null(b->CancelRoutine);
    assert_false(IoCancelIrp(a));
    finish_current(TRUE, FALSE, 0);
    assert_false(so.startedCancelable[1]);
    finish_current(TRUE, FALSE, 0);
    IoFreeIrp(a);
    IoFreeIrp(b);
    so.device->DeviceObjectExtension = NULL;
}

static void run_inline_chain(int Count)
{
    PIRP irps[8];
    /* Hold the device busy so the packets queue, then let StartIo chain them. */
    so.completeInline = FALSE;
    PIRP holder = startio_irp();
    IoStartPacket(so.device, holder, NULL, NULL);
    for (int i = 0; i < Count; i++) {
        irps[i] = startio_irp();
        IoStartPacket(so.device, irps[i], NULL, NULL);
    }
    so.completeInline = TRUE;
    finish_current(FALSE, FALSE, 0);
    assert_int_equal(so.nstarted, Count + 1);
    assert_false(so.device->DeviceQueue.Busy);
    IoFreeIrp(holder);
    for (int i = 0; i < Count; i++)
        IoFreeIrp(irps[i]);
}

static void deferred_start_io_does_not_recurse(void **state)
{
    (void)state;
    /* Without the attribute each IoStartNextPacket in StartIo nests a call. */
    run_inline_chain(5);
    assert_int_equal(so.maxDepth, 5);
    so.nstarted = 0;
    so.maxDepth = 0;
    so.device->DeviceObjectExtension = &so.ext;
    so.ext.DeviceObject = so.device;
    IoSetStartIoAttributes(so.device, TRUE, FALSE);
    run_inline_chain(5);
    assert_int_equal(so.maxDepth, 1);
    assert_int_equal(so.ext.StartIoCount, 0);
    assert_int_equal(so.ext.StartIoFlags, DOE_SIO_DEFERRED);
    so.device->DeviceObjectExtension = NULL;
}

static const struct CMUnitTest io_startio_tests[] = {
    cmocka_unit_test(device_queue_fifo),
    cmocka_unit_test(device_queue_by_key),
    cmocka_unit_test_setup_teardown(start_packet_serialises, startio_setup, startio_teardown),
    cmocka_unit_test_setup_teardown(start_packet_by_key, startio_setup, startio_teardown),
    cmocka_unit_test_setup_teardown(cancelling_queued_and_current_packets, startio_setup, startio_teardown),
    cmocka_unit_test_setup_teardown(non_cancelable_start_io, startio_setup, startio_teardown),
    cmocka_unit_test_setup_teardown(deferred_start_io_does_not_recurse, startio_setup, startio_teardown),
};

NTOS_TEST_GROUP(io_startio, io_startio_tests, NULL, NULL);
