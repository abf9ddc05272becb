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
 */
#ifndef NTOS_IOP_H
#define NTOS_IOP_H

#include <ntos/io.h>
#include <ntos/ex.h>
#include <ntos/list.h>
#include <ntos/rtl.h>

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

#endif /* NTOS_IOP_H */
