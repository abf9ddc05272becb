/*
 * Spin locks: ordinary, in-stack queued and raw. IRQL effects of every entry
 * point, the owner recorded in the lock word, the misuse bug checks
 * (recursion, releasing a lock not owned, wrong IRQL), the MCS queue's FIFO
 * hand-off checked step by step on one processor, and mutual exclusion under
 * contention from kernel threads on every processor.
 */
#include "ntos_ke_test.h"
#include "ke/ki.h"

/* Split queued acquire (spinlock.c), for queueing several waiters on one
 * processor without spinning. */
BOOLEAN KiEnqueueQueuedSpinLock(PKSPIN_LOCK SpinLock, PKSPIN_LOCK_QUEUE LockQueue);
VOID KiWaitQueuedSpinLock(PKSPIN_LOCK_QUEUE LockQueue);

#define QUEUE_WAIT 1
#define QUEUE_OWNER 2

/* What an ordinary lock's word holds while the caller owns it. */
static ULONG_PTR my_owner(void)
{
    PVOID t = KeGetCurrentThread();
    return (ULONG_PTR)(t ? t : (PVOID)KeGetPcr()) | 1;
}

static ULONG_PTR word(PKSPIN_LOCK l)
{
    return __atomic_load_n(l, __ATOMIC_RELAXED);
}

static ULONG_PTR queue_lock_field(PKSPIN_LOCK_QUEUE q)
{
    return (ULONG_PTR)__atomic_load_n(&q->Lock, __ATOMIC_RELAXED);
}

/* A value that looks like an ordinary lock held by someone else. */
static ULONG_PTR other_owner(void)
{
    static KTHREAD fake;
    return (ULONG_PTR)&fake | 1;
}

/* ---- ordinary spin locks ----------------------------------------------------------- */

static void initialize_and_test(void **state)
{
    KSPIN_LOCK l = (KSPIN_LOCK)0xdeadbeef;
    KeInitializeSpinLock(&l);
    assert_int_equal(l, 0);
    assert_true(KeTestSpinLock(&l));
    l = other_owner();
    assert_false(KeTestSpinLock(&l));
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL); /* neither raises nor lowers */
    KeInitializeSpinLock(&l);
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&l);
    assert_false(KeTestSpinLock(&l));
    KeReleaseSpinLock(&l, old);
    assert_true(KeTestSpinLock(&l));
}

static void raise_to_dpc_from_each_level(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&l);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(word(&l), my_owner());
    KeReleaseSpinLock(&l, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(word(&l), 0);

    /* The KeAcquireSpinLock macro from APC_LEVEL. */
    KIRQL apc;
    KeRaiseIrql(APC_LEVEL, &apc);
    KeAcquireSpinLock(&l, &old);
    assert_int_equal(old, APC_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&l, old);
    assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);

    /* Already at DISPATCH_LEVEL: nothing to raise, nothing to lower. */
    KeRaiseIrql(DISPATCH_LEVEL, &apc);
    old = KfAcquireSpinLock(&l);
    assert_int_equal(old, DISPATCH_LEVEL);
    assert_int_equal(word(&l), my_owner());
    KfReleaseSpinLock(&l, old);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(word(&l), 0);
    KeLowerIrql(PASSIVE_LEVEL);
}

static void raise_to_dpc_above_dispatch_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToSynchLevel();
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeAcquireSpinLockRaiseToDpc(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], SYNCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(word(&l), 0); /* never taken */
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeLowerIrql(old);
}

static void two_locks_nest_and_restore(void **state)
{
    KSPIN_LOCK a, b;
    KeInitializeSpinLock(&a);
    KeInitializeSpinLock(&b);
    KIRQL oa = KeAcquireSpinLockRaiseToDpc(&a);
    KIRQL ob = KeAcquireSpinLockRaiseToDpc(&b);
    assert_int_equal(oa, PASSIVE_LEVEL);
    assert_int_equal(ob, DISPATCH_LEVEL);
    assert_int_equal(word(&a), my_owner());
    assert_int_equal(word(&b), my_owner());
    KeReleaseSpinLock(&b, ob);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&a, oa);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(word(&a) | word(&b), 0);
}

static void recursion_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeAcquireSpinLockRaiseToDpc(&l);

    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireSpinLockRaiseToDpc(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&l);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], my_owner());
    assert_int_equal(ntos_last_bugcheck.Parameter[2], my_owner());
    assert_int_equal(ntos_last_bugcheck.Parameter[3], 0);
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireSpinLockAtDpcLevel(&l));
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KefAcquireSpinLockAtDpcLevel(&l));
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireSpinLockForDpc(&l));
    /* Even a try: FALSE would hide a retry loop that can never succeed. */
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeTryToAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&l);

    /* Still held, still ours, and releasable. */
    assert_int_equal(word(&l), my_owner());
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLock(&l, old);
    assert_int_equal(word(&l), 0);
}

static void release_not_owned_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);

    /* A free lock. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLock(&l, old));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&l);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], 0);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], my_owner());
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL); /* it stopped before lowering */
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLockFromDpcLevel(&l));
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KefReleaseSpinLockFromDpcLevel(&l));
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLockForDpc(&l, DISPATCH_LEVEL));

    /* A lock held by another owner stays held by it. */
    l = other_owner();
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KfReleaseSpinLock(&l, DISPATCH_LEVEL));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], other_owner());
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLockFromDpcLevel(&l));
    assert_int_equal(word(&l), other_owner());

    /* Released twice. */
    KeInitializeSpinLock(&l);
    KeAcquireSpinLockAtDpcLevel(&l);
    KeReleaseSpinLockFromDpcLevel(&l);
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLockFromDpcLevel(&l));
    KeLowerIrql(old);
}

static void release_to_higher_irql_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockRaiseToDpc(&l);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeReleaseSpinLock(&l, HIGH_LEVEL));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], HIGH_LEVEL);
    /* The lock itself was released before the IRQL check. */
    assert_int_equal(word(&l), 0);
    KeAcquireSpinLockAtDpcLevel(&l);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeReleaseSpinLockForDpc(&l, SYNCH_LEVEL));
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);
}

static void at_dpc_level_variants(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&l);
    assert_int_equal(word(&l), my_owner());
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLockFromDpcLevel(&l);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KefAcquireSpinLockAtDpcLevel(&l);
    KefReleaseSpinLockFromDpcLevel(&l);
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);

    /* Above DISPATCH_LEVEL too (interrupt-level code uses them). */
    old = KfRaiseIrql(HIGH_LEVEL);
    KeAcquireSpinLockAtDpcLevel(&l);
    assert_int_equal(KeGetCurrentIrql(), HIGH_LEVEL);
    KeReleaseSpinLockFromDpcLevel(&l);
    KeLowerIrql(old);

    /* Below DISPATCH_LEVEL: IRQL_NOT_GREATER_OR_EQUAL (current, required, lock). */
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], PASSIVE_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], DISPATCH_LEVEL);
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)&l);
    assert_int_equal(word(&l), 0);
    KeRaiseIrql(APC_LEVEL, &old);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KefAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], APC_LEVEL);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeTryToAcquireSpinLockAtDpcLevel(&l));
    KeLowerIrql(old);

    /* Releasing below DISPATCH_LEVEL is the same bug (the holder dropped its
     * IRQL while holding); the lock is left as it was. */
    old = KeRaiseIrqlToDpcLevel();
    KeAcquireSpinLockAtDpcLevel(&l);
    KeLowerIrql(PASSIVE_LEVEL);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeReleaseSpinLockFromDpcLevel(&l));
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KefReleaseSpinLockFromDpcLevel(&l));
    assert_int_equal(word(&l), my_owner());
    KeRaiseIrqlToDpcLevel();
    KeReleaseSpinLockFromDpcLevel(&l);
    KeLowerIrql(old);
}

static void try_to_acquire(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KeTryToAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(word(&l), my_owner());
    KeReleaseSpinLockFromDpcLevel(&l);

    l = other_owner();
    assert_false(KeTryToAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(word(&l), other_owner());

    KeInitializeSpinLock(&l);
    KfRaiseIrql(HIGH_LEVEL);
    assert_true(KeTryToAcquireSpinLockAtDpcLevel(&l));
    KeReleaseSpinLockFromDpcLevel(&l);
    KeLowerIrql(old);
}

static void for_dpc_variants(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);

    /* From PASSIVE_LEVEL (a threaded DPC): raises, and the release lowers. */
    KIRQL old = KeAcquireSpinLockForDpc(&l);
    assert_int_equal(old, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(word(&l), my_owner());
    KeReleaseSpinLockForDpc(&l, old);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(word(&l), 0);

    /* From DISPATCH_LEVEL (an ordinary DPC): the IRQL is left alone. */
    KIRQL base = KeRaiseIrqlToDpcLevel();
    old = KeAcquireSpinLockForDpc(&l);
    assert_int_equal(old, DISPATCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseSpinLockForDpc(&l, old);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);

    /* Above DISPATCH_LEVEL: accepted unchanged, as the AtDpcLevel form. */
    KfRaiseIrql(SYNCH_LEVEL);
    old = KeAcquireSpinLockForDpc(&l);
    assert_int_equal(old, SYNCH_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeReleaseSpinLockForDpc(&l, old);
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL);
    KeLowerIrql(base);
}

/* ---- in-stack queued spin locks --------------------------------------------------- */

static void instack_acquire_release(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&l);

    KeAcquireInStackQueuedSpinLock(&l, &h);
    assert_int_equal(h.OldIrql, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    /* The word is the queue's tail; the entry records its lock and that it owns it. */
    assert_int_equal(word(&l), (ULONG_PTR)&h.LockQueue);
    assert_int_equal(queue_lock_field(&h.LockQueue), (ULONG_PTR)&l | QUEUE_OWNER);
    assert_null(h.LockQueue.Next);
    assert_false(KeTestSpinLock(&l));
    KeReleaseInStackQueuedSpinLock(&h);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    assert_int_equal(word(&l), 0);
    assert_int_equal(queue_lock_field(&h.LockQueue), (ULONG_PTR)&l);
    assert_true(KeTestSpinLock(&l));

    /* From APC_LEVEL, and twice in a row with the same handle. */
    KIRQL old;
    KeRaiseIrql(APC_LEVEL, &old);
    for (int i = 0; i < 2; i++) {
        KeAcquireInStackQueuedSpinLock(&l, &h);
        assert_int_equal(h.OldIrql, APC_LEVEL);
        KeReleaseInStackQueuedSpinLock(&h);
        assert_int_equal(KeGetCurrentIrql(), APC_LEVEL);
    }
    KeLowerIrql(old);

    /* Above DISPATCH_LEVEL the raise is a caller bug. */
    old = KeRaiseIrqlToSynchLevel();
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeAcquireInStackQueuedSpinLock(&l, &h));
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);
}

static void instack_nested_release_in_reverse(void **state)
{
    KSPIN_LOCK a, b;
    KLOCK_QUEUE_HANDLE ha, hb;
    KeInitializeSpinLock(&a);
    KeInitializeSpinLock(&b);
    KeAcquireInStackQueuedSpinLock(&a, &ha);
    KeAcquireInStackQueuedSpinLock(&b, &hb);
    assert_int_equal(ha.OldIrql, PASSIVE_LEVEL);
    assert_int_equal(hb.OldIrql, DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLock(&hb);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(word(&a), (ULONG_PTR)&ha.LockQueue);
    KeReleaseInStackQueuedSpinLock(&ha);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);

    /* Out-of-order release of two locks at DISPATCH_LEVEL is fine. */
    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&a, &ha);
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&b, &hb);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&ha);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&hb);
    assert_int_equal(word(&a) | word(&b), 0);
    KeLowerIrql(old);
}

static void instack_at_dpc_and_for_dpc(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&l);

    KIRQL old = KeRaiseIrqlToDpcLevel();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h);
    assert_int_equal(word(&l), (ULONG_PTR)&h.LockQueue);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);

    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h));
    assert_int_equal(ntos_last_bugcheck.Parameter[2], (ULONG_PTR)&l);
    assert_int_equal(word(&l), 0);
    /* Released after the holder dropped below DISPATCH_LEVEL. */
    old = KeRaiseIrqlToDpcLevel();
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h);
    KeLowerIrql(PASSIVE_LEVEL);
    expect_bugcheck(IRQL_NOT_GREATER_OR_EQUAL, KeReleaseInStackQueuedSpinLockFromDpcLevel(&h));
    assert_int_equal(word(&l), (ULONG_PTR)&h.LockQueue);
    KeRaiseIrqlToDpcLevel();
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    KeLowerIrql(old);

    /* ForDpc: raises from PASSIVE_LEVEL only. */
    KeAcquireInStackQueuedSpinLockForDpc(&l, &h);
    assert_int_equal(h.OldIrql, PASSIVE_LEVEL);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLockForDpc(&h);
    assert_int_equal(KeGetCurrentIrql(), PASSIVE_LEVEL);
    old = KeRaiseIrqlToDpcLevel();
    KeAcquireInStackQueuedSpinLockForDpc(&l, &h);
    assert_int_equal(h.OldIrql, DISPATCH_LEVEL);
    KeReleaseInStackQueuedSpinLockForDpc(&h);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);
    KeLowerIrql(old);
    assert_int_equal(word(&l), 0);
}

static void instack_recursion_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE h1, h2;
    KeInitializeSpinLock(&l);

    KeAcquireInStackQueuedSpinLock(&l, &h1);
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireInStackQueuedSpinLock(&l, &h2));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&l);
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&h1.LockQueue);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)&h2.LockQueue);
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h2));
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireInStackQueuedSpinLockForDpc(&l, &h2));
    /* Recursion across the two kinds is caught as well. */
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireSpinLockRaiseToDpc(&l));
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeTryToAcquireSpinLockAtDpcLevel(&l));
    /* Nothing was queued behind the owner. */
    assert_int_equal(word(&l), (ULONG_PTR)&h1.LockQueue);
    assert_null(h1.LockQueue.Next);
    KeReleaseInStackQueuedSpinLock(&h1);
    assert_int_equal(word(&l), 0);

    KIRQL old = KeAcquireSpinLockRaiseToDpc(&l);
    expect_bugcheck(SPIN_LOCK_ALREADY_OWNED, KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h2));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], my_owner());
    assert_int_equal(word(&l), my_owner());
    KeReleaseSpinLock(&l, old);
}

static void instack_release_not_owned_bugchecks(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE h;
    KeInitializeSpinLock(&l);

    /* Released twice. */
    KeAcquireInStackQueuedSpinLock(&l, &h);
    KeReleaseInStackQueuedSpinLock(&h);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLock(&h));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], (ULONG_PTR)&l);
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)&h.LockQueue);
    assert_int_equal(KeGetCurrentIrql(), DISPATCH_LEVEL);

    /* A handle never used to acquire anything: its lock pointer is not followed. */
    KLOCK_QUEUE_HANDLE zero = {0};
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLockFromDpcLevel(&zero));
    assert_int_equal(ntos_last_bugcheck.Parameter[0], 0);
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLockForDpc(&zero));

    /* A copy of the owner's handle is not the owner: the queue entry is. */
    KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &h);
    KLOCK_QUEUE_HANDLE copy = h;
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLockFromDpcLevel(&copy));
    assert_int_equal(ntos_last_bugcheck.Parameter[3], (ULONG_PTR)&copy.LockQueue);
    /* An ordinary release of a queued lock. */
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseSpinLockFromDpcLevel(&l));
    assert_int_equal(ntos_last_bugcheck.Parameter[1], (ULONG_PTR)&h.LockQueue);
    assert_int_equal(word(&l), (ULONG_PTR)&h.LockQueue);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
    assert_int_equal(word(&l), 0);

    /* A queued release of an ordinary lock. */
    KeAcquireSpinLockAtDpcLevel(&l);
    h.LockQueue.Lock = &l;
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLockFromDpcLevel(&h));
    assert_int_equal(word(&l), my_owner());
    KeReleaseSpinLockFromDpcLevel(&l);
    KeLowerIrql(old);
}

/* The MCS hand-off, one step at a time: waiters are queued without spinning
 * (as if from other processors) and take the lock in arrival order. */
static void instack_fifo_handoff(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE a, b, c;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToDpcLevel();

    KeAcquireInStackQueuedSpinLockAtDpcLevel(&l, &a);
    assert_false(KiEnqueueQueuedSpinLock(&l, &b.LockQueue));
    assert_false(KiEnqueueQueuedSpinLock(&l, &c.LockQueue));
    assert_int_equal(word(&l), (ULONG_PTR)&c.LockQueue);
    assert_ptr_equal(a.LockQueue.Next, &b.LockQueue);
    assert_ptr_equal(b.LockQueue.Next, &c.LockQueue);
    assert_int_equal(queue_lock_field(&b.LockQueue), (ULONG_PTR)&l | QUEUE_WAIT);
    assert_int_equal(queue_lock_field(&c.LockQueue), (ULONG_PTR)&l | QUEUE_WAIT);
    /* An ordinary try sees the lock busy (these waiters are nobody's on this processor). */
    assert_false(KeTestSpinLock(&l));

    KeReleaseInStackQueuedSpinLockFromDpcLevel(&a);
    assert_int_equal(queue_lock_field(&a.LockQueue), (ULONG_PTR)&l);
    assert_int_equal(queue_lock_field(&b.LockQueue), (ULONG_PTR)&l | QUEUE_OWNER);
    assert_int_equal(queue_lock_field(&c.LockQueue), (ULONG_PTR)&l | QUEUE_WAIT);
    assert_int_equal(word(&l), (ULONG_PTR)&c.LockQueue);
    KiWaitQueuedSpinLock(&b.LockQueue); /* owner already: returns at once */

    /* The previous owner's handle is spent. */
    expect_bugcheck(SPIN_LOCK_NOT_OWNED, KeReleaseInStackQueuedSpinLockFromDpcLevel(&a));

    KeReleaseInStackQueuedSpinLockFromDpcLevel(&b);
    assert_int_equal(queue_lock_field(&c.LockQueue), (ULONG_PTR)&l | QUEUE_OWNER);
    KiWaitQueuedSpinLock(&c.LockQueue);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&c);
    assert_int_equal(word(&l), 0);

    /* Joining a free lock owns it at once. */
    assert_true(KiEnqueueQueuedSpinLock(&l, &a.LockQueue));
    KiWaitQueuedSpinLock(&a.LockQueue);
    assert_int_equal(queue_lock_field(&a.LockQueue), (ULONG_PTR)&l | QUEUE_OWNER);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&a);
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);
}

/* A queue the current owner does not belong to: an ordinary try fails, and a
 * plain KSPIN_LOCK goes back to ordinary use once the queue drains. */
static void kinds_exclude_each_other(void **state)
{
    KSPIN_LOCK l;
    KLOCK_QUEUE_HANDLE q;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToDpcLevel();
    assert_true(KiEnqueueQueuedSpinLock(&l, &q.LockQueue));
    assert_false(KeTryToAcquireSpinLockAtDpcLevel(&l));
    assert_int_equal(word(&l), (ULONG_PTR)&q.LockQueue);
    KiWaitQueuedSpinLock(&q.LockQueue);
    KeReleaseInStackQueuedSpinLockFromDpcLevel(&q);
    assert_true(KeTryToAcquireSpinLockAtDpcLevel(&l));
    KeReleaseSpinLockFromDpcLevel(&l);
    KeLowerIrql(old);
}

/* ---- raw primitives ---------------------------------------------------------------- */

static void raw_primitives(void **state)
{
    KSPIN_LOCK l;
    KeInitializeSpinLock(&l);
    KIRQL old = KeRaiseIrqlToSynchLevel();
    KiAcquireSpinLockRaw(&l);
    assert_int_not_equal(word(&l), 0);
    assert_int_equal(KeGetCurrentIrql(), SYNCH_LEVEL); /* IRQL is the caller's business */
    assert_false(KiTryAcquireSpinLockRaw(&l));
    assert_false(KeTestSpinLock(&l));
    KiReleaseSpinLockRaw(&l);
    assert_int_equal(word(&l), 0);
    assert_true(KiTryAcquireSpinLockRaw(&l));
    KiReleaseSpinLockRaw(&l);
    /* No owner checks: a release on behalf of another thread (the dispatcher
     * lock's hand-over) is accepted. */
    l = other_owner();
    KiReleaseSpinLockRaw(&l);
    assert_int_equal(word(&l), 0);
    KeLowerIrql(old);
}

/* ---- contention from threads on every processor ------------------------------------- */

enum { KIND_RAISE, KIND_AT_DPC, KIND_FOR_DPC, KIND_TRY, KIND_INSTACK, KIND_INSTACK_AT_DPC,
       KIND_INSTACK_FOR_DPC, KIND_RAW, KIND_COUNT };

#define HAMMER_THREADS 6
#define HAMMER_ROUNDS 400

typedef struct hammer_shared {
    KSPIN_LOCK Lock;
    volatile LONG Inside;
    ULONG64 Counter; /* guarded by Lock, plain on purpose */
    volatile LONG Violations;
} hammer_shared;

typedef struct hammer_ctx {
    hammer_shared *Shared;
    int Kind;
} hammer_ctx;

static void hammer_critical(hammer_shared *s)
{
    if (__atomic_exchange_n(&s->Inside, 1, __ATOMIC_RELAXED) != 0)
        __atomic_fetch_add(&s->Violations, 1, __ATOMIC_RELAXED);
    ULONG64 v = s->Counter;
    arch_pause(); /* widen the window: another CPU may run here in virtual time */
    s->Counter = v + 1;
    __atomic_store_n(&s->Inside, 0, __ATOMIC_RELAXED);
}

static VOID NTAPI hammer_thread(PVOID Context)
{
    hammer_ctx *c = Context;
    hammer_shared *s = c->Shared;
    for (int i = 0; i < HAMMER_ROUNDS; i++) {
        KIRQL old;
        KLOCK_QUEUE_HANDLE h;
        switch (c->Kind) {
        case KIND_RAISE:
            old = KeAcquireSpinLockRaiseToDpc(&s->Lock);
            hammer_critical(s);
            KeReleaseSpinLock(&s->Lock, old);
            break;
        case KIND_AT_DPC:
            old = KeRaiseIrqlToDpcLevel();
            KeAcquireSpinLockAtDpcLevel(&s->Lock);
            hammer_critical(s);
            KeReleaseSpinLockFromDpcLevel(&s->Lock);
            KeLowerIrql(old);
            break;
        case KIND_FOR_DPC:
            old = KeAcquireSpinLockForDpc(&s->Lock);
            hammer_critical(s);
            KeReleaseSpinLockForDpc(&s->Lock, old);
            break;
        case KIND_TRY:
            old = KeRaiseIrqlToDpcLevel();
            while (!KeTryToAcquireSpinLockAtDpcLevel(&s->Lock))
                while (!KeTestSpinLock(&s->Lock))
                    ;
            hammer_critical(s);
            KeReleaseSpinLockFromDpcLevel(&s->Lock);
            KeLowerIrql(old);
            break;
        case KIND_INSTACK:
            KeAcquireInStackQueuedSpinLock(&s->Lock, &h);
            hammer_critical(s);
            KeReleaseInStackQueuedSpinLock(&h);
            break;
        case KIND_INSTACK_AT_DPC:
            old = KeRaiseIrqlToDpcLevel();
            KeAcquireInStackQueuedSpinLockAtDpcLevel(&s->Lock, &h);
            hammer_critical(s);
            KeReleaseInStackQueuedSpinLockFromDpcLevel(&h);
            KeLowerIrql(old);
            break;
        case KIND_INSTACK_FOR_DPC:
            KeAcquireInStackQueuedSpinLockForDpc(&s->Lock, &h);
            hammer_critical(s);
            KeReleaseInStackQueuedSpinLockForDpc(&h);
            break;
        case KIND_RAW:
            old = KeRaiseIrqlToSynchLevel();
            KiAcquireSpinLockRaw(&s->Lock);
            hammer_critical(s);
            KiReleaseSpinLockRaw(&s->Lock);
            KeLowerIrql(old);
            break;
        }
    }
    KeTerminateThread(STATUS_SUCCESS);
}

static void hammer(int FirstKind, int KindStride)
{
    static KTHREAD threads[HAMMER_THREADS];
    hammer_ctx ctx[HAMMER_THREADS];
    hammer_shared s = {0};
    KeInitializeSpinLock(&s.Lock);
    for (int i = 0; i < HAMMER_THREADS; i++) {
        ctx[i] = (hammer_ctx){.Shared = &s, .Kind = (FirstKind + i * KindStride) % KIND_COUNT};
        kt_start(&threads[i], hammer_thread, &ctx[i], 8);
    }
    for (int i = 0; i < HAMMER_THREADS; i++)
        kt_join(&threads[i]);
    assert_int_equal(s.Violations, 0);
    assert_int_equal(s.Counter, (ULONG64)HAMMER_THREADS * HAMMER_ROUNDS);
    assert_int_equal(word(&s.Lock), 0);
}

/* Every thread uses one kind, so each discipline is exercised against itself. */
static void contention_one_kind(void **state)
{
    for (int kind = 0; kind < KIND_COUNT; kind++)
        hammer(kind, 0);
}

/* Ordinary and queued acquirers on one lock: the documentation forbids it, but
 * the lock must still exclude (each kind waits out the other's word). */
static void contention_mixed_kinds(void **state)
{
    hammer(0, 1);
    hammer(3, 5);
}

static const struct CMUnitTest tests[] = {
    cmocka_unit_test(initialize_and_test),
    cmocka_unit_test(raise_to_dpc_from_each_level),
    cmocka_unit_test(raise_to_dpc_above_dispatch_bugchecks),
    cmocka_unit_test(two_locks_nest_and_restore),
    cmocka_unit_test(recursion_bugchecks),
    cmocka_unit_test(release_not_owned_bugchecks),
    cmocka_unit_test(release_to_higher_irql_bugchecks),
    cmocka_unit_test(at_dpc_level_variants),
    cmocka_unit_test(try_to_acquire),
    cmocka_unit_test(for_dpc_variants),
    cmocka_unit_test(instack_acquire_release),
    cmocka_unit_test(instack_nested_release_in_reverse),
    cmocka_unit_test(instack_at_dpc_and_for_dpc),
    cmocka_unit_test(instack_recursion_bugchecks),
    cmocka_unit_test(instack_release_not_owned_bugchecks),
    cmocka_unit_test(instack_fifo_handoff),
    cmocka_unit_test(kinds_exclude_each_other),
    cmocka_unit_test(raw_primitives),
    cmocka_unit_test(contention_one_kind),
    cmocka_unit_test(contention_mixed_kinds),
};

NTOS_TEST_GROUP(ke_spinlock, tests, NULL, NULL);
