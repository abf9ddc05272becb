/*
 * System-queued StartIo: IoStartPacket, IoStartNextPacket(ByKey) and
 * IoSetStartIoAttributes over the device object's KDEVICE_QUEUE.
 *
 * The device queue's Busy flag is the "StartIo owns a packet" state: a packet
 * that finds the queue idle becomes DeviceObject->CurrentIrp and goes to the
 * driver's StartIo at once; otherwise it waits in the queue (FIFO or by key)
 * until the driver calls IoStartNextPacket(ByKey), normally from its DPC.
 *
 * Cancellation: with a CancelFunction, IoStartPacket sets it as the IRP's
 * cancel routine under the cancel spin lock. If the IRP turns out to be
 * cancelled already when it is queued, IoStartPacket calls the routine itself
 * (holding the cancel lock, CancelIrql set) as IoCancelIrp would have. The
 * driver's cancel routine takes a queued IRP out with KeRemoveEntryDeviceQueue
 * and for CurrentIrp calls IoStartNextPacket, the documented pattern.
 * IoStartNextPacket(Cancelable = TRUE) dequeues under the cancel spin lock so
 * the cancel routine cannot run against an IRP half way to StartIo.
 *
 * Attributes (IoSetStartIoAttributes, kept in DEVOBJ_EXTENSION.StartIoFlags):
 *  - NonCancelable: the cancel routine is cleared as a packet is handed to
 *    StartIo, so a started packet cannot be cancelled.
 *  - DeferredStartIo: IoStartNextPacket called from inside StartIo does not
 *    call StartIo again (no recursion); the call is remembered and done when
 *    the outer StartIo returns. Devices without an extension (hand-built)
 *    have neither attribute.
 *
 * IRQL: StartIo runs at DISPATCH_LEVEL; IoStartPacket raises to it and
 * IoStartNextPacket(ByKey) is called there (documented).
 */
#include "iop.h"

static LONG IopStartIoFlags(PDEVICE_OBJECT DeviceObject)
{
    PDEVOBJ_EXTENSION ext = DeviceObject->DeviceObjectExtension;
    return ext == NULL ? 0 : __atomic_load_n(&ext->StartIoFlags, __ATOMIC_ACQUIRE);
}

static VOID IopStartNext(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, BOOLEAN ByKey, ULONG Key);

/* Calls StartIo; for deferred devices, then runs a start-next it asked for. */
static VOID IopCallStartIo(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PDEVOBJ_EXTENSION ext = DeviceObject->DeviceObjectExtension;
    if (ext == NULL || !(IopStartIoFlags(DeviceObject) & DOE_SIO_DEFERRED)) {
        DeviceObject->DriverObject->DriverStartIo(DeviceObject, Irp);
        return;
    }
    __atomic_add_fetch(&ext->StartIoCount, 1, __ATOMIC_ACQ_REL);
    DeviceObject->DriverObject->DriverStartIo(DeviceObject, Irp);
    if (__atomic_sub_fetch(&ext->StartIoCount, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    LONG owed = __atomic_fetch_and(&ext->StartIoFlags,
                                   ~(DOE_SIO_START_NEXT | DOE_SIO_START_NEXT_BY_KEY | DOE_SIO_START_NEXT_CANCELABLE),
                                   __ATOMIC_ACQ_REL);
    if (owed & (DOE_SIO_START_NEXT | DOE_SIO_START_NEXT_BY_KEY))
        IopStartNext(DeviceObject, (owed & DOE_SIO_START_NEXT_CANCELABLE) != 0,
                     (owed & DOE_SIO_START_NEXT_BY_KEY) != 0, ext->StartIoKey);
}

/* Hands Irp to StartIo as the current packet; the cancel lock (if taken at
 * CancelIrql) is released first. */
static VOID IopStartPacketNow(PDEVICE_OBJECT DeviceObject, PIRP Irp, BOOLEAN HoldsCancelLock, KIRQL CancelIrql)
{
    DeviceObject->CurrentIrp = Irp;
    if (IopStartIoFlags(DeviceObject) & DOE_SIO_NO_CANCEL)
        IoSetCancelRoutine(Irp, NULL);
    if (HoldsCancelLock)
        IoReleaseCancelSpinLock(CancelIrql);
    IopCallStartIo(DeviceObject, Irp);
}

VOID NTAPI IoStartPacket(PDEVICE_OBJECT DeviceObject, PIRP Irp, PULONG Key, PDRIVER_CANCEL CancelFunction)
{
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KIRQL cancelIrql = DISPATCH_LEVEL;
    if (CancelFunction != NULL) {
        IoAcquireCancelSpinLock(&cancelIrql);
        IoSetCancelRoutine(Irp, CancelFunction);
    }
    BOOLEAN queued = Key != NULL ? KeInsertByKeyDeviceQueue(&DeviceObject->DeviceQueue,
                                                             &Irp->Tail.Overlay.DeviceQueueEntry, *Key)
                                 : KeInsertDeviceQueue(&DeviceObject->DeviceQueue, &Irp->Tail.Overlay.DeviceQueueEntry);
    if (!queued) {
        IopStartPacketNow(DeviceObject, Irp, CancelFunction != NULL, cancelIrql);
    } else if (CancelFunction != NULL) {
        /* Cancelled before its routine was in place: IoCancelIrp found none. */
        if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
            Irp->CancelIrql = cancelIrql;
            CancelFunction(DeviceObject, Irp);
        } else {
            IoReleaseCancelSpinLock(cancelIrql);
        }
    }
    KeLowerIrql(old);
}

static VOID IopStartNext(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, BOOLEAN ByKey, ULONG Key)
{
    PDEVOBJ_EXTENSION ext = DeviceObject->DeviceObjectExtension;
    if (ext != NULL && (IopStartIoFlags(DeviceObject) & DOE_SIO_DEFERRED) &&
        __atomic_load_n(&ext->StartIoCount, __ATOMIC_ACQUIRE) != 0) {
        /* Inside StartIo: the outer call starts the next packet on return. */
        ext->StartIoKey = Key;
        __atomic_fetch_or(&ext->StartIoFlags,
                          (ByKey ? DOE_SIO_START_NEXT_BY_KEY : DOE_SIO_START_NEXT) |
                              (Cancelable ? DOE_SIO_START_NEXT_CANCELABLE : 0),
                          __ATOMIC_ACQ_REL);
        return;
    }
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KIRQL cancelIrql = DISPATCH_LEVEL;
    if (Cancelable)
        IoAcquireCancelSpinLock(&cancelIrql);
    DeviceObject->CurrentIrp = NULL;
    PKDEVICE_QUEUE_ENTRY entry = ByKey ? KeRemoveByKeyDeviceQueue(&DeviceObject->DeviceQueue, Key)
                                       : KeRemoveDeviceQueue(&DeviceObject->DeviceQueue);
    if (entry != NULL) {
        PIRP irp = CONTAINING_RECORD(entry, IRP, Tail.Overlay.DeviceQueueEntry);
        IopStartPacketNow(DeviceObject, irp, Cancelable, cancelIrql);
    } else if (Cancelable) {
        IoReleaseCancelSpinLock(cancelIrql);
    }
    KeLowerIrql(old);
}

VOID NTAPI IoStartNextPacket(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable)
{
    IopStartNext(DeviceObject, Cancelable, FALSE, 0);
}

VOID NTAPI IoStartNextPacketByKey(PDEVICE_OBJECT DeviceObject, BOOLEAN Cancelable, ULONG Key)
{
    IopStartNext(DeviceObject, Cancelable, TRUE, Key);
}

VOID NTAPI IoSetStartIoAttributes(PDEVICE_OBJECT DeviceObject, BOOLEAN DeferredStartIo, BOOLEAN NonCancelable)
{
    PDEVOBJ_EXTENSION ext = DeviceObject->DeviceObjectExtension;
    if (ext == NULL)
        return;
    if (DeferredStartIo)
        __atomic_fetch_or(&ext->StartIoFlags, DOE_SIO_DEFERRED, __ATOMIC_ACQ_REL);
    if (NonCancelable)
        __atomic_fetch_or(&ext->StartIoFlags, DOE_SIO_NO_CANCEL, __ATOMIC_ACQ_REL);
}
