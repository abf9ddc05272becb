/*
 * Object references and deletion.
 *
 * Rules
 *  - PointerCount only moves through interlocked operations. Taking a
 *    reference requires already holding one (or the guarantee that someone
 *    does: a locked handle entry, the namespace lock over a directory entry);
 *    ObReferenceObjectSafe is the only way in from an unknown count and
 *    refuses a count that already reached zero.
 *  - A count below zero is a reference-counting bug in a driver or in the
 *    kernel: REFERENCE_BY_POINTER, never a second delete.
 *  - The final dereference deletes inline at <= APC_LEVEL, and otherwise
 *    queues the object on ObpRemoveObjectList for a worker thread, because
 *    delete procedures and pool frees of paged objects need PASSIVE_LEVEL
 *    and may take push locks. ObDereferenceObjectDeferDelete always queues:
 *    it is for callers that hold locks a delete procedure might take.
 *
 * IRQL: reference and dereference at <= DISPATCH_LEVEL.
 */
#include "obp.h"

#define BAD_OBJECT_HEADER 0x00000189

/* Deferred deletions: a lock-free stack of headers linked through HandleCount
 * (unused once PointerCount is zero, as NT's NextToFree). */
static POBJECT_HEADER volatile ObpRemoveObjectList;
static WORK_QUEUE_ITEM ObpRemoveObjectWorkItem;
static volatile LONG ObpRemoveObjectQueued;

static inline POBJECT_HEADER ObpCheckedHeader(PVOID Object)
{
    POBJECT_HEADER h = OBJECT_TO_OBJECT_HEADER(Object);
    if (Object == NULL || h->TypeIndex >= OBP_MAX_TYPES || ObTypeIndexTable[h->TypeIndex] == NULL)
        KeBugCheckEx(BAD_OBJECT_HEADER, (ULONG_PTR)h, 0, (ULONG_PTR)Object, 1);
    return h;
}

static VOID NTAPI ObpProcessRemoveObjectQueue(PVOID Context)
{
    (void)Context;
    for (;;) {
        POBJECT_HEADER list = __atomic_exchange_n(&ObpRemoveObjectList, NULL, __ATOMIC_ACQUIRE);
        if (list == NULL) {
            /* The queued flag stays set for as long as this routine runs, so
             * the work item is never queued twice while it is still in the
             * worker queue. Give it up only when the list is empty, then look
             * again: a push that saw the flag still set relied on this run, and
             * if the flag cannot be taken back a producer has already queued
             * the item again and that run will drain what it pushed. */
            __atomic_store_n(&ObpRemoveObjectQueued, 0, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&ObpRemoveObjectList, __ATOMIC_SEQ_CST) == NULL)
                return;
            if (__atomic_exchange_n(&ObpRemoveObjectQueued, 1, __ATOMIC_SEQ_CST) != 0)
                return;
            continue;
        }
        while (list != NULL) {
            POBJECT_HEADER next = (POBJECT_HEADER)list->HandleCount;
            list->HandleCount = 0;
            ObpDeleteObject(list);
            list = next;
        }
    }
}

static VOID ObpDeferObjectDeletion(POBJECT_HEADER Header)
{
    POBJECT_HEADER head = __atomic_load_n(&ObpRemoveObjectList, __ATOMIC_RELAXED);
    do {
        Header->HandleCount = (LONG_PTR)head;
    } while (!__atomic_compare_exchange_n(&ObpRemoveObjectList, &head, Header, TRUE, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
    if (__atomic_exchange_n(&ObpRemoveObjectQueued, 1, __ATOMIC_SEQ_CST) == 0) {
        ExInitializeWorkItem(&ObpRemoveObjectWorkItem, ObpProcessRemoveObjectQueue, NULL);
        ExQueueWorkItem(&ObpRemoveObjectWorkItem, DelayedWorkQueue);
    }
}

/* The last reference (or a count gone negative): out of line and ms_abi so
 * the common dereference, a single locked decrement, saves nothing. */
static __attribute__((noinline)) LONG_PTR NTAPI ObpDereferenceFinal(POBJECT_HEADER h, LONG_PTR count,
                                                                    BOOLEAN AlwaysDefer)
{
    PVOID Object = ObpHeaderBody(h);
    if (count < 0)
        KeBugCheckEx(REFERENCE_BY_POINTER, (ULONG_PTR)ObpHeaderType(h), (ULONG_PTR)Object, (ULONG_PTR)count, 2);
    if (h->TraceFlags & OBP_TRACE_STATIC)
        KeBugCheckEx(REFERENCE_BY_POINTER, (ULONG_PTR)ObpHeaderType(h), (ULONG_PTR)Object, 0, 3);
    if (AlwaysDefer || KeGetCurrentIrql() > APC_LEVEL)
        ObpDeferObjectDeletion(h);
    else
        ObpDeleteObject(h);
    return 0;
}

static inline __attribute__((always_inline)) LONG_PTR ObpDereference(PVOID Object, BOOLEAN AlwaysDefer)
{
    POBJECT_HEADER h = ObpCheckedHeader(Object);
    LONG_PTR count = __atomic_sub_fetch(&h->PointerCount, 1, __ATOMIC_ACQ_REL);
    if (count > 0)
        return count;
    return ObpDereferenceFinal(h, count, AlwaysDefer);
}

LONG_PTR FASTCALL ObfReferenceObject(PVOID Object)
{
    POBJECT_HEADER h = ObpCheckedHeader(Object);
    LONG_PTR count = __atomic_add_fetch(&h->PointerCount, 1, __ATOMIC_RELAXED);
    if (count <= 1)
        KeBugCheckEx(REFERENCE_BY_POINTER, (ULONG_PTR)ObpHeaderType(h), (ULONG_PTR)Object, (ULONG_PTR)count, 1);
    return count;
}

LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object)
{
    return ObpDereference(Object, FALSE);
}

LONG_PTR NTAPI ObReferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObfReferenceObject(Object);
}

LONG_PTR NTAPI ObDereferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObpDereference(Object, FALSE);
}

LONG_PTR FASTCALL ObfReferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObfReferenceObject(Object);
}

LONG_PTR FASTCALL ObfDereferenceObjectWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObpDereference(Object, FALSE);
}

LONG_PTR NTAPI ObDereferenceObjectDeferDelete(PVOID Object)
{
    return ObpDereference(Object, TRUE);
}

LONG_PTR NTAPI ObDereferenceObjectDeferDeleteWithTag(PVOID Object, ULONG Tag)
{
    (void)Tag;
    return ObpDereference(Object, TRUE);
}

BOOLEAN FASTCALL ObReferenceObjectSafe(PVOID Object)
{
    POBJECT_HEADER h = ObpCheckedHeader(Object);
    LONG_PTR count = __atomic_load_n(&h->PointerCount, __ATOMIC_RELAXED);
    while (count > 0) {
        if (__atomic_compare_exchange_n(&h->PointerCount, &count, count + 1, TRUE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return TRUE;
    }
    return FALSE;
}

POBJECT_TYPE NTAPI ObGetObjectType(PVOID Object)
{
    return ObpHeaderType(ObpCheckedHeader(Object));
}

NTSTATUS NTAPI ObReferenceObjectByPointer(PVOID Object, ACCESS_MASK DesiredAccess, POBJECT_TYPE ObjectType,
                                          KPROCESSOR_MODE AccessMode)
{
    (void)DesiredAccess;
    POBJECT_HEADER h = ObpCheckedHeader(Object);
    (void)AccessMode;
    if (ObjectType != NULL && ObpHeaderType(h) != ObjectType)
        return STATUS_OBJECT_TYPE_MISMATCH;
    ObfReferenceObject(Object);
    return STATUS_SUCCESS;
}

VOID ObpInitializeStaticObject(POBJECT_HEADER Header, POBJECT_TYPE Type)
{
    RtlZeroMemory(Header, FIELD_OFFSET(OBJECT_HEADER, Body));
    Header->PointerCount = 1;
    Header->TypeIndex = Type->Index;
    Header->TraceFlags = OBP_TRACE_STATIC;
    Header->Flags = OB_FLAG_KERNEL_OBJECT | OB_FLAG_PERMANENT_OBJECT;
    __atomic_add_fetch(&Type->TotalNumberOfObjects, 1, __ATOMIC_RELAXED);
}

VOID ObpDeleteObject(POBJECT_HEADER Header)
{
    POBJECT_TYPE type = ObpHeaderType(Header);
    PVOID body = ObpHeaderBody(Header);
    Header->TraceFlags |= OBP_TRACE_DELETING;

    POBJECT_HEADER_CREATOR_INFO creator = ObpHeaderCreatorInfo(Header);
    if (creator != NULL && creator->TypeList.Flink != NULL) {
        ObpLockExclusive(&type->TypeLock);
        RemoveEntryList(&creator->TypeList);
        ObpUnlockExclusive(&type->TypeLock);
    }

    /* The delete procedure sees a complete object (or, for one never
     * inserted, a zeroed body plus whatever its creator filled in): name and
     * security are released after it. */
    if (type->TypeInfo.DeleteProcedure != NULL)
        type->TypeInfo.DeleteProcedure(body);

    if (Header->SecurityDescriptor != NULL) {
        PSECURITY_DESCRIPTOR sd = Header->SecurityDescriptor;
        Header->SecurityDescriptor = NULL;
        SeDeassignSecurity(&sd);
    }
    POBJECT_HEADER_NAME_INFO name = ObpHeaderNameInfo(Header);
    if (name != NULL && name->Name.Buffer != NULL) {
        ExFreePoolWithTag(name->Name.Buffer, OB_TAG_NAME);
        name->Name.Buffer = NULL;
    }
    ObpFreeCreateInformation(Header);

    __atomic_sub_fetch(&type->TotalNumberOfObjects, 1, __ATOMIC_RELAXED);
    PVOID block = Header;
    if (Header->InfoMask & OB_INFOMASK_CREATOR_INFO)
        block = (PUCHAR)block - sizeof(OBJECT_HEADER_CREATOR_INFO);
    if (Header->InfoMask & OB_INFOMASK_NAME)
        block = (PUCHAR)block - sizeof(OBJECT_HEADER_NAME_INFO);
    if (Header->InfoMask & OB_INFOMASK_HANDLE)
        block = (PUCHAR)block - sizeof(OBJECT_HEADER_HANDLE_INFO);
    ExFreePoolWithTag(block, type->Key);
}
