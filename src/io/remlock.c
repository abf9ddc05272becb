/*
 * Remove locks: see include/ntos/io_remlock.h for the protocol.
 *
 * Only interlocked operations on IoCount and a notification event; Removed
 * is written once (FALSE -> TRUE) before the bias is dropped, and read by
 * acquirers after their increment, so an acquirer that raced with the
 * removal either sees Removed and backs out (signalling the event if it was
 * the last) or was counted before the waiter's decrement.
 *
 * A release that takes the count below zero is a driver bug: bug check
 * DRIVER_VERIFIER_DETECTED_VIOLATION with the remove-lock subcode 0x1007
 * ("unacquired": P2 = lock, P3 = count, P4 = 0), as for the other locks.
 * An RemlockSize that is neither the free nor the checked layout leaves the
 * lock alone, as NT's free build does.
 */
#include <ntos/io_remlock.h>
#include <ntos/ex_sync.h>

static BOOLEAN IopRemoveLockSizeValid(ULONG RemlockSize)
{
    return RemlockSize == sizeof(IO_REMOVE_LOCK_COMMON_BLOCK) ||
           RemlockSize == sizeof(IO_REMOVE_LOCK_COMMON_BLOCK) + sizeof(IO_REMOVE_LOCK_DBG_BLOCK);
}

VOID NTAPI IoInitializeRemoveLockEx(PIO_REMOVE_LOCK Lock, ULONG AllocateTag, ULONG MaxLockedMinutes,
                                    ULONG HighWatermark, ULONG RemlockSize)
{
    (void)AllocateTag, (void)MaxLockedMinutes, (void)HighWatermark;
    if (Lock == NULL || !IopRemoveLockSizeValid(RemlockSize))
        return;
    Lock->Common.Removed = FALSE;
    Lock->Common.IoCount = 1;
    KeInitializeEvent(&Lock->Common.RemoveEvent, SynchronizationEvent, FALSE);
}

static VOID IopDropRemoveLockReference(PIO_REMOVE_LOCK Lock)
{
    LONG count = __atomic_sub_fetch(&Lock->Common.IoCount, 1, __ATOMIC_ACQ_REL);
    if (count == 0) {
        /* Only possible once the removal dropped the bias. */
        KeSetEvent(&Lock->Common.RemoveEvent, 0, FALSE);
    } else if (count < 0) {
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)Lock, (ULONG_PTR)count,
                     0);
    }
}

NTSTATUS NTAPI IoAcquireRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, PCSTR File, ULONG Line,
                                     ULONG RemlockSize)
{
    (void)Tag, (void)File, (void)Line, (void)RemlockSize;
    /* Sequentially consistent against ReleaseAndWait's store-then-decrement:
     * either this increment is counted before the waiter's decrement or this
     * load sees Removed. */
    __atomic_add_fetch(&RemoveLock->Common.IoCount, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&RemoveLock->Common.Removed, __ATOMIC_SEQ_CST)) {
        IopDropRemoveLockReference(RemoveLock);
        return STATUS_DELETE_PENDING;
    }
    return STATUS_SUCCESS;
}

VOID NTAPI IoReleaseRemoveLockEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    (void)Tag, (void)RemlockSize;
    IopDropRemoveLockReference(RemoveLock);
}

VOID NTAPI IoReleaseRemoveLockAndWaitEx(PIO_REMOVE_LOCK RemoveLock, PVOID Tag, ULONG RemlockSize)
{
    (void)Tag, (void)RemlockSize;
    __atomic_store_n(&RemoveLock->Common.Removed, TRUE, __ATOMIC_SEQ_CST);
    /* Drop the bias and the caller's own acquisition (which the documentation
     * requires) together; then wait for the other holders. */
    LONG count = __atomic_sub_fetch(&RemoveLock->Common.IoCount, 2, __ATOMIC_SEQ_CST);
    if (count < 0)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)RemoveLock,
                     (ULONG_PTR)count, 0);
    if (count > 0)
        KeWaitForSingleObject(&RemoveLock->Common.RemoveEvent, Executive, KernelMode, FALSE, NULL);
}
