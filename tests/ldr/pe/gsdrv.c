/*
 * A driver with what the loader must handle beyond tiny.c: a load
 * configuration directory naming a /GS security cookie (as the MSVC runtime
 * lays it out) that the loader has to initialise, DriverEntry in an INIT
 * section (freed after it returns), a pointer table that needs DIR64 base
 * relocations, a device, and pool that DriverUnload gives back. Built by
 * mkimages.py with mingw-w64; nothing here knows ntos.
 */
#include <ddk/wdm.h>

/* The compiler's default x64 cookie: the loader replaces it. */
ULONG_PTR __security_cookie = 0x00002B992DDFA232ULL;

/* IMAGE_LOAD_CONFIG_DIRECTORY64 up to SEHandlerCount (0x70 bytes); the
 * linker points the load config data directory at _load_config_used. */
typedef struct {
    ULONG Size, TimeDateStamp;
    USHORT MajorVersion, MinorVersion;
    ULONG GlobalFlagsClear, GlobalFlagsSet, CriticalSectionDefaultTimeout;
    ULONGLONG DeCommitFreeBlockThreshold, DeCommitTotalFreeThreshold, LockPrefixTable, MaximumAllocationSize,
        VirtualMemoryThreshold, ProcessAffinityMask;
    ULONG ProcessHeapFlags;
    USHORT CSDVersion, DependentLoadFlags;
    ULONGLONG EditList, SecurityCookie, SEHandlerTable, SEHandlerCount;
} GS_LOAD_CONFIG;
const GS_LOAD_CONFIG _load_config_used = {sizeof(GS_LOAD_CONFIG), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          (ULONGLONG)(ULONG_PTR)&__security_cookie, 0, 0};

/* Exported (so not folded away): each entry is a DIR64 relocation. */
__declspec(dllexport) const char *Words[] = {"alpha", "beta", "gamma"};
static PVOID Block;
static PDEVICE_OBJECT Device;
__declspec(dllexport) LONG GsState;

__declspec(dllexport) ULONG_PTR NTAPI GsCookie(void)
{
    return __security_cookie;
}

static VOID NTAPI GsUnload(PDRIVER_OBJECT DriverObject)
{
    (void)DriverObject;
    IoDeleteDevice(Device);
    ExFreePoolWithTag(Block, 'tsdG');
    GsState = 3;
}

__attribute__((section("INIT"))) NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath)
{
    UNICODE_STRING name;
    (void)RegistryPath;
    /* Relocated pointers: each word reads back. */
    if (Words[0][0] != 'a' || Words[1][0] != 'b' || Words[2][0] != 'g')
        return STATUS_DATA_ERROR;
    if (__security_cookie == 0x00002B992DDFA232ULL || (__security_cookie >> 48) != 0)
        return STATUS_INVALID_IMAGE_HASH;
    Block = ExAllocatePoolWithTag(NonPagedPoolNx, 64, 'tsdG');
    if (Block == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlInitUnicodeString(&name, L"\\Device\\LdrGs");
    NTSTATUS status = IoCreateDevice(DriverObject, 0, &name, FILE_DEVICE_UNKNOWN, 0, FALSE, &Device);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(Block, 'tsdG');
        return status;
    }
    DriverObject->DriverUnload = GsUnload;
    GsState = 1;
    return STATUS_SUCCESS;
}
