/*
 * Cancel-safe IRP queues (IoCsq*): the driver supplies the queue (insert,
 * remove, peek) and its lock; the I/O manager supplies the cancel logic.
 *
 * State kept per queued IRP: Irp->Tail.Overlay.DriverContext[3] points to the
 * IO_CSQ_IRP_CONTEXT the driver passed (its Type is IO_TYPE_CSQ_IRP_CONTEXT)
 * or, without one, to the IO_CSQ itself (Type IO_TYPE_CSQ / IO_TYPE_CSQ_EX):
 * the first ULONG of either tells them apart, which is how the cancel routine
 * finds the queue.
 *
 * Rules (documented behaviour)
 *  - Insert marks the IRP pending, queues it and sets the cancel routine. An
 *    IRP whose Cancel flag is already set when the routine goes in is taken
 *    back out at once and handed to CsqCompleteCanceledIrp (unless IoCancelIrp
 *    already took the routine, in which case the cancel routine does it).
 *    IoCsqInsertIrpEx returns the insert routine's failure and then queues
 *    nothing.
 *  - Whoever clears the cancel routine (IoSetCancelRoutine(Irp, NULL) returns
 *    non-NULL) owns the IRP: the remove calls, or the cancel routine when
 *    IoCancelIrp got there first. Removal paths skip an IRP whose routine is
 *    already gone (it is being cancelled); the cancel routine removes it and
 *    clears context->Irp, so IoCsqRemoveIrp returns NULL for it.
 *
 * Locking and IRQL rules
 *  The driver's lock (CsqAcquireLock/CsqReleaseLock) guards the queue and the
 *  contexts; the routines here call the driver's Insert/Remove/Peek under it.
 *  CsqCompleteCanceledIrp is called without it. The cancel routine is entered
 *  holding the cancel spin lock and releases it before taking the driver's
 *  lock, so the two are never held together. IRQL: whatever the driver's lock
 *  allows (<= DISPATCH_LEVEL).
 */
#include "iop.h"

static NTSTATUS IopCsqFill(PIO_CSQ Csq, ULONG Type, PVOID Insert, PIO_CSQ_REMOVE_IRP Remove,
                           PIO_CSQ_PEEK_NEXT_IRP Peek, PIO_CSQ_ACQUIRE_LOCK Acquire, PIO_CSQ_RELEASE_LOCK Release,
                           PIO_CSQ_COMPLETE_CANCELED_IRP Complete)
{
    Csq->Type = Type;
    Csq->CsqInsertIrp = (PIO_CSQ_INSERT_IRP)Insert;
    Csq->CsqRemoveIrp = Remove;
    Csq->CsqPeekNextIrp = Peek;
    Csq->CsqAcquireLock = Acquire;
    Csq->CsqReleaseLock = Release;
    Csq->CsqCompleteCanceledIrp = Complete;
    Csq->ReservePointer = NULL;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI IoCsqInitialize(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                               PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                               PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                               PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
    return IopCsqFill(Csq, IO_TYPE_CSQ, (PVOID)CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                      CsqReleaseLock, CsqCompleteCanceledIrp);
}

NTSTATUS NTAPI IoCsqInitializeEx(PIO_CSQ Csq, PIO_CSQ_INSERT_IRP_EX CsqInsertIrp, PIO_CSQ_REMOVE_IRP CsqRemoveIrp,
                                 PIO_CSQ_PEEK_NEXT_IRP CsqPeekNextIrp, PIO_CSQ_ACQUIRE_LOCK CsqAcquireLock,
                                 PIO_CSQ_RELEASE_LOCK CsqReleaseLock,
                                 PIO_CSQ_COMPLETE_CANCELED_IRP CsqCompleteCanceledIrp)
{
    return IopCsqFill(Csq, IO_TYPE_CSQ_EX, (PVOID)CsqInsertIrp, CsqRemoveIrp, CsqPeekNextIrp, CsqAcquireLock,
                      CsqReleaseLock, CsqCompleteCanceledIrp);
}

/* Forgets the IRP's queue bookkeeping; the driver's lock is held. */
static VOID IopCsqDetach(PIRP Irp)
{
    PVOID owner = Irp->Tail.Overlay.DriverContext[3];
    if (owner != NULL && *(PULONG)owner == IO_TYPE_CSQ_IRP_CONTEXT)
        ((PIO_CSQ_IRP_CONTEXT)owner)->Irp = NULL;
    Irp->Tail.Overlay.DriverContext[3] = NULL;
}

static PIO_CSQ IopCsqOf(PIRP Irp)
{
    PVOID owner = Irp->Tail.Overlay.DriverContext[3];
    if (*(PULONG)owner == IO_TYPE_CSQ_IRP_CONTEXT)
        return ((PIO_CSQ_IRP_CONTEXT)owner)->Csq;
    return (PIO_CSQ)owner;
}

static VOID NTAPI IopCsqCancelRoutine(PDEVICE_OBJECT DeviceObject, PIRP Irp)
{
    (void)DeviceObject;
    IoReleaseCancelSpinLock(Irp->CancelIrql);
    PIO_CSQ csq = IopCsqOf(Irp);
    KIRQL irql;
    csq->CsqAcquireLock(csq, &irql);
    csq->CsqRemoveIrp(csq, Irp);
    IopCsqDetach(Irp);
    csq->CsqReleaseLock(csq, irql);
    csq->CsqCompleteCanceledIrp(csq, Irp);
}

NTSTATUS NTAPI IoCsqInsertIrpEx(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context, PVOID InsertContext)
{
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    NTSTATUS status = STATUS_SUCCESS;
    if (Csq->Type == IO_TYPE_CSQ_EX) {
        status = ((PIO_CSQ_INSERT_IRP_EX)(PVOID)Csq->CsqInsertIrp)(Csq, Irp, InsertContext);
        if (!NT_SUCCESS(status)) {
            Csq->CsqReleaseLock(Csq, irql);
            return status;
        }
    } else {
        Csq->CsqInsertIrp(Csq, Irp);
    }
    if (Context != NULL) {
        Context->Type = IO_TYPE_CSQ_IRP_CONTEXT;
        Context->Irp = Irp;
        Context->Csq = Csq;
        Irp->Tail.Overlay.DriverContext[3] = Context;
    } else {
        Irp->Tail.Overlay.DriverContext[3] = Csq;
    }
    IoMarkIrpPending(Irp);
    IoSetCancelRoutine(Irp, IopCsqCancelRoutine);
    /* Cancel set before the routine went in: IoCancelIrp may have found no
     * routine. If the routine is still ours, cancel here; if it is gone,
     * IoCancelIrp has it and the cancel routine finishes the job. */
    if (__atomic_load_n(&Irp->Cancel, __ATOMIC_SEQ_CST) && IoSetCancelRoutine(Irp, NULL) != NULL) {
        Csq->CsqRemoveIrp(Csq, Irp);
        IopCsqDetach(Irp);
        Csq->CsqReleaseLock(Csq, irql);
        Csq->CsqCompleteCanceledIrp(Csq, Irp);
        return status;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return status;
}

VOID NTAPI IoCsqInsertIrp(PIO_CSQ Csq, PIRP Irp, PIO_CSQ_IRP_CONTEXT Context)
{
    (void)IoCsqInsertIrpEx(Csq, Irp, Context, NULL);
}

PIRP NTAPI IoCsqRemoveIrp(PIO_CSQ Csq, PIO_CSQ_IRP_CONTEXT Context)
{
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Context->Irp;
    if (irp != NULL && IoSetCancelRoutine(irp, NULL) != NULL) {
        Csq->CsqRemoveIrp(Csq, irp);
        IopCsqDetach(irp);
    } else {
        /* Not queued, or being cancelled: the cancel routine removes it. */
        irp = NULL;
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}

PIRP NTAPI IoCsqRemoveNextIrp(PIO_CSQ Csq, PVOID PeekContext)
{
    KIRQL irql;
    Csq->CsqAcquireLock(Csq, &irql);
    PIRP irp = Csq->CsqPeekNextIrp(Csq, NULL, PeekContext);
    while (irp != NULL) {
        if (IoSetCancelRoutine(irp, NULL) != NULL) {
            Csq->CsqRemoveIrp(Csq, irp);
            IopCsqDetach(irp);
            break;
        }
        irp = Csq->CsqPeekNextIrp(Csq, irp, PeekContext);
    }
    Csq->CsqReleaseLock(Csq, irql);
    return irp;
}
