/*
 * Sending and completing IRPs: IofCallDriver and IofCompleteRequest (and
 * their non-fastcall names), and the requester-side end of an IRP
 * (IopCompleteRequest) that runs as a special kernel APC in the issuing thread.
 *
 * The completion walk (IofCompleteRequest)
 *  Starting at the current stack location and moving up: the location being
 *  left is read (completion routine, context, control) and zeroed, the IRP is
 *  advanced to the location above, PendingReturned takes that location's
 *  SL_PENDING_RETURNED, and its completion routine runs when
 *  (NT_SUCCESS && SL_INVOKE_ON_SUCCESS) || (!NT_SUCCESS && SL_INVOKE_ON_ERROR)
 *  || (Cancel && SL_INVOKE_ON_CANCEL), with the device object of the location
 *  now current (the driver that set the routine) or NULL past the top.
 *  STATUS_MORE_PROCESSING_REQUIRED stops the walk where it is: the routine's
 *  owner will complete the IRP again or free it. A location without a routine
 *  passes SL_PENDING_RETURNED up, which is what IoMarkIrpPending in a routine
 *  would otherwise do.
 *
 *  Past the top, the IRP is marked completed (CurrentLocation = StackCount +
 *  2), so completing it again is MULTIPLE_IRP_COMPLETE_REQUESTS. Then:
 *  - an associated IRP frees its MDLs and itself and completes its master
 *    when the master's IrpCount drops to zero;
 *  - an IRP without a thread is left to its allocator (see iop.h);
 *  - otherwise the MDL chain is unlocked and freed, and, unless the issuer
 *    asked for IRP_DEFER_IO_COMPLETION and the IRP never pended, the special
 *    kernel APC is queued to the issuing thread with the priority boost; the
 *    APC runs IopCompleteRequest there.
 *
 * Misuse (bug checks)
 *  - Completing an IRP already completed, or something that is not an IRP:
 *    MULTIPLE_IRP_COMPLETE_REQUESTS (IRP, CurrentLocation, StackCount, 0).
 *  - Completing with STATUS_PENDING or -1: DRIVER_VERIFIER_IOMANAGER_VIOLATION
 *    (6, status, IRP, 0); with a cancel routine still set: (7, routine, IRP, 0);
 *    above DISPATCH_LEVEL: (0x0E, IRQL, IRP, 0).
 *  - IofCallDriver above DISPATCH_LEVEL: (0x10, IRQL, 0, 0); with a non-IRP:
 *    (3, IRP, 0, 0); with something that is not a device object: (4, device,
 *    0, 0); running out of stack locations: NO_MORE_IRP_STACK_LOCATIONS (IRP).
 *
 * The caller's APC routine (AsynchronousParameters.UserApcRoutine) is queued
 * as a normal kernel-mode APC to the issuing thread (there is no user mode
 * yet): it runs at PASSIVE_LEVEL outside critical regions, with
 * (ApcContext, UserIosb, 0), the documented PIO_APC_ROUTINE arguments. The
 * IRP is freed by that APC's kernel routine.
 *
 * IRQL: IofCallDriver and IofCompleteRequest at <= DISPATCH_LEVEL; the APC
 * part at APC_LEVEL in the issuing thread.
 */
#include "iop.h"

NTSTATUS NTAPI IopInvalidDeviceRequest(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
    Irp->IoStatus.Information = 0;
    IofCompleteRequest(Irp, IO_NO_INCREMENT);
    return STATUS_INVALID_DEVICE_REQUEST;
}

NTSTATUS FASTCALL IofCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    arch_sched_point(ARCH_SP_IO_CALL, Irp);
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_CALL_IRQL, irql, 0, 0);
    if (Irp == NULL || Irp->Type != IO_TYPE_IRP)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_CALL_NOT_IRP, (ULONG_PTR)Irp, 0, 0);
    if (DeviceObject == NULL || DeviceObject->Type != IO_TYPE_DEVICE || DeviceObject->DriverObject == NULL)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_CALL_BAD_DEVICE, (ULONG_PTR)DeviceObject,
                     0, 0);
    IoSetNextIrpStackLocation(Irp);
    if (Irp->CurrentLocation <= 0)
        KeBugCheckEx(NO_MORE_IRP_STACK_LOCATIONS, (ULONG_PTR)Irp, 0, 0, 0);
    PIO_STACK_LOCATION sp = IoGetCurrentIrpStackLocation(Irp);
    sp->DeviceObject = DeviceObject;
    PDRIVER_DISPATCH dispatch = NULL;
    if (sp->MajorFunction <= IRP_MJ_MAXIMUM_FUNCTION)
        dispatch = DeviceObject->DriverObject->MajorFunction[sp->MajorFunction];
    if (dispatch == NULL)
        dispatch = IopInvalidDeviceRequest;
    return dispatch(DeviceObject, Irp);
}

NTSTATUS NTAPI IoCallDriver(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    return IofCallDriver(DeviceObject, Irp);
}

/* ---- the requester side ------------------------------------------------------------------------ */

static VOID IopFreeMdlChain(PIRP Irp)
{
    PMDL mdl = Irp->MdlAddress;
    Irp->MdlAddress = NULL;
    while (mdl != NULL) {
        PMDL next = mdl->Next;
        if (mdl->MdlFlags & MDL_PAGES_LOCKED)
            MmUnlockPages(mdl);
        IoFreeMdl(mdl);
        mdl = next;
    }
}

static VOID IopDropIssuerReferences(PIRP Irp, PFILE_OBJECT FileObject)
{
    if (FileObject == NULL)
        return;
    if (Irp->UserEvent != NULL && !(Irp->Flags & IRP_SYNCHRONOUS_API))
        ObDereferenceObject(Irp->UserEvent);
    ObDereferenceObject(FileObject);
}

static VOID NTAPI IopUserApcKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                                          PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    (void)NormalRoutine;
    (void)NormalContext;
    (void)SystemArgument1;
    (void)SystemArgument2;
    /* The delivery code copied the routine and its arguments already. */
    IoFreeIrp(CONTAINING_RECORD(Apc, IRP, Tail.Apc));
}

static VOID NTAPI IopUserApcRundown(PKAPC Apc)
{
    IoFreeIrp(CONTAINING_RECORD(Apc, IRP, Tail.Apc));
}

static VOID IopCompleteRequest(PIRP Irp, PFILE_OBJECT FileObject, CCHAR PriorityBoost)
{
    NTSTATUS status = Irp->IoStatus.Status;
    if (Irp->Flags & IRP_BUFFERED_IO) {
        /* Warnings (STATUS_BUFFER_OVERFLOW) still return their partial data. */
        if ((Irp->Flags & IRP_INPUT_OPERATION) && !NT_ERROR(status) && Irp->UserBuffer != NULL &&
            Irp->UserBuffer != Irp->AssociatedIrp.SystemBuffer && Irp->IoStatus.Information != 0)
            RtlCopyMemory(Irp->UserBuffer, Irp->AssociatedIrp.SystemBuffer, Irp->IoStatus.Information);
        if ((Irp->Flags & IRP_DEALLOCATE_BUFFER) && Irp->AssociatedIrp.SystemBuffer != NULL)
            ExFreePoolWithTag(Irp->AssociatedIrp.SystemBuffer, 0);
        Irp->AssociatedIrp.SystemBuffer = NULL;
        Irp->Flags &= ~(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER);
    }
    IopDequeueIrpFromThread(Irp);

    /* A synchronous failure of a file I/O service is reported by the
     * service's return value alone (see iop.h). */
    BOOLEAN report = !NT_ERROR(status) || Irp->PendingReturned || FileObject == NULL;
    if (!report) {
        IopDropIssuerReferences(Irp, FileObject);
        IoFreeIrp(Irp);
        return;
    }
    if (Irp->UserIosb != NULL)
        *Irp->UserIosb = Irp->IoStatus;
    /* A synchronous file object's event and FinalStatus are set even when
     * the caller also passed an event: its waiters (a later synchronous
     * operation, ZwWaitForSingleObject on the file handle) rely on them. */
    if (Irp->UserEvent != NULL)
        KeSetEvent(Irp->UserEvent, PriorityBoost, FALSE);
    if (FileObject != NULL && (Irp->UserEvent == NULL || (FileObject->Flags & FO_SYNCHRONOUS_IO))) {
        FileObject->FinalStatus = status;
        KeSetEvent(&FileObject->Event, PriorityBoost, FALSE);
    }
    PIO_APC_ROUTINE apcRoutine = Irp->Overlay.AsynchronousParameters.UserApcRoutine;
    PVOID apcContext = Irp->Overlay.AsynchronousParameters.UserApcContext;
    PKTHREAD thread = KeGetCurrentThread();
    IopDropIssuerReferences(Irp, FileObject);
    if (apcRoutine != NULL) {
        KeInitializeApc(&Irp->Tail.Apc, thread, CurrentApcEnvironment, IopUserApcKernelRoutine, IopUserApcRundown,
                        (PKNORMAL_ROUTINE)(PVOID)apcRoutine, KernelMode, apcContext);
        if (KeInsertQueueApc(&Irp->Tail.Apc, Irp->UserIosb, NULL, PriorityBoost))
            return;
    }
    IoFreeIrp(Irp);
}

static VOID NTAPI IopCompletionKernelRoutine(PKAPC Apc, PKNORMAL_ROUTINE *NormalRoutine, PVOID *NormalContext,
                                             PVOID *SystemArgument1, PVOID *SystemArgument2)
{
    (void)NormalRoutine;
    (void)NormalContext;
    PIRP irp = CONTAINING_RECORD(Apc, IRP, Tail.Apc);
    IopCompleteRequest(irp, (PFILE_OBJECT)*SystemArgument1, (CCHAR)(LONG_PTR)*SystemArgument2);
}

/* The thread went away before the APC could run: nobody is left to read the
 * status block or wait on the event, so only the IRP's own resources go. */
static VOID IopAbandonRequest(PIRP irp, PFILE_OBJECT fo)
{
    if ((irp->Flags & IRP_DEALLOCATE_BUFFER) && irp->AssociatedIrp.SystemBuffer != NULL)
        ExFreePoolWithTag(irp->AssociatedIrp.SystemBuffer, 0);
    irp->Flags &= ~(IRP_BUFFERED_IO | IRP_DEALLOCATE_BUFFER);
    IopDequeueIrpFromThread(irp);
    IopDropIssuerReferences(irp, fo);
    IoFreeIrp(irp);
}

static VOID NTAPI IopCompletionRundown(PKAPC Apc)
{
    IopAbandonRequest(CONTAINING_RECORD(Apc, IRP, Tail.Apc), (PFILE_OBJECT)Apc->SystemArgument1);
}

VOID IopCompleteRequestInline(PIRP Irp)
{
    IopCompleteRequest(Irp, Irp->Tail.Overlay.OriginalFileObject, IO_NO_INCREMENT);
}

/* ---- completion ------------------------------------------------------------------------------- */

VOID FASTCALL IofCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    arch_sched_point(ARCH_SP_IO_COMPLETE, Irp);
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_COMPLETE_IRQL, irql, (ULONG_PTR)Irp, 0);
    if (Irp == NULL || Irp->Type != IO_TYPE_IRP)
        KeBugCheckEx(MULTIPLE_IRP_COMPLETE_REQUESTS, (ULONG_PTR)Irp, 0, 0, 0);
    if (Irp->CurrentLocation > Irp->StackCount + 1)
        KeBugCheckEx(MULTIPLE_IRP_COMPLETE_REQUESTS, (ULONG_PTR)Irp, (ULONG_PTR)(LONG_PTR)Irp->CurrentLocation,
                     (ULONG_PTR)(LONG_PTR)Irp->StackCount, 0);
    NTSTATUS status = Irp->IoStatus.Status;
    if (status == STATUS_PENDING || status == (NTSTATUS)-1)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_COMPLETE_PENDING, (ULONG_PTR)(ULONG)status,
                     (ULONG_PTR)Irp, 0);
    PDRIVER_CANCEL cancel = __atomic_load_n(&Irp->CancelRoutine, __ATOMIC_ACQUIRE);
    if (cancel != NULL)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_COMPLETE_WITH_CANCEL, (ULONG_PTR)cancel,
                     (ULONG_PTR)Irp, 0);

    while (Irp->CurrentLocation <= Irp->StackCount) {
        PIO_STACK_LOCATION left = IoGetCurrentIrpStackLocation(Irp);
        PIO_COMPLETION_ROUTINE routine = left->CompletionRoutine;
        PVOID context = left->Context;
        UCHAR control = left->Control;
        RtlZeroMemory(left, sizeof(*left));
        IoSkipCurrentIrpStackLocation(Irp);
        Irp->PendingReturned = (control & SL_PENDING_RETURNED) != 0;
        BOOLEAN atTop = Irp->CurrentLocation > Irp->StackCount;
        status = Irp->IoStatus.Status;
        BOOLEAN invoke = routine != NULL && ((NT_SUCCESS(status) && (control & SL_INVOKE_ON_SUCCESS)) ||
                                             (!NT_SUCCESS(status) && (control & SL_INVOKE_ON_ERROR)) ||
                                             (Irp->Cancel && (control & SL_INVOKE_ON_CANCEL)));
        if (invoke) {
            PDEVICE_OBJECT device = atTop ? NULL : IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
            if (routine(device, Irp, context) == STATUS_MORE_PROCESSING_REQUIRED)
                return;
        } else if (Irp->PendingReturned && !atTop) {
            IoMarkIrpPending(Irp);
        }
    }

    /* Past the top: from here on the IRP is the I/O manager's (or its
     * allocator's) and may not be completed again. */
    Irp->CurrentLocation = (CHAR)(Irp->StackCount + 2);

    if (Irp->Flags & IRP_ASSOCIATED_IRP) {
        PIRP master = Irp->AssociatedIrp.MasterIrp;
        IopFreeMdlChain(Irp);
        IoFreeIrp(Irp);
        if (__atomic_sub_fetch(&master->AssociatedIrp.IrpCount, 1, __ATOMIC_ACQ_REL) == 0)
            IofCompleteRequest(master, PriorityBoost);
        return;
    }

    PKTHREAD thread = (PKTHREAD)Irp->Tail.Overlay.Thread;
    if (thread == NULL)
        return;

    /* Paging I/O MDLs belong to the memory manager. */
    if (!(Irp->Flags & IRP_PAGING_IO))
        IopFreeMdlChain(Irp);

    if ((Irp->Flags & IRP_DEFER_IO_COMPLETION) && !Irp->PendingReturned)
        return;

    PFILE_OBJECT fo = Irp->Tail.Overlay.OriginalFileObject;
    /* Tail.Apc overlays Tail.Overlay (thread, file object, stack pointer):
     * everything needed from there was read above. */
    KeInitializeApc(&Irp->Tail.Apc, thread, (KAPC_ENVIRONMENT)Irp->ApcEnvironment, IopCompletionKernelRoutine,
                    IopCompletionRundown, NULL, KernelMode, NULL);
    if (!KeInsertQueueApc(&Irp->Tail.Apc, fo, (PVOID)(LONG_PTR)PriorityBoost, PriorityBoost)) {
        /* The thread no longer takes APCs (it is terminating). */
        IopAbandonRequest(Irp, fo);
    }
}

VOID NTAPI IoCompleteRequest(PIRP Irp, CCHAR PriorityBoost)
{
    IofCompleteRequest(Irp, PriorityBoost);
}
