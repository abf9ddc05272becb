/*
 * A tiny real kernel driver for the loader test: built at configure time by
 * x86_64-w64-mingw32-gcc against mingw-w64's DDK headers and import
 * libraries (libntoskrnl.a, libhal.a), so its imports, relocations and
 * sections are what a real toolchain produces. Nothing here knows ntos.
 */
#include <ddk/wdm.h>

static ULONG processors;
static LONG unloads;
__declspec(dllexport) volatile LONG TinyCounter = 0x5A5A;

__declspec(dllexport) ULONG NTAPI TinyProcessors(void)
{
    return processors;
}

static VOID NTAPI TinyUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    InterlockedIncrement(&unloads);
    DbgPrint("tiny: unload\n");
}

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    LARGE_INTEGER f;
    processors = KeQueryActiveProcessorCount(NULL);
    KeQueryPerformanceCounter(&f);
    KeStallExecutionProcessor(1);
    DriverObject->DriverUnload = TinyUnload;
    DbgPrint("tiny: DriverEntry %wZ, %lu processors, frequency %lld\n", RegistryPath, processors, f.QuadPart);
    return f.QuadPart > 0 ? STATUS_SUCCESS : STATUS_UNSUCCESSFUL;
}
