/*
 * A driver importing a routine ntos does not export (PoStartNextPowerIrp,
 * from mingw-w64's libntoskrnl.a): the load must fail naming it. Built by
 * mkimages.py; nothing here knows ntos.
 */
#include <ddk/wdm.h>

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    PoStartNextPowerIrp(NULL);
    return STATUS_SUCCESS;
}
