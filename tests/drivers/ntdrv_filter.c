/*
 * ntdrv_filter.sys: a real WDM filter driver (mingw-w64 DDK headers and
 * import libraries; nothing ntos-specific). DriverEntry finds
 * \Device\DrvEcho with IoGetDeviceObjectPointer, creates an unnamed device
 * and attaches it on top with IoAttachDeviceToDeviceStack, so opens of
 * \Device\DrvEcho reach the filter first. It passes every request down
 * (IoSkipCurrentIrpStackLocation + IoCallDriver), counting them; reads go
 * down with a completion routine that sums the bytes read. IOCTL_FILTER_QUERY
 * is answered by the filter itself. DriverUnload detaches, deletes its device
 * and drops the file object reference.
 *
 * Locking: only interlocked counters; the completion routine may run at
 * DISPATCH_LEVEL.
 */
#include <ddk/ntddk.h>
#include "drvtest.h"

typedef struct _FILTER_EXTENSION {
    PDEVICE_OBJECT Lower;
    PFILE_OBJECT TargetFile; /* from IoGetDeviceObjectPointer: keeps the target alive */
    volatile LONG Counts[IRP_MJ_MAXIMUM_FUNCTION + 1];
    volatile LONG ReadCompletions;
    volatile LONG64 BytesRead;
    ULONG LowerStackSize;
} FILTER_EXTENSION, *PFILTER_EXTENSION;

static PDEVICE_OBJECT FilterDevice;

static NTSTATUS NTAPI FilterReadCompletion(PDEVICE_OBJECT DeviceObject, PIRP Irp, PVOID Context)
{
    PFILTER_EXTENSION ext = Context;
    (void)DeviceObject;
    /* The documented rule for a completion routine that does not return
     * STATUS_MORE_PROCESSING_REQUIRED: propagate the pending mark. */
    if (Irp->PendingReturned)
        IoMarkIrpPending(Irp);
    InterlockedIncrement(&ext->ReadCompletions);
    if (NT_SUCCESS(Irp->IoStatus.Status))
        InterlockedExchangeAdd64(&ext->BytesRead, (LONG64)Irp->IoStatus.Information);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI FilterDispatch(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    PFILTER_EXTENSION ext = DeviceObject->DeviceExtension;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);

    InterlockedIncrement(&ext->Counts[sp->MajorFunction]);
    if (sp->MajorFunction == IRP_MJ_DEVICE_CONTROL &&
        sp->Parameters.DeviceIoControl.IoControlCode == IOCTL_FILTER_QUERY) {
        DRVTEST_FILTER_STATS *st = Irp->AssociatedIrp.SystemBuffer;
        if (sp->Parameters.DeviceIoControl.OutputBufferLength < sizeof(*st)) {
            Irp->IoStatus.Status = STATUS_BUFFER_TOO_SMALL;
            Irp->IoStatus.Information = 0;
        } else {
            st->Creates = ext->Counts[IRP_MJ_CREATE];
            st->Closes = ext->Counts[IRP_MJ_CLOSE];
            st->Reads = ext->Counts[IRP_MJ_READ];
            st->Writes = ext->Counts[IRP_MJ_WRITE];
            st->DeviceControls = ext->Counts[IRP_MJ_DEVICE_CONTROL];
            st->ReadCompletions = ext->ReadCompletions;
            st->BytesRead = (ULONG64)ext->BytesRead;
            st->LowerStackSize = ext->LowerStackSize;
            st->FilterStackSize = (ULONG)DeviceObject->StackSize;
            Irp->IoStatus.Status = STATUS_SUCCESS;
            Irp->IoStatus.Information = sizeof(*st);
        }
        {
            NTSTATUS status = Irp->IoStatus.Status;
            IoCompleteRequest(Irp, IO_NO_INCREMENT);
            return status;
        }
    }
    if (sp->MajorFunction == IRP_MJ_READ) {
        IoCopyCurrentIrpStackLocationToNext(Irp);
        IoSetCompletionRoutine(Irp, FilterReadCompletion, ext, TRUE, TRUE, TRUE);
        return IoCallDriver(ext->Lower, Irp);
    }
    IoSkipCurrentIrpStackLocation(Irp);
    return IoCallDriver(ext->Lower, Irp);
}

static VOID NTAPI FilterUnload(PDRIVER_OBJECT DriverObject)
{
    PFILTER_EXTENSION ext = FilterDevice->DeviceExtension;
    PFILE_OBJECT file = ext->TargetFile;
    (void)DriverObject;
    IoDetachDevice(ext->Lower);
    IoDeleteDevice(FilterDevice);
    FilterDevice = NULL;
    ObDereferenceObject(file);
    DbgPrint("ntdrv_filter: detached and unloaded\n");
}

/* The service key DriverEntry was given must exist: Windows always creates
 * one before loading a driver, and a driver started without it (for example
 * by a loader that starts every boot module) refuses to run. */
static NTSTATUS FilterCheckServiceKey(PUNICODE_STRING RegistryPath)
{
    OBJECT_ATTRIBUTES oa;
    HANDLE key;
    NTSTATUS status;
    InitializeObjectAttributes(&oa, RegistryPath, OBJ_KERNEL_HANDLE | OBJ_CASE_INSENSITIVE, NULL, NULL);
    status = ZwOpenKey(&key, KEY_READ, &oa);
    if (!NT_SUCCESS(status)) {
        DbgPrint("ntdrv_filter: no service key %wZ: 0x%08lx\n", RegistryPath, status);
        return status;
    }
    ZwClose(key);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING targetName;
    PFILE_OBJECT file;
    PDEVICE_OBJECT target, lower;
    PFILTER_EXTENSION ext;
    NTSTATUS status;
    ULONG i;

    status = FilterCheckServiceKey(RegistryPath);
    if (!NT_SUCCESS(status))
        return status;
    RtlInitUnicodeString(&targetName, DRVTEST_ECHO_DEVICE);
    status = IoGetDeviceObjectPointer(&targetName, FILE_READ_DATA, &file, &target);
    if (!NT_SUCCESS(status)) {
        DbgPrint("ntdrv_filter: %wZ not found: 0x%08lx\n", &targetName, status);
        return status;
    }
    status = IoCreateDevice(DriverObject, sizeof(FILTER_EXTENSION), NULL, target->DeviceType,
                            target->Characteristics, FALSE, &FilterDevice);
    if (!NT_SUCCESS(status)) {
        ObDereferenceObject(file);
        return status;
    }
    ext = FilterDevice->DeviceExtension;
    RtlZeroMemory(ext, sizeof(*ext));
    ext->TargetFile = file;
    /* Same transfer type as the device below, so buffers reach it as it expects. */
    FilterDevice->Flags |= target->Flags & (DO_BUFFERED_IO | DO_DIRECT_IO);
    lower = IoAttachDeviceToDeviceStack(FilterDevice, target);
    if (lower == NULL) {
        IoDeleteDevice(FilterDevice);
        FilterDevice = NULL;
        ObDereferenceObject(file);
        return STATUS_NO_SUCH_DEVICE;
    }
    ext->Lower = lower;
    ext->LowerStackSize = (ULONG)lower->StackSize;
    for (i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        DriverObject->MajorFunction[i] = FilterDispatch;
    DriverObject->DriverUnload = FilterUnload;
    FilterDevice->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}
