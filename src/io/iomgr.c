/*
 * I/O manager initialisation: the Device, Driver and File object types, the
 * default descriptors for devices and symbolic links, and the built-in
 * drivers.
 *
 * All three types use the file generic mapping (FILE_GENERIC_READ/WRITE/
 * EXECUTE, FILE_ALL_ACCESS), as NT does: a device or driver is opened with
 * file rights. Waits on a file object wait on its Event (what synchronous
 * I/O and NtWaitForSingleObject on a file handle see).
 *
 * IRQL: PASSIVE_LEVEL, once at boot (phase 1, after Ob, Ps and Ex objects).
 */
#include "iop.h"

POBJECT_TYPE IoDeviceObjectType;
POBJECT_TYPE IoDriverObjectType;
POBJECT_TYPE IoFileObjectType;

KSPIN_LOCK IopDatabaseLock;
PSECURITY_DESCRIPTOR IopDefaultDeviceSd;
PSECURITY_DESCRIPTOR IopProtectedLinkSd;
PSECURITY_DESCRIPTOR IopUnprotectedLinkSd;

static const GENERIC_MAPPING IopFileMapping = {
    FILE_GENERIC_READ,
    FILE_GENERIC_WRITE,
    FILE_GENERIC_EXECUTE,
    FILE_ALL_ACCESS,
};

VOID IopInitializeShutdown(void);

static NTSTATUS IopCreateType(PCWSTR Name, POBJECT_TYPE_INITIALIZER Init, POBJECT_TYPE *Type)
{
    UNICODE_STRING name;
    RtlInitUnicodeString(&name, Name);
    return ObCreateObjectType(&name, Init, NULL, Type);
}

static NTSTATUS IopBuildSd(PCWSTR Sddl, PSECURITY_DESCRIPTOR *Sd)
{
    UNICODE_STRING s;
    RtlInitUnicodeString(&s, Sddl);
    return IopSddlToSecurityDescriptor(&s, Sd);
}

NTSTATUS IoInitSystem(void)
{
    KeInitializeSpinLock(&IopDatabaseLock);
    IopInitializeShutdown();

    OBJECT_TYPE_INITIALIZER init;
    RtlZeroMemory(&init, sizeof(init));
    init.Length = sizeof(init);
    init.GenericMapping = IopFileMapping;
    init.ValidAccessMask = FILE_ALL_ACCESS;
    /* Device and driver objects are touched at DISPATCH_LEVEL (IRP dispatch,
     * DPCs, StartIo); file objects by completion at DISPATCH_LEVEL. */
    init.PoolType = NonPagedPoolNx;
    init.CaseInsensitive = 1;
    init.UseDefaultObject = 1;

    init.ParseProcedure = IopParseDevice;
    init.DeleteProcedure = IopDeleteDevice;
    NTSTATUS status = IopCreateType(L"Device", &init, &IoDeviceObjectType);
    if (!NT_SUCCESS(status))
        return status;

    init.ParseProcedure = NULL;
    init.DeleteProcedure = IopDeleteDriver;
    status = IopCreateType(L"Driver", &init, &IoDriverObjectType);
    if (!NT_SUCCESS(status))
        return status;

    init.DeleteProcedure = IopDeleteFile;
    init.CloseProcedure = IopCloseFile;
    init.MaintainHandleCount = 1;
    init.UseDefaultObject = 0;
    init.WaitObjectFlagOffset = FIELD_OFFSET(FILE_OBJECT, Event);
    init.InvalidAttributes = OBJ_PERMANENT | OBJ_EXCLUSIVE | OBJ_OPENLINK;
    status = IopCreateType(L"File", &init, &IoFileObjectType);
    if (!NT_SUCCESS(status))
        return status;

    /* The documented defaults: administrators (and SYSTEM) get everything,
     * everyone else read, write and execute on devices; links created with
     * IoCreateSymbolicLink may be followed but only changed by the system,
     * unprotected ones (IoCreateUnprotectedSymbolicLink) by anyone. */
    status = IopBuildSd(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGWGX;;;WD)(A;;GRGX;;;RC)", &IopDefaultDeviceSd);
    if (NT_SUCCESS(status))
        status = IopBuildSd(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGX;;;WD)(A;;GRGX;;;RC)", &IopProtectedLinkSd);
    if (NT_SUCCESS(status))
        status = IopBuildSd(L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;WD)(A;;GRGX;;;RC)", &IopUnprotectedLinkSd);
    if (!NT_SUCCESS(status))
        return status;

    status = IopCreateNullDevice();
    if (!NT_SUCCESS(status))
        return status;
    status = IopCreateConsoleDevice();
    if (!NT_SUCCESS(status))
        return status;
    return IopCreateLoopbackDevices();
}
