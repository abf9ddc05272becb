/*
 * IRPs built by the I/O manager for kernel callers: IoBuildDeviceIoControlRequest,
 * IoBuildSynchronousFsdRequest, IoBuildAsynchronousFsdRequest, and the
 * synchronous send helpers IoForwardIrpSynchronously and IoSynchronousCallDriver.
 *
 * Buffers (the documented transfer types)
 *  - METHOD_BUFFERED / DO_BUFFERED_IO: one nonpaged system buffer
 *    (AssociatedIrp.SystemBuffer) of max(input, output) bytes for an IOCTL, or
 *    Length for a read/write; input (write data) copied in; IRP_BUFFERED_IO |
 *    IRP_DEALLOCATE_BUFFER, plus IRP_INPUT_OPERATION when data comes back, so
 *    completion copies IoStatus.Information bytes to UserBuffer and frees it.
 *  - METHOD_IN_DIRECT / METHOD_OUT_DIRECT: input in a system buffer as above;
 *    the output buffer described by an MDL probed and locked for IoReadAccess
 *    (IN_DIRECT: the device reads it) or IoWriteAccess (OUT_DIRECT).
 *    DO_DIRECT_IO reads/writes: an MDL locked for IoWriteAccess (read: the
 *    device writes memory) or IoReadAccess (write). Completion unlocks and
 *    frees the MDLs.
 *  - METHOD_NEITHER / neither flag: Type3InputBuffer = input, UserBuffer =
 *    output; the driver gets the caller's addresses.
 *  A bad buffer address makes MmProbeAndLockPages raise, which without kernel
 *  exception handling is KMODE_EXCEPTION_NOT_HANDLED.
 *
 * Ownership: every built IRP is the I/O manager's (Tail.Overlay.Thread = the
 * caller), RequestorMode KernelMode, no file object. The synchronous builders
 * also queue it to the thread; their completion sets *IoStatusBlock and the
 * event from an APC in the caller, as NT does. An asynchronous FSD request
 * is documented to need a completion routine that frees it with IoFreeIrp
 * and returns STATUS_MORE_PROCESSING_REQUIRED; if it completes without one it
 * is finished like the synchronous kind (status block written, IRP freed) in
 * the caller's thread.
 *
 * IRQL: the builders at PASSIVE_LEVEL (they may lock pages); the send
 * helpers at PASSIVE_LEVEL (they wait).
 */
#include "iop.h"

static BOOLEAN IopAllocateSystemBuffer(PIRP Irp, ULONG Length, PVOID CopyFrom, ULONG CopyLength)
{
    PVOID buffer = ExAllocatePoolWithTag(NonPagedPoolNx, Length, IOP_BUFFER_TAG);
    if (buffer == NULL)
        return FALSE;
    if (CopyFrom != NULL && CopyLength != 0)
        RtlCopyMemory(buffer, CopyFrom, CopyLength);
    Irp->AssociatedIrp.SystemBuffer = buffer;
    Irp->Flags |= IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER;
    return TRUE;
}

static BOOLEAN IopLockBuffer(PIRP Irp, PVOID Buffer, ULONG Length, LOCK_OPERATION Operation)
{
    PMDL mdl = IoAllocateMdl(Buffer, Length, FALSE, FALSE, Irp);
    if (mdl == NULL)
        return FALSE;
    MmProbeAndLockPages(mdl, KernelMode, Operation);
    return TRUE;
}

/* Undoes a half-built IRP (before anyone saw it). */
static PIRP IopDiscardBuiltIrp(PIRP Irp)
{
    if ((Irp->Flags & IRP_DEALLOCATE_BUFFER) && Irp->AssociatedIrp.SystemBuffer != NULL)
        ExFreePoolWithTag(Irp->AssociatedIrp.SystemBuffer, IOP_BUFFER_TAG);
    PMDL mdl = Irp->MdlAddress;
    while (mdl != NULL) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED)
            MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
    Irp->MdlAddress = NULL;
    IoFreeIrp(Irp);
    return NULL;
}

static VOID IopSetBuilderOwner(PIRP Irp, PIO_STATUS_BLOCK IoStatusBlock, PKEVENT Event)
{
    Irp->UserIosb = IoStatusBlock;
    Irp->UserEvent = Event;
    Irp->RequestorMode = KernelMode;
    Irp->Tail.Overlay.Thread = PsGetCurrentThread();
    Irp->Tail.Overlay.OriginalFileObject = NULL;
}

PIRP NTAPI IoBuildDeviceIoControlRequest(ULONG IoControlCode, PDEVICE_OBJECT DeviceObject, PVOID InputBuffer,
                                         ULONG InputBufferLength, PVOID OutputBuffer, ULONG OutputBufferLength,
                                         BOOLEAN InternalDeviceIoControl, PKEVENT Event,
                                         PIO_STATUS_BLOCK IoStatusBlock)
{
    PIRP irp = IoAllocateIrp(DeviceObject->StackSize, FALSE);
    if (irp == NULL)
        return NULL;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = InternalDeviceIoControl ? IRP_MJ_INTERNAL_DEVICE_CONTROL : IRP_MJ_DEVICE_CONTROL;
    sp->Parameters.DeviceIoControl.IoControlCode = IoControlCode;
    sp->Parameters.DeviceIoControl.InputBufferLength = InputBufferLength;
    sp->Parameters.DeviceIoControl.OutputBufferLength = OutputBufferLength;
    BOOLEAN hasInput = InputBuffer != NULL && InputBufferLength != 0;
    BOOLEAN hasOutput = OutputBuffer != NULL && OutputBufferLength != 0;

    switch (METHOD_FROM_CTL_CODE(IoControlCode)) {
    case METHOD_BUFFERED: {
        ULONG length = InputBufferLength > OutputBufferLength ? InputBufferLength : OutputBufferLength;
        if (length != 0) {
            if (!IopAllocateSystemBuffer(irp, length, hasInput ? InputBuffer : NULL, InputBufferLength))
                return IopDiscardBuiltIrp(irp);
            if (hasOutput)
                irp->Flags |= IRP_INPUT_OPERATION;
        }
        irp->UserBuffer = OutputBuffer;
        break;
    }
    case METHOD_IN_DIRECT:
    case METHOD_OUT_DIRECT:
        if (hasInput && !IopAllocateSystemBuffer(irp, InputBufferLength, InputBuffer, InputBufferLength))
            return IopDiscardBuiltIrp(irp);
        if (hasOutput &&
            !IopLockBuffer(irp, OutputBuffer, OutputBufferLength,
                           METHOD_FROM_CTL_CODE(IoControlCode) == METHOD_IN_DIRECT ? IoReadAccess : IoWriteAccess))
            return IopDiscardBuiltIrp(irp);
        irp->UserBuffer = OutputBuffer;
        break;
    default: /* METHOD_NEITHER */
        sp->Parameters.DeviceIoControl.Type3InputBuffer = InputBuffer;
        irp->UserBuffer = OutputBuffer;
        break;
    }
    IopSetBuilderOwner(irp, IoStatusBlock, Event);
    IopQueueIrpToThread(irp);
    return irp;
}

PIRP NTAPI IoBuildAsynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                         ULONG Length, PLARGE_INTEGER StartingOffset,
                                         PIO_STATUS_BLOCK IoStatusBlock)
{
    BOOLEAN transfer = MajorFunction == IRP_MJ_READ || MajorFunction == IRP_MJ_WRITE;
    if (!transfer && MajorFunction != IRP_MJ_FLUSH_BUFFERS && MajorFunction != IRP_MJ_SHUTDOWN &&
        MajorFunction != IRP_MJ_PNP && MajorFunction != IRP_MJ_POWER)
        return NULL;
    if (transfer && Length != 0 && Buffer == NULL)
        return NULL;
    PIRP irp = IoAllocateIrp(DeviceObject->StackSize, FALSE);
    if (irp == NULL)
        return NULL;
    PIO_STACK_LOCATION sp = IoGetNextIrpStackLocation(irp);
    sp->MajorFunction = (UCHAR)MajorFunction;
    if (transfer) {
        BOOLEAN read = MajorFunction == IRP_MJ_READ;
        irp->UserBuffer = Buffer;
        if (Length != 0 && (DeviceObject->Flags & DO_BUFFERED_IO)) {
            if (!IopAllocateSystemBuffer(irp, Length, read ? NULL : Buffer, Length))
                return IopDiscardBuiltIrp(irp);
            if (read)
                irp->Flags |= IRP_INPUT_OPERATION;
        } else if (Length != 0 && (DeviceObject->Flags & DO_DIRECT_IO)) {
            if (!IopLockBuffer(irp, Buffer, Length, read ? IoWriteAccess : IoReadAccess))
                return IopDiscardBuiltIrp(irp);
        }
        /* Read and Write share their layout. */
        sp->Parameters.Read.Length = Length;
        sp->Parameters.Read.ByteOffset.QuadPart = StartingOffset != NULL ? StartingOffset->QuadPart : 0;
        irp->Flags |= read ? IRP_READ_OPERATION : IRP_WRITE_OPERATION;
    }
    IopSetBuilderOwner(irp, IoStatusBlock, NULL);
    return irp;
}

PIRP NTAPI IoBuildSynchronousFsdRequest(ULONG MajorFunction, PDEVICE_OBJECT DeviceObject, PVOID Buffer,
                                        ULONG Length, PLARGE_INTEGER StartingOffset, PKEVENT Event,
                                        PIO_STATUS_BLOCK IoStatusBlock)
{
    PIRP irp = IoBuildAsynchronousFsdRequest(MajorFunction, DeviceObject, Buffer, Length, StartingOffset,
                                             IoStatusBlock);
    if (irp == NULL)
        return NULL;
    irp->UserEvent = Event;
    IopQueueIrpToThread(irp);
    return irp;
}

/* ---- synchronous sends ---------------------------------------------------------------------------- */

static NTSTATUS NTAPI IopSignalAndReclaim(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)DeviceObject;
    (void)Irp;
    KeSetEvent((PKEVENT)Context, IO_NO_INCREMENT, FALSE);
    return STATUS_MORE_PROCESSING_REQUIRED;
}

static NTSTATUS IopSendAndWait(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    KEVENT done;
    KeInitializeEvent(&done, NotificationEvent, FALSE);
    IoSetCompletionRoutine(Irp, IopSignalAndReclaim, &done, TRUE, TRUE, TRUE);
    if (IoCallDriver(DeviceObject, Irp) == STATUS_PENDING)
        KeWaitForSingleObject(&done, Executive, KernelMode, FALSE, NULL);
    return Irp->IoStatus.Status;
}

BOOLEAN NTAPI IoForwardIrpSynchronously(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* The current location is the caller's; forwarding needs one below it. */
    if (Irp->CurrentLocation <= 1)
        return FALSE;
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IopSendAndWait(DeviceObject, Irp);
    return TRUE;
}

NTSTATUS NTAPI IoSynchronousCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    /* The caller prepared the next location; only the completion routine is ours. */
    return IopSendAndWait(DeviceObject, Irp);
}
