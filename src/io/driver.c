/*
 * Driver objects: IoCreateDriver (the entry for drivers built into the
 * kernel), IoDeleteDriver, the unload path and driver object extensions.
 *
 * A driver object is one object of IoDriverObjectType whose body is the
 * DRIVER_OBJECT followed by its DRIVER_EXTENSION. It is named (\Driver\<name>)
 * and permanent; IoDeleteDriver and a completed unload make it temporary,
 * after which it lives as long as its devices (each holds a reference).
 *
 * Locking: the client extension list and the unload state are guarded by
 * IopDatabaseLock (see iop.h). DriverEntry and DriverUnload run at
 * PASSIVE_LEVEL with no lock held.
 */
#include "iop.h"
#include <ntos/ldr.h>

static volatile LONG IopDriverNumber;

static NTSTATUS IopCreateDriverObject(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction,
                                      PKLDR_DATA_TABLE_ENTRY Image, PDRIVER_OBJECT *DriverObject,
                                      PBOOLEAN ImageOwned);

typedef struct _IOP_CLIENT_EXTENSION {
    struct _IOP_CLIENT_EXTENSION *Next;
    PVOID ClientId;
    /* the driver's bytes follow, 16-byte aligned */
    ULONGLONG Align[1];
} IOP_CLIENT_EXTENSION, *PIOP_CLIENT_EXTENSION;

#define IOP_CLIENT_HEADER FIELD_OFFSET(IOP_CLIENT_EXTENSION, Align)

static const WCHAR IopDriverPrefix[] = L"\\Driver\\";
static const WCHAR IopServicesPrefix[] = L"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\";
static UNICODE_STRING IopHardwareDatabase = RTL_CONSTANT_STRING(L"\\Registry\\Machine\\Hardware\\Description\\System");

VOID NTAPI IopDeleteDriver(PVOID Object)
{
    PDRIVER_OBJECT driver = Object;
    PDRIVER_EXTENSION ext = driver->DriverExtension;
    if (ext != NULL) {
        PIOP_CLIENT_EXTENSION c = ext->ClientDriverExtension;
        while (c != NULL) {
            PIOP_CLIENT_EXTENSION next = c->Next;
            ExFreePoolWithTag(c, IOP_TAG_CLIENT_EXT);
            c = next;
        }
        ext->ClientDriverExtension = NULL;
        if (ext->ServiceKeyName.Buffer != NULL)
            ExFreePoolWithTag(ext->ServiceKeyName.Buffer, IOP_TAG_NAME);
    }
    if (driver->DriverName.Buffer != NULL)
        ExFreePoolWithTag(driver->DriverName.Buffer, IOP_TAG_NAME);
    /* A driver loaded from an image (IopCreateDriver with an image): the
     * code goes with the object, after its last device, as on Windows. */
    if (driver->DriverSection != NULL && !(driver->Flags & DRVO_BUILTIN_DRIVER))
        LdrUnloadSystemImage(driver->DriverSection);
}

static NTSTATUS IopConcat(PUNICODE_STRING Out, PCWSTR Prefix, USHORT PrefixBytes, PCUNICODE_STRING Tail)
{
    ULONG len = (ULONG)PrefixBytes + Tail->Length;
    if (len + sizeof(WCHAR) > UNICODE_STRING_MAX_BYTES)
        return STATUS_NAME_TOO_LONG;
    PWSTR buf = ExAllocatePoolWithTag(PagedPool, len + sizeof(WCHAR), IOP_TAG_NAME);
    if (buf == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlCopyMemory(buf, Prefix, PrefixBytes);
    RtlCopyMemory((PUCHAR)buf + PrefixBytes, Tail->Buffer, Tail->Length);
    buf[len / sizeof(WCHAR)] = UNICODE_NULL;
    Out->Buffer = buf;
    Out->Length = (USHORT)len;
    Out->MaximumLength = (USHORT)(len + sizeof(WCHAR));
    return STATUS_SUCCESS;
}

/* "\Driver\Foo" -> "Foo": the last component names the service. */
static VOID IopLastComponent(PCUNICODE_STRING Full, PUNICODE_STRING Last)
{
    USHORT n = Full->Length / sizeof(WCHAR);
    USHORT i = n;
    while (i > 0 && Full->Buffer[i - 1] != L'\\')
        i--;
    Last->Buffer = Full->Buffer + i;
    Last->Length = Last->MaximumLength = (USHORT)((n - i) * sizeof(WCHAR));
}

static VOID IopFormatHex(PWSTR Out, ULONG Value)
{
    static const WCHAR digits[] = L"0123456789abcdef";
    for (int i = 7; i >= 0; i--) {
        Out[i] = digits[Value & 0xF];
        Value >>= 4;
    }
}

NTSTATUS NTAPI IoCreateDriver(PUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction)
{
    return IopCreateDriver(DriverName, InitializationFunction, NULL, NULL);
}

NTSTATUS IopCreateDriver(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction,
                         PKLDR_DATA_TABLE_ENTRY Image, PDRIVER_OBJECT *DriverObject)
{
    BOOLEAN imageOwned = FALSE;
    NTSTATUS status = IopCreateDriverObject(DriverName, InitializationFunction, Image, DriverObject, &imageOwned);
    if (Image != NULL && !imageOwned)
        LdrUnloadSystemImage(Image);
    return status;
}

static NTSTATUS IopCreateDriverObject(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction,
                                      PKLDR_DATA_TABLE_ENTRY Image, PDRIVER_OBJECT *DriverObject,
                                      PBOOLEAN ImageOwned)
{
    if (DriverObject != NULL)
        *DriverObject = NULL;
    if (InitializationFunction == NULL)
        return STATUS_INVALID_PARAMETER;
    if (DriverName != NULL && (DriverName->Length == 0 || (DriverName->Length & 1) || DriverName->Buffer == NULL ||
                               DriverName->Length > DriverName->MaximumLength))
        return STATUS_INVALID_PARAMETER;

    /* The object name: the caller's full path, or \Driver\<name>, or a
     * generated \Driver\<8 hex digits> for an anonymous built-in driver. */
    UNICODE_STRING fullName;
    NTSTATUS status;
    if (DriverName == NULL) {
        WCHAR gen[8];
        IopFormatHex(gen, (ULONG)__atomic_add_fetch(&IopDriverNumber, 1, __ATOMIC_RELAXED));
        UNICODE_STRING tail = {sizeof(gen), sizeof(gen), gen};
        status = IopConcat(&fullName, IopDriverPrefix, sizeof(IopDriverPrefix) - sizeof(WCHAR), &tail);
    } else if (DriverName->Buffer[0] == L'\\') {
        status = IopConcat(&fullName, L"", 0, DriverName);
    } else {
        status = IopConcat(&fullName, IopDriverPrefix, sizeof(IopDriverPrefix) - sizeof(WCHAR), DriverName);
    }
    if (!NT_SUCCESS(status))
        return status;

    UNICODE_STRING service, serviceKey, registryPath;
    IopLastComponent(&fullName, &service);
    if (service.Length == 0) {
        ExFreePoolWithTag(fullName.Buffer, IOP_TAG_NAME);
        return STATUS_INVALID_PARAMETER;
    }
    status = IopConcat(&serviceKey, L"", 0, &service);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(fullName.Buffer, IOP_TAG_NAME);
        return status;
    }
    status = IopConcat(&registryPath, IopServicesPrefix, sizeof(IopServicesPrefix) - sizeof(WCHAR), &service);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(serviceKey.Buffer, IOP_TAG_NAME);
        ExFreePoolWithTag(fullName.Buffer, IOP_TAG_NAME);
        return status;
    }

    OBJECT_ATTRIBUTES oa;
    InitializeObjectAttributes(&oa, &fullName, OBJ_PERMANENT | OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE, NULL, NULL);
    PDRIVER_OBJECT driver;
    status = ObCreateObject(KernelMode, IoDriverObjectType, &oa, KernelMode, NULL,
                            sizeof(DRIVER_OBJECT) + sizeof(DRIVER_EXTENSION), 0, 0, (PVOID *)&driver);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(registryPath.Buffer, IOP_TAG_NAME);
        ExFreePoolWithTag(serviceKey.Buffer, IOP_TAG_NAME);
        ExFreePoolWithTag(fullName.Buffer, IOP_TAG_NAME);
        return status;
    }
    /* The body is zeroed; everything the delete procedure frees is set
     * before the insert so a failed insert cleans up through it. */
    PDRIVER_EXTENSION ext = (PDRIVER_EXTENSION)(driver + 1);
    driver->Type = IO_TYPE_DRIVER;
    driver->Size = sizeof(DRIVER_OBJECT);
    driver->Flags = Image != NULL ? 0 : DRVO_BUILTIN_DRIVER;
    if (Image != NULL) {
        /* From here the object's delete procedure unloads the image. */
        driver->DriverStart = Image->DllBase;
        driver->DriverSize = Image->SizeOfImage;
        driver->DriverSection = Image;
        *ImageOwned = TRUE;
    }
    driver->DriverExtension = ext;
    driver->DriverName = fullName;
    driver->HardwareDatabase = &IopHardwareDatabase;
    driver->DriverInit = InitializationFunction;
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        driver->MajorFunction[i] = IopInvalidDeviceRequest;
    ext->DriverObject = driver;
    ext->ServiceKeyName = serviceKey;

    PVOID inserted = NULL;
    status = ObInsertObject(driver, NULL, FILE_READ_DATA, 0, &inserted, NULL);
    if (!NT_SUCCESS(status)) {
        ExFreePoolWithTag(registryPath.Buffer, IOP_TAG_NAME);
        return status;
    }

    status = InitializationFunction(driver, &registryPath);
    ExFreePoolWithTag(registryPath.Buffer, IOP_TAG_NAME);
    if (!NT_SUCCESS(status)) {
        /* The name goes and, once the driver's devices (if it left any) are
         * gone, the object. */
        ObMakeTemporaryObject(driver);
        ObDereferenceObject(driver);
        return status;
    }
    for (ULONG i = 0; i <= IRP_MJ_MAXIMUM_FUNCTION; i++)
        if (driver->MajorFunction[i] == NULL)
            driver->MajorFunction[i] = IopInvalidDeviceRequest;
    /* Devices created in DriverEntry are ready once it returns (the
     * documented exception to clearing DO_DEVICE_INITIALIZING oneself). */
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    for (PDEVICE_OBJECT d = driver->DeviceObject; d != NULL; d = d->NextDevice)
        d->Flags &= ~DO_DEVICE_INITIALIZING;
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    if (ext->AddDevice == NULL)
        driver->Flags |= DRVO_LEGACY_DRIVER;
    /* The permanent name keeps the object; a caller that asked for it keeps
     * the creation reference. */
    if (DriverObject != NULL)
        *DriverObject = driver;
    else
        ObDereferenceObject(driver);
    return status;
}

VOID NTAPI IoDeleteDriver(PDRIVER_OBJECT DriverObject)
{
    /* The namespace's reference goes with the name; the devices' references
     * keep the object until they are deleted. */
    ObMakeTemporaryObject(DriverObject);
}

/* ---- unload ----------------------------------------------------------------------------------- */

static BOOLEAN IopDriverHasOpenDevices(PDRIVER_OBJECT DriverObject)
{
    for (PDEVICE_OBJECT d = DriverObject->DeviceObject; d != NULL; d = d->NextDevice)
        if (d->ReferenceCount != 0)
            return TRUE;
    return FALSE;
}

static VOID IopCallDriverUnload(PDRIVER_OBJECT DriverObject)
{
    DriverObject->DriverUnload(DriverObject);
    ObMakeTemporaryObject(DriverObject);
}

NTSTATUS IopUnloadDriver(PDRIVER_OBJECT DriverObject)
{
    if (DriverObject == NULL || DriverObject->Type != IO_TYPE_DRIVER)
        return STATUS_INVALID_PARAMETER;
    if (DriverObject->DriverUnload == NULL)
        return STATUS_INVALID_DEVICE_REQUEST;
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    if (DriverObject->Flags & DRVO_UNLOAD_INVOKED) {
        KeReleaseSpinLock(&IopDatabaseLock, irql);
        return STATUS_SUCCESS;
    }
    if (DriverObject->DriverExtension->IopUnloadPending) {
        KeReleaseSpinLock(&IopDatabaseLock, irql);
        return STATUS_PENDING;
    }
    for (PDEVICE_OBJECT d = DriverObject->DeviceObject; d != NULL; d = d->NextDevice)
        IopDeviceExtension(d)->ExtensionFlags |= DOE_UNLOAD_PENDING;
    BOOLEAN now = !IopDriverHasOpenDevices(DriverObject);
    if (now)
        DriverObject->Flags |= DRVO_UNLOAD_INVOKED;
    else
        DriverObject->DriverExtension->IopUnloadPending = TRUE;
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    if (!now)
        return STATUS_PENDING;
    IopCallDriverUnload(DriverObject);
    return STATUS_SUCCESS;
}

/* Called by device.c when a device of a driver with a pending unload loses
 * its last file object. */
VOID IopCheckDriverUnload(PDRIVER_OBJECT DriverObject)
{
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    BOOLEAN now = DriverObject->DriverExtension->IopUnloadPending && !(DriverObject->Flags & DRVO_UNLOAD_INVOKED) &&
                  !IopDriverHasOpenDevices(DriverObject);
    if (now) {
        DriverObject->Flags |= DRVO_UNLOAD_INVOKED;
        DriverObject->DriverExtension->IopUnloadPending = FALSE;
    }
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    if (now)
        IopCallDriverUnload(DriverObject);
}

/* ---- driver object extensions ----------------------------------------------------------------- */

NTSTATUS NTAPI IoAllocateDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress,
                                               ULONG DriverObjectExtensionSize, PVOID *DriverObjectExtension)
{
    if (DriverObjectExtension == NULL)
        return STATUS_INVALID_PARAMETER;
    *DriverObjectExtension = NULL;
    if (DriverObject == NULL || DriverObjectExtensionSize > 0x7FFFFFF0u - IOP_CLIENT_HEADER)
        return STATUS_INSUFFICIENT_RESOURCES;
    PIOP_CLIENT_EXTENSION c =
        ExAllocatePoolWithTag(NonPagedPoolNx, IOP_CLIENT_HEADER + DriverObjectExtensionSize, IOP_TAG_CLIENT_EXT);
    if (c == NULL)
        return STATUS_INSUFFICIENT_RESOURCES;
    RtlZeroMemory(c, IOP_CLIENT_HEADER + DriverObjectExtensionSize);
    c->ClientId = ClientIdentificationAddress;
    PDRIVER_EXTENSION ext = DriverObject->DriverExtension;
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    for (PIOP_CLIENT_EXTENSION e = ext->ClientDriverExtension; e != NULL; e = e->Next) {
        if (e->ClientId == ClientIdentificationAddress) {
            KeReleaseSpinLock(&IopDatabaseLock, irql);
            ExFreePoolWithTag(c, IOP_TAG_CLIENT_EXT);
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    c->Next = ext->ClientDriverExtension;
    ext->ClientDriverExtension = c;
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    *DriverObjectExtension = (PUCHAR)c + IOP_CLIENT_HEADER;
    return STATUS_SUCCESS;
}

PVOID NTAPI IoGetDriverObjectExtension(PDRIVER_OBJECT DriverObject, PVOID ClientIdentificationAddress)
{
    PVOID found = NULL;
    KIRQL irql;
    KeAcquireSpinLock(&IopDatabaseLock, &irql);
    for (PIOP_CLIENT_EXTENSION e = DriverObject->DriverExtension->ClientDriverExtension; e != NULL; e = e->Next) {
        if (e->ClientId == ClientIdentificationAddress) {
            found = (PUCHAR)e + IOP_CLIENT_HEADER;
            break;
        }
    }
    KeReleaseSpinLock(&IopDatabaseLock, irql);
    return found;
}
