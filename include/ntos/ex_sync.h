/*
 * Executive synchronization: fast mutexes, guarded mutexes, executive
 * resources (ERESOURCE), push locks and run-down protection, with the x64
 * layouts the WDK documents (pinned below) and the NTAPI entry points.
 *
 * Misuse that NT only catches under Driver Verifier or in checked builds is a
 * bug check here, always on. The codes and parameters (chosen where the bug
 * check pages leave it open) are listed once, below, and restated at the top of
 * each implementation file.
 */
#ifndef NTOS_EX_SYNC_H
#define NTOS_EX_SYNC_H

#include <ntos/ntdef.h>
#include <ntos/ntstatus.h>
#include <ntos/bugcodes.h>
#include <ntos/ke.h>

/* ---- bug checks used by the executive locks ---------------------------------------
 * Codes missing from bugcodes.h, with their documented values. */
#ifndef RESOURCE_NOT_OWNED
#define RESOURCE_NOT_OWNED 0x000000E3 /* resource, thread, owner table, 0 */
#endif
#ifndef RESOURCE_OWNER_POINTER_INVALID
#define RESOURCE_OWNER_POINTER_INVALID 0x00000132 /* resource, owner table, thread, owner pointer */
#endif
#ifndef FAST_ERESOURCE_PRECONDITION_VIOLATION
#define FAST_ERESOURCE_PRECONDITION_VIOLATION 0x000001C6
#endif

/*
 * DRIVER_VERIFIER_DETECTED_VIOLATION (0xC4) subcodes (parameter 1), from the
 * Verifier's deadlock-detection and pool-check families:
 *   0x1000 self-deadlock: a thread acquires again a lock it holds exclusively
 *          (fast mutex, guarded mutex, or a resource it holds shared and now
 *          wants exclusive). P2 = lock, P3 = thread, P4 = 0.
 *   0x1004 unexpected thread: a lock owned by another thread is released.
 *          P2 = lock, P3 = owning thread, P4 = releasing thread. Also a
 *          second ExWaitForRundownProtectionRelease while one is waiting
 *          (P3 = the first waiter's wait block).
 *   0x1007 unacquired: a lock that is not held is released (fast/guarded
 *          mutex, push lock, rundown reference). P2 = lock, P3 = thread (or
 *          the lock word for lock-free objects), P4 = 0.
 *   0x17   an ERESOURCE that is still owned or waited on is deleted or
 *          reinitialized ("freeing pool that contains an active ERESOURCE").
 *          P2 = resource, P3 = 0, P4 = resource.
 * Other codes:
 *   IRQL_NOT_LESS_OR_EQUAL (lock, current IRQL, 0, routine) when a lock routine
 *   is called above its documented maximum IRQL;
 *   IRQL_NOT_GREATER_OR_EQUAL (lock, current IRQL, APC_LEVEL, routine) when
 *   ExReleaseFastMutex runs below APC_LEVEL (e.g. releasing an unsafe acquire);
 *   FAST_ERESOURCE_PRECONDITION_VIOLATION (7, lock, 0, routine) — "the caller
 *   did not ensure normal kernel APCs were disabled" — when an ERESOURCE,
 *   push lock or *Unsafe mutex routine is called outside a critical region (or
 *   guarded region / APC_LEVEL where that is what the routine requires);
 *   RESOURCE_NOT_OWNED, RESOURCE_OWNER_POINTER_INVALID and
 *   SHARED_RESOURCE_CONV_ERROR (resource, thread, 0, 0) with their own pages'
 *   parameters.
 */
#define EX_VERIFIER_SELF_DEADLOCK 0x1000
#define EX_VERIFIER_UNEXPECTED_THREAD 0x1004
#define EX_VERIFIER_UNACQUIRED_RELEASE 0x1007
#define EX_VERIFIER_ACTIVE_RESOURCE_FREED 0x17
#define EX_PRECONDITION_APCS_NOT_DISABLED 7

/* ---- fast mutexes and guarded mutexes ------------------------------------------------ */

/*
 * Count: 1 = free, 0 = owned, -n = owned with n threads waiting (or about to).
 * Event is a synchronization event handed to exactly one waiter per contended
 * release. Owner is the KTHREAD holding it; OldIrql the IRQL that
 * ExReleaseFastMutex returns to.
 */
typedef struct _FAST_MUTEX {
    volatile LONG Count;
    PVOID Owner;
    ULONG Contention;
    KEVENT Event;
    ULONG OldIrql;
} FAST_MUTEX, *PFAST_MUTEX;
NTOS_ASSERT_SIZE(FAST_MUTEX, 0x38);
NTOS_ASSERT_OFFSET(FAST_MUTEX, Count, 0x00);
NTOS_ASSERT_OFFSET(FAST_MUTEX, Owner, 0x08);
NTOS_ASSERT_OFFSET(FAST_MUTEX, Contention, 0x10);
NTOS_ASSERT_OFFSET(FAST_MUTEX, Event, 0x18);
NTOS_ASSERT_OFFSET(FAST_MUTEX, OldIrql, 0x30);

/* Same shape as FAST_MUTEX on x64; the gate is a synchronization event here. */
typedef struct _KGUARDED_MUTEX {
    volatile LONG Count;
    PKTHREAD Owner;
    ULONG Contention;
    union {
        KEVENT Gate;
        KEVENT Event;
    };
    union {
        struct {
            SHORT KernelApcDisable;
            SHORT SpecialApcDisable;
        };
        ULONG CombinedApcDisable;
    };
} KGUARDED_MUTEX, *PKGUARDED_MUTEX;
NTOS_ASSERT_SIZE(KGUARDED_MUTEX, 0x38);
NTOS_ASSERT_OFFSET(KGUARDED_MUTEX, Owner, 0x08);
NTOS_ASSERT_OFFSET(KGUARDED_MUTEX, Contention, 0x10);
NTOS_ASSERT_OFFSET(KGUARDED_MUTEX, Gate, 0x18);
NTOS_ASSERT_OFFSET(KGUARDED_MUTEX, CombinedApcDisable, 0x30);

NTKERNELAPI VOID NTAPI ExInitializeFastMutex(PFAST_MUTEX FastMutex);
NTKERNELAPI VOID NTAPI ExAcquireFastMutex(PFAST_MUTEX FastMutex);
NTKERNELAPI VOID NTAPI ExReleaseFastMutex(PFAST_MUTEX FastMutex);
NTKERNELAPI BOOLEAN NTAPI ExTryToAcquireFastMutex(PFAST_MUTEX FastMutex);
NTKERNELAPI VOID NTAPI ExAcquireFastMutexUnsafe(PFAST_MUTEX FastMutex);
NTKERNELAPI VOID NTAPI ExReleaseFastMutexUnsafe(PFAST_MUTEX FastMutex);

NTKERNELAPI VOID NTAPI KeInitializeGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID NTAPI KeAcquireGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID NTAPI KeReleaseGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI BOOLEAN NTAPI KeTryToAcquireGuardedMutex(PKGUARDED_MUTEX Mutex);
NTKERNELAPI VOID NTAPI KeAcquireGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex);
NTKERNELAPI VOID NTAPI KeReleaseGuardedMutexUnsafe(PKGUARDED_MUTEX FastMutex);

/* ---- executive resources ------------------------------------------------------------ */

typedef ULONG_PTR ERESOURCE_THREAD, *PERESOURCE_THREAD;

/*
 * One owner of a resource and its recursion count. In OwnerTable[0] (the
 * table header) the second field is TableSize instead: the number of entries
 * including the header.
 */
typedef struct _OWNER_ENTRY {
    ERESOURCE_THREAD OwnerThread;
    union {
        LONG OwnerCount;
        ULONG TableSize;
    };
} OWNER_ENTRY, *POWNER_ENTRY;
NTOS_ASSERT_SIZE(OWNER_ENTRY, 0x10);
NTOS_ASSERT_OFFSET(OWNER_ENTRY, OwnerCount, 0x08);

typedef struct _ERESOURCE {
    LIST_ENTRY SystemResourcesList;
    POWNER_ENTRY OwnerTable;
    SHORT ActiveCount;
    union {
        USHORT Flag;
        struct {
            UCHAR ReservedLowFlags;
            UCHAR WaiterPriority;
        };
    };
    PKSEMAPHORE SharedWaiters;
    PKEVENT ExclusiveWaiters;
    OWNER_ENTRY OwnerEntry;
    ULONG ActiveEntries;
    ULONG ContentionCount;
    ULONG NumberOfSharedWaiters;
    ULONG NumberOfExclusiveWaiters;
    PVOID Reserved2;
    union {
        PVOID Address;
        ULONG_PTR CreatorBackTraceIndex;
    };
    KSPIN_LOCK SpinLock;
} ERESOURCE, *PERESOURCE;
NTOS_ASSERT_SIZE(ERESOURCE, 0x68);
NTOS_ASSERT_OFFSET(ERESOURCE, SystemResourcesList, 0x00);
NTOS_ASSERT_OFFSET(ERESOURCE, OwnerTable, 0x10);
NTOS_ASSERT_OFFSET(ERESOURCE, ActiveCount, 0x18);
NTOS_ASSERT_OFFSET(ERESOURCE, Flag, 0x1A);
NTOS_ASSERT_OFFSET(ERESOURCE, SharedWaiters, 0x20);
NTOS_ASSERT_OFFSET(ERESOURCE, ExclusiveWaiters, 0x28);
NTOS_ASSERT_OFFSET(ERESOURCE, OwnerEntry, 0x30);
NTOS_ASSERT_OFFSET(ERESOURCE, ActiveEntries, 0x40);
NTOS_ASSERT_OFFSET(ERESOURCE, ContentionCount, 0x44);
NTOS_ASSERT_OFFSET(ERESOURCE, NumberOfSharedWaiters, 0x48);
NTOS_ASSERT_OFFSET(ERESOURCE, NumberOfExclusiveWaiters, 0x4C);
NTOS_ASSERT_OFFSET(ERESOURCE, Reserved2, 0x50);
NTOS_ASSERT_OFFSET(ERESOURCE, Address, 0x58);
NTOS_ASSERT_OFFSET(ERESOURCE, SpinLock, 0x60);

/* ERESOURCE.Flag values (wdm.h). */
#define ResourceDisableBoost 0x08
#define ResourceNeverExclusive 0x10
#define ResourceReleaseByOtherThread 0x20
#define ResourceOwnedExclusive 0x80

#define RESOURCE_HASH_TABLE_SIZE 64
/* Pool tag of the resource's waiter objects and owner table ('Resr' in a pool dump). */
#define EX_RESOURCE_POOL_TAG 0x72736552

NTKERNELAPI NTSTATUS NTAPI ExInitializeResourceLite(PERESOURCE Resource);
NTKERNELAPI NTSTATUS NTAPI ExReinitializeResourceLite(PERESOURCE Resource);
NTKERNELAPI NTSTATUS NTAPI ExDeleteResourceLite(PERESOURCE Resource);
NTKERNELAPI BOOLEAN NTAPI ExAcquireResourceExclusiveLite(PERESOURCE Resource, BOOLEAN Wait);
NTKERNELAPI BOOLEAN NTAPI ExAcquireResourceSharedLite(PERESOURCE Resource, BOOLEAN Wait);
NTKERNELAPI BOOLEAN NTAPI ExAcquireSharedStarveExclusive(PERESOURCE Resource, BOOLEAN Wait);
NTKERNELAPI BOOLEAN NTAPI ExAcquireSharedWaitForExclusive(PERESOURCE Resource, BOOLEAN Wait);
NTKERNELAPI VOID NTAPI ExReleaseResourceLite(PERESOURCE Resource);
NTKERNELAPI VOID NTAPI ExReleaseResourceForThreadLite(PERESOURCE Resource, ERESOURCE_THREAD ResourceThreadId);
NTKERNELAPI VOID NTAPI ExConvertExclusiveToSharedLite(PERESOURCE Resource);
NTKERNELAPI BOOLEAN NTAPI ExIsResourceAcquiredExclusiveLite(PERESOURCE Resource);
NTKERNELAPI ULONG NTAPI ExIsResourceAcquiredSharedLite(PERESOURCE Resource);
NTKERNELAPI ULONG NTAPI ExGetExclusiveWaiterCount(PERESOURCE Resource);
NTKERNELAPI ULONG NTAPI ExGetSharedWaiterCount(PERESOURCE Resource);
NTKERNELAPI VOID NTAPI ExSetResourceOwnerPointer(PERESOURCE Resource, PVOID OwnerPointer);
#define ExGetCurrentResourceThread() ((ERESOURCE_THREAD)KeGetCurrentThread())
#define ExIsResourceAcquiredLite ExIsResourceAcquiredSharedLite

/* ---- push locks --------------------------------------------------------------------- */

/*
 * A pointer-sized lock word. ntos encodes it as: bit 0 held exclusive, bit 1
 * waiters may be blocked on this lock, bits 2.. the number of shared holders.
 * Zero is an unlocked push lock; drivers treat the word as opaque.
 */
typedef struct _EX_PUSH_LOCK {
    union {
        volatile ULONG_PTR Value;
        PVOID Ptr;
    };
} EX_PUSH_LOCK, *PEX_PUSH_LOCK;
NTOS_ASSERT_SIZE(EX_PUSH_LOCK, sizeof(PVOID));

#define EX_DEFAULT_PUSH_LOCK_FLAGS 0

NTKERNELAPI VOID NTAPI ExInitializePushLock(PEX_PUSH_LOCK PushLock);
NTKERNELAPI VOID NTAPI ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI VOID NTAPI ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI VOID NTAPI ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI VOID NTAPI ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI VOID NTAPI ExReleasePushLockEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI BOOLEAN NTAPI ExTryAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
NTKERNELAPI BOOLEAN NTAPI ExTryAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags);
/* The older names (no Flags). */
NTKERNELAPI VOID NTAPI ExAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock);
NTKERNELAPI VOID NTAPI ExAcquirePushLockShared(PEX_PUSH_LOCK PushLock);
NTKERNELAPI VOID NTAPI ExReleasePushLockExclusive(PEX_PUSH_LOCK PushLock);
NTKERNELAPI VOID NTAPI ExReleasePushLockShared(PEX_PUSH_LOCK PushLock);
NTKERNELAPI VOID NTAPI ExReleasePushLock(PEX_PUSH_LOCK PushLock);
NTKERNELAPI BOOLEAN NTAPI ExTryToAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock);
NTKERNELAPI BOOLEAN NTAPI ExTryToAcquirePushLockShared(PEX_PUSH_LOCK PushLock);

/* ---- run-down protection ------------------------------------------------------------ */

/*
 * Count: references * 2 while the object is live. Once a run-down starts bit 0
 * (EX_RUNDOWN_ACTIVE) is set and the rest is either zero (run down, no waiter)
 * or the address of the waiter's block, which carries the references still out.
 */
typedef struct _EX_RUNDOWN_REF {
    union {
        volatile ULONG_PTR Count;
        PVOID Ptr;
    };
} EX_RUNDOWN_REF, *PEX_RUNDOWN_REF;
NTOS_ASSERT_SIZE(EX_RUNDOWN_REF, sizeof(PVOID));

#define EX_RUNDOWN_ACTIVE 0x1
#define EX_RUNDOWN_COUNT_SHIFT 0x1
#define EX_RUNDOWN_COUNT_INC (1 << EX_RUNDOWN_COUNT_SHIFT)

NTKERNELAPI VOID NTAPI ExInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
NTKERNELAPI VOID NTAPI ExReInitializeRundownProtection(PEX_RUNDOWN_REF RunRef);
NTKERNELAPI BOOLEAN NTAPI ExAcquireRundownProtection(PEX_RUNDOWN_REF RunRef);
NTKERNELAPI BOOLEAN NTAPI ExAcquireRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
NTKERNELAPI VOID NTAPI ExReleaseRundownProtection(PEX_RUNDOWN_REF RunRef);
NTKERNELAPI VOID NTAPI ExReleaseRundownProtectionEx(PEX_RUNDOWN_REF RunRef, ULONG Count);
NTKERNELAPI VOID NTAPI ExWaitForRundownProtectionRelease(PEX_RUNDOWN_REF RunRef);
NTKERNELAPI VOID NTAPI ExRundownCompleted(PEX_RUNDOWN_REF RunRef);

#endif /* NTOS_EX_SYNC_H */
