/*
 * \Device\Loopback (\Driver\Loopback) and \Device\LoopbackFilter
 * (\Driver\LoopbackFilter): built-in test drivers, created at boot through
 * IoCreateDriver, that exercise what simple devices never do: requests that
 * pend in cancel-safe queues, completion from a timer DPC racing
 * cancellation, the four IOCTL transfer methods, and a filter in the stack.
 * The interface is in include/ntos/loopback.h.
 *
 * Locking and IRQL rules
 *  - LOOPBACK_EXTENSION.Lock (spin lock, DISPATCH_LEVEL) guards the byte
 *    buffer, both queues' lists and their counts. The CSQ callbacks take it.
 *  - DrainMutex (fast mutex, APC_LEVEL) serialises the code that moves bytes
 *    from the buffer to queued reads. Only the drainer takes bytes out of the
 *    buffer, so the bytes it saw are still there after it removed a read from
 *    the queue. Every path that adds a read or adds bytes drains afterwards:
 *    a read queued just after a drain looked at the queue is served by the
 *    drain its own dispatch runs.
 *  - A delayed request is owned by whoever takes it out of its queue
 *    (IoCsqRemoveIrp in the DPC, the CSQ cancel routine, or cleanup), so it is
 *    completed exactly once. Its LOOPBACK_DELAY block (timer, DPC) is shared
 *    by the DPC and the cancelling side; it is freed by the last of them: the
 *    DPC alone when it won, otherwise the canceller if KeCancelTimer stopped
 *    the DPC from ever running, otherwise whichever of the two drops the
 *    second of two references.
 *  - Dispatch routines run at PASSIVE_LEVEL; the DPC at DISPATCH_LEVEL.
 *  - The filter keeps only interlocked counters.
 */
#include "iop.h"
#include <ntos/loopback.h>

#define LOOPBACK_TAG 0x6b62704c /* "Lpbk": LOOPBACK_DELAY blocks */

typedef struct _LOOPBACK_EXTENSION {
    KSPIN_LOCK Lock;
    FAST_MUTEX DrainMutex;
    IO_CSQ ReadCsq;
    LIST_ENTRY ReadList;
    ULONG ReadCount;
    IO_CSQ DelayCsq;
    LIST_ENTRY DelayList;
    ULONG DelayCount;
    ULONG Head; /* index of the oldest buffered byte */
    ULONG Used;
    UCHAR Buffer[LOOPBACK_BUFFER_SIZE];
} LOOPBACK_EXTENSION, *PLOOPBACK_EXTENSION;

typedef struct _LOOPBACK_DELAY {
    IO_CSQ_IRP_CONTEXT CsqContext;
    KTIMER Timer;
    KDPC Dpc;
    PLOOPBACK_EXTENSION Extension;
    volatile LONG References;
} LOOPBACK_DELAY, *PLOOPBACK_DELAY;

typedef struct _LOOPBACK_FILTER_EXTENSION {
    PDEVICE_OBJECT Lower;
    volatile LONG64 Passed;
    volatile LONG64 Completed;
    volatile LONG64 PassedByMajor[IRP_MJ_MAXIMUM_FUNCTION + 1];
} LOOPBACK_FILTER_EXTENSION, *PLOOPBACK_FILTER_EXTENSION;

static PDEVICE_OBJECT IopLoopbackDevice;

static NTSTATUS IopLoopbackComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

/* ---- the queues' callbacks ---------------------------------------------------------------------- */

#define READ_EXT(Csq) CONTAINING_RECORD(Csq, LOOPBACK_EXTENSION, ReadCsq)
#define DELAY_EXT(Csq) CONTAINING_RECORD(Csq, LOOPBACK_EXTENSION, DelayCsq)

static VOID NTAPI IopLoopbackReadInsert(PIO_CSQ Csq, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = READ_EXT(Csq);
    InsertTailList(&ext->ReadList, &Irp->Tail.Overlay.ListEntry);
    ext->ReadCount++;
}

static VOID NTAPI IopLoopbackReadRemove(PIO_CSQ Csq, PIRP Irp)
{
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    READ_EXT(Csq)->ReadCount--;
}

static VOID NTAPI IopLoopbackDelayInsert(PIO_CSQ Csq, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = DELAY_EXT(Csq);
    InsertTailList(&ext->DelayList, &Irp->Tail.Overlay.ListEntry);
    ext->DelayCount++;
}

static VOID NTAPI IopLoopbackDelayRemove(PIO_CSQ Csq, PIRP Irp)
{
    RemoveEntryList(&Irp->Tail.Overlay.ListEntry);
    DELAY_EXT(Csq)->DelayCount--;
}

/* PeekContext, when not NULL, is a file object: only its requests match (cleanup). */
static PIRP IopLoopbackPeek(PLIST_ENTRY Head, PIRP Irp, PVOID PeekContext)
{
    PLIST_ENTRY e = Irp == NULL ? Head->Flink : Irp->Tail.Overlay.ListEntry.Flink;
    for (; e != Head; e = e->Flink) {
        PIRP next = CONTAINING_RECORD(e, IRP, Tail.Overlay.ListEntry);
        if (PeekContext == NULL || IoGetCurrentIrpStackLocation(next)->FileObject == PeekContext)
            return next;
    }
    return NULL;
}

static PIRP NTAPI IopLoopbackReadPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    return IopLoopbackPeek(&READ_EXT(Csq)->ReadList, Irp, PeekContext);
}

static PIRP NTAPI IopLoopbackDelayPeek(PIO_CSQ Csq, PIRP Irp, PVOID PeekContext)
{
    return IopLoopbackPeek(&DELAY_EXT(Csq)->DelayList, Irp, PeekContext);
}

static VOID NTAPI IopLoopbackReadAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    KeAcquireSpinLock(&READ_EXT(Csq)->Lock, Irql);
}

static VOID NTAPI IopLoopbackReadRelease(PIO_CSQ Csq, KIRQL Irql)
{
    KeReleaseSpinLock(&READ_EXT(Csq)->Lock, Irql);
}

static VOID NTAPI IopLoopbackDelayAcquire(PIO_CSQ Csq, PKIRQL Irql)
{
    KeAcquireSpinLock(&DELAY_EXT(Csq)->Lock, Irql);
}

static VOID NTAPI IopLoopbackDelayRelease(PIO_CSQ Csq, KIRQL Irql)
{
    KeReleaseSpinLock(&DELAY_EXT(Csq)->Lock, Irql);
}

static VOID NTAPI IopLoopbackReadCancelled(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    IopLoopbackComplete(Irp, STATUS_CANCELLED, 0);
}

static VOID IopLoopbackDropDelay(PLOOPBACK_DELAY Delay)
{
    if (__atomic_sub_fetch(&Delay->References, 1, __ATOMIC_ACQ_REL) == 0)
        ExFreePoolWithTag(Delay, LOOPBACK_TAG);
}

/* The canceller's side of a delayed request it took out of the queue. */
static VOID IopLoopbackCancelDelay(PIRP Irp)
{
    PLOOPBACK_DELAY delay = Irp->Tail.Overlay.DriverContext[0];
    IopLoopbackComplete(Irp, STATUS_CANCELLED, 0);
    if (KeCancelTimer(&delay->Timer))
        ExFreePoolWithTag(delay, LOOPBACK_TAG); /* the DPC will never run */
    else
        IopLoopbackDropDelay(delay); /* it is queued or running: the later of us frees */
}

static VOID NTAPI IopLoopbackDelayCancelled(PIO_CSQ Csq, PIRP Irp)
{
    (void)Csq;
    IopLoopbackCancelDelay(Irp);
}

static VOID NTAPI IopLoopbackDelayDpc(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    (void)Dpc;
    (void)Arg1;
    (void)Arg2;
    PLOOPBACK_DELAY delay = Context;
    PIRP irp = IoCsqRemoveIrp(&delay->Extension->DelayCsq, &delay->CsqContext);
    if (irp != NULL) {
        /* Nobody else can reach the block any more. */
        IopLoopbackComplete(irp, STATUS_SUCCESS, 0);
        ExFreePoolWithTag(delay, LOOPBACK_TAG);
        return;
    }
    IopLoopbackDropDelay(delay);
}

/* ---- reads and writes ---------------------------------------------------------------------------- */

/* Serves queued reads from the buffer while both have something. PASSIVE_LEVEL. */
static VOID IopLoopbackDrain(PLOOPBACK_EXTENSION Ext)
{
    ExAcquireFastMutex(&Ext->DrainMutex);
    for (;;) {
        KIRQL irql;
        KeAcquireSpinLock(&Ext->Lock, &irql);
        ULONG used = Ext->Used;
        KeReleaseSpinLock(&Ext->Lock, irql);
        if (used == 0)
            break;
        PIRP irp = IoCsqRemoveNextIrp(&Ext->ReadCsq, NULL);
        if (irp == NULL)
            break;
        ULONG want = IoGetCurrentIrpStackLocation(irp)->Parameters.Read.Length;
        PUCHAR out = irp->AssociatedIrp.SystemBuffer;
        KeAcquireSpinLock(&Ext->Lock, &irql);
        ULONG n = want < Ext->Used ? want : Ext->Used;
        for (ULONG i = 0; i < n; i++)
            out[i] = Ext->Buffer[(Ext->Head + i) % LOOPBACK_BUFFER_SIZE];
        Ext->Head = (Ext->Head + n) % LOOPBACK_BUFFER_SIZE;
        Ext->Used -= n;
        KeReleaseSpinLock(&Ext->Lock, irql);
        IopLoopbackComplete(irp, STATUS_SUCCESS, n);
    }
    ExReleaseFastMutex(&Ext->DrainMutex);
}

static NTSTATUS NTAPI IopLoopbackRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = DeviceObject->DeviceExtension;
    if (IoGetCurrentIrpStackLocation(Irp)->Parameters.Read.Length == 0)
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, 0);
    /* Always through the queue, so reads are served in arrival order. */
    IoCsqInsertIrp(&ext->ReadCsq, Irp, NULL);
    IopLoopbackDrain(ext);
    return STATUS_PENDING;
}

static NTSTATUS NTAPI IopLoopbackWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = DeviceObject->DeviceExtension;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    PUCHAR in = Irp->AssociatedIrp.SystemBuffer;
    KIRQL irql;
    KeAcquireSpinLock(&ext->Lock, &irql);
    ULONG room = LOOPBACK_BUFFER_SIZE - ext->Used;
    ULONG n = length < room ? length : room;
    for (ULONG i = 0; i < n; i++)
        ext->Buffer[(ext->Head + ext->Used + i) % LOOPBACK_BUFFER_SIZE] = in[i];
    ext->Used += n;
    KeReleaseSpinLock(&ext->Lock, irql);
    IopLoopbackDrain(ext);
    return IopLoopbackComplete(Irp, STATUS_SUCCESS, n);
}

static NTSTATUS NTAPI IopLoopbackCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopLoopbackComplete(Irp, STATUS_SUCCESS,
                               IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE ? FILE_OPENED : 0);
}

/* The last handle to a file object is gone: nothing may stay queued for it. */
static NTSTATUS NTAPI IopLoopbackCleanup(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = DeviceObject->DeviceExtension;
    PFILE_OBJECT file = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    PIRP queued;
    while ((queued = IoCsqRemoveNextIrp(&ext->ReadCsq, file)) != NULL)
        IopLoopbackComplete(queued, STATUS_CANCELLED, 0);
    while ((queued = IoCsqRemoveNextIrp(&ext->DelayCsq, file)) != NULL)
        IopLoopbackCancelDelay(queued);
    return IopLoopbackComplete(Irp, STATUS_SUCCESS, 0);
}

/* ---- device controls ------------------------------------------------------------------------------ */

static UCHAR IopLoopbackUpper(UCHAR c)
{
    return c >= 'a' && c <= 'z' ? (UCHAR)(c - 'a' + 'A') : c;
}

static NTSTATUS IopLoopbackDelay(PLOOPBACK_EXTENSION Ext, PIRP Irp, ULONG InLength)
{
    if (InLength < sizeof(ULONG))
        return IopLoopbackComplete(Irp, STATUS_INVALID_PARAMETER, 0);
    ULONG ms = *(PULONG)Irp->AssociatedIrp.SystemBuffer;
    if (ms > LOOPBACK_MAX_DELAY_MS)
        return IopLoopbackComplete(Irp, STATUS_INVALID_PARAMETER, 0);
    PLOOPBACK_DELAY delay = ExAllocatePoolZero(NonPagedPoolNx, sizeof(*delay), LOOPBACK_TAG);
    if (delay == NULL)
        return IopLoopbackComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    delay->Extension = Ext;
    delay->References = 2;
    KeInitializeTimer(&delay->Timer);
    KeInitializeDpc(&delay->Dpc, IopLoopbackDelayDpc, delay);
    Irp->Tail.Overlay.DriverContext[0] = delay;
    /* Queued before the timer is armed: the DPC must find it (or find it
     * already cancelled) in the queue. */
    IoCsqInsertIrp(&Ext->DelayCsq, Irp, &delay->CsqContext);
    LARGE_INTEGER due = {.QuadPart = -(LONGLONG)ms * 10000};
    KeSetTimer(&delay->Timer, due, &delay->Dpc);
    return STATUS_PENDING;
}

static NTSTATUS NTAPI IopLoopbackControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PLOOPBACK_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PUCHAR sys = Irp->AssociatedIrp.SystemBuffer;
    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_LOOPBACK_UPPER_BUFFERED:
        if (out < in)
            return IopLoopbackComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        for (ULONG i = 0; i < in; i++)
            sys[i] = IopLoopbackUpper(sys[i]);
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, in);
    case IOCTL_LOOPBACK_COUNT_IN_DIRECT: {
        if (in < 1)
            return IopLoopbackComplete(Irp, STATUS_INVALID_PARAMETER, 0);
        ULONG count = 0;
        if (Irp->MdlAddress != NULL) {
            PUCHAR data = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
            if (data == NULL)
                return IopLoopbackComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
            for (ULONG i = 0; i < out; i++)
                count += data[i] == sys[0];
        }
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, count);
    }
    case IOCTL_LOOPBACK_REVERSE_OUT_DIRECT: {
        if (out < in)
            return IopLoopbackComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        if (in == 0)
            return IopLoopbackComplete(Irp, STATUS_SUCCESS, 0);
        PUCHAR data = MmGetSystemAddressForMdlSafe(Irp->MdlAddress, NormalPagePriority);
        if (data == NULL)
            return IopLoopbackComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        for (ULONG i = 0; i < in; i++)
            data[i] = sys[in - 1 - i];
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, in);
    }
    case IOCTL_LOOPBACK_UPPER_NEITHER: {
        /* The buffers are the caller's own addresses: only a kernel-mode
         * caller's can be used without probing. */
        if (Irp->RequestorMode != KernelMode)
            return IopLoopbackComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
        if (out < in)
            return IopLoopbackComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        PUCHAR src = sp->Parameters.DeviceIoControl.Type3InputBuffer;
        PUCHAR dst = Irp->UserBuffer;
        for (ULONG i = 0; i < in; i++)
            dst[i] = IopLoopbackUpper(src[i]);
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, in);
    }
    case IOCTL_LOOPBACK_DELAY:
        return IopLoopbackDelay(ext, Irp, in);
    case IOCTL_LOOPBACK_QUERY: {
        if (out < sizeof(LOOPBACK_STATE))
            return IopLoopbackComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        LOOPBACK_STATE st;
        KIRQL irql;
        KeAcquireSpinLock(&ext->Lock, &irql);
        st.BufferedBytes = ext->Used;
        st.PendingReads = ext->ReadCount;
        st.PendingDelays = ext->DelayCount;
        KeReleaseSpinLock(&ext->Lock, irql);
        RtlCopyMemory(sys, &st, sizeof(st));
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, sizeof(st));
    }
    default:
        return IopLoopbackComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

static NTSTATUS NTAPI IopLoopbackDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Loopback");
    PDEVICE_OBJECT device;
    NTSTATUS status =
        IoCreateDevice(DriverObject, sizeof(LOOPBACK_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &device);
    if (!NT_SUCCESS(status))
        return status;
    PLOOPBACK_EXTENSION ext = device->DeviceExtension;
    KeInitializeSpinLock(&ext->Lock);
    ExInitializeFastMutex(&ext->DrainMutex);
    InitializeListHead(&ext->ReadList);
    InitializeListHead(&ext->DelayList);
    IoCsqInitialize(&ext->ReadCsq, IopLoopbackReadInsert, IopLoopbackReadRemove, IopLoopbackReadPeek,
                    IopLoopbackReadAcquire, IopLoopbackReadRelease, IopLoopbackReadCancelled);
    IoCsqInitialize(&ext->DelayCsq, IopLoopbackDelayInsert, IopLoopbackDelayRemove, IopLoopbackDelayPeek,
                    IopLoopbackDelayAcquire, IopLoopbackDelayRelease, IopLoopbackDelayCancelled);
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopLoopbackCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopLoopbackCreateClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopLoopbackCleanup;
    DriverObject->MajorFunction[IRP_MJ_READ] = IopLoopbackRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopLoopbackWrite;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = IopLoopbackControl;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    IopLoopbackDevice = device;
    return STATUS_SUCCESS;
}

/* ---- the filter ------------------------------------------------------------------------------------ */

static NTSTATUS NTAPI IopLoopbackFilterCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    (void)Context;
    PLOOPBACK_FILTER_EXTENSION ext = DeviceObject->DeviceExtension;
    /* The pending bit must travel up past a routine that does not return
     * STATUS_MORE_PROCESSING_REQUIRED. */
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    __atomic_add_fetch(&ext->Completed, 1, __ATOMIC_SEQ_CST);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI IopLoopbackFilterDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PLOOPBACK_FILTER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL &&
        sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_LOOPBACK_FILTER_STATS) {
        if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(LOOPBACK_FILTER_STATS))
            return IopLoopbackComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        PLOOPBACK_FILTER_STATS st = Irp->AssociatedIrp.SystemBuffer;
        st->Passed = __atomic_load_n(&ext->Passed, __ATOMIC_SEQ_CST);
        st->Completed = __atomic_load_n(&ext->Completed, __ATOMIC_SEQ_CST);
        for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
            st->PassedByMajor[i] = __atomic_load_n(&ext->PassedByMajor[i], __ATOMIC_SEQ_CST);
        return IopLoopbackComplete(Irp, STATUS_SUCCESS, sizeof(*st));
    }
    __atomic_add_fetch(&ext->Passed, 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&ext->PassedByMajor[sp->MajorFunction], 1, __ATOMIC_SEQ_CST);
    IoCopyCurrentIrpStackLocationToNext(Irp);
    IoSetCompletionRoutine(Irp, IopLoopbackFilterCompletion, NULL, TRUE, TRUE, TRUE);
    return IoCallDriver(ext->Lower, Irp);
}

static NTSTATUS NTAPI IopLoopbackFilterDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\LoopbackFilter");
    PDEVICE_OBJECT device;
    NTSTATUS status = IoCreateDevice(DriverObject, sizeof(LOOPBACK_FILTER_EXTENSION), &name, FILE_DEVICE_UNKNOWN, 0,
                                     FALSE, &device);
    if (!NT_SUCCESS(status))
        return status;
    PLOOPBACK_FILTER_EXTENSION ext = device->DeviceExtension;
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = IopLoopbackFilterDispatch;
    ext->Lower = IoAttachDeviceToDeviceStack(device, IopLoopbackDevice);
    if (ext->Lower == NULL) {
        IoDeleteDevice(device);
        return STATUS_NO_SUCH_DEVICE;
    }
    /* A filter presents the buffering method of the device below it. */
    device->Flags |= ext->Lower->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

NTSTATUS IopCreateLoopbackDevices(void)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Driver\\Loopback");
    NTSTATUS status = IoCreateDriver(&name, IopLoopbackDriverEntry);
    if (!NT_SUCCESS(status))
        return status;
    UNICODE_STRING filter = RTL_CONSTANT_STRING(L"\\Driver\\LoopbackFilter");
    return IoCreateDriver(&filter, IopLoopbackFilterDriverEntry);
}
