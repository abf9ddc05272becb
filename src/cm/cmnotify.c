/*
 * ZwNotifyChangeKey: one-shot change notifications.
 *
 * A request is a CM_NOTIFY_BLOCK on the watched key's NotifyList. A change
 * (subkey created, deleted or renamed: REG_NOTIFY_CHANGE_NAME on the parent;
 * value set or deleted, write time set: REG_NOTIFY_CHANGE_LAST_SET on the
 * key) completes the matching requests on the key itself and, for
 * WatchTree requests, on every ancestor. Completion writes the caller's
 * IO_STATUS_BLOCK, signals its event, queues its work item (the kernel
 * work-item form) and wakes a synchronous waiter. The last handle's close
 * completes its requests with STATUS_NOTIFY_CLEANUP, the key's deletion
 * with STATUS_KEY_DELETED.
 *
 * Locking: NotifyLists change only under CmpRegistryLock exclusive (every
 * change to the tree holds it that way, so completion runs there too);
 * completion only signals, queues and frees (no callouts). PASSIVE_LEVEL
 * for the service.
 */
#include "cmp.h"

typedef struct _CM_NOTIFY_BLOCK {
    LIST_ENTRY Link;
    PCM_KEY_BODY Body;
    ULONG Filter;
    BOOLEAN WatchTree;
    BOOLEAN Synchronous;
    PKEVENT Event;             /* referenced, or NULL */
    PIO_STATUS_BLOCK IoStatus;
    PWORK_QUEUE_ITEM WorkItem; /* kernel work-item form, or NULL */
    WORK_QUEUE_TYPE Queue;
    KEVENT Done;               /* synchronous waiter */
    NTSTATUS Status;
} CM_NOTIFY_BLOCK, *PCM_NOTIFY_BLOCK;

static VOID CmpCompleteBlock(PCM_NOTIFY_BLOCK Block, NTSTATUS Status)
{
    RemoveEntryList(&Block->Link);
    Block->IoStatus->Status = Status;
    Block->IoStatus->Information = 0;
    if (Block->Event != NULL) {
        KeSetEvent(Block->Event, 0, FALSE);
        ObDereferenceObjectDeferDelete(Block->Event);
    }
    if (Block->WorkItem != NULL)
        ExQueueWorkItem(Block->WorkItem, Block->Queue);
    if (Block->Synchronous) {
        /* The waiter owns the block. */
        Block->Status = Status;
        KeSetEvent(&Block->Done, 0, FALSE);
    } else {
        ExFreePoolWithTag(Block, CM_TAG_NOTIFY);
    }
}

VOID CmpCompleteNodeNotifies(PCM_KEY_NODE Node, NTSTATUS Status, PCM_KEY_BODY OnlyBody)
{
    PLIST_ENTRY e = Node->NotifyList.Flink;
    while (e != &Node->NotifyList) {
        PCM_NOTIFY_BLOCK b = CONTAINING_RECORD(e, CM_NOTIFY_BLOCK, Link);
        e = e->Flink;
        if (OnlyBody == NULL || b->Body == OnlyBody)
            CmpCompleteBlock(b, Status);
    }
}

VOID CmpReportChange(PCM_KEY_NODE Node, ULONG Filter)
{
    BOOLEAN self = TRUE;
    for (PCM_KEY_NODE n = Node; n != NULL; n = n->Parent, self = FALSE) {
        PLIST_ENTRY e = n->NotifyList.Flink;
        while (e != &n->NotifyList) {
            PCM_NOTIFY_BLOCK b = CONTAINING_RECORD(e, CM_NOTIFY_BLOCK, Link);
            e = e->Flink;
            if ((b->Filter & Filter) && (self || b->WatchTree))
                CmpCompleteBlock(b, STATUS_SUCCESS);
        }
    }
}

static NTSTATUS CmpNotifyChangeKey(HANDLE KeyHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                   PIO_STATUS_BLOCK IoStatusBlock, ULONG CompletionFilter, BOOLEAN WatchTree,
                                   PVOID Buffer, ULONG BufferSize, BOOLEAN Asynchronous, KPROCESSOR_MODE Mode)
{
    if (IoStatusBlock == NULL || CompletionFilter == 0 || (CompletionFilter & ~REG_LEGAL_CHANGE_FILTER) ||
        (Buffer != NULL && BufferSize != 0))
        return STATUS_INVALID_PARAMETER;
    PWORK_QUEUE_ITEM workItem = NULL;
    if (ApcRoutine != NULL) {
        /* Only the kernel's work-item form: there are no user APCs to deliver. */
        if (Mode != KernelMode || (ULONG_PTR)ApcContext >= MaximumWorkQueue)
            return STATUS_INVALID_PARAMETER;
        workItem = (PWORK_QUEUE_ITEM)ApcRoutine;
    }
    PCM_KEY_BODY body;
    NTSTATUS status = CmpReferenceKeyByHandle(KeyHandle, KEY_NOTIFY, Mode, &body);
    if (!NT_SUCCESS(status))
        return status;
    PKEVENT event = NULL;
    if (Event != NULL) {
        status = ObReferenceObjectByHandle(Event, EVENT_MODIFY_STATE, ExEventObjectType, Mode, (PVOID *)&event, NULL);
        if (!NT_SUCCESS(status)) {
            ObDereferenceObject(body);
            return status;
        }
        KeClearEvent(event);
    }
    PCM_NOTIFY_BLOCK b = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(*b), CM_TAG_NOTIFY);
    if (b == NULL) {
        if (event != NULL)
            ObDereferenceObject(event);
        ObDereferenceObject(body);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    RtlZeroMemory(b, sizeof(*b));
    b->Body = body;
    b->Filter = CompletionFilter & ~REG_NOTIFY_THREAD_AGNOSTIC;
    b->WatchTree = WatchTree;
    b->Synchronous = !Asynchronous;
    b->Event = event;
    b->IoStatus = IoStatusBlock;
    b->WorkItem = workItem;
    b->Queue = (WORK_QUEUE_TYPE)(ULONG_PTR)ApcContext;
    KeInitializeEvent(&b->Done, NotificationEvent, FALSE);
    IoStatusBlock->Status = STATUS_PENDING;
    IoStatusBlock->Information = 0;

    CmpLockExclusive();
    if (body->Node->Flags & CM_KEY_DELETED) {
        status = STATUS_KEY_DELETED;
    } else {
        InsertTailList(&body->Node->NotifyList, &b->Link);
        status = STATUS_PENDING;
    }
    CmpUnlock();
    if (status != STATUS_PENDING) {
        if (event != NULL)
            ObDereferenceObject(event);
        ExFreePoolWithTag(b, CM_TAG_NOTIFY);
        ObDereferenceObject(body);
        return status;
    }
    if (b->Synchronous) {
        /* The body stays referenced (the handle may be closed meanwhile:
         * the close completes this wait with STATUS_NOTIFY_CLEANUP). */
        KeWaitForSingleObject(&b->Done, Executive, KernelMode, FALSE, NULL);
        status = b->Status;
        ExFreePoolWithTag(b, CM_TAG_NOTIFY);
    }
    ObDereferenceObject(body);
    return status;
}

NTSTATUS NTAPI ZwNotifyChangeKey(HANDLE KeyHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                 PIO_STATUS_BLOCK IoStatusBlock, ULONG CompletionFilter, BOOLEAN WatchTree,
                                 PVOID Buffer, ULONG BufferSize, BOOLEAN Asynchronous)
{
    return CmpNotifyChangeKey(KeyHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, CompletionFilter, WatchTree,
                              Buffer, BufferSize, Asynchronous, KernelMode);
}

NTSTATUS NTAPI NtNotifyChangeKey(HANDLE KeyHandle, HANDLE Event, PIO_APC_ROUTINE ApcRoutine, PVOID ApcContext,
                                 PIO_STATUS_BLOCK IoStatusBlock, ULONG CompletionFilter, BOOLEAN WatchTree,
                                 PVOID Buffer, ULONG BufferSize, BOOLEAN Asynchronous)
{
    return CmpNotifyChangeKey(KeyHandle, Event, ApcRoutine, ApcContext, IoStatusBlock, CompletionFilter, WatchTree,
                              Buffer, BufferSize, Asynchronous, ExGetPreviousMode());
}
