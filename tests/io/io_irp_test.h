/*
 * Shared helpers for the IRP engine tests: hand-built driver and device
 * objects (pool blocks, no object header: the IRP engine only needs
 * DeviceObject->DriverObject->MajorFunction and StackSize), layered stacks,
 * and pool accounting for the I/O manager's tags.
 */
#ifndef NTOS_IO_IRP_TEST_H
#define NTOS_IO_IRP_TEST_H

#include "ntos_test.h"
#include "ntos_ke_test.h"
#include <ntos/io.h>
#include <ntos/ex.h>
#include <ntos/rtl.h>
#include "io/iop.h"

#define IOT_TAG 0x74546F49 /* 'IoTt' */
#define IOT_MDL_TAG 0x206C644D /* 'Mdl ' */

/* Blocks of Tag still allocated (allocations minus frees, nonpaged). */
static inline LONG64 iot_pool_live(ULONG Tag)
{
    ULONG64 a = 0, f = 0;
    ExQueryPoolTagUsage(Tag, NonPagedPool, &a, &f, NULL);
    return (LONG64)a - (LONG64)f;
}

typedef struct iot_pool_mark {
    LONG64 irps, buffers, mdls, items, timers;
} iot_pool_mark;

static inline iot_pool_mark iot_pool_snapshot(void)
{
    iot_pool_mark m = {iot_pool_live(IOP_IRP_TAG), iot_pool_live(IOP_BUFFER_TAG), iot_pool_live(IOT_MDL_TAG),
                       iot_pool_live(IOP_WORKITEM_TAG), iot_pool_live(IOP_TIMER_TAG)};
    return m;
}

/* No IRP, system buffer, MDL, work item or timer leaked since `m`. */
static inline void iot_pool_check(const iot_pool_mark *m)
{
    assert_int_equal(iot_pool_live(IOP_IRP_TAG), m->irps);
    assert_int_equal(iot_pool_live(IOP_BUFFER_TAG), m->buffers);
    assert_int_equal(iot_pool_live(IOT_MDL_TAG), m->mdls);
    assert_int_equal(iot_pool_live(IOP_WORKITEM_TAG), m->items);
    assert_int_equal(iot_pool_live(IOP_TIMER_TAG), m->timers);
}

static inline PDRIVER_OBJECT iot_driver(PDRIVER_DISPATCH Dispatch)
{
    PDRIVER_OBJECT d = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DRIVER_OBJECT), IOT_TAG);
    assert_non_null(d);
    d->Type = IO_TYPE_DRIVER;
    d->Size = sizeof(DRIVER_OBJECT);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        d->MajorFunction[i] = Dispatch;
    return d;
}

/* A device of Driver; with Lower, attached above it (StackSize one more). */
static inline PDEVICE_OBJECT iot_device(PDRIVER_OBJECT Driver, PDEVICE_OBJECT Lower, PVOID Extension)
{
    PDEVICE_OBJECT d = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DEVICE_OBJECT), IOT_TAG);
    assert_non_null(d);
    d->Type = IO_TYPE_DEVICE;
    d->Size = sizeof(DEVICE_OBJECT);
    d->DriverObject = Driver;
    d->StackSize = 1;
    d->DeviceExtension = Extension;
    KeInitializeDeviceQueue(&d->DeviceQueue);
    if (Lower != NULL) {
        d->StackSize = (CCHAR)(Lower->StackSize + 1);
        Lower->AttachedDevice = d;
    }
    return d;
}

static inline void iot_free(PVOID Object)
{
    ExFreePoolWithTag(Object, IOT_TAG);
}

/* The lower device an attached device forwards to (test devices keep it in
 * DeviceExtension when built as a filter). */
static inline PDEVICE_OBJECT iot_lower(PDEVICE_OBJECT Device)
{
    return (PDEVICE_OBJECT)Device->DeviceExtension;
}

#endif /* NTOS_IO_IRP_TEST_H */
