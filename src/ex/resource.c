/*
 * Executive resources (ERESOURCE): reader/writer locks with owner tracking,
 * recursion and the documented starvation rules.
 *
 * Locking and IRQL rules
 *  - Every field of a resource is read and written with its SpinLock held
 *    (in-stack queued, so at DISPATCH_LEVEL). Nothing blocks with it held:
 *    a thread that has to wait registers as a waiter, drops the lock, then
 *    waits on the resource's semaphore (shared) or synchronization event
 *    (exclusive). Both are allocated by ExInitializeResourceLite so that an
 *    acquire never has to allocate them; initialization fails with
 *    STATUS_INSUFFICIENT_RESOURCES instead.
 *  - Acquires run at IRQL <= APC_LEVEL with normal kernel APCs disabled
 *    (critical or guarded region, or APC_LEVEL), as documented: an owner
 *    suspended by an APC would stall every other thread. NT only asserts this;
 *    here it is checked always: IRQL_NOT_LESS_OR_EQUAL (resource, IRQL, 0,
 *    routine) above APC_LEVEL, FAST_ERESOURCE_PRECONDITION_VIOLATION (7,
 *    resource, 0, routine) without the region. Releases and queries run at
 *    <= DISPATCH_LEVEL.
 *
 * State
 *  - ActiveCount is the number of owning threads (1 when exclusive, with
 *    ResourceOwnedExclusive set in Flag and the owner in OwnerEntry). Shared
 *    owners are in OwnerEntry and in OwnerTable[1..TableSize-1] (entry 0 is
 *    the header holding TableSize), each with its recursion count; a free slot
 *    has OwnerThread 0. The table is allocated on first need and doubled when
 *    full, always with the spin lock dropped; if the pool fails, a Wait=FALSE
 *    acquire returns FALSE and a waiting one retries after a short delay.
 *  - Ownership is handed over, never competed for: when the resource becomes
 *    free the releaser picks the next owners itself, updates the state under
 *    the lock and then signals them. A woken waiter already owns the resource.
 *    A woken exclusive owner replaces the placeholder the releaser put in
 *    OwnerEntry (the releaser cannot know which waiter the event wakes); woken
 *    shared owners are already counted in ActiveCount and record their own
 *    owner entries.
 *
 * Grant rules (WDK documentation of each routine)
 *  - Exclusive: granted if the resource is free or the caller owns it
 *    exclusively (recursion); otherwise the caller waits (or FALSE).
 *  - ExAcquireResourceSharedLite: granted if free, if the caller owns it
 *    exclusively (counted as recursion of the exclusive ownership), if the
 *    caller already owns it shared, or if it is owned shared and no thread
 *    waits for exclusive access.
 *  - ExAcquireSharedStarveExclusive: as above, but shared ownership is granted
 *    even with exclusive waiters.
 *  - ExAcquireSharedWaitForExclusive: as SharedLite, except that with
 *    exclusive waiters the caller waits even if it already owns the resource
 *    shared (the documented difference; the caller then deadlocks unless
 *    another thread releases its ownership with ExReleaseResourceForThreadLite).
 *  - Release order (NT's): when the last shared owner releases, one exclusive
 *    waiter gets the resource if any is waiting, else all shared waiters; when
 *    the exclusive owner releases, all shared waiters get it if any is
 *    waiting, else one exclusive waiter. ExConvertExclusiveToSharedLite also
 *    admits every shared waiter.
 *
 * Misuse (always checked, parameters as in ex_sync.h)
 *  - Releasing a resource the thread does not own: RESOURCE_NOT_OWNED
 *    (resource, thread, owner table, 0).
 *  - Acquiring exclusive (Wait=TRUE) while owning it shared is a certain
 *    self-deadlock in NT: DRIVER_VERIFIER_DETECTED_VIOLATION (0x1000,
 *    resource, thread, 0). With Wait=FALSE it just fails, as in NT.
 *  - Converting a resource not owned exclusively by the caller:
 *    SHARED_RESOURCE_CONV_ERROR (resource, thread, 0, 0).
 *  - Deleting or reinitializing a resource that is owned or waited on:
 *    DRIVER_VERIFIER_DETECTED_VIOLATION (0x17, resource, 0, resource).
 *  - ExSetResourceOwnerPointer with an owner pointer whose two low bits are
 *    not set: RESOURCE_OWNER_POINTER_INVALID (resource, owner table, thread,
 *    pointer).
 *
 * Every initialized resource is on a global list (SystemResourcesList) until
 * ExDeleteResourceLite, as in NT, guarded by its own spin lock.
 */
#include <ntos/ex_sync.h>
#include <ntos/list.h>
#include <ntos/rtl.h>

#define ERESOURCE_INCREMENT 1        /* boost for threads handed the resource */
#define EXP_HANDOFF_OWNER ((ERESOURCE_THREAD)2) /* not a thread, not an owner pointer */
#define EXP_INITIAL_TABLE_SIZE 4     /* header + 3 owners */
#define EXP_POOL_RETRY_MS 10

typedef enum _EXP_SHARED_KIND { ExpSharedLite, ExpSharedStarveExclusive, ExpSharedWaitForExclusive } EXP_SHARED_KIND;

static LIST_ENTRY ExpSystemResourcesList = {&ExpSystemResourcesList, &ExpSystemResourcesList};
static KSPIN_LOCK ExpSystemResourcesLock;

/* ---- helpers (resource lock held unless stated) --------------------------------------- */

static void ExpLockResource(PERESOURCE Resource, PKLOCK_QUEUE_HANDLE Handle)
{
    KeAcquireInStackQueuedSpinLock(&Resource->SpinLock, Handle);
}

static void ExpUnlockResource(PKLOCK_QUEUE_HANDLE Handle)
{
    KeReleaseInStackQueuedSpinLock(Handle);
}

static void ExpCheckAcquireContext(PERESOURCE Resource, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Resource, irql, 0, (ULONG_PTR)Routine);
    if (irql < APC_LEVEL && !KeAreApcsDisabled())
        KeBugCheckEx(FAST_ERESOURCE_PRECONDITION_VIOLATION, EX_PRECONDITION_APCS_NOT_DISABLED,
                     (ULONG_PTR)Resource, 0, (ULONG_PTR)Routine);
}

static ULONG ExpTableSize(PERESOURCE Resource)
{
    return Resource->OwnerTable ? Resource->OwnerTable[0].TableSize : 0;
}

static POWNER_ENTRY ExpFindOwner(PERESOURCE Resource, ERESOURCE_THREAD Thread)
{
    if (Thread == 0)
        return NULL;
    if (Resource->OwnerEntry.OwnerThread == Thread)
        return &Resource->OwnerEntry;
    ULONG size = ExpTableSize(Resource);
    for (ULONG i = 1; i < size; i++) {
        if (Resource->OwnerTable[i].OwnerThread == Thread)
            return &Resource->OwnerTable[i];
    }
    return NULL;
}

static POWNER_ENTRY ExpFreeOwnerSlot(PERESOURCE Resource)
{
    if (Resource->OwnerEntry.OwnerThread == 0)
        return &Resource->OwnerEntry;
    ULONG size = ExpTableSize(Resource);
    for (ULONG i = 1; i < size; i++) {
        if (Resource->OwnerTable[i].OwnerThread == 0)
            return &Resource->OwnerTable[i];
    }
    return NULL;
}

/*
 * Records one more shared acquisition by Thread. Counted: ActiveCount already
 * includes this owner (a waiter the releaser admitted). FALSE if a new entry
 * is needed and the table is full.
 */
static BOOLEAN ExpRecordShared(PERESOURCE Resource, ERESOURCE_THREAD Thread, BOOLEAN Counted)
{
    POWNER_ENTRY e = ExpFindOwner(Resource, Thread);
    if (e != NULL) {
        e->OwnerCount++;
        if (Counted)
            Resource->ActiveCount--; /* it was counted twice */
        return TRUE;
    }
    e = ExpFreeOwnerSlot(Resource);
    if (e == NULL)
        return FALSE;
    e->OwnerThread = Thread;
    e->OwnerCount = 1;
    Resource->ActiveEntries++;
    if (!Counted)
        Resource->ActiveCount++;
    return TRUE;
}

/*
 * Grows the owner table that was seen full at FullSize entries; resource lock
 * NOT held. Does nothing if another thread grew it meanwhile. FALSE if the
 * pool failed.
 */
static BOOLEAN ExpExpandOwnerTable(PERESOURCE Resource, ULONG FullSize)
{
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    ULONG size = ExpTableSize(Resource);
    ExpUnlockResource(&h);
    if (size != FullSize)
        return TRUE;

    ULONG newSize = size ? size * 2 : EXP_INITIAL_TABLE_SIZE;
    POWNER_ENTRY table = RtlpAllocatePool(newSize * sizeof(OWNER_ENTRY), EX_RESOURCE_POOL_TAG);
    if (table == NULL)
        return FALSE;
    RtlZeroMemory(table, newSize * sizeof(OWNER_ENTRY));
    table[0].TableSize = newSize;

    PVOID unused;
    ExpLockResource(Resource, &h);
    /* Another thread may have grown it meanwhile: only ever install a bigger table. */
    ULONG current = ExpTableSize(Resource);
    if (current < newSize) {
        for (ULONG i = 1; i < current; i++)
            table[i] = Resource->OwnerTable[i];
        unused = Resource->OwnerTable;
        Resource->OwnerTable = table;
    } else {
        unused = table;
    }
    ExpUnlockResource(&h);
    RtlpFreePool(unused, EX_RESOURCE_POOL_TAG);
    return TRUE;
}

static void ExpPoolRetryDelay(void)
{
    LARGE_INTEGER t;
    t.QuadPart = -(LONGLONG)EXP_POOL_RETRY_MS * 10000;
    KeDelayExecutionThread(KernelMode, FALSE, &t);
}

/* What a release or conversion has to signal once the lock is dropped. */
typedef struct _EXP_WAKE {
    LONG Shared;       /* shared waiters admitted */
    BOOLEAN Exclusive; /* an exclusive waiter was handed the resource */
} EXP_WAKE;

static void ExpAdmitSharedWaiters(PERESOURCE Resource, EXP_WAKE *Wake)
{
    LONG n = (LONG)Resource->NumberOfSharedWaiters;
    Resource->NumberOfSharedWaiters = 0;
    Resource->ActiveCount = (SHORT)(Resource->ActiveCount + n);
    Wake->Shared += n;
}

static void ExpAdmitExclusiveWaiter(PERESOURCE Resource, EXP_WAKE *Wake)
{
    Resource->NumberOfExclusiveWaiters--;
    Resource->Flag |= ResourceOwnedExclusive;
    Resource->ActiveCount = 1;
    Resource->ActiveEntries = 1;
    Resource->OwnerEntry.OwnerThread = EXP_HANDOFF_OWNER;
    Resource->OwnerEntry.OwnerCount = 1;
    Wake->Exclusive = TRUE;
}

/* The resource just became free: pick the next owners. */
static void ExpGrantWaiters(PERESOURCE Resource, BOOLEAN PreferShared, EXP_WAKE *Wake)
{
    if (PreferShared && Resource->NumberOfSharedWaiters != 0)
        ExpAdmitSharedWaiters(Resource, Wake);
    else if (Resource->NumberOfExclusiveWaiters != 0)
        ExpAdmitExclusiveWaiter(Resource, Wake);
    else if (Resource->NumberOfSharedWaiters != 0)
        ExpAdmitSharedWaiters(Resource, Wake);
}

/* Lock dropped; the state already says who owns the resource. */
static void ExpSignal(PERESOURCE Resource, EXP_WAKE *Wake)
{
    if (Wake->Shared)
        KeReleaseSemaphore(Resource->SharedWaiters, ERESOURCE_INCREMENT, Wake->Shared, FALSE);
    if (Wake->Exclusive)
        KeSetEvent(Resource->ExclusiveWaiters, ERESOURCE_INCREMENT, FALSE);
}

/* ---- initialization ---------------------------------------------------------------- */

static NTSTATUS ExpAllocateWaiterObjects(PERESOURCE Resource)
{
    PKSEMAPHORE s = Resource->SharedWaiters;
    PKEVENT e = Resource->ExclusiveWaiters;
    if (s == NULL)
        s = RtlpAllocatePool(sizeof(KSEMAPHORE), EX_RESOURCE_POOL_TAG);
    if (e == NULL)
        e = RtlpAllocatePool(sizeof(KEVENT), EX_RESOURCE_POOL_TAG);
    if (s == NULL || e == NULL) {
        if (s != Resource->SharedWaiters)
            RtlpFreePool(s, EX_RESOURCE_POOL_TAG);
        if (e != Resource->ExclusiveWaiters)
            RtlpFreePool(e, EX_RESOURCE_POOL_TAG);
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    KeInitializeSemaphore(s, 0, MAXLONG);
    KeInitializeEvent(e, SynchronizationEvent, FALSE);
    Resource->SharedWaiters = s;
    Resource->ExclusiveWaiters = e;
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource)
{
    RtlZeroMemory(Resource, sizeof(*Resource));
    NTSTATUS status = ExpAllocateWaiterObjects(Resource);
    if (status != STATUS_SUCCESS)
        return status;
    KeInitializeSpinLock(&Resource->SpinLock);
    Resource->Address = __builtin_return_address(0);

    KLOCK_QUEUE_HANDLE h;
    KeAcquireInStackQueuedSpinLock(&ExpSystemResourcesLock, &h);
    InsertTailList(&ExpSystemResourcesList, &Resource->SystemResourcesList);
    KeReleaseInStackQueuedSpinLock(&h);
    return STATUS_SUCCESS;
}

static void ExpCheckInactive(PERESOURCE Resource)
{
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    BOOLEAN busy = Resource->ActiveCount != 0 || Resource->NumberOfSharedWaiters != 0 ||
                   Resource->NumberOfExclusiveWaiters != 0;
    ExpUnlockResource(&h);
    if (busy)
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_ACTIVE_RESOURCE_FREED, (ULONG_PTR)Resource, 0,
                     (ULONG_PTR)Resource);
}

NTSTATUS NTAPI ExReinitializeResourceLite(PERESOURCE Resource)
{
    ExpCheckInactive(Resource);
    /* Keeps (and clears) what contention already allocated, as documented. */
    NTSTATUS status = ExpAllocateWaiterObjects(Resource);
    if (status != STATUS_SUCCESS)
        return status;
    ULONG size = ExpTableSize(Resource);
    for (ULONG i = 1; i < size; i++) {
        Resource->OwnerTable[i].OwnerThread = 0;
        Resource->OwnerTable[i].OwnerCount = 0;
    }
    Resource->ActiveCount = 0;
    Resource->Flag = 0;
    Resource->OwnerEntry.OwnerThread = 0;
    Resource->OwnerEntry.OwnerCount = 0;
    Resource->ActiveEntries = 0;
    Resource->ContentionCount = 0;
    Resource->NumberOfSharedWaiters = 0;
    Resource->NumberOfExclusiveWaiters = 0;
    KeInitializeSpinLock(&Resource->SpinLock);
    return STATUS_SUCCESS;
}

NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource)
{
    ExpCheckInactive(Resource);
    if (Resource->SystemResourcesList.Flink != NULL) {
        KLOCK_QUEUE_HANDLE h;
        KeAcquireInStackQueuedSpinLock(&ExpSystemResourcesLock, &h);
        RemoveEntryList(&Resource->SystemResourcesList);
        KeReleaseInStackQueuedSpinLock(&h);
        Resource->SystemResourcesList.Flink = Resource->SystemResourcesList.Blink = NULL;
    }
    RtlpFreePool(Resource->SharedWaiters, EX_RESOURCE_POOL_TAG);
    RtlpFreePool(Resource->ExclusiveWaiters, EX_RESOURCE_POOL_TAG);
    RtlpFreePool(Resource->OwnerTable, EX_RESOURCE_POOL_TAG);
    Resource->SharedWaiters = NULL;
    Resource->ExclusiveWaiters = NULL;
    Resource->OwnerTable = NULL;
    return STATUS_SUCCESS;
}

/* ---- acquire --------------------------------------------------------------------------- */

/* Lock-order checker events: a waiting acquire is ACQUIRE (edges from every
 * lock held) then ACQUIRED; Wait=FALSE is LOCK_TRY (no edges: it cannot
 * block) then ACQUIRED if it got the resource. The point comes before the
 * IRQL check so that a resource taken under a spin lock is reported as the
 * lock-order cycle it makes, naming both locks. */
static BOOLEAN ExpAcquireExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    KLOCK_QUEUE_HANDLE h;

    arch_sched_point(Wait ? ARCH_SP_MUTEX_ACQUIRE : ARCH_SP_LOCK_TRY, Resource);
    ExpCheckAcquireContext(Resource, (PVOID)ExAcquireResourceExclusiveLite);
    ExpLockResource(Resource, &h);
    if (Resource->ActiveCount == 0) {
        Resource->Flag |= ResourceOwnedExclusive;
        Resource->ActiveCount = 1;
        Resource->ActiveEntries = 1;
        Resource->OwnerEntry.OwnerThread = self;
        Resource->OwnerEntry.OwnerCount = 1;
        ExpUnlockResource(&h);
        return TRUE;
    }
    if (Resource->Flag & ResourceOwnedExclusive) {
        if (Resource->OwnerEntry.OwnerThread == self) {
            Resource->OwnerEntry.OwnerCount++;
            ExpUnlockResource(&h);
            return TRUE;
        }
    } else if (Wait && ExpFindOwner(Resource, self) != NULL) {
        ExpUnlockResource(&h);
        KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_SELF_DEADLOCK, (ULONG_PTR)Resource, self, 0);
    }
    if (!Wait) {
        ExpUnlockResource(&h);
        return FALSE;
    }
    Resource->ContentionCount++;
    Resource->NumberOfExclusiveWaiters++;
    ExpUnlockResource(&h);

    KeWaitForSingleObject(Resource->ExclusiveWaiters, WrResource, KernelMode, FALSE, NULL);

    ExpLockResource(Resource, &h);
    Resource->OwnerEntry.OwnerThread = self; /* was EXP_HANDOFF_OWNER */
    ExpUnlockResource(&h);
    return TRUE;
}

BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait)
{
    BOOLEAN got = ExpAcquireExclusive(Resource, Wait);
    if (got)
        arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, Resource);
    return got;
}

static BOOLEAN ExpAcquireSharedBody(PERESOURCE Resource, BOOLEAN Wait, EXP_SHARED_KIND Kind, PVOID Routine)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    KLOCK_QUEUE_HANDLE h;
    arch_sched_point(Wait ? ARCH_SP_MUTEX_ACQUIRE : ARCH_SP_LOCK_TRY, Resource);

    ExpCheckAcquireContext(Resource, Routine);
    for (;;) {
        ExpLockResource(Resource, &h);
        if (Resource->ActiveCount == 0) {
            /* Free: no owner entry is in use. */
            Resource->ActiveCount = 1;
            Resource->ActiveEntries = 1;
            Resource->OwnerEntry.OwnerThread = self;
            Resource->OwnerEntry.OwnerCount = 1;
            ExpUnlockResource(&h);
            return TRUE;
        }
        if (Resource->Flag & ResourceOwnedExclusive) {
            if (Resource->OwnerEntry.OwnerThread == self) {
                Resource->OwnerEntry.OwnerCount++;
                ExpUnlockResource(&h);
                return TRUE;
            }
            break; /* wait */
        }
        POWNER_ENTRY mine = ExpFindOwner(Resource, self);
        BOOLEAN exclusiveWaiting = Resource->NumberOfExclusiveWaiters != 0;
        BOOLEAN grant;
        switch (Kind) {
        case ExpSharedStarveExclusive:
            grant = TRUE;
            break;
        case ExpSharedWaitForExclusive:
            grant = !exclusiveWaiting;
            break;
        default:
            grant = mine != NULL || !exclusiveWaiting;
            break;
        }
        if (!grant)
            break; /* wait */
        if (ExpRecordShared(Resource, self, FALSE)) {
            ExpUnlockResource(&h);
            return TRUE;
        }
        ULONG full = ExpTableSize(Resource);
        ExpUnlockResource(&h);
        if (!ExpExpandOwnerTable(Resource, full)) {
            if (!Wait)
                return FALSE;
            ExpPoolRetryDelay();
        }
    }

    if (!Wait) {
        ExpUnlockResource(&h);
        return FALSE;
    }
    Resource->ContentionCount++;
    Resource->NumberOfSharedWaiters++;
    ExpUnlockResource(&h);

    KeWaitForSingleObject(Resource->SharedWaiters, WrResource, KernelMode, FALSE, NULL);

    /* Admitted by the releaser (and counted in ActiveCount): record the entry. */
    for (;;) {
        ExpLockResource(Resource, &h);
        BOOLEAN recorded = ExpRecordShared(Resource, self, TRUE);
        ULONG full = ExpTableSize(Resource);
        ExpUnlockResource(&h);
        if (recorded)
            return TRUE;
        if (!ExpExpandOwnerTable(Resource, full))
            ExpPoolRetryDelay();
    }
}

static BOOLEAN ExpAcquireShared(PERESOURCE Resource, BOOLEAN Wait, EXP_SHARED_KIND Kind, PVOID Routine)
{
    BOOLEAN got = ExpAcquireSharedBody(Resource, Wait, Kind, Routine);
    if (got)
        arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, Resource);
    return got;
}

BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait)
{
    return ExpAcquireShared(Resource, Wait, ExpSharedLite, (PVOID)ExAcquireResourceSharedLite);
}

BOOLEAN NTAPI ExAcquireSharedStarveExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    return ExpAcquireShared(Resource, Wait, ExpSharedStarveExclusive, (PVOID)ExAcquireSharedStarveExclusive);
}

BOOLEAN NTAPI ExAcquireSharedWaitForExclusive(PERESOURCE Resource, BOOLEAN Wait)
{
    return ExpAcquireShared(Resource, Wait, ExpSharedWaitForExclusive, (PVOID)ExAcquireSharedWaitForExclusive);
}

/* ---- release ------------------------------------------------------------------------------ */

static void ExpReleaseForThread(PERESOURCE Resource, ERESOURCE_THREAD Thread, PVOID Routine)
{
    /* Released for another owner (ExReleaseResourceForThreadLite): the lock-order
     * checker drops the owner's hold, not the caller's. */
    if (Thread != ExGetCurrentResourceThread())
        arch_sched_point(ARCH_SP_LOCK_OWNER, (PVOID)Thread);
    arch_sched_point(ARCH_SP_MUTEX_RELEASE, Resource);
    KIRQL irql = KeGetCurrentIrql();
    if (irql > DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)Resource, irql, 0, (ULONG_PTR)Routine);

    KLOCK_QUEUE_HANDLE h;
    EXP_WAKE wake = {0, FALSE};
    ExpLockResource(Resource, &h);
    if (Resource->Flag & ResourceOwnedExclusive) {
        if (Thread == 0 || Resource->OwnerEntry.OwnerThread != Thread)
            goto not_owned;
        if (--Resource->OwnerEntry.OwnerCount > 0) {
            ExpUnlockResource(&h);
            return;
        }
        Resource->OwnerEntry.OwnerThread = 0;
        Resource->Flag &= (USHORT)~ResourceOwnedExclusive;
        Resource->ActiveCount = 0;
        Resource->ActiveEntries = 0;
        ExpGrantWaiters(Resource, TRUE, &wake);
    } else {
        POWNER_ENTRY e = ExpFindOwner(Resource, Thread);
        if (e == NULL)
            goto not_owned;
        if (--e->OwnerCount > 0) {
            ExpUnlockResource(&h);
            return;
        }
        e->OwnerThread = 0;
        Resource->ActiveEntries--;
        if (--Resource->ActiveCount == 0)
            ExpGrantWaiters(Resource, FALSE, &wake);
    }
    ExpUnlockResource(&h);
    ExpSignal(Resource, &wake);
    return;

not_owned:
    ExpUnlockResource(&h);
    KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, Thread, (ULONG_PTR)Resource->OwnerTable, 0);
}

VOID NTAPI ExReleaseResourceLite(PERESOURCE Resource)
{
    ExpReleaseForThread(Resource, ExGetCurrentResourceThread(), (PVOID)ExReleaseResourceLite);
}

VOID NTAPI ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId)
{
    ExpReleaseForThread(Resource, ResourceThreadId, (PVOID)ExReleaseResourceForThreadLite);
}

VOID NTAPI ExConvertExclusiveToSharedLite(PERESOURCE Resource)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    KLOCK_QUEUE_HANDLE h;
    EXP_WAKE wake = {0, FALSE};

    ExpLockResource(Resource, &h);
    if (!(Resource->Flag & ResourceOwnedExclusive) || Resource->OwnerEntry.OwnerThread != self) {
        ExpUnlockResource(&h);
        KeBugCheckEx(SHARED_RESOURCE_CONV_ERROR, (ULONG_PTR)Resource, self, 0, 0);
    }
    /* The owner keeps OwnerEntry and its recursion count, now as a shared owner. */
    Resource->Flag &= (USHORT)~ResourceOwnedExclusive;
    if (Resource->NumberOfSharedWaiters != 0)
        ExpAdmitSharedWaiters(Resource, &wake);
    ExpUnlockResource(&h);
    ExpSignal(Resource, &wake);
}

VOID NTAPI ExSetResourceOwnerPointer(PERESOURCE Resource, PVOID OwnerPointer)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    ERESOURCE_THREAD pointer = (ERESOURCE_THREAD)OwnerPointer;
    KLOCK_QUEUE_HANDLE h;

    if ((pointer & 3) != 3)
        KeBugCheckEx(RESOURCE_OWNER_POINTER_INVALID, (ULONG_PTR)Resource, (ULONG_PTR)Resource->OwnerTable, self,
                     pointer);
    ExpLockResource(Resource, &h);
    POWNER_ENTRY mine = ExpFindOwner(Resource, self);
    if (mine == NULL) {
        ExpUnlockResource(&h);
        KeBugCheckEx(RESOURCE_NOT_OWNED, (ULONG_PTR)Resource, self, (ULONG_PTR)Resource->OwnerTable, 0);
    }
    POWNER_ENTRY theirs = (Resource->Flag & ResourceOwnedExclusive) ? NULL : ExpFindOwner(Resource, pointer);
    if (theirs != NULL) {
        /* The pointer already owns it shared: one owner with both counts. */
        theirs->OwnerCount += mine->OwnerCount;
        mine->OwnerThread = 0;
        mine->OwnerCount = 0;
        Resource->ActiveEntries--;
        Resource->ActiveCount--;
    } else {
        mine->OwnerThread = pointer;
    }
    ExpUnlockResource(&h);
    /* The lock-order checker moves the hold from this thread to the pointer
     * (which ExReleaseResourceForThreadLite will name). */
    arch_sched_point(ARCH_SP_MUTEX_RELEASE, Resource);
    arch_sched_point(ARCH_SP_LOCK_OWNER, (PVOID)pointer);
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, Resource);
}

/* ---- queries ----------------------------------------------------------------------------------- */

BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    BOOLEAN mine = (Resource->Flag & ResourceOwnedExclusive) && Resource->OwnerEntry.OwnerThread == self;
    ExpUnlockResource(&h);
    return mine;
}

ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource)
{
    ERESOURCE_THREAD self = ExGetCurrentResourceThread();
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    POWNER_ENTRY e = ExpFindOwner(Resource, self);
    ULONG count = e ? (ULONG)e->OwnerCount : 0;
    ExpUnlockResource(&h);
    return count;
}

ULONG NTAPI ExGetExclusiveWaiterCount(PERESOURCE Resource)
{
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    ULONG n = Resource->NumberOfExclusiveWaiters;
    ExpUnlockResource(&h);
    return n;
}

ULONG NTAPI ExGetSharedWaiterCount(PERESOURCE Resource)
{
    KLOCK_QUEUE_HANDLE h;
    ExpLockResource(Resource, &h);
    ULONG n = Resource->NumberOfSharedWaiters;
    ExpUnlockResource(&h);
    return n;
}
