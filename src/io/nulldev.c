/*
 * \Device\Null, a built-in driver (\Driver\Null) created at boot through
 * IoCreateDriver like any driver linked into the kernel.
 *
 * Reads return STATUS_END_OF_FILE with nothing transferred; writes consume
 * everything (Information = Length); FileStandardInformation describes an
 * empty file; create, cleanup and close succeed. Everything else is
 * STATUS_INVALID_DEVICE_REQUEST (the default dispatch routine).
 *
 * Dispatch routines run at PASSIVE_LEVEL in the caller's thread and complete
 * every request inline; the driver keeps no state.
 */
#include "iop.h"

static NTSTATUS IopNullComplete(PIRP Irp, NTSTATUS Status, ULONG_PTR Information)
{
    Irp->IoStatus.Status = Status;
    Irp->IoStatus.Information = Information;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return Status;
}

static NTSTATUS NTAPI IopNullOpenClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopNullComplete(Irp, STATUS_SUCCESS, IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE
                                                    ? FILE_OPENED
                                                    : 0);
}

static NTSTATUS NTAPI IopNullRead(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopNullComplete(Irp, STATUS_END_OF_FILE, 0);
}

static NTSTATUS NTAPI IopNullWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    return IopNullComplete(Irp, STATUS_SUCCESS, IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length);
}

static NTSTATUS NTAPI IopNullQueryInformation(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    if (sp->Parameters.QueryFile.FileInformationClass != FileStandardInformation)
        return IopNullComplete(Irp, STATUS_INVALID_PARAMETER, 0);
    if (sp->Parameters.QueryFile.Length < sizeof(FILE_STANDARD_INFORMATION))
        return IopNullComplete(Irp, STATUS_INFO_LENGTH_MISMATCH, 0);
    PFILE_STANDARD_INFORMATION info = Irp->AssociatedIrp.SystemBuffer;
    RtlZeroMemory(info, sizeof(*info));
    return IopNullComplete(Irp, STATUS_SUCCESS, sizeof(*info));
}

static NTSTATUS NTAPI IopNullDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Null");
    PDEVICE_OBJECT device;
    NTSTATUS status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_NULL, 0, FALSE, &device);
    if (!NT_SUCCESS(status))
        return status;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopNullOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopNullOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopNullOpenClose;
    DriverObject->MajorFunction[IRP_MJ_READ] = IopNullRead;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopNullWrite;
    DriverObject->MajorFunction[IRP_MJ_QUERY_INFORMATION] = IopNullQueryInformation;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

NTSTATUS IopCreateNullDevice(void)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Driver\\Null");
    return IoCreateDriver(&name, IopNullDriverEntry);
}
