/*
 * IRP allocation and the per-thread IRP state: IoAllocateIrp(Ex), IoFreeIrp,
 * IoInitializeIrp, IoReuseIrp, IoMakeAssociatedIrp, IoSizeOfIrpEx, the stack
 * limit queries, IoIsOperationSynchronous, the requestor queries, the top-level
 * IRP and the thread IRP list.
 *
 * An IRP is one nonpaged pool block: the IRP header followed by StackCount
 * IO_STACK_LOCATIONs. A fresh IRP has CurrentLocation = StackCount + 1 and
 * CurrentStackLocation one past the last location, so the first
 * IoGetNextIrpStackLocation is the last (highest index) location and each
 * IoCallDriver moves one location down. No quota is charged anywhere in ntos
 * yet, so ChargeQuota is accepted and IRP_QUOTA_CHARGED never set.
 *
 * Freed IRPs get Type 0 before going back to the pool, so freeing or
 * completing one again is caught (DRIVER_VERIFIER_IOMANAGER_VIOLATION 1 /
 * MULTIPLE_IRP_COMPLETE_REQUESTS) while the block is not reused; under ASan the
 * pool's quarantine reports the use after free first.
 *
 * Locking and IRQL rules
 *  - Allocation, free, initialisation and the queries: <= DISPATCH_LEVEL.
 *  - The thread IRP list (ETHREAD.IrpList) is touched only by its thread, at
 *    APC_LEVEL, so the completion APC (which runs in that thread) cannot
 *    interleave with an insertion; no lock is needed.
 *  - The top-level IRP is per thread (KTHREAD.TopLevelIrp), read and written
 *    by the thread itself only.
 */
#include "iop.h"

static VOID IopCheckIrql(PVOID Subject, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Subject, irql, 0, (ULONG_PTR)Routine);
}

VOID NTAPI IoInitializeIrp(PIRP Irp, USHORT PacketSize, CCHAR StackSize)
{
    RtlZeroMemory(Irp, PacketSize);
    Irp->Type = IO_TYPE_IRP;
    Irp->Size = PacketSize;
    Irp->StackCount = StackSize;
    Irp->CurrentLocation = (CHAR)(StackSize + 1);
    Irp->ApcEnvironment = (CCHAR)KeGetCurrentThread()->ApcStateIndex;
    InitializeListHead(&Irp->ThreadListEntry);
    Irp->Tail.Overlay.CurrentStackLocation = (PIO_STACK_LOCATION)(Irp + 1) + StackSize;
}

PIRP NTAPI IoAllocateIrp(CCHAR StackSize, BOOLEAN ChargeQuota)
{
    (void)ChargeQuota;
    IopCheckIrql(NULL, (PVOID)IoAllocateIrp);
    /* CurrentLocation is a CHAR holding StackSize + 1, so 126 is the most a
     * CCHAR stack size can describe; negative sizes are nonsense. */
    if (StackSize < 0 || StackSize > 126)
        return NULL;
    USHORT size = IoSizeOfIrp(StackSize);
    PIRP irp = ExAllocatePoolWithTag(NonPagedPoolNx, size, IOP_IRP_TAG);
    if (irp == NULL)
        return NULL;
    IoInitializeIrp(irp, size, StackSize);
    irp->AllocationProcessorNumber = (USHORT)KeGetCurrentProcessorNumber();
    return irp;
}

USHORT NTAPI IoSizeOfIrpEx(PDEVICE_OBJECT DeviceObject, CCHAR StackSize)
{
    /* The extension area NT adds for devices that ask for IRP extensions is
     * not implemented: every IRP has the plain layout. */
    (void)DeviceObject;
    return IoSizeOfIrp(StackSize);
}

PIRP NTAPI IoAllocateIrpEx(PDEVICE_OBJECT DeviceObject, CCHAR StackSize, BOOLEAN ChargeQuota)
{
    (void)DeviceObject;
    return IoAllocateIrp(StackSize, ChargeQuota);
}

VOID NTAPI IoFreeIrp(PIRP Irp)
{
    IopCheckIrql(Irp, (PVOID)IoFreeIrp);
    if (Irp == NULL || Irp->Type != IO_TYPE_IRP)
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_FREE_NOT_IRP, (ULONG_PTR)Irp, 0, 0);
    /* An IRP still on its thread's list would leave a dangling entry there. */
    if (!IsListEmpty(&Irp->ThreadListEntry))
        KeBugCheckEx(DRIVER_VERIFIER_IOMANAGER_VIOLATION, IOP_VIOLATION_FREE_QUEUED_IRP, (ULONG_PTR)Irp, 0, 0);
    Irp->Type = 0;
    ExFreePoolWithTag(Irp, IOP_IRP_TAG);
}

VOID NTAPI IoReuseIrp(PIRP Irp, NTSTATUS Iostatus)
{
    UCHAR flags = Irp->AllocationFlags;
    USHORT processor = Irp->AllocationProcessorNumber;
    IoInitializeIrp(Irp, Irp->Size, Irp->StackCount);
    Irp->AllocationFlags = flags;
    Irp->AllocationProcessorNumber = processor;
    Irp->IoStatus.Status = Iostatus;
}

PIRP NTAPI IoMakeAssociatedIrp(PIRP Irp, CCHAR StackSize)
{
    PIRP associated = IoAllocateIrp(StackSize, FALSE);
    if (associated == NULL)
        return NULL;
    /* Only the master is on a thread's list; the associated IRP shares its
     * thread so requestor queries answer the same. The caller sets the
     * master's AssociatedIrp.IrpCount. */
    associated->Flags |= IRP_ASSOCIATED_IRP;
    associated->AssociatedIrp.MasterIrp = Irp;
    associated->Tail.Overlay.Thread = Irp->Tail.Overlay.Thread;
    associated->Tail.Overlay.OriginalFileObject = Irp->Tail.Overlay.OriginalFileObject;
    associated->RequestorMode = Irp->RequestorMode;
    return associated;
}

/* ---- stack limits ---------------------------------------------------------------------------- */

VOID NTAPI IoGetStackLimits(PULONG_PTR LowLimit, PULONG_PTR HighLimit)
{
    PKTHREAD t = KeGetCurrentThread();
    *LowLimit = t->StackLimit;
    *HighLimit = t->StackBase;
}

ULONG_PTR NTAPI IoGetRemainingStackSize(void)
{
    PKTHREAD t = KeGetCurrentThread();
    ULONG_PTR sp = (ULONG_PTR)__builtin_frame_address(0);
    if (sp < t->StackLimit || sp > t->StackBase)
        return 0;
    return sp - t->StackLimit;
}

/* ---- queries ------------------------------------------------------------------------------------ */

BOOLEAN NTAPI IoIsOperationSynchronous(PIRP Irp)
{
    ULONG flags = Irp->Flags;
    if (flags & IRP_SYNCHRONOUS_API)
        return TRUE;
    BOOLEAN paging = (flags & IRP_PAGING_IO) != 0;
    /* IRP_SYNCHRONOUS_PAGING_IO shares its bit with IRP_INPUT_OPERATION and
     * means something only on a paging IRP. */
    BOOLEAN syncPaging = paging && (flags & IRP_SYNCHRONOUS_PAGING_IO) != 0;
    if (syncPaging)
        return TRUE;
    PFILE_OBJECT fo = NULL;
    if (Irp->CurrentLocation <= Irp->StackCount)
        fo = IoGetCurrentIrpStackLocation(Irp)->FileObject;
    if (fo != NULL && (fo->Flags & FO_SYNCHRONOUS_IO) && !paging)
        return TRUE;
    return FALSE;
}

PEPROCESS NTAPI IoGetRequestorProcess(PIRP Irp)
{
    PKTHREAD t = (PKTHREAD)Irp->Tail.Overlay.Thread;
    if (t == NULL)
        return NULL;
    /* An IRP issued while attached to another process belongs to the
     * thread's own process; otherwise to the process it was running in. */
    if (Irp->ApcEnvironment == OriginalApcEnvironment)
        return (PEPROCESS)t->ApcState.Process;
    return (PEPROCESS)t->Process;
}

ULONG NTAPI IoGetRequestorProcessId(PIRP Irp)
{
    PEPROCESS p = IoGetRequestorProcess(Irp);
    return p == NULL ? 0 : (ULONG)(ULONG_PTR)p->UniqueProcessId;
}

PIRP NTAPI IoGetTopLevelIrp(void)
{
    return (PIRP)KeGetCurrentThread()->TopLevelIrp;
}

VOID NTAPI IoSetTopLevelIrp(PIRP Irp)
{
    KeGetCurrentThread()->TopLevelIrp = Irp;
}

/* ---- the thread IRP list ------------------------------------------------------------------------ */

VOID IopQueueIrpToThread(PIRP Irp)
{
    PKTHREAD t = (PKTHREAD)Irp->Tail.Overlay.Thread;
    if (t == NULL || t != KeGetCurrentThread() || !t->ExecutiveThread)
        return;
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    InsertHeadList(&((PETHREAD)t)->IrpList, &Irp->ThreadListEntry);
    KeLowerIrql(old);
}

VOID IopDequeueIrpFromThread(PIRP Irp)
{
    KIRQL old = KeGetCurrentIrql();
    if (old < APC_LEVEL)
        KeRaiseIrql(APC_LEVEL, &old);
    RemoveEntryList(&Irp->ThreadListEntry);
    InitializeListHead(&Irp->ThreadListEntry);
    if (old < APC_LEVEL)
        KeLowerIrql(old);
}

VOID NTAPI IoQueueThreadIrp(PIRP Irp)
{
    IopQueueIrpToThread(Irp);
}
