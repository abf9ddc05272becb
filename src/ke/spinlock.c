/*
 * Spin locks: ordinary (KeAcquireSpinLock and friends), in-stack queued, and
 * the raw primitives the dispatcher lock is built on.
 *
 * Locking and IRQL rules
 *  - A checked spin lock is held at IRQL >= DISPATCH_LEVEL, so its holder is
 *    never switched away or moved to another processor while holding it. The
 *    acquire entry points raise as documented: ...RaiseToDpc/KfAcquire and the
 *    in-stack acquire raise to DISPATCH_LEVEL (and bug-check through
 *    KfRaiseIrql above it); ...AtDpcLevel requires IRQL >= DISPATCH_LEVEL and
 *    stops with IRQL_NOT_GREATER_OR_EQUAL (current IRQL, DISPATCH_LEVEL, lock)
 *    otherwise; ...ForDpc raises only when below DISPATCH_LEVEL and accepts any
 *    IRQL above it unchanged.
 *  - Releases lower through KeLowerIrql, so "releasing" to a higher IRQL than
 *    the current one stops with its IRQL_NOT_GREATER_OR_EQUAL.
 *  - The Ki*Raw primitives check nothing and leave IRQL to the caller: the
 *    dispatcher lock is acquired by one thread and released by whichever thread
 *    the processor switches to, so no owner rule can hold for it.
 *
 * Lock word
 *  - 0: free.
 *  - bit 0 set: held as an ordinary spin lock; the rest is the owner, the
 *    current KTHREAD or, before this processor has threads, its KPCR.
 *  - otherwise: held as a queued spin lock; the value is the KSPIN_LOCK_QUEUE
 *    at the tail of the MCS queue (entries are pointer aligned, so bit 0 is
 *    clear). This is how NT's x64 in-stack queued locks use the word; a
 *    KSPIN_LOCK_QUEUE's Lock field holds the lock address with the
 *    LOCK_QUEUE_WAIT / LOCK_QUEUE_OWNER flags in its low bits.
 *  The documentation forbids mixing the two kinds on one lock; here it would
 *  still exclude (each kind waits for the word to leave the other's states),
 *  but without FIFO order between the kinds.
 *
 * Ownership checks (always on)
 *  - Ordinary locks: the owner is in the word. Acquiring a lock the caller
 *    already owns stops with SPIN_LOCK_ALREADY_OWNED, releasing one it does not
 *    own (free, or another owner's) with SPIN_LOCK_NOT_OWNED.
 *  - Queued locks: the word names the last waiter, not the owner, so each
 *    processor records the queue entries it currently owns (KiQueuedHeld).
 *    That is exact because the holder stays at DISPATCH_LEVEL or above on its
 *    processor. A queue entry is the owner while its LOCK_QUEUE_OWNER flag is
 *    set, so releasing a handle twice or one never acquired is caught from the
 *    handle alone.
 *  - Parameters (the bug check pages document none): 1 = the lock, 2 = the lock
 *    word (for a queued release, the entry's Lock field), 3 = the caller's owner
 *    value, 4 = the queue entry for queued operations, else 0.
 *
 * Host note: every wait loop calls arch_pause on each iteration. On the host it
 * is an interruptible point, and in virtual time it is where another virtual
 * CPU, perhaps the lock holder, gets to run.
 */
#include "ki.h"

#define KI_LOCK_ORDINARY 1
#define LOCK_QUEUE_WAIT 1
#define LOCK_QUEUE_OWNER 2
#define KI_QUEUE_FLAGS (LOCK_QUEUE_WAIT | LOCK_QUEUE_OWNER)

/*
 * Queue entries owned per processor. Only the processor itself touches its
 * slot, at DISPATCH_LEVEL or above, but an interrupt on the same processor may
 * acquire and release queued locks in the middle of an update; the update
 * orders (count before slot on push, slot before count on pop, free slots kept
 * NULL) keep every state such an interrupt can observe meaningful.
 */
#define KI_QUEUED_HELD_MAX 16
typedef struct _KI_QUEUED_HELD {
    volatile ULONG Count;
    volatile ULONG Untracked; /* pushed while full: released without a check */
    PKSPIN_LOCK_QUEUE volatile Entry[KI_QUEUED_HELD_MAX];
} KI_QUEUED_HELD;

static KI_QUEUED_HELD KiQueuedHeld[ARCH_MAX_CPUS];

static ULONG_PTR KiOwnerValue(void)
{
    PVOID owner = KeGetCurrentThread();
    if (owner == NULL)
        owner = KeGetPcr();
    return (ULONG_PTR)owner | KI_LOCK_ORDINARY;
}

static ULONG_PTR KiLoadWord(PKSPIN_LOCK SpinLock)
{
    return __atomic_load_n(SpinLock, __ATOMIC_RELAXED);
}

static void KiRequireDispatchLevel(PKSPIN_LOCK SpinLock)
{
    KIRQL irql = arch_get_irql();
    if (irql < DISPATCH_LEVEL)
        KeBugCheckEx(IRQL_NOT_GREATER_OR_EQUAL, irql, DISPATCH_LEVEL, (ULONG_PTR)SpinLock, 0);
}

/* ---- per-processor record of owned queue entries ---------------------------------- */

static KI_QUEUED_HELD *KiHeldSlot(void)
{
    return &KiQueuedHeld[KeGetCurrentProcessorIndex()];
}

static ULONG_PTR KiEntryLockField(PKSPIN_LOCK_QUEUE Entry)
{
    return (ULONG_PTR)__atomic_load_n(&Entry->Lock, __ATOMIC_RELAXED);
}

static BOOLEAN KiQueuedHeldHere(PKSPIN_LOCK SpinLock)
{
    KI_QUEUED_HELD *held = KiHeldSlot();
    ULONG count = held->Count;
    if (count > KI_QUEUED_HELD_MAX)
        count = KI_QUEUED_HELD_MAX;
    for (ULONG i = 0; i < count; i++) {
        PKSPIN_LOCK_QUEUE e = held->Entry[i];
        if (e != NULL && (KiEntryLockField(e) & ~(ULONG_PTR)KI_QUEUE_FLAGS) == (ULONG_PTR)SpinLock)
            return TRUE;
    }
    return FALSE;
}

static void KiQueuedHeldPush(PKSPIN_LOCK_QUEUE Entry)
{
    KI_QUEUED_HELD *held = KiHeldSlot();
    ULONG slot = held->Count;
    if (slot >= KI_QUEUED_HELD_MAX) {
        held->Untracked++;
        return;
    }
    held->Count = slot + 1;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    held->Entry[slot] = Entry;
}

static BOOLEAN KiQueuedHeldPop(PKSPIN_LOCK_QUEUE Entry)
{
    KI_QUEUED_HELD *held = KiHeldSlot();
    ULONG count = held->Count;
    for (ULONG i = 0; i < count; i++) {
        if (held->Entry[i] != Entry)
            continue;
        ULONG top = count - 1;
        held->Entry[i] = held->Entry[top];
        held->Entry[top] = NULL;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        held->Count = top;
        return TRUE;
    }
    if (held->Untracked != 0) {
        held->Untracked--;
        return TRUE;
    }
    return FALSE;
}

/* ---- the two lock disciplines, without checks ------------------------------------- */

/* Test-and-test-and-set: the CAS is only attempted when the word looks free,
 * so waiters spin on a shared cache line instead of bouncing it. */
static void KiSpinAcquire(PKSPIN_LOCK SpinLock, ULONG_PTR Owner)
{
    for (;;) {
        ULONG_PTR expected = 0;
        if (KiLoadWord(SpinLock) == 0 &&
            __atomic_compare_exchange_n(SpinLock, &expected, Owner, FALSE, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED))
            return;
        arch_pause();
    }
}

static BOOLEAN KiSpinTryAcquire(PKSPIN_LOCK SpinLock, ULONG_PTR Owner)
{
    ULONG_PTR expected = 0;
    return KiLoadWord(SpinLock) == 0 &&
           __atomic_compare_exchange_n(SpinLock, &expected, Owner, FALSE, __ATOMIC_ACQUIRE,
                                       __ATOMIC_RELAXED);
}

/*
 * Joins the MCS queue of SpinLock with LockQueue, without ownership checks.
 * Returns TRUE when the lock was free and LockQueue owns it now; otherwise the
 * entry waits behind its predecessor (KiWaitQueuedSpinLock). Split from the
 * wait so that tests can queue several waiters on one processor and check the
 * FIFO hand-off deterministically. IRQL >= DISPATCH_LEVEL.
 */
BOOLEAN KiEnqueueQueuedSpinLock(PKSPIN_LOCK SpinLock, PKSPIN_LOCK_QUEUE LockQueue)
{
    __atomic_store_n(&LockQueue->Next, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&LockQueue->Lock, (PKSPIN_LOCK)((ULONG_PTR)SpinLock | LOCK_QUEUE_WAIT),
                     __ATOMIC_RELAXED);

    /* A compare-exchange rather than the textbook exchange: an ordinary holder's
     * word must not be taken for a predecessor entry. */
    ULONG_PTR tail = KiLoadWord(SpinLock);
    for (;;) {
        if (tail & KI_LOCK_ORDINARY) {
            arch_pause();
            tail = KiLoadWord(SpinLock);
            continue;
        }
        if (__atomic_compare_exchange_n(SpinLock, &tail, (ULONG_PTR)LockQueue, TRUE, __ATOMIC_ACQ_REL,
                                        __ATOMIC_RELAXED))
            break;
    }

    if (tail == 0) {
        __atomic_store_n(&LockQueue->Lock, (PKSPIN_LOCK)((ULONG_PTR)SpinLock | LOCK_QUEUE_OWNER),
                         __ATOMIC_RELAXED);
        return TRUE;
    }
    PKSPIN_LOCK_QUEUE predecessor = (PKSPIN_LOCK_QUEUE)tail;
    __atomic_store_n(&predecessor->Next, LockQueue, __ATOMIC_RELEASE);
    return FALSE;
}

/* Waits until the predecessor hands the lock over, then records the entry as
 * owned by this processor. IRQL >= DISPATCH_LEVEL. */
VOID KiWaitQueuedSpinLock(PKSPIN_LOCK_QUEUE LockQueue)
{
    while ((ULONG_PTR)__atomic_load_n(&LockQueue->Lock, __ATOMIC_ACQUIRE) & LOCK_QUEUE_WAIT)
        arch_pause();
    KiQueuedHeldPush(LockQueue);
}

static void KiQueuedRelease(PKSPIN_LOCK SpinLock, PKSPIN_LOCK_QUEUE LockQueue)
{
    __atomic_store_n(&LockQueue->Lock, SpinLock, __ATOMIC_RELAXED);
    PKSPIN_LOCK_QUEUE next = __atomic_load_n(&LockQueue->Next, __ATOMIC_ACQUIRE);
    if (next == NULL) {
        ULONG_PTR expected = (ULONG_PTR)LockQueue;
        if (__atomic_compare_exchange_n(SpinLock, &expected, 0, FALSE, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
            return;
        /* A waiter swapped itself in as the tail but has not linked itself
         * behind this entry yet; it is about to. */
        while ((next = __atomic_load_n(&LockQueue->Next, __ATOMIC_ACQUIRE)) == NULL)
            arch_pause();
    }
    __atomic_store_n(&next->Lock, (PKSPIN_LOCK)((ULONG_PTR)SpinLock | LOCK_QUEUE_OWNER), __ATOMIC_RELEASE);
}

/* ---- checked operations ------------------------------------------------------------ */

static void KiCheckNotOwned(PKSPIN_LOCK SpinLock, ULONG_PTR Owner, PKSPIN_LOCK_QUEUE LockQueue)
{
    ULONG_PTR word = KiLoadWord(SpinLock);
    if (word == Owner || (word != 0 && !(word & KI_LOCK_ORDINARY) && KiQueuedHeldHere(SpinLock)))
        KeBugCheckEx(SPIN_LOCK_ALREADY_OWNED, (ULONG_PTR)SpinLock, word, Owner, (ULONG_PTR)LockQueue);
}

static void KiAcquireChecked(PKSPIN_LOCK SpinLock)
{
    ULONG_PTR owner = KiOwnerValue();
    KiCheckNotOwned(SpinLock, owner, NULL);
    arch_sched_point(ARCH_SP_SPIN_ACQUIRE, SpinLock);
    KiSpinAcquire(SpinLock, owner);
    arch_sched_point(ARCH_SP_SPIN_ACQUIRED, SpinLock);
}

static void KiReleaseChecked(PKSPIN_LOCK SpinLock)
{
    ULONG_PTR owner = KiOwnerValue();
    ULONG_PTR word = KiLoadWord(SpinLock);
    if (word != owner)
        KeBugCheckEx(SPIN_LOCK_NOT_OWNED, (ULONG_PTR)SpinLock, word, owner, 0);
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
    arch_sched_point(ARCH_SP_SPIN_RELEASE, SpinLock);
}

static void KiAcquireQueuedChecked(PKSPIN_LOCK SpinLock, PKSPIN_LOCK_QUEUE LockQueue)
{
    KiCheckNotOwned(SpinLock, KiOwnerValue(), LockQueue);
    arch_sched_point(ARCH_SP_SPIN_ACQUIRE, SpinLock);
    KiEnqueueQueuedSpinLock(SpinLock, LockQueue);
    KiWaitQueuedSpinLock(LockQueue);
    arch_sched_point(ARCH_SP_SPIN_ACQUIRED, SpinLock);
}

static void KiReleaseQueuedChecked(PKSPIN_LOCK_QUEUE LockQueue)
{
    ULONG_PTR field = KiEntryLockField(LockQueue);
    PKSPIN_LOCK lock = (PKSPIN_LOCK)(field & ~(ULONG_PTR)KI_QUEUE_FLAGS);
    /* The owner flag is checked first so that a handle never acquired (or
     * already released) is not looked up, nor its lock pointer followed. */
    if (!(field & LOCK_QUEUE_OWNER) || !KiQueuedHeldPop(LockQueue))
        KeBugCheckEx(SPIN_LOCK_NOT_OWNED, (ULONG_PTR)lock, field, KiOwnerValue(), (ULONG_PTR)LockQueue);
    KiQueuedRelease(lock, LockQueue);
    arch_sched_point(ARCH_SP_SPIN_RELEASE, lock);
}

/* ---- raw primitives (ki.h) ----------------------------------------------------------- */

/* The owner value is stored for the debugger's benefit only; it goes stale
 * when the lock is handed to another thread. */
VOID KiAcquireSpinLockRaw(PKSPIN_LOCK SpinLock)
{
    arch_sched_point(ARCH_SP_RAW_ACQUIRE, SpinLock);
    KiSpinAcquire(SpinLock, KiOwnerValue());
}

VOID KiReleaseSpinLockRaw(PKSPIN_LOCK SpinLock)
{
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELEASE);
    arch_sched_point(ARCH_SP_RAW_RELEASE, SpinLock);
}

BOOLEAN KiTryAcquireSpinLockRaw(PKSPIN_LOCK SpinLock)
{
    return KiSpinTryAcquire(SpinLock, KiOwnerValue());
}

/* ---- ordinary spin locks ------------------------------------------------------------- */

VOID NTAPI KeInitializeSpinLock(PKSPIN_LOCK SpinLock)
{
    __atomic_store_n(SpinLock, 0, __ATOMIC_RELAXED);
}

/* Callers poll with this before trying to acquire, so a busy answer pauses:
 * on the host that lets the holder's virtual CPU run. */
BOOLEAN NTAPI KeTestSpinLock(PKSPIN_LOCK SpinLock)
{
    if (KiLoadWord(SpinLock) != 0) {
        arch_pause();
        return FALSE;
    }
    return TRUE;
}

KIRQL NTAPI KeAcquireSpinLockRaiseToDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL old = KfRaiseIrql(DISPATCH_LEVEL);
    KiAcquireChecked(SpinLock);
    return old;
}

VOID NTAPI KeReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KiReleaseChecked(SpinLock);
    KeLowerIrql(NewIrql);
}

VOID NTAPI KeAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KiRequireDispatchLevel(SpinLock);
    KiAcquireChecked(SpinLock);
}

VOID NTAPI KeReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    KiRequireDispatchLevel(SpinLock);
    KiReleaseChecked(SpinLock);
}

/* A lock the caller already owns is a recursion bug even for a try: answering
 * FALSE would hide it behind a retry loop that can never succeed. */
BOOLEAN NTAPI KeTryToAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KiRequireDispatchLevel(SpinLock);
    ULONG_PTR owner = KiOwnerValue();
    KiCheckNotOwned(SpinLock, owner, NULL);
    /* Held if got (the lock-order checker), but no order edge: it cannot spin. */
    arch_sched_point(ARCH_SP_LOCK_TRY, SpinLock);
    BOOLEAN got = KiSpinTryAcquire(SpinLock, owner);
    if (got)
        arch_sched_point(ARCH_SP_SPIN_ACQUIRED, SpinLock);
    return got;
}

KIRQL NTAPI KfAcquireSpinLock(PKSPIN_LOCK SpinLock)
{
    return KeAcquireSpinLockRaiseToDpc(SpinLock);
}

VOID NTAPI KfReleaseSpinLock(PKSPIN_LOCK SpinLock, KIRQL NewIrql)
{
    KeReleaseSpinLock(SpinLock, NewIrql);
}

VOID NTAPI KefAcquireSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock)
{
    KeAcquireSpinLockAtDpcLevel(SpinLock);
}

VOID NTAPI KefReleaseSpinLockFromDpcLevel(PKSPIN_LOCK SpinLock)
{
    KeReleaseSpinLockFromDpcLevel(SpinLock);
}

static KIRQL KiRaiseToDpcIfBelow(void)
{
    KIRQL old = arch_get_irql();
    if (old < DISPATCH_LEVEL)
        KfRaiseIrql(DISPATCH_LEVEL);
    return old;
}

static void KiLowerIfChanged(KIRQL OldIrql)
{
    if (OldIrql != arch_get_irql())
        KeLowerIrql(OldIrql);
}

KIRQL NTAPI KeAcquireSpinLockForDpc(PKSPIN_LOCK SpinLock)
{
    KIRQL old = KiRaiseToDpcIfBelow();
    KiAcquireChecked(SpinLock);
    return old;
}

VOID NTAPI KeReleaseSpinLockForDpc(PKSPIN_LOCK SpinLock, KIRQL OldIrql)
{
    KiReleaseChecked(SpinLock);
    KiLowerIfChanged(OldIrql);
}

/* ---- in-stack queued spin locks -------------------------------------------------------- */

VOID NTAPI KeAcquireInStackQueuedSpinLock(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KfRaiseIrql(DISPATCH_LEVEL);
    KiAcquireQueuedChecked(SpinLock, &LockHandle->LockQueue);
}

VOID NTAPI KeReleaseInStackQueuedSpinLock(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    KiReleaseQueuedChecked(&LockHandle->LockQueue);
    KeLowerIrql(old);
}

VOID NTAPI KeAcquireInStackQueuedSpinLockAtDpcLevel(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    KiRequireDispatchLevel(SpinLock);
    KiAcquireQueuedChecked(SpinLock, &LockHandle->LockQueue);
}

VOID NTAPI KeReleaseInStackQueuedSpinLockFromDpcLevel(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KiRequireDispatchLevel((PKSPIN_LOCK)((ULONG_PTR)LockHandle->LockQueue.Lock & ~(ULONG_PTR)KI_QUEUE_FLAGS));
    KiReleaseQueuedChecked(&LockHandle->LockQueue);
}

VOID NTAPI KeAcquireInStackQueuedSpinLockForDpc(PKSPIN_LOCK SpinLock, PKLOCK_QUEUE_HANDLE LockHandle)
{
    LockHandle->OldIrql = KiRaiseToDpcIfBelow();
    KiAcquireQueuedChecked(SpinLock, &LockHandle->LockQueue);
}

VOID NTAPI KeReleaseInStackQueuedSpinLockForDpc(PKLOCK_QUEUE_HANDLE LockHandle)
{
    KIRQL old = LockHandle->OldIrql;
    KiReleaseQueuedChecked(&LockHandle->LockQueue);
    KiLowerIfChanged(old);
}
