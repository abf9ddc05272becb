/*
 * IRP cancellation: the cancel spin lock, IoCancelIrp, and cancelling a
 * terminating thread's I/O.
 *
 * Locking and IRQL rules
 *  - IopCancelSpinLock is one system-wide DISPATCH_LEVEL spin lock. A cancel
 *    routine is called holding it, with the IRQL to return to in
 *    Irp->CancelIrql, and must release it (IoReleaseCancelSpinLock(
 *    Irp->CancelIrql)); returning with it still held by the calling thread is
 *    DRIVER_RETURNED_HOLDING_CANCEL_LOCK (routine, IRP, 0, 0).
 *  - Irp->CancelRoutine is exchanged atomically (IoSetCancelRoutine): whoever
 *    takes a non-NULL routine out of it owns the cancellation (IoCancelIrp)
 *    or the completion (the driver). IoCancelIrp sets Irp->Cancel before it
 *    takes the routine, both under the cancel lock, so a driver that sets a
 *    routine and then finds Cancel set knows a racing IoCancelIrp may have
 *    missed it (the documented check after IoSetCancelRoutine).
 *  - IoCancelIrp: <= DISPATCH_LEVEL.
 *  - IopCancelThreadIo runs in the terminating thread at PASSIVE_LEVEL; the
 *    thread's IRP list is only changed by the thread itself at APC_LEVEL.
 */
#include "iop.h"

KSPIN_LOCK IopCancelSpinLock;

VOID NTAPI IoAcquireCancelSpinLock(PKIRQL Irql)
{
    *Irql = KeAcquireSpinLockRaiseToDpc(&IopCancelSpinLock);
}

VOID NTAPI IoReleaseCancelSpinLock(KIRQL Irql)
{
    KeReleaseSpinLock(&IopCancelSpinLock, Irql);
}

BOOLEAN NTAPI IoCancelIrp(PIRP Irp)
{
    arch_sched_point(ARCH_SP_IO_CANCEL, Irp);
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Irp, irql, 0, (ULONG_PTR)IoCancelIrp);
    IoAcquireCancelSpinLock(&irql);
    __atomic_store_n(&Irp->Cancel, TRUE, __ATOMIC_SEQ_CST);
    PDRIVER_CANCEL routine = IoSetCancelRoutine(Irp, NULL);
    if (routine == NULL) {
        IoReleaseCancelSpinLock(irql);
        return FALSE;
    }
    Irp->CancelIrql = irql;
    PDEVICE_OBJECT device = NULL;
    if (Irp->CurrentLocation <= Irp->StackCount)
        device = IoGetCurrentIrpStackLocation(Irp)->DeviceObject;
    routine(device, Irp);
    /* The lock word names its owner (bit 0 set on the current thread). */
    ULONG_PTR word = __atomic_load_n(&IopCancelSpinLock, __ATOMIC_RELAXED);
    if (word == ((ULONG_PTR)KeGetCurrentThread() | 1))
        KeBugCheckEx(DRIVER_RETURNED_HOLDING_CANCEL_LOCK, (ULONG_PTR)routine, (ULONG_PTR)Irp, 0, 0);
    return TRUE;
}

VOID IopCancelThreadIo(void)
{
    PKTHREAD kt = KeGetCurrentThread();
    if (!kt->ExecutiveThread)
        return;
    PETHREAD t = (PETHREAD)kt;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    for (PLIST_ENTRY e = t->IrpList.Flink; e != &t->IrpList; e = e->Flink)
        IoCancelIrp(CONTAINING_RECORD(e, IRP, ThreadListEntry));
    KeLowerIrql(old);
    /* The completions arrive as APCs to this thread, delivered during the
     * waits. NT gives up after five minutes and reports the driver; here the
     * wait is bounded at ten seconds and the IRPs are left to their drivers. */
    LARGE_INTEGER interval;
    interval.QuadPart = -10 * 1000 * 10; /* 10 ms */
    for (int i = 0; i < 1000; i++) {
        KeRaiseIrql(APC_LEVEL, &old);
        BOOLEAN empty = IsListEmpty(&t->IrpList);
        KeLowerIrql(old);
        if (empty)
            return;
        KeDelayExecutionThread(KernelMode, FALSE, &interval);
    }
}
