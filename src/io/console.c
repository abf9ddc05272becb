/*
 * \Device\Console, a built-in driver (\Driver\Console): a write-only device
 * over the early console of the arch layer (serial on bare metal, stderr on
 * the host), so that kernel code and drivers can print through ordinary file
 * handles. Writes are passed through byte for byte and consume everything;
 * create, cleanup and close succeed; everything else, reads included, is
 * STATUS_INVALID_DEVICE_REQUEST (there is no console input yet).
 *
 * Dispatch runs at PASSIVE_LEVEL and completes inline; arch_console_write
 * serialises concurrent writers itself.
 */
#include "iop.h"
#include <ntos/arch.h>

static NTSTATUS NTAPI IopConsoleOpenClose(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = IoGetCurrentIrpStackLocation(Irp)->MajorFunction == IRP_MJ_CREATE ? FILE_OPENED : 0;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI IopConsoleWrite(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    ULONG length = IoGetCurrentIrpStackLocation(Irp)->Parameters.Write.Length;
    if (length != 0)
        arch_console_write(Irp->AssociatedIrp.SystemBuffer, length);
    Irp->IoStatus.Status = STATUS_SUCCESS;
    Irp->IoStatus.Information = length;
    IoCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_SUCCESS;
}

static NTSTATUS NTAPI IopConsoleDriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Device\\Console");
    PDEVICE_OBJECT device;
    NTSTATUS status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_CONSOLE, 0, FALSE, &device);
    if (!NT_SUCCESS(status))
        return status;
    DriverObject->MajorFunction[IRP_MJ_CREATE] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = IopConsoleOpenClose;
    DriverObject->MajorFunction[IRP_MJ_WRITE] = IopConsoleWrite;
    device->Flags |= DO_BUFFERED_IO;
    device->Flags &= ~DO_DEVICE_INITIALIZING;
    return STATUS_SUCCESS;
}

NTSTATUS IopCreateConsoleDevice(void)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"\\Driver\\Console");
    return IoCreateDriver(&name, IopConsoleDriverEntry);
}
