/*
 * IRP cancellation racing completion under the explorer: the documented driver
 * pattern (the completer clears the cancel routine with IoSetCancelRoutine and
 * completes only if it got it back non-NULL; the cancel routine releases the
 * cancel spin lock and completes with STATUS_CANCELLED). Exactly one of the
 * two completes the IRP, never both, never neither.
 */
#include <ntos/io.h>
#include <ntos/ex.h>
#include "verify.h"

#define VIO_TAG 0x6F495456 /* 'VTIo' */

static PDRIVER_OBJECT vio_driver;
static PDEVICE_OBJECT vio_device;
static PIRP vio_irp;
static volatile LONG vio_completions, vio_by_cancel, vio_by_completer;
static volatile NTSTATUS vio_status;

static NTSTATUS NTAPI vio_dispatch(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device, (void)Irp;
    return STATUS_INVALID_DEVICE_REQUEST;
}

static NTSTATUS NTAPI vio_done(PDEVICE_OBJECT Device, PIRP Irp, PVOID Context)
{
    (void)Device, (void)Context;
    NTOS_EXPLORE_CHECK(__atomic_add_fetch(&vio_completions, 1, __ATOMIC_RELAXED) == 1);
    vio_status = Irp->IoStatus.Status;
    return STATUS_MORE_PROCESSING_REQUIRED; /* the scenario frees the IRP */
}

static VOID NTAPI vio_cancel(PDEVICE_OBJECT Device, PIRP Irp)
{
    (void)Device;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    __atomic_fetch_add(&vio_by_cancel, 1, __ATOMIC_RELAXED);
    Irp->IoStatus.Status = STATUS_CANCELLED;
    Irp->IoStatus.Information = 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
}

static VOID NTAPI vio_completer(PVOID Context)
{
    (void)Context;
    if (IoSetCancelRoutine(vio_irp, NULL) != NULL) {
        __atomic_fetch_add(&vio_by_completer, 1, __ATOMIC_RELAXED);
        vio_irp->IoStatus.Status = STATUS_SUCCESS;
        vio_irp->IoStatus.Information = 0;
        IoCompleteRequest(vio_irp, IO_NO_INCREMENT);
    }
}

VERIFY_SCENARIO(irp_cancel_vs_completion, 60, 1)
{
    (void)Context;
    static KTHREAD t;
    vio_completions = vio_by_cancel = vio_by_completer = 0;
    vio_driver = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DRIVER_OBJECT), VIO_TAG);
    vio_device = ExAllocatePoolZero(NonPagedPoolNx, sizeof(DEVICE_OBJECT), VIO_TAG);
    NTOS_EXPLORE_CHECK(vio_driver != NULL && vio_device != NULL);
    vio_driver->Type = IO_TYPE_DRIVER;
    vio_driver->Size = sizeof(DRIVER_OBJECT);
    for (int i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        vio_driver->MajorFunction[i] = vio_dispatch;
    vio_device->Type = IO_TYPE_DEVICE;
    vio_device->Size = sizeof(DEVICE_OBJECT);
    vio_device->DriverObject = vio_driver;
    vio_device->StackSize = 1;
    KeInitializeDeviceQueue(&vio_device->DeviceQueue);

    /* The IRP as its driver holds it: pending at the device, cancelable. */
    vio_irp = IoAllocateIrp(1, FALSE);
    NTOS_EXPLORE_CHECK(vio_irp != NULL);
    IoSetCompletionRoutine(vio_irp, vio_done, NULL, TRUE, TRUE, TRUE);
    IoSetNextIrpStackLocation(vio_irp);
    IoGetCurrentIrpStackLocation(vio_irp)->DeviceObject = vio_device;
    IoMarkIrpPending(vio_irp);
    IoSetCancelRoutine(vio_irp, vio_cancel);

    vt_start(&t, vio_completer, NULL);
    BOOLEAN cancelled = IoCancelIrp(vio_irp);
    vt_join(&t);
    NTOS_EXPLORE_CHECK(vio_completions == 1);
    NTOS_EXPLORE_CHECK(vio_by_cancel + vio_by_completer == 1);
    NTOS_EXPLORE_CHECK(vio_status == (vio_by_cancel ? STATUS_CANCELLED : STATUS_SUCCESS));
    /* IoCancelIrp answers TRUE exactly when it called the cancel routine. */
    NTOS_EXPLORE_CHECK(cancelled == (vio_by_cancel == 1));
    IoFreeIrp(vio_irp);
    ExFreePoolWithTag(vio_device, VIO_TAG);
    ExFreePoolWithTag(vio_driver, VIO_TAG);
}
