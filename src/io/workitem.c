/*
 * I/O work items: IoAllocateWorkItem/IoFreeWorkItem, IoInitializeWorkItem/
 * IoUninitializeWorkItem (caller storage of IoSizeofWorkItem() bytes), and
 * IoQueueWorkItem(Ex) over the executive worker threads (ExQueueWorkItem).
 *
 * What the I/O layer adds to an executive work item is lifetime: the device
 * (or driver) object is referenced from queueing until the routine has
 * returned, so a driver cannot be unloaded, nor its device deleted, under a
 * queued or running routine. See iop.h for which objects are referenced.
 * The routine may free its own work item (the item is not touched after the
 * routine is called). Queueing an item that is already queued is the
 * executive's WORKER_INVALID bug check.
 *
 * IRQL: allocate/queue/free at <= DISPATCH_LEVEL; routines run at
 * PASSIVE_LEVEL in a system worker thread.
 */
#include "iop.h"

struct _IO_WORKITEM {
    WORK_QUEUE_ITEM WorkItem;
    PVOID Routine; /* PIO_WORKITEM_ROUTINE or PIO_WORKITEM_ROUTINE_EX */
    PVOID IoObject;
    PVOID Context;
    ULONG Type;    /* IOP_WORKITEM_SIGNATURE while initialised */
    BOOLEAN Extended;
    BOOLEAN Referenced; /* IoObject was referenced when the item was queued */
};

#define IOP_WORKITEM_SIGNATURE 0x6B724F57 /* 'WOrk' */

BOOLEAN IopReferenceIoObject(PVOID IoObject)
{
    CSHORT type = *(CSHORT *)IoObject;
    BOOLEAN managed = FALSE;
    if (type == IO_TYPE_DEVICE) {
        PDEVOBJ_EXTENSION ext = ((PDEVICE_OBJECT)IoObject)->DeviceObjectExtension;
        managed = ext != NULL && (ext->ExtensionFlags & DOE_OBJECT_MANAGED) != 0;
    } else if (type == IO_TYPE_DRIVER) {
        managed = ((PDRIVER_OBJECT)IoObject)->DriverExtension != NULL;
    }
    if (managed)
        ObReferenceObject(IoObject);
    return managed;
}

static VOID NTAPI IopWorkItemWorker(PVOID Parameter)
{
    PIO_WORKITEM item = Parameter;
    PVOID routine = item->Routine;
    PVOID object = item->IoObject;
    PVOID context = item->Context;
    /* Read before the call: the routine may free the item, and an object
     * that holds no reference may be gone once the routine returns. */
    BOOLEAN referenced = item->Referenced;
    if (item->Extended)
        ((PIO_WORKITEM_ROUTINE_EX)routine)(object, context, item);
    else
        ((PIO_WORKITEM_ROUTINE)routine)((PDEVICE_OBJECT)object, context);
    if (referenced)
        ObDereferenceObject(object);
}

ULONG NTAPI IoSizeofWorkItem(void)
{
    return sizeof(IO_WORKITEM);
}

VOID NTAPI IoInitializeWorkItem(PVOID IoObject, PIO_WORKITEM IoWorkItem)
{
    RtlZeroMemory(IoWorkItem, sizeof(*IoWorkItem));
    IoWorkItem->IoObject = IoObject;
    IoWorkItem->Type = IOP_WORKITEM_SIGNATURE;
    ExInitializeWorkItem(&IoWorkItem->WorkItem, IopWorkItemWorker, IoWorkItem);
}

VOID NTAPI IoUninitializeWorkItem(PIO_WORKITEM IoWorkItem)
{
    IoWorkItem->Type = 0;
}

PIO_WORKITEM NTAPI IoAllocateWorkItem(PDEVICE_OBJECT DeviceObject)
{
    PIO_WORKITEM item = ExAllocatePoolWithTag(NonPagedPoolNx, sizeof(IO_WORKITEM), IOP_WORKITEM_TAG);
    if (item == NULL)
        return NULL;
    IoInitializeWorkItem(DeviceObject, item);
    return item;
}

VOID NTAPI IoFreeWorkItem(PIO_WORKITEM IoWorkItem)
{
    IoUninitializeWorkItem(IoWorkItem);
    ExFreePoolWithTag(IoWorkItem, IOP_WORKITEM_TAG);
}

static VOID IopQueue(PIO_WORKITEM Item, PVOID Routine, BOOLEAN Extended, WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    /* The executive claims the item first (bug-checking a double queue), so
     * fields are only rewritten once the item is known not to be queued. */
    if (__atomic_load_n(&Item->WorkItem.List.Flink, __ATOMIC_ACQUIRE) != NULL)
        KeBugCheckEx(WORKER_INVALID, 1, (ULONG_PTR)&Item->WorkItem, QueueType, 0);
    Item->Routine = Routine;
    Item->Extended = Extended;
    Item->Context = Context;
    Item->Referenced = IopReferenceIoObject(Item->IoObject);
    ExQueueWorkItem(&Item->WorkItem, QueueType);
}

VOID NTAPI IoQueueWorkItem(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE WorkerRoutine, WORK_QUEUE_TYPE QueueType,
                           PVOID Context)
{
    IopQueue(IoWorkItem, (PVOID)WorkerRoutine, FALSE, QueueType, Context);
}

VOID NTAPI IoQueueWorkItemEx(PIO_WORKITEM IoWorkItem, PIO_WORKITEM_ROUTINE_EX WorkerRoutine,
                             WORK_QUEUE_TYPE QueueType, PVOID Context)
{
    IopQueue(IoWorkItem, (PVOID)WorkerRoutine, TRUE, QueueType, Context);
}
