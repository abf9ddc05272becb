/*
 * I/O work items: allocation and caller-storage forms, both routine shapes,
 * the PASSIVE_LEVEL worker context, a routine freeing its own item, a double
 * queue (WORKER_INVALID), and the reference an object-manager device holds
 * while its item is queued and running.
 */
#include "io_irp_test.h"
#include <ntos/ob.h>

static struct {
    KSEMAPHORE done; /* one unit per routine run: runs that end before the test waits still count */
    KEVENT release;
    KEVENT started;
    BOOLEAN block;
    PVOID object;
    PVOID context;
    PIO_WORKITEM item;
    KIRQL irql;
    BOOLEAN freeSelf;
    volatile LONG calls;
} wi;

static VOID NTAPI classic_routine(PDEVICE_OBJECT Device, PVOID Context)
{
    wi.object = Device;
    wi.context = Context;
    wi.irql = KeGetCurrentIrql();
    KeSetEvent(&wi.started, IO_NO_INCREMENT, FALSE);
    if (wi.block)
        KeWaitForSingleObject(&wi.release, Executive, KernelMode, FALSE, NULL);
    __atomic_add_fetch(&wi.calls, 1, __ATOMIC_SEQ_CST);
    KeReleaseSemaphore(&wi.done, IO_NO_INCREMENT, 1, FALSE);
}

static VOID NTAPI extended_routine(PVOID IoObject, PVOID Context, PIO_WORKITEM Item)
{
    wi.object = IoObject;
    wi.context = Context;
    wi.item = Item;
    wi.irql = KeGetCurrentIrql();
    if (wi.freeSelf)
        IoFreeWorkItem(Item);
    __atomic_add_fetch(&wi.calls, 1, __ATOMIC_SEQ_CST);
    KeReleaseSemaphore(&wi.done, IO_NO_INCREMENT, 1, FALSE);
}

static int wi_setup(void **state)
{
    (void)state;
    RtlZeroMemory(&wi, sizeof(wi));
    KeInitializeSemaphore(&wi.done, 0, MAXLONG);
    KeInitializeEvent(&wi.release, NotificationEvent, FALSE);
    KeInitializeEvent(&wi.started, SynchronizationEvent, FALSE);
    return 0;
}

static void wait_done(void)
{
    LARGE_INTEGER t = kt_ms(10000);
    assert_int_equal(KeWaitForSingleObject(&wi.done, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
}

static void allocated_items(void **state)
{
    (void)state;
    iot_pool_mark m = iot_pool_snapshot();
    PDRIVER_OBJECT drv = iot_driver(NULL);
    PDEVICE_OBJECT dev = iot_device(drv, NULL, NULL);
    assert_true(IoSizeofWorkItem() >= sizeof(WORK_QUEUE_ITEM));
    PIO_WORKITEM item = IoAllocateWorkItem(dev);
    assert_non_null(item);
    IoQueueWorkItem(item, classic_routine, DelayedWorkQueue, &wi);
    wait_done();
    assert_ptr_equal(wi.object, dev);
    assert_ptr_equal(wi.context, &wi);
    assert_int_equal(wi.irql, PASSIVE_LEVEL);
    /* The same item again, the other shape, freed by its own routine. */
    wi.freeSelf = TRUE;
    IoQueueWorkItemEx(item, extended_routine, CriticalWorkQueue, dev);
    wait_done();
    assert_ptr_equal(wi.object, dev);
    assert_ptr_equal(wi.item, item);
    assert_ptr_equal(wi.context, dev);
    assert_int_equal(wi.calls, 2);
    iot_free(dev);
    iot_free(drv);
    iot_pool_check(&m);
}

static void caller_storage_items(void **state)
{
    (void)state;
    PDRIVER_OBJECT drv = iot_driver(NULL);
    PIO_WORKITEM item = ExAllocatePoolZero(NonPagedPoolNx, IoSizeofWorkItem(), IOT_TAG);
    /* A driver object is a valid I/O object for the Ex form. */
    IoInitializeWorkItem(drv, item);
    IoQueueWorkItemEx(item, extended_routine, DelayedWorkQueue, NULL);
    wait_done();
    assert_ptr_equal(wi.object, drv);
    assert_null(wi.context);
    IoUninitializeWorkItem(item);
    iot_free(item);
    iot_free(drv);
}

static void double_queue_bugchecks(void **state)
{
    (void)state;
    PDRIVER_OBJECT drv = iot_driver(NULL);
    PDEVICE_OBJECT dev = iot_device(drv, NULL, NULL);
    PIO_WORKITEM blocker = IoAllocateWorkItem(dev), item = IoAllocateWorkItem(dev);
    /* The background queue has one worker: while the blocker runs there,
     * the second item stays queued. */
    wi.block = TRUE;
    IoQueueWorkItem(blocker, classic_routine, BackgroundWorkQueue, NULL);
    LARGE_INTEGER t = kt_ms(10000);
    assert_int_equal(KeWaitForSingleObject(&wi.started, Executive, KernelMode, FALSE, &t), STATUS_SUCCESS);
    IoQueueWorkItem(item, classic_routine, BackgroundWorkQueue, NULL);
    expect_bugcheck(WORKER_INVALID, IoQueueWorkItem(item, classic_routine, BackgroundWorkQueue, NULL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 1);
    KeSetEvent(&wi.release, IO_NO_INCREMENT, FALSE);
    /* Both routines may end before this thread waits (on a loaded host its
     * processor can be slow to come back). Each must still be counted: an
     * auto-reset event set twice with nobody waiting is signalled once, and
     * the second wait used to time out. Let both finish first, every time. */
    for (int i = 0; i < 10000 && __atomic_load_n(&wi.calls, __ATOMIC_SEQ_CST) < 2; i++)
        kt_sleep_ms(1);
    wait_done();
    wait_done();
    assert_int_equal(wi.calls, 2);
    assert_int_equal(KeReadStateSemaphore(&wi.done), 0);
    IoFreeWorkItem(blocker);
    IoFreeWorkItem(item);
    iot_free(dev);
    iot_free(drv);
}

/* ---- an object-manager device: referenced while its item is queued ---------------------------- */

static POBJECT_TYPE wi_device_type;
static volatile LONG wi_device_deleted;

static VOID NTAPI wi_device_delete(PVOID Object)
{
    (void)Object;
    __atomic_add_fetch(&wi_device_deleted, 1, __ATOMIC_SEQ_CST);
}

static POBJECT_TYPE device_type(void)
{
    if (wi_device_type != NULL)
        return wi_device_type;
    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.PoolType = NonPagedPoolNx;
    init.ValidAccessMask = STANDARD_RIGHTS_REQUIRED | SYNCHRONIZE | 1;
    init.GenericMapping = (GENERIC_MAPPING){STANDARD_RIGHTS_READ | 1, STANDARD_RIGHTS_WRITE | 1,
                                            STANDARD_RIGHTS_EXECUTE | 1, STANDARD_RIGHTS_REQUIRED | 1};
    init.DeleteProcedure = wi_device_delete;
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, L"IoWorkItemTestDevice");
    assert_int_equal(ObCreateObjectType(&name, &init, NULL, &wi_device_type), STATUS_SUCCESS);
    return wi_device_type;
}

typedef struct {
    DEVICE_OBJECT Device;
    DEVOBJ_EXTENSION Extension;
} OB_DEVICE;

static void object_manager_device_is_referenced(void **state)
{
    (void)state;
    PDRIVER_OBJECT drv = iot_driver(NULL);
    OB_DEVICE *d;
    assert_int_equal(ObCreateObject(KernelMode, device_type(), NULL, KernelMode, NULL, sizeof(OB_DEVICE), 0, 0,
                                    (PVOID *)&d),
                     STATUS_SUCCESS);
    d->Device.Type = IO_TYPE_DEVICE;
    d->Device.DriverObject = drv;
    d->Device.DeviceObjectExtension = &d->Extension;
    d->Extension.DeviceObject = &d->Device;
    d->Extension.ExtensionFlags = DOE_OBJECT_MANAGED;
    LONG_PTR base = OBJECT_TO_OBJECT_HEADER(d)->PointerCount;
    PIO_WORKITEM item = IoAllocateWorkItem(&d->Device);
    wi.block = TRUE;
    IoQueueWorkItem(item, classic_routine, DelayedWorkQueue, NULL);
    assert_int_equal(OBJECT_TO_OBJECT_HEADER(d)->PointerCount, base + 1);
    /* The creator lets go: the item's reference keeps the device alive. */
    LONG deleted = wi_device_deleted;
    ObDereferenceObject(d);
    assert_int_equal(wi_device_deleted, deleted);
    KeSetEvent(&wi.release, IO_NO_INCREMENT, FALSE);
    wait_done();
    for (int i = 0; i < 5000 && __atomic_load_n(&wi_device_deleted, __ATOMIC_SEQ_CST) == deleted; i++)
        kt_sleep_ms(1);
    assert_int_equal(wi_device_deleted, deleted + 1);
    IoFreeWorkItem(item);
    iot_free(drv);
}

static const struct CMUnitTest io_workitem_tests[] = {
    cmocka_unit_test_setup_teardown(allocated_items, wi_setup, NULL),
    cmocka_unit_test_setup_teardown(caller_storage_items, wi_setup, NULL),
    cmocka_unit_test_setup_teardown(double_queue_bugchecks, wi_setup, NULL),
    cmocka_unit_test_setup_teardown(object_manager_device_is_referenced, wi_setup, NULL),
};

NTOS_TEST_GROUP(io_workitem, io_workitem_tests, NULL, NULL);
