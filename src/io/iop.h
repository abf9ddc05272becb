/*
 * I/O manager internals shared between src/io files (and white-box tests).
 *
 * IRP ownership, as the IRP engine (irp.c, irpcomplete.c) sees it:
 *  - An IRP with Tail.Overlay.Thread == NULL belongs to whoever allocated it
 *    (IoAllocateIrp). When its completion walks past the top stack location
 *    the I/O manager marks it completed and does nothing else: its allocator
 *    frees it (normally from a completion routine that returns
 *    STATUS_MORE_PROCESSING_REQUIRED).
 *  - An IRP with a thread (the IoBuild*Request routines, and the Zw services
 *    through IopQueueIrpToThread) is finished by the I/O manager in that
 *    thread: a special kernel APC copies IoStatus to *UserIosb, signals the
 *    event, queues the caller's APC routine, drops the references described
 *    below and frees the IRP (IopCompleteRequest).
 *
 * References an IRP carries for its issuer (what IopCompleteRequest drops):
 *  - Tail.Overlay.OriginalFileObject: one ObReferenceObject reference, taken
 *    by the service that built the IRP, dropped at completion.
 *  - UserEvent: dropped (ObDereferenceObject) at completion only when the IRP
 *    has an OriginalFileObject and is not IRP_SYNCHRONOUS_API: that is an
 *    event object the service referenced from a handle. Kernel builders and
 *    synchronous APIs pass events they own, which are not dereferenced.
 *  - A synchronous failure (NT_ERROR status, PendingReturned FALSE) of an IRP
 *    with a file object leaves *UserIosb, the event and the APC routine
 *    untouched: the service returns the status itself, as NT does. Without a
 *    file object (IoBuild*Request), the status block and event are always set.
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
#include <ntos/ex.h>
#include <ntos/list.h>
#include <ntos/rtl.h>
#include <ntos/bugcodes.h>

#define IOP_IRP_TAG 0x20707249      /* 'Irp ' */
#define IOP_BUFFER_TAG 0x66427249   /* 'IrBf': METHOD_BUFFERED / DO_BUFFERED_IO system buffers */
#define IOP_WORKITEM_TAG 0x74496F49 /* 'IoIt' */
#define IOP_TIMER_TAG 0x6D546F49    /* 'IoTm' */

/* DRIVER_VERIFIER_IOMANAGER_VIOLATION (0xC9) parameter 1 values, as the bug
 * check reference documents them. ntos always checks these. */
#define IOP_VIOLATION_FREE_NOT_IRP 0x01
#define IOP_VIOLATION_FREE_QUEUED_IRP 0x02
#define IOP_VIOLATION_CALL_NOT_IRP 0x03
#define IOP_VIOLATION_CALL_BAD_DEVICE 0x04
#define IOP_VIOLATION_COMPLETE_PENDING 0x06
#define IOP_VIOLATION_COMPLETE_WITH_CANCEL 0x07
#define IOP_VIOLATION_COMPLETE_IRQL 0x0E
#define IOP_VIOLATION_CALL_IRQL 0x10

/* ---- IRPs (irp.c, irpcomplete.c) ---------------------------------------------------------- */

/* Queues the IRP on its thread's IRP list (Tail.Overlay.Thread must be the
 * current thread). Bare KTHREADs have no list: the IRP stays unqueued. */
VOID IopQueueIrpToThread(PIRP Irp);
/* Takes the IRP off its thread's list (no-op if it is not on one). Must run
 * in the IRP's thread (the list is only touched there, at APC_LEVEL). */
VOID IopDequeueIrpFromThread(PIRP Irp);

/*
 * The requester-side end of an IRP the I/O manager owns (see above): buffered
 * copy-back, *UserIosb, events, the APC routine, references, free. Runs in the
 * requesting thread. The Zw services call IopCompleteRequestInline for an IRP
 * they issued with IRP_DEFER_IO_COMPLETION when IoCallDriver returned anything
 * but STATUS_PENDING: IofCompleteRequest then stopped after the stack walk and
 * left this to them.
 */
VOID IopCompleteRequestInline(PIRP Irp);

/* The dispatch routine for major functions a driver does not handle: completes
 * the IRP with STATUS_INVALID_DEVICE_REQUEST. IoCreateDriver fills
 * MajorFunction with it; IofCallDriver uses it for NULL entries. */
NTSTATUS NTAPI IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp);

/* ---- cancel (cancel.c) ---------------------------------------------------------------------- */

extern KSPIN_LOCK IopCancelSpinLock;
/* Cancels every IRP queued to the current thread and waits (bounded) for
 * their completion; called by a terminating executive thread. */
VOID IopCancelThreadIo(void);

/* ---- device references (workitem.c) ----------------------------------------------------------
 * Work items keep their device (or driver) object alive while queued. Objects
 * made by IoCreateDevice / IoCreateDriver are Ob objects and are referenced;
 * objects built by hand (tests) are not. The object side marks its devices
 * with DOE_OBJECT_MANAGED in DeviceObjectExtension->ExtensionFlags; a driver
 * object is an Ob object when it has a DriverExtension (IoCreateDriver always
 * allocates one). Returns whether a reference was taken (drop it with
 * ObDereferenceObject). */
BOOLEAN IopReferenceIoObject(PVOID IoObject);

/* ---- device timers (iotimer.c) ---------------------------------------------------------------- */

/* Unlinks and frees the device's IO_TIMER (IoDeleteDevice calls it); the
 * routine is not running and will not run once it returns. <= DISPATCH_LEVEL. */
VOID IopRemoveDeviceTimer(PDEVICE_OBJECT DeviceObject);

/* ==== object side ==================================================================== */

#define IOP_TAG_NAME 0x6d4e6f49      /* "IoNm": file names, driver names */
#define IOP_TAG_SD 0x64536f49        /* "IoSd": descriptors built from SDDL */
#define IOP_TAG_CLIENT_EXT 0x78456f49 /* "IoEx": IoAllocateDriverObjectExtension */
#define IOP_TAG_VPB 0x62706f49       /* "IoVb" */

/* DEVOBJ_EXTENSION.ExtensionFlags bits private to ntos (the DOE_* values are NT's;
 * DOE_OBJECT_MANAGED, in io.h, marks a device IoCreateDevice finished). */
#define DOE_IOP_DELETED 0x40000000 /* the creation reference has been dropped */

extern KSPIN_LOCK IopDatabaseLock;

/* Security descriptors built at boot: the default for devices and the two
 * kinds of symbolic links (self-relative, pool, never freed). */
extern PSECURITY_DESCRIPTOR IopDefaultDeviceSd;
extern PSECURITY_DESCRIPTOR IopProtectedLinkSd;
extern PSECURITY_DESCRIPTOR IopUnprotectedLinkSd;

/* ---- drivers (driver.c) ---- */
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
/*
 * IoCreateDriver's body. With Image (Ldr's IoLoadDriverImage), the object is
 * not a built-in driver: DriverStart/DriverSize/DriverSection describe the
 * image, which the object owns from then on (its delete procedure unloads
 * it; on any failure the image is unloaded). With DriverObject, success
 * returns the creation reference there.
 */
struct _KLDR_DATA_TABLE_ENTRY;
NTSTATUS IopCreateDriver(PCUNICODE_STRING DriverName, PDRIVER_INITIALIZE InitializationFunction,
                         struct _KLDR_DATA_TABLE_ENTRY *Image, PDRIVER_OBJECT *DriverObject);
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
/* Sends a parameterless request (cleanup, close, shutdown, flush...) the I/O
 * manager owns to Top and waits for it; allocation failures are waited out. */
NTSTATUS IopSendSimpleRequest(PDEVICE_OBJECT Top, UCHAR MajorFunction, PFILE_OBJECT FileObject);
/* Opens ObjectName with a file object through the parse procedure (NtCreateFile's core). */
NTSTATUS IopCreateFile(PHANDLE FileHandle, ACCESS_MASK DesiredAccess, POBJECT_ATTRIBUTES ObjectAttributes,
                       PIO_STATUS_BLOCK IoStatusBlock, PLARGE_INTEGER AllocationSize, ULONG FileAttributes,
                       ULONG ShareAccess, ULONG Disposition, ULONG CreateOptions, PVOID EaBuffer, ULONG EaLength,
                       KPROCESSOR_MODE PreviousMode);

/* ---- built-in devices (nulldev.c) ---- */
NTSTATUS IopCreateNullDevice(void);
/* ---- built-in devices (console.c) ---- */
NTSTATUS IopCreateConsoleDevice(void);
/* ---- built-in test devices (loopback.c): \Device\Loopback and \Device\LoopbackFilter ---- */
NTSTATUS IopCreateLoopbackDevices(void);

#endif /* NTOS_IOP_H */
