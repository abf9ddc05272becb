/*
 * Device queues (KDEVICE_QUEUE): the busy flag and FIFO / sort-key ordered
 * entries that IoStartPacket and IoStartNextPacket are built on.
 *
 * Semantics (the documented ones)
 *  - Insert: an idle queue (Busy FALSE) becomes busy and the entry is not
 *    queued (FALSE: the caller starts the work itself); a busy queue queues
 *    the entry (TRUE). By key: entries stay sorted by ascending SortKey, an
 *    entry going after every entry with the same or a lower key.
 *  - Remove: the queue must be busy (else DEVICE_QUEUE_NOT_BUSY, queue, 0, 0,
 *    0). An empty busy queue becomes idle and NULL is returned. By key: the
 *    first entry whose SortKey is >= the key, or the first entry if none is.
 *    The IfBusy form returns NULL for an idle queue instead of bug-checking.
 *  - KeRemoveEntryDeviceQueue removes a queued entry (FALSE if it is not).
 *
 * Locking and IRQL rules
 *  The queue's spin lock guards Busy, the list and each entry's Inserted.
 *  NT requires DISPATCH_LEVEL for the insert and remove forms; they are
 *  called there by drivers (IoStartPacket raises), and here they raise to
 *  DISPATCH_LEVEL themselves when called below it, so the lock rules hold
 *  either way. Above DISPATCH_LEVEL is IRQL_NOT_LESS_OR_EQUAL.
 */
#include "ki.h"
#include <ntos/io.h>

static KIRQL KiLockDeviceQueue(PKDEVICE_QUEUE Queue, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Queue, irql, 0, (ULONG_PTR)Routine);
    return KeAcquireSpinLockRaiseToDpc(&Queue->Lock);
}

static VOID KiUnlockDeviceQueue(PKDEVICE_QUEUE Queue, KIRQL Irql)
{
    KeReleaseSpinLock(&Queue->Lock, Irql);
}

VOID NTAPI KeInitializeDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    DeviceQueue->Type = DeviceQueueObject;
    DeviceQueue->Size = sizeof(KDEVICE_QUEUE);
    InitializeListHead(&DeviceQueue->DeviceListHead);
    KeInitializeSpinLock(&DeviceQueue->Lock);
    DeviceQueue->Reserved = 0;
    DeviceQueue->Hint = 0;
    DeviceQueue->Busy = FALSE;
}

BOOLEAN NTAPI KeInsertDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeInsertDeviceQueue);
    BOOLEAN queued = DeviceQueue->Busy;
    if (queued)
        InsertTailList(&DeviceQueue->DeviceListHead, &DeviceQueueEntry->DeviceListEntry);
    else
        DeviceQueue->Busy = TRUE;
    DeviceQueueEntry->Inserted = queued;
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return queued;
}

BOOLEAN NTAPI KeInsertByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry,
                                       ULONG SortKey)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeInsertByKeyDeviceQueue);
    DeviceQueueEntry->SortKey = SortKey;
    BOOLEAN queued = DeviceQueue->Busy;
    if (queued) {
        PLIST_ENTRY head = &DeviceQueue->DeviceListHead;
        PLIST_ENTRY e = head->Flink;
        while (e != head && CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey <= SortKey)
            e = e->Flink;
        /* Insert before e (the first entry with a greater key, or the head). */
        InsertTailList(e, &DeviceQueueEntry->DeviceListEntry);
    } else {
        DeviceQueue->Busy = TRUE;
    }
    DeviceQueueEntry->Inserted = queued;
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return queued;
}

static PKDEVICE_QUEUE_ENTRY KiTakeEntry(PKDEVICE_QUEUE Queue, PLIST_ENTRY Entry)
{
    if (Entry == NULL) {
        Queue->Busy = FALSE;
        return NULL;
    }
    RemoveEntryList(Entry);
    PKDEVICE_QUEUE_ENTRY e = CONTAINING_RECORD(Entry, KDEVICE_QUEUE_ENTRY, DeviceListEntry);
    e->Inserted = FALSE;
    return e;
}

static PLIST_ENTRY KiFindByKey(PKDEVICE_QUEUE Queue, ULONG SortKey)
{
    PLIST_ENTRY head = &Queue->DeviceListHead;
    if (IsListEmpty(head))
        return NULL;
    for (PLIST_ENTRY e = head->Flink; e != head; e = e->Flink) {
        if (CONTAINING_RECORD(e, KDEVICE_QUEUE_ENTRY, DeviceListEntry)->SortKey >= SortKey)
            return e;
    }
    return head->Flink;
}

PKDEVICE_QUEUE_ENTRY NTAPI KeRemoveDeviceQueue(PKDEVICE_QUEUE DeviceQueue)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeRemoveDeviceQueue);
    if (!DeviceQueue->Busy) {
        KiUnlockDeviceQueue(DeviceQueue, irql);
        KeBugCheckEx(DEVICE_QUEUE_NOT_BUSY, (ULONG_PTR)DeviceQueue, 0, 0, 0);
    }
    PLIST_ENTRY head = &DeviceQueue->DeviceListHead;
    PKDEVICE_QUEUE_ENTRY e = KiTakeEntry(DeviceQueue, IsListEmpty(head) ? NULL : head->Flink);
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return e;
}

PKDEVICE_QUEUE_ENTRY NTAPI KeRemoveByKeyDeviceQueue(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeRemoveByKeyDeviceQueue);
    if (!DeviceQueue->Busy) {
        KiUnlockDeviceQueue(DeviceQueue, irql);
        KeBugCheckEx(DEVICE_QUEUE_NOT_BUSY, (ULONG_PTR)DeviceQueue, 0, 0, 0);
    }
    PKDEVICE_QUEUE_ENTRY e = KiTakeEntry(DeviceQueue, KiFindByKey(DeviceQueue, SortKey));
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return e;
}

PKDEVICE_QUEUE_ENTRY NTAPI KeRemoveByKeyDeviceQueueIfBusy(PKDEVICE_QUEUE DeviceQueue, ULONG SortKey)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeRemoveByKeyDeviceQueueIfBusy);
    PKDEVICE_QUEUE_ENTRY e = NULL;
    if (DeviceQueue->Busy)
        e = KiTakeEntry(DeviceQueue, KiFindByKey(DeviceQueue, SortKey));
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return e;
}

BOOLEAN NTAPI KeRemoveEntryDeviceQueue(PKDEVICE_QUEUE DeviceQueue, PKDEVICE_QUEUE_ENTRY DeviceQueueEntry)
{
    KIRQL irql = KiLockDeviceQueue(DeviceQueue, (PVOID)KeRemoveEntryDeviceQueue);
    BOOLEAN removed = DeviceQueueEntry->Inserted;
    if (removed) {
        DeviceQueueEntry->Inserted = FALSE;
        RemoveEntryList(&DeviceQueueEntry->DeviceListEntry);
    }
    KiUnlockDeviceQueue(DeviceQueue, irql);
    return removed;
}
