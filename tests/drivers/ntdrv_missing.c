/*
 * ntdrv_missing.sys: a real driver that imports a routine ntos does not
 * export (IoWMIRegistrationControl, WMI registration: ntos has no WMI). The
 * loader must refuse it with STATUS_PROCEDURE_NOT_FOUND and a message naming
 * the routine; DriverEntry must never run. tools/check_driver_imports.py
 * requires that this is its one and only unresolved import.
 */
#include <ddk/ntddk.h>
#include "drvtest.h"

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)RegistryPath;
    DbgPrint("ntdrv_missing: DriverEntry ran although an import is missing\n");
    IoWMIRegistrationControl(DriverObject->DeviceObject, WMIREG_ACTION_REGISTER);
    /* Loading this driver at all is the failure the test looks for. */
    return STATUS_UNSUCCESSFUL;
}
