/*
 * A driver that imports from another loaded image: TinyProcessors from
 * tiny.sys by ordinal (user.def gives the ordinal, NONAME) and TinyCounter
 * (data) by name. Built by mkimages.py; nothing here knows ntos.
 */
#include <ddk/wdm.h>

__declspec(dllimport) ULONG NTAPI TinyProcessors(void);
__declspec(dllimport) extern volatile LONG TinyCounter;

__declspec(dllexport) ULONG NTAPI UserProcessors(void)
{
    return TinyProcessors();
}

__declspec(dllexport) LONG NTAPI UserCounter(void)
{
    return TinyCounter;
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    (void)DriverObject;
    (void)RegistryPath;
    return TinyCounter == 0x5A5A ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
