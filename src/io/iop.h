/*
 * I/O manager internals shared by the files of src/io.
 *
 * ---- object side (iomgr.c, driver.c, device.c, symlink.c, file.c, iofunc.c, share.c, sddl.c) ----
 *
 * Lifetimes
 *  - A driver object is a permanent named object (\Driver\<name>); each of
 *    its devices holds a pointer reference on it, so the object outlives an
 *    unload until its last device is gone.
 *  - A device object is kept by the reference IoCreateDevice took (plus the
 *    namespace's while it is named). DEVICE_OBJECT.ReferenceCount counts the
 *    file objects opened on it. IoDeleteDevice marks it DOE_DELETE_PENDING and
 *    removes its name; the creation reference is dropped (and the memory goes)
 *    once nothing refers to it any more: no file object, nothing attached above
 *    it and it attached to nothing below (IopCheckDeviceDelete).
 *  - A file object holds one ReferenceCount on the device it was opened on.
 *    The last handle close sends IRP_MJ_CLEANUP, the last reference
 *    IRP_MJ_CLOSE, after which the device count drops.
 *
 * Locking: IopDatabaseLock (a spin lock, DISPATCH_LEVEL while held) guards
 * DEVICE_OBJECT.ReferenceCount, AttachedDevice, DEVOBJ_EXTENSION.AttachedTo and
 * ExtensionFlags, the driver's NextDevice chain and its unload state. Nothing
 * is called out of it. Shutdown registrations have their own spin lock.
 */
#ifndef NTOS_IOP_H
#define NTOS_IOP_H

#include <ntos/io.h>
#include <ntos/bugcodes.h>
#include <ntos/list.h>
#include <ntos/rtl.h>

#define IOP_TAG_NAME 0x6d4e6f49      /* "IoNm": file names, driver names */
#define IOP_TAG_SD 0x64536f49        /* "IoSd": descriptors built from SDDL */
#define IOP_TAG_CLIENT_EXT 0x78456f49 /* "IoEx": IoAllocateDriverObjectExtension */
#define IOP_TAG_VPB 0x62706f49       /* "IoVb" */
#define IOP_TAG_BUFFER 0x66426f49    /* "IoBf": system buffers of the Zw services */

/* DEVOBJ_EXTENSION.ExtensionFlags bits private to ntos (the DOE_* values are NT's). */
#define DOE_IOP_INITIALIZED 0x40000000 /* IoCreateDevice finished: the delete procedure undoes it */
#define DOE_IOP_DELETED 0x80000000     /* the creation reference has been dropped */

extern KSPIN_LOCK IopDatabaseLock;

/* Security descriptors built at boot: the default for devices and the two
 * kinds of symbolic links (self-relative, pool, never freed). */
extern PSECURITY_DESCRIPTOR IopDefaultDeviceSd;
extern PSECURITY_DESCRIPTOR IopProtectedLinkSd;
extern PSECURITY_DESCRIPTOR IopUnprotectedLinkSd;

/* ---- drivers (driver.c) ---- */
NTSTATUS NTAPI IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp);
VOID NTAPI IopDeleteDriver(PVOID Object);
/*
 * Unloads a driver the way ZwUnloadDriver does: STATUS_INVALID_DEVICE_REQUEST
 * without a DriverUnload routine; otherwise every device is marked
 * DOE_UNLOAD_PENDING (new opens fail with STATUS_NO_SUCH_DEVICE). With no
 * file object open on any of its devices DriverUnload runs now and the
 * result is STATUS_SUCCESS; otherwise the unload stays pending, DriverUnload
 * runs when the last of those file objects goes, and the result is
 * STATUS_PENDING. PASSIVE_LEVEL.
 */
NTSTATUS IopUnloadDriver(PDRIVER_OBJECT DriverObject);
/* Runs a pending unload once no device of the driver has a file object open. */
VOID IopCheckDriverUnload(PDRIVER_OBJECT DriverObject);

/* ---- devices (device.c) ---- */
VOID NTAPI IopDeleteDevice(PVOID Object);
/* Takes one ReferenceCount for a new file object unless the device is being
 * deleted, unloaded or initialised (STATUS_NO_SUCH_DEVICE) or is exclusive and
 * already open (STATUS_ACCESS_DENIED). */
NTSTATUS IopReferenceDeviceForOpen(PDEVICE_OBJECT DeviceObject);
/* Drops one ReferenceCount and completes a pending delete or unload. PASSIVE_LEVEL. */
VOID IopDereferenceDeviceForOpen(PDEVICE_OBJECT DeviceObject);
/* Completes a pending delete once nothing refers to the device. PASSIVE_LEVEL. */
VOID IopCheckDeviceDelete(PDEVICE_OBJECT DeviceObject);
/* Sends IRP_MJ_SHUTDOWN to every registered device, last-chance ones last. */
VOID IopShutdownSystem(void);
static inline PDEVOBJ_EXTENSION IopDeviceExtension(PDEVICE_OBJECT DeviceObject)
{
    return DeviceObject->DeviceObjectExtension;
}

/* ---- SDDL (sddl.c) ---- */
/* Builds a self-relative descriptor (pool, IOP_TAG_SD) from the IoCreateDeviceSecure
 * subset "D:P(A;;<rights>;;;<sid>)...". STATUS_INVALID_PARAMETER for anything else. */
NTSTATUS IopSddlToSecurityDescriptor(PCUNICODE_STRING Sddl, PSECURITY_DESCRIPTOR *SecurityDescriptor);

/* ---- files (file.c) ---- */
#define IOP_OPEN_PACKET_TYPE IO_TYPE_OPEN_PACKET

/* What NtCreateFile hands the Device parse procedure through ObOpenObjectByName. */
typedef struct _IOP_OPEN_PACKET {
    CSHORT Type;
    CSHORT Size;
    PFILE_OBJECT FileObject;    /* set by the parse procedure on success */
    NTSTATUS FinalStatus;
    ULONG_PTR Information;
    BOOLEAN ParseCheck;         /* the parse procedure ran */
    LARGE_INTEGER AllocationSize;
    ULONG CreateOptions;
    ULONG Disposition;
    USHORT FileAttributes;
    USHORT ShareAccess;
    PVOID EaBuffer;
    ULONG EaLength;
    BOOLEAN QueryOnly;          /* IoGetDeviceObjectPointer-style: internal open */
} IOP_OPEN_PACKET, *PIOP_OPEN_PACKET;

NTSTATUS NTAPI IopParseDevice(PVOID ParseObject, PVOID ObjectType, PACCESS_STATE AccessState,
                              KPROCESSOR_MODE AccessMode, ULONG Attributes, PUNICODE_STRING CompleteName,
                              PUNICODE_STRING RemainingName, PVOID Context, PSECURITY_QUALITY_OF_SERVICE SecurityQos,
                              PVOID *Object);
VOID NTAPI IopCloseFile(PEPROCESS Process, PVOID Object, ULONG_PTR ProcessHandleCount, ULONG_PTR SystemHandleCount);
VOID NTAPI IopDeleteFile(PVOID Object);
/* Opens ObjectName with a file object through the parse procedure (NtCreateFile's core). */
NTSTATUS IopCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                       PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                       ULONG ShareAccess, ULONG Disposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
                       KPROCESSOR_MODE PreviousMode);

/* ---- built-in devices (nulldev.c) ---- */
NTSTATUS IopCreateNullDevice(void);

#endif /* NTOS_IOP_H */
