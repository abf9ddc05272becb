/*
 * Push locks.
 *
 * Locking and IRQL rules
 *  - Callers run at IRQL <= APC_LEVEL with normal kernel APCs disabled (a
 *    critical or guarded region, or APC_LEVEL), as NT documents: a push lock
 *    has no owner, so a holder suspended by an APC would block everyone.
 *    Acquiring otherwise stops with FAST_ERESOURCE_PRECONDITION_VIOLATION (7,
 *    lock, 0, routine); above APC_LEVEL with IRQL_NOT_LESS_OR_EQUAL (lock,
 *    IRQL, 0, routine). Releases may run at <= DISPATCH_LEVEL.
 *  - The lock word (changed only by compare-exchange): bit 0 EXCLUSIVE, bit 1
 *    WAITERS, bits 2.. the shared count. An exclusive acquire succeeds when
 *    there is no holder; a shared one when there is no exclusive holder and no
 *    WAITERS bit, so a waiting writer holds off new readers (no writer
 *    starvation). Neither is fair beyond that: a woken thread retries against
 *    newcomers.
 *  - Waiters sleep in a global table of wait queues keyed by the lock's
 *    address, each with its own spin lock; a waiter's block (a KEVENT and a
 *    list link) is on its own stack. The WAITERS bit is set only with the
 *    queue's lock held and only on a word that still shows a holder or a
 *    WAITERS bit, i.e. a holder who has yet to release, or a releaser who has
 *    already committed to waking. The release that leaves the lock without
 *    holders while WAITERS is set takes the queue lock, clears the bit and
 *    wakes every waiter of that lock, which all retry. Because enqueuing and
 *    the clear both happen under the queue lock, a waiter is either woken by
 *    that releaser or sees the bit clear and sets it again for the next one:
 *    no wake-up is lost. Spurious wake-ups are harmless (waiters retry).
 *  - Woken blocks are unlinked under the queue lock and signaled after it is
 *    dropped, and the waker reads nothing from a block after signaling it (the
 *    waiter may return and reuse its stack at once).
 *  - There is no owner, so recursive acquisition cannot be detected (it
 *    deadlocks, as in NT). Releasing a lock that is not held in the named
 *    mode stops with DRIVER_VERIFIER_DETECTED_VIOLATION (0x1007, lock, lock
 *    word, 0).
 */
#include <ntos/ex_sync.h>
#include <ntos/list.h>

#define PL_EXCLUSIVE ((ULONG_PTR)1)
#define PL_WAITERS ((ULONG_PTR)2)
#define PL_SHARE_INC ((ULONG_PTR)4)
#define PL_SHARE_MASK (~(ULONG_PTR)3)

#define PL_QUEUE_COUNT 64 /* power of two */

typedef struct _EXP_PUSH_LOCK_WAIT_BLOCK {
    LIST_ENTRY Link;
    PEX_PUSH_LOCK Lock;
    KEVENT Event;
} EXP_PUSH_LOCK_WAIT_BLOCK, *PEXP_PUSH_LOCK_WAIT_BLOCK;

typedef struct _EXP_PUSH_LOCK_QUEUE {
    KSPIN_LOCK Lock;
    LIST_ENTRY Waiters;
} EXP_PUSH_LOCK_QUEUE;

static EXP_PUSH_LOCK_QUEUE ExpPushLockQueues[PL_QUEUE_COUNT];
static volatile LONG ExpPushLockQueuesReady; /* 0 none, 1 initializing, 2 ready */

static void ExpInitializeQueues(void)
{
    LONG state = __atomic_load_n(&ExpPushLockQueuesReady, __ATOMIC_ACQUIRE);
    if (state == 2)
        return;
    LONG expected = 0;
    if (__atomic_compare_exchange_n(&ExpPushLockQueuesReady, &expected, 1, FALSE, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        for (ULONG i = 0; i < PL_QUEUE_COUNT; i++) {
            KeInitializeSpinLock(&ExpPushLockQueues[i].Lock);
            InitializeListHead(&ExpPushLockQueues[i].Waiters);
        }
        __atomic_store_n(&ExpPushLockQueuesReady, 2, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&ExpPushLockQueuesReady, __ATOMIC_ACQUIRE) != 2)
        arch_pause();
}

static EXP_PUSH_LOCK_QUEUE *ExpQueueFor(PEX_PUSH_LOCK PushLock)
{
    ULONG_PTR a = (ULONG_PTR)PushLock;
    ULONG_PTR h = (a >> 3) ^ (a >> 9) ^ (a >> 15);
    ExpInitializeQueues();
    return &ExpPushLockQueues[h & (PL_QUEUE_COUNT - 1)];
}

static void ExpCheckAcquireContext(PEX_PUSH_LOCK PushLock, PVOID Routine)
{
    KIRQL irql = KeGetCurrentIrql();
    if (irql > APC_LEVEL)
        KeBugCheckEx(IRQL_NOT_LESS_OR_EQUAL, (ULONG_PTR)PushLock, irql, 0, (ULONG_PTR)Routine);
    if (irql < APC_LEVEL && !KeAreApcsDisabled())
        KeBugCheckEx(FAST_ERESOURCE_PRECONDITION_VIOLATION, EX_PRECONDITION_APCS_NOT_DISABLED,
                     (ULONG_PTR)PushLock, 0, (ULONG_PTR)Routine);
}

static BOOLEAN ExpCanAcquire(ULONG_PTR Value, BOOLEAN Exclusive)
{
    if (Exclusive)
        return (Value & (PL_EXCLUSIVE | PL_SHARE_MASK)) == 0;
    return (Value & (PL_EXCLUSIVE | PL_WAITERS)) == 0;
}

static BOOLEAN ExpTryAcquire(PEX_PUSH_LOCK PushLock, BOOLEAN Exclusive)
{
    ULONG_PTR v = __atomic_load_n(&PushLock->Value, __ATOMIC_RELAXED);
    while (ExpCanAcquire(v, Exclusive)) {
        ULONG_PTR n = Exclusive ? (v | PL_EXCLUSIVE) : (v + PL_SHARE_INC);
        if (__atomic_compare_exchange_n(&PushLock->Value, &v, n, TRUE, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
            return TRUE;
    }
    return FALSE;
}

/*
 * Blocks until the lock might be acquirable. Returns at once if the word
 * already allows the acquire.
 */
static void ExpWaitForPushLock(PEX_PUSH_LOCK PushLock, BOOLEAN Exclusive)
{
    EXP_PUSH_LOCK_QUEUE *q = ExpQueueFor(PushLock);
    EXP_PUSH_LOCK_WAIT_BLOCK wb;
    KLOCK_QUEUE_HANDLE h;

    wb.Lock = PushLock;
    KeInitializeEvent(&wb.Event, NotificationEvent, FALSE);
    KeAcquireInStackQueuedSpinLock(&q->Lock, &h);
    ULONG_PTR v = __atomic_load_n(&PushLock->Value, __ATOMIC_RELAXED);
    for (;;) {
        if (ExpCanAcquire(v, Exclusive)) {
            KeReleaseInStackQueuedSpinLock(&h);
            return;
        }
        if (v & PL_WAITERS)
            break;
        if (__atomic_compare_exchange_n(&PushLock->Value, &v, v | PL_WAITERS, TRUE, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED))
            break;
    }
    InsertTailList(&q->Waiters, &wb.Link);
    KeReleaseInStackQueuedSpinLock(&h);
    KeWaitForSingleObject(&wb.Event, WrPushLock, KernelMode, FALSE, NULL);
}

static void ExpWakePushLock(PEX_PUSH_LOCK PushLock)
{
    EXP_PUSH_LOCK_QUEUE *q = ExpQueueFor(PushLock);
    LIST_ENTRY woken;
    KLOCK_QUEUE_HANDLE h;

    InitializeListHead(&woken);
    KeAcquireInStackQueuedSpinLock(&q->Lock, &h);
    __atomic_fetch_and(&PushLock->Value, ~PL_WAITERS, __ATOMIC_RELAXED);
    PLIST_ENTRY e = q->Waiters.Flink;
    while (e != &q->Waiters) {
        PEXP_PUSH_LOCK_WAIT_BLOCK wb = CONTAINING_RECORD(e, EXP_PUSH_LOCK_WAIT_BLOCK, Link);
        e = e->Flink;
        if (wb->Lock == PushLock) {
            RemoveEntryList(&wb->Link);
            InsertTailList(&woken, &wb->Link);
        }
    }
    KeReleaseInStackQueuedSpinLock(&h);
    e = woken.Flink;
    while (e != &woken) {
        PEXP_PUSH_LOCK_WAIT_BLOCK wb = CONTAINING_RECORD(e, EXP_PUSH_LOCK_WAIT_BLOCK, Link);
        e = e->Flink; /* before the set: the block may vanish right after it */
        KeSetEvent(&wb->Event, 0, FALSE);
    }
}

static void ExpAcquirePushLock(PEX_PUSH_LOCK PushLock, BOOLEAN Exclusive, PVOID Routine)
{
    ExpCheckAcquireContext(PushLock, Routine);
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRE, PushLock);
    while (!ExpTryAcquire(PushLock, Exclusive))
        ExpWaitForPushLock(PushLock, Exclusive);
    arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, PushLock);
}

static void ExpReleasePushLockMode(PEX_PUSH_LOCK PushLock, BOOLEAN Exclusive)
{
    arch_sched_point(ARCH_SP_MUTEX_RELEASE, PushLock);
    ULONG_PTR v = __atomic_load_n(&PushLock->Value, __ATOMIC_RELAXED);
    ULONG_PTR n;
    for (;;) {
        if (Exclusive) {
            if (!(v & PL_EXCLUSIVE))
                break;
            n = v & ~PL_EXCLUSIVE;
        } else {
            if ((v & PL_EXCLUSIVE) || (v & PL_SHARE_MASK) == 0)
                break;
            n = v - PL_SHARE_INC;
        }
        if (__atomic_compare_exchange_n(&PushLock->Value, &v, n, TRUE, __ATOMIC_RELEASE, __ATOMIC_RELAXED)) {
            if ((n & (PL_EXCLUSIVE | PL_SHARE_MASK)) == 0 && (n & PL_WAITERS))
                ExpWakePushLock(PushLock);
            return;
        }
    }
    KeBugCheckEx(DRIVER_VERIFIER_DETECTED_VIOLATION, EX_VERIFIER_UNACQUIRED_RELEASE, (ULONG_PTR)PushLock, v, 0);
}

VOID NTAPI ExInitializePushLock(PEX_PUSH_LOCK PushLock)
{
    __atomic_store_n(&PushLock->Value, 0, __ATOMIC_RELEASE);
}

VOID NTAPI ExAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpAcquirePushLock(PushLock, TRUE, (PVOID)ExAcquirePushLockExclusiveEx);
}

VOID NTAPI ExAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpAcquirePushLock(PushLock, FALSE, (PVOID)ExAcquirePushLockSharedEx);
}

/* Try-acquires: a scheduling point without a lock-order edge (they cannot
 * block), and the lock recorded as held when they get it. */
static BOOLEAN ExpTryAcquireChecked(PEX_PUSH_LOCK PushLock, BOOLEAN Exclusive)
{
    arch_sched_point(ARCH_SP_LOCK_TRY, PushLock);
    BOOLEAN got = ExpTryAcquire(PushLock, Exclusive);
    if (got)
        arch_sched_point(ARCH_SP_MUTEX_ACQUIRED, PushLock);
    return got;
}

BOOLEAN NTAPI ExTryAcquirePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpCheckAcquireContext(PushLock, (PVOID)ExTryAcquirePushLockExclusiveEx);
    return ExpTryAcquireChecked(PushLock, TRUE);
}

BOOLEAN NTAPI ExTryAcquirePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpCheckAcquireContext(PushLock, (PVOID)ExTryAcquirePushLockSharedEx);
    return ExpTryAcquireChecked(PushLock, FALSE);
}

VOID NTAPI ExReleasePushLockExclusiveEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpReleasePushLockMode(PushLock, TRUE);
}

VOID NTAPI ExReleasePushLockSharedEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    ExpReleasePushLockMode(PushLock, FALSE);
}

VOID NTAPI ExReleasePushLockEx(PEX_PUSH_LOCK PushLock, ULONG Flags)
{
    /* The caller holds it, so the mode cannot change under us. */
    ULONG_PTR v = __atomic_load_n(&PushLock->Value, __ATOMIC_RELAXED);
    ExpReleasePushLockMode(PushLock, (v & PL_EXCLUSIVE) != 0);
}

VOID NTAPI ExAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock)
{
    ExpAcquirePushLock(PushLock, TRUE, (PVOID)ExAcquirePushLockExclusive);
}

VOID NTAPI ExAcquirePushLockShared(PEX_PUSH_LOCK PushLock)
{
    ExpAcquirePushLock(PushLock, FALSE, (PVOID)ExAcquirePushLockShared);
}

VOID NTAPI ExReleasePushLockExclusive(PEX_PUSH_LOCK PushLock)
{
    ExpReleasePushLockMode(PushLock, TRUE);
}

VOID NTAPI ExReleasePushLockShared(PEX_PUSH_LOCK PushLock)
{
    ExpReleasePushLockMode(PushLock, FALSE);
}

VOID NTAPI ExReleasePushLock(PEX_PUSH_LOCK PushLock)
{
    ExReleasePushLockEx(PushLock, 0);
}

BOOLEAN NTAPI ExTryToAcquirePushLockExclusive(PEX_PUSH_LOCK PushLock)
{
    ExpCheckAcquireContext(PushLock, (PVOID)ExTryToAcquirePushLockExclusive);
    return ExpTryAcquireChecked(PushLock, TRUE);
}

BOOLEAN NTAPI ExTryToAcquirePushLockShared(PEX_PUSH_LOCK PushLock)
{
    ExpCheckAcquireContext(PushLock, (PVOID)ExTryToAcquirePushLockShared);
    return ExpTryAcquireChecked(PushLock, FALSE);
}
