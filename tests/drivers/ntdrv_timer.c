/*
 * ntdrv_timer.sys: a real WDM driver (mingw-w64 DDK headers and import
 * libraries; nothing ntos-specific) for asynchronous I/O:
 *
 * - IOCTL_TIMER_DELAY pends the IRP with a cancel routine and a 'Timr' pool
 *   block holding its deadline; a KTIMER's DPC completes every request whose
 *   deadline (KeQueryInterruptTime, an inline KUSER_SHARED_DATA read) has
 *   passed and re-arms for the next one. Cancelling (ZwCancelIoFile, closing
 *   the handle) runs the cancel routine instead.
 * - IOCTL_TIMER_PING hands a value to the driver's system thread
 *   (PsCreateSystemThread) through a KEVENT and waits (KeWaitForSingleObject)
 *   on a second event for its answer.
 * - IOCTL_TIMER_WORKITEM pends the IRP and completes it from a work item
 *   (IoAllocateWorkItem/IoQueueWorkItem) at PASSIVE_LEVEL.
 * - DriverUnload stops the thread and waits for it, cancels the timer and
 *   flushes queued DPCs, then deletes its device and link.
 *
 * Locking: Timer->Lock (spin lock, DISPATCH_LEVEL) guards the pending list
 * and the timer's arming. A pending IRP is owned by whoever clears its cancel
 * routine (IoSetCancelRoutine(Irp, NULL) != NULL) or by the cancel routine;
 * both remove it from the list under the lock. Ping is serialised by a fast
 * mutex (one request to the thread at a time).
 */
#include <ddk/ntddk.h>
#include "drvtest.h"

typedef struct _TIMER_REQUEST {
    LIST_ENTRY Link;
    PIRP Irp;
    ULONG64 QueuedAt;
    ULONG64 Deadline;
    ULONG Milliseconds;
} TIMER_REQUEST, *PTIMER_REQUEST;

typedef struct _TIMER_STATE {
    KSPIN_LOCK Lock;
    LIST_ENTRY Pending;
    KTIMER Timer;
    KDPC Dpc;
    PDEVICE_OBJECT Device;
    /* The system thread. */
    PKTHREAD Thread;
    KEVENT WorkEvent; /* synchronization: a ping or the stop request is ready */
    KEVENT DoneEvent; /* synchronization: the thread has answered */
    FAST_MUTEX PingMutex;
    volatile LONG Stop;
    ULONG PingValue;
    DRVTEST_TIMER_PING PingAnswer;
    /* Counters. */
    volatile LONG PendingCount;
    volatile LONG Completed;
    volatile LONG Cancelled;
    volatile LONG DpcRuns;
    volatile LONG Pings;
    volatile LONG WorkItems;
    volatile LONG LockIrqlErrors;
} TIMER_STATE, *PTIMER_STATE;

static TIMER_STATE Timer;

static NTSTATUS TimerComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static VOID TimerCheckLockIrql(void)
{
    if (KeGetCurrentIrql() != DISPATCH_LEVEL)
        InterlockedIncrement(&Timer.LockIrqlErrors);
}

/* Called with Timer.Lock held: arms the timer for the earliest deadline in the list. */
static VOID TimerArmLocked(void)
{
    ULONG64 earliest = ~0ULL;
    PLIST_ENTRY e;
    for (e = Timer.Pending.Flink; e != &Timer.Pending; e = e->Flink) {
        PTIMER_REQUEST r = CONTAINING_RECORD(e, TIMER_REQUEST, Link);
        if (r->Deadline < earliest)
            earliest = r->Deadline;
    }
    if (earliest != ~0ULL) {
        LARGE_INTEGER due;
        /* Absolute interrupt time is not a KeSetTimer form; convert to a relative wait. */
        ULONG64 now = KeQueryInterruptTime();
        due.QuadPart = earliest > now ? -(LONGLONG)(earliest - now) : -1;
        KeSetTimer(&Timer.Timer, due, &Timer.Dpc);
    }
}

static VOID TimerFinish(PTIMER_REQUEST r, NTSTATUS Status)
{
    PIRP irp = r->Irp;
    DRVTEST_TIMER_DONE *done = irp->AssociatedIrp.SystemBuffer;
    ULONG_PTR info = 0;
    if (Status == STATUS_SUCCESS) {
        done->CompletionIrql = KeGetCurrentIrql();
        done->Milliseconds = r->Milliseconds;
        done->Elapsed100ns = KeQueryInterruptTime() - r->QueuedAt;
        info = sizeof(*done);
    }
    ExFreePoolWithTag(r, DRVTEST_TIMER_TAG);
    TimerComplete(irp, Status, info);
}

static VOID NTAPI TimerDpcRoutine(PKDPC Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    LIST_ENTRY due;
    PLIST_ENTRY e, next;
    ULONG64 now = KeQueryInterruptTime();
    (void)Dpc;
    (void)Context;
    (void)Arg1;
    (void)Arg2;

    InterlockedIncrement(&Timer.DpcRuns);
    InitializeListHead(&due);
    KeAcquireSpinLockAtDpcLevel(&Timer.Lock);
    TimerCheckLockIrql();
    for (e = Timer.Pending.Flink; e != &Timer.Pending; e = next) {
        PTIMER_REQUEST r = CONTAINING_RECORD(e, TIMER_REQUEST, Link);
        next = e->Flink;
        if (r->Deadline > now)
            continue;
        /* Whoever clears the cancel routine owns the IRP; if it is already gone,
         * the cancel routine is running and will remove and complete it. */
        if (IoSetCancelRoutine(r->Irp, NULL) == NULL)
            continue;
        RemoveEntryList(&r->Link);
        InterlockedDecrement(&Timer.PendingCount);
        InsertTailList(&due, &r->Link);
    }
    TimerArmLocked();
    KeReleaseSpinLockFromDpcLevel(&Timer.Lock);

    while (!IsListEmpty(&due)) {
        PTIMER_REQUEST r = CONTAINING_RECORD(RemoveHeadList(&due), TIMER_REQUEST, Link);
        InterlockedIncrement(&Timer.Completed);
        TimerFinish(r, STATUS_SUCCESS);
    }
}

static VOID NTAPI TimerCancel(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PTIMER_REQUEST r = Irp->Tail.Overlay.DriverContext[0];
    KIRQL irql;
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);

    KeAcquireSpinLock(&Timer.Lock, &irql);
    TimerCheckLockIrql();
    RemoveEntryList(&r->Link);
    InterlockedDecrement(&Timer.PendingCount);
    KeReleaseSpinLock(&Timer.Lock, irql);
    InterlockedIncrement(&Timer.Cancelled);
    TimerFinish(r, STATUS_CANCELLED);
}

static NTSTATUS TimerQueueDelay(PIRP Irp, ULONG Milliseconds)
{
    PTIMER_REQUEST r = ExAllocatePoolWithTag(NonPagedPool, sizeof(*r), DRVTEST_TIMER_TAG);
    KIRQL irql;
    if (r == NULL)
        return TimerComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
    r->Irp = Irp;
    r->Milliseconds = Milliseconds;
    r->QueuedAt = KeQueryInterruptTime();
    r->Deadline = r->QueuedAt + (ULONG64)Milliseconds * 10000;
    Irp->Tail.Overlay.DriverContext[0] = r;

    IoMarkIrpPending(Irp);
    KeAcquireSpinLock(&Timer.Lock, &irql);
    TimerCheckLockIrql();
    IoSetCancelRoutine(Irp, TimerCancel);
    if (Irp->Cancel && IoSetCancelRoutine(Irp, NULL) != NULL) {
        /* Cancelled before it was queued, and the cancel routine will not run. */
        KeReleaseSpinLock(&Timer.Lock, irql);
        InterlockedIncrement(&Timer.Cancelled);
        TimerFinish(r, STATUS_CANCELLED);
        return STATUS_PENDING;
    }
    /* (If Cancel is set but the routine was already taken, the cancel routine
     * is waiting for Timer.Lock and will find the request on the list.) */
    InsertTailList(&Timer.Pending, &r->Link);
    InterlockedIncrement(&Timer.PendingCount);
    TimerArmLocked();
    KeReleaseSpinLock(&Timer.Lock, irql);
    return STATUS_PENDING;
}

static VOID NTAPI TimerThread(PVOID Context)
{
    (void)Context;
    for (;;) {
        KeWaitForSingleObject(&Timer.WorkEvent, Executive, KernelMode, FALSE, NULL);
        if (Timer.Stop)
            break;
        Timer.PingAnswer.Result = Timer.PingValue * 3 + 1;
        Timer.PingAnswer.ThreadIrql = KeGetCurrentIrql();
        Timer.PingAnswer.ThreadId = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
        KeSetEvent(&Timer.DoneEvent, IO_NO_INCREMENT, FALSE);
    }
    PsTerminateSystemThread(STATUS_SUCCESS);
}

static NTSTATUS TimerPing(PIRP Irp, ULONG Value)
{
    DRVTEST_TIMER_PING *out = Irp->AssociatedIrp.SystemBuffer;
    ExAcquireFastMutex(&Timer.PingMutex);
    Timer.PingValue = Value;
    KeSetEvent(&Timer.WorkEvent, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(&Timer.DoneEvent, Executive, KernelMode, FALSE, NULL);
    *out = Timer.PingAnswer;
    ExReleaseFastMutex(&Timer.PingMutex);
    out->CallerId = (ULONG64)(ULONG_PTR)PsGetCurrentThreadId();
    InterlockedIncrement(&Timer.Pings);
    return TimerComplete(Irp, STATUS_SUCCESS, sizeof(*out));
}

static VOID NTAPI TimerWorkRoutine(PDEVICE_OBJECT DeviceObject, PVOID Context)
{
    PIRP irp = Context;
    PIO_WORKITEM item = irp->Tail.Overlay.DriverContext[1];
    DRVTEST_TIMER_WORK *out = irp->AssociatedIrp.SystemBuffer;
    (void)DeviceObject;
    out->WorkerIrql = KeGetCurrentIrql();
    out->Marker = 0x574F524B;
    out->WorkerThread = (ULONG64)(ULONG_PTR)KeGetCurrentThread();
    InterlockedIncrement(&Timer.WorkItems);
    IoFreeWorkItem(item);
    TimerComplete(irp, STATUS_SUCCESS, sizeof(*out));
}

static NTSTATUS NTAPI TimerDeviceControl(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    ULONG in = sp->Parameters.DeviceIoControl.InputBufferLength;
    ULONG out = sp->Parameters.DeviceIoControl.OutputBufferLength;
    PVOID sys = Irp->AssociatedIrp.SystemBuffer;

    switch (sp->Parameters.DeviceIoControl.IoControlCode) {
    case IOCTL_TIMER_DELAY:
        if (in < sizeof(ULONG) || out < sizeof(DRVTEST_TIMER_DONE))
            return TimerComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        return TimerQueueDelay(Irp, *(PULONG)sys);
    case IOCTL_TIMER_PING:
        if (in < sizeof(ULONG) || out < sizeof(DRVTEST_TIMER_PING))
            return TimerComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        return TimerPing(Irp, *(PULONG)sys);
    case IOCTL_TIMER_WORKITEM: {
        PIO_WORKITEM item;
        if (out < sizeof(DRVTEST_TIMER_WORK))
            return TimerComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        item = IoAllocateWorkItem(DeviceObject);
        if (item == NULL)
            return TimerComplete(Irp, STATUS_INSUFFICIENT_RESOURCES, 0);
        Irp->Tail.Overlay.DriverContext[1] = item;
        IoMarkIrpPending(Irp);
        IoQueueWorkItem(item, TimerWorkRoutine, DelayedWorkQueue, Irp);
        return STATUS_PENDING;
    }
    case IOCTL_TIMER_QUERY: {
        DRVTEST_TIMER_STATS *st = sys;
        if (out < sizeof(*st))
            return TimerComplete(Irp, STATUS_BUFFER_TOO_SMALL, 0);
        st->Pending = Timer.PendingCount;
        st->Completed = Timer.Completed;
        st->Cancelled = Timer.Cancelled;
        st->DpcRuns = Timer.DpcRuns;
        st->Pings = Timer.Pings;
        st->WorkItems = Timer.WorkItems;
        st->LockIrqlErrors = (ULONG)Timer.LockIrqlErrors;
        return TimerComplete(Irp, STATUS_SUCCESS, sizeof(*st));
    }
    default:
        return TimerComplete(Irp, STATUS_INVALID_DEVICE_REQUEST, 0);
    }
}

static NTSTATUS NTAPI TimerCreateClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return TimerComplete(Irp, STATUS_SUCCESS, 0);
}

/* A static dispatch table: its function pointers are absolute addresses, so
 * the image carries DIR64 base relocations for the loader to apply (volatile:
 * read at run time, not folded into the code by the compiler). */
static const struct {
    UCHAR Major;
    PDRIVER_DISPATCH volatile Routine;
} TimerDispatch[] = {
    {IRP_MJ_CREATE, TimerCreateClose},
    {IRP_MJ_CLOSE, TimerCreateClose},
    {IRP_MJ_DEVICE_CONTROL, TimerDeviceControl},
};

static VOID TimerStopThread(void)
{
    InterlockedExchange(&Timer.Stop, 1);
    KeSetEvent(&Timer.WorkEvent, IO_NO_INCREMENT, FALSE);
    KeWaitForSingleObject(Timer.Thread, Executive, KernelMode, FALSE, NULL);
    ObDereferenceObject(Timer.Thread);
    Timer.Thread = NULL;
}

static VOID NTAPI TimerUnload(PDRIVER_OBJECT DriverObject)
{
    UNICODE_STRING link;
    (void)DriverObject;
    TimerStopThread();
    /* No request can be pending here: the I/O manager unloads only after the
     * last handle is closed, and closing cancels. Stop the timer and wait out
     * a DPC that may still be running on another processor. */
    KeCancelTimer(&Timer.Timer);
    KeFlushQueuedDpcs();
    RtlInitUnicodeString(&link, DRVTEST_TIMER_LINK);
    IoDeleteSymbolicLink(&link);
    IoDeleteDevice(Timer.Device);
    DbgPrint("ntdrv_timer: unloaded (%ld completed, %ld cancelled)\n", Timer.Completed, Timer.Cancelled);
}

/* The service key DriverEntry was given must exist: Windows always creates
 * one before loading a driver, and a driver started without it (for example
 * by a loader that starts every boot module) refuses to run. */
static NTSTATUS TimerCheckServiceKey(PUNICODE_STRING RegistryPath)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    NTSTATUS status;
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status)) {
        DbgPrint("ntdrv_timer: no service key %wZ: 0x%08lx\n", RegistryPath, status);
        return status;
    }
    ZwClose(key);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING deviceName, link;
    OBJECT_ATTRIBUTES oa;
    HANDLE thread;
    NTSTATUS status;
    ULONG i;

    status = TimerCheckServiceKey(RegistryPath);
    if (!NT_SUCCESS(status))
        return status;
    RtlZeroMemory(&Timer, sizeof(Timer));
    KeInitializeSpinLock(&Timer.Lock);
    InitializeListHead(&Timer.Pending);
    KeInitializeTimer(&Timer.Timer);
    KeInitializeDpc(&Timer.Dpc, TimerDpcRoutine, NULL);
    KeInitializeEvent(&Timer.WorkEvent, SynchronizationEvent, FALSE);
    KeInitializeEvent(&Timer.DoneEvent, SynchronizationEvent, FALSE);
    ExInitializeFastMutex(&Timer.PingMutex);

    RtlInitUnicodeString(&deviceName, DRVTEST_TIMER_DEVICE);
    status = IoCreateDevice(DriverObject, 0, &deviceName, FILE_DEVICE_UNKNOWN, FILE_DEVICE_SECURE_OPEN, FALSE,
                            &Timer.Device);
    if (!NT_SUCCESS(status))
        return status;
    RtlInitUnicodeString(&link, DRVTEST_TIMER_LINK);
    status = IoCreateSymbolicLink(&link, &deviceName);
    if (!NT_SUCCESS(status)) {
        IoDeleteDevice(Timer.Device);
        return status;
    }

    InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
    status = PsCreateSystemThread(&thread, THREAD_ALL_ACCESS, &oa, NULL, NULL, TimerThread, NULL);
    if (NT_SUCCESS(status)) {
        status = ObReferenceObjectByHandle(thread, SYNCHRONIZE, *PsThreadType, KernelMode, (PVOID *)&Timer.Thread,
                                           NULL);
        ZwClose(thread);
        if (!NT_SUCCESS(status)) {
            /* The thread runs but cannot be waited for: stop it and give up. */
            InterlockedExchange(&Timer.Stop, 1);
            KeSetEvent(&Timer.WorkEvent, IO_NO_INCREMENT, FALSE);
        }
    }
    if (!NT_SUCCESS(status)) {
        IoDeleteSymbolicLink(&link);
        IoDeleteDevice(Timer.Device);
        return status;
    }

    Timer.Device->Flags |= DO_BUFFERED_IO;
    Timer.Device->Flags &= ~DO_DEVICE_INITIALIZING;
    for (i = 0; i < sizeof(TimerDispatch) / sizeof(TimerDispatch[0]); i++)
        DriverObject->MajorFunction[TimerDispatch[i].Major] = TimerDispatch[i].Routine;
    DriverObject->DriverUnload = TimerUnload;
    return STATUS_SUCCESS;
}
